/*
 * test_pool.c - unit tests of the pool itself, one thread at a time.
 *
 * Covers: the tier table and tier selection at every boundary (0, 1, 4096,
 * 4097 ... 8M, 8M+1 -> EINVAL), configuration defaults and bufpool_new()
 * errors, preallocation, reuse of reverted buffers, 64-byte alignment and
 * the full usable capacity of every tier, misuse of bufpool_revert() (NULL,
 * twice, foreign buffers), every MEM_LIMIT edge (exactly at the cap,
 * reclaiming idle buffers of other tiers, lowering the limit below use and
 * recovering, raising it), bufpool_trim(), the statistics invariants after
 * a long random sequence of operations, and bufpool_parse_size().
 *
 * Tests that depend on the pool's path through the thread caches run twice
 * (Check loop tests): _i = 0 with caches off, _i = 1 with caches on.
 */
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static const size_t tpool_sizes[BUFPOOL_TIERS] = {
	4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB,
};

/* Allocate n bytes and check what every fresh buffer must look like. */
static struct io_buf *tpool_alloc_ok(bufpool_t *pool, size_t n, size_t cap)
{
	struct io_buf *b = bufpool_alloc(pool, n);

	ck_assert_msg(b != NULL, "alloc(%zu) failed: %s", n, strerror(errno));
	ck_assert_uint_eq(b->capacity, cap);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 0);
	ck_assert_ptr_null(b->next);
	ck_assert_ptr_nonnull(b->data);
	ck_assert_uint_eq((uintptr_t)b->data % BUFPOOL_ALIGN, 0);
	return b;
}

static void tpool_alloc_fails(bufpool_t *pool, size_t n, int err)
{
	errno = 0;
	ck_assert_ptr_null(bufpool_alloc(pool, n));
	ck_assert_int_eq(errno, err);
}

/* ---- tiers ------------------------------------------------------------ */

START_TEST(test_tier_size)
{
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		ck_assert_uint_eq(bufpool_tier_size(t), tpool_sizes[t]);
	ck_assert_uint_eq(bufpool_tier_size(0), BUFPOOL_MIN_SIZE);
	ck_assert_uint_eq(bufpool_tier_size(BUFPOOL_TIERS - 1), BUFPOOL_MAX_SIZE);
	ck_assert_uint_eq(bufpool_tier_size(BUFPOOL_TIERS), 0);
	ck_assert_uint_eq(bufpool_tier_size(UINT_MAX), 0);
}
END_TEST

START_TEST(test_tier_index)
{
	ck_assert_int_eq(bufpool_tier_index(0), 0);
	ck_assert_int_eq(bufpool_tier_index(1), 0);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		ck_assert_int_eq(bufpool_tier_index(tpool_sizes[t]), (int)t);
		ck_assert_int_eq(bufpool_tier_index(tpool_sizes[t] - 1), (int)t);
		if (t > 0)
			ck_assert_int_eq(bufpool_tier_index(tpool_sizes[t - 1] + 1),
					 (int)t);
	}
	ck_assert_int_eq(bufpool_tier_index(BUFPOOL_MAX_SIZE + 1), -1);
	ck_assert_int_eq(bufpool_tier_index(SIZE_MAX), -1);
}
END_TEST

START_TEST(test_alloc_boundaries)
{
	bufpool_t *pool = testutil_pool_new(64 * MiB, 1);
	static const size_t n[] = {0, 1, 4096, 4097, 8 * MiB};
	static const size_t cap[] = {4 * KiB, 4 * KiB, 4 * KiB, 16 * KiB, 8 * MiB};
	struct bufpool_stats st;

	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		bufpool_revert(pool, tpool_alloc_ok(pool, n[i], cap[i]));
	tpool_alloc_fails(pool, 8 * MiB + 1, EINVAL);
	tpool_alloc_fails(pool, SIZE_MAX, EINVAL);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.too_large, 2);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_uint_eq(st.allocs, 5);
	bufpool_destroy(pool);
}
END_TEST

/* _i is the tier: every size that maps to it gets exactly that tier, and
 * the buffer's whole capacity is usable without touching its neighbour. */
START_TEST(test_alloc_every_tier)
{
	unsigned t = (unsigned)_i;
	size_t lo = t == 0 ? 0 : tpool_sizes[t - 1] + 1, hi = tpool_sizes[t];
	size_t n[] = {lo, lo + 1, (lo + hi) / 2, hi - 1, hi};
	bufpool_t *pool = testutil_pool_new(64 * MiB, 1);
	struct bufpool_stats st;

	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		struct io_buf *a = tpool_alloc_ok(pool, n[i], hi);
		struct io_buf *b = tpool_alloc_ok(pool, n[i], hi);
		ck_assert_ptr_ne(a, b);
		testutil_fill(a->data, a->capacity, 2 * i);
		testutil_fill(b->data, b->capacity, 2 * i + 1);
		ck_assert(testutil_verify(a->data, a->capacity, 2 * i));
		ck_assert(testutil_verify(b->data, b->capacity, 2 * i + 1));
		bufpool_revert(pool, b);
		bufpool_revert(pool, a);
	}
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.tier[t].allocs, 10);
	ck_assert_uint_eq(st.allocs, 10);
	ck_assert_uint_eq(st.tier[t].in_use, 0);
	bufpool_destroy(pool);
}
END_TEST

START_TEST(test_null_pool)
{
	errno = 0;
	ck_assert_ptr_null(bufpool_alloc(NULL, 1));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(bufpool_set_mem_limit(NULL, MiB), -1);
	ck_assert_int_eq(errno, EINVAL);
	bufpool_destroy(NULL);
	bufpool_revert(NULL, NULL);
}
END_TEST

/* ---- configuration ---------------------------------------------------- */

START_TEST(test_config_defaults)
{
	struct bufpool_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	bufpool_config_init(&cfg);
	ck_assert_uint_eq(cfg.size, sizeof(cfg));
	ck_assert_uint_eq(cfg.mem_limit, BUFPOOL_MEM_LIMIT);
	ck_assert_uint_eq(cfg.prealloc[0], 16);
	ck_assert_uint_eq(cfg.prealloc[1], 4);
	for (unsigned t = 2; t < BUFPOOL_TIERS; t++)
		ck_assert_uint_eq(cfg.prealloc[t], 0);
	ck_assert_int_eq(cfg.thread_cache, 1);
}
END_TEST

static void tpool_assert_default_pool(bufpool_t *pool)
{
	struct bufpool_stats st;

	ck_assert_ptr_nonnull(pool);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.mem_limit, BUFPOOL_MEM_LIMIT);
	ck_assert_uint_eq(st.tier[0].owned, 16);
	ck_assert_uint_eq(st.tier[0].idle, 16);
	ck_assert_uint_eq(st.tier[1].owned, 4);
	ck_assert_uint_eq(st.tier[1].idle, 4);
	ck_assert_uint_eq(st.bytes_owned, 128 * KiB);
	ck_assert_uint_eq(st.bytes_idle, 128 * KiB);
	ck_assert_uint_eq(st.bytes_in_use, 0);
	ck_assert_uint_eq(st.allocs, 0);
	ck_assert_uint_eq(st.fresh, 0);
	ck_assert_uint_eq(st.released, 0);
	bufpool_destroy(pool);
}

START_TEST(test_new_defaults)
{
	struct bufpool_config cfg;

	tpool_assert_default_pool(bufpool_new(NULL));
	bufpool_config_init(&cfg);
	tpool_assert_default_pool(bufpool_new(&cfg));
}
END_TEST

START_TEST(test_new_prealloc_used)
{
	struct bufpool_config cfg;
	struct bufpool_stats st;
	struct io_buf *b[3];

	bufpool_config_init(&cfg);
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.prealloc[0] = 2;
	cfg.prealloc[3] = 1;
	cfg.thread_cache = _i;
	bufpool_t *pool = bufpool_new(&cfg);
	ck_assert_ptr_nonnull(pool);
	for (unsigned i = 0; i < 3; i++)
		b[i] = tpool_alloc_ok(pool, 10, 4 * KiB);
	bufpool_revert(pool, tpool_alloc_ok(pool, 200 * KiB, 256 * KiB));
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.tier[0].allocs, 3);
	ck_assert_uint_eq(st.tier[0].fresh, 1);
	ck_assert_uint_eq(st.tier[3].fresh, 0);
	ck_assert_uint_eq(st.tier[3].owned, 1);
	for (unsigned i = 0; i < 3; i++)
		bufpool_revert(pool, b[i]);
	bufpool_destroy(pool);
}
END_TEST

static void tpool_new_fails(const struct bufpool_config *cfg)
{
	errno = 0;
	bufpool_t *pool = bufpool_new(cfg);
	if (pool)
		bufpool_destroy(pool);
	ck_assert_ptr_null(pool);
	ck_assert_int_eq(errno, EINVAL);
}

START_TEST(test_new_invalid)
{
	struct bufpool_config cfg;

	bufpool_config_init(&cfg);
	cfg.size = 0;
	tpool_new_fails(&cfg);
	cfg.size = offsetof(struct bufpool_config, thread_cache);
	tpool_new_fails(&cfg);

	bufpool_config_init(&cfg);
	cfg.mem_limit = 128 * KiB - 1; /* default prealloc is 128 KiB */
	tpool_new_fails(&cfg);
	cfg.mem_limit = 0;
	tpool_new_fails(&cfg);
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.mem_limit = 64 * KiB;
	cfg.prealloc[0] = 17;
	tpool_new_fails(&cfg);
	cfg.prealloc[0] = 0;
	cfg.prealloc[6] = 1;
	tpool_new_fails(&cfg);
}
END_TEST

/* Preallocation of exactly MEM_LIMIT is allowed and leaves no room. */
START_TEST(test_new_prealloc_at_limit)
{
	struct bufpool_config cfg;
	struct io_buf *b[16];

	bufpool_config_init(&cfg);
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.mem_limit = 64 * KiB;
	cfg.prealloc[0] = 16;
	cfg.thread_cache = _i;
	bufpool_t *pool = bufpool_new(&cfg);
	ck_assert_ptr_nonnull(pool);
	for (unsigned i = 0; i < 16; i++)
		b[i] = tpool_alloc_ok(pool, 1, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	for (unsigned i = 0; i < 16; i++)
		bufpool_revert(pool, b[i]);
	bufpool_destroy(pool);
}
END_TEST

/* A zero MEM_LIMIT is a valid pool that never hands anything out. */
START_TEST(test_new_zero_limit)
{
	bufpool_t *pool = testutil_pool_new(0, _i);
	struct bufpool_stats st;

	tpool_alloc_fails(pool, 0, ENOMEM);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.failures, 2);
	ck_assert_uint_eq(st.bytes_owned, 0);
	bufpool_destroy(pool);
}
END_TEST

/* ---- reuse, alignment ------------------------------------------------- */

START_TEST(test_reuse_same_pointer)
{
	bufpool_t *pool = testutil_pool_new(64 * MiB, _i);
	struct bufpool_stats st;

	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		struct io_buf *a = tpool_alloc_ok(pool, tpool_sizes[t], tpool_sizes[t]);
		char *data = a->data;
		bufpool_revert(pool, a);
		struct io_buf *b = tpool_alloc_ok(pool, tpool_sizes[t] - 1,
						  tpool_sizes[t]);
		ck_assert_ptr_eq(a, b);
		ck_assert_ptr_eq(data, b->data);
		bufpool_revert(pool, b);
	}
	testutil_assert_stats(pool, &st);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		ck_assert_uint_eq(st.tier[t].allocs, 2);
		ck_assert_uint_eq(st.tier[t].fresh, 1);
		ck_assert_uint_eq(st.tier[t].owned, 1);
		ck_assert_uint_eq(st.tier[t].idle, 1);
	}
	bufpool_destroy(pool);
}
END_TEST

/* The caller may scribble on next, head and length; a reused buffer comes
 * back clean. */
START_TEST(test_reuse_resets_fields)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct io_buf *a = tpool_alloc_ok(pool, 1, 4 * KiB);

	a->next = a;
	a->head = 100;
	a->length = 200;
	bufpool_revert(pool, a);
	ck_assert_ptr_eq(tpool_alloc_ok(pool, 1, 4 * KiB), a);
	bufpool_revert(pool, a);
	bufpool_destroy(pool);
}
END_TEST

/* Many buffers of a tier are distinct and do not overlap. */
START_TEST(test_distinct_buffers)
{
	enum { N = 64 };
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct io_buf *b[N];

	for (unsigned i = 0; i < N; i++) {
		b[i] = tpool_alloc_ok(pool, 4 * KiB, 4 * KiB);
		testutil_fill(b[i]->data, b[i]->capacity, 1000 + i);
	}
	for (unsigned i = 0; i < N; i++) {
		ck_assert(testutil_verify(b[i]->data, b[i]->capacity, 1000 + i));
		for (unsigned j = 0; j < i; j++) {
			ck_assert_ptr_ne(b[i], b[j]);
			ck_assert_ptr_ne(b[i]->data, b[j]->data);
		}
	}
	for (unsigned i = 0; i < N; i++)
		bufpool_revert(pool, b[i]);
	bufpool_destroy(pool);
}
END_TEST

START_TEST(test_alignment)
{
	enum { N = 4 };
	bufpool_t *pool = testutil_pool_new(256 * MiB, _i);
	struct io_buf *b[N];

	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		for (unsigned i = 0; i < N; i++)
			b[i] = tpool_alloc_ok(pool, tpool_sizes[t], tpool_sizes[t]);
		for (unsigned i = 0; i < N; i++)
			bufpool_revert(pool, b[i]);
	}
	bufpool_destroy(pool);
}
END_TEST

/* ---- misuse of revert ------------------------------------------------- */

START_TEST(test_revert_null)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct bufpool_stats before, after;

	bufpool_revert(pool, tpool_alloc_ok(pool, 1, 4 * KiB));
	testutil_assert_stats(pool, &before);
	bufpool_revert(pool, NULL);
	testutil_assert_stats(pool, &after);
	ck_assert_mem_eq(&before, &after, sizeof(before));
	bufpool_destroy(pool);
}
END_TEST

START_TEST(test_revert_twice)
{
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct bufpool_stats before, after;
	struct io_buf *a = tpool_alloc_ok(pool, 1, 4 * KiB);

	bufpool_revert(pool, a);
	testutil_assert_stats(pool, &before);
	errno = 0;
	bufpool_revert(pool, a);
	ck_assert_int_eq(errno, EINVAL);
	testutil_assert_stats(pool, &after);
	ck_assert_mem_eq(&before, &after, sizeof(before));
	ck_assert_uint_eq(after.tier[0].idle, 1);

	/* The buffer is not handed out twice. */
	struct io_buf *x = tpool_alloc_ok(pool, 1, 4 * KiB);
	struct io_buf *y = tpool_alloc_ok(pool, 1, 4 * KiB);
	ck_assert_ptr_ne(x, y);
	ck_assert(x == a || y == a);
	bufpool_revert(pool, x);
	bufpool_revert(pool, y);
	bufpool_destroy(pool);
}
END_TEST

START_TEST(test_revert_other_pool)
{
	bufpool_t *p1 = testutil_pool_new(MiB, _i);
	bufpool_t *p2 = testutil_pool_new(MiB, _i);
	struct bufpool_stats st;
	struct io_buf *a = tpool_alloc_ok(p1, 1, 4 * KiB);

	errno = 0;
	bufpool_revert(p2, a);
	ck_assert_int_eq(errno, EINVAL);
	testutil_assert_stats(p2, &st);
	ck_assert_uint_eq(st.bytes_owned, 0);
	testutil_assert_stats(p1, &st);
	ck_assert_uint_eq(st.tier[0].in_use, 1);
	bufpool_revert(p1, a);
	testutil_assert_stats(p1, &st);
	ck_assert_uint_eq(st.tier[0].in_use, 0);
	bufpool_destroy(p2);
	bufpool_destroy(p1);
}
END_TEST

/* Buffers the pool never made: one laid out like a pool buffer in zeroed
 * memory, one with its data elsewhere.  Both are refused. */
START_TEST(test_revert_fake_buffer)
{
	static alignas(64) char arena[256 + 64 + 4096 + 256];
	char data[64];
	struct io_buf fake, *inside = (struct io_buf *)(arena + 256);
	bufpool_t *pool = testutil_pool_new(MiB, _i);
	struct bufpool_stats before, after;

	memset(arena, 0, sizeof(arena));
	inside->capacity = 4096;
	inside->data = (char *)inside + 64;
	memset(&fake, 0, sizeof(fake));
	fake.capacity = sizeof(data);
	fake.data = data;
	testutil_assert_stats(pool, &before);
	errno = 0;
	bufpool_revert(pool, inside);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	bufpool_revert(pool, &fake);
	ck_assert_int_eq(errno, EINVAL);
	testutil_assert_stats(pool, &after);
	ck_assert_mem_eq(&before, &after, sizeof(before));
	bufpool_destroy(pool);
}
END_TEST

/* ---- MEM_LIMIT -------------------------------------------------------- */

/* Fill the pool with n buffers of size sz into b[]. */
static void tpool_fill(bufpool_t *pool, struct io_buf **b, unsigned n, size_t sz)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = tpool_alloc_ok(pool, sz, sz);
}

static void tpool_revert_all(bufpool_t *pool, struct io_buf **b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bufpool_revert(pool, b[i]);
}

START_TEST(test_limit_exact)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, b, 16, 4 * KiB);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 64 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_alloc_fails(pool, 16 * KiB, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.failures, 2);
	ck_assert_uint_eq(st.tier[0].failures, 1);
	ck_assert_uint_eq(st.tier[1].failures, 1);
	ck_assert_uint_eq(st.bytes_owned, 64 * KiB);
	ck_assert_uint_eq(st.allocs, 16);

	struct io_buf *last = b[15];
	bufpool_revert(pool, last);
	b[15] = tpool_alloc_ok(pool, 1, 4 * KiB);
	ck_assert_ptr_eq(b[15], last);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.tier[0].failures, 2);
	ck_assert_uint_eq(st.fresh, 16);
	tpool_revert_all(pool, b, 16);
	bufpool_destroy(pool);
}
END_TEST

/* A limit that is not a multiple of the tier size rounds down. */
START_TEST(test_limit_uneven)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB + 4095, _i);
	struct io_buf *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, b, 16, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 64 * KiB);
	tpool_revert_all(pool, b, 16);
	bufpool_destroy(pool);
}
END_TEST

/* The largest tier at a limit of exactly its size; then an idle 8M buffer
 * is given back to make room for a small one. */
START_TEST(test_limit_largest_tier)
{
	bufpool_t *pool = testutil_pool_new(8 * MiB, _i);
	struct bufpool_stats st;
	struct io_buf *big = tpool_alloc_ok(pool, 8 * MiB, 8 * MiB);

	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_alloc_fails(pool, 8 * MiB, ENOMEM);
	bufpool_revert(pool, big);
	struct io_buf *small = tpool_alloc_ok(pool, 1, 4 * KiB);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.tier[6].owned, 0);
	ck_assert_uint_eq(st.released, 1);
	ck_assert_uint_eq(st.bytes_owned, 4 * KiB);
	tpool_alloc_fails(pool, 8 * MiB, ENOMEM);
	bufpool_revert(pool, small);
	bufpool_destroy(pool);
}
END_TEST

/* Idle buffers of other tiers are released, one at a time as needed. */
START_TEST(test_limit_reclaim_other_tiers)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *big[4], *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, big, 4, 16 * KiB);
	tpool_revert_all(pool, big, 4);
	for (unsigned i = 0; i < 16; i++) {
		b[i] = tpool_alloc_ok(pool, 4 * KiB, 4 * KiB);
		testutil_assert_stats(pool, &st);
		ck_assert_uint_le(st.bytes_owned, 64 * KiB);
	}
	ck_assert_uint_eq(st.tier[1].owned, 0);
	ck_assert_uint_eq(st.released, 4);
	ck_assert_uint_eq(st.failures, 0);
	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_revert_all(pool, b, 16);
	bufpool_destroy(pool);
}
END_TEST

/* Buffers in use are never taken back to make room. */
START_TEST(test_limit_in_use_kept)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *big[4];
	struct bufpool_stats st;

	tpool_fill(pool, big, 4, 16 * KiB);
	for (unsigned i = 0; i < 4; i++)
		testutil_fill(big[i]->data, big[i]->capacity, 77 + i);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.tier[1].in_use, 4);
	ck_assert_uint_eq(st.released, 0);
	for (unsigned i = 0; i < 4; i++)
		ck_assert(testutil_verify(big[i]->data, big[i]->capacity, 77 + i));
	tpool_revert_all(pool, big, 4);
	bufpool_destroy(pool);
}
END_TEST

/* Limit lowered below the bytes in use: allocations fail, reverts give
 * memory back to the system until the pool is under the limit, then the
 * pool works again within the new limit. */
START_TEST(test_limit_lowered_below_use)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, b, 16, 4 * KiB);
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 32 * KiB), 0);
	ck_assert_uint_eq(bufpool_mem_limit(pool), 32 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	for (unsigned i = 0; i < 8; i++) {
		bufpool_revert(pool, b[i]);
		testutil_assert_stats(pool, &st);
		ck_assert_uint_eq(st.bytes_owned, (15 - i) * 4 * KiB);
		ck_assert_uint_eq(st.bytes_idle, 0);
		ck_assert_uint_eq(st.released, i + 1);
		if (st.bytes_owned > 32 * KiB)
			tpool_alloc_fails(pool, 1, ENOMEM);
	}
	/* At the limit now: the next revert keeps its buffer idle, and the
	 * pool hands out exactly what fits. */
	tpool_alloc_fails(pool, 1, ENOMEM);
	bufpool_revert(pool, b[8]);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 32 * KiB);
	ck_assert_uint_eq(st.tier[0].idle, 1);
	b[8] = tpool_alloc_ok(pool, 1, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_revert_all(pool, b + 8, 8);
	for (unsigned i = 0; i < 8; i++)
		b[i] = tpool_alloc_ok(pool, 1, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 32 * KiB);
	tpool_revert_all(pool, b, 8);
	bufpool_destroy(pool);
}
END_TEST

/* Limit lowered below the idle memory: idle buffers are released. */
START_TEST(test_limit_lowered_releases_idle)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, b, 16, 4 * KiB);
	tpool_revert_all(pool, b, 16);
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 16 * KiB), 0);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_le(st.bytes_owned, 16 * KiB);
	ck_assert_uint_ge(st.released, 12);
	tpool_fill(pool, b, 4, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_revert_all(pool, b, 4);
	bufpool_destroy(pool);
}
END_TEST

START_TEST(test_limit_raised)
{
	bufpool_t *pool = testutil_pool_new(32 * KiB, _i);
	struct io_buf *b[16];
	struct bufpool_stats st;

	tpool_fill(pool, b, 8, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 64 * KiB), 0);
	ck_assert_uint_eq(bufpool_mem_limit(pool), 64 * KiB);
	tpool_fill(pool, b + 8, 8, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.mem_limit, 64 * KiB);
	ck_assert_uint_eq(st.bytes_owned, 64 * KiB);
	ck_assert_uint_eq(st.failures, 2);
	tpool_revert_all(pool, b, 16);
	bufpool_destroy(pool);
}
END_TEST

/* Lower below use, then raise again before any revert: works at once. */
START_TEST(test_limit_lowered_then_raised)
{
	bufpool_t *pool = testutil_pool_new(64 * KiB, _i);
	struct io_buf *b[17];

	tpool_fill(pool, b, 16, 4 * KiB);
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 8 * KiB), 0);
	tpool_alloc_fails(pool, 1, ENOMEM);
	ck_assert_int_eq(bufpool_set_mem_limit(pool, 68 * KiB), 0);
	b[16] = tpool_alloc_ok(pool, 1, 4 * KiB);
	tpool_alloc_fails(pool, 1, ENOMEM);
	tpool_revert_all(pool, b, 17);
	bufpool_destroy(pool);
}
END_TEST

/* ---- trim ------------------------------------------------------------- */

START_TEST(test_trim)
{
	bufpool_t *pool = testutil_pool_new(64 * MiB, _i);
	struct io_buf *b[BUFPOOL_TIERS], *keep;
	struct bufpool_stats st;

	keep = tpool_alloc_ok(pool, 100, 4 * KiB);
	testutil_fill(keep->data, keep->capacity, 5);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		b[t] = tpool_alloc_ok(pool, tpool_sizes[t], tpool_sizes[t]);
	tpool_revert_all(pool, b, BUFPOOL_TIERS);
	testutil_assert_stats(pool, &st);
	size_t idle = st.bytes_idle;
	ck_assert_uint_eq(idle, 4 * KiB + 16 * KiB + 64 * KiB + 256 * KiB + MiB +
					4 * MiB + 8 * MiB);
	ck_assert_uint_eq(bufpool_trim(pool), idle);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_idle, 0);
	ck_assert_uint_eq(st.bytes_owned, 4 * KiB);
	ck_assert_uint_eq(st.bytes_in_use, 4 * KiB);
	ck_assert_uint_eq(st.released, BUFPOOL_TIERS);
	ck_assert_uint_eq(bufpool_trim(pool), 0);
	ck_assert(testutil_verify(keep->data, keep->capacity, 5));
	bufpool_revert(pool, keep);
	ck_assert_uint_eq(bufpool_trim(pool), 4 * KiB);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 0);
	bufpool_destroy(pool);
}
END_TEST

/* Trim also drops preallocated buffers. */
START_TEST(test_trim_prealloc)
{
	bufpool_t *pool = bufpool_new(NULL);
	struct bufpool_stats st;

	ck_assert_ptr_nonnull(pool);
	ck_assert_uint_eq(bufpool_trim(pool), 128 * KiB);
	testutil_assert_stats(pool, &st);
	ck_assert_uint_eq(st.bytes_owned, 0);
	ck_assert_uint_eq(st.released, 20);
	bufpool_destroy(pool);
}
END_TEST

/* ---- statistics over a random sequence --------------------------------- */

enum { TPOOL_SEQ_OPS = 3000, TPOOL_SEQ_LIVE = 48 };

struct tpool_seq {
	bufpool_t *pool;
	struct io_buf *live[TPOOL_SEQ_LIVE];
	unsigned nlive;
	uint64_t allocs, failures, too_large, in_use[BUFPOOL_TIERS];
	unsigned seed;
};

static size_t tpool_seq_size(struct tpool_seq *s)
{
	unsigned r = (unsigned)rand_r(&s->seed);

	if (r % 50 == 0)
		return BUFPOOL_MAX_SIZE + 1 + r % 100;
	return (size_t)r % (512 * KiB + 1); /* tiers 0..4 */
}

static void tpool_seq_alloc(struct tpool_seq *s)
{
	size_t n = tpool_seq_size(s);
	struct io_buf *b;

	errno = 0;
	b = bufpool_alloc(s->pool, n);
	if (!b) {
		ck_assert_msg(errno == ENOMEM || errno == EINVAL, "errno %d", errno);
		if (n > BUFPOOL_MAX_SIZE) {
			ck_assert_int_eq(errno, EINVAL);
			s->too_large++;
		} else {
			ck_assert_int_eq(errno, ENOMEM);
			s->failures++;
		}
		return;
	}
	ck_assert_uint_eq(b->capacity, bufpool_tier_size(bufpool_tier_index(n)));
	s->allocs++;
	s->in_use[bufpool_tier_index(n)]++;
	s->live[s->nlive++] = b;
}

static void tpool_seq_revert(struct tpool_seq *s)
{
	unsigned i = (unsigned)rand_r(&s->seed) % s->nlive;
	struct io_buf *b = s->live[i];

	s->in_use[bufpool_tier_index(b->capacity)]--;
	s->live[i] = s->live[--s->nlive];
	bufpool_revert(s->pool, b);
}

static void tpool_seq_check(struct tpool_seq *s)
{
	struct bufpool_stats st;

	testutil_assert_stats(s->pool, &st);
	ck_assert_uint_le(st.bytes_owned, st.mem_limit);
	ck_assert_uint_eq(st.allocs, s->allocs);
	ck_assert_uint_eq(st.failures, s->failures);
	ck_assert_uint_eq(st.too_large, s->too_large);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		ck_assert_uint_eq(st.tier[t].in_use, s->in_use[t]);
}

START_TEST(test_stats_sequence)
{
	struct tpool_seq s;

	memset(&s, 0, sizeof(s));
	s.seed = 12345u + (unsigned)_i;
	s.pool = testutil_pool_new(2 * MiB, _i);
	for (unsigned op = 0; op < TPOOL_SEQ_OPS; op++) {
		unsigned r = (unsigned)rand_r(&s.seed) % 100;
		if (r < 2)
			bufpool_trim(s.pool);
		else if (s.nlive == TPOOL_SEQ_LIVE || (s.nlive > 0 && r < 50))
			tpool_seq_revert(&s);
		else
			tpool_seq_alloc(&s);
		tpool_seq_check(&s);
	}
	ck_assert_uint_gt(s.failures, 0); /* the limit was reached */
	while (s.nlive > 0)
		tpool_seq_revert(&s);
	tpool_seq_check(&s);
	bufpool_destroy(s.pool);
}
END_TEST

/* ---- bufpool_peaks ---------------------------------------------------- */

/* The high-water marks follow the most the pool held, and stay when the
 * buffers go back and the memory is trimmed. */
START_TEST(test_peaks)
{
	bufpool_t *pool = testutil_pool_new(2 * MiB, _i);
	struct io_buf *b[8];
	struct bufpool_peaks pk = {.size = sizeof(pk)};
	unsigned t16 = (unsigned)bufpool_tier_index(16384);

	ck_assert_int_eq(bufpool_peaks(pool, &pk), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(b[i] = bufpool_alloc(pool, 16384));
	for (int i = 0; i < 8; i++)
		bufpool_revert(pool, b[i]);
	bufpool_trim(pool);
	ck_assert_int_eq(bufpool_peaks(pool, &pk), 0);
	ck_assert_uint_eq(pk.size, sizeof(pk));
	ck_assert_uint_ge(pk.owned[t16], 8);
	ck_assert_uint_ge(pk.bytes_owned, 8 * 16384);
	struct bufpool_stats st;
	bufpool_stats(pool, &st);
	ck_assert_uint_lt(st.bytes_owned, pk.bytes_owned); /* trimmed; the mark stays */

	/* A caller whose struct ends after bytes_owned gets that much. */
	struct bufpool_peaks small;
	memset(&small, 0xab, sizeof(small));
	small.size = offsetof(struct bufpool_peaks, owned);
	ck_assert_int_eq(bufpool_peaks(pool, &small), 0);
	ck_assert_uint_eq(small.bytes_owned, pk.bytes_owned);
	ck_assert_uint_eq(small.owned[0], 0xababababababababULL);

	small.size = sizeof(size_t); /* not even bytes_owned */
	errno = 0;
	ck_assert_int_eq(bufpool_peaks(pool, &small), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(bufpool_peaks(NULL, &pk), -1);
	ck_assert_int_eq(bufpool_peaks(pool, NULL), -1);
	bufpool_destroy(pool);
}
END_TEST

/* ---- bufpool_parse_size ----------------------------------------------- */

struct tpool_size_case {
	const char *text;
	size_t value;
};

START_TEST(test_parse_size_good)
{
	static const struct tpool_size_case ok[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"007", 7},
		{"4k", 4096},
		{"4K", 4096},
		{"0K", 0},
		{"64M", 64 * MiB},
		{"64m", 64 * MiB},
		{"1G", (size_t)1 << 30},
		{"3g", (size_t)3 << 30},
		{"16777215G", (size_t)16777215 << 30},
		{"18014398509481983K", SIZE_MAX - 1023},
		{"18446744073709551615", SIZE_MAX},
	};
	size_t out;

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		out = 12345;
		ck_assert_msg(bufpool_parse_size(ok[i].text, &out) == 0,
			      "\"%s\" refused", ok[i].text);
		ck_assert_msg(out == ok[i].value, "\"%s\" -> %zu, want %zu",
			      ok[i].text, out, ok[i].value);
	}
}
END_TEST

static void tpool_parse_fails(const char *text, int err)
{
	size_t out = 0;

	errno = 0;
	ck_assert_msg(bufpool_parse_size(text, &out) == -1, "\"%s\" accepted",
		      text ? text : "(null)");
	ck_assert_msg(errno == err, "\"%s\": errno %d, want %d",
		      text ? text : "(null)", errno, err);
}

START_TEST(test_parse_size_bad)
{
	static const char *const bad[] = {
		"", " ", " 1", "1 ", "1\n", "K", "M", "-1", "+1", "1.5M", "0x10",
		"1T", "1KB", "1kk", "1k1", "abc", "1 K", "12Q", "1b", "1e3",
	};

	tpool_parse_fails(NULL, EINVAL);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tpool_parse_fails(bad[i], EINVAL);
}
END_TEST

START_TEST(test_parse_size_overflow)
{
	static const char *const big[] = {
		"18446744073709551616",
		"99999999999999999999999",
		"17179869184G",
		"18014398509481984K",
		"17592186044416M",
		"36893488147419103232",
	};

	for (unsigned i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		tpool_parse_fails(big[i], ERANGE);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *tpool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("tiers");
	tcase_add_test(tc, test_tier_size);
	tcase_add_test(tc, test_tier_index);
	tcase_add_test(tc, test_alloc_boundaries);
	tcase_add_loop_test(tc, test_alloc_every_tier, 0, BUFPOOL_TIERS);
	tcase_add_test(tc, test_null_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_new_defaults);
	tcase_add_loop_test(tc, test_new_prealloc_used, 0, 2);
	tcase_add_test(tc, test_new_invalid);
	tcase_add_loop_test(tc, test_new_prealloc_at_limit, 0, 2);
	tcase_add_loop_test(tc, test_new_zero_limit, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("reuse");
	tcase_add_loop_test(tc, test_reuse_same_pointer, 0, 2);
	tcase_add_loop_test(tc, test_reuse_resets_fields, 0, 2);
	tcase_add_loop_test(tc, test_distinct_buffers, 0, 2);
	tcase_add_loop_test(tc, test_alignment, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_add_loop_test(tc, test_revert_null, 0, 2);
	tcase_add_loop_test(tc, test_revert_twice, 0, 2);
	tcase_add_loop_test(tc, test_revert_other_pool, 0, 2);
	tcase_add_loop_test(tc, test_revert_fake_buffer, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("limit");
	tcase_add_loop_test(tc, test_limit_exact, 0, 2);
	tcase_add_loop_test(tc, test_limit_uneven, 0, 2);
	tcase_add_loop_test(tc, test_limit_largest_tier, 0, 2);
	tcase_add_loop_test(tc, test_limit_reclaim_other_tiers, 0, 2);
	tcase_add_loop_test(tc, test_limit_in_use_kept, 0, 2);
	tcase_add_loop_test(tc, test_limit_lowered_below_use, 0, 2);
	tcase_add_loop_test(tc, test_limit_lowered_releases_idle, 0, 2);
	tcase_add_loop_test(tc, test_limit_raised, 0, 2);
	tcase_add_loop_test(tc, test_limit_lowered_then_raised, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("trim");
	tcase_add_loop_test(tc, test_trim, 0, 2);
	tcase_add_test(tc, test_trim_prealloc);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_loop_test(tc, test_stats_sequence, 0, 2);
	tcase_add_loop_test(tc, test_peaks, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_size");
	tcase_add_test(tc, test_parse_size_good);
	tcase_add_test(tc, test_parse_size_bad);
	tcase_add_test(tc, test_parse_size_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(tpool_suite(), NULL);
}
