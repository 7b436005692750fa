/*
 * lars.h - the Lars message framing.
 *
 * A frame is an 8-byte header, int32 msgid then int32 msglen, both
 * little-endian, followed by msglen bytes of body.  larsd echoes every
 * complete frame unchanged; it only needs to find where frames end and to
 * refuse lengths that are negative or above max_message.
 */
#ifndef LARSD_LARS_H
#define LARSD_LARS_H

#include <stddef.h>
#include <stdint.h>

#define LARS_HEADER_SIZE 8

enum lars_status {
	LARS_OK,        /* *complete bytes of whole frames; maybe a partial one after */
	LARS_TOO_LONG,  /* a header announces a body above max_message (or < 0) */
	LARS_MALFORMED, /* a datagram shorter than a header, or not the size its
	                   header announces */
};

/* Scan len bytes at p for whole frames.  *complete gets the length of the
 * prefix made of whole frames and *frames their number; *next_frame the
 * full size (header + body) of the frame that starts right after it, or 0
 * if its header is not all there yet. */
enum lars_status lars_scan(const unsigned char *p, size_t len, uint32_t max_message,
			   size_t *complete, size_t *frames, size_t *next_frame);

/* The same scan over a stream that arrives in pieces (the io_uring path
 * keeps each received buffer as it is): the state between pieces.  Start
 * zeroed. */
struct lars_stream {
	unsigned char header[LARS_HEADER_SIZE];
	size_t header_have; /* bytes of the current frame's header seen */
	size_t body_left;   /* bytes of its body still to come */
};

/* Feed the next len bytes.  *end gets the offset in p just after the last
 * frame that ends in these bytes (0 if none does), *frames how many end
 * here.  LARS_TOO_LONG: a header announces a body above max_message (or
 * < 0); *end and *frames count the frames before it. */
enum lars_status lars_stream_feed(struct lars_stream *s, const unsigned char *p, size_t len,
				  uint32_t max_message, size_t *end, size_t *frames);

/* Is this datagram exactly one valid frame? */
enum lars_status lars_check_datagram(const unsigned char *p, size_t len,
				     uint32_t max_message);

#endif /* LARSD_LARS_H */
