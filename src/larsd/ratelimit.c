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

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NANO 1000000000ull

_Static_assert((RATELIMIT_SETS & (RATELIMIT_SETS - 1)) == 0, "sets: a power of two");

struct rl_bucket {
	uint8_t addr[16];  /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	uint64_t last_ns;  /* last refill; 0: an empty bucket */
	uint64_t tokens;   /* in 10^-9 datagrams */
};

struct rl_set {
	_Atomic uint32_t lock;
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
	if (getrandom(rl->key, sizeof(rl->key), 0) != (ssize_t)sizeof(rl->key)) {
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

/* ---- SipHash-1-3 of a 16-byte key -------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t rl_hash(const uint64_t key[2], const uint8_t addr[16])
{
	uint64_t m[2];
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull, v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull, v3 = key[1] ^ 0x7465646279746573ull;

	memcpy(m, addr, sizeof(m)); /* host order: the key is secret anyway */
	for (int i = 0; i < 2; i++) {
		v3 ^= m[i];
		SIPROUND;
		v0 ^= m[i];
	}
	uint64_t last = (uint64_t)16 << 56; /* the length, no tail bytes */
	v3 ^= last;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the buckets --------------------------------------------------------- */

/* The address of sa as 16 bytes; false for a family without one. */
static bool rl_key(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	return false;
}

static void rl_lock(struct rl_set *s)
{
	while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
		while (atomic_load_explicit(&s->lock, memory_order_relaxed))
			;
}

static void rl_unlock(struct rl_set *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

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

	if (!rl_key(sa, addr))
		return true;
	if (now_ns == 0)
		now_ns = 1; /* 0 marks an empty bucket */
	struct rl_set *s = &rl->sets[rl_hash(rl->key, addr) & (RATELIMIT_SETS - 1)];
	rl_lock(s);
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
	rl_unlock(s);
	return ok;
}
