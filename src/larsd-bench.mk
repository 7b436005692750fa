# larsd-bench: the load generator and latency meter (bin), its page and tests.
# Included from Makefile.am.
bin_PROGRAMS += src/larsd-bench/larsd-bench
src_larsd_bench_larsd_bench_SOURCES = \
	src/larsd-bench/main.c \
	src/larsd-bench/options.c src/larsd-bench/options.h \
	src/larsd-bench/worker.c src/larsd-bench/worker.h \
	src/larsd-bench/client_tcp.c \
	src/larsd-bench/client_udp.c \
	src/larsd-bench/payload.c src/larsd-bench/payload.h \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h \
	src/larsd-bench/report.c src/larsd-bench/report.h \
	src/larsd-bench/procstat.c src/larsd-bench/procstat.h \
	src/larsd-bench/clock.h

dist_man_MANS += man/larsd-bench.1

# End to end: tests/test_larsd_bench.c runs the built larsd-bench against
# the built larsd (through tests/larsd_harness.c, on free loopback ports)
# and against misbehaving servers on its own threads, and unit-tests the
# latency histogram.  Parallel-safe.
check_PROGRAMS += tests/test_larsd_bench
TESTS += tests/test_larsd_bench
tests_test_larsd_bench_SOURCES = tests/test_larsd_bench.c \
	tests/larsd_harness.c tests/larsd_harness.h \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h
tests_test_larsd_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/larsd-bench \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"' \
	-DLARSD_BENCH_PATH='"$(abs_top_builddir)/src/larsd-bench/larsd-bench"'
tests_test_larsd_bench_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_larsd_bench_LDADD = $(CHECK_LIBS) -lm
EXTRA_tests_test_larsd_bench_DEPENDENCIES = src/larsd/larsd \
	src/larsd-bench/larsd-bench
