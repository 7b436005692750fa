/*
 * main.c - larsd-bench: a closed-loop load generator and latency meter for
 * echo services (RFC 862 echo and the Lars framing, TCP and UDP), and an
 * RFC 8762 STAMP Session-Sender (closed loop or paced).
 *
 * main() parses the options, makes the shared payload, starts one worker
 * thread per --threads with its share of the connections, and sets the
 * clock once all have connected: traffic starts, the warm-up ends, the
 * deadline falls.  While the workers run it prints the progress line (on
 * a terminal) and samples the server's CPU time (--server-pid); then it
 * merges what the workers counted and prints the summary.
 *
 * Exit status: 0 without errors, 1 when a reply was corrupt, short or
 * changed or a connection failed (or the run could not start), 2 for bad
 * arguments.
 */
#include "config.h"

#include "clock.h"
#include "histogram.h"
#include "options.h"
#include "payload.h"
#include "procstat.h"
#include "report.h"
#include "stamp_stats.h"
#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EXIT_ERRORS 1
#define EXIT_USAGE 2
#define SPARE_FDS 32

static struct run run;
static struct histogram merged; /* progress and summary; too big for the stack */
static struct stamp_stats stamp_merged; /* stamp mode: the summary */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&run.stop, 1);
}

static void set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second ^C ends it at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Room for one descriptor per connection. */
static int raise_fd_limit(unsigned connections)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)connections + SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fprintf(stderr,
			"larsd-bench: %u connections need %llu open files, the limit is %llu\n",
			connections, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "larsd-bench: cannot raise the open file limit: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static struct timespec to_timespec(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
	return ts;
}

/* Add up the workers' snapshots (during the run) or results (after).
 * During the run, *rate gets the replies per second since the last
 * progress line, from each worker's own snapshot times. */
static void merge(struct worker *ws, unsigned n, bool snapshots, struct bench_counts *c,
		  double *rate)
{
	memset(c, 0, sizeof(*c));
	hist_init(&merged);
	if (rate)
		*rate = 0.0;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &ws[i];
		if (snapshots)
			pthread_mutex_lock(&w->snap_lock);
		const struct bench_counts *x = snapshots ? &w->snap_counts : &w->counts;
		c->sent += x->sent;
		c->replies += x->replies;
		c->corrupt += x->corrupt;
		c->conn_errors += x->conn_errors;
		c->losses += x->losses;
		c->late += x->late;
		c->unsolicited += x->unsolicited;
		c->changed += x->changed;
		hist_merge(&merged, snapshots ? &w->snap_hist : &w->hist);
		if (rate && w->snap_ns > w->shown_ns) {
			*rate += (double)(x->replies - w->shown_replies) /
				 ((double)(w->snap_ns - w->shown_ns) / 1e9);
			w->shown_ns = w->snap_ns;
			w->shown_replies = x->replies;
		}
		if (snapshots)
			pthread_mutex_unlock(&w->snap_lock);
	}
}

static bool progress_line(struct worker *ws, unsigned n, uint64_t now)
{
	struct bench_counts c;
	double rate;
	char line[160];

	merge(ws, n, true, &c, &rate);
	if (now < run.t_measure) {
		snprintf(line, sizeof(line), "%6.0f s  warm-up", (double)(now - run.t_start) / 1e9);
	} else {
		double secs = (double)(now - run.t_measure) / 1e9; /* measured so far */
		int len = snprintf(line, sizeof(line),
				   "%6.0f s  %.0f replies/s  p99 %.1f us  replies %" PRIu64
				   "  errors %" PRIu64,
				   secs, rate, (double)hist_percentile(&merged, 99.0) / 1000.0,
				   c.replies, c.corrupt + c.changed + c.conn_errors);
		if (run.o->proto == BENCH_UDP && len > 0 && (size_t)len < sizeof(line))
			snprintf(line + len, sizeof(line) - (size_t)len, "  losses %" PRIu64,
				 c.losses);
	}
	fprintf(stderr, "\r%-79s", line);
	fflush(stderr);
	return true;
}

/* The next progress line: every second of the warm-up, then every second
 * of the measured time. */
static uint64_t next_tick(uint64_t now)
{
	uint64_t base = now < run.t_measure ? run.t_start : run.t_measure;
	uint64_t t = base + ((now - base) / NS_PER_S + 1) * NS_PER_S;

	if (now < run.t_measure && t > run.t_measure)
		t = run.t_measure + NS_PER_S;
	return t;
}

/* Wait for the workers, with the progress line and the CPU sample at the
 * end of the warm-up.  Returns the server's CPU seconds at that point. */
static double watch(struct worker *ws, unsigned n, double cpu0)
{
	uint64_t tick = next_tick(run.t_start);
	bool sampled = cpu0 >= 0.0 || !run.o->server_pid, shown = false;

	for (unsigned i = 0; i < n; i++)
		ws[i].shown_ns = run.t_measure;
	pthread_mutex_lock(&run.lock);
	while (run.done < n) {
		uint64_t until = tick;
		if (!sampled && run.t_measure < until)
			until = run.t_measure;
		struct timespec ts = to_timespec(until);
		pthread_cond_timedwait(&run.cond, &run.lock, &ts);
		if (run.done >= n)
			break;
		pthread_mutex_unlock(&run.lock);
		uint64_t now = clock_ns();
		if (!sampled && now >= run.t_measure) {
			cpu0 = procstat_cpu_seconds(run.o->server_pid);
			sampled = true;
		}
		if (now >= tick) {
			if (run.progress)
				shown = progress_line(ws, n, now);
			tick = next_tick(now);
		}
		pthread_mutex_lock(&run.lock);
	}
	pthread_mutex_unlock(&run.lock);
	if (shown)
		fprintf(stderr, "\r%79s\r", "");
	return cpu0;
}

static int run_bench(const struct bench_opts *o, const struct payload *pl)
{
	struct worker *ws = calloc(o->threads, sizeof(*ws));
	pthread_condattr_t ca;
	unsigned first = 0;

	if (!ws) {
		fprintf(stderr, "larsd-bench: %s\n", strerror(ENOMEM));
		return EXIT_ERRORS;
	}
	run.o = o;
	run.pl = pl;
	run.t_start = run.t_measure = 0;
	run.t_end = UINT64_MAX;
	run.progress = isatty(STDERR_FILENO) && !o->quiet && !o->json;
	pthread_barrier_init(&run.barrier, NULL, o->threads + 1);
	pthread_mutex_init(&run.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&run.cond, &ca);

	for (unsigned i = 0; i < o->threads; i++) {
		struct worker *w = &ws[i];
		w->run = &run;
		w->ops = o->mode == BENCH_STAMP  ? &stamp_client_ops
			 : o->proto == BENCH_UDP ? &udp_client_ops
						 : &tcp_client_ops;
		if (o->mode == BENCH_STAMP) {
			w->stamp = malloc(sizeof(*w->stamp));
			if (!w->stamp) {
				fprintf(stderr, "larsd-bench: %s\n", strerror(ENOMEM));
				exit(EXIT_ERRORS);
			}
			stamp_stats_init(w->stamp);
		}
		w->index = i;
		w->first_conn = first;
		w->n_conns = o->connections / o->threads + (i < o->connections % o->threads);
		first += w->n_conns;
		if (o->count) {
			w->limited = true;
			w->budget = o->count / o->threads + (i < o->count % o->threads);
		}
		if (worker_start(w) < 0) {
			/* The others wait at the barrier: nothing to unwind. */
			fprintf(stderr, "larsd-bench: cannot start a thread: %s\n", strerror(errno));
			exit(EXIT_ERRORS);
		}
	}

	pthread_barrier_wait(&run.barrier); /* every connection is up (or failed) */
	uint64_t now = clock_ns();
	run.t_start = now;
	run.t_measure = now + (uint64_t)(o->warmup * 1e9);
	if (o->duration > 0)
		run.t_end = run.t_measure + (uint64_t)(o->duration * 1e9);
	double cpu0 = -1.0;
	if (o->server_pid && o->warmup == 0)
		cpu0 = procstat_cpu_seconds(o->server_pid);
	pthread_barrier_wait(&run.barrier); /* go */

	cpu0 = watch(ws, o->threads, cpu0);
	uint64_t t_finish = run.t_measure;
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(ws[i].thread, NULL);
		if (ws[i].t_finish > t_finish)
			t_finish = ws[i].t_finish;
	}

	struct report r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.pl = pl;
	r.elapsed = (double)(t_finish - run.t_measure) / 1e9;
	r.interrupted = atomic_load(&run.stop) != 0;
	merge(ws, o->threads, false, &r.c, NULL);
	r.h = &merged;
	if (o->mode == BENCH_STAMP) {
		stamp_stats_init(&stamp_merged);
		for (unsigned i = 0; i < o->threads; i++)
			stamp_stats_merge(&stamp_merged, ws[i].stamp);
		r.stamp = &stamp_merged;
	}
	r.server = o->server_pid != 0;
	r.server_cpu = -1.0;
	r.server_rss_kib = -1;
	if (r.server) {
		double cpu1 = procstat_cpu_seconds(o->server_pid);
		if (cpu0 >= 0.0 && cpu1 >= cpu0)
			r.server_cpu = cpu1 - cpu0;
		r.server_rss_kib = procstat_rss_kib(o->server_pid);
	}
	if (o->json)
		report_json(stdout, &r);
	else
		report_text(stdout, &r);
	fflush(stdout);

	for (unsigned i = 0; i < o->threads; i++) {
		pthread_mutex_destroy(&ws[i].snap_lock);
		free(ws[i].stamp);
	}
	free(ws);
	pthread_barrier_destroy(&run.barrier);
	return report_errors(&r) ? EXIT_ERRORS : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct payload pl;
	char err[OPTS_ERR_MAX];

	switch (opts_parse(&o, argc, argv, err, sizeof(err))) {
	case OPTS_DONE:
		return ferror(stdout) ? EXIT_ERRORS : EXIT_SUCCESS;
	case OPTS_BAD:
		fprintf(stderr, "larsd-bench: %s\n", err);
		return EXIT_USAGE;
	case OPTS_RUN:
		break;
	}
	if (o.server_pid && procstat_cpu_seconds(o.server_pid) < 0) {
		fprintf(stderr, "larsd-bench: --server-pid: no process %ld\n", (long)o.server_pid);
		return EXIT_USAGE;
	}
	if (raise_fd_limit(o.connections) < 0)
		return EXIT_ERRORS;
	if (payload_init(&pl, o.mode, o.size, o.msgid) < 0) {
		fprintf(stderr, "larsd-bench: %s\n", strerror(errno));
		return EXIT_ERRORS;
	}
	set_signals();
	int status = run_bench(&o, &pl);
	payload_free(&pl);
	return status;
}
