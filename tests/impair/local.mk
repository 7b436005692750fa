# tests/impair/local.mk: impair-relay, a UDP relay that drops, duplicates,
# reorders and delays datagrams by a seeded schedule and reports exactly
# what it did (this kernel has no netem): the truth the STAMP session
# tests compare their counters with.  A check program, never installed;
# relay-selftest.sh runs it in front of a small UDP echo.

check_PROGRAMS += tests/impair/impair-relay
tests_impair_impair_relay_SOURCES = tests/impair/relay.c \
	tests/impair/opts.c tests/impair/opts.h \
	tests/impair/spec.c tests/impair/spec.h

TESTS += tests/impair/relay-selftest.sh
EXTRA_DIST += tests/impair/relay-selftest.sh
