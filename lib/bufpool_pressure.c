/*
 * bufpool_pressure.c - memory pressure: marks, events, the user's callback.
 *
 * A pool may carry a high and a low mark, fractions of MEM_LIMIT (so they
 * follow bufpool_set_mem_limit()).  bytes_owned only changes on the slow
 * paths (fresh memory from the system, memory given back), so the checks
 * live there and the fast paths never see them.
 *
 * States: NORMAL -> HIGH when bytes owned reach the high mark (a HIGH
 * event); HIGH -> LOW_PENDING when they fall to the low mark or below;
 * LOW_PENDING -> NORMAL when the LOW event is delivered.  Memory is given
 * back with locks held (tier lists, cache registry), and the user's
 * function may call into the pool, so a fall only records LOW_PENDING and
 * pressure_deliver() passes the event on from the next public call that
 * holds no lock.  Growth back to the high mark before that cancels the
 * pending LOW (the caller never saw the pool leave HIGH).  Every change of
 * state is a compare-and-swap, so each event is delivered once, HIGH and
 * LOW alternating, whatever the threads.
 *
 * The configuration is immutable once published (an atomic pointer); a
 * replaced one is kept until bufpool_destroy(), since a thread may still
 * be calling its function.  bufpool_set_pressure() is rare, so the few
 * bytes kept do not matter.
 */
#include "config.h"

#include "bufpool_internal.h"

#include <errno.h>
#include <math.h> /* isnan, a macro: no libm */
#include <stdlib.h>
#include <string.h>

#define PPM 1000000u

struct pressure_cfg {
	uint32_t high_ppm, low_ppm; /* marks in millionths of MEM_LIMIT */
	bufpool_pressure_fn fn;
	void *arg;
	struct pressure_cfg *retired_next;
};

static size_t mark_bytes(const bufpool_t *pool, uint32_t ppm)
{
	size_t limit = atomic_load_explicit(&pool->mem_limit, memory_order_relaxed);
	return (size_t)((unsigned __int128)limit * ppm / PPM);
}

static struct pressure_cfg *cfg_get(bufpool_t *pool)
{
	return atomic_load_explicit(&pool->pressure, memory_order_acquire);
}

static void pressure_call(bufpool_t *pool, const struct pressure_cfg *c,
			  enum bufpool_pressure_event ev, size_t owned)
{
	if (c && c->fn)
		c->fn(pool, ev, owned, c->arg);
}

static bool state_move(bufpool_t *pool, int from, int to)
{
	return atomic_compare_exchange_strong_explicit(&pool->pressure_state, &from, to,
						       memory_order_relaxed,
						       memory_order_relaxed);
}

void pressure_grew(bufpool_t *pool, size_t owned)
{
	struct pressure_cfg *c = cfg_get(pool);

	if (!c || owned < mark_bytes(pool, c->high_ppm))
		return;
	if (state_move(pool, PRESSURE_LOW_PENDING, PRESSURE_HIGH))
		return; /* back up before anyone was told it went down */
	if (!state_move(pool, PRESSURE_NORMAL, PRESSURE_HIGH))
		return;
	atomic_fetch_add_explicit(&pool->pressure_high_events, 1, memory_order_relaxed);
	pressure_call(pool, c, BUFPOOL_PRESSURE_HIGH, owned);
}

void pressure_shrank(bufpool_t *pool, size_t owned)
{
	if (atomic_load_explicit(&pool->pressure_state, memory_order_relaxed) != PRESSURE_HIGH)
		return;
	struct pressure_cfg *c = cfg_get(pool);
	if (c && owned <= mark_bytes(pool, c->low_ppm))
		state_move(pool, PRESSURE_HIGH, PRESSURE_LOW_PENDING);
}

void pressure_deliver_slow(bufpool_t *pool)
{
	if (!state_move(pool, PRESSURE_LOW_PENDING, PRESSURE_NORMAL))
		return;
	atomic_fetch_add_explicit(&pool->pressure_low_events, 1, memory_order_relaxed);
	pressure_call(pool, cfg_get(pool), BUFPOOL_PRESSURE_LOW,
		      atomic_load_explicit(&pool->bytes_owned, memory_order_relaxed));
}

void pressure_refused(bufpool_t *pool, size_t owned)
{
	atomic_fetch_add_explicit(&pool->pressure_refusals, 1, memory_order_relaxed);
	pressure_call(pool, cfg_get(pool), BUFPOOL_PRESSURE_REFUSED, owned);
}

void pressure_init(bufpool_t *pool)
{
	pthread_mutex_init(&pool->pressure_lock, NULL);
	atomic_init(&pool->pressure, NULL);
	atomic_init(&pool->pressure_state, PRESSURE_NORMAL);
}

void pressure_fini(bufpool_t *pool)
{
	free(atomic_load_explicit(&pool->pressure, memory_order_relaxed));
	for (struct pressure_cfg *c = pool->pressure_retired, *next; c; c = next) {
		next = c->retired_next;
		free(c);
	}
	pthread_mutex_destroy(&pool->pressure_lock);
}

static bool fraction_ok(double f, double lo, double hi)
{
	return !isnan(f) && f >= lo && f <= hi;
}

BUFPOOL_API int bufpool_set_pressure(bufpool_t *pool, const struct bufpool_pressure *pr)
{
	struct pressure_cfg *c = NULL;

	if (!pool || (pr && pr->size < offsetof(struct bufpool_pressure, arg) + sizeof(pr->arg))) {
		errno = EINVAL;
		return -1;
	}
	if (pr) {
		if (!fraction_ok(pr->high, 1e-6, 1.0) || !fraction_ok(pr->low, 0.0, pr->high) ||
		    pr->low == pr->high) {
			errno = EINVAL;
			return -1;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			errno = ENOMEM;
			return -1;
		}
		c->high_ppm = (uint32_t)(pr->high * PPM + 0.5);
		c->low_ppm = (uint32_t)(pr->low * PPM + 0.5);
		if (c->low_ppm >= c->high_ppm) /* closer than a millionth */
			c->low_ppm = c->high_ppm - 1;
		c->fn = pr->fn;
		c->arg = pr->arg;
	}
	pthread_mutex_lock(&pool->pressure_lock);
	struct pressure_cfg *old = atomic_exchange_explicit(&pool->pressure, c,
							    memory_order_acq_rel);
	if (old) {
		old->retired_next = pool->pressure_retired;
		pool->pressure_retired = old;
	}
	/* New marks, new story: the next growth past the high mark is news. */
	atomic_store_explicit(&pool->pressure_state, PRESSURE_NORMAL, memory_order_relaxed);
	pthread_mutex_unlock(&pool->pressure_lock);
	return 0;
}

BUFPOOL_API int bufpool_pressure_stats(bufpool_t *pool, struct bufpool_pressure_stats *st)
{
	struct bufpool_pressure_stats all;

	if (!pool || !st || st->size < offsetof(struct bufpool_pressure_stats, refusals) +
						sizeof(st->refusals)) {
		errno = EINVAL;
		return -1;
	}
	memset(&all, 0, sizeof(all));
	all.size = st->size < sizeof(all) ? st->size : sizeof(all);
	struct pressure_cfg *c = cfg_get(pool);
	if (c) {
		all.high_mark = mark_bytes(pool, c->high_ppm);
		all.low_mark = mark_bytes(pool, c->low_ppm);
	}
	all.above = atomic_load_explicit(&pool->pressure_state, memory_order_relaxed) !=
		    PRESSURE_NORMAL;
	all.high_events = atomic_load_explicit(&pool->pressure_high_events, memory_order_relaxed);
	all.low_events = atomic_load_explicit(&pool->pressure_low_events, memory_order_relaxed);
	all.refusals = atomic_load_explicit(&pool->pressure_refusals, memory_order_relaxed);
	memcpy(st, &all, all.size);
	return 0;
}
