/*
 * bench_util.h - running the built larsd-bench from a Check test and
 * reading its --json summary; shared by tests/e2e/test_larsd_bench.c and
 * tests/e2e/test_larsd_bench_stamp.c.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include "larsd_harness.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LARSD_BENCH_PATH
#define LARSD_BENCH_PATH "src/larsd-bench/larsd-bench"
#endif

#define RUN_TIMEOUT_MS 10000
/* Run larsd-bench with args (NULL-terminated, after argv[0]). */
static inline void run_bench(struct lh_exec *b, const char *const *args)
{
	const char *binary = getenv("LARSD_BENCH_TEST_PATH");
	lh_exec(b, binary && *binary ? binary : LARSD_BENCH_PATH, args, RUN_TIMEOUT_MS);
}

/* The number after "key": in text from; NAN if missing. */
static inline double num_after(const char *from, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = from ? strstr(from, pat) : NULL;
	if (!p)
		return NAN;
	p += strlen(pat);
	char *end;
	double v = strtod(p, &end);
	return end == p ? NAN : v;
}

/* A number from the --json summary: "key":value; NAN if missing. */
static inline double num(const struct lh_exec *b, const char *key)
{
	return num_after(b->out, key);
}

/* A number inside an object of the summary: the first "key":value after
 * "obj":{ (keys of a flat object, or keys found nowhere else). */
static inline double num_in(const struct lh_exec *b, const char *obj, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":{", obj);
	return num_after(strstr(b->out, pat), key);
}

#define ck_assert_num(b, key, op, value)                                                   \
	ck_assert_msg(num(b, key) op(double)(value),                                       \
		      "%s = %g, expected " #op " %g\nstdout: %s\nstderr: %s", key, num(b, key), \
		      (double)(value), (b)->out, (b)->err)

#define ck_assert_code(b, want)                                                              \
	ck_assert_msg((b)->code == (want), "exit status %d, expected %d\nstdout: %s\nstderr: %s", \
		      (b)->code, want, (b)->out, (b)->err)

#endif /* BENCH_UTIL_H */
