# tests/e2e/local.mk: end to end, the built programs run as a user runs
# them: larsd (test_larsd, its memory contract test_contract, larsd in a
# fake cgroup larsd_cgroup.sh) and larsd-bench against larsd
# (test_larsd_bench, test_larsd_bench_stamp), through tests/harness/.
# Each test starts its own daemon on loopback.  Parallel-safe: no fixed
# ports, every file under its own mkdtemp() directory.

# larsd end to end: test_larsd.c holds main() and the checks its files
# share (larsd_tests.h); each larsd_*.c below adds the cases of a theme.
#
# A Check program that runs the built daemon (src/larsd/larsd, the libtool
# wrapper, which execs the real binary in the same process) with temporary
# configs, socket activation and a private NOTIFY_SOCKET.  Its TAP output
# goes through the LOG_DRIVER set up in tests/local.mk.
check_PROGRAMS += tests/e2e/test_larsd
TESTS += tests/e2e/test_larsd
tests_e2e_test_larsd_SOURCES = tests/e2e/test_larsd.c tests/e2e/larsd_tests.h \
	tests/e2e/larsd_echo.c tests/e2e/larsd_conf.c tests/e2e/larsd_signals.c \
	tests/e2e/larsd_activation.c tests/e2e/larsd_limits.c \
	tests/e2e/larsd_control.c tests/e2e/larsd_larsctl.c \
	tests/e2e/larsd_stamp.c tests/e2e/larsd_stamp_modes.c \
	tests/e2e/larsd_sessions.c tests/e2e/larsd_io_backend.c \
	$(LARSD_HARNESS)
tests_e2e_test_larsd_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/stamp \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DLARSCTL_PATH='"$(abs_top_builddir)/src/larsctl/larsctl"' \
	-DRELAY_PATH='"$(abs_top_builddir)/tests/impair/impair-relay"'
# larsd_stamp_modes.c signs packets with Nettle's HMAC itself.
tests_e2e_test_larsd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_e2e_test_larsd_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) \
	$(NETTLE_LIBS)
# The tests run the daemon: build it first.
EXTRA_tests_e2e_test_larsd_DEPENDENCIES = src/larsd/larsd \
	src/larsctl/larsctl tests/impair/impair-relay

# larsd's memory contract (src/larsd/tcp.h): every scenario on each
# backend, epoll and io_uring, through the same code; and, on io_uring
# alone, what larsd does when the kernel refuses it (its rings at start,
# requests, the buffer ring's registration), the last two through a fault
# shim preloaded into larsd, tests/harness/fault_uring.c (built in
# tests/harness/local.mk; without liburing those cases skip).
check_PROGRAMS += tests/e2e/test_contract
TESTS += tests/e2e/test_contract
tests_e2e_test_contract_SOURCES = tests/e2e/test_contract.c $(LARSD_HARNESS)
tests_e2e_test_contract_CPPFLAGS = $(TEST_CPPFLAGS) \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DFAULT_URING_PATH='"$(abs_top_builddir)/tests/harness/libfault_uring.so"'
tests_e2e_test_contract_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_test_contract_LDADD = $(CHECK_LIBS)
EXTRA_tests_e2e_test_contract_DEPENDENCIES = src/larsd/larsd $(FAULT_URING_SO)

# larsd's memory watch end to end: the real larsd in a fake cgroup (root
# only; its unit test is tests/unit/test_memwatch).
TESTS += tests/e2e/larsd_cgroup.sh
EXTRA_DIST += tests/e2e/larsd_cgroup.sh

# larsd-bench end to end: test_larsd_bench.c runs the built larsd-bench
# against the built larsd (through tests/harness/larsd_harness.c, on free
# loopback ports) and against misbehaving servers on its own threads, and
# unit-tests the latency histogram.
check_PROGRAMS += tests/e2e/test_larsd_bench
TESTS += tests/e2e/test_larsd_bench
tests_e2e_test_larsd_bench_SOURCES = tests/e2e/test_larsd_bench.c \
	tests/harness/bench_util.h $(LARSD_HARNESS) \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h
tests_e2e_test_larsd_bench_CPPFLAGS = $(TEST_CPPFLAGS) \
	-I$(top_srcdir)/src/larsd-bench \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DLARSD_BENCH_PATH='"$(abs_top_builddir)/src/larsd-bench/larsd-bench"'
tests_e2e_test_larsd_bench_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_test_larsd_bench_LDADD = $(CHECK_LIBS) -lm
EXTRA_tests_e2e_test_larsd_bench_DEPENDENCIES = src/larsd/larsd \
	src/larsd-bench/larsd-bench

# larsd-bench --stamp end to end: test_larsd_bench_stamp.c runs the
# Session-Sender against larsd's mode = "stamp" reflector in each of its
# modes (TWAMP-Light, authenticated, TLVs, stateful) and against reflectors
# of its own (built on src/stamp's wire module) that duplicate, reorder,
# drop, lose packets each way with their own numbers, answer short, go
# away for a while, or are no reflector at all; and unit-tests
# stamp_stats.c's signed distributions and stamp_clock.c.
check_PROGRAMS += tests/e2e/test_larsd_bench_stamp
TESTS += tests/e2e/test_larsd_bench_stamp
tests_e2e_test_larsd_bench_stamp_SOURCES = tests/e2e/test_larsd_bench_stamp.c \
	tests/harness/bench_util.h $(LARSD_HARNESS) \
	src/larsd-bench/stamp_stats.c src/larsd-bench/stamp_stats.h \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h
tests_e2e_test_larsd_bench_stamp_CPPFLAGS = \
	$(tests_e2e_test_larsd_bench_CPPFLAGS) -I$(top_srcdir)/src/stamp
tests_e2e_test_larsd_bench_stamp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_e2e_test_larsd_bench_stamp_LDADD = src/stamp/libstampwire.la \
	$(CHECK_LIBS) -lm
EXTRA_tests_e2e_test_larsd_bench_stamp_DEPENDENCIES = \
	$(EXTRA_tests_e2e_test_larsd_bench_DEPENDENCIES)
