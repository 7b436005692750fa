# shellcheck shell=bash disable=SC2154 # top, t, root, work: set by tests/package/run
# tests/package/dep8.sh - the DEP-8 tests (debian/tests/) run by the real
# autopkgtest tool inside the booted container (sourced by
# tests/package/run, which gives cx, csh, pass, fail, indent and $root).
#
#   dep8_run DIR  autopkgtest DIR/lars_*.dsc DIR/*.deb -- null, as root in
#                 the container, on a system where lars is not installed
#                 (the run's purge left none); one PASS or FAIL per test
#                 from autopkgtest's summary, and a FAIL when autopkgtest
#                 exits non-zero.
#
# The null runner runs the tests on the container itself, which is a
# booted machine of its own (isolation-machine): the service test talks
# to the real larsd.service under the container's systemd.  The test
# dependencies are installed by autopkgtest from the given debs and the
# apt cache filled before boot (the container has no network).

# dep8_run DIR: DIR holds the source package and the debs, inside $root.
dep8_run() {
	local dir=$1 out rc name result line t0
	t0=$(date +%s)
	out=$(cx 600 sh -c "cd $dir && autopkgtest --output-dir /root/dep8-out \
		--no-built-binaries ./lars_*.dsc ./*.deb -- null" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$work/autopkgtest.log"
	# The summary: one "NAME RESULT [reason]" line per test, at the end.
	local summary
	summary=$(sed -n '/@@@@@@@@@@@@@@@@@@@@ summary/,$p' "$root/root/dep8-out/log" 2>/dev/null |
		sed 1d)
	if [ -z "$summary" ]; then
		printf '%s\n' "$out" | tail -n 30 | indent
		fail "dep8: autopkgtest gave no summary (exit $rc)"
		return 1
	fi
	while read -r name result line; do
		[ -n "$name" ] || continue
		if [ "$result" = PASS ]; then
			pass "dep8: autopkgtest $name: PASS"
		else
			sed -n "/^$name .*stdout\\|^$name .*stderr/,/^-----/p" \
				"$root/root/dep8-out/log" | tail -n 30 | indent
			fail "dep8: autopkgtest $name: $result ${line:-}"
		fi
	done <<<"$summary"
	if [ $rc = 0 ]; then
		pass "dep8: autopkgtest ${dir}/lars_*.dsc + $(find "$root$dir" -name '*.deb' | wc -l) debs -- null: exit 0 ($(($(date +%s) - t0)) s)"
	else
		printf '%s\n' "$out" | grep -v '^ *$' | tail -n 30 | indent
		fail "dep8: autopkgtest exit status $rc"
	fi
}
