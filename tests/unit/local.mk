# tests/unit/local.mk: the unit tests, a Check suite each for one module
# compiled in or linked, no daemon running: libbufpool (the pool, io_buf,
# threads, chains, shared buffers, pressure, poisoning), larsd's
# configuration loader, memory watch and systemd protocols, its TCP core
# through its data plane (test_dataplane), larsctl's output.  The STAMP wire
# module's suites (test_stamp_wire, test_stamp_tlv) are listed in
# src/stamp/local.mk and the sessions' books (test_session) in
# src/larsd/local.mk, beside what they test; their sources are here too.
# The helpers they share are in tests/harness/ (tests/local.mk).

# libbufpool unit tests: they share the pool helpers of
# tests/harness/testutil_pool.c.
BUFPOOL_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
BUFPOOL_TEST_LDADD = lib/libbufpool.la $(CHECK_LIBS)
BUFPOOL_TEST_UTIL = $(TEST_UTIL) tests/harness/testutil_pool.c \
	tests/harness/testutil_pool.h

check_PROGRAMS += tests/unit/test_pool tests/unit/test_iobuf \
	tests/unit/test_threads
TESTS += tests/unit/test_pool tests/unit/test_iobuf tests/unit/test_threads
VALGRIND_TESTS += tests/unit/test_pool tests/unit/test_iobuf \
	tests/unit/test_threads

tests_unit_test_pool_SOURCES = tests/unit/test_pool.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_pool_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pool_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_pool_LDADD = $(BUFPOOL_TEST_LDADD)

tests_unit_test_iobuf_SOURCES = tests/unit/test_iobuf.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_iobuf_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_iobuf_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_iobuf_LDADD = $(BUFPOOL_TEST_LDADD)

tests_unit_test_threads_SOURCES = tests/unit/test_threads.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_threads_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_threads_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_threads_LDADD = $(BUFPOOL_TEST_LDADD)

# libbufpool 0.3.0: chains for scatter/gather I/O, shared buffers, memory
# pressure, and use after revert caught in checking builds.
check_PROGRAMS += tests/unit/test_chain tests/unit/test_share \
	tests/unit/test_pressure tests/unit/test_poison
TESTS += tests/unit/test_chain tests/unit/test_share \
	tests/unit/test_pressure tests/unit/test_poison
VALGRIND_TESTS += tests/unit/test_chain tests/unit/test_share \
	tests/unit/test_pressure

tests_unit_test_chain_SOURCES = tests/unit/test_chain.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_chain_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_chain_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_chain_LDADD = $(BUFPOOL_TEST_LDADD)

tests_unit_test_share_SOURCES = tests/unit/test_share.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_share_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_share_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_share_LDADD = $(BUFPOOL_TEST_LDADD)

tests_unit_test_pressure_SOURCES = tests/unit/test_pressure.c \
	$(BUFPOOL_TEST_UTIL)
tests_unit_test_pressure_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pressure_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_pressure_LDADD = $(BUFPOOL_TEST_LDADD)

tests_unit_test_poison_SOURCES = tests/unit/test_poison.c $(BUFPOOL_TEST_UTIL)
tests_unit_test_poison_CPPFLAGS = $(TEST_CPPFLAGS) \
	-DVALGRIND_PATH='"$(VALGRIND)"'
tests_unit_test_poison_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_poison_LDADD = $(BUFPOOL_TEST_LDADD)

# The same test against a copy of the library built with valgrind's client
# requests (--enable-valgrind-poison's code, in a convenience library that
# is never installed): a write after revert under valgrind is reported.
if HAVE_MEMCHECK
check_LTLIBRARIES = tests/unit/libbufpool_vgpoison.la
tests_unit_libbufpool_vgpoison_la_SOURCES = $(lib_libbufpool_la_SOURCES)
tests_unit_libbufpool_vgpoison_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBUFPOOL_VALGRIND_POISON=1
tests_unit_libbufpool_vgpoison_la_CFLAGS = $(lib_libbufpool_la_CFLAGS)
check_PROGRAMS += tests/unit/test_poison_vg
TESTS += tests/unit/test_poison_vg
tests_unit_test_poison_vg_SOURCES = tests/unit/test_poison.c \
	$(BUFPOOL_TEST_UTIL)
tests_unit_test_poison_vg_CPPFLAGS = $(tests_unit_test_poison_CPPFLAGS) \
	-DBUFPOOL_VALGRIND_POISON=1
tests_unit_test_poison_vg_CFLAGS = $(BUFPOOL_TEST_CFLAGS)
tests_unit_test_poison_vg_LDADD = tests/unit/libbufpool_vgpoison.la \
	$(CHECK_LIBS) $(LIBS)
endif

# the Check suite of larsd's configuration loader.
#
# conf.c is compiled into the test directly (no larsd library), so the test
# sees exactly the daemon's parser.  TOP_SRCDIR lets the test load the
# shipped etc/larsd.conf from the source tree in any build directory.
check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
VALGRIND_TESTS += tests/unit/test_conf

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c \
	src/larsd/conf.c src/larsd/conf.h \
	src/stamp/stamp_key.c src/stamp/stamp_key.h \
	$(TEST_UTIL)
tests_unit_test_conf_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd \
	-I$(top_srcdir)/src/stamp -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_conf_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_unit_test_conf_LDADD = lib/libbufpool.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

# larsctl's output of "stats sessions" in text, JSON and Prometheus
# (src/larsctl/sessions.c), from a canned reply: no larsd.  JSON through
# python3 and the exposition through promtool where they are installed.
check_PROGRAMS += tests/unit/test_larsctl_format
TESTS += tests/unit/test_larsctl_format
VALGRIND_TESTS += tests/unit/test_larsctl_format
tests_unit_test_larsctl_format_SOURCES = tests/unit/test_larsctl_format.c \
	src/larsctl/format.c src/larsctl/reply.c src/larsctl/sessions.c $(TEST_UTIL)
tests_unit_test_larsctl_format_CPPFLAGS = $(TEST_CPPFLAGS) \
	-I$(top_srcdir)/src/larsctl -I$(top_srcdir)/src/larsd
tests_unit_test_larsctl_format_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_larsctl_format_LDADD = $(CHECK_LIBS)

# larsd's memory watch (src/larsd/memwatch.c, compiled in with the log it
# writes to): the cgroup reader on fake /proc and /sys trees.  Its end to
# end test, the real larsd in a fake cgroup, is tests/e2e/larsd_cgroup.sh.
check_PROGRAMS += tests/unit/test_memwatch
TESTS += tests/unit/test_memwatch
VALGRIND_TESTS += tests/unit/test_memwatch
tests_unit_test_memwatch_SOURCES = tests/unit/test_memwatch.c \
	src/larsd/memwatch.c src/larsd/memwatch.h \
	src/larsd/log.c src/larsd/log.h $(TEST_UTIL)
tests_unit_test_memwatch_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd
tests_unit_test_memwatch_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_memwatch_LDADD = lib/libbufpool.la $(CHECK_LIBS)

# larsd's side of systemd's notification and socket activation protocols
# (src/larsd/notify.c, compiled in).
check_PROGRAMS += tests/unit/test_notify
TESTS += tests/unit/test_notify
VALGRIND_TESTS += tests/unit/test_notify
tests_unit_test_notify_SOURCES = tests/unit/test_notify.c $(TEST_UTIL) \
	src/larsd/notify.c src/larsd/notify.h
tests_unit_test_notify_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd
tests_unit_test_notify_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_notify_LDADD = $(CHECK_LIBS)

# larsd's TCP core and its buffer policy on the epoll data path, compiled
# in and driven through their narrow context (src/larsd/dataplane.h): the
# test is the worker, with a real loop, pool and sockets.
check_PROGRAMS += tests/unit/test_dataplane
TESTS += tests/unit/test_dataplane
VALGRIND_TESTS += tests/unit/test_dataplane
tests_unit_test_dataplane_SOURCES = tests/unit/test_dataplane.c $(TEST_UTIL) \
	src/larsd/tcp.c src/larsd/tcp.h src/larsd/tcp_conn.h src/larsd/tcp_buf.c \
	src/larsd/tcp_epoll.c src/larsd/dataplane.h src/larsd/guard.c src/larsd/guard.h \
	src/larsd/loop.c src/larsd/loop_epoll.c src/larsd/loop.h \
	src/larsd/log.c src/larsd/log.h
tests_unit_test_dataplane_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/larsd \
	-I$(top_srcdir)/src/stamp
tests_unit_test_dataplane_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_unit_test_dataplane_LDADD = src/lars/liblars.la lib/libbufpool.la $(CHECK_LIBS)
