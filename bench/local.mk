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

# bench/echo: echo servers compared (see bench/README.md, "Echo servers").
# textbook-echo is the baseline server (one thread, level-triggered epoll);
# idle-conns holds idle TCP connections and finds free loopback ports.
noinst_PROGRAMS += bench/textbook-echo bench/idle-conns
bench_textbook_echo_SOURCES = bench/textbook-echo.c
bench_idle_conns_SOURCES = bench/idle-conns.c
EXTRA_DIST += bench/echo
