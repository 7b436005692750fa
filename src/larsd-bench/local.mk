# larsd-bench: the load generator and latency meter (bin); its page is in
# man/local.mk, its tests in tests/local.mk.
# Included from Makefile.am.
bin_PROGRAMS += src/larsd-bench/larsd-bench
src_larsd_bench_larsd_bench_SOURCES = \
	src/larsd-bench/main.c \
	src/larsd-bench/options.c src/larsd-bench/options.h \
	src/larsd-bench/worker.c src/larsd-bench/worker.h \
	src/larsd-bench/client_tcp.c src/larsd-bench/client_tcp.h \
	src/larsd-bench/client_tcp_frames.c \
	src/larsd-bench/client_udp.c src/larsd-bench/client_udp.h \
	src/larsd-bench/client_stamp.c \
	src/larsd-bench/stamp_stats.c src/larsd-bench/stamp_stats.h \
	src/larsd-bench/stamp_packet.c src/larsd-bench/stamp_packet.h \
	src/larsd-bench/payload.c src/larsd-bench/payload.h \
	src/larsd-bench/histogram.c src/larsd-bench/histogram.h \
	src/larsd-bench/report.c src/larsd-bench/report.h \
	src/larsd-bench/procstat.c src/larsd-bench/procstat.h \
	src/larsd-bench/clock.h

src_larsd_bench_larsd_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/stamp
src_larsd_bench_larsd_bench_CFLAGS = $(AM_CFLAGS) $(NETTLE_CFLAGS)
src_larsd_bench_larsd_bench_LDADD = src/lars/liblars.la src/stamp/libstampwire.la -lm
