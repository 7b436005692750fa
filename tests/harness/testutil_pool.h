/*
 * testutil_pool.h - helpers of the libbufpool Check suites (test_pool,
 * test_iobuf, test_threads): pools with chosen settings and the statistics
 * invariants of the contract as one checker.  Helpers that may run on
 * worker threads report problems as a message instead of calling
 * ck_assert, which only works on the test's own thread.
 */
#ifndef TESTUTIL_POOL_H
#define TESTUTIL_POOL_H

#include "testutil.h"

#include <bufpool.h>
#include <stddef.h>

/* A pool with the given MEM_LIMIT, no preallocation, thread caches on or
 * off.  Asserts that it was made. */
bufpool_t *testutil_pool_new(size_t mem_limit, int thread_cache);

/* Check every invariant the contract promises for a quiet pool.  Returns
 * NULL when all hold, else a static description of the first that fails. */
const char *testutil_stats_problem(bufpool_t *pool, struct bufpool_stats *st);

/* ck_assert the invariants and return the snapshot in *st. */
void testutil_assert_stats(bufpool_t *pool, struct bufpool_stats *st);

#endif /* TESTUTIL_POOL_H */
