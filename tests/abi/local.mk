# tests/abi/local.mk: libbufpool's boundary, as its users see it.
#
#  - test_symbols.sh: the shared library exports only bufpool_* and
#    io_buf_* (nm -D).
#  - test_abi_old: the ABI only grows: a program built against libbufpool
#    0.1.0's header (kept in tests/abi/0.1.0/) runs against this tree's
#    library.  Its own CPPFLAGS replace AM_CPPFLAGS, so lib/ is not on the
#    include path.
#  - check (not in make check; the abi stage of tests/run-all): abidiff of
#    the built library against the released ABIs in tests/abi/VERSION/.
TESTS += tests/abi/test_symbols.sh
EXTRA_DIST += tests/abi/test_symbols.sh

check_PROGRAMS += tests/abi/test_abi_old
TESTS += tests/abi/test_abi_old
tests_abi_test_abi_old_SOURCES = tests/abi/test_abi_old.c
tests_abi_test_abi_old_CPPFLAGS = -I$(top_srcdir)/tests/abi/0.1.0 -I$(top_builddir)
tests_abi_test_abi_old_LDADD = lib/libbufpool.la
EXTRA_DIST += tests/abi/0.1.0/bufpool.h tests/abi/0.1.0/libbufpool.abi \
	tests/abi/0.2.0/libbufpool.abi tests/abi/opaque.suppr tests/abi/check
