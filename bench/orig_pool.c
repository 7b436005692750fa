/*
 * orig_pool.c - the original Lars buffer pool (the baseline to beat).
 *
 * Written from the seed's buf_pool (DESIGN.md, seed/): a singleton made once
 * with pthread_once; per tier one singly linked list of idle buffers, pushed
 * and popped at the head; ONE global mutex held around every list operation;
 * alloc_buf(N) picks the smallest tier >= N with an if-chain and, when that
 * tier's list is empty, makes a fresh buffer with malloc (struct and data
 * separately, like `new io_buf(size)`), which later revert()s keep for good.
 * Nothing is ever given back to the system.
 *
 * Differences from the seed, all in the baseline's favour or neutral:
 *  - the lists live in an array indexed by tier, not a std::unordered_map
 *    keyed by size, so no hashing under the lock;
 *  - the if-chain uses <= for every tier (the seed's `N < m16K` sends exactly
 *    16K to the 64K list);
 *  - past the memory limit alloc returns NULL instead of exit(1);
 *  - preallocation is the seed's per-tier counts divided by 10: 500 x 4K,
 *    100 x 16K, 50 x 64K, 20 x 256K, 5 x 1M, 2 x 4M, 1 x 8M = 32.8 MB instead
 *    of 328 MB, enough for one thread's 256-buffer window; the two-thread
 *    window takes a few more 16K and 1M buffers from the fallback malloc
 *    during warm-up, as the original would, and keeps them.  Preallocated
 *    data is not touched, as with `new char[size]`.
 */
#define _GNU_SOURCE
#include "orig_pool.h"

#include <pthread.h>
#include <stdlib.h>

#define ORIG_MEM_LIMIT ((size_t)5 << 30) /* the seed's 5 GB (in KB there) */

const unsigned orig_prealloc_default[ORIG_TIERS] = {500, 100, 50, 20, 5, 2, 1};

static const size_t orig_tier_size[ORIG_TIERS] = {
	(size_t)4 << 10, (size_t)16 << 10, (size_t)64 << 10, (size_t)256 << 10,
	(size_t)1 << 20, (size_t)4 << 20, (size_t)8 << 20,
};

struct orig_pool {
	pthread_mutex_t mutex;
	struct orig_buf *list[ORIG_TIERS];
	size_t total_mem;
};

static struct orig_pool orig_the_pool = {.mutex = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t orig_once = PTHREAD_ONCE_INIT;
static unsigned orig_prealloc[ORIG_TIERS];
static int orig_configured;

void orig_pool_configure(const unsigned prealloc[ORIG_TIERS])
{
	for (unsigned t = 0; t < ORIG_TIERS; t++)
		orig_prealloc[t] = prealloc ? prealloc[t] : orig_prealloc_default[t];
	orig_configured = 1;
}

static struct orig_buf *orig_buf_new(size_t size)
{
	struct orig_buf *buf = malloc(sizeof(*buf));

	if (!buf)
		return NULL;
	buf->data = malloc(size);
	if (!buf->data) {
		free(buf);
		return NULL;
	}
	buf->next = NULL;
	buf->capacity = size;
	buf->head = 0;
	buf->length = 0;
	return buf;
}

static void orig_init(void)
{
	if (!orig_configured)
		orig_pool_configure(NULL);
	for (unsigned t = 0; t < ORIG_TIERS; t++) {
		for (unsigned i = 0; i < orig_prealloc[t]; i++) {
			struct orig_buf *buf = orig_buf_new(orig_tier_size[t]);

			if (!buf)
				return; /* the seed exit(1)ed; keep what we have */
			buf->next = orig_the_pool.list[t];
			orig_the_pool.list[t] = buf;
			orig_the_pool.total_mem += orig_tier_size[t];
		}
	}
}

/* buf_pool::instance(): every call site of the seed goes through it. */
static struct orig_pool *orig_instance(void)
{
	pthread_once(&orig_once, orig_init);
	return &orig_the_pool;
}

struct orig_buf *orig_alloc_buf(size_t n)
{
	struct orig_pool *pool = orig_instance();
	struct orig_buf *buf;
	unsigned t;

	if (n <= orig_tier_size[0])
		t = 0;
	else if (n <= orig_tier_size[1])
		t = 1;
	else if (n <= orig_tier_size[2])
		t = 2;
	else if (n <= orig_tier_size[3])
		t = 3;
	else if (n <= orig_tier_size[4])
		t = 4;
	else if (n <= orig_tier_size[5])
		t = 5;
	else if (n <= orig_tier_size[6])
		t = 6;
	else
		return NULL;

	pthread_mutex_lock(&pool->mutex);
	if (!pool->list[t]) {
		if (pool->total_mem + orig_tier_size[t] >= ORIG_MEM_LIMIT) {
			pthread_mutex_unlock(&pool->mutex);
			return NULL;
		}
		/* The seed mallocs while holding the lock, so do we. */
		buf = orig_buf_new(orig_tier_size[t]);
		if (buf)
			pool->total_mem += orig_tier_size[t];
		pthread_mutex_unlock(&pool->mutex);
		return buf;
	}
	buf = pool->list[t];
	pool->list[t] = buf->next;
	pthread_mutex_unlock(&pool->mutex);
	buf->next = NULL;
	return buf;
}

void orig_revert(struct orig_buf *buf)
{
	struct orig_pool *pool = orig_instance();
	unsigned t;

	/* The seed finds the list by capacity (a map lookup); same here. */
	for (t = 0; t < ORIG_TIERS - 1 && orig_tier_size[t] != buf->capacity; t++)
		;
	buf->head = 0;
	buf->length = 0;
	pthread_mutex_lock(&pool->mutex);
	buf->next = pool->list[t];
	pool->list[t] = buf;
	pthread_mutex_unlock(&pool->mutex);
}
