# tests/stress/local.mk: fault and load tests, `make check-stress`.
#
# Heavier than the unit tests (about two minutes, 1000 sockets, floods), so
# they are not in TESTS and `make check` (the package build) neither builds
# nor runs them: they are EXTRA_PROGRAMS, built on demand by check-stress,
# which runs them through tests/stress/runner (TAP lines with the figures
# as "# " comments, a PASS/FAIL line per program, logs in tests/stress/).
# tests/stress/run does the whole thing from a checkout (CI).
#
#  - stress_larsd: a Check suite, one case per scenario, each starting its
#    own larsd on loopback through tests/harness/larsd_harness.c.
#    One case: make check-stress STRESS_CASE=udp_flood.
#  - stress_pool: plain C with TAP, two threads against libbufpool at
#    MEM_LIMIT (STRESS_POOL_SECONDS, default 10).

STRESS_BINS = tests/stress/stress_pool tests/stress/stress_larsd
EXTRA_PROGRAMS = $(STRESS_BINS)
CLEANFILES += $(STRESS_BINS) tests/stress/*.log tests/stress/figures.txt
EXTRA_DIST += tests/stress/runner tests/stress/run docs/reliability.md

tests_stress_stress_pool_SOURCES = tests/stress/stress_pool.c
tests_stress_stress_pool_LDADD = lib/libbufpool.la -lpthread

tests_stress_stress_larsd_SOURCES = tests/stress/stress_larsd.c \
	tests/stress/st_memory.c tests/stress/st_flood.c tests/stress/st_malformed.c \
	tests/stress/st_signals.c tests/stress/st_guard.c tests/stress/st_cpuwait.c \
	tests/stress/st_control.c tests/stress/st_ratelimit.c \
	tests/stress/stress_util.c \
	tests/stress/stress.h tests/stress/stress_cases.h $(LARSD_HARNESS)
tests_stress_stress_larsd_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/src/stamp \
	-DLARSD_PATH='"$(abs_top_builddir)/src/larsd/larsd"'
tests_stress_stress_larsd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_stress_stress_larsd_LDADD = $(CHECK_LIBS) -lpthread

check-stress: $(STRESS_BINS) src/larsd/larsd
	@$(SHELL) $(top_srcdir)/tests/stress/runner $(STRESS_BINS)

.PHONY: check-stress
