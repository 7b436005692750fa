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
# booted machine of its own (isolation-machine; where autopkgtest no
# longer assumes that of null, --ignore-restrictions says it): the service test talks
# to the real larsd.service under the container's systemd.  The test
# dependencies are installed by autopkgtest from the given debs and the
# apt cache filled before boot (the container has no network).

# dep8_run DIR: DIR holds the source package and the debs, inside $root.
dep8_run() {
	local dir=$1 out rc name result line t0 ignore=""
	t0=$(date +%s)
	# autopkgtest 5.28 (Debian 12) has its null runner claim
	# isolation-machine; later ones (5.49 in Debian 13) claim no isolation
	# (and null's --fake-capability isolation-machine trips an assertion
	# of 5.49 on its scratch folder), so the service test would be skipped.
	# The container is a booted machine of its own: say so to autopkgtest
	# with --ignore-restrictions, which runs the test as it is.
	if ! grep -q "'isolation-machine'" "$root/usr/bin/autopkgtest-virt-null"; then
		ignore="--ignore-restrictions=isolation-container,isolation-machine"
	fi
	out=$(cx 600 sh -c "cd $dir && autopkgtest --output-dir /root/dep8-out $ignore \
		--no-built-binaries ./lars_*.dsc ./*.deb -- null" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$work/autopkgtest.log"
	# autopkgtest's summary has a line "NAME RESULT [reason]" for each test
	# of debian/tests/control; a test without one did not run.
	local log=$root/root/dep8-out/log
	# shellcheck disable=SC2013 # one Tests: field may name several tests
	for name in $(sed -n 's/^Tests: *//p' "$top/debian/tests/control"); do
		# (autopkgtest 5.49 starts each line of its log with the seconds
		# since it began: " 20s ")
		line=$(sed -n '/@@@@@@@@@@@@@@@@@@@@ summary/,$p' "$log" 2>/dev/null |
			sed -E 's/^ *[0-9]+s //' | grep -m 1 "^$name ")
		result=$(printf '%s\n' "$line" | awk '{ print $2 }')
		if [ "$result" = PASS ]; then
			indent <"$root/root/dep8-out/$name-stdout"
			pass "dep8: autopkgtest $name: PASS"
		else
			cat "$root/root/dep8-out/$name-stdout" "$root/root/dep8-out/$name-stderr" \
				2>/dev/null | tail -n 30 | indent
			fail "dep8: autopkgtest $name: ${line:-no result}"
		fi
	done
	if [ $rc = 0 ]; then
		pass "dep8: autopkgtest $(cx 5 dpkg-query -W -f='${Version}' autopkgtest) ${dir}/lars_*.dsc + $(find "$root$dir" -name '*.deb' | wc -l) debs${ignore:+ $ignore} -- null: exit 0 ($(($(date +%s) - t0)) s)"
	else
		printf '%s\n' "$out" | grep -v '^ *$' | tail -n 30 | indent
		fail "dep8: autopkgtest exit status $rc"
	fi
}
