#!/bin/sh
# tap-wrap.sh - LOG_COMPILER of the extension-less tests (tests/local.mk).
#
# Runs one test program for tap-driver.sh.  A Check program prints TAP
# itself (CK_TAP_LOG_FILE_NAME=-): its output and exit status pass through
# untouched.  Any other program (an example, a plain C test) is an
# exit-status test: its output becomes TAP comments and its status one
# result, as automake's test-driver reads it: 0 pass, 77 skip, 99 hard
# error, anything else (a signal too) fail.  A Check program that dies
# before printing its plan is reported the same way.
#
# Usage: tap-wrap.sh PROGRAM [ARG]...

if test $# -eq 0; then
	echo "usage: tap-wrap.sh PROGRAM [ARG]..." >&2
	exit 99
fi
out=$(mktemp "${TMPDIR:-/tmp}/tap-wrap.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT
"$@" >"$out"
status=$?

if grep -q '^1\.\.[0-9]' "$out"; then
	cat "$out"
	exit $status
fi

sed 's/^/# /' "$out"
name=${1##*/}
case $status in
0)
	echo "1..1"
	echo "ok 1 - $name"
	;;
77)
	echo "1..0 # SKIP $name"
	;;
99)
	echo "Bail out! $name: hard error (exit status 99)"
	;;
*)
	echo "1..1"
	echo "not ok 1 - $name (exit status $status)"
	;;
esac
exit 0
