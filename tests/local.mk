# tests/local.mk: how `make check` runs a test (the drivers) and
# `make check-valgrind`.  The tests are in folders by kind; each folder
# with something to build has its own local.mk:
#
#   unit/      a Check suite a module, no daemon (tests/unit/test_*)
#   e2e/       the built larsd, larsctl and larsd-bench on loopback
#              (tests/e2e/test_*, larsd_cgroup.sh)
#   interop/   against scapy's STAMP, not ours (*.tap)
#   abi/       libbufpool's exported symbols and ABI
#   harness/   what the test programs share; no tests
#   drivers/   the test drivers below
#   impair/    the impairment relay the session tests measure through
#   stress/    fault and load tests (make check-stress, not make check)
#
# and, outside make: fuzz/, fresh/, package/, reproducible/, scaleout/
# (stages of tests/run-all), tests/sanitize and tests/debroot.sh.  One
# program: make check TESTS=tests/unit/test_pool (a name from TESTS).
#
# Drivers, chosen by the test's extension (TEST_EXTENSIONS):
#  - no extension: compiled programs ($(EXEEXT) is empty here), run by
#    automake's tap-driver.sh (LOG_DRIVER) through tests/drivers/tap-wrap.sh
#    (LOG_COMPILER).  Check programs print TAP on stdout
#    (CK_TAP_LOG_FILE_NAME=-), so `make check` shows one PASS/FAIL line per
#    Check test; tap-wrap.sh passes that through.  A program that prints
#    no TAP (an example, a plain C test) is judged by its exit status as
#    automake's test-driver would (0 pass, 77 skip, 99 error), so both
#    kinds share TESTS: just `check_PROGRAMS += x` and `TESTS += x`.
#    The exit status counts too (no --ignore-exit): a Check program exits
#    1 when a test failed, so a failure reads FAIL plus an ERROR for its
#    program, and a crash after the plan is still caught.
#  - .sh: plain shell tests through automake's test-driver (SH_LOG_DRIVER):
#    exit 0 pass, 77 skip, 99 hard error, anything else fail.
#  - .tap: shell scripts that print TAP themselves (TAP_LOG_DRIVER).
# The driver scripts are kept in tests/drivers/, so the build does not
# depend on what automake happened to copy into build-aux/.
#
# Tests run from the top build directory and must be parallel-safe
# (`make -j2 check`): no fixed ports, no shared files.
#
# `make check-valgrind` runs $(VALGRIND_TESTS) (the fragments add theirs
# with +=) under valgrind with CK_FORK=no (Check's fork would hide the
# tests from valgrind) through libtool --mode=execute (so valgrind sees
# the real binary, not libtool's wrapper script); it fails on any valgrind
# error, definite or indirect leak, or failing test.  Logs:
# <program>.valgrind.log in the build tree.

TEST_EXTENSIONS = .sh .tap
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/tests/drivers/tap-driver.sh
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/drivers/tap-wrap.sh
TAP_LOG_DRIVER = $(LOG_DRIVER)
TAP_LOG_COMPILER = $(SHELL)
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/tests/drivers/test-driver
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CK_TAP_LOG_FILE_NAME=-; export CK_TAP_LOG_FILE_NAME; \
	top_builddir='$(top_builddir)'; export top_builddir; \
	top_srcdir='$(top_srcdir)'; export top_srcdir;

EXTRA_DIST += tests/drivers/tap-driver.sh tests/drivers/tap-wrap.sh \
	tests/drivers/test-driver

# check-valgrind: VALGRIND_TESTS are the programs that are safe and quick
# under valgrind.
VALGRIND_FLAGS = --quiet --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=1
CLEANFILES += $(VALGRIND_TESTS:=.valgrind.log)

check-valgrind: $(VALGRIND_TESTS)
	@if test -z "$(VALGRIND)"; then \
	  echo "check-valgrind: valgrind not found (install it, re-run configure)" >&2; \
	  exit 1; \
	fi; \
	failed=0; \
	for t in $(VALGRIND_TESTS); do \
	  log=$$t.valgrind.log; \
	  if CK_FORK=no $(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_FLAGS) \
	       ./$$t >$$log 2>&1; then \
	    echo "PASS: $$t (valgrind)"; \
	  else \
	    echo "FAIL: $$t (valgrind), see $$log:"; \
	    tail -n 40 $$log; \
	    failed=1; \
	  fi; \
	done; \
	exit $$failed

.PHONY: check-valgrind
