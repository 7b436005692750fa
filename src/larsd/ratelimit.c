/*
 * ratelimit.c - per-source token buckets (see ratelimit.h).
 *
 * A bucket holds tokens in billionths of a datagram, so refilling is one
 * multiplication of the nanoseconds elapsed by the rate, exact whatever
 * the rate; the elapsed time is capped at what refills a whole burst, so
 * nothing overflows (burst * 10^9 + rate < 2^63 for the ranges conf.c
 * allows).
 */
#include "config.h"

#include "ratelimit.h"
#include "siphash.h"
#include "sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NANO 1000000000ull

_Static_assert((RATELIMIT_SETS & (RATELIMIT_SETS - 1)) == 0, "sets: a power of two");

struct rl_bucket {
	uint8_t addr[16];  /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	uint64_t last_ns;  /* last refill; 0: an empty bucket */
	uint64_t tokens;   /* in 10^-9 datagrams */
};

struct rl_set {
	_Atomic uint32_t lock; /* spin_lock() */
	struct rl_bucket b[RATELIMIT_WAYS];
};

struct ratelimit {
	uint64_t key[2];   /* SipHash key, from getrandom() */
	struct rl_set sets[RATELIMIT_SETS];
};

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	if (siphash_key(rl->key) < 0) {
		int e = errno;
		free(rl);
		errno = e;
		return NULL;
	}
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

/* ---- the buckets --------------------------------------------------------- */

/* The bucket of addr in s, or the set's stalest (least recently refilled,
 * or empty) bucket given to addr with a full burst. */
static struct rl_bucket *rl_find(struct rl_set *s, const uint8_t addr[16], uint64_t now_ns,
				 uint64_t full)
{
	struct rl_bucket *stalest = &s->b[0];

	for (unsigned i = 0; i < RATELIMIT_WAYS; i++) {
		struct rl_bucket *b = &s->b[i];
		if (b->last_ns != 0 && memcmp(b->addr, addr, 16) == 0)
			return b;
		if (b->last_ns < stalest->last_ns)
			stalest = b;
	}
	memcpy(stalest->addr, addr, 16);
	stalest->last_ns = now_ns;
	stalest->tokens = full;
	return stalest;
}

bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ns,
		     uint32_t rate, uint32_t burst)
{
	uint8_t addr[16];
	uint64_t full = (uint64_t)burst * NANO;
	bool ok;

	if (!sockaddr_addr16(sa, addr))
		return true;
	if (now_ns == 0)
		now_ns = 1; /* 0 marks an empty bucket */
	struct rl_set *s = &rl->sets[siphash13(rl->key, addr, 16) & (RATELIMIT_SETS - 1)];
	spin_lock(&s->lock);
	struct rl_bucket *b = rl_find(s, addr, now_ns, full);
	if (now_ns > b->last_ns) { /* another worker may have read the clock later */
		uint64_t elapsed = now_ns - b->last_ns;
		uint64_t cap = full / rate + 1;
		b->tokens += (elapsed < cap ? elapsed : cap) * rate;
		b->last_ns = now_ns;
	}
	if (b->tokens > full) /* full, or a reload made the burst smaller */
		b->tokens = full;
	ok = b->tokens >= NANO;
	if (ok)
		b->tokens -= NANO;
	spin_unlock(&s->lock);
	return ok;
}
