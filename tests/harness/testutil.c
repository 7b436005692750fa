/*
 * testutil.c - what every Check program in tests/ shares (testutil.h):
 * the one main(), test cases with their own timeout, byte patterns,
 * running a function in a child process.
 */
#include "config.h"

#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t testutil_word(uint64_t seed, size_t i)
{
	uint64_t x = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ULL;
}

void testutil_fill(void *p, size_t len, uint64_t seed)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = testutil_word(seed, i / 8);
		memcpy(b + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = testutil_word(seed, i / 8);
		memcpy(b + i, &w, len - i);
	}
}

bool testutil_verify(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = testutil_word(seed, i / 8);
		if (memcmp(b + i, &w, 8) != 0)
			return false;
	}
	if (i < len) {
		uint64_t w = testutil_word(seed, i / 8);
		if (memcmp(b + i, &w, len - i) != 0)
			return false;
	}
	return true;
}

int testutil_in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void testutil_add(Suite *s, const char *name, const TTest *test, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

int testutil_main(Suite *s, const struct testutil_run *run)
{
	SRunner *sr;
	int failed;

	if (run && run->setup && run->setup() != 0)
		return 99; /* a hard error to the test drivers, not a failure */
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (run && run->teardown)
		run->teardown();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
