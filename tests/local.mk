# tests: the Check suites (libbufpool, the configuration loader, larsd and
# larsd-bench end to end) and the test drivers of the tree.
#
# Drivers, chosen by the test's extension (TEST_EXTENSIONS):
#  - no extension: compiled programs ($(EXEEXT) is empty here), run by
#    automake's tap-driver.sh (LOG_DRIVER) through tests/drivers/tap-wrap.sh
#    (LOG_COMPILER).  Check programs print TAP on stdout
#    (CK_TAP_LOG_FILE_NAME=-), so `make check` shows one PASS/FAIL line per
#    Check test; tap-wrap.sh passes that through.  A program that prints
#    no TAP (an example, a plain C test) is judged by its exit status as
#    automake's test-driver would (0 pass, 77 skip, 99 error), so both
#    kinds share TESTS: just `check_PROGRAMS += x` and `TESTS += x`.
#    The exit status counts too (no --ignore-exit): a Check program exits
#    1 when a test failed, so a failure reads FAIL plus an ERROR for its
#    program, and a crash after the plan is still caught.
#  - .sh: plain shell tests through automake's test-driver (SH_LOG_DRIVER):
#    exit 0 pass, 77 skip, 99 hard error, anything else fail.
#  - .tap: shell scripts that print TAP themselves (TAP_LOG_DRIVER).
# The driver scripts are kept in tests/drivers/, so the build does not
# depend on what automake happened to copy into build-aux/.
#
# Tests run from the top build directory and must be parallel-safe
# (`make -j2 check`): no fixed ports, no shared files.
#
# `make check-valgrind` runs $(VALGRIND_TESTS) (other fragments add theirs
# with +=) under valgrind with CK_FORK=no (Check's fork would hide the
# tests from valgrind) through libtool --mode=execute (so valgrind sees
# the real binary, not libtool's wrapper script); it fails on any valgrind
# error, definite or indirect leak, or failing test.  Logs:
# <program>.valgrind.log in the build tree.

TEST_EXTENSIONS = .sh .tap
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/tests/drivers/tap-driver.sh
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/drivers/tap-wrap.sh
TAP_LOG_DRIVER = $(LOG_DRIVER)
TAP_LOG_COMPILER = $(SHELL)
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/tests/drivers/test-driver
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CK_TAP_LOG_FILE_NAME=-; export CK_TAP_LOG_FILE_NAME; \
	top_builddir='$(top_builddir)'; export top_builddir; \
	top_srcdir='$(top_srcdir)'; export top_srcdir;

EXTRA_DIST += tests/drivers/tap-driver.sh tests/drivers/tap-wrap.sh \
	tests/drivers/test-driver

# check-valgrind: each fragment adds its programs that are safe and quick
# under valgrind to VALGRIND_TESTS.
VALGRIND_FLAGS = --quiet --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=1
CLEANFILES += $(VALGRIND_TESTS:=.valgrind.log)

check-valgrind: $(VALGRIND_TESTS)
	@if test -z "$(VALGRIND)"; then \
	  echo "check-valgrind: valgrind not found (install it, re-run configure)" >&2; \
	  exit 1; \
	fi; \
	failed=0; \
	for t in $(VALGRIND_TESTS); do \
	  log=$$t.valgrind.log; \
	  if CK_FORK=no $(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_FLAGS) \
	       ./$$t >$$log 2>&1; then \
	    echo "PASS: $$t (valgrind)"; \
	  else \
	    echo "FAIL: $$t (valgrind), see $$log:"; \
	    tail -n 40 $$log; \
	    failed=1; \
	  fi; \
	done; \
	exit $$failed

.PHONY: check-valgrind

# larsd end to end (tests/test_larsd.c and a file a theme: larsd_*.c).
#
# A Check program that runs the built daemon (src/larsd/larsd, the libtool
# wrapper, which execs the real binary in the same process) with temporary
# configs, socket activation and a private NOTIFY_SOCKET.  Its TAP output
# goes through the LOG_DRIVER set up in tests/local.mk.  Parallel-safe: no
# fixed ports, every file under its own mkdtemp() directory.

check_PROGRAMS += tests/test_larsd
TESTS += tests/test_larsd

tests_test_larsd_SOURCES = tests/test_larsd.c tests/larsd_tests.h \
	tests/larsd_echo.c tests/larsd_conf.c tests/larsd_signals.c \
	tests/larsd_activation.c tests/larsd_limits.c tests/larsd_control.c \
	tests/larsd_larsctl.c tests/larsd_stamp.c tests/larsd_stamp_modes.c \
	tests/larsd_sessions.c \
	tests/larsd_io_backend.c $(LARSD_HARNESS)
tests_test_larsd_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/stamp \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DLARSCTL_PATH='"$(abs_top_builddir)/src/larsctl/larsctl"' \
	-DRELAY_PATH='"$(abs_top_builddir)/tests/impair/impair-relay"'
# larsd_stamp_modes.c signs packets with Nettle's HMAC itself.
tests_test_larsd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_test_larsd_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) $(NETTLE_LIBS)
# The tests run the daemon: build it first.
EXTRA_tests_test_larsd_DEPENDENCIES = src/larsd/larsd src/larsctl/larsctl tests/impair/impair-relay

# larsd's memory contract (src/larsd/tcp.h): every scenario on each
# backend, epoll and io_uring, through the same code; and, on io_uring
# alone, what larsd does when the kernel refuses it (its rings at start,
# requests, the buffer ring's registration), the last two through a fault
# shim preloaded into larsd, tests/harness/fault_uring.c (built in
# tests/harness/local.mk; without liburing those cases skip).
check_PROGRAMS += tests/test_contract
TESTS += tests/test_contract
tests_test_contract_SOURCES = tests/test_contract.c $(LARSD_HARNESS)
tests_test_contract_CPPFLAGS = $(TEST_CPPFLAGS) \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DFAULT_URING_PATH='"$(abs_top_builddir)/tests/harness/libfault_uring.so"'
tests_test_contract_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_contract_LDADD = $(CHECK_LIBS)
EXTRA_tests_test_contract_DEPENDENCIES = src/larsd/larsd $(FAULT_URING_SO)

# larsd-bench end to end: tests/test_larsd_bench.c runs the built larsd-bench against
# the built larsd (through tests/harness/larsd_harness.c, on free loopback ports)
# and against misbehaving servers on its own threads, and unit-tests the
# latency histogram.  Parallel-safe.
check_PROGRAMS += tests/test_larsd_bench
TESTS += tests/test_larsd_bench
tests_test_larsd_bench_SOURCES = tests/test_larsd_bench.c tests/harness/bench_util.h $(LARSD_HARNESS) \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h
tests_test_larsd_bench_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd-bench \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DLARSD_BENCH_PATH='"$(abs_top_builddir)/src/larsd-bench/larsd-bench"'
tests_test_larsd_bench_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_larsd_bench_LDADD = $(CHECK_LIBS) -lm
EXTRA_tests_test_larsd_bench_DEPENDENCIES = src/larsd/larsd \
	src/larsd-bench/larsd-bench

# ... and end to end: the real larsd in a fake cgroup (root only).
TESTS += tests/larsd_cgroup.sh
EXTRA_DIST += tests/larsd_cgroup.sh
# larsd-bench --stamp end to end: tests/test_larsd_bench_stamp.c runs the
# Session-Sender against larsd's mode = "stamp" reflector in each of its
# modes (TWAMP-Light, authenticated, TLVs, stateful) and against reflectors
# of its own (built on src/stamp's wire module) that duplicate, reorder,
# drop, lose packets each way with their own numbers, answer short, go
# away for a while, or are no reflector at all; and unit-tests
# stamp_stats.c's signed distributions and stamp_clock.c.  Parallel-safe.
check_PROGRAMS += tests/test_larsd_bench_stamp
TESTS += tests/test_larsd_bench_stamp
tests_test_larsd_bench_stamp_SOURCES = tests/test_larsd_bench_stamp.c tests/harness/bench_util.h \
	$(LARSD_HARNESS) src/larsd-bench/stamp_stats.c src/larsd-bench/stamp_stats.h \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h
tests_test_larsd_bench_stamp_CPPFLAGS = $(tests_test_larsd_bench_CPPFLAGS) \
	-I$(top_srcdir)/src/stamp
tests_test_larsd_bench_stamp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_larsd_bench_stamp_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) -lm
EXTRA_tests_test_larsd_bench_stamp_DEPENDENCIES = $(EXTRA_tests_test_larsd_bench_DEPENDENCIES)

# larsd's STAMP reflector against an independent sender, scapy's
# (scapy.contrib.stamp, Debian's python3-scapy) under /usr/bin/python3;
# a TAP skip where scapy is missing.  Runs the built larsd.
TESTS += tests/stamp_scapy.tap
EXTRA_DIST += tests/stamp_scapy.tap tests/stamp_scapy.py

# larsd-bench --stamp against a reflector built with scapy's STAMP packets
# (not with the wire module larsd-bench shares with larsd), the packets
# checked field by field on the way in; a TAP skip where scapy is missing.
TESTS += tests/stamp_sender_scapy.tap
EXTRA_DIST += tests/stamp_sender_scapy.tap tests/stamp_sender_scapy.py
