/*
 * test_pressure.c - memory pressure: marks, events and their statistics.
 *
 * Covers: bufpool_set_pressure() refusing bad settings (EINVAL: no pool, a
 * short size, high not in (0, 1], low not in [0, high), NaN);
 * HIGH once when bytes owned reach the high mark and not again while above
 * it; no LOW while the memory only goes idle (it is still owned); LOW when
 * bufpool_trim() gives it back, then HIGH again on the next climb;
 * REFUSED on every allocation refused at MEM_LIMIT, with the bytes owned;
 * marks that follow bufpool_set_mem_limit(); a callback that calls back
 * into the pool (allocates, reverts, reads the statistics) without
 * deadlock; no function: the statistics still count; turning pressure off;
 * bufpool_pressure_stats() filling only what an older, shorter struct
 * holds.  Threads: four threads climb past the high mark and trim back
 * down many times; HIGH and LOW events stay within one of each other and
 * match the statistics.
 */
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

struct tpr_seen {
	_Atomic unsigned high, low, refused;
	_Atomic size_t last_owned; /* callbacks may run on several threads at once */
	bufpool_t *reenter; /* nonzero: the callback uses the pool */
};

static void tpr_record(bufpool_t *pool, enum bufpool_pressure_event ev, size_t owned,
		       void *arg)
{
	struct tpr_seen *s = arg;

	switch (ev) {
	case BUFPOOL_PRESSURE_HIGH:
		atomic_fetch_add(&s->high, 1);
		break;
	case BUFPOOL_PRESSURE_LOW:
		atomic_fetch_add(&s->low, 1);
		break;
	case BUFPOOL_PRESSURE_REFUSED:
		atomic_fetch_add(&s->refused, 1);
		break;
	}
	s->last_owned = owned;
	if (s->reenter == pool) {
		struct bufpool_stats st;
		struct io_buf *b = bufpool_alloc(pool, 100); /* may be NULL at the cap */
		bufpool_revert(pool, b);
		bufpool_stats(pool, &st);
	}
}

static void tpr_set(bufpool_t *pool, double high, double low, struct tpr_seen *s)
{
	struct bufpool_pressure pr = {.size = sizeof(pr), .high = high, .low = low,
				      .fn = s ? tpr_record : NULL, .arg = s};
	ck_assert_int_eq(bufpool_set_pressure(pool, &pr), 0);
}

static struct bufpool_pressure_stats tpr_stats(bufpool_t *pool)
{
	struct bufpool_pressure_stats ps = {.size = sizeof(ps)};

	ck_assert_int_eq(bufpool_pressure_stats(pool, &ps), 0);
	return ps;
}

START_TEST(test_set_invalid)
{
	bufpool_t *pool = testutil_pool_new(MiB, 1);
	const double bad[][2] = {{0, 0}, {1.5, 0.5}, {0.5, 0.5}, {0.5, 0.7}, {0.5, -0.1},
				 {NAN, 0.1}, {0.5, NAN}, {-1, -2}};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bufpool_pressure pr = {.size = sizeof(pr), .high = bad[i][0],
					      .low = bad[i][1]};
		errno = 0;
		ck_assert_int_eq(bufpool_set_pressure(pool, &pr), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	struct bufpool_pressure pr = {.size = sizeof(size_t), .high = 0.5};
	ck_assert_int_eq(bufpool_set_pressure(pool, &pr), -1);
	pr.size = sizeof(pr);
	ck_assert_int_eq(bufpool_set_pressure(NULL, &pr), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Nothing set: marks 0. */
	ck_assert_uint_eq(tpr_stats(pool).high_mark, 0);
	/* high 1 and low 0 are the edges, and allowed. */
	tpr_set(pool, 1.0, 0.0, NULL);
	ck_assert_uint_eq(tpr_stats(pool).high_mark, MiB);
	ck_assert_uint_eq(tpr_stats(pool).low_mark, 0);
	struct bufpool_pressure_stats ps = {.size = 1};
	ck_assert_int_eq(bufpool_pressure_stats(pool, &ps), -1);
	bufpool_destroy(pool);
}
END_TEST

static void tpr_events(int thread_cache, int reenter)
{
	bufpool_t *pool = testutil_pool_new(MiB, thread_cache);
	struct tpr_seen s = {.reenter = reenter ? pool : NULL};
	struct io_buf *b[16];

	tpr_set(pool, 0.5, 0.25, &s);
	struct bufpool_pressure_stats ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_mark, MiB / 2);
	ck_assert_uint_eq(ps.low_mark, MiB / 4);
	/* 64K buffers: the eighth reaches 512K, the high mark. */
	for (unsigned i = 0; i < 7; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 64 * KiB));
	ck_assert_uint_eq(s.high, 0);
	ck_assert_ptr_nonnull(b[7] = bufpool_alloc(pool, 64 * KiB));
	ck_assert_uint_eq(s.high, 1);
	ck_assert_uint_ge(s.last_owned, MiB / 2);
	for (unsigned i = 8; i < 15; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 64 * KiB));
	ck_assert_uint_eq(s.high, 1);
	ck_assert(tpr_stats(pool).above);
	/* At the cap: every refusal is told. */
	for (unsigned i = 0; i < 3; i++) {
		errno = 0;
		ck_assert_ptr_null(bufpool_alloc(pool, 256 * KiB));
		ck_assert_int_eq(errno, ENOMEM);
	}
	ck_assert_uint_eq(s.refused, 3);
	ck_assert_uint_ge(s.last_owned, MiB - 64 * KiB);
	/* Idle memory is still owned: no LOW. */
	for (unsigned i = 0; i < 15; i++)
		bufpool_revert(pool, b[i]);
	ck_assert_uint_eq(s.low, 0);
	/* Given back: LOW, once. */
	ck_assert_uint_gt(bufpool_trim(pool), 0);
	ck_assert_uint_eq(s.low, 1);
	ck_assert_uint_le(s.last_owned, MiB / 4);
	ck_assert(!tpr_stats(pool).above);
	bufpool_trim(pool);
	ck_assert_uint_eq(s.low, 1);
	/* Up again: HIGH again. */
	for (unsigned i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 64 * KiB));
	ck_assert_uint_eq(s.high, 2);
	ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_events, 2);
	ck_assert_uint_eq(ps.low_events, 1);
	ck_assert_uint_ge(ps.refusals, 3);
	for (unsigned i = 0; i < 8; i++)
		bufpool_revert(pool, b[i]);
	/* The marks follow MEM_LIMIT. */
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 4 * MiB), 0);
	ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_mark, 2 * MiB);
	ck_assert_uint_eq(ps.low_mark, MiB);
	bufpool_destroy(pool);
}

START_TEST(test_events_cached)
{
	tpr_events(1, 0);
}
END_TEST

START_TEST(test_events_uncached)
{
	tpr_events(0, 0);
}
END_TEST

START_TEST(test_events_reenter)
{
	tpr_events(1, 1);
}
END_TEST

START_TEST(test_no_fn_and_off)
{
	bufpool_t *pool = testutil_pool_new(MiB, 1);
	struct io_buf *b[16];

	tpr_set(pool, 0.5, 0.25, NULL);
	for (unsigned i = 0; i < 16; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 64 * KiB));
	ck_assert_ptr_null(bufpool_alloc(pool, 64 * KiB));
	struct bufpool_pressure_stats ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_events, 1);
	ck_assert_uint_eq(ps.refusals, 1);
	/* An older caller's shorter struct: only its part is written. */
	struct {
		struct bufpool_pressure_stats st;
		unsigned char guard[16];
	} old;
	memset(&old, 0xAB, sizeof(old));
	old.st.size = offsetof(struct bufpool_pressure_stats, refusals) + sizeof(uint64_t);
	ck_assert_int_eq(bufpool_pressure_stats(pool, &old.st), 0);
	for (size_t i = 0; i < sizeof(old.guard); i++)
		ck_assert_uint_eq(old.guard[i], 0xAB);
	/* Off: no marks, and climbing again counts no HIGH. */
	ck_assert_int_eq(bufpool_set_pressure(pool, NULL), 0);
	for (unsigned i = 0; i < 16; i++)
		bufpool_revert(pool, b[i]);
	bufpool_trim(pool);
	for (unsigned i = 0; i < 16; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 64 * KiB));
	ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_mark, 0);
	ck_assert_uint_eq(ps.high_events, 1);
	for (unsigned i = 0; i < 16; i++)
		bufpool_revert(pool, b[i]);
	bufpool_destroy(pool);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

enum { TPR_THREADS = 4, TPR_ROUNDS = 200 };

static void *tpr_worker(void *arg)
{
	bufpool_t *pool = arg;
	struct io_buf *b[8];

	for (unsigned r = 0; r < TPR_ROUNDS; r++) {
		unsigned n = 0;
		for (; n < 8; n++)
			if (!(b[n] = bufpool_alloc(pool, 64 * KiB)))
				break;
		for (unsigned i = 0; i < n; i++)
			bufpool_revert(pool, b[i]);
		bufpool_trim(pool);
	}
	return NULL;
}

START_TEST(test_threads)
{
	bufpool_t *pool = testutil_pool_new(2 * MiB, 1);
	struct tpr_seen s = {0};
	pthread_t th[TPR_THREADS];

	/* low enough that one thread alone crosses it (valgrind runs one at a time) */
	tpr_set(pool, 0.2, 0.1, &s);
	for (unsigned i = 0; i < TPR_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, tpr_worker, pool), 0);
	for (unsigned i = 0; i < TPR_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	bufpool_trim(pool);
	struct bufpool_pressure_stats ps = tpr_stats(pool);
	ck_assert_uint_eq(ps.high_events, s.high);
	ck_assert_uint_eq(ps.low_events, s.low);
	ck_assert_uint_eq(ps.refusals, s.refused);
	ck_assert_uint_le(s.low, s.high);
	ck_assert_uint_le(s.high, s.low + 1);
	ck_assert_uint_gt(s.high, 0);
	bufpool_destroy(pool);
}
END_TEST

static Suite *tpr_suite(void)
{
	Suite *s = suite_create("bufpool_pressure");

	testutil_add(s, "set_invalid", test_set_invalid, 4);
	testutil_add(s, "events_cached", test_events_cached, 4);
	testutil_add(s, "events_uncached", test_events_uncached, 4);
	testutil_add(s, "events_reenter", test_events_reenter, 4);
	testutil_add(s, "no_fn_and_off", test_no_fn_and_off, 4);
	testutil_add(s, "threads", test_threads, 30);
	return s;
}

int main(void)
{
	return testutil_main(tpr_suite(), NULL);
}
