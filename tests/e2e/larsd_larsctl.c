/*
 * larsd_larsctl.c - larsctl(8) end to end, against a running larsd.
 *
 * The built larsctl talks to the built larsd's control socket in the
 * test's directory: counters that moved by exactly the traffic sent, in
 * text, in JSON (checked by a JSON parser below) and in the Prometheus
 * format (its structure checked here, and by `promtool check metrics`
 * where promtool is installed: CI installs it); reload, good and broken;
 * version; watch --count; and the errors: no socket, nothing listening,
 * a socket that never answers, bad usage, each with its exit status.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef LARSCTL_PATH
#define LARSCTL_PATH "src/larsctl/larsctl"
#endif

#define N_ECHO 10
#define CTL_TIMEOUT_MS 10000

static void start(struct lh_daemon *d, char *sock, size_t len)
{
	lh_init(d);
	snprintf(sock, len, "%s/control", d->dir);
	snprintf(d->settings, sizeof(d->settings), "  threads = 2;\n  control = \"%s\";\n", sock);
	lh_add(d, "tcp", "127.0.0.1", "echo", false);
	lh_add(d, "udp", "127.0.0.1", "echo", false);
	lh_start_ok(d);
}

/* larsctl -s sock ARGS... */
static void larsctl(struct lh_exec *r, const char *sock, const char *const *args)
{
	const char *argv[16] = {"-s", sock};
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	lh_exec(r, LARSCTL_PATH, argv, CTL_TIMEOUT_MS);
}

static void echo_traffic(struct lh_daemon *d)
{
	char back[16];
	int tcp = lh_tcp_connect_listener(&d->ls[0]);
	int udp = lh_udp_socket("127.0.0.1", d->ls[1].port, NULL, 0);
	ck_assert(tcp >= 0 && udp >= 0);
	for (int i = 0; i < N_ECHO; i++) {
		ck_assert(lh_send_all(tcp, "ping", 4));
		ck_assert_uint_eq(lh_recv_exact(tcp, back, 4, 2000), 4);
		ck_assert_int_eq(lh_udp_xchg(udp, "pong", 4, back, sizeof(back), 2000), 4);
	}
	close(tcp);
	close(udp);
}

/* The value on the text line "name  value", or -1. */
static long long text_value(const char *out, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return atoll(p + n + strspn(p + n, " "));
	return -1;
}

/* ---- a strict JSON parser (RFC 8259), enough to say valid or not -------- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return NULL;
			}
		}
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

static const char *json_members(const char *p, char close, int depth)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = json_string(p);
			if (!p || *(p = json_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '{')
		return json_members(p, '}', depth);
	if (*p == '[')
		return json_members(p, ']', depth);
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return json_number(p);
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text, 0);
	return end && *json_ws(end) == '\0';
}

/* ---- the Prometheus text format, as larsctl promises it ----------------- */

/* Every sample's metric had HELP and TYPE lines before it, counters end in
 * _total, and samples of one metric are together.  Returns the failure, or
 * NULL. */
static const char *prom_check(const char *text, char *why, size_t len)
{
	char typed[256][96], current[96] = "", current_type[16] = "";
	size_t ntyped = 0;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		char name[96], type[16];
		if (sscanf(line, "# TYPE %95s %15s", name, type) == 2) {
			size_t nl2 = strlen(name);
			if (!strcmp(type, "counter") && (nl2 < 6 || strcmp(name + nl2 - 6, "_total"))) {
				snprintf(why, len, "counter %s does not end in _total", name);
				return why;
			}
			for (size_t i = 0; i < ntyped; i++)
				if (!strcmp(typed[i], name)) {
					snprintf(why, len, "%s typed twice", name);
					return why;
				}
			if (ntyped < 256)
				strcpy(typed[ntyped++], name);
			strcpy(current, name);
			strcpy(current_type, type);
		} else if (line[0] != '#' && l > 0) {
			size_t k = strcspn(line, "{ "), c = strlen(current);
			/* A histogram's samples are its _bucket, _sum and _count. */
			const char *suffix = k > c ? line + c : "";
			bool part = !strcmp(current_type, "histogram") && k > c &&
				    (!strncmp(suffix, "_bucket", k - c) || !strncmp(suffix, "_sum", k - c) ||
				     !strncmp(suffix, "_count", k - c)) && (k - c == 7 || k - c == 4 || k - c == 6);
			if (k >= sizeof(name) || strncmp(line, current, c < k ? c : k) ||
			    (k != c && !part)) {
				snprintf(why, len, "sample outside its metric's block: %.60s", line);
				return why;
			}
		}
		line += l + (nl ? 1 : 0);
	}
	return ntyped > 0 ? NULL : "no metric at all";
}

/* promtool check metrics on text, where promtool is installed (the
 * package test's container has it; a plain build host may not). */
static void promtool_check(struct lh_daemon *d, const char *name, const char *text)
{
	char file[PATH_MAX + 16], cmd[2 * sizeof(file) + 64];

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return;
	snprintf(file, sizeof(file), "%s/%s", d->dir, name);
	lh_write_file(file, text);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s.out' 2>&1", file, file);
	int rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s.out", file);
	char *said = lh_read_file(cmd);
	ck_assert_msg(rc == 0 && said && !*said, "promtool check metrics: %s", said);
	free(said);
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_larsctl_stats)
{
	struct lh_daemon d;
	char sock[PATH_MAX];
	static struct lh_exec r;

	start(&d, sock, sizeof(sock));
	echo_traffic(&d);

	larsctl(&r, sock, (const char *[]){"stats", NULL});
	ck_assert_msg(r.code == 0, "larsctl stats: %d %s", r.code, r.err);
	ck_assert_int_eq(text_value(r.out, "udp_replies"), N_ECHO);
	ck_assert_int_eq(text_value(r.out, "connections_total"), 1);
	ck_assert_int_eq(text_value(r.out, "bytes_in"), 2 * 4 * N_ECHO);

	larsctl(&r, sock, (const char *[]){"--json", "stats", NULL});
	ck_assert_msg(r.code == 0 && json_valid(r.out), "stats --json: not JSON: %.300s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\"udp_replies\":10,"));
	for (int i = 0; i < 3; i++) {
		const char *section = (const char *[]){"pool", "listeners", "workers"}[i];
		const char *member = (const char *[]){"\"tiers\":[{\"tier\":0,", "\"listeners\":[{",
						       "\"workers\":[{\"worker\":0,"}[i];
		larsctl(&r, sock, (const char *[]){"--json", "stats", section, NULL});
		ck_assert_msg(r.code == 0 && json_valid(r.out), "stats %s --json: %.300s", section,
			      r.out);
		ck_assert_msg(strstr(r.out, member), "stats %s --json lacks %s", section, member);
	}

	larsctl(&r, sock, (const char *[]){"stats", "pool", NULL});
	ck_assert_int_eq(r.code, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "tier "));
	ck_assert_ptr_nonnull(strstr(r.out, "capacity"));
	larsctl(&r, sock, (const char *[]){"stats", "listeners", NULL});
	ck_assert_int_eq(r.code, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "127.0.0.1"));

	larsctl(&r, sock, (const char *[]){"--prometheus", "stats", NULL});
	ck_assert_int_eq(r.code, 0);
	char why[160];
	const char *bad = prom_check(r.out, why, sizeof(why));
	ck_assert_msg(!bad, "--prometheus: %s", bad);
	ck_assert_ptr_nonnull(strstr(r.out, "\nlarsd_udp_replies_total 10\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "larsd_tier_owned{tier=\"0\"}"));
	ck_assert_ptr_nonnull(strstr(r.out, "larsd_worker_loop_turns_total{worker=\"1\"}"));
	ck_assert_ptr_nonnull(strstr(r.out, "larsd_listener_replies_total{listener=\"1\",proto=\"udp\""));
	promtool_check(&d, "metrics.prom", r.out);

	larsctl(&r, sock, (const char *[]){"stats", "reset", NULL});
	ck_assert_msg(r.code == 0 && !strcmp(r.out, "OK\n"), "stats reset: %s", r.out);
	larsctl(&r, sock, (const char *[]){"stats", NULL});
	ck_assert_int_eq(text_value(r.out, "udp_replies"), 0);

	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

START_TEST(test_larsctl_reload_version_watch)
{
	struct lh_daemon d;
	char sock[PATH_MAX], expect[PATH_MAX + 16];
	static struct lh_exec r;

	start(&d, sock, sizeof(sock));
	larsctl(&r, sock, (const char *[]){"reload", NULL});
	ck_assert_msg(r.code == 0 && !strcmp(r.out, "OK\n"), "reload: %d %s %s", r.code, r.out,
		      r.err);

	lh_write_file(d.conf_path, "larsd: {\n  threads = 0;\n};\n");
	larsctl(&r, sock, (const char *[]){"reload", NULL});
	snprintf(expect, sizeof(expect), "larsctl: %s:2: ", d.conf_path);
	ck_assert_msg(r.code == 1 && !strncmp(r.err, expect, strlen(expect)) &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "broken reload: exit %d, stderr %s", r.code, r.err);
	echo_traffic(&d); /* still serving */

	larsctl(&r, sock, (const char *[]){"version", NULL});
	ck_assert_int_eq(r.code, 0);
	ck_assert_str_eq(r.out, PACKAGE_VERSION "\n");

	larsctl(&r, sock, (const char *[]){"watch", "-n", "1", "--count", "2", NULL});
	ck_assert_msg(r.code == 0, "watch: %d %s", r.code, r.err);
	size_t frames = 0;
	for (const char *p = r.out; (p = strstr(p, "larsd " PACKAGE_VERSION)); p++)
		frames++;
	ck_assert_uint_eq(frames, 2);
	ck_assert_ptr_nonnull(strstr(r.out, "replies/s"));
	ck_assert_ptr_nonnull(strstr(r.out, "[")); /* the tiers' bars */
	ck_assert_uint_ge(r.ms, 900);

	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

START_TEST(test_larsctl_errors)
{
	static struct lh_exec r;
	char dir[] = "/tmp/larsctl-test.XXXXXX", path[PATH_MAX];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none", dir);
	larsctl(&r, path, (const char *[]){"stats", NULL});
	ck_assert_msg(r.code == 3 && strstr(r.err, "no such socket") &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		      "no socket: %d %s", r.code, r.err);

	/* A socket file nobody listens on: larsd is not running. */
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(path, sizeof(path), "%s/stale", dir);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	larsctl(&r, path, (const char *[]){"version", NULL});
	ck_assert_msg(r.code == 3 && strstr(r.err, "not running"), "stale: %d %s", r.code, r.err);
	unlink(path);

	/* A socket that listens and never answers: exit 4 at --timeout. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	larsctl(&r, path, (const char *[]){"--timeout", "300", "stats", NULL});
	ck_assert_msg(r.code == 4 && strstr(r.err, "no complete reply within 300 ms") &&
			      r.ms >= 300 && r.ms < 5000,
		      "silent server: exit %d after %llu ms, %s", r.code, (unsigned long long)r.ms,
		      r.err);
	close(fd);
	unlink(path);
	rmdir(dir);

	const char *const bad[][4] = {
		{NULL}, {"stats", "slabs", NULL}, {"frobnicate", NULL},
		{"reload", "now", NULL}, {"watch", "-n", "0", NULL}, {"--json", "watch", NULL},
		{"--timeout", "0", "stats", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		larsctl(&r, path, bad[i]);
		ck_assert_msg(r.code == 2 && !strncmp(r.err, "larsctl: ", 9), "bad usage %zu: %d %s",
			      i, r.code, r.err);
	}
}
END_TEST

/* Sessions as an operator reads them: larsd measures its own reflector;
 * the table, JSON and Prometheus histograms (promtool where installed). */
START_TEST(test_larsctl_sessions)
{
	struct lh_daemon d;
	char sock[PATH_MAX / 4], why[160];
	static struct lh_exec r;

	lh_init(&d);
	ck_assert_uint_lt(strlen(d.dir) + 9, sizeof(sock));
	snprintf(sock, sizeof(sock), "%s/control", d.dir);
	snprintf(d.settings, sizeof(d.settings), "  threads = 1;\n  control = \"%s\";\n", sock);
	size_t l = lh_add(&d, "udp", "127.0.0.1", "stamp", false);
	snprintf(d.top, sizeof(d.top),
		 "sessions = (\n  { name = \"self\"; peer = \"127.0.0.1\"; port = %u; rate = 50; },\n"
		 "  { name = \"nobody\"; peer = \"127.0.0.1\"; port = %u; rate = 50; timeout = 0.2; }\n);\n",
		 (unsigned)d.ls[l].port, (unsigned)lh_free_port("udp", "127.0.0.1"));
	lh_start_ok(&d);
	lh_sleep_ms(1000);

	larsctl(&r, sock, (const char *[]){"stats", "sessions", NULL});
	ck_assert_msg(r.code == 0, "larsctl stats sessions: %d %s", r.code, r.err);
	ck_assert_msg(strstr(r.out, "\nself ") && strstr(r.out, "\nnobody "), "no row a session:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "send error"), "no send error line:\n%s", r.out);

	larsctl(&r, sock, (const char *[]){"--json", "stats", "sessions", NULL});
	ck_assert_msg(r.code == 0 && json_valid(r.out), "--json stats sessions: %s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "{\"sessions\":[{\"name\":\"self\",\"peer\":\"127.0.0.1\""));
	ck_assert_ptr_nonnull(strstr(r.out, "\"rtt_us\":{\"p50\":"));

	larsctl(&r, sock, (const char *[]){"--prometheus", "stats", NULL});
	ck_assert_msg(r.code == 0, "--prometheus stats: %d %s", r.code, r.err);
	const char *bad = prom_check(r.out, why, sizeof(why));
	ck_assert_msg(!bad, "--prometheus: %s", bad);
	ck_assert_ptr_nonnull(strstr(r.out, "# TYPE larsd_session_rtt_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "larsd_session_rtt_seconds_bucket{session=\"self\",peer=\"127.0.0.1\",le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr(r.out, "larsd_session_lost_total{session=\"nobody\""));
	promtool_check(&d, "sessions.prom", r.out);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void lt_add_larsctl(Suite *s)
{
	testutil_add(s, "larsctl_stats", test_larsctl_stats, 30);
	testutil_add(s, "larsctl_reload_version_watch", test_larsctl_reload_version_watch, 30);
	testutil_add(s, "larsctl_errors", test_larsctl_errors, 20);
	testutil_add(s, "larsctl_sessions", test_larsctl_sessions, 30);
}
