/*
 * larsd_control.c - larsd end to end: the control socket.
 *
 * Every command through a real socket in the test's directory: the stats
 * names, counters that move by exactly the traffic sent, stats pool,
 * listeners, workers, reset, reload (good and broken config), version,
 * help, unknown commands; hostile clients (garbage, a 1 MB line, 100 idle
 * clients, one that asks and never reads); control = "", bad values, and
 * a reload that moves it;
 * a directory that does not exist; a file in the way; a stale socket file
 * and a second larsd.
 * Not here: the 60 s idle timeout (too slow for make check): see
 * tests/stress/st_control.c.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define N_ECHO 10
#define REPLY_MAX (64 * 1024)
#define CTL_PATH_MAX ((int)sizeof(((struct sockaddr_un *)0)->sun_path))

/* ---- helpers --------------------------------------------------------------- */

static void ctl_path(const struct lh_daemon *d, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/control", d->dir);
	ck_assert_msg(n >= 0 && (size_t)n < len, "%s/control is too long for a socket", d->dir);
}

/* lh_init with control = DIR/control, a TCP and a UDP echo listener. */
static void ctl_init(struct lh_daemon *d)
{
	char path[CTL_PATH_MAX];

	lh_init(d);
	ctl_path(d, path, sizeof(path));
	snprintf(d->settings, sizeof(d->settings), "  threads = 2;\n  control = \"%s\";\n", path);
	lh_add(d, "tcp", "127.0.0.1", "echo", false);
	lh_add(d, "udp", "127.0.0.1", "echo", false);
}

static int ctl_connect(const struct lh_daemon *d)
{
	char path[CTL_PATH_MAX];

	ctl_path(d, path, sizeof(path));
	return lt_ctl_connect_path(path);
}

/* Counter `name` of `cmd`, polled until it reaches want (the workers count
 * a UDP reply just after sending it) or 2 s pass. */
static long long stat_wait(int fd, const char *cmd, const char *name, long long want)
{
	static char buf[REPLY_MAX];
	long long v = -1;

	for (int i = 0; i < 200; i++) {
		lt_ctl_cmd(fd, cmd, buf, sizeof(buf));
		v = lt_stat_of(buf, name);
		if (v >= want)
			break;
		lh_sleep_ms(10);
	}
	return v;
}

/* N_ECHO TCP round trips on one connection (left open in *tcp) and N_ECHO
 * UDP ones. */
static void echo_traffic(struct lh_daemon *d, int *tcp)
{
	char back[16];

	*tcp = lh_tcp_connect_listener(&d->ls[0]);
	ck_assert_int_ge(*tcp, 0);
	int udp = lh_udp_socket("127.0.0.1", d->ls[1].port, NULL, 0);
	ck_assert_int_ge(udp, 0);
	for (int i = 0; i < N_ECHO; i++) {
		ck_assert(lh_tcp_roundtrip(*tcp, "ping", 4));
		ck_assert_int_eq(lh_udp_xchg(udp, "pong", 4, back, sizeof(back), 2000), 4);
	}
	close(udp);
}

/* Read until EOF; what came, NUL-terminated.  False on timeout. */
static bool read_to_eof(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n < 0)
			return false;
		len += (size_t)n;
		if (len + 1 == cap)
			break;
	}
	buf[len] = '\0';
	return true;
}

/* ---- the commands ------------------------------------------------------------ */

static const char *const stats_names[] = {
	"uptime_s", "version", "threads", "connections_current", "connections_total",
	"tcp_accepted", "tcp_refused_limit", "tcp_refused_allow", "tcp_closed_idle",
	"tcp_closed_oversize", "tcp_stalled_nomem", "tcp_closed_stuck", "tcp_replies",
	"bytes_in", "bytes_out", "udp_replies", "udp_dropped_guard", "udp_dropped_allow",
	"udp_dropped_oversize", "udp_dropped_malformed", "udp_dropped_nomem",
	"udp_dropped_send", "udp_dropped_rate", "udp_dropped_short", "reloads_ok", "reloads_failed", "pool_mem_limit",
	"pool_bytes_owned", "pool_bytes_in_use", "pool_bytes_idle", "pool_allocs",
	"pool_fresh", "pool_failures", "pool_too_large", "pool_released",
};

/* stats: every documented name, in a reply ending in END; the socket is
 * 0660 and goes away at exit. */
START_TEST(test_ctl_stats)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	char path[CTL_PATH_MAX], word[64];
	struct stat st;

	ctl_init(&d);
	lh_start_ok(&d);
	ctl_path(&d, path, sizeof(path));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]); i++) {
		char key[96];
		snprintf(key, sizeof(key), "STAT %s ", stats_names[i]);
		ck_assert_msg(strstr(buf, key) != NULL, "no %s in \"%s\"", stats_names[i], buf);
	}
	lt_stat_word(buf, "version", word, sizeof(word));
	ck_assert_str_eq(word, PACKAGE_VERSION);
	ck_assert_int_eq(lt_stat_of(buf, "threads"), 2);
	ck_assert_int_eq(lt_stat_of(buf, "pool_mem_limit"), 8 << 20);
	ck_assert_int_eq(lt_stat_of(buf, "connections_current"), 0);
	ck_assert(strcmp(buf + strlen(buf) - 4, "END\n") == 0);
	close(fd);
	lh_stop_ok(&d);
	ck_assert_int_ne(access(path, F_OK), 0);
	lh_cleanup(&d);
}
END_TEST

/* N TCP and N UDP echoes move the reply counters by exactly N, in stats,
 * stats listeners and stats workers; stats pool shows every tier. */
START_TEST(test_ctl_counters)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	int tcp;
	char word[64];

	ctl_init(&d);
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "tcp_replies"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "udp_replies"), 0);
	echo_traffic(&d, &tcp);

	ck_assert_int_eq(stat_wait(fd, "stats", "udp_replies", N_ECHO), N_ECHO);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "tcp_replies"), N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "udp_replies"), N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "connections_total"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "tcp_accepted"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "connections_current"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "bytes_in"), 8 * N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "bytes_out"), 8 * N_ECHO);

	lt_ctl_cmd(fd, "stats listeners", buf, sizeof(buf));
	lt_stat_word(buf, "listener_0:proto", word, sizeof(word));
	ck_assert_str_eq(word, "tcp");
	lt_stat_word(buf, "listener_1:proto", word, sizeof(word));
	ck_assert_str_eq(word, "udp");
	lt_stat_word(buf, "listener_0:address", word, sizeof(word));
	ck_assert_str_eq(word, "127.0.0.1");
	lt_stat_word(buf, "listener_0:mode", word, sizeof(word));
	ck_assert_str_eq(word, "echo");
	lt_stat_word(buf, "listener_0:origin", word, sizeof(word));
	ck_assert_str_eq(word, "bound");
	ck_assert_int_eq(lt_stat_of(buf, "listener_0:port"), d.ls[0].port);
	ck_assert_int_eq(lt_stat_of(buf, "listener_1:port"), d.ls[1].port);
	ck_assert_int_eq(lt_stat_of(buf, "listener_0:accepted"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "listener_0:replies"), N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "listener_1:replies"), N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "listener_0:bytes_in"), 4 * N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "listener_1:bytes_out"), 4 * N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "listener_2:replies"), -1);

	lt_ctl_cmd(fd, "stats workers", buf, sizeof(buf));
	long long w0 = lt_stat_of(buf, "worker_0:replies"), w1 = lt_stat_of(buf, "worker_1:replies");
	ck_assert_int_eq(w0 + w1, 2 * N_ECHO);
	ck_assert_int_eq(lt_stat_of(buf, "worker_0:connections") +
			 lt_stat_of(buf, "worker_1:connections"), 1);
	ck_assert_int_ge(lt_stat_of(buf, "worker_0:loop_turns"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "worker_2:replies"), -1);

	lt_ctl_cmd(fd, "stats pool", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "tier_0:capacity"), 4096);
	ck_assert_int_eq(lt_stat_of(buf, "tier_6:capacity"), 8 << 20);
	ck_assert_int_eq(lt_stat_of(buf, "tier_7:capacity"), -1);
	long long allocs = 0, owned = 0;
	for (int t = 0; t < 7; t++) {
		char name[32];
		snprintf(name, sizeof(name), "tier_%d:allocs", t);
		allocs += lt_stat_of(buf, name);
		snprintf(name, sizeof(name), "tier_%d:owned", t);
		long long n = lt_stat_of(buf, name);
		snprintf(name, sizeof(name), "tier_%d:peak_owned", t);
		ck_assert_int_ge(lt_stat_of(buf, name), n); /* the high-water mark */
		snprintf(name, sizeof(name), "tier_%d:capacity", t);
		owned += n * lt_stat_of(buf, name);
	}
	ck_assert_int_ge(allocs, 2 * N_ECHO); /* a buffer per read, per datagram */
	ck_assert_int_eq(lt_stat_of(buf, "mem_limit"), 8 << 20);
	ck_assert_int_eq(lt_stat_of(buf, "bytes_owned"), owned);
	ck_assert_int_ge(lt_stat_of(buf, "peak_bytes_owned"), owned);
	/* larsd's pressure marks: 90% and 70% of mem_limit (memwatch.h). */
	ck_assert_int_eq(lt_stat_of(buf, "pressure_high_mark"), (8 << 20) * 9 / 10);
	ck_assert_int_eq(lt_stat_of(buf, "pressure_low_mark"), (8 << 20) * 7 / 10);
	ck_assert_int_eq(lt_stat_of(buf, "pressure_above"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "pressure_high_events"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "pressure_refusals"), 0);
	close(tcp);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* stats reset: counters from zero, gauges as they are. */
START_TEST(test_ctl_reset)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	int tcp;

	ctl_init(&d);
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	echo_traffic(&d, &tcp);
	ck_assert_int_eq(stat_wait(fd, "stats", "udp_replies", N_ECHO), N_ECHO);
	lt_ctl_cmd(fd, "stats reset", buf, sizeof(buf));
	ck_assert_str_eq(buf, "OK\n");
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "tcp_replies"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "udp_replies"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "connections_total"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "bytes_in"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "pool_allocs"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "connections_current"), 1); /* a gauge */
	ck_assert_int_eq(lt_stat_of(buf, "pool_mem_limit"), 8 << 20);
	ck_assert_int_gt(lt_stat_of(buf, "pool_bytes_owned"), 0);
	lt_ctl_cmd(fd, "stats listeners", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "listener_0:replies"), 0);
	ck_assert_int_eq(lt_stat_of(buf, "listener_1:replies"), 0);
	lt_ctl_cmd(fd, "stats workers", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "worker_0:replies") + lt_stat_of(buf, "worker_1:replies"), 0);
	/* and counting again from there */
	ck_assert(lh_tcp_roundtrip(tcp, "again", 5));
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "tcp_replies"), 1);
	close(tcp);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* reload: OK and counted; a broken file gives ERROR FILE:LINE: ..., and
 * larsd keeps serving with the running configuration. */
START_TEST(test_ctl_reload)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	char expect[PATH_MAX + 32];

	ctl_init(&d);
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "reload", buf, sizeof(buf));
	ck_assert_str_eq(buf, "OK\n");
	lh_write_file(d.conf_path, "larsd: {\n  threads = 0;\n};\n");
	lt_ctl_cmd(fd, "reload", buf, sizeof(buf));
	snprintf(expect, sizeof(expect), "ERROR %s:2: ", d.conf_path);
	ck_assert_msg(strncmp(buf, expect, strlen(expect)) == 0, "expected \"%s...\", got \"%s\"",
		      expect, buf);
	ck_assert_msg(strchr(buf, '\n') == buf + strlen(buf) - 1, "not one line: \"%s\"", buf);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "reloads_ok"), 1);
	ck_assert_int_eq(lt_stat_of(buf, "reloads_failed"), 1);
	lt_check_listener(&d.ls[0], 1);
	lt_check_listener(&d.ls[1], 2);
	ck_assert(lh_alive(&d));
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* version, help, unknown commands, "\r\n", garbage, several in one write. */
START_TEST(test_ctl_misc)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	char expect[64];

	ctl_init(&d);
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	snprintf(expect, sizeof(expect), "VERSION %s\n", PACKAGE_VERSION);
	lt_ctl_cmd(fd, "version", buf, sizeof(buf));
	ck_assert_str_eq(buf, expect);
	lt_ctl_cmd(fd, "version\r", buf, sizeof(buf));
	ck_assert_str_eq(buf, expect);
	lt_ctl_cmd(fd, "help", buf, sizeof(buf));
	ck_assert_str_eq(buf, "stats\nstats pool\nstats listeners\nstats workers\nstats sessions\n"
			      "stats reset\nreload\nversion\nhelp\nEND\n");
	lt_ctl_cmd(fd, "frobnicate", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ERROR unknown command\n");
	lt_ctl_cmd(fd, "stats bogus", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ERROR unknown command\n");
	lt_ctl_cmd(fd, "VERSION", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ERROR unknown command\n");
	static const char garbage[] = "\x00\xff\x01stats\x00\t\x80\n";
	ck_assert(lh_send_all(fd, garbage, sizeof(garbage) - 1));
	ck_assert(lt_ctl_read_reply(fd, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "ERROR unknown command\n");
	/* two commands in one write: two replies, in order */
	ck_assert(lh_send_all(fd, "version\nbogus\n", 14));
	size_t got = 0, want = strlen(expect) + strlen("ERROR unknown command\n");
	while (got < want) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	ck_assert_str_eq(buf + strlen(expect), "ERROR unknown command\n");
	ck_assert(strncmp(buf, expect, strlen(expect)) == 0);
	close(fd);
	/* as "echo stats | nc -U": commands, shutdown, every reply, EOF */
	fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_send_all(fd, "stats\nstats pool\nversion\n", 25));
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert(read_to_eof(fd, buf, sizeof(buf)));
	ck_assert_int_eq(lt_stat_of(buf, "threads"), 2);
	ck_assert_int_eq(lt_stat_of(buf, "tier_0:capacity"), 4096);
	ck_assert_msg(strstr(buf, expect) != NULL && strcmp(buf + strlen(buf) - strlen(expect), expect) == 0,
		      "the replies do not end in \"%s\": \"%s\"", expect, buf);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- hostile clients --------------------------------------------------------- */

/* A 1 MB line: "ERROR line too long", closed; larsd fine. */
START_TEST(test_ctl_long_line)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	size_t big = 1 << 20;
	char *line = malloc(big);

	ck_assert_ptr_nonnull(line);
	memset(line, 'x', big);
	ctl_init(&d);
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	/* larsd closes after 1 KiB: the rest fails with EPIPE, which is fine */
	ssize_t n = send(fd, line, big, MSG_NOSIGNAL);
	ck_assert_msg(n < (ssize_t)big, "larsd took 1 MB without a newline");
	ck_assert(read_to_eof(fd, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "ERROR line too long\n");
	close(fd);
	/* 1025 bytes with their newline: too long as well */
	fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	line[1025] = '\n';
	ck_assert(lh_send_all(fd, line, 1026));
	ck_assert(read_to_eof(fd, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "ERROR line too long\n");
	close(fd);
	/* 1024 bytes and "\r\n" are a line, just an unknown command */
	fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	line[1024] = '\r';
	line[1025] = '\n';
	ck_assert(lh_send_all(fd, line, 1026));
	ck_assert(lt_ctl_read_reply(fd, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "ERROR unknown command\n");
	close(fd);
	free(line);
	fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "threads"), 2);
	close(fd);
	lt_check_listener(&d.ls[0], 3);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* 100 idle clients: the first 16 are served, the others refused at once;
 * a slot freed serves a well-behaved client; echo goes on. */
START_TEST(test_ctl_many_clients)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	int fds[100];

	ctl_init(&d);
	lh_start_ok(&d);
	for (int i = 0; i < 100; i++) {
		fds[i] = ctl_connect(&d);
		ck_assert_msg(fds[i] >= 0, "connect %d: %s", i, strerror(errno));
	}
	for (int i = 16; i < 100; i++) {
		ck_assert_msg(read_to_eof(fds[i], buf, sizeof(buf)), "client %d: no EOF", i);
		ck_assert_str_eq(buf, "ERROR too many clients\n");
		close(fds[i]);
	}
	lt_ctl_cmd(fds[15], "version", buf, sizeof(buf));
	ck_assert(strncmp(buf, "VERSION ", 8) == 0);
	close(fds[0]);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "threads"), 2);
	lt_check_listener(&d.ls[0], 4);
	lt_check_listener(&d.ls[1], 5);
	close(fd);
	for (int i = 1; i < 16; i++)
		close(fds[i]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A client that sends stats over and over and never reads is closed once
 * its unread replies pass the bound; another client is served meanwhile. */
START_TEST(test_ctl_no_reader)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d;
	bool closed = false;

	ctl_init(&d);
	lh_start_ok(&d);
	int hog = ctl_connect(&d), fd = ctl_connect(&d);
	ck_assert_int_ge(hog, 0);
	ck_assert_int_ge(fd, 0);
	uint64_t end = lh_now_ms() + 8000;
	size_t sent = 0;
	while (!closed && lh_now_ms() < end) {
		ssize_t n = send(hog, "stats\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			closed = true;
		else if (n < 0)
			lh_sleep_ms(1);
		else
			sent++;
		if (sent % 100 == 0) {
			lt_ctl_cmd(fd, "version", buf, sizeof(buf));
			ck_assert(strncmp(buf, "VERSION ", 8) == 0);
		}
	}
	ck_assert_msg(closed, "a client that never reads was not closed (%zu stats sent)", sent);
	lt_ctl_cmd(fd, "stats", buf, sizeof(buf));
	ck_assert_int_eq(lt_stat_of(buf, "threads"), 2);
	lt_check_listener(&d.ls[0], 6);
	close(hog);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- the key ------------------------------------------------------------------ */

/* control = "": no socket, and no word of one in the log. */
START_TEST(test_ctl_off)
{
	struct lh_daemon d;
	char path[CTL_PATH_MAX];

	ctl_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  control = \"\";\n");
	lh_start_ok(&d);
	lt_check_listener(&d.ls[0], 7);
	ctl_path(&d, path, sizeof(path));
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert(!lh_stderr_has(&d, "control socket"));
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* control is read at start: a reload that moves it keeps the socket
 * open where it is and says so, each time, as long as the file differs
 * from what runs; a file that names the open socket again says nothing. */
START_TEST(test_ctl_key_at_start)
{
	struct lh_daemon d;
	char path[CTL_PATH_MAX], moved[CTL_PATH_MAX + 8], notice[CTL_PATH_MAX + 80];

	ctl_init(&d);
	ctl_path(&d, path, sizeof(path));
	lh_start_ok(&d);
	snprintf(moved, sizeof(moved), "%s.moved", path);
	snprintf(notice, sizeof(notice),
		 "<5>reload: control = \"%s\" takes effect at the next start", moved);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  control = \"%s\";\n", moved);
	lh_write_conf(&d);
	lt_reload(&d);
	lt_reload(&d);
	ck_assert_int_eq(lh_stderr_count(&d, notice), 2);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  control = \"%s\";\n", path);
	lh_write_conf(&d);
	lt_reload(&d);
	ck_assert_int_eq(lh_stderr_count(&d, "reload: control"), 2);
	ck_assert_int_ne(access(moved, F_OK), 0);
	int fd = ctl_connect(&d);
	ck_assert_msg(fd >= 0, "the control socket moved or closed on reload");
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* larsd -t: a relative path and one too long for sun_path are FILE:LINE
 * errors. */
START_TEST(test_ctl_bad_value)
{
	struct lh_daemon d;
	const char *args[] = {"-t", "-c", NULL, NULL};
	static const char *const bad[] = {
		"  control = \"run/larsd.sock\";\n",
		("  control = \"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\";\n"), /* too long */
		"  control = 7;\n",
	};
	char prefix[PATH_MAX + 32];

	lh_init(&d);
	lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	args[2] = d.conf_path;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n%s", bad[i]);
		lh_write_conf(&d);
		unlink(d.err_path);
		int code = lh_run(&d, args, 5000);
		char *err = lh_read_file(d.err_path);
		snprintf(prefix, sizeof(prefix), "%s:3: 'control'", d.conf_path);
		ck_assert_msg(code == 1, "case %zu: exit code %d", i, code);
		ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
			      "case %zu: expected \"%s...\", got \"%s\"", i, prefix, err);
		free(err);
	}
	lh_cleanup(&d);
}
END_TEST

/* A directory that does not exist: one warning naming the path and the
 * cause, and larsd serves. */
START_TEST(test_ctl_no_dir)
{
	struct lh_daemon d;
	char path[CTL_PATH_MAX], warning[PATH_MAX + 64];

	ctl_init(&d);
	int n = snprintf(path, sizeof(path), "%s/missing/control", d.dir);
	ck_assert(n > 0 && n < CTL_PATH_MAX);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  control = \"%s\";\n", path);
	lh_start_ok(&d);
	lt_check_listener(&d.ls[0], 8);
	lt_check_listener(&d.ls[1], 9);
	snprintf(warning, sizeof(warning), "<4>control socket %s: No such file or directory", path);
	ck_assert_msg(lh_stderr_has(&d, warning), "no \"%s\" in the log", warning);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A file that is not a socket is left alone: a warning, and larsd serves. */
START_TEST(test_ctl_not_a_socket)
{
	struct lh_daemon d;
	char path[CTL_PATH_MAX], warning[CTL_PATH_MAX + 64];
	struct stat st;

	ctl_init(&d);
	ctl_path(&d, path, sizeof(path));
	lh_write_file(path, "precious\n");
	lh_start_ok(&d);
	lt_check_listener(&d.ls[0], 10);
	snprintf(warning, sizeof(warning), "<4>control socket %s: Address already in use", path);
	ck_assert_msg(lh_stderr_has(&d, warning), "no \"%s\" in the log", warning);
	lh_stop_ok(&d);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	char *text = lh_read_file(path);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	lh_cleanup(&d);
}
END_TEST

/* A stale socket file is replaced; a second larsd on a live one fails. */
START_TEST(test_ctl_stale_and_second)
{
	static char buf[REPLY_MAX];
	struct lh_daemon d, d2;
	char path[CTL_PATH_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	ctl_init(&d);
	ctl_path(&d, path, sizeof(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(stale, 0);
	ck_assert_int_eq(bind(stale, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(stale); /* the file stays, nobody answers */
	lh_start_ok(&d);
	int fd = ctl_connect(&d);
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "version", buf, sizeof(buf));
	ck_assert(strncmp(buf, "VERSION ", 8) == 0);
	close(fd);

	lh_init(&d2);
	lh_add(&d2, "tcp", "127.0.0.1", "echo", false);
	snprintf(d2.settings, sizeof(d2.settings), "  threads = 1;\n  control = \"%s\";\n", path);
	const char *args[] = {"-c", d2.conf_path, NULL};
	lh_write_conf(&d2);
	ck_assert_int_eq(lh_run(&d2, args, 5000), 1);
	ck_assert(lh_stderr_has(&d2, "another larsd answers"));
	lh_cleanup(&d2);
	fd = ctl_connect(&d); /* the first one's socket is still there */
	ck_assert_int_ge(fd, 0);
	lt_ctl_cmd(fd, "version", buf, sizeof(buf));
	ck_assert(strncmp(buf, "VERSION ", 8) == 0);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_control(Suite *s)
{
	testutil_add(s, "ctl_stats", test_ctl_stats, 10);
	testutil_add(s, "ctl_counters", test_ctl_counters, 15);
	testutil_add(s, "ctl_reset", test_ctl_reset, 15);
	testutil_add(s, "ctl_reload", test_ctl_reload, 15);
	testutil_add(s, "ctl_misc", test_ctl_misc, 10);
	testutil_add(s, "ctl_long_line", test_ctl_long_line, 10);
	testutil_add(s, "ctl_many_clients", test_ctl_many_clients, 15);
	testutil_add(s, "ctl_no_reader", test_ctl_no_reader, 15);
	testutil_add(s, "ctl_off", test_ctl_off, 10);
	testutil_add(s, "ctl_key_at_start", test_ctl_key_at_start, 15);
	testutil_add(s, "ctl_bad_value", test_ctl_bad_value, 10);
	testutil_add(s, "ctl_no_dir", test_ctl_no_dir, 10);
	testutil_add(s, "ctl_not_a_socket", test_ctl_not_a_socket, 10);
	testutil_add(s, "ctl_stale_second", test_ctl_stale_and_second, 15);
}
