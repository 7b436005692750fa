# larsd, the echo daemon
sbin_PROGRAMS += src/larsd/larsd
src_larsd_larsd_SOURCES = \
	src/larsd/main.c \
	src/larsd/control.c src/larsd/control.h \
	src/larsd/cpuwait.c src/larsd/cpuwait.h \
	src/larsd/ctlsock.c src/larsd/ctlsock.h \
	src/larsd/ctlcmd.c src/larsd/ctlcmd.h \
	src/larsd/ctlparse.c src/larsd/ctlparse.h \
	src/larsd/daemon.c src/larsd/daemon.h \
	src/larsd/memwatch.c src/larsd/memwatch.h \
	src/larsd/worker.c src/larsd/worker.h src/larsd/dataplane.h \
	src/larsd/loop.c src/larsd/loop_epoll.c src/larsd/loop.h \
	src/larsd/tcp.c src/larsd/tcp.h src/larsd/tcp_conn.h \
	src/larsd/tcp_buf.c src/larsd/tcp_epoll.c \
	src/larsd/udp.c src/larsd/udp.h \
	src/larsd/stamp.c src/larsd/stamp.h \
	src/larsd/ratelimit.c src/larsd/ratelimit.h \
	src/larsd/stamp_sessions.c src/larsd/stamp_sessions.h \
	src/larsd/measure.c src/larsd/measure.h \
	src/larsd/session.c src/larsd/session.h \
	src/larsd/session_hist.c src/larsd/session_hist.h \
	src/larsd/siphash.c src/larsd/siphash.h \
	src/larsd/listener.c src/larsd/listener.h src/larsd/sockaddr.h \
	src/larsd/conf.c src/larsd/conf.h \
	src/larsd/guard.c src/larsd/guard.h \
	src/larsd/notify.c src/larsd/notify.h \
	src/larsd/stats.c src/larsd/stats.h \
	src/larsd/log.c src/larsd/log.h src/larsd/clock.h
src_larsd_larsd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/stamp
src_larsd_larsd_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(LIBURING_CFLAGS) \
	$(NETTLE_CFLAGS)
src_larsd_larsd_LDADD = src/lars/liblars.la src/stamp/libstampwire.la lib/libbufpool.la $(LIBCONFIG_LIBS) $(LIBURING_LIBS)
# The io_uring backend: its loop and its TCP data path, with liburing only.
if HAVE_LIBURING
src_larsd_larsd_SOURCES += src/larsd/loop_uring.c src/larsd/loop_uring.h src/larsd/loop_uring_ring.h \
	src/larsd/loop_uring_bufs.c src/larsd/tcp_uring.c
endif

# The measuring sessions' books and histograms, without sockets or clocks.
check_PROGRAMS += tests/unit/test_session
TESTS += tests/unit/test_session
VALGRIND_TESTS += tests/unit/test_session
tests_unit_test_session_SOURCES = tests/unit/test_session.c $(TEST_UTIL) \
	src/larsd/session.c src/larsd/session.h src/larsd/session_hist.c src/larsd/session_hist.h
tests_unit_test_session_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd -I$(top_srcdir)/src/stamp
tests_unit_test_session_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_unit_test_session_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) -lm
