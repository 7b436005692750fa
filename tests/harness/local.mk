# tests/harness/local.mk: what the test programs share, no test of its own.
# Headers are found by name: a test program puts TEST_CPPFLAGS (-I
# tests/harness) in its CPPFLAGS and includes "testutil.h",
# "larsd_harness.h" ...
#
#  - TEST_UTIL, testutil.c: the one main() of every Check program
#    (testutil_main), test cases with their own timeout, byte patterns;
#    testutil_pool.c the pool helpers of libbufpool's unit tests
#    (tests/unit/local.mk).
#  - LARSD_HARNESS, larsd_harness.c: runs the built larsd with a temporary
#    config, socket activation and a private NOTIFY_SOCKET;
#    harness_sockets.c its clients, harness_exec.c the project's other
#    programs (larsctl, larsd-bench); bench_util.h reads larsd-bench's
#    --json summary.  Used by tests/e2e/ and tests/stress/.
#  - fault_uring.c: a shim preloaded into larsd in front of liburing, for
#    tests/e2e/test_contract (built by the rule below).
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/harness
TEST_UTIL = tests/harness/testutil.c tests/harness/testutil.h
LARSD_HARNESS = tests/harness/larsd_harness.c \
	tests/harness/harness_sockets.c tests/harness/harness_exec.c \
	tests/harness/larsd_harness.h $(TEST_UTIL)

# The shim is a plain shared object built by the rule below rather than a
# check_LTLIBRARIES module: it is preloaded into the libtool wrapper's
# shell as well as into larsd, so it must not carry the build's CFLAGS and
# LDFLAGS, which in a sanitizer build (tests/sanitize) would make it need
# a sanitizer runtime that the shell lacks; and libtool has no way to
# leave them out.  It needs liburing's header only: it reaches the real
# functions through dlsym(RTLD_NEXT).  Without liburing it is not built,
# and the cases that need it skip.
EXTRA_DIST += tests/harness/fault_uring.c
if HAVE_LIBURING
FAULT_URING_SO = tests/harness/libfault_uring.so
tests/harness/libfault_uring.so: $(srcdir)/tests/harness/fault_uring.c
	$(AM_V_at)$(MKDIR_P) tests/harness
	$(AM_V_CCLD)$(CC) $(WARN_CFLAGS) -O2 -g -fPIC -shared -pthread $(CPPFLAGS) \
		$(LIBURING_CFLAGS) -o $@ $(srcdir)/tests/harness/fault_uring.c -ldl
else
FAULT_URING_SO =
endif
CLEANFILES += tests/harness/libfault_uring.so
