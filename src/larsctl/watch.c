/*
 * watch.c - larsctl watch (see watch.h).
 *
 * Each frame asks for "stats", "stats pool", "stats workers" and "stats
 * sessions" on one connection, and shows rates against the previous frame:
 * replies/s, bytes/s in and out, connections, per tier a bar of the bytes
 * it owns against MEM_LIMIT, the part in use filled, and per measuring
 * session packets sent/s, the loss over the frame and the round trip.
 * Sessions are optional: a larsd that predates them answers ERROR, and
 * its frames have no session lines.  On a terminal the frame replaces the
 * last one; otherwise frames follow each other.
 */
#include "config.h"

#include "watch.h"
#include "format.h"
#include "reply.h"
#include "sessions.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 40

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct sample {
	double t;
	unsigned long long replies, bytes_in, bytes_out;
};

/* The sessions' counters of a frame, for the next one's rates.  Found
 * again by name: a reload may add, drop or reorder sessions. */
struct sess_count {
	char *name;
	unsigned long long sent, lost;
	bool lost_known;
};

struct sess_counts {
	struct sess_count *v;
	size_t n;
};

static void sess_counts_free(struct sess_counts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static unsigned long long num(const struct reply *r, const char *name)
{
	const char *v = reply_get(r, name);
	return v ? strtoull(v, NULL, 10) : 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One section's reply; 0 or an exit status (the message printed). */
static int ask(int fd, const char *cmd, int timeout_ms, struct reply *r)
{
	char err[256];
	int rc = ctl_exchange(fd, cmd, timeout_ms, r, err, sizeof(err));
	if (rc == 0 && r->kind != REPLY_STATS) {
		snprintf(err, sizeof(err), "%s: %s", cmd, r->text ? r->text : "unexpected reply");
		reply_free(r);
		rc = EXIT_DAEMON_ERROR;
	}
	if (rc)
		fprintf(stderr, "larsctl: %s\n", err);
	return rc;
}

static void bar(FILE *out, double part, double whole, double filled)
{
	int n = whole > 0 ? (int)(part / whole * BAR_WIDTH + 0.5) : 0;
	int f = whole > 0 ? (int)(filled / whole * BAR_WIDTH + 0.5) : 0;
	if (n > BAR_WIDTH)
		n = BAR_WIDTH;
	if (f > n)
		f = n;
	fputc('[', out);
	for (int i = 0; i < BAR_WIDTH; i++)
		fputc(i < f ? '#' : i < n ? '-' : ' ', out);
	fputc(']', out);
}

static const struct sess_count *sess_find(const struct sess_counts *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

static bool count_of(const char *v, unsigned long long *n)
{
	if (!v || !format_is_number(v) || *v == '-')
		return false;
	*n = strtoull(v, NULL, 10);
	return true;
}

/* A line per session: sent/s and the loss over the frame (from the
 * change in sent and lost; "-" on the first frame, and when the counters
 * went back: a reload that changes a session starts it afresh), and the
 * round trip's p50 and p99 as larsd reports them.  The counters go into
 * next. */
static void session_lines(FILE *out, const struct reply *ses, const struct sess_counts *prev,
			  double dt, struct sess_counts *next)
{
	struct sessions s;
	size_t w = 0;

	if (sessions_index(ses, &s) < 0 || s.n == 0)
		return;
	next->v = calloc(s.n, sizeof(*next->v));
	for (size_t i = 0; i < s.n; i++) {
		const char *name = s.row[i][SESSION_name] ? s.row[i][SESSION_name] : "-";
		if (strlen(name) > w)
			w = strlen(name);
	}
	for (size_t i = 0; i < s.n; i++) {
		const char *name = s.row[i][SESSION_name] ? s.row[i][SESSION_name] : "-";
		char rate[32] = "-", loss[32] = "-", p50[32] = "-", p99[32] = "-";
		struct sess_count c = {0};
		bool sent_known = count_of(s.row[i][SESSION_sent], &c.sent);
		c.lost_known = count_of(s.row[i][SESSION_lost], &c.lost);
		const struct sess_count *p = sent_known ? sess_find(prev, name) : NULL;

		if (p && dt > 0 && c.sent >= p->sent) {
			unsigned long long ds = c.sent - p->sent;
			snprintf(rate, sizeof(rate), "%.1f", (double)ds / dt);
			if (ds > 0 && c.lost_known && p->lost_known && c.lost >= p->lost)
				snprintf(loss, sizeof(loss), "%.2f",
					 (double)(c.lost - p->lost) * 100 / (double)ds);
		}
		if (!sessions_item(s.row[i][SESSION_rtt_us], 0, p50, sizeof(p50)))
			strcpy(p50, "-");
		if (!sessions_item(s.row[i][SESSION_rtt_us], 2, p99, sizeof(p99)))
			strcpy(p99, "-");
		fprintf(out, "session %-*s %8s sent/s  loss %6s %%  rtt p50 %8s us  p99 %8s us\n",
			(int)w, name, rate, loss, p50, p99);
		if (next->v && sent_known && (c.name = strdup(name)) != NULL)
			next->v[next->n++] = c;
	}
	sessions_free(&s);
}

static void frame(FILE *out, const struct reply *st, const struct reply *pool,
		  const struct reply *wk, const struct reply *ses, const struct sample *prev,
		  const struct sample *cur, const struct sess_counts *sprev,
		  struct sess_counts *snext)
{
	double dt = prev ? cur->t - prev->t : 0;
	fprintf(out, "larsd %s  up %llu s  %llu threads  %llu connections\n",
		reply_get(st, "version") ? reply_get(st, "version") : "?", num(st, "uptime_s"),
		num(st, "threads"), num(st, "connections_current"));
	if (dt > 0)
		fprintf(out, "%12.0f replies/s  %12.0f bytes/s in  %12.0f bytes/s out\n",
			(double)(cur->replies - prev->replies) / dt,
			(double)(cur->bytes_in - prev->bytes_in) / dt,
			(double)(cur->bytes_out - prev->bytes_out) / dt);
	else
		fprintf(out, "%12s replies/s  %12s bytes/s in  %12s bytes/s out\n", "-", "-", "-");
	double limit = (double)num(pool, "mem_limit");
	fprintf(out, "pool %llu of %llu bytes (MEM_LIMIT); failures %llu\n",
		num(pool, "bytes_owned"), num(pool, "mem_limit"), num(st, "pool_failures"));
	for (unsigned t = 0;; t++) {
		char name[64];
		snprintf(name, sizeof(name), "tier_%u:capacity", t);
		if (!reply_get(pool, name))
			break;
		double cap = (double)num(pool, name);
		snprintf(name, sizeof(name), "tier_%u:owned", t);
		double owned = (double)num(pool, name) * cap;
		snprintf(name, sizeof(name), "tier_%u:in_use", t);
		double used = (double)num(pool, name) * cap;
		snprintf(name, sizeof(name), "tier_%u:failures", t);
		fprintf(out, "  %8.0fK ", cap / 1024);
		bar(out, owned, limit, used);
		fprintf(out, " %6.1f%% in use %llu  failures %llu\n",
			limit > 0 ? owned * 100 / limit : 0, (unsigned long long)(used / cap),
			num(pool, name));
	}
	for (unsigned w = 0;; w++) {
		char name[64];
		snprintf(name, sizeof(name), "worker_%u:connections", w);
		if (!reply_get(wk, name))
			break;
		unsigned long long conns = num(wk, name);
		snprintf(name, sizeof(name), "worker_%u:replies", w);
		fprintf(out, "worker %u: %llu connections, %llu replies\n", w, conns, num(wk, name));
	}
	if (ses)
		session_lines(out, ses, sprev, dt, snext);
}

int watch_run(const char *path, unsigned interval_ms, unsigned count, int timeout_ms)
{
	struct sample prev = {0}, cur;
	struct sess_counts sprev = {0}, snext;
	bool have_prev = false, tty = isatty(STDOUT_FILENO);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (unsigned n = 0; !interrupted && (count == 0 || n < count); n++) {
		char err[256];
		int fd = ctl_connect(path, err, sizeof(err));
		if (fd < 0) {
			fprintf(stderr, "larsctl: %s\n", err);
			return EXIT_UNREACHABLE;
		}
		struct reply st, pool, wk, ses;
		int rc = ask(fd, "stats", timeout_ms, &st);
		if (!rc && (rc = ask(fd, "stats pool", timeout_ms, &pool)) != 0)
			reply_free(&st);
		if (!rc && (rc = ask(fd, "stats workers", timeout_ms, &wk)) != 0) {
			reply_free(&st);
			reply_free(&pool);
		}
		/* Last, and quietly optional: an older larsd answers ERROR. */
		bool have_ses = !rc && ctl_exchange(fd, "stats sessions", timeout_ms, &ses, err,
						    sizeof(err)) == 0;
		if (have_ses && ses.kind != REPLY_STATS) {
			reply_free(&ses);
			have_ses = false;
		}
		close(fd);
		if (rc) {
			sess_counts_free(&sprev);
			return rc;
		}
		cur.t = now_s();
		cur.replies = num(&st, "tcp_replies") + num(&st, "udp_replies");
		cur.bytes_in = num(&st, "bytes_in");
		cur.bytes_out = num(&st, "bytes_out");
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (n > 0)
			fputc('\n', stdout);
		snext = (struct sess_counts){0};
		frame(stdout, &st, &pool, &wk, have_ses ? &ses : NULL, have_prev ? &prev : NULL,
		      &cur, &sprev, &snext);
		fflush(stdout);
		reply_free(&st);
		reply_free(&pool);
		reply_free(&wk);
		if (have_ses)
			reply_free(&ses);
		sess_counts_free(&sprev);
		sprev = snext;
		prev = cur;
		have_prev = true;
		if (count && n + 1 == count)
			break;
		struct timespec ts = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	sess_counts_free(&sprev);
	return 0;
}
