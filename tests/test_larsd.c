/*
 * test_larsd.c - larsd end to end: the real daemon, real sockets.
 *
 * Each test starts its own larsd (tests/larsd_harness.c) with a config in
 * a private temporary directory, waits for READY=1 on its own abstract
 * NOTIFY_SOCKET, talks to it over loopback, and stops it with SIGTERM,
 * expecting exit status 0.  No fixed ports: most listeners are bound here
 * and passed by socket activation (LISTEN_FDS); some are given to the
 * daemon to bind, on a port just found free.  Counters are read from the
 * "stats: name=value" lines SIGUSR1 makes the daemon log.
 *
 * Covered: echo and lars over TCP and UDP, IPv4 and IPv6; a 4 MB
 * transfer; lars frames split at every byte, coalesced, over max_message,
 * malformed datagrams; `larsd -t` and start-up errors with FILE:LINE;
 * sd_notify READY/STATUS/RELOADING/STOPPING; socket activation; SIGHUP
 * with good and bad configs; SIGTERM during a transfer; a client that
 * never reads against MEM_LIMIT; max_connections; idle_timeout; the UDP
 * reflection guard; replies from a wildcard UDP listener; the allow-list.
 */
#include "config.h"

#include "larsd_harness.h"

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

#define BIG_TRANSFER ((size_t)4 << 20)
#define RSS_SLACK_KIB 4096L

/* ---- helpers -------------------------------------------------------------- */

static bool have_v6(void)
{
	return lh_address_usable("::1");
}

/* Send len bytes and read len bytes back at the same time; bytes read. */
static size_t transfer(int fd, const unsigned char *out, unsigned char *back, size_t len,
		       int timeout_ms)
{
	uint64_t deadline = lh_now_ms() + (uint64_t)timeout_ms;
	size_t sent = 0, got = 0;

	lh_nonblock(fd);
	while (got < len && lh_now_ms() < deadline) {
		struct pollfd p = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			size_t chunk = len - sent < 256 * 1024 ? len - sent : 256 * 1024;
			ssize_t n = send(fd, out + sent, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, back + got, len - got, MSG_DONTWAIT);
			if (n > 0)
				got += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	return got;
}

static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i = 0;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

/* An echo round trip on any listener, in its mode. */
static void check_listener(const struct lh_listen *l, int tag)
{
	unsigned char msg[64], back[128];
	char text[32];
	size_t len;

	snprintf(text, sizeof(text), "hello %s %d", l->proto, tag);
	if (strcmp(l->mode, "lars") == 0)
		len = lh_lars_frame(msg, tag, text, (uint32_t)strlen(text));
	else
		len = (size_t)snprintf((char *)msg, sizeof(msg), "%s", text);

	if (strcmp(l->proto, "tcp") == 0) {
		int fd = lh_tcp_connect_listener(l);
		ck_assert_msg(fd >= 0, "connect tcp %s port %u: %s", l->address,
			      (unsigned)l->port, strerror(errno));
		ck_assert_msg(lh_tcp_roundtrip(fd, msg, len), "no reply (%s mode) on tcp %s port %u",
			      l->mode, l->address, (unsigned)l->port);
		close(fd);
	} else {
		int fd = lh_udp_socket(l->address, l->port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ssize_t n = lh_udp_xchg(fd, msg, len, back, sizeof(back), 2000);
		ck_assert_msg(n == (ssize_t)len && memcmp(back, msg, len) == 0,
			      "no reply (%s mode) on udp %s port %u (got %zd)", l->mode, l->address,
			      (unsigned)l->port, n);
		close(fd);
	}
}

/* A lars listener must not answer half a frame: "hello" is no frame. */
static void check_lars_rejects_plain(const struct lh_listen *l)
{
	if (strcmp(l->proto, "tcp") == 0) {
		int fd = lh_tcp_connect_listener(l);
		ck_assert_int_ge(fd, 0);
		ck_assert(lh_send_all(fd, "hello", 5));
		ck_assert_msg(lh_quiet(fd, 150), "lars tcp answered a partial frame");
		close(fd);
	} else {
		char back[64];
		int fd = lh_udp_socket(l->address, l->port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(lh_udp_xchg(fd, "hello", 5, back, sizeof(back), 150) < 0,
			      "lars udp answered a malformed datagram");
		close(fd);
	}
}

static size_t count_from_systemd(const char *log)
{
	size_t n = 0;

	for (const char *p = log; (p = strstr(p, "from systemd")) != NULL; p++)
		n++;
	return n;
}

static void truncate_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

/* ---- echo ------------------------------------------------------------------ */

/* Every combination of proto, family and mode, on ports larsd binds
 * itself (the config-port path). */
START_TEST(test_echo_all_kinds)
{
	static const char *const protos[] = {"tcp", "udp"};
	static const char *const modes[] = {"echo", "lars"};
	const char *addrs[] = {"127.0.0.1", "::1"};
	size_t n_addrs = have_v6() ? 2 : 1;
	struct lh_daemon d;

	lh_init(&d);
	for (size_t a = 0; a < n_addrs; a++)
		for (size_t p = 0; p < 2; p++)
			for (size_t m = 0; m < 2; m++)
				lh_add(&d, protos[p], addrs[a], modes[m], false);
	lh_start_ok(&d);
	ck_assert_msg(!lh_stderr_has(&d, "from systemd"), "nothing was socket-activated");
	for (size_t i = 0; i < d.n_ls; i++) {
		check_listener(&d.ls[i], (int)i + 1);
		if (strcmp(d.ls[i].mode, "lars") == 0)
			check_lars_rejects_plain(&d.ls[i]);
	}
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), (long long)n_addrs * 2);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* 4 MB in and out at the same time, in echo mode and as lars frames of
 * every size up to max_message. */
START_TEST(test_tcp_large_transfer)
{
	struct lh_daemon d;
	unsigned char *out = malloc(BIG_TRANSFER + 70000), *back = malloc(BIG_TRANSFER + 70000);
	size_t len, got, at;
	uint32_t x = 12345;
	int fd;

	ck_assert(out && back);
	lh_init(&d);
	size_t echo = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t lars = lh_add(&d, "tcp", have_v6() ? "::1" : "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	lh_pattern(out, BIG_TRANSFER, 1, 0);
	fd = lh_tcp_connect_listener(&d.ls[echo]);
	ck_assert_int_ge(fd, 0);
	got = transfer(fd, out, back, BIG_TRANSFER, 8000);
	ck_assert_msg(got == BIG_TRANSFER, "echo: %zu of %zu bytes came back", got, BIG_TRANSFER);
	at = first_difference(out, back, got);
	ck_assert_msg(at == got, "echo: byte %zu differs", at);
	close(fd);

	/* Frames: random sizes, the largest allowed among them. */
	len = 0;
	for (int32_t id = 0; len < BIG_TRANSFER; id++) {
		uint32_t body;
		x = x * 1103515245u + 12345u;
		body = id == 3 ? 65527 : (x >> 8) % 65528;
		unsigned char *f = out + len;
		lh_lars_header(f, id, (int32_t)body);
		lh_pattern(f + 8, body, 2, len);
		len += 8 + body;
	}
	fd = lh_tcp_connect_listener(&d.ls[lars]);
	ck_assert_int_ge(fd, 0);
	got = transfer(fd, out, back, len, 8000);
	ck_assert_msg(got == len, "lars: %zu of %zu bytes came back", got, len);
	at = first_difference(out, back, got);
	ck_assert_msg(at == got, "lars: byte %zu differs", at);
	close(fd);

	lh_stop_ok(&d);
	lh_cleanup(&d);
	free(out);
	free(back);
}
END_TEST

/* ---- lars ------------------------------------------------------------------ */

/* One frame byte by byte: nothing comes back before its last byte; then
 * the same frame split in two at every offset. */
START_TEST(test_lars_split)
{
	struct lh_daemon d;
	unsigned char frame[64], back[64];
	const char *body = "split me at every byte";
	size_t len;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	len = lh_lars_frame(frame, 77, body, (uint32_t)strlen(body));
	for (size_t i = 0; i + 1 < len; i++) {
		ck_assert(lh_send_all(fd, frame + i, 1));
		lh_sleep_ms(1);
	}
	ck_assert_msg(lh_quiet(fd, 100), "lars echoed an incomplete frame");
	ck_assert(lh_send_all(fd, frame + len - 1, 1));
	ck_assert_uint_eq(lh_recv_exact(fd, back, len, 2000), len);
	ck_assert_mem_eq(back, frame, len);

	for (size_t k = 1; k < len; k++) {
		len = lh_lars_frame(frame, (int32_t)(1000 + k), body, (uint32_t)strlen(body));
		ck_assert(lh_send_all(fd, frame, k));
		lh_sleep_ms(2);
		ck_assert(lh_send_all(fd, frame + k, len - k));
		ck_assert_msg(lh_recv_exact(fd, back, len, 2000) == len, "split at %zu: no echo", k);
		ck_assert_msg(memcmp(back, frame, len) == 0, "split at %zu: echo differs", k);
	}
	/* An empty body, split inside the header. */
	for (size_t k = 1; k < 8; k++) {
		len = lh_lars_frame(frame, (int32_t)k, NULL, 0);
		ck_assert(lh_send_all(fd, frame, k));
		lh_sleep_ms(2);
		ck_assert(lh_send_all(fd, frame + k, len - k));
		ck_assert_uint_eq(lh_recv_exact(fd, back, len, 2000), len);
		ck_assert_mem_eq(back, frame, len);
	}
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* 300 frames in one write, then a frame cut short: exactly the complete
 * ones come back, the last one once it is complete. */
START_TEST(test_lars_coalesced)
{
	struct lh_daemon d;
	static unsigned char out[300 * 520 + 600], back[sizeof(out)];
	unsigned char body[600];
	size_t len = 0, whole;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	for (int i = 0; i < 300; i++) {
		uint32_t blen = (uint32_t)((i * 37) % 511);
		lh_pattern(body, blen, 3, (uint64_t)i << 16);
		len += lh_lars_frame(out + len, i, body, blen);
	}
	whole = len;
	lh_pattern(body, 500, 4, 0);
	len += lh_lars_frame(out + len, 300, body, 500);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_send_all(fd, out, whole + 100));
	ck_assert_uint_eq(lh_recv_exact(fd, back, whole, 3000), whole);
	ck_assert_msg(memcmp(back, out, whole) == 0, "coalesced frames came back changed");
	ck_assert_msg(lh_quiet(fd, 150), "part of an incomplete frame came back");
	ck_assert(lh_send_all(fd, out + whole + 100, len - whole - 100));
	ck_assert_uint_eq(lh_recv_exact(fd, back, len - whole, 2000), len - whole);
	ck_assert_mem_eq(back, out + whole, len - whole);
	close(fd);
	ck_assert_int_eq(lh_stat(&d, "tcp_replies"), 301);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A frame over max_message closes the connection and is counted; a frame
 * of exactly max_message is fine; a negative length is over the limit. */
START_TEST(test_lars_tcp_oversize)
{
	struct lh_daemon d;
	static unsigned char frame[1100];
	size_t len;

	lh_init(&d);
	strcat(d.settings, "  max_message = 1000;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	lh_pattern(frame + 8, 1000, 5, 0);
	len = lh_lars_frame(frame, 1, frame + 8, 1000);
	ck_assert_msg(lh_tcp_roundtrip(fd, frame, len), "a frame of max_message was refused");
	lh_lars_header(frame, 2, 1001);
	ck_assert(lh_send_all(fd, frame, 8));
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1,
		      "a frame over max_message did not close the connection");
	close(fd);

	fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	lh_lars_header(frame, 3, INT32_MIN);
	ck_assert(lh_send_all(fd, frame, 8));
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1, "a negative length did not close");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "tcp_closed_oversize"), 2);
	check_listener(&d.ls[l], 9); /* still serving */
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Complete frames before an oversized one, in the same segment, are still
 * echoed before the connection closes (as they are when they arrive in an
 * earlier segment). */
START_TEST(test_lars_tcp_good_then_oversize)
{
	struct lh_daemon d;
	unsigned char buf[128], back[128];
	size_t good;

	lh_init(&d);
	strcat(d.settings, "  max_message = 1000;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	good = lh_lars_frame(buf, 1, "good frame", 10);
	lh_lars_header(buf + good, 2, 1001);
	ck_assert(lh_send_all(fd, buf, good + 8));
	size_t got = lh_recv_exact(fd, back, good, 2000);
	ck_assert_msg(got == good && memcmp(back, buf, good) == 0,
		      "the complete frame before an oversized one was not echoed (%zu of %zu bytes)",
		      got, good);
	ck_assert_int_eq(lh_wait_closed(fd, 2000), 1);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Malformed and oversized datagrams get no reply; a good one right after
 * each does; each drop is counted. */
START_TEST(test_lars_udp_bad_datagrams)
{
	struct lh_daemon d;
	static unsigned char bad[1100], good[64], back[2048];
	struct { size_t len; int32_t claim; const char *what; bool oversize; } cases[] = {
		{0, 0, "empty", false},
		{5, 0, "shorter than a header", false},
		{8, 10, "header only, claims 10", false},
		{13, 10, "claims 10, carries 5", false},
		{18, 5, "claims 5, carries 10", false},
		{1009, 1001, "over max_message", true},
		{8, -5, "negative length", true},
	};
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	long long malformed = 0, oversize = 0;

	lh_init(&d);
	strcat(d.settings, "  max_message = 1000;\n");
	size_t l = lh_add(&d, "udp", have_v6() ? "::1" : "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_udp_socket(d.ls[l].address, d.ls[l].port, NULL, 0);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < n_cases; i++) {
		lh_pattern(bad, sizeof(bad), 6, i);
		if (cases[i].len >= 8)
			lh_lars_header(bad, (int32_t)i, cases[i].claim);
		ck_assert_int_eq(send(fd, bad, cases[i].len, 0), (ssize_t)cases[i].len);
		size_t glen = lh_lars_frame(good, (int32_t)(100 + i), "good", 4);
		ssize_t n = lh_udp_xchg(fd, good, glen, back, sizeof(back), 2000);
		ck_assert_msg(n == (ssize_t)glen && memcmp(back, good, glen) == 0,
			      "after a datagram %s: the first reply is not the good frame (%zd bytes)",
			      cases[i].what, n);
		if (cases[i].oversize)
			oversize++;
		else
			malformed++;
	}
	/* Exactly max_message is fine. */
	lh_pattern(bad + 8, 1000, 7, 0);
	size_t blen = lh_lars_frame(bad, 999, bad + 8, 1000);
	ck_assert_int_eq(lh_udp_xchg(fd, bad, blen, back, sizeof(back), 2000), (ssize_t)blen);
	ck_assert_mem_eq(back, bad, blen);
	ck_assert_msg(lh_quiet(fd, 200), "a late reply to a bad datagram");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "udp_dropped_malformed"), malformed);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_oversize"), oversize);
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), (long long)n_cases + 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- configuration errors -------------------------------------------------- */

#define L4 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; }\n"

static const struct bad_conf {
	const char *text;
	int line;
	const char *words;
} bad_confs[] = {
	{"larsd: {\n  threads = ;\n  listen = (\n" L4 "  );\n};\n", 2, "syntax error"},
	{"larsd: {\n  threads = 2;\n  colour = \"blue\";\n  listen = (\n" L4 "  );\n};\n", 3,
	 "unknown key 'colour'"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 0; }\n  );\n};\n",
	 4, "'port' is 0"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"udp\"; address = \"127.0.0.256\"; port = 7; }\n  );\n};\n",
	 4, "127.0.0.256"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"tcp\"; address = \"::1\"; port = 7777; },\n"
	 "    { proto = \"tcp\"; address = \"::1\"; port = 7777; }\n  );\n};\n",
	 5, "duplicate listener"},
	{"larsd: {\n  threads = 0;\n  listen = (\n" L4 "  );\n};\n", 2, "'threads' is 0"},
	{"larsd: {\n  threads = 2;\n  listen = (\n" L4 "  );\n};\n"
	 "bufpool: {\n  mem_limit = \"32K\";\n};\n",
	 8, "too small"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"sctp\"; address = \"127.0.0.1\"; port = 7777; }\n  );\n};\n",
	 4, "'proto' \"sctp\""},
	{"larsd: {\n  allow = [ \"10.0.0.0/33\" ];\n  listen = (\n" L4 "  );\n};\n", 2,
	 "10.0.0.0/33"},
};

/* larsd -t: each bad config fails with "FILE:LINE: message" at the right
 * line; nothing on stdout. */
START_TEST(test_check_bad_configs)
{
	struct lh_daemon d;
	const char *args[] = {"-t", "-c", NULL, NULL};
	char prefix[PATH_MAX + 32];

	lh_init(&d);
	args[2] = d.conf_path;
	for (size_t i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
		unlink(d.err_path);
		unlink(d.out_path);
		lh_write_file(d.conf_path, bad_confs[i].text);
		int code = lh_run(&d, args, 5000);
		char *err = lh_read_file(d.err_path), *out = lh_read_file(d.out_path);
		snprintf(prefix, sizeof(prefix), "%s:%d: ", d.conf_path, bad_confs[i].line);
		ck_assert_msg(code > 0 && code < 128, "case %zu: exit code %d", i, code);
		ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
			      "case %zu: expected \"%s...\", got \"%s\"", i, prefix, err);
		ck_assert_msg(strstr(err, bad_confs[i].words) != NULL,
			      "case %zu: expected \"%s\" in \"%s\"", i, bad_confs[i].words, err);
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
			      "case %zu: not one line: \"%s\"", i, err);
		ck_assert_msg(out[0] == '\0', "case %zu: stdout \"%s\"", i, out);
		free(err);
		free(out);
	}
	lh_cleanup(&d);
}
END_TEST

/* larsd -t: a good config says OK and exits 0; a missing file and a bad
 * option fail. */
START_TEST(test_check_good_and_missing)
{
	struct lh_daemon d;
	const char *args[] = {"-t", "-c", NULL, NULL};
	const char *bad_opt[] = {"-x", NULL};
	char expect[PATH_MAX + 64], missing[PATH_MAX + 16];

	lh_init(&d);
	lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	lh_add(&d, "udp", "127.0.0.1", "lars", false);
	lh_write_conf(&d);
	args[2] = d.conf_path;
	ck_assert_int_eq(lh_run(&d, args, 5000), 0);
	char *out = lh_read_file(d.out_path);
	snprintf(expect, sizeof(expect), "%s: configuration OK\n", d.conf_path);
	ck_assert_str_eq(out, expect);
	free(out);

	snprintf(missing, sizeof(missing), "%s/nope.conf", d.dir);
	args[2] = missing;
	unlink(d.err_path);
	int code = lh_run(&d, args, 5000);
	char *err = lh_read_file(d.err_path);
	snprintf(expect, sizeof(expect), "%s: cannot open", missing);
	ck_assert_msg(code > 0 && code < 128, "missing file: exit code %d", code);
	ck_assert_msg(strncmp(err, expect, strlen(expect)) == 0, "missing file: \"%s\"", err);
	free(err);

	ck_assert_int_eq(lh_run(&d, bad_opt, 5000), 2);

	const char *version[] = {"-V", NULL}, *help[] = {"-h", NULL};
	unlink(d.out_path);
	ck_assert_int_eq(lh_run(&d, version, 5000), 0);
	out = lh_read_file(d.out_path);
	ck_assert_msg(strncmp(out, "larsd ", 6) == 0, "-V printed \"%s\"", out);
	free(out);
	unlink(d.out_path);
	ck_assert_int_eq(lh_run(&d, help, 5000), 0);
	out = lh_read_file(d.out_path);
	ck_assert_msg(strstr(out, "usage: larsd") != NULL, "-h printed \"%s\"", out);
	free(out);
	lh_cleanup(&d);
}
END_TEST

/* Starting on a bad config: non-zero exit, FILE:LINE on stderr, no READY. */
START_TEST(test_start_bad_config)
{
	struct lh_daemon d;
	const char *args[] = {"-c", NULL, NULL};
	char prefix[PATH_MAX + 16];

	lh_init(&d);
	args[1] = d.conf_path;
	lh_write_file(d.conf_path, bad_confs[1].text);
	lh_spawn(&d, false, args);
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(prefix, sizeof(prefix), "%s:3: ", d.conf_path);
	ck_assert_msg(lh_stderr_has(&d, prefix), "no \"%s\" on stderr", prefix);
	lh_cleanup(&d);
}
END_TEST

/* A port already in use: non-zero exit naming address:port, no READY. */
START_TEST(test_start_port_in_use)
{
	struct lh_daemon d;
	const char *args[] = {"-c", NULL, NULL};
	char name[128];
	uint16_t port;

	/* TCP on 127.0.0.1, after a listener that binds fine. */
	lh_init(&d);
	args[1] = d.conf_path;
	int busy = lh_bind("tcp", "127.0.0.1", 0, &port);
	ck_assert_int_ge(busy, 0);
	lh_add(&d, "udp", "127.0.0.1", "echo", false);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	d.ls[l].port = port;
	lh_write_conf(&d);
	lh_spawn(&d, false, args);
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(name, sizeof(name), "127.0.0.1:%u", (unsigned)port);
	ck_assert_msg(lh_stderr_has(&d, name), "stderr does not name %s", name);
	ck_assert(lh_stderr_has(&d, "Address already in use"));
	close(busy);
	lh_cleanup(&d);

	/* UDP on ::1. */
	if (!have_v6())
		return;
	lh_init(&d);
	args[1] = d.conf_path;
	busy = lh_bind("udp", "::1", 0, &port);
	ck_assert_int_ge(busy, 0);
	l = lh_add(&d, "udp", "::1", "lars", false);
	d.ls[l].port = port;
	lh_write_conf(&d);
	lh_spawn(&d, false, args);
	code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(name, sizeof(name), "[::1]:%u", (unsigned)port);
	ck_assert_msg(lh_stderr_has(&d, name), "stderr does not name %s", name);
	close(busy);
	lh_cleanup(&d);
}
END_TEST

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

/* ---- socket activation --------------------------------------------------- */

/* Sockets bound here, passed as LISTEN_FDS: larsd uses them, including a
 * connection queued before it started. */
START_TEST(test_socket_activation)
{
	struct lh_daemon d;
	const char *v6 = have_v6() ? "::1" : "127.0.0.1";
	char back[16];

	lh_init(&d);
	size_t t4 = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_add(&d, "tcp", v6, "lars", true);
	lh_add(&d, "udp", v6, "lars", true);

	/* The kernel queues this connection on the passed socket. */
	int early = lh_tcp_connect_listener(&d.ls[t4]);
	ck_assert_int_ge(early, 0);
	ck_assert(lh_send_all(early, "early", 5));

	lh_start_ok(&d);
	char *err = lh_read_file(d.err_path);
	ck_assert_msg(count_from_systemd(err) == d.n_ls, "not all listeners came from systemd:\n%s",
		      err);
	free(err);
	ck_assert_uint_eq(lh_recv_exact(early, back, 5, 2000), 5);
	ck_assert_mem_eq(back, "early", 5);
	close(early);
	for (size_t i = 0; i < d.n_ls; i++)
		check_listener(&d.ls[i], (int)i);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A passed socket that matches no listener in the config is an error. */
START_TEST(test_socket_activation_unmatched)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t stray = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	d.ls[stray].hidden = true;
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	ck_assert(!lh_start(&d));
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_msg(lh_stderr_has(&d, "matches no listener"), "no error about the stray socket");
	lh_cleanup(&d);
}
END_TEST

/* ---- reload -------------------------------------------------------------- */

/* SIGHUP; RELOADING=1 then READY=1 after it.  Returns the READY index. */
static long reload(struct lh_daemon *d)
{
	size_t from = lh_note_count(d);

	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	long r = lh_wait_note(d, "RELOADING=1", from, 3000);
	ck_assert_msg(r >= 0, "no RELOADING=1 after SIGHUP");
	long ready = lh_wait_note(d, "READY=1", (size_t)r + 1, 3000);
	ck_assert_msg(ready > r, "no READY=1 after RELOADING=1");
	return ready;
}

/* A good new config: a new listener answers, a removed one is closed, a
 * connection made before the reload still echoes. */
START_TEST(test_reload_good)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t a = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t gone = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	lh_start_ok(&d);
	check_listener(&d.ls[gone], 1);
	int before = lh_tcp_connect_listener(&d.ls[a]);
	ck_assert_int_ge(before, 0);
	ck_assert(lh_tcp_roundtrip(before, "before", 6));

	struct lh_listen removed = d.ls[gone];
	d.n_ls = gone; /* drop it, add two new ones */
	size_t b = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	size_t u = lh_add(&d, "udp", have_v6() ? "::1" : "127.0.0.1", "lars", false);
	lh_write_conf(&d);
	reload(&d);
	ck_assert(lh_alive(&d));
	ck_assert_msg(lh_stderr_has(&d, "reloaded"), "no \"reloaded\" in the log");

	check_listener(&d.ls[b], 2);
	check_listener(&d.ls[u], 3);
	check_listener(&d.ls[a], 4);
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
	check_listener(&d.ls[a], 1);
	d.ls[a].mode = "lars";
	lh_write_conf(&d);
	reload(&d);
	check_lars_rejects_plain(&d.ls[a]);
	check_listener(&d.ls[a], 2);
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
		reload(&d);
		snprintf(where, sizeof(where), "%s:3: ", d.conf_path);
		ck_assert_msg(lh_wait_stderr(&d, where, 1000), "case %zu: no \"%s\" in the log", i,
			      where);
		ck_assert(lh_stderr_has(&d, "keeping the running configuration"));
		ck_assert_msg(lh_alive(&d), "case %zu: larsd died", i);
		ck_assert(lh_tcp_roundtrip(conn, "two", 3));
		check_listener(&d.ls[t], 10 + (int)i);
		check_listener(&d.ls[u], 20 + (int)i);
		truncate_file(d.err_path);
	}

	/* Valid, but a new listener's port is taken. */
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n");
	int busy = lh_bind("tcp", "127.0.0.1", 0, &port);
	ck_assert_int_ge(busy, 0);
	size_t n = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	d.ls[n].port = port;
	lh_write_conf(&d);
	reload(&d);
	snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)port);
	ck_assert_msg(lh_wait_stderr(&d, where, 1000), "no error naming %s", where);
	ck_assert(lh_alive(&d));
	ck_assert(lh_tcp_roundtrip(conn, "three", 5));
	check_listener(&d.ls[t], 30);
	check_listener(&d.ls[u], 31);
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
	ck_assert_msg(first_difference(out, back, got) == got, "the bytes came back changed");
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
	ck_assert_msg(first_difference(out, back, got) == got, "the echo is not a prefix of the input");
	close(fd);
	ck_assert_int_eq(lh_wait_exit(&d, LH_STOP_MS), 0);
	lh_cleanup(&d);
}
END_TEST

/* ---- memory ------------------------------------------------------------------- */

/* Connections that send and never read, with socket buffers kept small. */
static int hog_connect(uint16_t port)
{
	int fd = lh_tcp_connect_nb("127.0.0.1", port, 4096);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Push up to cap bytes into each until none moves for 300 ms (or ms). */
static size_t hogs_push(const int *fds, size_t n, size_t cap, int ms)
{
	static char chunk[65536];

	memset(chunk, 'h', sizeof(chunk));
	return lh_push_until_stalled(fds, n, chunk, sizeof(chunk), cap, 300, ms);
}

/* Eight clients that push up to 8 MB each and never read, 512K MEM_LIMIT:
 * they meet back pressure, larsd's RSS stays below its start + MEM_LIMIT
 * + 4 MiB, the pool within its limit, and another client is served. */
START_TEST(test_never_reading_clients)
{
	struct lh_daemon d;
	int hogs[8];
	const size_t n_hogs = sizeof(hogs) / sizeof(hogs[0]);
	int small = 16384;

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"512K\";");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	/* Small kernel buffers on larsd's side (inherited from the listener, as
	 * with a socket unit's ReceiveBuffer=/SendBuffer=), so what the clients
	 * push ends up in larsd unless it stops reading. */
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	lh_start_ok(&d);
	check_listener(&d.ls[l], 1); /* warm up: the first buffers, threads */
	long rss0 = lh_rss_kib(d.pid);
	ck_assert_int_gt(rss0, 0);

	for (size_t i = 0; i < n_hogs; i++)
		hogs[i] = hog_connect(d.ls[l].port);
	size_t pushed = hogs_push(hogs, n_hogs, 8 << 20, 4000);
	long rss1 = lh_rss_kib(d.pid);
	long long owned = lh_stat(&d, "pool_bytes_owned");
	long long bytes_in = lh_stat(&d, "bytes_in");

	ck_assert_msg(rss1 <= rss0 + 512 + RSS_SLACK_KIB,
		      "VmRSS grew from %ld to %ld KiB (clients pushed %zu bytes, larsd read %lld)",
		      rss0, rss1, pushed, bytes_in);
	ck_assert_msg(owned >= 0 && owned <= 512 * 1024, "pool owns %lld bytes", owned);
	ck_assert_msg(pushed < n_hogs * ((size_t)8 << 20), "never-reading clients met no back pressure");
	check_listener(&d.ls[l], 2);
	for (size_t i = 0; i < n_hogs; i++)
		close(hogs[i]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* What the pool and the connections look like, for a failure message. */
static const char *pool_state(struct lh_daemon *d)
{
	static char text[256];
	snprintf(text, sizeof(text),
		 "connections=%lld pool_bytes_owned=%lld pool_bytes_in_use=%lld "
		 "tcp_stalled_nomem=%lld",
		 lh_stat(d, "connections"), lh_stat(d, "pool_bytes_owned"),
		 lh_stat(d, "pool_bytes_in_use"), lh_stat(d, "tcp_stalled_nomem"));
	return text;
}

/* More never-reading clients than MEM_LIMIT has buffers for: reads stall
 * (counted), the pool stays within its limit, larsd stays up, and a
 * client that waited for memory is served once the hogs go away. */
START_TEST(test_pool_exhaustion_recovers)
{
	struct lh_daemon d;
	int hogs[40];
	const size_t n_hogs = sizeof(hogs) / sizeof(hogs[0]);
	char back[8];
	int small = 8192;

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"256K\"; prealloc = { tier_4K = 0; tier_16K = 0; };");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	/* Accepted sockets inherit this (as with a socket unit's SendBuffer=):
	 * without it the kernel takes megabytes per connection, and no
	 * buffer stays pinned with unsent output. */
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	lh_start_ok(&d);
	long rss0 = lh_rss_kib(d.pid);

	for (size_t i = 0; i < n_hogs; i++)
		hogs[i] = hog_connect(d.ls[l].port);
	hogs_push(hogs, n_hogs, 1 << 20, 4000);
	long long stalled = lh_stat(&d, "tcp_stalled_nomem");
	long long owned = lh_stat(&d, "pool_bytes_owned");
	long rss1 = lh_rss_kib(d.pid);
	ck_assert_msg(stalled > 0, "no read was postponed at MEM_LIMIT");
	ck_assert_msg(owned >= 0 && owned <= 256 * 1024, "pool owns %lld bytes", owned);
	ck_assert_msg(rss1 <= rss0 + 256 + RSS_SLACK_KIB, "VmRSS grew from %ld to %ld KiB", rss0,
		      rss1);
	ck_assert(lh_alive(&d));

	int late = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(late, 0);
	ck_assert(lh_send_all(late, "late", 4));
	lh_sleep_ms(100);
	for (size_t i = 0; i < n_hogs; i++)
		close(hogs[i]);
	bool served = lh_recv_exact(late, back, 4, 3000) == 4 && memcmp(back, "late", 4) == 0;
	ck_assert_msg(served, "the waiting client was not served after the hogs left: %s",
		      pool_state(&d));
	close(late);
	int again = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(again, 0);
	served = lh_tcp_roundtrip(again, "again", 5);
	ck_assert_msg(served, "a new client was not served after the hogs left: %s", pool_state(&d));
	close(again);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- limits --------------------------------------------------------------- */

/* max_connections = 3: the 4th is closed at once, the 3 still echo, the
 * refusal is counted, and a slot that frees up is usable again. */
START_TEST(test_max_connections)
{
	struct lh_daemon d;
	int c[3];

	lh_init(&d);
	strcat(d.settings, "  max_connections = 3;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	for (int i = 0; i < 3; i++) {
		c[i] = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(c[i], 0);
		ck_assert(lh_tcp_roundtrip(c[i], "in", 2));
	}
	int fourth = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fourth, 0);
	ck_assert_msg(lh_wait_closed(fourth, 2000) == 1, "the 4th connection was not closed");
	close(fourth);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(lh_tcp_roundtrip(c[i], "still", 5), "connection %d broke", i);
	ck_assert_int_eq(lh_stat(&d, "tcp_refused_limit"), 1);

	close(c[0]);
	bool served = false;
	for (uint64_t end = lh_now_ms() + 2000; !served && lh_now_ms() < end;) {
		lh_sleep_ms(50);
		int fd = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fd, 0);
		served = lh_tcp_roundtrip(fd, "again", 5);
		close(fd);
	}
	ck_assert_msg(served, "a freed slot was not reused");
	close(c[1]);
	close(c[2]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* idle_timeout = 1: an idle connection is closed after 1-2 s (3 s at
 * most here), one that keeps talking is not. */
START_TEST(test_idle_timeout)
{
	struct lh_daemon d;

	lh_init(&d);
	strcat(d.settings, "  idle_timeout = 1;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	int idle = lh_tcp_connect_listener(&d.ls[l]);
	int busy = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert(idle >= 0 && busy >= 0);
	ck_assert(lh_tcp_roundtrip(idle, "i", 1));
	ck_assert(lh_tcp_roundtrip(busy, "b", 1));
	uint64_t t0 = lh_now_ms(), closed_at = 0;

	while (lh_now_ms() - t0 < 3500) {
		ck_assert_msg(lh_tcp_roundtrip(busy, "busy", 4),
			      "the active connection was closed after %llu ms",
			      (unsigned long long)(lh_now_ms() - t0));
		if (!closed_at && lh_wait_closed(idle, 0) == 1)
			closed_at = lh_now_ms();
		lh_sleep_ms(100);
	}
	ck_assert_msg(closed_at, "the idle connection was not closed within 3.5 s");
	ck_assert_msg(closed_at - t0 >= 900, "the idle connection was closed after only %llu ms",
		      (unsigned long long)(closed_at - t0));
	ck_assert_msg(closed_at - t0 <= 3000, "the idle connection was closed after %llu ms",
		      (unsigned long long)(closed_at - t0));
	ck_assert_int_eq(lh_stat(&d, "tcp_closed_idle"), 1);
	close(idle);
	close(busy);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- guard and allow-list ---------------------------------------------------- */

/* Datagrams from a blocked source port get no reply, the same from an
 * ordinary port do; as root, source port 7 (echo) is blocked too. */
START_TEST(test_udp_reflection_guard)
{
	struct lh_daemon d;
	char back[64];
	uint16_t blocked;
	long long drops = 0;

	/* The blocked port: one we hold, so nobody else can use it. */
	int probe = lh_bind("udp", "127.0.0.1", 0, &blocked);
	ck_assert_int_ge(probe, 0);
	close(probe);
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  udp_blocked_ports = [ %u ];\n",
		 (unsigned)blocked);
	size_t e = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	size_t m = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int from_blocked = lh_udp_socket("127.0.0.1", d.ls[e].port, "127.0.0.1", blocked);
	ck_assert_msg(from_blocked >= 0, "bind source port %u: %s", (unsigned)blocked,
		      strerror(errno));
	ck_assert_msg(lh_udp_xchg(from_blocked, "ping", 4, back, sizeof(back), 300) < 0,
		      "a datagram from blocked port %u was answered", (unsigned)blocked);
	drops++;
	close(from_blocked);
	int ordinary = lh_udp_socket("127.0.0.1", d.ls[e].port, "127.0.0.1", 0);
	ck_assert_int_ge(ordinary, 0);
	ck_assert_int_eq(lh_udp_xchg(ordinary, "ping", 4, back, sizeof(back), 2000), 4);
	close(ordinary);

	if (geteuid() == 0) {
		int seven = lh_udp_socket("127.0.0.1", d.ls[m].port, "127.0.0.1", 7);
		if (seven >= 0) {
			unsigned char f[16];
			size_t flen = lh_lars_frame(f, 7, "echo", 4);
			ck_assert_msg(lh_udp_xchg(seven, f, flen, back, sizeof(back), 300) < 0,
				      "a datagram from port 7 was answered");
			drops++;
			close(seven);
		}
	}
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_guard"), drops);
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A UDP listener on the wildcard address answers from the address the
 * client wrote to (a connected client socket takes nothing else). */
START_TEST(test_udp_wildcard_reply_source)
{
	struct lh_daemon d;
	char back[64];

	lh_init(&d);
	size_t u = lh_add(&d, "udp", "0.0.0.0", "echo", true);
	lh_start_ok(&d);
	static const char *const to[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
	for (size_t i = 0; i < 3; i++) {
		int fd = lh_udp_socket(to[i], d.ls[u].port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(lh_udp_xchg(fd, to[i], strlen(to[i]), back, sizeof(back), 2000) ==
				      (ssize_t)strlen(to[i]),
			      "no reply from %s", to[i]);
		close(fd);
	}
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* allow = [ "127.0.0.2/32" ]: 127.0.0.1 is refused (TCP closed at once,
 * UDP unanswered), 127.0.0.2 is served. */
START_TEST(test_allow_list)
{
	struct lh_daemon d;
	char back[64];

	lh_init(&d);
	strcat(d.settings, "  allow = [ \"127.0.0.2/32\" ];\n");
	size_t t = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t u = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, "127.0.0.1");
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1, "127.0.0.1 was not refused over TCP");
	close(fd);
	fd = lh_udp_socket(d.ls[u].address, d.ls[u].port, "127.0.0.1", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_udp_xchg(fd, "no", 2, back, sizeof(back), 300) < 0,
		      "127.0.0.1 was answered over UDP");
	close(fd);

	fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, "127.0.0.2");
	ck_assert_msg(fd >= 0, "connect from 127.0.0.2: %s", strerror(errno));
	ck_assert_msg(lh_tcp_roundtrip(fd, "yes", 3), "127.0.0.2 was not served over TCP");
	close(fd);
	fd = lh_udp_socket(d.ls[u].address, d.ls[u].port, "127.0.0.2", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_udp_xchg(fd, "yes", 3, back, sizeof(back), 2000) == 3,
		      "127.0.0.2 was not answered over UDP");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "tcp_refused_allow"), 1);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_allow"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- the suite ---------------------------------------------------------------- */

static Suite *larsd_suite(void)
{
	Suite *s = suite_create("larsd");

	testutil_add(s, "echo", test_echo_all_kinds, 15);
	testutil_add(s, "large", test_tcp_large_transfer, 20);
	testutil_add(s, "lars_split", test_lars_split, 10);
	testutil_add(s, "lars_coalesced", test_lars_coalesced, 10);
	testutil_add(s, "lars_oversize", test_lars_tcp_oversize, 10);
	testutil_add(s, "lars_good_then_oversize", test_lars_tcp_good_then_oversize, 10);
	testutil_add(s, "lars_udp", test_lars_udp_bad_datagrams, 15);
	testutil_add(s, "check_bad", test_check_bad_configs, 20);
	testutil_add(s, "check_good", test_check_good_and_missing, 10);
	testutil_add(s, "start_bad", test_start_bad_config, 10);
	testutil_add(s, "port_in_use", test_start_port_in_use, 10);
	testutil_add(s, "notify", test_notify_lifecycle, 10);
	testutil_add(s, "sigint", test_sigint, 10);
	testutil_add(s, "watchdog", test_watchdog, 10);
	testutil_add(s, "log_level", test_log_level, 10);
	testutil_add(s, "activation", test_socket_activation, 10);
	testutil_add(s, "activation_unmatched", test_socket_activation_unmatched, 10);
	testutil_add(s, "reload_good", test_reload_good, 15);
	testutil_add(s, "reload_mode", test_reload_mode_change, 10);
	testutil_add(s, "reload_bad", test_reload_bad, 15);
	testutil_add(s, "sigterm_flush", test_sigterm_flushes_what_was_read, 15);
	testutil_add(s, "sigterm_transfer", test_sigterm_mid_transfer, 15);
	testutil_add(s, "never_reading", test_never_reading_clients, 15);
	testutil_add(s, "pool_exhaustion", test_pool_exhaustion_recovers, 15);
	testutil_add(s, "max_connections", test_max_connections, 10);
	testutil_add(s, "idle_timeout", test_idle_timeout, 10);
	testutil_add(s, "udp_guard", test_udp_reflection_guard, 10);
	testutil_add(s, "udp_wildcard", test_udp_wildcard_reply_source, 10);
	testutil_add(s, "allow_list", test_allow_list, 10);
	return s;
}

int main(void)
{
	return testutil_main(larsd_suite(), &lh_testutil_run);
}
