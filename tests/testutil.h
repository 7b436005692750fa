/*
 * testutil.h - helpers shared by the libbufpool Check suites.
 *
 * Pools with chosen settings, the statistics invariants of the contract as
 * one checker, byte patterns that name their writer, running a function in
 * a fresh child process (for the process-wide singleton), and a common
 * main().  Helpers that may run on worker threads report problems as a
 * message instead of calling ck_assert, which only works on the test's own
 * thread.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <bufpool.h>
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A pool with the given MEM_LIMIT, no preallocation, thread caches on or
 * off.  Asserts that it was made. */
bufpool_t *testutil_pool_new(size_t mem_limit, int thread_cache);

/* Check every invariant the contract promises for a quiet pool.  Returns
 * NULL when all hold, else a static description of the first that fails. */
const char *testutil_stats_problem(bufpool_t *pool, struct bufpool_stats *st);

/* ck_assert the invariants and return the snapshot in *st. */
void testutil_assert_stats(bufpool_t *pool, struct bufpool_stats *st);

/* Fill len bytes at p with a pattern derived from seed; verify it. */
void testutil_fill(void *p, size_t len, uint64_t seed);
bool testutil_verify(const void *p, size_t len, uint64_t seed);

/* Run fn(arg) in a forked child; return its exit status, or 128 + signal
 * number if it died of a signal, or -1 if fork failed. */
int testutil_in_child(int (*fn)(void *), void *arg);

/* Run a suite with TAP or plain output as the environment says. */
int testutil_main(Suite *s);

#endif /* TESTUTIL_H */
