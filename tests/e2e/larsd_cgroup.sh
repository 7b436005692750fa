#!/bin/sh
# larsd_cgroup.sh - larsd's start-up check of its cgroup's memory.max, end
# to end: the real daemon reading the real paths.
#
# In a private mount namespace (unshare -m) a fake cgroup v2 membership is
# bound over /proc/PID/cgroup, PID being the shell that then execs larsd
# (exec keeps the pid, so it is larsd's /proc/self/cgroup), and a fake
# hierarchy over /sys/fs/cgroup.  With memory.max 32M under mem_limit 64M
# larsd must log the one-line warning naming the cgroup; with 1G it must
# not.  The unit tests of the parser are in tests/unit/test_memwatch.c.
#
# Needs root (mount namespaces); skips (77) otherwise, or where unshare or
# mount are refused (a container without CAP_SYS_ADMIN).  The listener
# port is picked at random and retried if taken (larsd takes no port 0);
# every run is bounded by timeout(1).
set -u
top_builddir=${top_builddir:-.}
larsd=$top_builddir/src/larsd/larsd
[ -x "$larsd" ] || { echo "ERROR: $larsd not built" >&2; exit 99; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root"; exit 77; }
command -v unshare >/dev/null 2>&1 || { echo "SKIP: no unshare"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: unshare -m refused"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cg/system.slice/larsd.service"
echo max >"$tmp/cg/system.slice/memory.max"
echo "0::/system.slice/larsd.service" >"$tmp/cgroup"
warning="cgroup /system.slice/larsd.service: memory.max 32.0 MiB is below mem_limit 64.0 MiB"

# run_larsd MEMORY_MAX: start larsd in the fake cgroup, wait until it has
# started, stop it; its stderr in $tmp/log.  Returns 1 if it never started.
run_larsd() {
	echo "$1" >"$tmp/cg/system.slice/larsd.service/memory.max"
	tries=0
	while [ "$tries" -lt 20 ]; do
		tries=$((tries + 1))
		port=$((20000 + ($$ * 7 + tries * 7919) % 40000))
		cat >"$tmp/larsd.conf" <<-CONF
		larsd: {
		  control = "$tmp/control";
		  listen = ( { proto = "tcp"; address = "127.0.0.1"; port = $port; mode = "echo"; } );
		};
		bufpool: { mem_limit = "64M"; };
		CONF
		: >"$tmp/log"
		timeout 20 unshare -m sh -c '
			mount --make-rprivate / &&
			mount --bind "$1/cgroup" /proc/$$/cgroup &&
			mount --bind "$1/cg" /sys/fs/cgroup &&
			exec "$2" -c "$1/larsd.conf"' sh "$tmp" "$larsd" 2>"$tmp/log" &
		pid=$!
		n=0
		while [ "$n" -lt 100 ] && kill -0 "$pid" 2>/dev/null &&
			! grep -q "started:" "$tmp/log"; do
			sleep 0.1
			n=$((n + 1))
		done
		if grep -q "started:" "$tmp/log"; then
			sleep 0.2 # the check runs right after the start line
			kill "$pid" 2>/dev/null
			wait "$pid"
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid"
		grep -q "in use" "$tmp/log" || break # not a taken port: give up
	done
	return 1
}

if ! run_larsd 33554432; then
	if grep -q "mount" "$tmp/log"; then
		echo "SKIP: mount refused: $(head -n 1 "$tmp/log")"
		exit 77
	fi
	echo "FAIL: larsd did not start:"; cat "$tmp/log"; exit 1
fi
grep -qF "$warning" "$tmp/log" || { echo "FAIL: no warning at memory.max 32M:"; cat "$tmp/log"; exit 1; }
[ "$(grep -c "memory.max" "$tmp/log")" -eq 1 ] || { echo "FAIL: more than one line:"; cat "$tmp/log"; exit 1; }

run_larsd 1073741824 || { echo "FAIL: larsd did not start:"; cat "$tmp/log"; exit 1; }
if grep -q "memory.max" "$tmp/log"; then
	echo "FAIL: a warning at memory.max 1G:"; cat "$tmp/log"; exit 1
fi
echo "PASS: warned at memory.max 32M, silent at 1G"
