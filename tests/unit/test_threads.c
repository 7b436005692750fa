/*
 * test_threads.c - the pool under many threads, and the singleton.
 *
 * Covers: bufpool_instance() made once under concurrent first use (many
 * threads released by one barrier all get the same pool),
 * bufpool_instance_configure() before first use (applies, wins over the
 * environment, invalid settings refused) and after it (EBUSY), the
 * BUFPOOL_MEM_LIMIT environment variable (good values applied, malformed
 * ones ignored with the compiled-in default kept); every singleton case
 * runs in a fresh forked child so the singleton is new.  Thread caches off
 * and on: buffers cross threads, caches of exited threads, pools destroyed
 * under a thread's cache, MEM_LIMIT including other threads' caches and
 * their drain on the next call, trim.  A stress test: several threads
 * allocate random sizes, fill them with a thread- and iteration-specific
 * pattern, keep a window of live buffers and verify the pattern before
 * reverting.  Two threads at a small MEM_LIMIT: sampled bytes_owned never
 * exceeds the limit and no buffer is handed out twice.
 *
 * Worker threads never call ck_assert (Check only supports it on the
 * test's thread): they record their first problem and the test asserts
 * after joining them.  Child processes report through their exit status.
 */
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* ---- the singleton, in child processes -------------------------------- */

enum { TTHR_INSTANCE_THREADS = 32 };

struct tthr_instance_run {
	pthread_barrier_t barrier;
	_Atomic unsigned next;
	bufpool_t *got[TTHR_INSTANCE_THREADS];
};

static void *tthr_instance_worker(void *arg)
{
	struct tthr_instance_run *run = arg;
	unsigned me = run->next++;

	pthread_barrier_wait(&run->barrier);
	run->got[me] = bufpool_instance();
	return NULL;
}

/* Child: exit 0 if every thread saw the same, working instance. */
static int tthr_instance_once_child(void *unused)
{
	struct tthr_instance_run run;
	pthread_t th[TTHR_INSTANCE_THREADS];

	(void)unused;
	memset(&run, 0, sizeof(run));
	if (pthread_barrier_init(&run.barrier, NULL, TTHR_INSTANCE_THREADS) != 0)
		return 10;
	for (unsigned i = 0; i < TTHR_INSTANCE_THREADS; i++)
		if (pthread_create(&th[i], NULL, tthr_instance_worker, &run) != 0)
			return 11;
	for (unsigned i = 0; i < TTHR_INSTANCE_THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < TTHR_INSTANCE_THREADS; i++) {
		if (run.got[i] == NULL)
			return 1;
		if (run.got[i] != run.got[0])
			return 2;
	}
	if (bufpool_instance() != run.got[0])
		return 3;
	struct io_buf *b = bufpool_alloc(run.got[0], 100);
	if (!b)
		return 4;
	bufpool_revert(run.got[0], b);

	struct bufpool_config cfg;
	bufpool_config_init(&cfg);
	errno = 0;
	if (bufpool_instance_configure(&cfg) != -1 || errno != EBUSY)
		return 5;
	return 0;
}

START_TEST(test_instance_once)
{
	ck_assert_int_eq(testutil_in_child(tthr_instance_once_child, NULL), 0);
}
END_TEST

/* Child: configure before first use applies; afterwards EBUSY.  With arg
 * non-NULL, the environment asks for something else first. */
static int tthr_configure_child(void *env)
{
	struct bufpool_config cfg;
	struct bufpool_stats st;

	if (env && setenv("BUFPOOL_MEM_LIMIT", env, 1) != 0)
		return 10;
	bufpool_config_init(&cfg);
	cfg.mem_limit = MiB;
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.prealloc[2] = 2;
	if (bufpool_instance_configure(&cfg) != 0)
		return 1;
	bufpool_t *pool = bufpool_instance();
	if (!pool)
		return 2;
	if (bufpool_mem_limit(pool) != MiB)
		return 3;
	bufpool_stats(pool, &st);
	if (st.bytes_owned != 128 * KiB || st.tier[2].idle != 2 || st.tier[0].owned)
		return 4;
	cfg.mem_limit = 2 * MiB;
	errno = 0;
	if (bufpool_instance_configure(&cfg) != -1 || errno != EBUSY)
		return 5;
	if (bufpool_mem_limit(bufpool_instance()) != MiB)
		return 6;
	return 0;
}

START_TEST(test_instance_configure)
{
	ck_assert_int_eq(testutil_in_child(tthr_configure_child, NULL), 0);
}
END_TEST

START_TEST(test_instance_configure_beats_env)
{
	ck_assert_int_eq(testutil_in_child(tthr_configure_child, "2M"), 0);
}
END_TEST

/* Child: invalid settings are refused and leave the defaults in place. */
static int tthr_configure_invalid_child(void *unused)
{
	struct bufpool_config cfg;

	(void)unused;
	if (unsetenv("BUFPOOL_MEM_LIMIT") != 0)
		return 10;
	errno = 0;
	if (bufpool_instance_configure(NULL) != -1 || errno != EINVAL)
		return 1;
	bufpool_config_init(&cfg);
	cfg.size = 0;
	errno = 0;
	if (bufpool_instance_configure(&cfg) != -1 || errno != EINVAL)
		return 2;
	bufpool_config_init(&cfg);
	cfg.mem_limit = 4 * KiB; /* below the default preallocation */
	errno = 0;
	if (bufpool_instance_configure(&cfg) != -1 || errno != EINVAL)
		return 3;
	bufpool_t *pool = bufpool_instance();
	if (!pool)
		return 4;
	if (bufpool_mem_limit(pool) != BUFPOOL_MEM_LIMIT)
		return 5;
	return 0;
}

START_TEST(test_instance_configure_invalid)
{
	ck_assert_int_eq(testutil_in_child(tthr_configure_invalid_child, NULL), 0);
}
END_TEST

struct tthr_env_case {
	const char *value; /* NULL: unset */
	size_t limit;      /* 0: the compiled-in default */
};

static const struct tthr_env_case tthr_env_cases[] = {
	{"32M", 32 * MiB},
	{"1048576", MiB},
	{"2g", (size_t)2 << 30},
	{"512k", 512 * KiB},
	{"64K", 64 * KiB}, /* below the default preallocation */
	{NULL, 0},
	{"", 0},
	{"12Q", 0},
	{" 8M", 0},
	{"8M ", 0},
	{"-1", 0},
	{"1.5G", 0},
	{"99999999999999999999", 0},
	{"17179869184G", 0},
};

/* Child: the instance's limit is what the environment case says. */
static int tthr_env_child(void *arg)
{
	const struct tthr_env_case *c = arg;
	size_t want = c->limit ? c->limit : BUFPOOL_MEM_LIMIT;

	if (c->value ? setenv("BUFPOOL_MEM_LIMIT", c->value, 1) != 0
		     : unsetenv("BUFPOOL_MEM_LIMIT") != 0)
		return 10;
	bufpool_t *pool = bufpool_instance();
	if (!pool)
		return 1;
	if (bufpool_mem_limit(pool) != want)
		return 2;
	struct io_buf *b = bufpool_alloc(pool, 4 * KiB);
	if (!b)
		return 3;
	bufpool_revert(pool, b);
	return 0;
}

START_TEST(test_instance_env)
{
	const struct tthr_env_case *c = &tthr_env_cases[_i];
	int rc = testutil_in_child(tthr_env_child, (void *)c);

	ck_assert_msg(rc == 0, "BUFPOOL_MEM_LIMIT=%s: child failed with %d",
		      c->value ? c->value : "(unset)", rc);
}
END_TEST

/* ---- thread caches ------------------------------------------------------ */

typedef void *(*tthr_fn)(void *);

static void tthr_run(tthr_fn fn, void *arg)
{
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
}

struct tthr_pass {
	bufpool_t *pool;
	struct io_buf *buf;
};

static void *tthr_alloc_worker(void *arg)
{
	struct tthr_pass *p = arg;

	p->buf = bufpool_alloc(p->pool, 4 * KiB);
	return NULL;
}

static void *tthr_revert_worker(void *arg)
{
	struct tthr_pass *p = arg;

	bufpool_revert(p->pool, p->buf);
	return NULL;
}

/* Caches off: a buffer reverted by one thread is the idle buffer another
 * thread gets, and a buffer may be reverted by a thread other than the one
 * that allocated it. */
START_TEST(test_cache_off_cross_thread)
{
	struct tthr_pass p = {testutil_pool_new(MiB, 0), NULL};
	struct bufpool_stats st;
	struct io_buf *a = bufpool_alloc(p.pool, 4 * KiB);

	ck_assert_ptr_nonnull(a);
	bufpool_revert(p.pool, a);
	tthr_run(tthr_alloc_worker, &p);
	ck_assert_ptr_eq(p.buf, a);
	tthr_run(tthr_revert_worker, &p);
	ck_assert_ptr_eq(bufpool_alloc(p.pool, 1), a);
	bufpool_revert(p.pool, a);
	testutil_assert_stats(p.pool, &st);
	ck_assert_uint_eq(st.fresh, 1);
	ck_assert_uint_eq(st.allocs, 3);
	bufpool_destroy(p.pool);
}
END_TEST

/* Caches on: buffers allocated in one thread and reverted in another are
 * accounted correctly. */
START_TEST(test_cache_on_cross_thread)
{
	struct tthr_pass p = {testutil_pool_new(MiB, 1), NULL};
	struct bufpool_stats st;

	tthr_run(tthr_alloc_worker, &p);
	ck_assert_ptr_nonnull(p.buf);
	testutil_assert_stats(p.pool, &st);
	ck_assert_uint_eq(st.tier[0].in_use, 1);
	bufpool_revert(p.pool, p.buf);
	testutil_assert_stats(p.pool, &st);
	ck_assert_uint_eq(st.tier[0].in_use, 0);
	ck_assert_uint_eq(st.tier[0].owned, 1);
	tthr_run(tthr_alloc_worker, &p);
	tthr_run(tthr_revert_worker, &p);
	testutil_assert_stats(p.pool, &st);
	ck_assert_uint_eq(st.tier[0].in_use, 0);
	ck_assert_uint_eq(st.allocs, 2);
	bufpool_destroy(p.pool);
}
END_TEST

struct tthr_churn {
	bufpool_t *pool;
	unsigned count; /* buffers per tier 0..4 */
	int failed;
};

/* Allocate count buffers of each cached tier, revert them all. */
static void *tthr_churn_worker(void *arg)
{
	struct tthr_churn *c = arg;
	struct io_buf *b[5][16];

	for (unsigned t = 0; t < 5; t++)
		for (unsigned i = 0; i < c->count; i++)
			if (!(b[t][i] = bufpool_alloc(c->pool, bufpool_tier_size(t))))
				c->failed = 1;
	for (unsigned t = 0; t < 5; t++)
		for (unsigned i = 0; i < c->count; i++)
			bufpool_revert(c->pool, b[t][i]);
	return NULL;
}

/* A thread's cache outlives the thread correctly: statistics stay exact,
 * the memory is still the pool's (and freed by destroy), and stays within
 * MEM_LIMIT. */
START_TEST(test_cache_thread_exit)
{
	struct tthr_churn c = {testutil_pool_new(16 * MiB, _i), 8, 0};
	struct bufpool_stats st;

	for (unsigned round = 0; round < 4; round++)
		tthr_run(tthr_churn_worker, &c);
	ck_assert_int_eq(c.failed, 0);
	testutil_assert_stats(c.pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0);
	ck_assert_uint_le(st.bytes_owned, 16 * MiB);
	ck_assert_uint_eq(st.allocs, 4 * 5 * 8);
	ck_assert_uint_eq(st.failures, 0);
	bufpool_trim(c.pool);
	testutil_assert_stats(c.pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 0);
	bufpool_destroy(c.pool);
}
END_TEST

/* A worker that fills its cache, then waits for the test's go-ahead and
 * makes one more call: a revert of the buffer it kept, or (alloc_next) an
 * alloc of one more buffer, reverted at the end.
 *
 * While a holder runs, the test must not ck_assert: under CK_FORK=no a
 * failed assertion leaves the test function with the holder still blocked
 * on a barrier in that function's frame.  Tests note problems with
 * tthr_expect() and assert them after tthr_holder_finish(). */
struct tthr_holder {
	bufpool_t *pool;
	pthread_barrier_t step;
	unsigned nbuf;
	int alloc_next;
	struct io_buf *keep; /* still in use after the first step */
	struct io_buf *extra;
	int destroyed;       /* the pool is gone: touch nothing */
	unsigned problems;
	char why[200];
};

static void tthr_expect(struct tthr_holder *h, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok || h->problems++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
}

/* Note a broken statistics invariant; return the snapshot in *st. */
static void tthr_expect_stats(struct tthr_holder *h, struct bufpool_stats *st)
{
	const char *why = testutil_stats_problem(h->pool, st);

	tthr_expect(h, why == NULL, "stats invariant broken: %s", why);
}

static void tthr_holder_next_call(struct tthr_holder *h)
{
	if (h->destroyed)
		return;
	if (h->alloc_next) {
		h->extra = bufpool_alloc(h->pool, 4 * KiB);
		tthr_expect(h, h->extra != NULL, "holder: next alloc failed");
	} else {
		bufpool_revert(h->pool, h->keep);
		h->keep = NULL;
	}
}

static void *tthr_holder_worker(void *arg)
{
	struct tthr_holder *h = arg;
	struct io_buf *b[16] = {NULL};

	for (unsigned i = 0; i < h->nbuf; i++) {
		b[i] = bufpool_alloc(h->pool, 4 * KiB);
		tthr_expect(h, b[i] != NULL, "holder: alloc %u failed", i);
	}
	h->keep = b[h->nbuf - 1];
	for (unsigned i = 0; i + 1 < h->nbuf; i++)
		bufpool_revert(h->pool, b[i]);
	pthread_barrier_wait(&h->step); /* 1: cache filled */
	pthread_barrier_wait(&h->step); /* 2: the test did its part */
	tthr_holder_next_call(h);
	pthread_barrier_wait(&h->step); /* 3: next call made */
	pthread_barrier_wait(&h->step); /* 4: the test is done */
	if (!h->destroyed) {
		bufpool_revert(h->pool, h->keep);
		bufpool_revert(h->pool, h->extra);
	}
	return NULL;
}

static void tthr_holder_start(struct tthr_holder *h, pthread_t *th,
			      bufpool_t *pool, unsigned nbuf, int alloc_next)
{
	memset(h, 0, sizeof(*h));
	h->pool = pool;
	h->nbuf = nbuf;
	h->alloc_next = alloc_next;
	ck_assert_int_eq(pthread_barrier_init(&h->step, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(th, NULL, tthr_holder_worker, h), 0);
	pthread_barrier_wait(&h->step); /* 1 */
}

/* Let the holder make its next call. */
static void tthr_holder_step(struct tthr_holder *h)
{
	pthread_barrier_wait(&h->step); /* 2 */
	pthread_barrier_wait(&h->step); /* 3 */
}

/* Let the holder finish, then assert what was noted meanwhile. */
static void tthr_holder_finish(struct tthr_holder *h, pthread_t th)
{
	pthread_barrier_wait(&h->step); /* 4 */
	pthread_join(th, NULL);
	pthread_barrier_destroy(&h->step);
	ck_assert_msg(h->problems == 0, "%u problems, first: %s", h->problems,
		      h->why);
}

/* Allocate 4K buffers into b[*n] until max or failure (ENOMEM). */
static void tthr_alloc_upto(struct tthr_holder *h, struct io_buf **b,
			    unsigned *n, unsigned max)
{
	while (*n < max && (b[*n] = bufpool_alloc(h->pool, 4 * KiB)) != NULL)
		(*n)++;
	tthr_expect(h, *n == max || errno == ENOMEM, "alloc: errno %d", errno);
}

/* MEM_LIMIT counts the idle buffers in another thread's cache; once that
 * thread makes its next call (_i bit 1: an alloc, else a revert), their
 * memory can be used again.  _i bit 0: thread caches on. */
START_TEST(test_cache_limit_other_thread)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i & 1);
	unsigned want = _i & 2 ? 14 : 15, n = 0;
	struct tthr_holder h;
	struct bufpool_stats st;
	struct io_buf *b[16];
	pthread_t th;

	tthr_holder_start(&h, &th, pool, 16, _i & 2);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_owned == 64 * KiB && st.bytes_in_use == 4 * KiB,
		    "after fill: owned %zu, in use %zu", st.bytes_owned,
		    st.bytes_in_use);
	tthr_alloc_upto(&h, b, &n, want);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_owned <= 64 * KiB, "owned %zu", st.bytes_owned);
	tthr_holder_step(&h);
	tthr_alloc_upto(&h, b, &n, want);
	tthr_expect(&h, n == want, "only %u of %u buffers after the holder's "
		    "next call", n, want);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_owned <= 64 * KiB, "owned %zu", st.bytes_owned);
	for (unsigned i = 0; i < n; i++)
		bufpool_revert(pool, b[i]);
	tthr_holder_finish(&h, th);
	bufpool_destroy(pool);
}
END_TEST

/* The limit is lowered below what another thread's cache holds: after
 * that thread's next call the pool is back within the limit. */
START_TEST(test_cache_limit_lowered_other_thread)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i & 1);
	size_t in_use = _i & 2 ? 8 * KiB : 0;
	struct tthr_holder h;
	struct bufpool_stats st;
	pthread_t th;

	tthr_holder_start(&h, &th, pool, 8, _i & 2);
	tthr_expect(&h, bufpool_set_mem_limit(pool, 8 * KiB) == 0, "set limit");
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_in_use == 4 * KiB, "in use %zu", st.bytes_in_use);
	tthr_holder_step(&h);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_in_use == in_use, "in use %zu, want %zu",
		    st.bytes_in_use, in_use);
	tthr_expect(&h, st.bytes_owned <= 8 * KiB, "bytes_owned %zu > limit 8K "
		    "after the holder's next call", st.bytes_owned);
	tthr_holder_finish(&h, th);
	bufpool_destroy(pool);
}
END_TEST

/* Trim releases what it can reach now; another thread's cache is dropped
 * on that thread's next call (back to the system, or to the shared lists
 * where a later trim gets it). */
START_TEST(test_cache_trim_other_thread)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct tthr_holder h;
	struct bufpool_stats st;
	pthread_t th;
	size_t first, second;

	tthr_holder_start(&h, &th, pool, 8, 0);
	first = bufpool_trim(pool);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_in_use == 4 * KiB, "in use %zu", st.bytes_in_use);
	tthr_expect(&h, st.bytes_owned == 8 * 4 * KiB - first,
		    "owned %zu after trim gave %zu", st.bytes_owned, first);
	tthr_holder_step(&h);
	second = bufpool_trim(pool);
	tthr_expect_stats(&h, &st);
	tthr_expect(&h, st.bytes_in_use == 0, "in use %zu", st.bytes_in_use);
	tthr_expect(&h, st.bytes_owned <= 4 * KiB, /* at most the kept one */
		    "owned %zu after the second trim", st.bytes_owned);
	/* The holder's cache went back on its call or through a trim. */
	tthr_expect(&h, st.released >= 7, "released %llu buffers (trims gave "
		    "%zu + %zu)", (unsigned long long)st.released, first, second);
	tthr_holder_finish(&h, th);
	bufpool_destroy(pool);
}
END_TEST

/* A pool destroyed while another thread's cache still holds its buffers:
 * destroy frees them; the thread's exit must not touch the dead pool. */
START_TEST(test_cache_pool_destroyed_first)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct tthr_holder h;
	pthread_t th;

	tthr_holder_start(&h, &th, pool, 8, 0);
	bufpool_revert(pool, h.keep);
	h.destroyed = 1;
	bufpool_destroy(pool);
	tthr_holder_step(&h);
	tthr_holder_finish(&h, th);

	/* A new pool works normally from this thread and others. */
	struct tthr_churn c = {testutil_pool_new(16 * MiB, _i), 4, 0};
	tthr_run(tthr_churn_worker, &c);
	tthr_churn_worker(&c);
	ck_assert_int_eq(c.failed, 0);
	bufpool_destroy(c.pool);
}
END_TEST

/* alloc/revert a few buffers of pool in this thread and check its stats. */
static void tthr_pool_use(bufpool_t *pool)
{
	struct io_buf *b[3];
	struct bufpool_stats st;

	for (unsigned i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 100 * KiB));
	for (unsigned i = 0; i < 3; i++)
		bufpool_revert(pool, b[i]);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0);
	ck_assert_uint_eq(st.bytes_owned, 3 * 256 * KiB);
}

/* One thread using more pools at once than it may have caches for, pools
 * destroyed and made in between, and a second thread using all of them. */
START_TEST(test_cache_many_pools)
{
	enum { NPOOL = 7 };
	bufpool_t *pool[NPOOL];
	struct tthr_churn c = {NULL, 2, 0};

	for (unsigned i = 0; i < NPOOL; i++)
		tthr_pool_use(pool[i] = testutil_pool_new(4 * MiB, 1));
	for (unsigned i = 1; i < NPOOL; i += 2) {
		bufpool_destroy(pool[i]);
		tthr_pool_use(pool[i] = testutil_pool_new(4 * MiB, 1));
	}
	for (unsigned i = 0; i < NPOOL; i++) {
		tthr_pool_use(pool[i]);
		c.pool = pool[i];
		tthr_run(tthr_churn_worker, &c);
		ck_assert_int_eq(c.failed, 0);
	}
	for (unsigned i = 0; i < NPOOL; i++)
		bufpool_destroy(pool[i]);
}
END_TEST

/* ---- many threads at once --------------------------------------------- */

/* The set of buffers handed out right now, to catch a double hand-out. */
enum { TTHR_LIVE_MAX = 64 };

struct tthr_live {
	pthread_mutex_t lock;
	struct io_buf *buf[TTHR_LIVE_MAX];
	unsigned n;
};

static bool tthr_live_add(struct tthr_live *l, struct io_buf *b)
{
	bool fresh = true;

	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->n; i++)
		if (l->buf[i] == b || l->buf[i]->data == b->data)
			fresh = false;
	if (fresh && l->n < TTHR_LIVE_MAX)
		l->buf[l->n++] = b;
	pthread_mutex_unlock(&l->lock);
	return fresh;
}

static void tthr_live_remove(struct tthr_live *l, struct io_buf *b)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->n; i++) {
		if (l->buf[i] == b) {
			l->buf[i] = l->buf[--l->n];
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

struct tthr_stress;

struct tthr_worker {
	struct tthr_stress *run;
	unsigned id, seed;
	uint64_t allocs, failures;
	unsigned problems;
	char why[160];
};

struct tthr_stress {
	bufpool_t *pool;
	unsigned iters, window;
	size_t max_size;   /* largest request */
	int sample_stats;  /* check bytes_owned <= limit after every call */
	pthread_barrier_t start;
	struct tthr_live live;
};

struct tthr_slot {
	struct io_buf *buf;
	size_t len;
	uint64_t seed;
};

static void tthr_problem(struct tthr_worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->problems++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/* Mostly small requests, sometimes large ones, up to max_size. */
static size_t tthr_size(struct tthr_worker *w)
{
	unsigned r = (unsigned)rand_r(&w->seed);
	size_t max = w->run->max_size, n;

	if (r % 100 < 70)
		n = 1 + (size_t)r % (16 * KiB);
	else if (r % 100 < 95)
		n = 1 + (size_t)r % (64 * KiB);
	else
		n = 1 + (size_t)r % max;
	return n < max ? n : max;
}

static void tthr_check_limit(struct tthr_worker *w)
{
	struct bufpool_stats st;

	if (!w->run->sample_stats)
		return;
	bufpool_stats(w->run->pool, &st);
	if (st.bytes_owned > st.mem_limit)
		tthr_problem(w, "bytes_owned %zu > mem_limit %zu", st.bytes_owned,
			     st.mem_limit);
}

static void tthr_slot_release(struct tthr_worker *w, struct tthr_slot *s)
{
	if (!s->buf)
		return;
	if (!testutil_verify(s->buf->data, s->len, s->seed))
		tthr_problem(w, "thread %u: pattern %#llx of %zu bytes overwritten",
			     w->id, (unsigned long long)s->seed, s->len);
	tthr_live_remove(&w->run->live, s->buf);
	bufpool_revert(w->run->pool, s->buf);
	s->buf = NULL;
	tthr_check_limit(w);
}

static void tthr_slot_fill(struct tthr_worker *w, struct tthr_slot *s,
			   unsigned iter)
{
	size_t n = tthr_size(w);

	errno = 0;
	s->buf = bufpool_alloc(w->run->pool, n);
	tthr_check_limit(w);
	if (!s->buf) {
		if (errno != ENOMEM)
			tthr_problem(w, "alloc(%zu): errno %d", n, errno);
		w->failures++;
		return;
	}
	w->allocs++;
	if (s->buf->capacity < n || (uintptr_t)s->buf->data % BUFPOOL_ALIGN)
		tthr_problem(w, "alloc(%zu): capacity %zu", n, s->buf->capacity);
	if (!tthr_live_add(&w->run->live, s->buf))
		tthr_problem(w, "buffer %p handed out twice", (void *)s->buf);
	s->len = n;
	s->seed = ((uint64_t)w->id << 32) | iter;
	testutil_fill(s->buf->data, n, s->seed);
}

static void *tthr_stress_worker(void *arg)
{
	struct tthr_worker *w = arg;
	struct tthr_slot slot[16];
	unsigned window = w->run->window;

	memset(slot, 0, sizeof(slot));
	pthread_barrier_wait(&w->run->start);
	for (unsigned i = 0; i < w->run->iters; i++) {
		struct tthr_slot *s = &slot[(unsigned)rand_r(&w->seed) % window];
		tthr_slot_release(w, s);
		tthr_slot_fill(w, s, i);
	}
	for (unsigned i = 0; i < window; i++)
		tthr_slot_release(w, &slot[i]);
	return NULL;
}

/* Run nthreads stress workers and check the pool afterwards. */
static void tthr_stress_run(struct tthr_stress *run, unsigned nthreads)
{
	struct tthr_worker w[8];
	pthread_t th[8];
	struct bufpool_stats st;
	uint64_t allocs = 0, failures = 0;

	ck_assert_uint_le(nthreads, 8);
	ck_assert_uint_le(run->window, 16);
	pthread_mutex_init(&run->live.lock, NULL);
	ck_assert_int_eq(pthread_barrier_init(&run->start, NULL, nthreads), 0);
	for (unsigned i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].run = run;
		w[i].id = i + 1;
		w[i].seed = 7919u * (i + 1);
		ck_assert_int_eq(pthread_create(&th[i], NULL, tthr_stress_worker,
						&w[i]), 0);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		ck_assert_msg(w[i].problems == 0, "%u problems, first: %s",
			      w[i].problems, w[i].why);
		allocs += w[i].allocs;
		failures += w[i].failures;
	}
	testutil_assert_stats(run->pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0);
	ck_assert_uint_le(st.bytes_owned, st.mem_limit);
	ck_assert_uint_eq(st.allocs, allocs);
	ck_assert_uint_eq(st.failures, failures);
	ck_assert_uint_eq(run->live.n, 0);
	pthread_barrier_destroy(&run->start);
	pthread_mutex_destroy(&run->live.lock);
}

/* Data integrity: 4 threads, random sizes up to 1M, a window of 8 each. */
START_TEST(test_stress_integrity)
{
	struct tthr_stress run;

	memset(&run, 0, sizeof(run));
	run.pool = testutil_pool_new(64 * MiB, _i);
	run.iters = 1500;
	run.window = 8;
	run.max_size = MiB;
	tthr_stress_run(&run, 4);
	bufpool_destroy(run.pool);
}
END_TEST

/* Two threads at a small MEM_LIMIT: the cap holds at every sample, no
 * buffer is handed out twice, failures are ENOMEM and counted. */
START_TEST(test_stress_small_limit)
{
	struct tthr_stress run;

	memset(&run, 0, sizeof(run));
	run.pool = testutil_pool_new(256 * KiB, _i);
	run.iters = 3000;
	run.window = 6;
	run.max_size = 64 * KiB;
	run.sample_stats = 1;
	tthr_stress_run(&run, 2);
	bufpool_destroy(run.pool);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *tthr_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc;

	tc = tcase_create("instance");
	tcase_add_test(tc, test_instance_once);
	tcase_add_test(tc, test_instance_configure);
	tcase_add_test(tc, test_instance_configure_beats_env);
	tcase_add_test(tc, test_instance_configure_invalid);
	tcase_add_loop_test(tc, test_instance_env, 0,
			    (int)(sizeof(tthr_env_cases) / sizeof(tthr_env_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, test_cache_off_cross_thread);
	tcase_add_test(tc, test_cache_on_cross_thread);
	tcase_add_loop_test(tc, test_cache_thread_exit, 0, 2);
	tcase_add_loop_test(tc, test_cache_limit_other_thread, 0, 4);
	tcase_add_loop_test(tc, test_cache_limit_lowered_other_thread, 0, 4);
	tcase_add_loop_test(tc, test_cache_trim_other_thread, 0, 2);
	tcase_add_loop_test(tc, test_cache_pool_destroyed_first, 0, 2);
	tcase_add_test(tc, test_cache_many_pools);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	/* ~0.1 s each here; threads on a loaded builder may take longer. */
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_stress_integrity, 0, 2);
	tcase_add_loop_test(tc, test_stress_small_limit, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(tthr_suite(), NULL);
}
