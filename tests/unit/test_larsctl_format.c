/*
 * test_larsctl_format.c - larsctl's three forms of "stats sessions"
 * (src/larsctl/sessions.c through format.c), without larsd.
 *
 * A canned reply, in the shape larsd(8) documents, goes through larsctl's
 * own reader (reply.c, over a socketpair: the test plays larsd) and each
 * formatter into a memory FILE.  Checked: the text table has a row per
 * session and "-" where larsd said "-"; the JSON parses (by python3 where
 * there is one, else by its strings) and has null for what is unknown;
 * the Prometheus histograms have exactly the 19 bounds plus +Inf as le,
 * cumulative buckets, +Inf equal to _count, _sum in seconds, one HELP and
 * TYPE per family and the family's samples together; `promtool check
 * metrics` agrees where promtool is installed.  Also: no sessions, a
 * histogram of the wrong shape, escaping, and sessions beside other items
 * (larsctl --prometheus stats merges them).
 */
#include "config.h"

#include "format.h"
#include "reply.h"
#include "session_hist.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HIST0 "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0" /* count 0, 20 buckets */

/* The contract's example, with 20 buckets a histogram (19 bounds, +Inf),
 * and a second session whose peer does not answer and is not stateful. */
static const char canned[] =
	"STAT sessions 2\n"
	"STAT sessions_send_error_us 12.0,85.3,410.7\n"
	"STAT session_0:name hostb\n"
	"STAT session_0:peer 192.0.2.7\n"
	"STAT session_0:port 862\n"
	"STAT session_0:rate 10\n"
	"STAT session_0:sent 1200\n"
	"STAT session_0:received 1187\n"
	"STAT session_0:lost 11\n"
	"STAT session_0:late 1\n"
	"STAT session_0:duplicates 2\n"
	"STAT session_0:reordered 3\n"
	"STAT session_0:corrupt 0\n"
	"STAT session_0:send_errors 0\n"
	"STAT session_0:forward_lost 4\n"
	"STAT session_0:backward_lost 7\n"
	"STAT session_0:synced 1\n"
	"STAT session_0:rtt_us 95.2,130.0,410.5,980.1,61.3,101.7\n"
	"STAT session_0:rtt_hist 1187,120710000,0,0,0,700,480,5,2,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_0:residence_us 8.1,12.0,30.2,75.9,3.2,9.0\n"
	"STAT session_0:residence_hist 1187,10700000,1000,150,37,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_0:forward_us 50.1,70.0,200.3,500.0,30.0,55.2\n"
	"STAT session_0:forward_hist 1000,55200000,0,0,20,900,80,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_0:backward_us 45.0,60.0,210.2,480.1,28.0,48.3\n"
	"STAT session_0:backward_hist 1000,48300000,0,0,30,900,70,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_0:ipdv_forward_us 3.0,9.5,40.2,120.0,0.0,4.1\n"
	"STAT session_0:ipdv_forward_hist 1186,4900000,1100,50,30,6,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_0:ipdv_backward_us 2.8,9.0,38.0,110.0,0.0,3.9\n"
	"STAT session_0:ipdv_backward_hist 1186,4600000,1110,45,25,6,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	"STAT session_1:name lab-c\n"
	"STAT session_1:peer 198.51.100.20\n"
	"STAT session_1:port 862\n"
	"STAT session_1:rate 1\n"
	"STAT session_1:sent 50\n"
	"STAT session_1:received 0\n"
	"STAT session_1:lost 50\n"
	"STAT session_1:late 0\n"
	"STAT session_1:duplicates 0\n"
	"STAT session_1:reordered 0\n"
	"STAT session_1:corrupt 0\n"
	"STAT session_1:send_errors 0\n"
	"STAT session_1:forward_lost -\n"
	"STAT session_1:backward_lost -\n"
	"STAT session_1:synced 0\n"
	"STAT session_1:rtt_us -\n"
	"STAT session_1:rtt_hist " HIST0 "\n"
	"STAT session_1:residence_us -\n"
	"STAT session_1:residence_hist " HIST0 "\n"
	"STAT session_1:forward_us -\n"
	"STAT session_1:forward_hist " HIST0 "\n"
	"STAT session_1:backward_us -\n"
	"STAT session_1:backward_hist " HIST0 "\n"
	"STAT session_1:ipdv_forward_us -\n"
	"STAT session_1:ipdv_forward_hist " HIST0 "\n"
	"STAT session_1:ipdv_backward_us -\n"
	"STAT session_1:ipdv_backward_hist " HIST0 "\n"
	"END\n";

static const char empty[] = "STAT sessions 0\nSTAT sessions_send_error_us -\nEND\n";

/* le as Prometheus' own clients write the bounds, 10 us to 10 s. */
static const char *const le_want[] = {
	"1e-05", "2e-05", "5e-05", "0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.005",
	"0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "+Inf",
};

static const char *const families[] = {
	"rtt_seconds", "residence_seconds", "forward_delay_seconds", "backward_delay_seconds",
	"ipdv_forward_seconds", "ipdv_backward_seconds",
};

/* Read text as larsd's reply to "stats sessions", through reply.c. */
static void parse(const char *text, struct reply *r)
{
	int sv[2];
	char err[256], cmd[64];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], text, strlen(text)), (ssize_t)strlen(text));
	int rc = ctl_exchange(sv[0], "stats sessions", 2000, r, err, sizeof(err));
	ck_assert_msg(rc == 0, "ctl_exchange: %d %s", rc, err);
	ck_assert_int_eq(r->kind, REPLY_STATS);
	ssize_t n = read(sv[1], cmd, sizeof(cmd) - 1);
	ck_assert_int_gt(n, 0);
	cmd[n] = '\0';
	ck_assert_str_eq(cmd, "stats sessions\n");
	close(sv[0]);
	close(sv[1]);
}

/* fmt's output for the reply to text; the caller frees it. */
static char *run(int (*fmt)(FILE *, const struct reply *), const char *text)
{
	struct reply r;
	char *buf = NULL;
	size_t len = 0;

	parse(text, &r);
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fmt(f, &r), 0);
	ck_assert_int_eq(fclose(f), 0);
	reply_free(&r);
	return buf;
}

/* Write text to a new temporary file; its name into path. */
static void tmp_file(const char *text, char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/test_larsctl_format.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp %s", path);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static bool have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* promtool check metrics on text: it must say nothing and exit 0. */
static void promtool_check(const char *text)
{
	char path[4096], cmd[8300], said[2048] = "";

	if (!have("promtool")) {
		printf("# promtool not installed: promtool check metrics skipped\n");
		fflush(stdout);
		return;
	}
	tmp_file(text, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(said, 1, sizeof(said) - 1, p);
	said[n] = '\0';
	int st = pclose(p);
	unlink(path);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == 0,
		      "promtool check metrics (status %d): %s", st, said);
}

/* The line of text that starts with prefix, or NULL. */
static const char *line_at(const char *text, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, pl) == 0)
			return l;
	return NULL;
}

/* ---- text ------------------------------------------------------------- */

START_TEST(test_text)
{
	char *out = run(format_text, canned);
	const char *want[] = {
		"name   peer           sent  received  lost   loss%  late  dup  reord  rtt_p50  "
		"rtt_p90  rtt_p99  rtt_max  res_p99",
		"hostb  192.0.2.7      1200      1187    11    0.92     1    2      3     95.2    "
		"130.0    410.5    980.1     30.2",
		"lab-c  198.51.100.20    50         0    50  100.00     0    0      0        -  "
		"      -        -        -        -",
		"send error (us behind schedule): p50 12.0, p99 85.3, max 410.7",
	};
	size_t n = 0;

	for (char *save, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(n < 4, "a line too many: %s", l);
		ck_assert_msg(strlen(l) <= 120, "wider than 120 columns: %s", l);
		ck_assert_str_eq(l, want[n]);
		n++;
	}
	ck_assert_uint_eq(n, 4); /* the header, a row per session, send errors */
	free(out);

	out = run(format_text, empty);
	ck_assert_str_eq(out, "no measuring sessions (sessions in larsd.conf(5))\n");
	free(out);
}
END_TEST

/* ---- JSON ------------------------------------------------------------- */

/* What python3 checks when there is one: it parses, and means this. */
static const char json_py[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"assert list(d) == ['sessions', 'send_error_us'], list(d)\n"
	"a, b = d['sessions']\n"
	"assert a['name'] == 'hostb' and a['peer'] == '192.0.2.7' and a['port'] == 862, a\n"
	"assert (a['rate'], a['sent'], a['received'], a['lost']) == (10, 1200, 1187, 11), a\n"
	"assert (a['late'], a['duplicates'], a['reordered'], a['corrupt']) == (1, 2, 3, 0), a\n"
	"assert (a['send_errors'], a['forward_lost'], a['backward_lost']) == (0, 4, 7), a\n"
	"assert a['synced'] is True and b['synced'] is False\n"
	"assert a['rtt_us'] == {'p50': 95.2, 'p90': 130.0, 'p99': 410.5, 'max': 980.1,\n"
	"                       'min': 61.3, 'mean': 101.7}, a['rtt_us']\n"
	"for k in ('residence_us', 'forward_us', 'backward_us', 'ipdv_forward_us',\n"
	"          'ipdv_backward_us'):\n"
	"    assert list(a[k]) == ['p50', 'p90', 'p99', 'max', 'min', 'mean'], k\n"
	"    assert b[k] is None, k\n"
	"assert b['rtt_us'] is None and b['forward_lost'] is None and b['backward_lost'] is None\n"
	"assert not [k for k in a if k.endswith('_hist')]\n"
	"assert d['send_error_us'] == {'p50': 12.0, 'p99': 85.3, 'max': 410.7}\n";

START_TEST(test_json)
{
	char *out = run(format_json, canned);
	char path[4096], cmd[4200];

	/* by strings: always */
	ck_assert_ptr_nonnull(strstr(out, "{\"sessions\":[{\"name\":\"hostb\",\"peer\":\"192.0.2.7\","
					  "\"port\":862,\"rate\":10,\"sent\":1200,"));
	ck_assert_ptr_nonnull(strstr(out, "\"synced\":true,\"rtt_us\":{\"p50\":95.2,\"p90\":130.0,"
					  "\"p99\":410.5,\"max\":980.1,\"min\":61.3,\"mean\":101.7}"));
	ck_assert_ptr_nonnull(strstr(out, "\"forward_lost\":null,\"backward_lost\":null,"
					  "\"synced\":false,\"rtt_us\":null,"));
	ck_assert_ptr_null(strstr(out, "_hist"));
	ck_assert_ptr_nonnull(strstr(out, "],\"send_error_us\":{\"p50\":12.0,\"p99\":85.3,"
					  "\"max\":410.7}}\n"));
	/* by a JSON parser, where there is one */
	if (have("python3")) {
		tmp_file(out, path, sizeof(path));
		snprintf(cmd, sizeof(cmd), "python3 - '%s'", path);
		FILE *p = popen(cmd, "w");
		ck_assert_ptr_nonnull(p);
		fputs(json_py, p);
		int st = pclose(p);
		unlink(path);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python3 on the JSON: %d\n%s",
			      st, out);
	} else {
		printf("# python3 not installed: JSON checked by its strings only\n");
		fflush(stdout);
	}
	free(out);

	out = run(format_json, empty);
	ck_assert_str_eq(out, "{\"sessions\":[],\"send_error_us\":null}\n");
	free(out);
}
END_TEST

/* ---- Prometheus ------------------------------------------------------- */

/* One HELP and one TYPE per family, HELP first; every sample inside the
 * block of the family it belongs to (a histogram's _bucket, _sum and
 * _count are its family's). */
static void check_blocks(const char *text)
{
	char typed[64][96], current[96] = "", type[16] = "", last_help[96] = "";
	size_t ntyped = 0;

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		char name[96], t[16], help[96];
		ck_assert_ptr_nonnull(nl);
		if (sscanf(l, "# HELP %95s", help) == 1) {
			for (size_t i = 0; i < ntyped; i++)
				ck_assert_msg(strcmp(typed[i], help) != 0, "%s: HELP again", help);
			strcpy(last_help, help);
		} else if (sscanf(l, "# TYPE %95s %15s", name, t) == 2) {
			for (size_t i = 0; i < ntyped; i++)
				ck_assert_msg(strcmp(typed[i], name) != 0, "%s: TYPE again", name);
			ck_assert_msg(!strcmp(last_help, name), "%s: no HELP just before", name);
			ck_assert_uint_lt(ntyped, 64);
			strcpy(typed[ntyped++], name);
			strcpy(current, name);
			strcpy(type, t);
		} else if (*l != '#') {
			size_t k = strcspn(l, "{ "), cl = strlen(current);
			bool ok = k >= cl && strncmp(l, current, cl) == 0 &&
				  (k == cl || (!strcmp(type, "histogram") &&
					       ((k - cl == 7 && !strncmp(l + cl, "_bucket", 7)) ||
						(k - cl == 4 && !strncmp(l + cl, "_sum", 4)) ||
						(k - cl == 6 && !strncmp(l + cl, "_count", 6)))));
			ck_assert_msg(ok, "sample outside its family's block: %.*s", (int)(nl - l), l);
		}
		l = nl + 1;
	}
}

/* A histogram of one session: le exactly the bounds and +Inf, buckets
 * cumulative, +Inf = _count = count; _sum as given. */
static void check_hist(const char *text, const char *family, const char *labels,
		       unsigned long long count, const char *sum)
{
	char prefix[256];
	unsigned long long prev = 0, v = 0;
	size_t k = 0;

	snprintf(prefix, sizeof(prefix), "larsd_session_%s_bucket{%s,le=\"", family, labels);
	for (const char *l = line_at(text, prefix); l && !strncmp(l, prefix, strlen(prefix));
	     l = strchr(l, '\n') + 1, k++) {
		const char *le = l + strlen(prefix), *q = strchr(le, '"');
		ck_assert_uint_lt(k, SESSION_HIST_BUCKETS);
		ck_assert_msg((size_t)(q - le) == strlen(le_want[k]) &&
				      !strncmp(le, le_want[k], (size_t)(q - le)),
			      "%s bucket %zu: le %.*s, want %s", family, k, (int)(q - le), le, le_want[k]);
		ck_assert_int_eq(sscanf(q, "\"} %llu", &v), 1);
		ck_assert_msg(v >= prev, "%s: bucket le=%s %llu below the last, %llu", family,
			      le_want[k], v, prev);
		prev = v;
	}
	ck_assert_msg(k == SESSION_HIST_BUCKETS, "%s{%s}: %zu buckets", family, labels, k);
	ck_assert_uint_eq(v, count); /* the +Inf bucket */
	snprintf(prefix, sizeof(prefix), "larsd_session_%s_count{%s} %llu\n", family, labels, count);
	ck_assert_msg(line_at(text, prefix), "no %s", prefix);
	snprintf(prefix, sizeof(prefix), "larsd_session_%s_sum{%s} %s\n", family, labels, sum);
	ck_assert_msg(line_at(text, prefix), "no %s", prefix);
}

START_TEST(test_prometheus)
{
	char *out = run(format_prometheus, canned);
	static const char *const present[] = {
		"larsd_sessions 2\n",
		"larsd_session_sent_total{session=\"hostb\",peer=\"192.0.2.7\"} 1200\n",
		"larsd_session_received_total{session=\"hostb\",peer=\"192.0.2.7\"} 1187\n",
		"larsd_session_lost_total{session=\"lab-c\",peer=\"198.51.100.20\"} 50\n",
		"larsd_session_late_total{session=\"hostb\",peer=\"192.0.2.7\"} 1\n",
		"larsd_session_duplicates_total{session=\"hostb\",peer=\"192.0.2.7\"} 2\n",
		"larsd_session_reordered_total{session=\"hostb\",peer=\"192.0.2.7\"} 3\n",
		"larsd_session_corrupt_total{session=\"hostb\",peer=\"192.0.2.7\"} 0\n",
		"larsd_session_send_errors_total{session=\"hostb\",peer=\"192.0.2.7\"} 0\n",
		"larsd_session_forward_lost_total{session=\"hostb\",peer=\"192.0.2.7\"} 4\n",
		"larsd_session_backward_lost_total{session=\"hostb\",peer=\"192.0.2.7\"} 7\n",
		"larsd_session_synced{session=\"hostb\",peer=\"192.0.2.7\"} 1\n",
		"larsd_session_synced{session=\"lab-c\",peer=\"198.51.100.20\"} 0\n",
		"# TYPE larsd_sessions gauge\n",
		"# TYPE larsd_session_sent_total counter\n",
		"# TYPE larsd_session_synced gauge\n",
		"# TYPE larsd_session_rtt_seconds histogram\n",
	};
	static const char *const sums[] = {"0.12071", "0.0107", "0.0552", "0.0483", "0.0049", "0.0046"};
	static const unsigned long long counts[] = {1187, 1187, 1000, 1000, 1186, 1186};

	ck_assert_uint_eq(sizeof(le_want) / sizeof(le_want[0]), SESSION_HIST_BUCKETS);
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		ck_assert_msg(line_at(out, present[i]), "missing: %s", present[i]);
	/* "-": not known, so no sample at all */
	ck_assert_ptr_null(line_at(out, "larsd_session_forward_lost_total{session=\"lab-c\""));
	ck_assert_ptr_null(line_at(out, "larsd_session_backward_lost_total{session=\"lab-c\""));
	ck_assert_ptr_null(strstr(out, "_us"));
	for (size_t f = 0; f < 6; f++) {
		char type[128];
		snprintf(type, sizeof(type), "# TYPE larsd_session_%s histogram\n", families[f]);
		ck_assert_msg(line_at(out, type), "missing: %s", type);
		check_hist(out, families[f], "session=\"hostb\",peer=\"192.0.2.7\"", counts[f], sums[f]);
		check_hist(out, families[f], "session=\"lab-c\",peer=\"198.51.100.20\"", 0, "0");
	}
	check_blocks(out);
	promtool_check(out);
	free(out);

	out = run(format_prometheus, empty);
	ck_assert_str_eq(out, "# HELP larsd_sessions Measuring sessions configured\n"
			      "# TYPE larsd_sessions gauge\nlarsd_sessions 0\n");
	promtool_check(out);
	free(out);
}
END_TEST

/* The contract's first example has 19 buckets: not a histogram of ours,
 * so larsctl leaves it out (saying so) rather than print a wrong one. */
START_TEST(test_prometheus_bad_hist)
{
	char *out = run(format_prometheus,
			"STAT sessions 1\nSTAT sessions_send_error_us -\n"
			"STAT session_0:name hostb\nSTAT session_0:peer 192.0.2.7\n"
			"STAT session_0:sent 5\n"
			"STAT session_0:rtt_hist 1187,120710000,0,0,0,700,480,5,2,0,0,0,0,0,0,0,0,0,0,0,0\n"
			"STAT session_0:residence_hist 3,30000,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
			"END\n");
	ck_assert_ptr_nonnull(line_at(out, "# session_0:rtt_hist is not count,sum_ns and 20 "));
	ck_assert_ptr_nonnull(line_at(out, "# session_0:residence_hist is not count,sum_ns "));
	ck_assert_ptr_null(strstr(out, "larsd_session_rtt_seconds"));
	ck_assert_ptr_null(strstr(out, "larsd_session_residence_seconds"));
	ck_assert_ptr_nonnull(line_at(out, "larsd_session_sent_total{session=\"hostb\""));
	check_blocks(out);
	promtool_check(out);
	free(out);
}
END_TEST

/* Names and peers are words of the operator's: escaped in each form. */
START_TEST(test_escaping)
{
	static const char text[] = "STAT sessions 1\nSTAT sessions_send_error_us -\n"
				   "STAT session_0:name a \"b\\c\nSTAT session_0:peer ::1\n"
				   "STAT session_0:sent 1\nEND\n";
	char *out = run(format_prometheus, text);
	ck_assert_ptr_nonnull(
		line_at(out, "larsd_session_sent_total{session=\"a \\\"b\\\\c\",peer=\"::1\"} 1\n"));
	promtool_check(out);
	free(out);
	out = run(format_json, text);
	ck_assert_ptr_nonnull(strstr(out, "{\"name\":\"a \\\"b\\\\c\",\"peer\":\"::1\","));
	free(out);
}
END_TEST

/* larsctl --prometheus stats merges "stats sessions" into "stats": the
 * plain items stay format.c's, and "sessions" is no larsd_sessions_total. */
START_TEST(test_merged)
{
	char *out = run(format_prometheus, "STAT uptime_s 5\nSTAT tcp_replies 3\n"
					   "STAT sessions 0\nSTAT sessions_send_error_us -\nEND\n");
	ck_assert_ptr_nonnull(line_at(out, "larsd_uptime_seconds 5\n"));
	ck_assert_ptr_nonnull(line_at(out, "larsd_tcp_replies_total 3\n"));
	ck_assert_ptr_nonnull(line_at(out, "larsd_sessions 0\n"));
	ck_assert_ptr_null(strstr(out, "larsd_sessions_total"));
	ck_assert_ptr_null(strstr(out, "send_error"));
	check_blocks(out);
	free(out);
	out = run(format_json, "STAT uptime_s 5\nSTAT sessions 0\nSTAT sessions_send_error_us -\n"
			       "END\n");
	ck_assert_str_eq(out, "{\"uptime_s\":5,\"sessions\":[],\"send_error_us\":null}\n");
	free(out);
}
END_TEST

static Suite *tlf_suite(void)
{
	Suite *s = suite_create("larsctl_format");
	testutil_add(s, "text", test_text, 10);
	testutil_add(s, "json", test_json, 20);
	testutil_add(s, "prometheus", test_prometheus, 30);
	testutil_add(s, "prometheus_bad_hist", test_prometheus_bad_hist, 20);
	testutil_add(s, "escaping", test_escaping, 20);
	testutil_add(s, "merged", test_merged, 10);
	return s;
}

int main(void)
{
	return testutil_main(tlf_suite(), NULL);
}
