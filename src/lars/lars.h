/*
 * lars.h - the Lars message framing, the one home of the wire format that
 * larsd (which echoes frames) and larsd-bench (which makes and checks
 * them) share.
 *
 * A frame is an 8-byte header, int32 msgid then int32 msglen, both
 * little-endian, followed by msglen bytes of body.  larsd echoes every
 * complete frame unchanged; it only needs to find where frames end and to
 * refuse lengths that are negative or above max_message.
 */
#ifndef LARS_LARS_H
#define LARS_LARS_H

#include <stddef.h>
#include <stdint.h>

#define LARS_HEADER_SIZE 8

/* A little-endian int32 of the header, read and written. */
static inline int32_t lars_get32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

static inline void lars_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* The header at p: its msgid and its body's length (negative: invalid). */
static inline void lars_header_get(const unsigned char *p, int32_t *msgid, int32_t *msglen)
{
	*msgid = lars_get32(p);
	*msglen = lars_get32(p + 4);
}

static inline void lars_header_put(unsigned char *p, int32_t msgid, uint32_t msglen)
{
	lars_put32(p, (uint32_t)msgid);
	lars_put32(p + 4, msglen);
}

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

#endif /* LARS_LARS_H */
