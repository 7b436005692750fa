# bench-lib.sh - shell helpers of the benchmark scripts (bench/echo,
# bench/stamp), sourced after they set $tmp (a scratch directory, removed
# on exit): every process they start runs in its own process group and
# is stopped when the script ends, however it ends.
# shellcheck shell=bash

started=()        # process groups of everything we started

# Stop a process group: SIGTERM, then SIGKILL after 2 s.
stop_group() {
	local g=$1 i
	kill -TERM -- "-$g" 2>/dev/null || return 0
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		kill -0 -- "-$g" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$g" 2>/dev/null || true
	wait "$g" 2>/dev/null || true
}
cleanup() {
	local g
	trap - EXIT INT TERM
	for g in "${started[@]}"; do
		stop_group "$g"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start a command in its own process group (setsid keeps the pid when the
# caller is not a group leader, which a script's background job never is):
# its forked children (xinetd's, socat's) are stopped with it.
# Sets $spawned to its pid.
spawn() {
	local out=$1
	shift
	: >"$out"
	setsid "$@" >"$out" 2>&1 </dev/null &
	spawned=$!
	started+=("$spawned")
}
forget() {
	local g=$1 i
	for i in "${!started[@]}"; do
		[ "${started[$i]}" = "$g" ] && unset "started[$i]"
	done
	return 0
}

# JSON value of a key of larsd-bench's one-line output (numbers only).
jget() { grep -o "\"$1\":[-0-9.]*" "$2" | head -1 | cut -d: -f2; }
# The same inside a flat object: jget_in OBJECT KEY FILE.
jget_in() { grep -o "\"$1\":{[^}]*}" "$3" | head -1 | grep -o "\"$2\":[-0-9.]*" | head -1 | cut -d: -f2; }
