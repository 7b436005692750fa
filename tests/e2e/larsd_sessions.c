/*
 * larsd_sessions.c - larsd end to end: measuring sessions (larsd.conf(5)
 * sessions, larsd(8) MEASURING).
 *
 * Two real larsd: A reflects (mode "stamp"), B measures it.  Between
 * them the impairment relay (tests/impair/relay.c), which drops,
 * duplicates, reorders and delays by a fixed schedule and reports what it
 * did: B's books must say exactly that.
 *
 *   sessions_truth     lost = the relay's drops both ways, duplicates =
 *                      its copies both ways, reordered = its reorderings,
 *                      no late or corrupt reply, round trips no shorter
 *                      than twice its delay
 *   sessions_split     against a stateful reflector: forward and backward
 *                      losses exactly the relay's drops each way
 *   sessions_restart   A stops for a second and starts again: a burst of
 *                      loss, and the session goes on
 *   sessions_reload    a reload keeps an unchanged session's books and
 *                      schedule, starts a changed one afresh, adds and
 *                      removes others
 *   sessions_auth      authenticated: the right key measures, another key
 *                      loses everything and counts nothing corrupt
 *   sessions_ipv6      a session to ::1 by name ("localhost" may be either)
 *   sessions_wire      what goes on the wire, read by a plain socket: the
 *                      packet's size, its DSCP, the SSID, consecutive
 *                      sequence numbers from 0, zero padding
 *   sessions_unresolved a peer whose name does not resolve: one line on
 *                      stderr, nothing sent or counted, larsd goes on
 */
#include "config.h"

#include "larsd_tests.h"
#include "stamp_wire.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RELAY_PATH
#define RELAY_PATH "tests/impair/impair-relay"
#endif
#define REPLY_MAX (64 * 1024)
#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

/* ---- the relay ----------------------------------------------------------- */

struct relay {
	pid_t pid;
	uint16_t port;
	char report[PATH_MAX];
};

/* Start the relay in front of 127.0.0.1:to with the schedule in opts
 * (NULL-terminated); it reports into dir.  ck_asserts. */
static void relay_start(struct relay *r, const char *dir, uint16_t to, const char *const *opts)
{
	char to_arg[32], line[128];
	const char *args[32] = {RELAY_PATH, "--listen", "127.0.0.1:0", "--to", to_arg, "--report",
				r->report, "--duration", "120"};
	size_t n = 9;
	int out[2];

	snprintf(to_arg, sizeof(to_arg), "127.0.0.1:%u", (unsigned)to);
	snprintf(r->report, sizeof(r->report), "%s/relay.report", dir);
	for (size_t i = 0; opts[i] && n < 31; i++)
		args[n++] = opts[i];
	args[n] = NULL;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDOUT_FILENO);
		execv(RELAY_PATH, (char *const *)args);
		_exit(127);
	}
	close(out[1]);
	struct pollfd p = {out[0], POLLIN, 0};
	ssize_t got = poll(&p, 1, 5000) == 1 ? read(out[0], line, sizeof(line) - 1) : -1;
	close(out[0]);
	ck_assert_msg(got > 0, "the relay did not say where it listens");
	line[got] = '\0';
	const char *colon = strrchr(line, ':');
	ck_assert_msg(strncmp(line, "listening ", 10) == 0 && colon, "the relay said \"%s\"", line);
	r->port = (uint16_t)strtoul(colon + 1, NULL, 10);
}

/* Stop it and read `key` of its final report ("fwd_dropped" ...). */
static void relay_stop(struct relay *r)
{
	int status;

	kill(r->pid, SIGTERM);
	ck_assert_int_eq(waitpid(r->pid, &status, 0), r->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the relay ended with %d",
		      status);
}

static long long relay_count(const struct relay *r, const char *key)
{
	char *text = lh_read_file(r->report), want[64];
	long long v = -1;

	snprintf(want, sizeof(want), "%s ", key);
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, want, strlen(want)) == 0)
			v = strtoll(p + strlen(want), NULL, 10);
	free(text);
	return v;
}

/* ---- the two daemons ----------------------------------------------------- */

/* A: a STAMP reflector on 127.0.0.1 (keys: more of its listener). */
static void reflector_start(struct lh_daemon *a, const char *keys)
{
	lh_init(a);
	size_t l = lh_add(a, "udp", "127.0.0.1", "stamp", false);
	a->ls[l].keys = keys;
	lh_start_ok(a);
}

/* B: measures, with the sessions list `sessions` (the inside of "( )"). */
static void measurer_start(struct lh_daemon *b, const char *sessions)
{
	lh_init(b);
	lh_add(b, "tcp", "127.0.0.1", "echo", true);
	snprintf(b->top, sizeof(b->top), "sessions = (\n%s\n);\n", sessions);
	lh_start_ok(b);
}

/* "stats sessions" of B into buf. */
static void sessions_of(struct lh_daemon *b, char *buf)
{
	char path[sizeof(b->dir) + 16];

	snprintf(path, sizeof(path), "%s/control", b->dir);
	int fd = lt_ctl_connect_path(path);
	ck_assert_msg(fd >= 0, "cannot reach %s", path);
	lt_ctl_cmd(fd, "stats sessions", buf, REPLY_MAX);
	close(fd);
}

static long long field(const char *buf, unsigned i, const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "session_%u:%s", i, name);
	return lt_stat_of(buf, key);
}

/* Wait until session i has sent `sent` packets (bounded); its books then. */
static void wait_sent(struct lh_daemon *b, unsigned i, long long sent, char *buf, int max_ms)
{
	for (uint64_t end = lh_now_ms() + (uint64_t)max_ms;;) {
		sessions_of(b, buf);
		if (field(buf, i, "sent") >= sent)
			return;
		ck_assert_msg(lh_now_ms() < end, "session %u sent %lld of %lld in %d ms:\n%s", i,
			      field(buf, i, "sent"), sent, max_ms, buf);
		lh_sleep_ms(50);
	}
}

/* The n-th number of "STAT session_i:name a,b,c,..." (0: the first). */
static double nth(const char *buf, unsigned i, const char *name, int n)
{
	char key[96], word[512];

	snprintf(key, sizeof(key), "session_%u:%s", i, name);
	lt_stat_word(buf, key, word, sizeof(word));
	const char *p = word;
	for (int k = 0; k < n && p; k++)
		p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
	ck_assert_msg(p && *p && *p != '-', "no value %d in \"%s %s\"", n, key, word);
	return strtod(p, NULL);
}

static char *key_file(const struct lh_daemon *d, const char *name, const char *hex)
{
	static char path[PATH_MAX];
	char text[160];

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	snprintf(text, sizeof(text), "%s\n", hex);
	lh_write_file(path, text);
	ck_assert_int_eq(chmod(path, 0600), 0);
	return path;
}

/* ---- the cases ------------------------------------------------------------- */

START_TEST(test_sessions_truth)
{
	struct lh_daemon a, b;
	struct relay r;
	static char buf[REPLY_MAX];
	char list[512];

	reflector_start(&a, NULL);
	relay_start(&r, a.dir, a.ls[0].port,
		    (const char *[]){"--drop-fwd", "list:5,17", "--drop-back", "list:30",
				     "--dup-fwd", "list:10", "--dup-back", "list:25",
				     "--reorder-back", "list:35", "--reorder-fwd", "list:38",
				     "--delay-ms", "5", NULL});
	snprintf(list, sizeof(list),
		 "  { name = \"through-relay\"; peer = \"127.0.0.1\"; port = %u; rate = 50; timeout = 1; }",
		 (unsigned)r.port);
	measurer_start(&b, list);
	/* Past packet 100, every packet up to 60 is decided (1 s timeout). */
	wait_sent(&b, 0, 150, buf, 15000);
	relay_stop(&r);
	printf("# relay: fwd dropped %lld duplicated %lld reordered %lld; back dropped %lld "
	       "duplicated %lld reordered %lld\n",
	       relay_count(&r, "fwd_dropped"), relay_count(&r, "fwd_duplicated"),
	       relay_count(&r, "fwd_reordered"), relay_count(&r, "back_dropped"),
	       relay_count(&r, "back_duplicated"), relay_count(&r, "back_reordered"));
	printf("# session: sent %lld received %lld lost %lld late %lld duplicates %lld reordered "
	       "%lld corrupt %lld; rtt min %.1f us\n",
	       field(buf, 0, "sent"), field(buf, 0, "received"), field(buf, 0, "lost"),
	       field(buf, 0, "late"), field(buf, 0, "duplicates"), field(buf, 0, "reordered"),
	       field(buf, 0, "corrupt"), nth(buf, 0, "rtt_us", 4));
	ck_assert_int_eq(relay_count(&r, "fwd_dropped") + relay_count(&r, "back_dropped"), 3);
	ck_assert_int_eq(field(buf, 0, "lost"), 3);
	ck_assert_int_eq(field(buf, 0, "duplicates"),
			 relay_count(&r, "fwd_duplicated") + relay_count(&r, "back_duplicated"));
	ck_assert_int_eq(field(buf, 0, "duplicates"), 2);
	ck_assert_int_eq(field(buf, 0, "reordered"),
			 relay_count(&r, "fwd_reordered") + relay_count(&r, "back_reordered"));
	ck_assert_int_eq(field(buf, 0, "reordered"), 2);
	ck_assert_int_eq(field(buf, 0, "late"), 0);
	ck_assert_int_eq(field(buf, 0, "corrupt"), 0);
	ck_assert_int_eq(field(buf, 0, "send_errors"), 0);
	/* Twice the relay's 5 ms, at the least. */
	ck_assert_msg(nth(buf, 0, "rtt_us", 4) >= 10000, "a round trip under 10 ms: %.1f us",
		      nth(buf, 0, "rtt_us", 4));
	ck_assert_int_eq(lt_stat_of(buf, "sessions"), 1);
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_split)
{
	struct lh_daemon a, b;
	struct relay r;
	static char buf[REPLY_MAX];
	char list[512];

	reflector_start(&a, "stateful = true;");
	relay_start(&r, a.dir, a.ls[0].port,
		    (const char *[]){"--drop-fwd", "list:5,17,33", "--drop-back", "list:10,25", NULL});
	snprintf(list, sizeof(list),
		 "  { name = \"split\"; peer = \"127.0.0.1\"; port = %u; rate = 50; timeout = 1; }",
		 (unsigned)r.port);
	measurer_start(&b, list);
	wait_sent(&b, 0, 150, buf, 15000);
	relay_stop(&r);
	printf("# session: lost %lld, forward %lld, backward %lld\n", field(buf, 0, "lost"),
	       field(buf, 0, "forward_lost"), field(buf, 0, "backward_lost"));
	ck_assert_int_eq(field(buf, 0, "lost"), 5);
	ck_assert_int_eq(field(buf, 0, "forward_lost"), relay_count(&r, "fwd_dropped"));
	ck_assert_int_eq(field(buf, 0, "forward_lost"), 3);
	ck_assert_int_eq(field(buf, 0, "backward_lost"), relay_count(&r, "back_dropped"));
	ck_assert_int_eq(field(buf, 0, "backward_lost"), 2);
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_restart)
{
	struct lh_daemon a, b;
	static char buf[REPLY_MAX];
	char list[512];

	reflector_start(&a, "stateful = true;");
	snprintf(list, sizeof(list),
		 "  { name = \"restart\"; peer = \"127.0.0.1\"; port = %u; rate = 20; timeout = 0.5; }",
		 (unsigned)a.ls[0].port);
	measurer_start(&b, list);
	wait_sent(&b, 0, 20, buf, 10000);
	ck_assert_int_eq(field(buf, 0, "lost"), 0);
	lh_stop_ok(&a);
	lh_sleep_ms(1000); /* 20 packets into a closed port */
	lh_start_ok(&a);
	sessions_of(&b, buf);
	long long sent = field(buf, 0, "sent"), received = field(buf, 0, "received");
	wait_sent(&b, 0, sent + 40, buf, 10000);
	long long lost = field(buf, 0, "lost");
	printf("# a second down: lost %lld (forward %lld, backward %lld), received %lld then %lld\n",
	       lost, field(buf, 0, "forward_lost"), field(buf, 0, "backward_lost"), received,
	       field(buf, 0, "received"));
	ck_assert_msg(lost >= 10 && lost <= 40, "lost %lld in a second's outage at 20/s", lost);
	ck_assert_msg(field(buf, 0, "received") >= received + 30,
		      "the session did not go on after the restart:\n%s", buf);
	/* The outage is the reflector's: the packets never reached it. */
	ck_assert_int_eq(field(buf, 0, "forward_lost"), lost);
	ck_assert_int_eq(field(buf, 0, "backward_lost"), 0);
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_reload)
{
	struct lh_daemon a, b;
	static char buf[REPLY_MAX];
	char list[1024];
	unsigned port;

	reflector_start(&a, NULL);
	port = a.ls[0].port;
	snprintf(list, sizeof(list),
		 "  { name = \"kept\"; peer = \"127.0.0.1\"; port = %u; rate = 20; },\n"
		 "  { name = \"changed\"; peer = \"127.0.0.1\"; port = %u; rate = 20; },\n"
		 "  { name = \"removed\"; peer = \"127.0.0.1\"; port = %u; rate = 20; }",
		 port, port, port);
	measurer_start(&b, list);
	wait_sent(&b, 0, 20, buf, 10000);
	long long kept_before = field(buf, 0, "sent");

	snprintf(list, sizeof(list),
		 "  { name = \"added\"; peer = \"127.0.0.1\"; port = %u; rate = 20; },\n"
		 "  { name = \"kept\"; peer = \"127.0.0.1\"; port = %u; rate = 20; },\n"
		 "  { name = \"changed\"; peer = \"127.0.0.1\"; port = %u; rate = 40; }",
		 port, port, port);
	snprintf(b.top, sizeof(b.top), "sessions = (\n%s\n);\n", list);
	lh_write_conf(&b);
	lt_reload(&b);
	sessions_of(&b, buf);
	char name[64];
	lt_stat_word(buf, "session_0:name", name, sizeof(name));
	ck_assert_str_eq(name, "added");
	lt_stat_word(buf, "session_1:name", name, sizeof(name));
	ck_assert_str_eq(name, "kept");
	lt_stat_word(buf, "session_2:name", name, sizeof(name));
	ck_assert_str_eq(name, "changed");
	ck_assert_int_eq(lt_stat_of(buf, "sessions"), 3);
	ck_assert_int_eq(field(buf, 3, "sent"), -1);
	/* kept went on: its books from before, and no packet missed. */
	ck_assert_int_ge(field(buf, 1, "sent"), kept_before);
	ck_assert_int_lt(field(buf, 2, "sent"), kept_before); /* changed: afresh */
	wait_sent(&b, 1, kept_before + 20, buf, 10000);
	ck_assert_int_eq(field(buf, 1, "lost"), 0);
	ck_assert_int_eq(field(buf, 1, "received") + 2 >= field(buf, 1, "sent"), 1);
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_auth)
{
	struct lh_daemon a, b;
	static char buf[REPLY_MAX];
	char keys[PATH_MAX + 96], list[sizeof(b.top) - 32], good[PATH_MAX / 4], bad[PATH_MAX / 4];

	lh_init(&a);
	snprintf(keys, sizeof(keys), "authentication = \"hmac-sha256\"; key_file = \"%s\";",
		 key_file(&a, "a.key", KEY_A));
	size_t l = lh_add(&a, "udp", "127.0.0.1", "stamp", false);
	a.ls[l].keys = keys;
	lh_start_ok(&a);
	lh_init(&b);
	ck_assert_uint_lt(strlen(key_file(&b, "good.key", KEY_A)), sizeof(good));
	strcpy(good, key_file(&b, "good.key", KEY_A));
	ck_assert_uint_lt(strlen(key_file(&b, "bad.key", KEY_B)), sizeof(bad));
	strcpy(bad, key_file(&b, "bad.key", KEY_B));
	snprintf(list, sizeof(list),
		 "  { name = \"good\"; peer = \"127.0.0.1\"; port = %u; rate = 50; timeout = 0.5;\n"
		 "    authentication = \"hmac-sha256\"; key_file = \"%s\"; },\n"
		 "  { name = \"bad\"; peer = \"127.0.0.1\"; port = %u; rate = 50; timeout = 0.5;\n"
		 "    authentication = \"hmac-sha256\"; key_file = \"%s\"; size = 200; }",
		 (unsigned)a.ls[l].port, good, (unsigned)a.ls[l].port, bad);
	lh_add(&b, "tcp", "127.0.0.1", "echo", true);
	snprintf(b.top, sizeof(b.top), "sessions = (\n%s\n);\n", list);
	lh_start_ok(&b);
	wait_sent(&b, 1, 60, buf, 10000);
	lh_sleep_ms(600);
	sessions_of(&b, buf);
	ck_assert_int_ge(field(buf, 0, "received"), 50);
	ck_assert_int_eq(field(buf, 0, "lost"), 0);
	ck_assert_int_eq(field(buf, 0, "corrupt"), 0);
	ck_assert_int_eq(field(buf, 1, "received"), 0);
	ck_assert_int_ge(field(buf, 1, "lost"), 50);
	ck_assert_int_eq(field(buf, 1, "corrupt"), 0); /* dropped by the reflector, not answered */
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_ipv6)
{
	struct lh_daemon a, b;
	static char buf[REPLY_MAX];
	char list[512];

	if (!lt_have_v6()) {
		printf("# no ::1 here: skipped\n");
		return;
	}
	lh_init(&a);
	lh_add(&a, "udp", "::1", "stamp", false);
	lh_start_ok(&a);
	snprintf(list, sizeof(list),
		 "  { name = \"v6\"; peer = \"::1\"; port = %u; rate = 50; dscp = 46; size = 1000; }",
		 (unsigned)a.ls[0].port);
	measurer_start(&b, list);
	wait_sent(&b, 0, 30, buf, 10000);
	lh_sleep_ms(200);
	sessions_of(&b, buf);
	ck_assert_int_ge(field(buf, 0, "received"), 25);
	ck_assert_int_eq(field(buf, 0, "corrupt"), 0);
	ck_assert_int_eq(field(buf, 0, "send_errors"), 0);
	lh_stop_ok(&b);
	lh_stop_ok(&a);
	lh_cleanup(&b);
	lh_cleanup(&a);
}
END_TEST

START_TEST(test_sessions_wire)
{
	struct lh_daemon b;
	static char buf[REPLY_MAX];
	char list[512];
	uint16_t port;
	int one = 1, fd = lh_bind("udp", "127.0.0.1", 0, &port);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)), 0);
	snprintf(list, sizeof(list),
		 "  { name = \"wire\"; peer = \"127.0.0.1\"; port = %u; rate = 20; size = 100;"
		 " dscp = 46; ssid = 4242; }", (unsigned)port);
	measurer_start(&b, list);
	for (uint32_t want = 0; want < 3; want++) {
		unsigned char pkt[200], control[64];
		struct iovec iov = {pkt, sizeof(pkt)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				     .msg_controllen = sizeof(control)};
		struct pollfd p = {fd, POLLIN, 0};
		ck_assert_msg(poll(&p, 1, 3000) == 1, "no test packet %u in 3 s", want);
		ssize_t len = recvmsg(fd, &msg, 0);
		int tos = -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
				tos = *(unsigned char *)CMSG_DATA(cm);
		struct stamp_sender s;
		ck_assert_int_eq(len, 100);
		ck_assert_int_eq(stamp_sender_parse(pkt, (size_t)len, false, &s), 0);
		ck_assert_uint_eq(s.seq, want);
		ck_assert_uint_eq(s.ssid, 4242);
		ck_assert_int_eq(tos, 46 << 2);
		for (size_t i = STAMP_BASE_LEN; i < (size_t)len; i++)
			ck_assert_msg(pkt[i] == 0, "padding byte %zu is %u", i, pkt[i]);
	}
	close(fd);
	sessions_of(&b, buf);
	ck_assert_int_ge(field(buf, 0, "sent"), 3);
	lh_stop_ok(&b);
	lh_cleanup(&b);
}
END_TEST

START_TEST(test_sessions_unresolved)
{
	struct lh_daemon b;
	static char buf[REPLY_MAX];

	/* A resolver that cannot reach its server (a container without
	 * network) fails at its timeout: one try of one second. */
	lh_init(&b);
	lh_add(&b, "tcp", "127.0.0.1", "echo", true);
	b.env[0] = "RES_OPTIONS=timeout:1 attempts:1";
	snprintf(b.top, sizeof(b.top),
		 "sessions = ( { name = \"nowhere\"; peer = \"no-such-host.invalid\"; rate = 50; } );\n");
	lh_start_ok(&b);
	ck_assert_msg(lh_wait_stderr(&b, "cannot resolve peer no-such-host.invalid", 10000),
		      "no line about the name that does not resolve");
	lh_sleep_ms(300); /* a dozen packets' time: the retry waits 10 s, and says nothing more */
	ck_assert_int_eq(lh_stderr_count(&b, "cannot resolve peer"), 1);
	sessions_of(&b, buf);
	ck_assert_int_eq(field(buf, 0, "sent"), 0);
	ck_assert_int_eq(field(buf, 0, "send_errors"), 0);
	ck_assert_int_eq(field(buf, 0, "lost"), 0);
	lh_stop_ok(&b);
	lh_cleanup(&b);
}
END_TEST

void lt_add_sessions(Suite *s)
{
	testutil_add(s, "sessions_truth", test_sessions_truth, 30);
	testutil_add(s, "sessions_split", test_sessions_split, 30);
	testutil_add(s, "sessions_restart", test_sessions_restart, 30);
	testutil_add(s, "sessions_reload", test_sessions_reload, 30);
	testutil_add(s, "sessions_auth", test_sessions_auth, 30);
	testutil_add(s, "sessions_ipv6", test_sessions_ipv6, 20);
	testutil_add(s, "sessions_wire", test_sessions_wire, 20);
	testutil_add(s, "sessions_unresolved", test_sessions_unresolved, 30);
}
