/*
 * test_memwatch.c - larsd's memory watch (src/larsd/memwatch.c), compiled
 * into the test as test_conf does with conf.c.
 *
 * The cgroup reader gets fake trees in a temporary directory: a cgroup v2
 * line in proc/self/cgroup and memory.max files under sys/fs/cgroup.
 * Covers: a limit on the own cgroup; a smaller one on a parent wins; "max"
 * at every level and missing files mean no limit; the top cgroup "/" (as
 * in a container's cgroup namespace); a v1-only file (ENOENT) and a
 * memory.max that does not parse (EINVAL); the start-up check's one line
 * when mem_limit plus the overhead does not fit, and silence when it does
 * or when no limit is known; VmRSS from a status file.  The pressure hook:
 * memwatch_pool_start() sets 90%/70% marks on a real pool.
 */
#include "config.h"

#include "memwatch.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB ((uint64_t)1 << 20)

static char tmw_root[64];

static void tmw_write(const char *rel, const char *text)
{
	char path[512], dir[512];

	snprintf(path, sizeof(path), "%s/%s", tmw_root, rel);
	/* mkdir -p of the file's directory */
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + strlen(tmw_root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void tmw_setup(void)
{
	snprintf(tmw_root, sizeof(tmw_root), "/tmp/test_memwatch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmw_root));
}

static void tmw_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmw_root);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *const tmw_v2 = "0::/system.slice/larsd.service\n";
static const char *const tmw_leaf = "sys/fs/cgroup/system.slice/larsd.service/memory.max";
static const char *const tmw_parent = "sys/fs/cgroup/system.slice/memory.max";

START_TEST(test_limit_own)
{
	uint64_t limit = 0;
	char group[256];

	tmw_write("proc/self/cgroup", tmw_v2);
	tmw_write(tmw_leaf, "167772160\n");
	tmw_write(tmw_parent, "max\n");
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), 1);
	ck_assert_uint_eq(limit, 160 * MiB);
	ck_assert_str_eq(group, "/system.slice/larsd.service");
}
END_TEST

START_TEST(test_limit_parent_smaller)
{
	uint64_t limit = 0;
	char group[256];

	/* A hybrid system's v1 lines come first; the v2 line is found. */
	tmw_write("proc/self/cgroup", "4:memory:/x\n1:cpu:/\n0::/system.slice/larsd.service\n");
	tmw_write(tmw_leaf, "167772160\n");
	tmw_write(tmw_parent, "104857600\n");
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), 1);
	ck_assert_uint_eq(limit, 100 * MiB);
}
END_TEST

START_TEST(test_limit_none)
{
	uint64_t limit = 0;
	char group[256];

	tmw_write("proc/self/cgroup", tmw_v2);
	tmw_write(tmw_leaf, "max\n");
	/* the parent has no memory.max: the controller is not enabled there */
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), 0);
}
END_TEST

START_TEST(test_limit_top)
{
	uint64_t limit = 0;
	char group[256];

	tmw_write("proc/self/cgroup", "0::/\n");
	tmw_write("sys/fs/cgroup/memory.max", "67108864\n");
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), 1);
	ck_assert_uint_eq(limit, 64 * MiB);
	ck_assert_str_eq(group, "/");
}
END_TEST

START_TEST(test_limit_unknown)
{
	uint64_t limit = 0;
	char group[256];

	/* No file at all, then cgroup v1 only. */
	errno = 0;
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), -1);
	tmw_write("proc/self/cgroup", "4:memory:/x\n1:cpu:/\n");
	errno = 0;
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* A memory.max that is neither a number nor "max". */
	tmw_write("proc/self/cgroup", tmw_v2);
	tmw_write(tmw_leaf, "160M\n");
	errno = 0;
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), -1);
	ck_assert_int_eq(errno, EINVAL);
	tmw_write(tmw_leaf, "");
	ck_assert_int_eq(memwatch_cgroup_limit(tmw_root, &limit, group, sizeof(group)), -1);
}
END_TEST

START_TEST(test_check)
{
	char msg[1400];

	tmw_write("proc/self/cgroup", tmw_v2);
	tmw_write(tmw_leaf, "104857600\n"); /* MemoryMax=100M */
	/* 64M + 20M fits in 100M: silent. */
	ck_assert_int_eq(memwatch_cgroup_check(tmw_root, 64 * MiB, 20 * MiB, msg, sizeof(msg)), 0);
	/* 96M + 5M does not: one line naming the cgroup and the figures. */
	ck_assert_int_eq(memwatch_cgroup_check(tmw_root, 96 * MiB, 5 * MiB, msg, sizeof(msg)), 1);
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert_ptr_nonnull(strstr(msg, "cgroup /system.slice/larsd.service"));
	ck_assert_ptr_nonnull(strstr(msg, "memory.max 100.0 MiB"));
	ck_assert_ptr_nonnull(strstr(msg, "mem_limit 96.0 MiB"));
	ck_assert_ptr_nonnull(strstr(msg, "own 5.0 MiB"));
	/* No limit, or no way to tell: silent. */
	tmw_write(tmw_leaf, "max\n");
	ck_assert_int_eq(memwatch_cgroup_check(tmw_root, 96 * MiB, 5 * MiB, msg, sizeof(msg)), 0);
	tmw_write("proc/self/cgroup", "1:cpu:/\n");
	ck_assert_int_eq(memwatch_cgroup_check(tmw_root, 96 * MiB, 5 * MiB, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(test_rss)
{
	tmw_write("proc/self/status", "Name:\tlarsd\nVmPeak:\t  9000 kB\nVmRSS:\t    3512 kB\n");
	ck_assert_uint_eq(memwatch_rss(tmw_root), 3512 * 1024);
	ck_assert_uint_eq(memwatch_rss("/nonexistent"), 0);
	ck_assert_uint_gt(memwatch_rss(""), 0); /* this process */
}
END_TEST

START_TEST(test_pool_marks)
{
	struct bufpool_config cfg;
	bufpool_config_init(&cfg);
	cfg.mem_limit = 10 * MiB;
	bufpool_t *pool = bufpool_new(&cfg);
	struct bufpool_pressure_stats ps = {.size = sizeof(ps)};

	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(memwatch_pool_start(pool), 0);
	ck_assert_int_eq(bufpool_pressure_stats(pool, &ps), 0);
	ck_assert_uint_eq(ps.high_mark, 9 * MiB);
	ck_assert_uint_eq(ps.low_mark, 7 * MiB);
	bufpool_destroy(pool);
}
END_TEST

static Suite *tmw_suite(void)
{
	Suite *s = suite_create("memwatch");
	TCase *tc = tcase_create("memwatch");

	tcase_add_checked_fixture(tc, tmw_setup, tmw_teardown);
	tcase_add_test(tc, test_limit_own);
	tcase_add_test(tc, test_limit_parent_smaller);
	tcase_add_test(tc, test_limit_none);
	tcase_add_test(tc, test_limit_top);
	tcase_add_test(tc, test_limit_unknown);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_rss);
	tcase_add_test(tc, test_pool_marks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(tmw_suite(), NULL);
}
