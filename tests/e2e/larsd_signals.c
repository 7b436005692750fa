/*
 * larsd_signals.c - larsd end to end: sd_notify, signals and reload.
 *
 * READY/STATUS/STOPPING and the watchdog on a private NOTIFY_SOCKET;
 * log_level; SIGINT; SIGHUP with good and bad configs (RELOADING=1 then
 * READY=1); SIGTERM while a client stopped reading and during a transfer.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- systemd notify and signals ------------------------------------------ */

/* READY=1 with a STATUS, a fresh STATUS= within ~2 s that counts an open
 * connection, STOPPING=1 on SIGTERM, exit 0. */
START_TEST(test_notify_lifecycle)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	long ready = lh_wait_note(&d, "READY=1", 0, 0);
	ck_assert_int_ge(ready, 0);
	char *first = lh_note(&d, (size_t)ready);
	ck_assert_msg(strstr(first, "STATUS=") != NULL, "READY=1 without STATUS=: %s", first);
	free(first);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_tcp_roundtrip(fd, "x", 1));
	long st = lh_wait_note_with(&d, "STATUS=", "1 connections", "READY=1",
				    (size_t)ready + 1, 2500);
	ck_assert_msg(st > ready, "no STATUS= update showing the connection within 2.5 s");

	size_t from = lh_note_count(&d);
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	ck_assert_msg(lh_wait_note(&d, "STOPPING=1", from, 3000) >= 0, "no STOPPING=1");
	ck_assert_int_eq(lh_wait_exit(&d, LH_STOP_MS), 0);
	close(fd);
	lh_cleanup(&d);
}
END_TEST

/* Under systemd's watchdog (WATCHDOG_USEC) larsd sends WATCHDOG=1 at half
 * the interval: three keep-alives within 1.5 s of a 400 ms watchdog. */
START_TEST(test_watchdog)
{
	struct lh_daemon d;

	lh_init(&d);
	lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	d.watchdog_usec = "400000";
	lh_start_ok(&d);
	long at = lh_wait_note(&d, "WATCHDOG=1", 0, 1500);
	for (int i = 1; i < 3 && at >= 0; i++)
		at = lh_wait_note(&d, "WATCHDOG=1", (size_t)at + 1, 1500);
	ck_assert_msg(at >= 0, "fewer than 3 WATCHDOG=1 within 1.5 s each");
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* log_level = "warning" hides info lines; SIGUSR1's counters show anyway. */
START_TEST(test_log_level)
{
	struct lh_daemon d;

	lh_init(&d);
	lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	strncat(d.settings, "  log_level = \"warning\";\n", sizeof(d.settings) - strlen(d.settings) - 1);
	lh_start_ok(&d);
	ck_assert_int_eq(kill(d.pid, SIGUSR1), 0);
	ck_assert_msg(lh_wait_stderr(&d, "<5>stats: tcp_accepted=", 2000),
		      "SIGUSR1 logged no counters at log_level warning");
	lh_stop_ok(&d);
	ck_assert_msg(!lh_stderr_has(&d, "<6>"), "an info line at log_level warning");
	lh_cleanup(&d);
}
END_TEST

/* SIGINT stops as gracefully as SIGTERM. */
START_TEST(test_sigint)
{
	struct lh_daemon d;

	lh_init(&d);
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	ck_assert_int_eq(kill(d.pid, SIGINT), 0);
	ck_assert_int_eq(lh_wait_exit(&d, LH_STOP_MS), 0);
	ck_assert_int_ge(lh_wait_note(&d, "STOPPING=1", 0, 500), 0);
	lh_cleanup(&d);
}
END_TEST

static void truncate_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

/* ---- reload -------------------------------------------------------------- */

/* A good new config: a new listener answers, a removed one is closed, a
 * connection made before the reload still echoes. */
START_TEST(test_reload_good)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t a = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t gone = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	lh_start_ok(&d);
	lt_check_listener(&d.ls[gone], 1);
	int before = lh_tcp_connect_listener(&d.ls[a]);
	ck_assert_int_ge(before, 0);
	ck_assert(lh_tcp_roundtrip(before, "before", 6));

	struct lh_listen removed = d.ls[gone];
	d.n_ls = gone; /* drop it, add two new ones */
	size_t b = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	size_t u = lh_add(&d, "udp", lt_have_v6() ? "::1" : "127.0.0.1", "lars", false);
	lh_write_conf(&d);
	lt_reload(&d);
	ck_assert(lh_alive(&d));
	ck_assert_msg(lh_stderr_has(&d, "reloaded"), "no \"reloaded\" in the log");

	lt_check_listener(&d.ls[b], 2);
	lt_check_listener(&d.ls[u], 3);
	lt_check_listener(&d.ls[a], 4);
	ck_assert_msg(lh_tcp_roundtrip(before, "after", 5), "the old connection broke");
	int fd = lh_tcp_connect(removed.address, removed.port, NULL);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "the removed listener still accepts");
	close(before);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A reload that changes only the mode of a listener applies it. */
START_TEST(test_reload_mode_change)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t a = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	lt_check_listener(&d.ls[a], 1);
	d.ls[a].mode = "lars";
	lh_write_conf(&d);
	lt_reload(&d);
	lt_check_lars_rejects_plain(&d.ls[a]);
	lt_check_listener(&d.ls[a], 2);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Bad configs on SIGHUP: FILE:LINE in the log, RELOADING=1 then READY=1,
 * still running, the old listeners and connections still answer. */
START_TEST(test_reload_bad)
{
	struct lh_daemon d;
	char where[PATH_MAX + 32];
	uint16_t port;

	lh_init(&d);
	size_t t = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t u = lh_add(&d, "udp", "127.0.0.1", "echo", false);
	lh_start_ok(&d);
	int conn = lh_tcp_connect_listener(&d.ls[t]);
	ck_assert_int_ge(conn, 0);
	ck_assert(lh_tcp_roundtrip(conn, "one", 3));

	/* Line 1 "larsd: {", 2 threads, 3 the error. */
	static const char *const broken[] = {"  colour = 1;\n", "  max_connections = ;\n",
					     "  threads = 0;\n"};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n%s", broken[i]);
		lh_write_conf(&d);
		lt_reload(&d);
		snprintf(where, sizeof(where), "%s:3: ", d.conf_path);
		ck_assert_msg(lh_wait_stderr(&d, where, 1000), "case %zu: no \"%s\" in the log", i,
			      where);
		ck_assert(lh_stderr_has(&d, "keeping the running configuration"));
		ck_assert_msg(lh_alive(&d), "case %zu: larsd died", i);
		ck_assert(lh_tcp_roundtrip(conn, "two", 3));
		lt_check_listener(&d.ls[t], 10 + (int)i);
		lt_check_listener(&d.ls[u], 20 + (int)i);
		truncate_file(d.err_path);
	}

	/* Valid, but a new listener's port is taken. */
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n");
	int busy = lh_bind("tcp", "127.0.0.1", 0, &port);
	ck_assert_int_ge(busy, 0);
	size_t n = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	d.ls[n].port = port;
	lh_write_conf(&d);
	lt_reload(&d);
	snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)port);
	ck_assert_msg(lh_wait_stderr(&d, where, 1000), "no error naming %s", where);
	ck_assert(lh_alive(&d));
	ck_assert(lh_tcp_roundtrip(conn, "three", 5));
	lt_check_listener(&d.ls[t], 30);
	lt_check_listener(&d.ls[u], 31);
	close(busy);
	close(conn);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- stopping mid-transfer ------------------------------------------------ */

/* A client that stopped reading: larsd has read some of what it sent and
 * holds it.  After SIGTERM exactly the bytes larsd read come back, in
 * order, then EOF, and larsd exits 0 (bytes_in is read when nothing moves
 * any more, the client reads only after STOPPING=1). */
START_TEST(test_sigterm_flushes_what_was_read)
{
	struct lh_daemon d;
	static unsigned char out[8 << 20], back[8 << 20];
	int small = 8192, server_buf = 16384;
	size_t sent = 0, got;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	/* Small kernel buffers on larsd's side too (inherited by accepted
	 * sockets), so back pressure reaches larsd within a few hundred KB. */
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_SNDBUF, &server_buf,
				    sizeof(server_buf)), 0);
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_RCVBUF, &server_buf,
				    sizeof(server_buf)), 0);
	lh_start_ok(&d);

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_storage ss;
	socklen_t len;
	ck_assert(lh_sockaddr("127.0.0.1", d.ls[l].port, &ss, &len));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
	lh_nonblock(fd);
	lh_pattern(out, sizeof(out), 8, 0);

	/* Send without reading until nothing moves for 300 ms. */
	sent = lh_push_until_stalled(&fd, 1, out, sizeof(out), sizeof(out), 300, 5000);
	ck_assert_msg(sent < sizeof(out), "larsd swallowed %zu bytes from a client that never reads",
		      sent);
	long long read1 = lh_stat(&d, "bytes_in");
	lh_sleep_ms(100);
	long long read2 = lh_stat(&d, "bytes_in");
	ck_assert_msg(read1 > 0 && read1 == read2, "larsd still reading: %lld then %lld", read1,
		      read2);

	/* Read only once the workers stop: reading earlier lets larsd, not
	 * yet stopping, read and echo more. */
	size_t from = lh_note_count(&d);
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	ck_assert_msg(lh_wait_note(&d, "STOPPING=1", from, 3000) >= 0, "no STOPPING=1");
	lh_sleep_ms(200);
	got = 0;
	uint64_t end = lh_now_ms() + 4000;
	while (lh_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, back + got, sizeof(back) - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EAGAIN)
			break;
	}
	ck_assert_msg(got == (size_t)read1, "got %zu bytes back before EOF, larsd had read %lld",
		      got, read1);
	ck_assert_msg(lt_first_difference(out, back, got) == got, "the bytes came back changed");
	close(fd);
	ck_assert_int_eq(lh_wait_exit(&d, LH_STOP_MS), 0);
	lh_cleanup(&d);
}
END_TEST

/* SIGTERM while bytes flow both ways: what comes back before EOF is a
 * byte-exact prefix of what was sent, and larsd exits 0 in time. */
START_TEST(test_sigterm_mid_transfer)
{
	struct lh_daemon d;
	static unsigned char out[4 << 20], back[4 << 20];
	size_t sent = 0, got = 0, got_at_term = 0;
	bool termed = false, eof = false;

	lh_init(&d);
	strcat(d.settings, "  shutdown_timeout_ms = 1500;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	lh_nonblock(fd);
	lh_pattern(out, sizeof(out), 9, 0);

	uint64_t end = lh_now_ms() + 6000;
	while (!eof && lh_now_ms() < end) {
		if (!termed && sent >= (1 << 20)) {
			ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
			termed = true;
			got_at_term = got;
		}
		struct pollfd p = {fd, (short)(POLLIN | (sent < sizeof(out) ? POLLOUT : 0)), 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			ssize_t n = send(fd, out + sent, sizeof(out) - sent < 65536 ? sizeof(out) - sent
										       : 65536,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, back + got, sizeof(back) - got, MSG_DONTWAIT);
			if (n > 0)
				got += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = true;
		}
	}
	ck_assert_msg(termed, "never got to send 1 MB");
	ck_assert_msg(eof, "no EOF after SIGTERM");
	ck_assert_uint_le(got, sent);
	ck_assert_uint_ge(got, got_at_term);
	ck_assert_msg(lt_first_difference(out, back, got) == got, "the echo is not a prefix of the input");
	close(fd);
	ck_assert_int_eq(lh_wait_exit(&d, LH_STOP_MS), 0);
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_signals(Suite *s)
{
	testutil_add(s, "notify", test_notify_lifecycle, 10);
	testutil_add(s, "sigint", test_sigint, 10);
	testutil_add(s, "watchdog", test_watchdog, 10);
	testutil_add(s, "log_level", test_log_level, 10);
	testutil_add(s, "reload_good", test_reload_good, 15);
	testutil_add(s, "reload_mode", test_reload_mode_change, 10);
	testutil_add(s, "reload_bad", test_reload_bad, 15);
	testutil_add(s, "sigterm_flush", test_sigterm_flushes_what_was_read, 15);
	testutil_add(s, "sigterm_transfer", test_sigterm_mid_transfer, 15);
}
