# tests/conf.mk: the Check suite of larsd's configuration loader.
#
# conf.c is compiled into the test directly (no larsd library), so the test
# sees exactly the daemon's parser.  TOP_SRCDIR lets the test load the
# shipped etc/larsd.conf from the source tree in any build directory.
# Drivers and TAP set-up come from tests/local.mk.

check_PROGRAMS += tests/test_conf
TESTS += tests/test_conf
VALGRIND_TESTS += tests/test_conf

tests_test_conf_SOURCES = tests/test_conf.c src/larsd/conf.c src/larsd/conf.h
tests_test_conf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/larsd \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_test_conf_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_test_conf_LDADD = lib/libbufpool.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)
