# The STAMP wire format (RFC 8762/8972 packet layouts, timestamp formats,
# TLVs, the authenticated mode's HMAC with Nettle), and the host clock's
# Error Estimate (stamp_clock.c, ntp_adjtime),
# a convenience library linked into larsd (the Session-Reflector) and
# larsd-bench (the Session-Sender); its Check suites are
# tests/unit/test_stamp_wire (layouts, timestamps, HMAC, key files) and
# tests/unit/test_stamp_tlv (TLVs).
# Included from Makefile.am before the programs that link it.
noinst_LTLIBRARIES += src/stamp/libstampwire.la
src_stamp_libstampwire_la_SOURCES = \
	src/stamp/stamp_wire.c src/stamp/stamp_wire.h \
	src/stamp/stamp_tlv.c src/stamp/stamp_tlv.h \
	src/stamp/stamp_hmac.c src/stamp/stamp_hmac.h \
	src/stamp/stamp_key.c src/stamp/stamp_key.h \
	src/stamp/stamp_clock.c src/stamp/stamp_clock.h
src_stamp_libstampwire_la_CFLAGS = $(AM_CFLAGS) $(NETTLE_CFLAGS)
src_stamp_libstampwire_la_LIBADD = $(NETTLE_LIBS)

check_PROGRAMS += tests/unit/test_stamp_wire tests/unit/test_stamp_tlv
TESTS += tests/unit/test_stamp_wire tests/unit/test_stamp_tlv
VALGRIND_TESTS += tests/unit/test_stamp_wire tests/unit/test_stamp_tlv
# Both also call Nettle directly, to check stamp_hmac.c against it.
tests_unit_test_stamp_wire_SOURCES = tests/unit/test_stamp_wire.c $(TEST_UTIL)
tests_unit_test_stamp_wire_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/stamp
tests_unit_test_stamp_wire_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_unit_test_stamp_wire_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) $(NETTLE_LIBS)
tests_unit_test_stamp_tlv_SOURCES = tests/unit/test_stamp_tlv.c $(TEST_UTIL)
tests_unit_test_stamp_tlv_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/stamp
tests_unit_test_stamp_tlv_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NETTLE_CFLAGS)
tests_unit_test_stamp_tlv_LDADD = src/stamp/libstampwire.la $(CHECK_LIBS) $(NETTLE_LIBS)
