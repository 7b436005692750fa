# shellcheck shell=bash disable=SC2154 # t, conf and the helpers come from tests/package/run
# tests/package/stamp.sh - sourced by tests/package/run: STAMP on its
# privileged port 862 the two ways larsd(8) (section STAMP) gives, in the
# booted container, with the shipped units and the shipped larsd.conf's
# commented-out STAMP listener turned on:
#   1. a larsd.service drop-in granting only CAP_NET_BIND_SERVICE; larsd
#      binds 862 itself and holds that one capability, nothing else;
#   2. a larsd.socket drop-in (ListenDatagram=127.0.0.1:862): systemd binds
#      it, the first test packet starts larsd, which holds no capability.
# Each answers a STAMP test packet: a 44-byte base packet plus 4 bytes of
# padding, sent with socat; the reply must be as long, copy the sequence
# number and the sender's timestamp, carry a receive timestamp and TTL 64,
# and return the padding unchanged.  Under the shipped unit's clock
# protections larsd cannot read the clock's status: it must say so once in
# the journal and send the 16 s "unsynchronised" error estimate (0x1d80);
# the drop-in larsd(8) gives for that (ProtectClock=no,
# SystemCallFilter=adjtimex clock_adjtime) must silence the warning where
# the container lets root read it at all (systemd-nspawn without
# CAP_SYS_TIME filters those calls for every process: then that check is
# skipped, saying so).  With a larsd-bench that has --stamp, it measures
# too.  Uses run's cx, csh, prop, pass, fail, info, indent,
# journal_tail, $t and $conf; leaves larsd stopped and the configuration,
# units and drop-ins as it found them.

# stamp_packet FILE: seq 12345, a sender timestamp, error estimate 1,
# SSID 7, 28 MBZ bytes, then "pad!".
stamp_packet() {
	{
		printf '\000\000\060\071'
		printf '\352\221\042\063\104\125\146\167'
		printf '\000\001\000\007'
		head -c 28 /dev/zero
		printf 'pad!'
	} >"$1"
}

# stamp_reply_ok REQ REPLY: the reply checks above; prints what is wrong.
stamp_reply_ok() {
	local q r
	q=$(od -An -v -tx1 "$1" | tr -s ' \n' ' ')
	r=$(od -An -v -tx1 "$2" 2>/dev/null | tr -s ' \n' ' ')
	# shellcheck disable=SC2086
	set -- $q
	local req=("$@")
	# shellcheck disable=SC2086
	set -- $r
	local rep=("$@")
	if [ "${#rep[@]}" != "${#req[@]}" ]; then
		echo "reply of ${#rep[@]} bytes to ${#req[@]}"
		return 1
	fi
	local bad=""
	[ "${rep[*]:0:4}" = "${req[*]:0:4}" ] || bad="$bad sequence"
	[ "${rep[*]:24:4}" = "${req[*]:0:4}" ] || bad="$bad sender-sequence"
	[ "${rep[*]:28:8}" = "${req[*]:4:8}" ] || bad="$bad sender-timestamp"
	[ "${rep[*]:14:2}" = "${req[*]:14:2}" ] || bad="$bad ssid"
	[ "${rep[*]:16:8}" != "00 00 00 00 00 00 00 00" ] || bad="$bad no-receive-timestamp"
	[ "${rep[40]}" = 40 ] || bad="$bad ttl=0x${rep[40]}"
	[ "${rep[*]:44:4}" = "${req[*]:44:4}" ] || bad="$bad padding"
	[ -z "$bad" ] || { echo "wrong:$bad"; return 1; }
}

# stamp_exchange WHAT: send the packet to 127.0.0.1:862, check the reply.
stamp_exchange() {
	local why
	stamp_packet "$t/stamp.req"
	rm -f "$t/stamp.rep"
	csh 20 "socat -t 2 -T 5 - UDP:127.0.0.1:862 < /root/t/stamp.req > /root/t/stamp.rep"
	if why=$(stamp_reply_ok "$t/stamp.req" "$t/stamp.rep"); then
		return 0
	fi
	echo "$why"
	return 1
}

# stamp_bench WHAT: the shipped Session-Sender, larsd-bench --stamp, measures
# the path to it: exit 0 (no corrupt reply) and replies counted.
stamp_bench() {
	local out rc
	out=$(cx 30 larsd-bench --stamp -H 127.0.0.1 -P 862 --rate 100 -t 1 --json 2>&1)
	rc=$?
	if [ $rc = 0 ] && printf '%s' "$out" | grep -q '"replies":[1-9]'; then
		pass "$1: larsd-bench --stamp -H 127.0.0.1 -P 862 --rate 100 -t 1: $(printf '%s' "$out" | grep -o '"replies":[0-9]*' | head -n 1)"
	else
		printf '%s\n' "$out" | tail -n 15 | indent
		fail "$1: larsd-bench --stamp -H 127.0.0.1 -P 862 (exit $rc)"
	fi
}

# capeff: the effective capabilities of larsd's main process.
stamp_capeff() {
	cx 10 cat "/proc/$(prop MainPID)/status" 2>/dev/null |
		sed -n 's/^CapEff:[[:space:]]*//p'
}

stamp_checks() {
	local why cap svc=/etc/systemd/system/larsd.service.d

	cx 30 systemctl stop larsd.socket larsd
	# The steps before started larsd five times in a few seconds (the
	# cgroup check, stop, socket activation); systemd 257 is quick enough
	# that the next start falls in the same 10 s and meets the unit's
	# start limit (StartLimitBurst=5): a test's rhythm, not a user's.
	cx 10 systemctl reset-failed larsd.service larsd.socket
	csh 10 "cp -p $conf /root/larsd.conf.before-stamp &&
		sed -i 's/^\\([[:space:]]*\\)# , { proto = \"udp\"; address = \"127.0.0.1\"; port = 862;/\\1, { proto = \"udp\"; address = \"127.0.0.1\"; port = 862;/' $conf"
	if cx 10 grep -q '^[[:space:]]*, { proto = "udp"; address = "127.0.0.1"; port = 862; mode = "stamp"; }' "$conf" &&
		cx 10 larsd -t -c "$conf" >/dev/null 2>&1; then
		pass "stamp: the shipped larsd.conf's STAMP listener, uncommented, validates"
	else
		cx 10 larsd -t -c "$conf" 2>&1 | indent
		fail "stamp: the STAMP listener of the shipped larsd.conf could not be turned on"
	fi

	# 1. CAP_NET_BIND_SERVICE only.
	csh 10 "mkdir -p $svc && printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nPrivateUsers=no\n' > $svc/stamp.conf"
	cx 30 systemctl daemon-reload
	cx 30 systemctl start larsd
	cap=$(stamp_capeff)
	# CAP_NET_BIND_SERVICE is capability 10: 0x400.
	if [ "$(prop ActiveState)" = active ] && why=$(stamp_exchange) &&
		[ "$cap" = 0000000000000400 ]; then
		pass "stamp: larsd.service drop-in with only CAP_NET_BIND_SERVICE: larsd binds udp 127.0.0.1:862 (CapEff=$cap) and answers a STAMP test packet field by field"
		stamp_bench "stamp (CAP_NET_BIND_SERVICE)"
	else
		journal_tail
		cx 10 journalctl --no-pager -n 60 -o short-precise | indent # who else started or stopped it
		fail "stamp: CAP_NET_BIND_SERVICE drop-in: ActiveState=$(prop ActiveState) CapEff=$cap ${why:-}"
	fi
	stamp_clock_checks "$svc"
	cx 30 systemctl stop larsd
	csh 10 "rm -rf $svc"
	cx 30 systemctl daemon-reload
	stamp_socket_checks
}

# stamp_clock_checks DROPIN-DIR: with larsd running under the shipped unit
# (plus the capability drop-in), the clock's status as larsd(8) says.
stamp_clock_checks() {
	local svc=$1 warn="STAMP: cannot read the clock's status" err since why
	err=$(od -An -j12 -N2 -tx1 "$t/stamp.rep" 2>/dev/null | tr -d ' ')
	if cx 10 journalctl -u larsd --no-pager -b | grep -q "$warn" && [ "$err" = 1d80 ]; then
		pass "stamp: under the shipped clock protections (ProtectClock=yes, ~@privileged) larsd warns once and sends the unsynchronised error estimate (0x$err, S=0, 16 s)"
	else
		journal_tail
		fail "stamp: clock status under the shipped unit: error estimate 0x${err:-none}, warning in the journal: $(cx 10 journalctl -u larsd --no-pager -b | grep -c "$warn")"
	fi
	# Can a service read the clock's status in this container at all?  Asked
	# through the container's PID 1 (systemd-run), whose children carry the
	# container's own seccomp filter, which cx's nsenter does not.
	printf '#include <sys/timex.h>\nint main(void) { struct timex t = { 0 }; return ntp_adjtime(&t) < 0; }\n' \
		>"$t/adjtimex.c"
	if ! cx 60 gcc -o /root/t/adjtimex /root/t/adjtimex.c ||
		! cx 30 systemd-run --wait --pipe --quiet /root/t/adjtimex </dev/null; then
		info "stamp: no service may read the clock's status in this container (systemd-nspawn without CAP_SYS_TIME): the ProtectClock=no drop-in check is skipped"
		return 0
	fi
	since=$(cx 5 date '+%Y-%m-%d %H:%M:%S')
	csh 10 "printf '[Service]\nProtectClock=no\nSystemCallFilter=adjtimex clock_adjtime\n' > $svc/clock.conf"
	cx 30 systemctl daemon-reload
	cx 30 systemctl restart larsd
	if why=$(stamp_exchange) &&
		! cx 10 journalctl -u larsd --no-pager --since "$since" | grep -q "$warn"; then
		pass "stamp: with ProtectClock=no and SystemCallFilter=adjtimex clock_adjtime larsd reads the clock's status (no warning; error estimate 0x$(od -An -j12 -N2 -tx1 "$t/stamp.rep" | tr -d ' '))"
	else
		journal_tail
		fail "stamp: the clock drop-in of larsd(8) did not let larsd read the clock's status ${why:-}"
	fi
}

# 2. Socket activation; then the configuration as it was.
stamp_socket_checks() {
	local why cap sock=/etc/systemd/system/larsd.socket.d

	csh 10 "mkdir -p $sock && printf '[Socket]\nListenDatagram=127.0.0.1:862\n' > $sock/stamp.conf"
	cx 30 systemctl daemon-reload
	cx 10 systemctl reset-failed larsd.service larsd.socket
	why=""
	if cx 30 systemctl start larsd.socket && [ "$(prop ActiveState)" = inactive ] &&
		why=$(stamp_exchange) && [ "$(prop ActiveState)" = active ] &&
		cap=$(stamp_capeff) && [ "$cap" = 0000000000000000 ]; then
		pass "stamp: larsd.socket drop-in ListenDatagram=127.0.0.1:862: the first test packet started larsd (CapEff=$cap), which answered it field by field"
		stamp_bench "stamp (socket activation)"
	else
		cx 10 systemctl status larsd.socket larsd --no-pager 2>&1 | indent
		fail "stamp: socket activation on 862: ActiveState=$(prop ActiveState) CapEff=${cap:-?} ${why:-}"
	fi
	cx 30 systemctl stop larsd.socket larsd
	csh 10 "rm -rf $sock && cp -p /root/larsd.conf.before-stamp $conf"
	cx 30 systemctl daemon-reload
}
