# shellcheck shell=bash disable=SC2154 # top, t, root, work: set by tests/package/run
# tests/package/restart.sh - restarts and an upgrade under a client loop
# (sourced by tests/package/run, which gives cx, csh, pass, fail, info,
# prop, mainpid, $root and $t).
#
# The client, reconnect.c (built in the container with its gcc), opens a
# new TCP connection to 127.0.0.1:7777 for every 4 KiB message and checks
# the echo byte for byte, until told to stop; it counts refused
# connections, other errors and wrong replies, and the longest wait.
#
#   restart_build           build /root/reconnect in the container
#   restart_plain           without socket activation, measure what
#                           systemctl restart larsd costs (not a pass/fail
#                           on refusals: they are expected; larsd(8) says)
#   restart_socket_begin    larsd.service disabled, larsd.socket enabled
#                           and started, larsd started through it
#   restart_socket_restart  a loop through systemctl restart larsd:
#                           0 refused, 0 wrong bytes (restart_clean)
#   restart_loop_start      the loop around some other step (the upgrade)
#   restart_loop_stop WHAT  stop it and check 0 refused, 0 wrong bytes
#   restart_socket_end      back to larsd.service without the socket
#
# Each loop is bounded (180 s at most, stopped by SIGINT long before).

restart_loop=""  # the host pid of the csh running the loop

restart_build() {
	cp "$top/tests/package/reconnect.c" "$t/reconnect.c"
	if csh 60 'gcc -O2 -Wall -Wextra -Werror -o /root/reconnect /root/t/reconnect.c'; then
		return 0
	fi
	fail "restart: building the client in the container"
	return 1
}

# restart_num KEY: a number from the loop's JSON line.
restart_num() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$t/loop.json"; }

restart_loop_start() {
	rm -f "$t/loop.pid" "$t/loop.json"
	csh 200 'echo $$ > /root/t/loop.pid; exec /root/reconnect 127.0.0.1 7777 180 4096' \
		>"$t/loop.json" 2>&1 &
	restart_loop=$!
	for _ in $(seq 50); do
		[ -s "$t/loop.pid" ] && break
		sleep 0.1
	done
	sleep 0.5 # a few hundred rounds before the step under test
}

# restart_loop_end: stop the loop, wait for its JSON line; 1 if none.
restart_loop_end() {
	[ -s "$t/loop.pid" ] && csh 5 "kill -INT $(cat "$t/loop.pid")"
	wait "$restart_loop" 2>/dev/null
	restart_loop=""
	grep -q '"rounds"' "$t/loop.json"
}

# restart_figures: "R rounds, N refused, E errors, W wrong, longest wait M ms"
restart_figures() {
	echo "$(restart_num rounds) connections, $(restart_num refused) refused," \
		"$(restart_num errors) reset or closed unanswered, $(restart_num wrong_bytes) with wrong bytes," \
		"longest wait $(restart_num max_ms) ms"
}

# restart_clean: the loop saw no refusal and no wrong byte, and at most one
# other error a restart: the client has one connection open at a time, and
# if the old larsd had accepted it when SIGTERM came, larsd closes it
# unanswered (it stops reading at once and only flushes the replies it
# holds; larsd.conf(5), shutdown_timeout_ms).  A connection not yet
# accepted waits in systemd's socket for the new larsd.
restart_clean() {
	[ "$(restart_num refused)" = 0 ] && [ "$(restart_num errors)" -le 1 ] &&
		[ "$(restart_num wrong_bytes)" = 0 ] && [ "$(restart_num rounds)" -gt 0 ]
}

# restart_through: the client loop through systemctl restart larsd; sets
# restart_old and restart_new (empty when larsd did not come back).
restart_old=""
restart_new=""
restart_through() {
	restart_old=$(mainpid)
	restart_loop_start
	cx 30 systemctl restart larsd
	restart_new=$(wait_restart "$restart_old" 15)
	sleep 0.5
	restart_loop_end && [ -n "$restart_new" ]
}

restart_plain() {
	if restart_through && [ "$(restart_num wrong_bytes)" = 0 ]; then
		pass "restart without socket activation: systemctl restart larsd (pid $restart_old -> $restart_new) left no listener for $(restart_num outage_ms) ms: $(restart_figures)"
	else
		fail "restart without socket activation: pid $restart_old -> ${restart_new:-none}, client loop: $(cat "$t/loop.json")"
	fi
}

# As README.md says to switch: the service disabled, the socket enabled;
# the first connection starts larsd.
restart_socket_begin() {
	cx 30 systemctl disable --now larsd.service >/dev/null 2>&1
	cx 30 systemctl enable --now larsd.socket >/dev/null 2>&1
	if [ "$(cx 10 systemctl is-active larsd.socket)" = active ] &&
		[ "$(prop ActiveState)" = inactive ] && echo_check tcp 7777 tcp-echo &&
		[ "$(prop ActiveState)" = active ] &&
		cx 10 systemctl show -p TriggeredBy --value larsd | grep -q larsd.socket; then
		pass "socket activation: larsd.service disabled, larsd.socket enabled; the first client started larsd through it"
		return 0
	fi
	cx 10 systemctl status larsd.socket larsd --no-pager 2>&1 | tail -n 20 | indent
	fail "socket activation: larsd.socket did not start larsd"
	return 1
}

restart_socket_restart() {
	if restart_through && restart_clean; then
		pass "restart under socket activation: systemctl restart larsd (pid $restart_old -> $restart_new): $(restart_figures)"
	else
		journal_tail
		fail "restart under socket activation: pid $restart_old -> ${restart_new:-none}, client loop: $(cat "$t/loop.json")"
	fi
}

# restart_loop_stop WHAT: end a loop started around WHAT, and judge it.
restart_loop_stop() {
	if restart_loop_end && restart_clean; then
		pass "$1 under socket activation, a client loop throughout: $(restart_figures)"
	else
		fail "$1 under socket activation, client loop: $(cat "$t/loop.json")"
	fi
}

# And back, as README.md says.
restart_socket_end() {
	cx 30 systemctl disable --now larsd.socket larsd.service >/dev/null 2>&1
	cx 30 systemctl enable --now larsd.service >/dev/null 2>&1
	if [ "$(cx 10 systemctl is-enabled larsd.socket)" = disabled ] &&
		[ "$(cx 10 systemctl is-enabled larsd.service)" = enabled ] &&
		[ "$(prop ActiveState)" = active ] && echo_check tcp 7777 tcp-echo; then
		pass "socket activation: larsd.socket disabled again, larsd.service enabled and answering on its own sockets"
	else
		fail "socket activation: back to larsd.service alone"
	fi
}
