# tests/larsd.mk: larsd end to end (tests/test_larsd.c).
#
# A Check program that runs the built daemon (src/larsd/larsd, the libtool
# wrapper, which execs the real binary in the same process) with temporary
# configs, socket activation and a private NOTIFY_SOCKET.  Its TAP output
# goes through the LOG_DRIVER set up in tests/local.mk.  Parallel-safe: no
# fixed ports, every file under its own mkdtemp() directory.

check_PROGRAMS += tests/test_larsd
TESTS += tests/test_larsd

tests_test_larsd_SOURCES = tests/test_larsd.c \
	tests/larsd_harness.c tests/larsd_harness.h
tests_test_larsd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"'
tests_test_larsd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_larsd_LDADD = $(CHECK_LIBS)
# The tests run the daemon: build it first.
EXTRA_tests_test_larsd_DEPENDENCIES = src/larsd/larsd
