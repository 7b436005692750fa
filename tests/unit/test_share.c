/*
 * test_share.c - shared buffers: bufpool_ref() and the reference count.
 *
 * Covers: a buffer with extra holders stays in use until the last revert,
 * then goes back once; bufpool_ref() refuses idle buffers, other pools'
 * buffers and NULL (EINVAL); a buffer handed out again after sharing is
 * private again (one revert gives it back); with thread caches on and off.
 * A stress test: every round, the test's thread shares a batch of buffers
 * of several tiers with four threads (one reference each, its own one
 * dropped first), the threads check the contents and drop their
 * references in their own random order at the same time; afterwards the
 * pool holds every buffer idle exactly once (allocating every buffer it
 * owns yields each once, and needs no fresh memory).
 */
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)

static void tsh_assert_in_use(bufpool_t *pool, size_t bytes)
{
	struct bufpool_stats st;

	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, bytes);
}

static void tsh_last_revert_recycles(int thread_cache)
{
	bufpool_t *pool = testutil_pool_new(16 * MiB, thread_cache);
	struct io_buf *b = bufpool_alloc(pool, 5000);

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(bufpool_ref(pool, b), 0);
	ck_assert_int_eq(bufpool_ref(pool, b), 0); /* three holders */
	bufpool_revert(pool, b);
	bufpool_revert(pool, b);
	tsh_assert_in_use(pool, b->capacity);
	bufpool_revert(pool, b);
	tsh_assert_in_use(pool, 0);
	/* Gone back: a fourth revert and a ref are refused. */
	errno = 0;
	bufpool_revert(pool, b);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(bufpool_ref(pool, b), -1);
	ck_assert_int_eq(errno, EINVAL);
	tsh_assert_in_use(pool, 0);

	/* Handed out again (the same buffer: LIFO), it is private once more. */
	struct io_buf *again = bufpool_alloc(pool, 5000);
	ck_assert_ptr_eq(again, b);
	bufpool_revert(pool, again);
	tsh_assert_in_use(pool, 0);
	bufpool_destroy(pool);
}

START_TEST(test_ref_cached)
{
	tsh_last_revert_recycles(1);
}
END_TEST

START_TEST(test_ref_uncached)
{
	tsh_last_revert_recycles(0);
}
END_TEST

START_TEST(test_ref_refused)
{
	bufpool_t *a = testutil_pool_new(16 * MiB, 1);
	bufpool_t *b = testutil_pool_new(16 * MiB, 1);
	struct io_buf *buf = bufpool_alloc(a, 100);

	ck_assert_ptr_nonnull(buf);
	errno = 0;
	ck_assert_int_eq(bufpool_ref(b, buf), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(bufpool_ref(NULL, buf), -1);
	ck_assert_int_eq(bufpool_ref(a, NULL), -1);
	/* A shared buffer reverted to the wrong pool is ignored too. */
	ck_assert_int_eq(bufpool_ref(a, buf), 0);
	errno = 0;
	bufpool_revert(b, buf);
	ck_assert_int_eq(errno, EINVAL);
	tsh_assert_in_use(a, buf->capacity);
	bufpool_revert(a, buf);
	bufpool_revert(a, buf);
	tsh_assert_in_use(a, 0);
	bufpool_destroy(a);
	bufpool_destroy(b);
}
END_TEST

/* ---- stress: threads dropping references at once --------------------- */

enum { TSH_THREADS = 4, TSH_BUFS = 256, TSH_ROUNDS = 40 };

struct tsh_shared {
	bufpool_t *pool;
	pthread_barrier_t start, done;
	struct io_buf *bufs[TSH_BUFS];
	int stop;
};

struct tsh_worker {
	struct tsh_shared *sh;
	unsigned seed;
	const char *problem;
};

static void *tsh_worker_main(void *arg)
{
	struct tsh_worker *w = arg;
	struct tsh_shared *sh = w->sh;
	struct io_buf *mine[TSH_BUFS];

	for (;;) {
		pthread_barrier_wait(&sh->start);
		if (sh->stop)
			return NULL;
		memcpy(mine, sh->bufs, sizeof(mine));
		for (unsigned i = TSH_BUFS - 1; i > 0; i--) { /* Fisher-Yates */
			unsigned j = (unsigned)rand_r(&w->seed) % (i + 1);
			struct io_buf *t = mine[i];
			mine[i] = mine[j];
			mine[j] = t;
		}
		for (unsigned i = 0; i < TSH_BUFS; i++) {
			struct io_buf *b = mine[i];
			if (!w->problem && !testutil_verify(b->data, b->length, (uintptr_t)b))
				w->problem = "a shared buffer changed while held";
			bufpool_revert(sh->pool, b);
		}
		pthread_barrier_wait(&sh->done);
	}
}

static int tsh_ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct io_buf *const *)a;
	uintptr_t y = (uintptr_t) * (struct io_buf *const *)b;
	return (x > y) - (x < y);
}

START_TEST(test_ref_stress)
{
	struct tsh_shared sh = {.pool = testutil_pool_new(256 * MiB, 1)};
	struct tsh_worker w[TSH_THREADS];
	pthread_t th[TSH_THREADS];
	struct bufpool_stats st;

	pthread_barrier_init(&sh.start, NULL, TSH_THREADS + 1);
	pthread_barrier_init(&sh.done, NULL, TSH_THREADS + 1);
	for (unsigned i = 0; i < TSH_THREADS; i++) {
		w[i] = (struct tsh_worker){.sh = &sh, .seed = 17 * i + 1};
		ck_assert_int_eq(pthread_create(&th[i], NULL, tsh_worker_main, &w[i]), 0);
	}
	for (unsigned r = 0; r < TSH_ROUNDS; r++) {
		for (unsigned i = 0; i < TSH_BUFS; i++) {
			struct io_buf *b = bufpool_alloc(sh.pool, (size_t)1000 << (i % 3 * 2));
			ck_assert_ptr_nonnull(b);
			b->length = 256;
			testutil_fill(b->data, b->length, (uintptr_t)b);
			for (unsigned k = 0; k < TSH_THREADS; k++)
				ck_assert_int_eq(bufpool_ref(sh.pool, b), 0);
			bufpool_revert(sh.pool, b); /* the test's own hold */
			sh.bufs[i] = b;
		}
		pthread_barrier_wait(&sh.start);
		pthread_barrier_wait(&sh.done);
		tsh_assert_in_use(sh.pool, 0);
	}
	sh.stop = 1;
	pthread_barrier_wait(&sh.start);
	for (unsigned i = 0; i < TSH_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(!w[i].problem, "%s", w[i].problem);
	}
	/* Each buffer went back exactly once: with the workers' caches in
	 * the shared lists since their exit, allocating every buffer the pool
	 * owns yields each once and needs no fresh memory (a buffer recycled
	 * twice would sit twice in an idle list). */
	testutil_assert_stats(sh.pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0);
	uint64_t fresh = st.fresh, n = 0;
	struct io_buf **all = calloc(st.tier[0].owned + st.tier[1].owned + st.tier[2].owned,
				     sizeof(*all));
	ck_assert_ptr_nonnull(all);
	for (unsigned t = 0; t < 3; t++)
		for (uint64_t i = 0; i < st.tier[t].owned; i++) {
			all[n] = bufpool_alloc(sh.pool, bufpool_tier_size(t));
			ck_assert_ptr_nonnull(all[n]);
			n++;
		}
	qsort(all, n, sizeof(*all), tsh_ptr_cmp);
	for (uint64_t i = 1; i < n; i++)
		ck_assert_ptr_ne(all[i - 1], all[i]);
	bufpool_stats(sh.pool, &st);
	ck_assert_uint_eq(st.fresh, fresh);
	for (uint64_t i = 0; i < n; i++)
		bufpool_revert(sh.pool, all[i]);
	free(all);
	tsh_assert_in_use(sh.pool, 0);
	pthread_barrier_destroy(&sh.start);
	pthread_barrier_destroy(&sh.done);
	bufpool_destroy(sh.pool);
}
END_TEST

static Suite *tsh_suite(void)
{
	Suite *s = suite_create("bufpool_ref");

	testutil_add(s, "ref_cached", test_ref_cached, 4);
	testutil_add(s, "ref_uncached", test_ref_uncached, 4);
	testutil_add(s, "ref_refused", test_ref_refused, 4);
	testutil_add(s, "ref_stress", test_ref_stress, 60);
	return s;
}

int main(void)
{
	return testutil_main(tsh_suite(), NULL);
}
