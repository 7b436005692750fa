/*
 * test_poison.c - a write into a reverted buffer is caught where it can be.
 *
 * The test runs this program again as a child with --child: the child
 * allocates a buffer (from a pool with thread caches, one without, or
 * shared by bufpool_ref() and reverted by both holders), writes into it,
 * reverts it, and then writes into its data.  The parent reads the
 * child's stderr and exit status:
 *  - built with AddressSanitizer (configure --enable-sanitizers=address):
 *    the child must die with ASan's "use-after-poison" report.  The child
 *    gets its own ASAN_OPTIONS without log_path, so the intended report
 *    goes to the parent rather than into tests/sanitize's report files;
 *  - built with --enable-valgrind-poison, or as tests/unit/test_poison_vg
 *    against the test copy of the library with valgrind's client requests:
 *    the child runs under valgrind, which must report an "Invalid write"
 *    inside the buffer;
 *  - a normal build: nothing is poisoned (zero cost), the stale write goes
 *    unnoticed and the child exits 0; the test checks that, too, so a
 *    poisoning build is never mistaken for a normal one.
 */
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TPO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TPO_ASAN 1
#endif
#endif
/* valgrind cannot run a ThreadSanitizer binary: there the client requests
 * stay unexercised, and the test expects what a normal build does. */
#if defined(BUFPOOL_VALGRIND_POISON) && !defined(__SANITIZE_THREAD__)
#define TPO_VALGRIND 1
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#undef TPO_VALGRIND
#endif
#endif
#endif

enum { TPO_VG_ERROR = 42 };

static const char *const tpo_cases[] = {"cached", "uncached", "shared"};

/* The child: make a buffer idle the way the case says, then write to it. */
static int tpo_child(const char *which)
{
	struct bufpool_config cfg;

	/* Not testutil_pool_new(): ck_assert works only inside a Check test. */
	bufpool_config_init(&cfg);
	cfg.thread_cache = strcmp(which, "uncached") != 0;
	bufpool_t *pool = bufpool_new(&cfg);
	struct io_buf *b = pool ? bufpool_alloc(pool, 5000) : NULL;

	if (!b)
		return 3;
	memset(b->data, 1, b->capacity);
	if (strcmp(which, "shared") == 0) {
		/* Two holders: the buffer goes idle at the second revert. */
		if (bufpool_ref(pool, b) != 0)
			return 4;
		bufpool_revert(pool, b);
		b->data[0] = 2; /* still held once: fine */
	}
	volatile char *stale = b->data;
	bufpool_revert(pool, b);
	stale[b->capacity - 1] = 7; /* the bug under test */
	bufpool_destroy(pool);
	return 0;
}

/* Run the child for one case; its stderr into out (NUL-terminated). */
static int tpo_run_child(const char *which, int under_valgrind, char *out, size_t outsz)
{
	char self[4096];
	int p[2], status;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	ck_assert_int_gt(len, 0);
	self[len] = '\0';
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		/* Reports to stderr, not into a sanitizer run's report files:
		 * clang's ASan+UBSan runtime takes log_path from UBSAN_OPTIONS
		 * too, so both are set. */
		setenv("ASAN_OPTIONS",
		       "detect_leaks=0:abort_on_error=0:exitcode=23:log_path=stderr", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:log_path=stderr", 1);
		if (under_valgrind) {
			char code[32];
			snprintf(code, sizeof(code), "--error-exitcode=%d", TPO_VG_ERROR);
			execl(VALGRIND_PATH, VALGRIND_PATH, "-q", code, self, "--child", which,
			      (char *)NULL);
		} else {
			execl(self, self, "--child", which, (char *)NULL);
		}
		_exit(127);
	}
	close(p[1]);
	size_t used = 0;
	ssize_t n;
	while ((n = read(p[0], out + used, outsz - 1 - used)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(test_write_after_revert)
{
	static char out[1 << 16];
	const char *which = tpo_cases[_i];

#if defined(TPO_ASAN)
	int status = tpo_run_child(which, 0, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 23,
		      "%s: the child was not stopped by ASan (status %#x): %s", which, status, out);
	ck_assert_msg(strstr(out, "use-after-poison"), "%s: no use-after-poison report: %s",
		      which, out);
#elif defined(TPO_VALGRIND)
	if (VALGRIND_PATH[0] == '\0')
		ck_abort_msg("built with --enable-valgrind-poison, but configure found no valgrind");
	int status = tpo_run_child(which, 1, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == TPO_VG_ERROR,
		      "%s: valgrind did not fail the child (status %#x): %s", which, status, out);
	ck_assert_msg(strstr(out, "Invalid write"), "%s: no invalid write reported: %s", which,
		      out);
#else
	/* A normal build poisons nothing: the stale write is not caught. */
	int status = tpo_run_child(which, 0, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: status %#x in a normal build: %s", which, status, out);
#endif
}
END_TEST

static Suite *tpo_suite(void)
{
	Suite *s = suite_create("bufpool_poison");
	TCase *tc = tcase_create("write_after_revert");

	tcase_set_timeout(tc, 60); /* valgrind starts slowly */
	tcase_add_loop_test(tc, test_write_after_revert, 0,
			    (int)(sizeof(tpo_cases) / sizeof(tpo_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return tpo_child(argv[2]);
	return testutil_main(tpo_suite(), NULL);
}
