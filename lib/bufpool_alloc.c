/*
 * bufpool_alloc.c - bufpool_alloc() and bufpool_revert().
 *
 * Each has a fast path for the common case, a hit in this thread's cache:
 * a TLS slot compare, one load of the pool's drain epoch, a push or pop on
 * a private stack, and the buffer's header.  Everything else (refilling
 * from the shared lists, fresh memory, MEM_LIMIT, drains, misuse) lives in
 * out-of-line slow paths, so the fast paths stay small enough to inline
 * their helpers and save no registers.
 *
 * bufpool_ref() shares a buffer by changing its owner tag (see struct
 * buf_hdr): a shared buffer fails the fast revert's owner check, so its
 * reference count is only read in revert_slow() and the fast paths do not
 * change for it.  Memory-pressure events and the poisoning of idle buffers
 * (bufpool_poison.h, empty in normal builds) also stay off the fast paths
 * or cost nothing there.
 */
#include "config.h"

#include "bufpool_internal.h"
#include "bufpool_poison.h"

#include <errno.h>
#include <string.h>

#define BUFPOOL_COLD __attribute__((noinline, cold))

static inline struct io_buf *buf_hand_out(const bufpool_t *pool, struct io_buf *b)
{
	buf_unpoison(b);
	buf_hdr_of(b)->owner = pool->tag;
	b->next = NULL;
	b->head = 0;
	b->length = 0;
	return b;
}

static inline bool tcache_current(const bufpool_t *pool, const struct tcache *tc)
{
	return tc->seen_drain == atomic_load_explicit(&pool->drain_epoch, memory_order_relaxed);
}

/* ---- slow paths -------------------------------------------------------- */

/* Fresh memory for one buffer of `tier`, reclaiming idle memory of other
 * tiers first when the pool is at its cap. */
static BUFPOOL_COLD struct io_buf *alloc_fresh(bufpool_t *pool, unsigned tier,
					       struct tcache *tc)
{
	struct io_buf *b = pool_buf_fresh(pool, tier);
	if (b)
		goto fresh;
	if (tc)
		tcache_flush(pool, tc, true);
	pool_release_idle(pool, (int)tier, bufpool_tier_size(tier));
	b = pool_buf_fresh(pool, tier);
	if (b)
		goto fresh;
	/* Another thread may have reverted into the shared list meanwhile. */
	if (pool_list_pop_many(pool, tier, &b, 1) == 1)
		return b;
	pool_request_drain(pool);
	atomic_fetch_add_explicit(&pool->tier[tier].failures, 1, memory_order_relaxed);
	pressure_refused(pool, atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed));
	errno = ENOMEM;
	return NULL;
fresh:
	atomic_fetch_add_explicit(&pool->tier[tier].fresh, 1, memory_order_relaxed);
	return b;
}

static struct io_buf *alloc_slow_inner(bufpool_t *pool, size_t n)
{
	if (!pool) {
		errno = EINVAL;
		return NULL;
	}
	int t = tier_of_size(n);
	if (t < 0) {
		atomic_fetch_add_explicit(&pool->too_large, 1, memory_order_relaxed);
		errno = EINVAL;
		return NULL;
	}
	unsigned tier = (unsigned)t;
	struct io_buf *b;
	struct tcache *tc = NULL;

	if (pool->thread_cache) {
		tc = tcache_lookup(pool);
		if (!tc)
			tc = tcache_attach(pool);
	}
	if (!tc) { /* no cache: straight from the shared list */
		if (pool_list_pop_many(pool, tier, &b, 1) == 0 &&
		    !(b = alloc_fresh(pool, tier, NULL)))
			return NULL;
		atomic_fetch_add_explicit(&pool->tier[tier].allocs, 1, memory_order_relaxed);
		return buf_hand_out(pool, b);
	}
	if (!tcache_current(pool, tc))
		tcache_flush(pool, tc, true); /* a drain was asked for */

	unsigned cnt = tcache_count(tc, tier);
	if (cnt == 0) /* refill half a cache in one locked batch */
		cnt = pool_list_pop_many(pool, tier, tc->stack[tier],
					 bufpool_tcache_cap[tier] / 2 + 1);
	if (cnt > 0) {
		b = tc->stack[tier][cnt - 1];
		tcache_set_count(tc, tier, cnt - 1);
	} else if (!(b = alloc_fresh(pool, tier, tc))) {
		return NULL;
	}
	counter_add(&tc->allocs[tier], 1);
	return buf_hand_out(pool, b);
}

static BUFPOOL_COLD struct io_buf *alloc_slow(bufpool_t *pool, size_t n)
{
	struct io_buf *b = alloc_slow_inner(pool, n);
	int saved = errno;

	if (pool) {
		pressure_deliver(pool); /* a LOW noted while memory went back */
		errno = saved;
	}
	return b;
}

/* Whether buf is this pool's and handed out; for a shared buffer, drop
 * one holder and say whether it was the last. */
static bool revert_takes(bufpool_t *pool, struct io_buf *buf)
{
	if (!pool || buf->data != (char *)buf + BUF_HDR_SIZE) {
		errno = EINVAL;
		return false;
	}
	struct buf_hdr *h = buf_hdr_of(buf);
	uint64_t owner = h->owner;
	if (owner == pool_shared_tag(pool)) {
		/* acq_rel: the last holder sees every other holder's writes. */
		if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 0)
			return false; /* others still hold it */
		atomic_store_explicit(&h->refs, 0, memory_order_relaxed); /* undo the wrap */
		return true;
	}
	if (owner != pool->tag) {
		errno = EINVAL; /* not ours, or reverted already: ignored */
		return false;
	}
	return true;
}

static void revert_to_idle(bufpool_t *pool, struct io_buf *buf)
{
	struct buf_hdr *h = buf_hdr_of(buf);
	unsigned tier = h->tier;
	struct tcache *tc = pool->thread_cache ? tcache_lookup(pool) : NULL;

	h->owner = 0;
	buf_poison(buf);
	if (tc && !tcache_current(pool, tc))
		tcache_flush(pool, tc, true);
	if (pool_over_limit(pool)) {
		pool_buf_release(pool, buf);
		return;
	}
	if (!tc) {
		pool_list_push_many(pool, tier, &buf, 1);
		return;
	}
	unsigned cnt = tcache_count(tc, tier);
	if (cnt >= bufpool_tcache_cap[tier]) {
		/* Spill the older half to the shared list in one batch. */
		unsigned half = (cnt + 1) / 2;
		pool_list_push_many(pool, tier, tc->stack[tier], half);
		memmove(tc->stack[tier], tc->stack[tier] + half,
			(cnt - half) * sizeof(tc->stack[tier][0]));
		cnt -= half;
	}
	tc->stack[tier][cnt] = buf;
	tcache_set_count(tc, tier, cnt + 1);
}

static BUFPOOL_COLD void revert_slow(bufpool_t *pool, struct io_buf *buf)
{
	if (!buf || !revert_takes(pool, buf))
		return;
	revert_to_idle(pool, buf);
	pressure_deliver(pool);
}

/* ---- sharing ------------------------------------------------------------ */

BUFPOOL_API int bufpool_ref(bufpool_t *pool, struct io_buf *buf)
{
	if (!pool || !buf || buf->data != (char *)buf + BUF_HDR_SIZE) {
		errno = EINVAL;
		return -1;
	}
	struct buf_hdr *h = buf_hdr_of(buf);
	uint64_t owner = h->owner, shared = pool_shared_tag(pool);
	if (owner != pool->tag && owner != shared) {
		errno = EINVAL; /* not ours, or idle */
		return -1;
	}
	if (atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed) == UINT32_MAX - 1) {
		atomic_fetch_sub_explicit(&h->refs, 1, memory_order_relaxed);
		errno = EOVERFLOW;
		return -1;
	}
	/* Only a sole holder sees the private tag, so no one reads it now. */
	if (owner != shared)
		h->owner = shared;
	return 0;
}

/* ---- fast paths -------------------------------------------------------- */

BUFPOOL_API struct io_buf *bufpool_alloc(bufpool_t *pool, size_t n)
{
	if (BUFPOOL_LIKELY(pool != NULL && n <= BUFPOOL_MAX_SIZE)) {
		unsigned tier = (unsigned)tier_of_size(n);
		struct tcache *tc = tcache_lookup(pool);
		if (BUFPOOL_LIKELY(tc != NULL && tcache_current(pool, tc))) {
			unsigned cnt = tcache_count(tc, tier);
			if (BUFPOOL_LIKELY(cnt > 0)) {
				struct io_buf *b = tc->stack[tier][cnt - 1];
				tcache_set_count(tc, tier, cnt - 1);
				counter_add(&tc->allocs[tier], 1);
				if (cnt > 1) /* the next one's header, for the next call */
					__builtin_prefetch(tc->stack[tier][cnt - 2], 1);
				return buf_hand_out(pool, b);
			}
		}
	}
	return alloc_slow(pool, n);
}

BUFPOOL_API void bufpool_revert(bufpool_t *pool, struct io_buf *buf)
{
	if (BUFPOOL_LIKELY(pool != NULL && buf != NULL &&
			   buf->data == (char *)buf + BUF_HDR_SIZE &&
			   buf_hdr_of(buf)->owner == pool->tag &&
			   !atomic_load_explicit(&pool->over_limit, memory_order_relaxed))) {
		struct tcache *tc = tcache_lookup(pool);
		unsigned tier = buf_hdr_of(buf)->tier;
		if (BUFPOOL_LIKELY(tc != NULL && tcache_current(pool, tc))) {
			unsigned cnt = tcache_count(tc, tier);
			if (BUFPOOL_LIKELY(cnt < bufpool_tcache_cap[tier])) {
				buf_hdr_of(buf)->owner = 0;
				buf_poison(buf);
				tc->stack[tier][cnt] = buf;
				tcache_set_count(tc, tier, cnt + 1);
				return;
			}
		}
	}
	revert_slow(pool, buf);
}
