#!/bin/sh
# relay-selftest.sh - impair-relay does exactly what its schedule says and
# reports exactly that.
#
# A UDP echo (python3, standard library only) behind the relay; a python3
# client sends numbered datagrams through it, each carrying its send time,
# and prints what came back, in order.  Checks:
#  1. a fixed schedule (lists, every:, dup, reorder, 20 ms delay): the exact
#     sequence that comes back, every round trip >= 40 ms, the report's
#     counts and lists, on SIGUSR1 and again, final, on SIGTERM (exit 0);
#  2. rand: schedules: what the client saw matches the report's lists, the
#     same seed gives the same drops, another impairment does not move
#     them, another seed does;
#  3. the client cap (64): the 65th source is refused, counted, told once;
#  4. IPv6 ([::1]), when the host has it;
#  5. bad arguments: exit 2 with a line naming each wrong value.
# Plain automake test: 0 pass, 1 fail, 77 skip (python3 missing), 99 error.
# Every process is bounded (timeout(1), the relay's --duration) and killed
# by the trap; ports are all picked by the kernel.
set -u
top_builddir=${top_builddir:-.}
relay=$top_builddir/tests/impair/impair-relay
[ -x "$relay" ] || { echo "ERROR: $relay not built" >&2; exit 99; }
# Debian's python3 first: the one on PATH may be another build.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "SKIP: no python3"; exit 77; }
command -v timeout >/dev/null 2>&1 || { echo "SKIP: no timeout"; exit 77; }

tmp=$(mktemp -d) || exit 99
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

cat >"$tmp/udp.py" <<'EOF'
import socket, sys, time

def sock(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((host, 0))
    return s

def echo(host, portfile):
    s = sock(host)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os; os.rename(portfile + ".tmp", portfile)
    s.settimeout(20)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            data, src = s.recvfrom(65536)
        except socket.timeout:
            break
        s.sendto(data, src)

# client HOST PORT COUNT PACE_MS EXPECT NSOURCES: COUNT datagrams "SEQ NS"
# spread over NSOURCES sockets, PACE_MS apart; receives until EXPECT came
# back (then 150 ms more for extras) or 600 ms of silence.  Prints the
# sequence numbers received in order and the smallest round trip.
def client(host, port, count, pace_ms, expect, nsrc):
    socks = [sock(host) for _ in range(nsrc)]
    dest = (host, port)
    for seq in range(count):
        s = socks[seq % nsrc]
        s.sendto(b"%d %d" % (seq, time.monotonic_ns()), dest)
        if pace_ms:
            time.sleep(pace_ms / 1000.0)
    got, rtt = [], []
    import selectors
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    last = time.monotonic()
    linger = None
    while True:
        now = time.monotonic()
        wait = (linger - now) if linger else (last + 0.6 - now)
        if wait <= 0:
            break
        for key, _ in sel.select(wait):
            data = key.fileobj.recv(65536)
            seq, sent = data.split()
            rtt.append((time.monotonic_ns() - int(sent)) / 1e6)
            got.append(int(seq))
            last = time.monotonic()
        if linger is None and expect and len(got) >= expect:
            linger = time.monotonic() + 0.15
    print("got " + " ".join(map(str, got)))
    print("rtt_min_ms %.3f" % (min(rtt) if rtt else -1))

# rand REPORT GOTFILE COUNT: with only --drop-fwd and --dup-back, the fwd
# index is the sequence number and the back index the place among the
# datagrams forwarded; what the client got must follow from the lists.
def rand_check(report, gotfile, count):
    rep = {}
    for line in open(report):
        k, _, v = line.rstrip("\n").partition(" ")
        rep[k] = v
    dropped = [int(x) for x in rep["fwd_dropped_list"].split()]
    dups = [int(x) for x in rep["back_duplicated_list"].split()]
    got = [int(x) for x in open(gotfile).readline().split()[1:]]
    fwd = [s for s in range(count) if s not in set(dropped)]
    want = []
    for j, s in enumerate(fwd):
        want += [s, s] if j in set(dups) else [s]
    if got != want:
        i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
        sys.exit("from place %d on, the client got %s, the report says %s"
                 % (i, got[i:i + 8], want[i:i + 8]))
    if int(rep["fwd_dropped"]) != len(dropped) or int(rep["back_duplicated"]) != len(dups):
        sys.exit("counts differ from the lists")

mode = sys.argv[1]
if mode == "echo":
    echo(sys.argv[2], sys.argv[3])
elif mode == "client":
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
           int(sys.argv[6]), int(sys.argv[7]))
else:
    rand_check(sys.argv[2], sys.argv[3], int(sys.argv[4]))
EOF

# start_echo HOST: a UDP echo on HOST; its port in $echo_port.
start_echo() {
	rm -f "$tmp/echo.port"
	timeout 40 "$py" "$tmp/udp.py" echo "$1" "$tmp/echo.port" &
	pids="$pids $!"
	i=0
	while ! [ -s "$tmp/echo.port" ]; do
		i=$((i + 1))
		[ "$i" -le 100 ] || { echo "ERROR: the echo did not start on $1" >&2; exit 99; }
		sleep 0.05
	done
	echo_port=$(cat "$tmp/echo.port")
}

# start_relay ARGS...: the relay, in the background; its pid in
# $relay_pid, its port in $relay_port, its report $tmp/report.
start_relay() {
	rm -f "$tmp/report" "$tmp/relay.out"
	"$relay" --report "$tmp/report" --duration 30 "$@" >"$tmp/relay.out" 2>"$tmp/relay.err" &
	relay_pid=$!
	pids="$pids $relay_pid"
	i=0
	while ! grep -q '^listening ' "$tmp/relay.out" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$relay_pid" 2>/dev/null; then
			echo "ERROR: the relay did not start: $(cat "$tmp/relay.err")" >&2
			exit 99
		fi
		sleep 0.05
	done
	relay_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$tmp/relay.out")
}

# stop_relay: SIGTERM, and the exit status must be 0.
stop_relay() {
	kill -TERM "$relay_pid"
	wait "$relay_pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "relay exited $rc on SIGTERM: $(cat "$tmp/relay.err")"
}

# rep KEY: the value of KEY in the report (empty for an empty list).
rep() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$tmp/report"; }

# check_report KEY=VALUE...: each key's value in the report.
check_report() {
	for kv in "$@"; do
		v=$(rep "${kv%%=*}")
		[ "$v" = "${kv#*=}" ] || fail "report: ${kv%%=*} is '$v', want '${kv#*=}' ($1)"
	done
}

client() { timeout 10 "$py" "$tmp/udp.py" client "$@"; }

# ---- 1. the fixed schedule ---------------------------------------------
start_echo 127.0.0.1
start_relay --listen 127.0.0.1:0 --to "127.0.0.1:$echo_port" \
	--drop-fwd list:3,50 --drop-back every:10+5 --dup-fwd list:7 \
	--reorder-back list:20 --delay-ms 20
client 127.0.0.1 "$relay_port" 100 2 89 1 >"$tmp/got" || fail "client failed"
# fwd: 100 received, 3 and 50 dropped, 7 twice: 99 forwarded, back indices
# j = 0 1 2 4 5 6 7 7 8 ... 49 51 ... 99 (as sequence numbers).  back:
# every:10+5 drops j = 5 15 ... 95, which carry sequence numbers 6 15 25 35
# 45 56 66 76 86 96; j = 20 (seq 20) is held and goes after j = 21.
want=$(awk 'BEGIN {
	split("3 50 6 15 25 35 45 56 66 76 86 96", m, " ")
	for (i in m) miss[m[i]] = 1
	s = "got"
	for (q = 0; q < 100; q++) {
		if (q in miss) continue
		if (q == 20) continue
		s = s " " q
		if (q == 7) s = s " 7"
		if (q == 21) s = s " 20"
	}
	print s }')
got=$(sed -n 's/^got/got/p' "$tmp/got")
if [ "$got" = "$want" ]; then
	ok "fixed schedule: the 89 replies, 7 twice, 20 after 21, 12 missing"
else
	fail "fixed schedule: the client got
  $got
want
  $want"
fi
rtt=$(sed -n 's/^rtt_min_ms //p' "$tmp/got")
if awk -v r="$rtt" 'BEGIN { exit !(r >= 40) }'; then
	ok "every round trip >= 2 x 20 ms (shortest $rtt ms)"
else
	fail "a round trip of $rtt ms, under 2 x --delay-ms 20"
fi
# check_fixed FINAL: the report of the fixed schedule.
check_fixed() {
	check_report "final=$1" fwd_received=100 fwd_forwarded=99 fwd_dropped=2 \
		fwd_duplicated=1 fwd_reordered=0 fwd_hold_expired=0 fwd_send_errors=0 \
		fwd_pending=0 back_received=99 back_forwarded=89 back_dropped=10 \
		back_duplicated=0 back_reordered=1 back_hold_expired=0 \
		back_send_errors=0 back_pending=0 fwd_refused=0 \
		fwd_socket_drops=0 back_socket_drops=0 \
		"fwd_dropped_list=3 50" fwd_duplicated_list=7 fwd_reordered_list= \
		"back_dropped_list=5 15 25 35 45 55 65 75 85 95" \
		back_duplicated_list= back_reordered_list=20
}
kill -USR1 "$relay_pid"
i=0
until [ "$(rep report_seq)" = 1 ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { fail "no report 5 s after SIGUSR1"; break; }
	sleep 0.05
done
before=$failed
check_fixed 0
[ "$failed" = "$before" ] && ok "the SIGUSR1 report: counts and lists"
before=$failed
stop_relay
check_fixed 1
[ "$failed" = "$before" ] && ok "the final report on SIGTERM, exit 0"

# ---- 2. rand: schedules ----------------------------------------------------
# rand_run NAME ARGS...: 200 datagrams through a relay with ARGS; the
# client's view must match the report; keeps the report as $tmp/NAME.
rand_run() {
	name=$1
	shift
	start_relay --listen 127.0.0.1:0 --to "127.0.0.1:$echo_port" "$@"
	client 127.0.0.1 "$relay_port" 200 1 0 1 >"$tmp/got.$name" || fail "client failed"
	stop_relay
	"$py" "$tmp/udp.py" rand "$tmp/report" "$tmp/got.$name" 200 ||
		fail "rand ($*): the client's view differs from the report"
	cp "$tmp/report" "$tmp/$name"
}
before=$failed
rand_run a --seed 42 --drop-fwd rand:0.2 --dup-back rand:0.1
rand_run b --seed 42 --drop-fwd rand:0.2 --dup-back rand:0.1
rand_run c --seed 42 --drop-fwd rand:0.2
rand_run d --seed 43 --drop-fwd rand:0.2 --dup-back rand:0.1
lst() { awk -v k="$1" '$1 == k { $1 = ""; print }' "$tmp/$2"; }
n=$(lst fwd_dropped_list a | wc -w)
if [ "$failed" != "$before" ]; then
	:
elif [ "$n" -lt 20 ] || [ "$n" -gt 60 ]; then
	fail "rand:0.2 dropped $n of 200"
elif [ "$(lst fwd_dropped_list a)" != "$(lst fwd_dropped_list b)" ] ||
	[ "$(lst back_duplicated_list a)" != "$(lst back_duplicated_list b)" ]; then
	fail "rand: the same seed gave other indices"
elif [ "$(lst fwd_dropped_list a)" != "$(lst fwd_dropped_list c)" ]; then
	fail "rand: --dup-back moved --drop-fwd's indices"
elif [ "$(lst fwd_dropped_list a)" = "$(lst fwd_dropped_list d)" ]; then
	fail "rand: another seed gave the same indices"
else
	ok "rand: the client's view matches the report; $n of 200 dropped; same seed same indices, independent streams"
fi

# ---- 3. the client cap -----------------------------------------------------
start_relay --listen 127.0.0.1:0 --to "127.0.0.1:$echo_port"
client 127.0.0.1 "$relay_port" 65 0 64 65 >"$tmp/got" || fail "client failed"
stop_relay
before=$failed
check_report fwd_received=64 fwd_refused=1 back_forwarded=64
grep -q '^impair-relay: more than 64 clients: 127.0.0.1:[0-9]* and later new ones refused' "$tmp/relay.err" ||
	fail "no line about the client cap: $(cat "$tmp/relay.err")"
[ "$failed" = "$before" ] && ok "the 65th client is refused, counted and told"

# ---- 4. IPv6 ---------------------------------------------------------------
if "$py" -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
	start_echo ::1
	start_relay --listen '[::1]:0' --to "[::1]:$echo_port" --drop-back list:4
	if ! grep -q '^listening \[::1\]:[0-9]*$' "$tmp/relay.out"; then
		fail "IPv6: $(cat "$tmp/relay.out")"
	fi
	client ::1 "$relay_port" 10 1 9 1 >"$tmp/got" || fail "client failed"
	stop_relay
	if [ "$(sed -n 's/^got //p' "$tmp/got")" = "0 1 2 3 5 6 7 8 9" ]; then
		ok "IPv6: [::1], 4 dropped back"
	else
		fail "IPv6: got $(cat "$tmp/got")"
	fi
else
	echo "note: no IPv6 loopback here, the IPv6 case not run"
fi

# ---- 5. bad arguments --------------------------------------------------------
"$relay" --listen 127.0.0.1:0 --to 127.0.0.1:0 --drop-fwd every:0 --delay-ms x \
	>/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] &&
	grep -q '^impair-relay: --to "127.0.0.1:0": PORT must be 1..65535$' "$tmp/err" &&
	grep -q '^impair-relay: --drop-fwd "every:0": K must be a number >= 1$' "$tmp/err" &&
	grep -q '^impair-relay: --delay-ms "x": not a number in 0..60000$' "$tmp/err" &&
	[ "$(wc -l <"$tmp/err")" -eq 3 ]; then
	ok "bad arguments: exit 2, one line naming each"
else
	fail "bad arguments: exit $rc, $(cat "$tmp/err")"
fi

[ "$failed" -eq 0 ]
