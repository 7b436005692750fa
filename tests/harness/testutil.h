/*
 * testutil.h - what every Check program in tests/ shares.
 *
 * One main(): testutil_main() runs a suite as the environment says (TAP
 * on stdout with CK_TAP_LOG_FILE_NAME=-, CK_FORK=no under valgrind,
 * CK_RUN_CASE for one case) between an optional setup and teardown of the
 * program's own (the larsd suites make their temporary directory there).
 * Test cases with a timeout of their own, byte patterns that name their
 * writer, and running a function in a fresh child process (for
 * process-wide state).  The pool helpers of the libbufpool suites are in
 * testutil_pool.h.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a program does around its suite; either may be NULL. */
struct testutil_run {
	int (*setup)(void);     /* before the run; nonzero: exit 99 (hard error) */
	void (*teardown)(void); /* after the run, whatever its result */
};

/* Run s (run may be NULL); the program's exit status: EXIT_SUCCESS when
 * every test passed, EXIT_FAILURE when one failed, 99 if setup failed. */
int testutil_main(Suite *s, const struct testutil_run *run);

/* Add a test case of one test, named name, with its own timeout in
 * seconds (Check's default is 4 s, and applies only when it forks). */
void testutil_add(Suite *s, const char *name, const TTest *test, double timeout);

/* Fill len bytes at p with a pattern derived from seed; verify it. */
void testutil_fill(void *p, size_t len, uint64_t seed);
bool testutil_verify(const void *p, size_t len, uint64_t seed);

/* Run fn(arg) in a forked child; return its exit status, or 128 + signal
 * number if it died of a signal, or -1 if fork failed. */
int testutil_in_child(int (*fn)(void *), void *arg);

#endif /* TESTUTIL_H */
