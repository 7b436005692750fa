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

/* Is this datagram exactly one valid frame? */
enum lars_status lars_check_datagram(const unsigned char *p, size_t len,
				     uint32_t max_message);

#endif /* LARSD_LARS_H */
