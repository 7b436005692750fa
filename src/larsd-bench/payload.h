/*
 * payload.h - what larsd-bench sends, so that every reply can be checked.
 *
 * Message number seq (counted from 0 per connection) of connection conn is
 * a pure function of the two, regenerated when it is sent and again when
 * its reply is checked, so nothing is stored per message:
 *
 *   frame   = [lars header] payload
 *   header  = int32 msgid, int32 size, little-endian (lars mode only)
 *   payload = tag, then pattern bytes
 *   tag     = uint32 seq, uint32 conn, little-endian (cut short if the
 *             payload is shorter than 8 bytes)
 *   pattern = payload byte k (k >= 8) is P[off + k], where P is a fixed
 *             pseudo-random buffer and off = (conn * 131 + seq * 37) % 251
 *
 * Every payload byte depends on both numbers, so a reply that comes back
 * changed, shifted, or belonging to another message does not compare
 * equal.  The tag lets a UDP reply name its message, so late replies are
 * told apart from corrupt ones.  The payload module owns P; it is read-only
 * once made and shared by all threads.
 */
#ifndef LARSD_BENCH_PAYLOAD_H
#define LARSD_BENCH_PAYLOAD_H

#include "lars.h"
#include "options.h"

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_TAG 8
#define PAYLOAD_HEAD_MAX (LARS_HEADER_SIZE + PAYLOAD_TAG)
#define PAYLOAD_NONE SIZE_MAX /* payload_check: all equal */

struct payload {
	size_t size;   /* payload bytes (the body in lars mode) */
	size_t hdr;    /* 8 in lars mode, else 0 */
	size_t frame;  /* hdr + size: bytes on the wire per message */
	size_t head;   /* hdr + tag bytes: min(frame, hdr + 8) */
	int32_t msgid;
	unsigned char *pattern; /* size + 256 bytes */
};

/* 0, or -1 with errno (ENOMEM). */
int payload_init(struct payload *p, enum bench_mode mode, size_t size, int32_t msgid);
void payload_free(struct payload *p);

/* The first p->head bytes of a frame: lars header and tag. */
void payload_head(const struct payload *p, uint32_t conn, uint64_t seq,
		  unsigned char head[PAYLOAD_HEAD_MAX]);

/* The rest of the frame, bytes [p->head, p->frame), lies in the pattern:
 * this points at its first byte. */
const unsigned char *payload_tail(const struct payload *p, uint32_t conn, uint64_t seq);

/* Write bytes [from, to) of the frame into dst. */
void payload_fill(const struct payload *p, uint32_t conn, uint64_t seq, size_t from,
		  size_t to, unsigned char *dst);

/* Compare src with bytes [from, to) of the frame: PAYLOAD_NONE when equal,
 * else the frame offset of the first byte that differs. */
size_t payload_check(const struct payload *p, uint32_t conn, uint64_t seq, size_t from,
		     size_t to, const unsigned char *src);

/* The sequence number in a whole frame's tag (len >= p->head; the
 * payload is at least 8 bytes), the low 32 bits. */
uint32_t payload_tag_seq(const struct payload *p, const unsigned char *frame);

#endif /* LARSD_BENCH_PAYLOAD_H */
