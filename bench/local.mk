# bench: the speed benchmark of libbufpool (see bench/README.md).
# `make` builds bench/bufpool_bench; bench/bufpool-bench runs it.
#
# The program links libbufpool statically (libtool's -static: uninstalled
# libtool libraries are linked from their .a).  That makes it a real binary,
# not a libtool wrapper script, so LD_PRELOAD, perf and valgrind see the
# benchmark itself, and it runs from any build dir without LD_LIBRARY_PATH.
# LD_PRELOADed allocators still replace malloc: libc stays a shared library.
noinst_PROGRAMS += bench/bufpool_bench
bench_bufpool_bench_SOURCES = bench/bufpool_bench.c bench/orig_pool.c \
	bench/orig_pool.h
bench_bufpool_bench_LDFLAGS = -static
bench_bufpool_bench_LDADD = lib/libbufpool.la
EXTRA_DIST += bench/bufpool-bench bench/README.md

# bench/results: the runs behind bench/README.md's table, one file a topic
# and date, the methods in detail and the history.
EXTRA_DIST += \
	bench/results/methods.md \
	bench/results/2026-11-pool.md \
	bench/results/2026-12-pool-0.3.0.md \
	bench/results/2026-12-echo.md \
	bench/results/2026-12-echo-lars-mode.md \
	bench/results/2026-12-echo-workers.md \
	bench/results/2026-12-echo-io_uring.md \
	bench/results/2026-12-echo-scaling.md \
	bench/results/history-echo-profile.md \
	bench/results/2026-12-stamp.md \
	bench/results/2026-12-sessions.md

# bench/echo: echo servers compared (see bench/README.md, "Echo servers").
# textbook-echo and textbook-uring are the floors (one thread each, epoll
# and io_uring); idle-conns holds idle TCP connections and finds free
# loopback ports.  echo-report.awk prints the tables, echo-chart.gp draws.
noinst_PROGRAMS += bench/textbook-echo bench/idle-conns
bench_textbook_echo_SOURCES = bench/textbook-echo.c bench/textbook.c bench/textbook.h
bench_idle_conns_SOURCES = bench/idle-conns.c
if HAVE_LIBURING
noinst_PROGRAMS += bench/textbook-uring
bench_textbook_uring_SOURCES = bench/textbook-uring.c bench/textbook.c bench/textbook.h
bench_textbook_uring_CFLAGS = $(AM_CFLAGS) $(LIBURING_CFLAGS)
bench_textbook_uring_LDADD = $(LIBURING_LIBS)
endif
EXTRA_DIST += bench/sessions bench/echo bench/echo-report.awk bench/echo-chart.gp bench/bench-lib.sh \
	bench/echo.svg bench/echo-results.raw bench/echo-fixes.raw bench/backend-memory

# bench/stamp: larsd's STAMP reflector against its UDP echo, and its
# residence time under paced load (see bench/README.md, "STAMP").
EXTRA_DIST += bench/stamp
