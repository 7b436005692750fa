/*
 * bufpool_tcache.c - per-thread caches of idle buffers.
 *
 * A thread finds its cache for a pool through a few thread-local slots
 * (pool id -> cache), so the hot path is a TLS read and a compare.  Caches
 * are bounded per tier (bufpool_tcache_cap) and their buffers count against
 * MEM_LIMIT like any other: they are owned by the pool, and every cache sits
 * on the pool's list so bufpool_stats() and bufpool_destroy() can see it.
 *
 * Only the owning thread touches a cache's stacks, except bufpool_destroy(),
 * which the caller must not run while other threads still use the pool.
 * Other threads ask for a cache to be emptied through pool->drain_epoch.
 *
 * When a thread exits, a pthread key destructor gives its caches back to the
 * shared lists of every pool that is still alive.  A registry of live pools
 * (pool ids are never reused) tells live pools from destroyed ones.
 */
#include "config.h"

#include "bufpool_internal.h"

#include <errno.h>
#include <stdlib.h>

/* Fewer buffers per thread the bigger they are: a thread keeps at most
 * about 17 MB idle, and gives it back when the pool needs it. */
const unsigned bufpool_tcache_cap[BUFPOOL_TIERS] = {64, 32, 16, 4, 2, 1, 1};

__thread struct tslot pool_tslots[TSLOTS] __attribute__((tls_model("initial-exec")));

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bufpool *registry_head;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool key_ok;

/* ---- registry of live pools ------------------------------------------- */

void registry_add(bufpool_t *pool)
{
	pthread_mutex_lock(&registry_lock);
	pool->next_live = registry_head;
	registry_head = pool;
	pthread_mutex_unlock(&registry_lock);
}

void registry_remove(bufpool_t *pool)
{
	pthread_mutex_lock(&registry_lock);
	for (struct bufpool **p = &registry_head; *p; p = &(*p)->next_live) {
		if (*p == pool) {
			*p = pool->next_live;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* Caller holds registry_lock. */
static bufpool_t *registry_find(uint64_t id)
{
	for (struct bufpool *p = registry_head; p; p = p->next_live)
		if (p->id == id)
			return p;
	return NULL;
}

/* ---- moving buffers out of a cache ------------------------------------ */

/* Empty a cache: into the shared lists, or back to the system. */
void tcache_flush(bufpool_t *pool, struct tcache *tc, bool to_system)
{
	tc->seen_drain = atomic_load_explicit(&pool->drain_epoch, memory_order_relaxed);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		unsigned n = tcache_count(tc, t);
		if (n == 0)
			continue;
		if (to_system) {
			for (unsigned i = 0; i < n; i++)
				pool_buf_release(pool, tc->stack[t][i]);
		} else {
			pool_list_push_many(pool, t, tc->stack[t], n);
		}
		tcache_set_count(tc, t, 0);
	}
}

/* Fold a cache's counters into the pool's, unlink and free it.  Caller
 * holds pool->caches_lock. */
static void tcache_retire(bufpool_t *pool, struct tcache *tc, bool to_system)
{
	tcache_flush(pool, tc, to_system);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		atomic_fetch_add_explicit(&pool->tier[t].allocs, counter_get(&tc->allocs[t]),
					  memory_order_relaxed);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		pool->caches = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	free(tc);
}

void tcache_free_all(bufpool_t *pool)
{
	pthread_mutex_lock(&pool->caches_lock);
	while (pool->caches)
		tcache_retire(pool, pool->caches, true);
	pthread_mutex_unlock(&pool->caches_lock);
}

/* Thread exit: hand this thread's caches back to the pools still alive
 * (to the system if the pool is over a lowered limit). */
static void tcache_thread_exit(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < TSLOTS; i++) {
		if (!pool_tslots[i].tc)
			continue;
		bufpool_t *pool = registry_find(pool_tslots[i].pool_id);
		if (pool) { /* else the cache died with its pool */
			pthread_mutex_lock(&pool->caches_lock);
			tcache_retire(pool, pool_tslots[i].tc, pool_over_limit(pool));
			pthread_mutex_unlock(&pool->caches_lock);
		}
		pool_tslots[i].pool_id = 0;
		pool_tslots[i].tc = NULL;
	}
	pthread_mutex_unlock(&registry_lock);
}

static void key_create(void)
{
	key_ok = pthread_key_create(&exit_key, tcache_thread_exit) == 0;
}

/* ---- finding and making a thread's cache ------------------------------ */

/* A free slot, or one whose pool is gone.  Caller holds registry_lock. */
static struct tslot *tslot_free(void)
{
	for (unsigned i = 0; i < TSLOTS; i++)
		if (!pool_tslots[i].tc || !registry_find(pool_tslots[i].pool_id))
			return &pool_tslots[i];
	return NULL;
}

/* Make this thread's cache for pool.  NULL when the thread already serves
 * TSLOTS live pools, or memory is short: the caller then uses the shared
 * lists directly, which is slower but just as correct. */
struct tcache *tcache_attach(bufpool_t *pool)
{
	pthread_once(&key_once, key_create);
	if (!key_ok)
		return NULL;

	pthread_mutex_lock(&registry_lock);
	struct tslot *slot = tslot_free();
	struct tcache *tc = slot ? calloc(1, sizeof(*tc)) : NULL;
	if (tc) {
		tc->seen_drain = atomic_load_explicit(&pool->drain_epoch,
						      memory_order_relaxed);
		pthread_mutex_lock(&pool->caches_lock);
		tc->next = pool->caches;
		if (tc->next)
			tc->next->prev = tc;
		pool->caches = tc;
		pthread_mutex_unlock(&pool->caches_lock);
		*slot = pool_tslots[0]; /* the newest pool goes first */
		pool_tslots[0].pool_id = pool->id;
		pool_tslots[0].tc = tc;
		/* Any non-NULL value makes the destructor run at thread exit. */
		pthread_setspecific(exit_key, pool_tslots);
	}
	pthread_mutex_unlock(&registry_lock);
	return tc;
}
