/*
 * bufpool_internal.h - what the library's files share and nobody else sees.
 *
 * Memory layout of one buffer: a 64-byte header, then `capacity` bytes of
 * data.  The header starts with the public struct io_buf and ends with the
 * private fields below, so the pool can find a buffer's tier and owner from
 * the pointer the caller gives back, without a lookup.
 *
 * Locking order: registry lock -> pool->caches_lock -> tier lock.
 */
#ifndef BUFPOOL_INTERNAL_H
#define BUFPOOL_INTERNAL_H

#include "bufpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define BUFPOOL_API __attribute__((visibility("default")))
#define BUFPOOL_LIKELY(x) __builtin_expect(!!(x), 1)
#define BUFPOOL_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define BUF_HDR_SIZE 64

/* owner is pool->tag while one holder has the buffer, pool_shared_tag()
 * once bufpool_ref() has shared it, 0 while idle.  A shared buffer fails
 * the fast revert's owner check, so only the slow path reads refs: the
 * fast paths never pay for sharing. */
struct buf_hdr {
	struct io_buf pub;
	uint64_t owner;
	uint32_t tier;
	_Atomic uint32_t refs; /* holders beyond the first; 0 while not shared */
};
_Static_assert(sizeof(struct buf_hdr) <= BUF_HDR_SIZE, "header fits 64 bytes");

/* Relaxed counters: written by one thread (or under a lock), read by stats. */
typedef _Atomic uint64_t counter_t;

static inline void counter_add(counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t counter_get(counter_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The shared idle list of one tier and its counters. */
struct tier_list {
	pthread_mutex_t lock;
	struct io_buf *head; /* idle buffers, linked through next */
	counter_t idle;      /* length of the list (written under lock) */
	_Atomic uint64_t owned;
	_Atomic uint64_t peak_owned; /* high-water mark of owned */
	_Atomic uint64_t allocs; /* from paths without a thread cache */
	_Atomic uint64_t fresh;
	_Atomic uint64_t failures;
} __attribute__((aligned(64)));

#define TCACHE_MAX 64

/* A thread's private stack of idle buffers per tier for one pool.  Only
 * the owning thread writes it; count and allocs are relaxed atomics (plain
 * moves on the owner's side) so bufpool_stats() may read them. */
struct tcache {
	struct tcache *prev, *next; /* in pool->caches, under caches_lock */
	unsigned seen_drain;        /* pool->drain_epoch last acted on */
	_Atomic unsigned count[BUFPOOL_TIERS];
	counter_t allocs[BUFPOOL_TIERS];
	struct io_buf *stack[BUFPOOL_TIERS][TCACHE_MAX];
};

static inline unsigned tcache_count(struct tcache *tc, unsigned tier)
{
	return atomic_load_explicit(&tc->count[tier], memory_order_relaxed);
}

static inline void tcache_set_count(struct tcache *tc, unsigned tier, unsigned n)
{
	atomic_store_explicit(&tc->count[tier], n, memory_order_relaxed);
}

struct bufpool {
	uint64_t id;  /* never reused: names the pool in thread-cache slots */
	uint64_t tag; /* marks this pool's buffers while handed out */
	int thread_cache;
	/* Read on every alloc and revert, written rarely: */
	_Atomic unsigned drain_epoch; /* bumped to ask threads to empty caches */
	_Atomic bool over_limit;      /* bytes_owned > mem_limit (limit lowered) */
	_Atomic size_t mem_limit;
	_Atomic size_t bytes_owned;
	_Atomic size_t peak_bytes;    /* high-water mark of bytes_owned */
	_Atomic uint64_t too_large;
	_Atomic uint64_t released;
	struct bufpool *next_live; /* in the registry, under its lock */
	pthread_mutex_t caches_lock;
	struct tcache *caches;
	/* Memory pressure (bufpool_pressure.c), touched only on slow paths: */
	_Atomic(struct pressure_cfg *) pressure; /* NULL: no marks */
	struct pressure_cfg *pressure_retired;   /* replaced configs, under pressure_lock */
	pthread_mutex_t pressure_lock;
	_Atomic int pressure_state;              /* enum pressure_state */
	_Atomic uint64_t pressure_high_events;
	_Atomic uint64_t pressure_low_events;
	_Atomic uint64_t pressure_refusals;
	struct tier_list tier[BUFPOOL_TIERS];
};

/* Per-tier cache bounds: how many idle buffers a thread keeps. */
extern const unsigned bufpool_tcache_cap[BUFPOOL_TIERS];

static inline struct buf_hdr *buf_hdr_of(struct io_buf *buf)
{
	return (struct buf_hdr *)buf;
}

/* The owner tag of this pool's shared buffers: differs from pool->tag (bit
 * 1 flipped) and is never 0. */
static inline uint64_t pool_shared_tag(const bufpool_t *pool)
{
	return pool->tag ^ 2;
}

/*
 * The tiers, in one list: index and log2 of the capacity.  bufpool_size.c
 * builds its size table from it, and the asserts below hold tier_of_size()
 * and the public BUFPOOL_MIN_SIZE / BUFPOOL_MAX_SIZE / BUFPOOL_TIERS to it.
 */
#define BUFPOOL_TIER_LIST(X) \
	X(0, 12) /* 4K */ \
	X(1, 14) /* 16K */ \
	X(2, 16) /* 64K */ \
	X(3, 18) /* 256K */ \
	X(4, 20) /* 1M */ \
	X(5, 22) /* 4M */ \
	X(6, 23) /* 8M */

/* The tier of a size above 4K that needs `bits` bits (2^(bits-1) < n <=
 * 2^bits): 4K * 4^k covers 4K..4M (bits 13..22 map two to a tier), and
 * 8M is the one tier past them. */
#define TIER_OF_BITS(bits) ((bits) <= 22 ? ((bits) - 11) / 2 : 6)

#define TIER_CHECK(t, shift)                                                     \
	_Static_assert((t) == 0 || TIER_OF_BITS(shift) == (t),                   \
		       "tier_of_size() maps the tier's own size to the tier");      \
	_Static_assert((t) == BUFPOOL_TIERS - 1 || TIER_OF_BITS((shift) + 1) == (t) + 1, \
		       "tier_of_size() maps one byte more to the tier above");
BUFPOOL_TIER_LIST(TIER_CHECK)
#undef TIER_CHECK
#define TIER_COUNT(t, shift) +1
_Static_assert(0 BUFPOOL_TIER_LIST(TIER_COUNT) == BUFPOOL_TIERS, "BUFPOOL_TIERS");
#undef TIER_COUNT
_Static_assert(BUFPOOL_MIN_SIZE == (size_t)1 << 12, "BUFPOOL_MIN_SIZE is tier 0");
_Static_assert(BUFPOOL_MAX_SIZE == (size_t)1 << 23, "BUFPOOL_MAX_SIZE is the last tier");

static inline int tier_of_size(size_t n)
{
	if (n <= BUFPOOL_MIN_SIZE)
		return 0;
	if (n > BUFPOOL_MAX_SIZE)
		return -1;
	unsigned bits = 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	return (int)TIER_OF_BITS(bits);
}

/* bufpool.c: buffer memory and the shared lists. */
struct io_buf *pool_buf_fresh(bufpool_t *pool, unsigned tier);
void pool_buf_release(bufpool_t *pool, struct io_buf *buf);
void pool_list_push_many(bufpool_t *pool, unsigned tier, struct io_buf **bufs,
			 unsigned n);
unsigned pool_list_pop_many(bufpool_t *pool, unsigned tier, struct io_buf **bufs,
			    unsigned n);
bool pool_over_limit(const bufpool_t *pool);
void pool_request_drain(bufpool_t *pool);
size_t pool_release_idle(bufpool_t *pool, int skip, size_t want);
int pool_config_check(const struct bufpool_config *cfg);

/* bufpool_pressure.c: the pressure marks and their events.  grew and
 * refused call the user's function, so their callers hold no lock;
 * shrank only records a LOW event, which pressure_deliver() (called where
 * no lock is held) passes on. */
enum pressure_state { PRESSURE_NORMAL, PRESSURE_HIGH, PRESSURE_LOW_PENDING };
void pressure_grew(bufpool_t *pool, size_t owned);
void pressure_shrank(bufpool_t *pool, size_t owned);
void pressure_refused(bufpool_t *pool, size_t owned);
void pressure_deliver_slow(bufpool_t *pool);
void pressure_init(bufpool_t *pool);
void pressure_fini(bufpool_t *pool);

static inline void pressure_deliver(bufpool_t *pool)
{
	if (BUFPOOL_UNLIKELY(atomic_load_explicit(&pool->pressure_state, memory_order_relaxed) ==
			     PRESSURE_LOW_PENDING))
		pressure_deliver_slow(pool);
}

/* bufpool_tcache.c: per-thread caches and the registry of live pools. */
#define TSLOTS 4
struct tslot {
	uint64_t pool_id;
	struct tcache *tc;
};
/* initial-exec: the slots are read on every alloc/revert, and the default
 * model for shared objects would cost a __tls_get_addr call each time. */
extern __thread struct tslot pool_tslots[TSLOTS]
	__attribute__((tls_model("initial-exec")));

/* This thread's cache for pool, or NULL.  Inline and call-free, so the
 * fast paths that use it need no stack frame. */
static inline struct tcache *tcache_lookup(const bufpool_t *pool)
{
	for (unsigned i = 0; i < TSLOTS; i++)
		if (pool_tslots[i].pool_id == pool->id)
			return pool_tslots[i].tc;
	return NULL;
}

void registry_add(bufpool_t *pool);
void registry_remove(bufpool_t *pool);
struct tcache *tcache_attach(bufpool_t *pool);
void tcache_flush(bufpool_t *pool, struct tcache *tc, bool to_system);
void tcache_free_all(bufpool_t *pool);

#endif /* BUFPOOL_INTERNAL_H */
