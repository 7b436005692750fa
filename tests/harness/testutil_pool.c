/*
 * testutil_pool.c - pool helpers of the libbufpool Check suites
 * (testutil_pool.h).
 *
 * The statistics checker encodes the invariants of the behaviour contract
 * for a pool no other thread is using: per tier owned = idle + in_use,
 * byte totals equal to the counts times the tier sizes, totals equal to the
 * sums of the tiers, fresh <= allocs, and the tiers' capacities.
 */
#include "config.h"

#include "testutil_pool.h"

#include <string.h>

bufpool_t *testutil_pool_new(size_t mem_limit, int thread_cache)
{
	struct bufpool_config cfg;
	bufpool_t *pool;

	bufpool_config_init(&cfg);
	cfg.mem_limit = mem_limit;
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.thread_cache = thread_cache;
	pool = bufpool_new(&cfg);
	ck_assert_msg(pool != NULL, "bufpool_new(limit %zu, cache %d) failed",
		      mem_limit, thread_cache);
	return pool;
}

/* The per-tier part of the invariants; accumulates the sums in *sum. */
static const char *testutil_tier_problem(const struct bufpool_stats *st,
					 unsigned t, struct bufpool_stats *sum)
{
	const struct bufpool_tier_stats *ts = &st->tier[t];

	if (ts->capacity != bufpool_tier_size(t))
		return "tier capacity differs from bufpool_tier_size()";
	if (ts->owned != ts->idle + ts->in_use)
		return "tier owned != idle + in_use";
	if (ts->fresh > ts->allocs)
		return "tier fresh > allocs";
	sum->bytes_owned += ts->owned * ts->capacity;
	sum->bytes_idle += ts->idle * ts->capacity;
	sum->bytes_in_use += ts->in_use * ts->capacity;
	sum->allocs += ts->allocs;
	sum->fresh += ts->fresh;
	sum->failures += ts->failures;
	return NULL;
}

const char *testutil_stats_problem(bufpool_t *pool, struct bufpool_stats *st)
{
	struct bufpool_stats sum;
	const char *why;

	memset(st, 0xa5, sizeof(*st)); /* catch fields stats leaves unset */
	bufpool_stats(pool, st);
	memset(&sum, 0, sizeof(sum));
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		if ((why = testutil_tier_problem(st, t, &sum)) != NULL)
			return why;
	if (st->mem_limit != bufpool_mem_limit(pool))
		return "stats mem_limit != bufpool_mem_limit()";
	if (st->bytes_owned != sum.bytes_owned)
		return "bytes_owned != sum of owned * capacity";
	if (st->bytes_idle != sum.bytes_idle)
		return "bytes_idle != sum of idle * capacity";
	if (st->bytes_in_use != sum.bytes_in_use)
		return "bytes_in_use != sum of in_use * capacity";
	if (st->bytes_in_use + st->bytes_idle != st->bytes_owned)
		return "bytes_in_use + bytes_idle != bytes_owned";
	if (st->allocs != sum.allocs || st->fresh != sum.fresh ||
	    st->failures != sum.failures)
		return "allocs/fresh/failures totals != sums of tiers";
	if (st->fresh > st->allocs)
		return "fresh > allocs";
	return NULL;
}

void testutil_assert_stats(bufpool_t *pool, struct bufpool_stats *st)
{
	const char *why = testutil_stats_problem(pool, st);

	ck_assert_msg(why == NULL, "stats invariant broken: %s", why);
}
