/*
 * bufpool.c - the pool: buffer memory, shared idle lists, MEM_LIMIT.
 *
 * Scheme.  Each tier has a shared list of idle buffers behind its own mutex.
 * In front of the lists every thread keeps a small private stack of idle
 * buffers per tier (bufpool_tcache.c), so the common alloc/revert pair takes
 * no lock and writes no shared cache line (bufpool_alloc.c).  A thread
 * refills its stack from the shared list, or spills half of it there, in one
 * locked batch.
 *
 * Invariant: pool->bytes_owned, the sum of the capacities of every buffer
 * the pool has taken from the system (in use, idle in a list, idle in any
 * thread's cache), only grows through pool_reserve(), which refuses to pass
 * pool->mem_limit.  So the accounted bytes never exceed MEM_LIMIT, except
 * when the limit is lowered below the bytes in use; then every revert gives
 * its buffer back to the system until the pool is under the limit again.
 *
 * At the cap an allocation first gives idle buffers of other tiers back to
 * the system (this thread's cache and the shared lists), then asks the other
 * threads to give their cached idle buffers back to the system on their next
 * call, and fails with ENOMEM.  Nothing here exits, aborts or prints.
 */
#include "config.h"

#include "bufpool_internal.h"
#include "bufpool_poison.h"

#include <stddef.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t pool_next_id = 1;

/* ---- buffer memory --------------------------------------------------- */

/* Raise a high-water mark to v.  Only on the paths that take memory from
 * the system, never on a thread cache hit. */
static void peak_raise_u64(_Atomic uint64_t *peak, uint64_t v)
{
	uint64_t p = atomic_load_explicit(peak, memory_order_relaxed);
	while (p < v && !atomic_compare_exchange_weak_explicit(peak, &p, v, memory_order_relaxed,
							       memory_order_relaxed))
		;
}

static void peak_raise_size(_Atomic size_t *peak, size_t v)
{
	size_t p = atomic_load_explicit(peak, memory_order_relaxed);
	while (p < v && !atomic_compare_exchange_weak_explicit(peak, &p, v, memory_order_relaxed,
							       memory_order_relaxed))
		;
}

/* Reserve bytes under MEM_LIMIT; *now is bytes owned after. */
static bool pool_reserve(bufpool_t *pool, size_t bytes, size_t *now)
{
	size_t owned = atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed);
	do {
		size_t limit = atomic_load_explicit(&pool->mem_limit, memory_order_relaxed);
		if (owned > limit || bytes > limit - owned)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&pool->bytes_owned, &owned,
							owned + bytes,
							memory_order_relaxed,
							memory_order_relaxed));
	peak_raise_size(&pool->peak_bytes, owned + bytes);
	*now = owned + bytes;
	return true;
}

bool pool_over_limit(const bufpool_t *pool)
{
	return atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed) >
	       atomic_load_explicit(&pool->mem_limit, memory_order_relaxed);
}

/* A new buffer from the system, within MEM_LIMIT; NULL if over it (errno
 * ENOMEM either way). */
struct io_buf *pool_buf_fresh(bufpool_t *pool, unsigned tier)
{
	size_t cap = bufpool_tier_size(tier), owned_now;
	void *mem;

	if (!pool_reserve(pool, cap, &owned_now)) {
		errno = ENOMEM;
		return NULL;
	}
	if (posix_memalign(&mem, BUFPOOL_ALIGN, BUF_HDR_SIZE + cap) != 0) {
		atomic_fetch_sub_explicit(&pool->bytes_owned, cap, memory_order_relaxed);
		errno = ENOMEM;
		return NULL;
	}
	struct buf_hdr *h = mem;
	h->pub.next = NULL;
	h->pub.capacity = cap;
	h->pub.head = 0;
	h->pub.length = 0;
	h->pub.data = (char *)mem + BUF_HDR_SIZE;
	h->owner = 0;
	h->tier = tier;
	atomic_init(&h->refs, 0);
	buf_poison(&h->pub); /* idle until handed out */
	uint64_t owned = atomic_fetch_add_explicit(&pool->tier[tier].owned, 1,
						   memory_order_relaxed) + 1;
	peak_raise_u64(&pool->tier[tier].peak_owned, owned);
	pressure_grew(pool, owned_now);
	return &h->pub;
}

/* Give one buffer back to the system. */
void pool_buf_release(bufpool_t *pool, struct io_buf *buf)
{
	struct buf_hdr *h = buf_hdr_of(buf);
	unsigned tier = h->tier;

	h->owner = 0;
	buf_unpoison(buf);
	free(h);
	atomic_fetch_sub_explicit(&pool->tier[tier].owned, 1, memory_order_relaxed);
	size_t owned = atomic_fetch_sub_explicit(&pool->bytes_owned, bufpool_tier_size(tier),
						 memory_order_relaxed) -
		       bufpool_tier_size(tier);
	atomic_fetch_add_explicit(&pool->released, 1, memory_order_relaxed);
	pressure_shrank(pool, owned);
	if (BUFPOOL_UNLIKELY(atomic_load_explicit(&pool->over_limit, memory_order_relaxed)) &&
	    owned <= atomic_load_explicit(&pool->mem_limit, memory_order_relaxed))
		atomic_store_explicit(&pool->over_limit, false, memory_order_relaxed);
}

/* ---- shared lists ----------------------------------------------------- */

void pool_list_push_many(bufpool_t *pool, unsigned tier, struct io_buf **bufs,
			 unsigned n)
{
	struct tier_list *tl = &pool->tier[tier];

	if (n == 0)
		return;
	for (unsigned i = 0; i + 1 < n; i++)
		bufs[i]->next = bufs[i + 1];
	pthread_mutex_lock(&tl->lock);
	bufs[n - 1]->next = tl->head;
	tl->head = bufs[0];
	counter_add(&tl->idle, n);
	pthread_mutex_unlock(&tl->lock);
}

unsigned pool_list_pop_many(bufpool_t *pool, unsigned tier, struct io_buf **bufs,
			    unsigned n)
{
	struct tier_list *tl = &pool->tier[tier];
	unsigned got = 0;

	pthread_mutex_lock(&tl->lock);
	while (got < n && tl->head) {
		bufs[got++] = tl->head;
		tl->head = tl->head->next;
	}
	atomic_store_explicit(&tl->idle, counter_get(&tl->idle) - got,
			      memory_order_relaxed);
	pthread_mutex_unlock(&tl->lock);
	return got;
}

/* Release idle buffers of the shared lists (all tiers but `skip`; -1 for
 * none) until bytes_owned + want <= limit, or all of them if want is
 * SIZE_MAX.  Returns the bytes released. */
size_t pool_release_idle(bufpool_t *pool, int skip, size_t want)
{
	size_t freed = 0;

	for (int t = BUFPOOL_TIERS - 1; t >= 0; t--) {
		if (t == skip)
			continue;
		struct tier_list *tl = &pool->tier[t];
		pthread_mutex_lock(&tl->lock);
		while (tl->head) {
			if (want != SIZE_MAX) {
				size_t owned = atomic_load_explicit(&pool->bytes_owned,
								    memory_order_relaxed);
				size_t limit = atomic_load_explicit(&pool->mem_limit,
								    memory_order_relaxed);
				if (owned <= limit && want <= limit - owned)
					break;
			}
			struct io_buf *b = tl->head;
			tl->head = b->next;
			atomic_store_explicit(&tl->idle, counter_get(&tl->idle) - 1,
					      memory_order_relaxed);
			pool_buf_release(pool, b);
			freed += bufpool_tier_size((unsigned)t);
		}
		pthread_mutex_unlock(&tl->lock);
	}
	return freed;
}

void pool_request_drain(bufpool_t *pool)
{
	atomic_fetch_add_explicit(&pool->drain_epoch, 1, memory_order_relaxed);
}

/* ---- life cycle ------------------------------------------------------- */

static bool config_valid(const struct bufpool_config *cfg)
{
	size_t bytes = 0;

	if (cfg->size < offsetof(struct bufpool_config, thread_cache) + sizeof(int))
		return false;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		size_t cap = bufpool_tier_size(t);
		if (cfg->prealloc[t] > (SIZE_MAX - bytes) / cap)
			return false;
		bytes += cfg->prealloc[t] * cap;
	}
	return bytes <= cfg->mem_limit;
}

BUFPOOL_API void bufpool_config_init(struct bufpool_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->mem_limit = BUFPOOL_MEM_LIMIT;
	cfg->prealloc[0] = 16;
	cfg->prealloc[1] = 4;
	cfg->thread_cache = 1;
}

int pool_config_check(const struct bufpool_config *cfg)
{
	if (!cfg || !config_valid(cfg)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int pool_prealloc(bufpool_t *pool, const struct bufpool_config *cfg)
{
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		for (unsigned i = 0; i < cfg->prealloc[t]; i++) {
			struct io_buf *b = pool_buf_fresh(pool, t);
			if (!b)
				return -1;
			pool_list_push_many(pool, t, &b, 1);
		}
	}
	return 0;
}

BUFPOOL_API bufpool_t *bufpool_new(const struct bufpool_config *cfg)
{
	struct bufpool_config defaults;

	if (!cfg) {
		bufpool_config_init(&defaults);
		cfg = &defaults;
	}
	if (pool_config_check(cfg) < 0)
		return NULL;

	bufpool_t *pool;
	if (posix_memalign((void **)&pool, 64, sizeof(*pool)) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	memset(pool, 0, sizeof(*pool));
	pool->id = atomic_fetch_add(&pool_next_id, 1);
	/* Spread the ids so a stray pointer is unlikely to carry a valid tag. */
	pool->tag = (pool->id * 0x9E3779B97F4A7C15ull) | 1;
	pool->thread_cache = cfg->thread_cache;
	atomic_init(&pool->mem_limit, cfg->mem_limit);
	pthread_mutex_init(&pool->caches_lock, NULL);
	pressure_init(pool);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		pthread_mutex_init(&pool->tier[t].lock, NULL);

	if (pool_prealloc(pool, cfg) < 0) {
		pool_release_idle(pool, -1, SIZE_MAX);
		pressure_fini(pool);
		free(pool);
		errno = ENOMEM;
		return NULL;
	}
	registry_add(pool);
	return pool;
}

BUFPOOL_API void bufpool_destroy(bufpool_t *pool)
{
	if (!pool)
		return;
	registry_remove(pool);
	tcache_free_all(pool);
	pool_release_idle(pool, -1, SIZE_MAX);
	pthread_mutex_destroy(&pool->caches_lock);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		pthread_mutex_destroy(&pool->tier[t].lock);
	pressure_fini(pool);
	free(pool);
}

/* ---- limits, trimming, statistics ------------------------------------- */

BUFPOOL_API int bufpool_set_mem_limit(bufpool_t *pool, size_t mem_limit)
{
	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	atomic_store_explicit(&pool->mem_limit, mem_limit, memory_order_relaxed);
	if (pool_over_limit(pool)) {
		/* Reverts give buffers back to the system until under the limit. */
		atomic_store_explicit(&pool->over_limit, true, memory_order_relaxed);
		struct tcache *tc = tcache_lookup(pool);
		if (tc)
			tcache_flush(pool, tc, true);
		pool_release_idle(pool, -1, 0);
		pool_request_drain(pool);
	}
	atomic_store_explicit(&pool->over_limit, pool_over_limit(pool), memory_order_relaxed);
	pressure_deliver(pool);
	return 0;
}

BUFPOOL_API size_t bufpool_mem_limit(const bufpool_t *pool)
{
	if (!pool)
		return 0;
	return atomic_load_explicit(&pool->mem_limit, memory_order_relaxed);
}

BUFPOOL_API size_t bufpool_trim(bufpool_t *pool)
{
	if (!pool)
		return 0;
	size_t before = atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed);
	struct tcache *tc = tcache_lookup(pool);
	if (tc)
		tcache_flush(pool, tc, true);
	pool_request_drain(pool);
	size_t freed = pool_release_idle(pool, -1, SIZE_MAX);
	size_t after = atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed);
	pressure_deliver(pool);
	/* Count what this thread's cache gave back too. */
	return before > after ? before - after : freed;
}

BUFPOOL_API int bufpool_peaks(bufpool_t *pool, struct bufpool_peaks *pk)
{
	struct bufpool_peaks all;

	if (!pool || !pk || pk->size < offsetof(struct bufpool_peaks, bytes_owned) +
						sizeof(pk->bytes_owned)) {
		errno = EINVAL;
		return -1;
	}
	memset(&all, 0, sizeof(all));
	all.size = pk->size < sizeof(all) ? pk->size : sizeof(all);
	all.bytes_owned = atomic_load_explicit(&pool->peak_bytes, memory_order_relaxed);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		all.owned[t] = atomic_load_explicit(&pool->tier[t].peak_owned, memory_order_relaxed);
	/* A caller built against an older, shorter struct gets its part. */
	memcpy(pk, &all, all.size);
	return 0;
}

BUFPOOL_API void bufpool_stats(bufpool_t *pool, struct bufpool_stats *st)
{
	if (!pool || !st)
		return;
	memset(st, 0, sizeof(*st));
	st->mem_limit = atomic_load_explicit(&pool->mem_limit, memory_order_relaxed);
	st->too_large = atomic_load_explicit(&pool->too_large, memory_order_relaxed);
	st->released = atomic_load_explicit(&pool->released, memory_order_relaxed);

	pthread_mutex_lock(&pool->caches_lock);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		struct tier_list *tl = &pool->tier[t];
		struct bufpool_tier_stats *ts = &st->tier[t];
		uint64_t cached_allocs = 0, cached_idle = 0;

		for (struct tcache *tc = pool->caches; tc; tc = tc->next) {
			cached_allocs += counter_get(&tc->allocs[t]);
			cached_idle += tcache_count(tc, t);
		}
		ts->capacity = bufpool_tier_size(t);
		ts->owned = atomic_load_explicit(&tl->owned, memory_order_relaxed);
		ts->idle = counter_get(&tl->idle) + cached_idle;
		if (ts->idle > ts->owned) /* a moving snapshot */
			ts->idle = ts->owned;
		ts->in_use = ts->owned - ts->idle;
		ts->allocs = atomic_load_explicit(&tl->allocs, memory_order_relaxed) +
			     cached_allocs;
		ts->fresh = atomic_load_explicit(&tl->fresh, memory_order_relaxed);
		ts->failures = atomic_load_explicit(&tl->failures, memory_order_relaxed);

		st->bytes_idle += ts->idle * ts->capacity;
		st->allocs += ts->allocs;
		st->fresh += ts->fresh;
		st->failures += ts->failures;
	}
	pthread_mutex_unlock(&pool->caches_lock);
	/* The tiers were read one after another while other threads may move
	 * memory between them; the total comes from the one counter that
	 * MEM_LIMIT guards, so it never shows more than the pool holds. */
	st->bytes_owned = atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed);
	if (st->bytes_idle > st->bytes_owned)
		st->bytes_idle = st->bytes_owned;
	st->bytes_in_use = st->bytes_owned - st->bytes_idle;
}
