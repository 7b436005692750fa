/*
 * payload.c - deterministic messages and their check (see payload.h).
 */
#include "config.h"

#include "payload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_SPREAD 251 /* distinct pattern offsets; a prime */
#define PAYLOAD_SEED UINT64_C(0x9e3779b97f4a7c15)

static size_t payload_offset(uint32_t conn, uint64_t seq)
{
	return (size_t)(((uint64_t)conn * 131u + seq % PAYLOAD_SPREAD * 37u) % PAYLOAD_SPREAD);
}

int payload_init(struct payload *p, enum bench_mode mode, size_t size, int32_t msgid)
{
	uint64_t x = PAYLOAD_SEED;

	memset(p, 0, sizeof(*p));
	p->size = size;
	p->hdr = mode == BENCH_LARS ? LARS_HEADER_SIZE : 0;
	p->frame = p->hdr + size;
	p->head = p->hdr + (size < PAYLOAD_TAG ? size : PAYLOAD_TAG);
	p->msgid = msgid;
	p->pattern = malloc(size + PAYLOAD_SPREAD + 1);
	if (!p->pattern) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < size + PAYLOAD_SPREAD + 1; i++) {
		x ^= x >> 12; /* xorshift64* */
		x ^= x << 25;
		x ^= x >> 27;
		p->pattern[i] = (unsigned char)((x * UINT64_C(0x2545f4914f6cdd1d)) >> 56);
	}
	return 0;
}

void payload_free(struct payload *p)
{
	free(p->pattern);
	p->pattern = NULL;
}

void payload_head(const struct payload *p, uint32_t conn, uint64_t seq,
		  unsigned char head[PAYLOAD_HEAD_MAX])
{
	unsigned char *t = head + p->hdr;

	if (p->hdr)
		lars_header_put(head, p->msgid, (uint32_t)p->size);
	lars_put32(t, (uint32_t)seq);
	lars_put32(t + 4, conn);
}

const unsigned char *payload_tail(const struct payload *p, uint32_t conn, uint64_t seq)
{
	/* Frame byte j >= head is pattern byte off + (j - hdr). */
	return p->pattern + payload_offset(conn, seq) + (p->head - p->hdr);
}

void payload_fill(const struct payload *p, uint32_t conn, uint64_t seq, size_t from,
		  size_t to, unsigned char *dst)
{
	if (from < p->head) {
		unsigned char head[PAYLOAD_HEAD_MAX];
		size_t end = to < p->head ? to : p->head;
		payload_head(p, conn, seq, head);
		memcpy(dst, head + from, end - from);
		dst += end - from;
		from = end;
	}
	if (from < to)
		memcpy(dst, payload_tail(p, conn, seq) + (from - p->head), to - from);
}

size_t payload_check(const struct payload *p, uint32_t conn, uint64_t seq, size_t from,
		     size_t to, const unsigned char *src)
{
	size_t j = from;

	if (j < p->head) {
		unsigned char head[PAYLOAD_HEAD_MAX];
		size_t end = to < p->head ? to : p->head;
		payload_head(p, conn, seq, head);
		for (; j < end; j++, src++)
			if (*src != head[j])
				return j;
	}
	if (j < to) {
		const unsigned char *want = payload_tail(p, conn, seq) + (j - p->head);
		if (memcmp(src, want, to - j) != 0) {
			for (size_t k = 0;; k++)
				if (src[k] != want[k])
					return j + k;
		}
	}
	return PAYLOAD_NONE;
}

uint32_t payload_tag_seq(const struct payload *p, const unsigned char *frame)
{
	const unsigned char *t = frame + p->hdr;

	return (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
	       (uint32_t)t[3] << 24;
}
