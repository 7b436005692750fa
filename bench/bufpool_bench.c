/*
 * bufpool_bench.c - one measurement of one allocator backend on one workload.
 *
 * bench/bufpool-bench runs this program many times (backends interleaved)
 * and turns its output into the tables of bench/results/.  One run:
 *
 *   bufpool_bench --backend=pool|malloc|orig|bare --workload=churn|window|...
 *
 * Backends: `pool` is libbufpool (bufpool_new() with MEM_LIMIT 1G, other
 * settings default); `malloc` is malloc(size)/free() of whatever malloc the
 * process has (glibc, or an LD_PRELOADed tcmalloc/jemalloc/mimalloc: the
 * script decides, this program only reports which one it sees); `orig` is
 * the original Lars design (orig_pool.c); `bare` is the floor: per-thread
 * stacks of tier-sized buffers and nothing else.  Buffers are asked for
 * with the requested size in every backend.
 *
 * Workloads, each step one alloc + one revert/free, and each new buffer
 * written: 64 bytes at the start and 1 byte at its requested end:
 *   churn    alloc, write, revert; for each size of --sizes (the tiers and
 *            two odd sizes by default);
 *   window   256 live buffers, the oldest replaced each step; sizes 70% in
 *            [64, 4K], 20% (4K, 16K], 8% (16K, 64K], 2% (64K, 1M], drawn up
 *            front (xorshift) into a 64Ki-entry table that is cycled;
 *   window2  --threads threads (2) each running its own window with its own
 *            size table, at the same time;
 *   control  no allocation at all: a fixed loop of arithmetic and 64-byte
 *            stores into a 16K scratch area, on one thread and then on
 *            --threads threads at once.  It measures how much the machine
 *            itself slows a thread down when a second one runs (shared or
 *            busy cores), to read window2's per-thread numbers against.
 *
 * Every process starts and joins a thread before measuring: glibc's
 * mutexes skip the atomic operations in a process that never had a second
 * thread, which would flatter single-threaded numbers.  Each measurement
 * first runs --warmup seconds untimed, then steps in chunks of 256 until
 * --time seconds have passed (window2: until the main thread says stop, so
 * the threads overlap for the whole measurement).  Time is CLOCK_MONOTONIC,
 * read between chunks and cut into slices of --slice seconds (2 ms); slices
 * in which the thread was preempted by another process (getrusage's
 * ru_nivcsw went up) are left out when any clean slice remains, since on a
 * small shared machine they measure the neighbours, not the allocator.
 *
 * Output, one line per result, `#` lines are comments:
 *   result WORKLOAD CASE NS_PER_PAIR PAIRS SECONDS CLEAN
 * CASE is the size for churn, `1t` for window, and for window2 `tN` per
 * thread, `thread` (the slowest thread) and `total` (the threads' rates
 * added up, as ns per pair).  control reports the same cases in ns per loop
 * step.  CLEAN is the share of the measured time that was kept.
 */
#define _GNU_SOURCE
#include "bufpool.h"
#include "orig_pool.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHUNK 256            /* steps between clock reads; also the window */
#define WINDOW 256           /* live buffers in the window workloads */
#define SEQ_LEN (1u << 16)   /* size table length, a power of two */
#define MAX_THREADS 16
#define TOUCH_HEAD 64        /* bytes written at the start of each buffer */
#define SCRATCH (16u << 10)  /* control: per-thread scratch area */

enum backend { BK_POOL, BK_MALLOC, BK_ORIG, BK_BARE };

static const char *const backend_name[] = {"pool", "malloc", "orig", "bare"};

static enum backend opt_backend = BK_POOL;
static double opt_time = 0.25;
static double opt_warmup = -1;
static double opt_slice = 0.002;
static int opt_pin = 1;
static unsigned opt_threads = 2;
static size_t opt_mem_limit = (size_t)1 << 30;
static bufpool_t *bench_pool;
static atomic_uint_fast64_t steps_done; /* all steps, warm-up included */

static const size_t default_sizes[] = {
	4096, 16384, 65536, 262144, 1048576, 4194304, 8388608, 3000, 100000,
};

static __attribute__((noreturn, cold)) void die(const char *what)
{
	fprintf(stderr, "bufpool_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- bare: the floor ---- */

/* The least a tiered pool can do: per-thread LIFO stacks per tier, no
 * header, no checks, no limit, no sharing; the caller passes the size back
 * at free.  What libbufpool adds on top of it is its own cost. */
#define BARE_DEPTH 1024

struct bare_tier {
	unsigned n;
	void *stack[BARE_DEPTH];
};

static __thread struct bare_tier *bare_cache;

static inline unsigned bare_tier_of(size_t n)
{
	unsigned bits;

	if (n <= 4096)
		return 0;
	bits = 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	return bits <= 22 ? (bits - 11) / 2 : 6;
}

static __attribute__((noinline)) struct bare_tier *bare_init(void)
{
	bare_cache = calloc(BUFPOOL_TIERS, sizeof(*bare_cache));
	if (!bare_cache)
		die("calloc");
	return bare_cache;
}

static inline __attribute__((always_inline)) char *bare_alloc(size_t n)
{
	struct bare_tier *c = bare_cache ? bare_cache : bare_init();
	unsigned t = bare_tier_of(n);
	char *p;

	if (__builtin_expect(c[t].n > 0, 1))
		return c[t].stack[--c[t].n];
	p = aligned_alloc(64, bufpool_tier_size(t));
	if (!p)
		die("aligned_alloc");
	return p;
}

static inline __attribute__((always_inline)) void bare_free(void *p, size_t n)
{
	struct bare_tier *c = bare_cache;
	unsigned t = bare_tier_of(n);

	if (__builtin_expect(c[t].n < BARE_DEPTH, 1))
		c[t].stack[c[t].n++] = p;
	else
		free(p);
}

/* ---- backends: always inlined, so each loop below is specialised ---- */

static inline __attribute__((always_inline)) void *
bk_alloc(enum backend be, size_t n, char **data)
{
	switch (be) {
	case BK_POOL: {
		struct io_buf *b = bufpool_alloc(bench_pool, n);

		if (__builtin_expect(!b, 0))
			die("bufpool_alloc");
		*data = b->data;
		return b;
	}
	case BK_MALLOC: {
		char *p = malloc(n);

		if (__builtin_expect(!p, 0))
			die("malloc");
		*data = p;
		return p;
	}
	case BK_ORIG: {
		struct orig_buf *b = orig_alloc_buf(n);

		if (__builtin_expect(!b, 0))
			die("orig_alloc_buf");
		*data = b->data;
		return b;
	}
	case BK_BARE:
		*data = bare_alloc(n);
		return *data;
	}
	__builtin_unreachable();
}

static inline __attribute__((always_inline)) void
bk_free(enum backend be, void *h, size_t n)
{
	switch (be) {
	case BK_POOL:
		bufpool_revert(bench_pool, h);
		break;
	case BK_MALLOC:
		free(h);
		break;
	case BK_ORIG:
		orig_revert(h);
		break;
	case BK_BARE:
		bare_free(h, n);
		break;
	}
	(void)n;
}

/* What a user does with a fresh buffer, kept by the compiler. */
static inline __attribute__((always_inline)) void touch(char *data, size_t n)
{
	memset(data, 0xa5, TOUCH_HEAD);
	data[n - 1] = 0x5a;
	__asm__ volatile("" : : "r"(data) : "memory");
}

/* ---- workloads ---- */

struct wstate {
	size_t size;         /* churn */
	const uint32_t *seq; /* window: SEQ_LEN sizes */
	uint64_t pos;
	void *ring[WINDOW];
	size_t ring_n[WINDOW];
	char *scratch;       /* control */
	uint64_t rng[4];
};

static inline __attribute__((always_inline)) void
churn_steps(enum backend be, struct wstate *ws)
{
	size_t n = ws->size;

	for (unsigned i = 0; i < CHUNK; i++) {
		char *d;
		void *h = bk_alloc(be, n, &d);

		touch(d, n);
		bk_free(be, h, n);
	}
}

static inline __attribute__((always_inline)) void
window_steps(enum backend be, struct wstate *ws)
{
	for (unsigned i = 0; i < WINDOW; i++) {
		size_t n = ws->seq[ws->pos++ & (SEQ_LEN - 1)];
		char *d;

		bk_free(be, ws->ring[i], ws->ring_n[i]);
		ws->ring[i] = bk_alloc(be, n, &d);
		ws->ring_n[i] = n;
		touch(d, n);
	}
}

static void churn_chunk(struct wstate *ws)
{
	switch (opt_backend) {
	case BK_POOL: churn_steps(BK_POOL, ws); break;
	case BK_MALLOC: churn_steps(BK_MALLOC, ws); break;
	case BK_ORIG: churn_steps(BK_ORIG, ws); break;
	case BK_BARE: churn_steps(BK_BARE, ws); break;
	}
}

static void window_chunk(struct wstate *ws)
{
	switch (opt_backend) {
	case BK_POOL: window_steps(BK_POOL, ws); break;
	case BK_MALLOC: window_steps(BK_MALLOC, ws); break;
	case BK_ORIG: window_steps(BK_ORIG, ws); break;
	case BK_BARE: window_steps(BK_BARE, ws); break;
	}
}

static void window_fill(struct wstate *ws)
{
	for (unsigned i = 0; i < WINDOW; i++) {
		size_t n = ws->seq[ws->pos++ & (SEQ_LEN - 1)];
		char *d = NULL;

		switch (opt_backend) {
		case BK_POOL: ws->ring[i] = bk_alloc(BK_POOL, n, &d); break;
		case BK_MALLOC: ws->ring[i] = bk_alloc(BK_MALLOC, n, &d); break;
		case BK_ORIG: ws->ring[i] = bk_alloc(BK_ORIG, n, &d); break;
		case BK_BARE: ws->ring[i] = bk_alloc(BK_BARE, n, &d); break;
		}
		ws->ring_n[i] = n;
		touch(d, n);
	}
}

static void window_drain(struct wstate *ws)
{
	for (unsigned i = 0; i < WINDOW; i++) {
		size_t n = ws->ring_n[i];

		switch (opt_backend) {
		case BK_POOL: bk_free(BK_POOL, ws->ring[i], n); break;
		case BK_MALLOC: bk_free(BK_MALLOC, ws->ring[i], n); break;
		case BK_ORIG: bk_free(BK_ORIG, ws->ring[i], n); break;
		case BK_BARE: bk_free(BK_BARE, ws->ring[i], n); break;
		}
		ws->ring[i] = NULL;
	}
}

/* The control loop: independent arithmetic chains and one 64-byte store per
 * step, all in L1; nothing shared between threads. */
static void control_chunk(struct wstate *ws)
{
	for (unsigned i = 0; i < CHUNK; i++) {
		for (unsigned k = 0; k < 4; k++) {
			ws->rng[k] ^= ws->rng[k] << 13;
			ws->rng[k] ^= ws->rng[k] >> 7;
			ws->rng[k] ^= ws->rng[k] << 17;
		}
		char *d = ws->scratch + ((ws->pos++ * 64) & (SCRATCH - 1));
		memset(d, (int)ws->rng[i & 3], 64);
		__asm__ volatile("" : : "r"(d) : "memory");
	}
}

static void control_init(struct wstate *ws, unsigned id)
{
	ws->scratch = aligned_alloc(64, SCRATCH);
	if (!ws->scratch)
		die("aligned_alloc");
	memset(ws->scratch, 0, SCRATCH);
	for (unsigned k = 0; k < 4; k++)
		ws->rng[k] = 0x9e3779b97f4a7c15ull * (id * 4 + k + 1);
}

/* xorshift64*: fast, and only used before the clock starts. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint32_t *window_sequence(unsigned id)
{
	uint32_t *seq = malloc(SEQ_LEN * sizeof(*seq));
	uint64_t s = 0x9e3779b97f4a7c15ull * (id + 1);

	if (!seq)
		die("malloc");
	for (unsigned i = 0; i < SEQ_LEN; i++) {
		uint64_t r = rng_next(&s);
		unsigned pct = (unsigned)(r % 100);
		uint64_t lo, hi;

		r >>= 32;
		if (pct < 70)
			lo = 64, hi = 4096;
		else if (pct < 90)
			lo = 4097, hi = 16384;
		else if (pct < 98)
			lo = 16385, hi = 65536;
		else
			lo = 65537, hi = 1048576;
		seq[i] = (uint32_t)(lo + r % (hi - lo + 1));
	}
	return seq;
}

/* A measurement in slices of --slice seconds.  A slice during which the
 * thread was preempted (its count of involuntary context switches went up:
 * another process took the CPU) is kept apart, so a busy machine does not
 * bend the numbers; the result is taken from the clean slices when there
 * are any. */
struct tally {
	uint64_t pairs, clean_pairs;
	double ns, clean_ns;
};

static long preemptions(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		die("getrusage");
	return ru.ru_nivcsw;
}

/* Run chunks for `seconds`, or until *stop when stop is given. */
static void run_chunks(void (*fn)(struct wstate *), struct wstate *ws,
		       double seconds, atomic_int *stop, struct tally *tl)
{
	double until = now_ns() + seconds * 1e9;
	double slice = opt_slice > 0 ? opt_slice * 1e9 : INFINITY;
	long cs = opt_slice > 0 ? preemptions() : 0, cs1 = 0;
	int end;

	*tl = (struct tally){0};
	do {
		double s0 = now_ns(), t;
		uint64_t pairs = 0;

		do {
			fn(ws);
			pairs += CHUNK;
			t = now_ns();
			end = stop ? atomic_load_explicit(stop, memory_order_relaxed)
				   : t >= until;
		} while (!end && t - s0 < slice);
		if (opt_slice > 0)
			cs1 = preemptions();
		tl->pairs += pairs;
		tl->ns += t - s0;
		if (cs1 == cs) {
			tl->clean_pairs += pairs;
			tl->clean_ns += t - s0;
		}
		cs = cs1;
	} while (!end);
	atomic_fetch_add_explicit(&steps_done, tl->pairs, memory_order_relaxed);
}

/* ns per pair: of the clean slices if there are any, else of all. */
static double tally_ns(const struct tally *tl)
{
	if (tl->clean_pairs)
		return tl->clean_ns / (double)tl->clean_pairs;
	return tl->ns / (double)tl->pairs;
}

static double tally_clean(const struct tally *tl)
{
	return tl->ns > 0 ? tl->clean_ns / tl->ns : 0;
}

static void report(const char *workload, const char *c, double ns_per_pair,
		   uint64_t pairs, double seconds, double clean)
{
	printf("result %s %s %.2f %" PRIu64 " %.3f %.2f\n", workload, c,
	       ns_per_pair, pairs, seconds, clean);
	fflush(stdout);
}

static void measure(const char *workload, const char *c,
		    void (*fn)(struct wstate *), struct wstate *ws)
{
	struct tally tl;

	run_chunks(fn, ws, opt_warmup, NULL, &tl);
	run_chunks(fn, ws, opt_time, NULL, &tl);
	report(workload, c, tally_ns(&tl), tl.pairs, tl.ns / 1e9,
	       tally_clean(&tl));
}

static void run_churn(const size_t *sizes, unsigned nsizes)
{
	struct wstate ws = {0};
	char c[32];

	for (unsigned i = 0; i < nsizes; i++) {
		ws.size = sizes[i];
		snprintf(c, sizeof(c), "%zu", sizes[i]);
		measure("churn", c, churn_chunk, &ws);
	}
}

static void run_window(void)
{
	struct wstate ws = {0};

	ws.seq = window_sequence(0);
	window_fill(&ws);
	measure("window", "1t", window_chunk, &ws);
	window_drain(&ws);
	free((void *)ws.seq);
}

struct worker {
	pthread_t tid;
	unsigned id;
	int control;
	pthread_barrier_t *go;
	atomic_int *stop;
	struct tally tl;
};

/* Thread i runs on the i-th CPU we may use, if there are enough of them.
 * Without pinning, two threads of a contended pool land on one CPU now and
 * then and preempt each other; that is not the allocator's speed, and the
 * slice filter would mistake it for a neighbour's doing. */
static void pin_to_cpu(unsigned id)
{
	cpu_set_t allowed, one;
	unsigned seen = 0;

	if (!opt_pin || sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    (unsigned)CPU_COUNT(&allowed) < opt_threads)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || seen++ != id)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		errno = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
		if (errno)
			die("pthread_setaffinity_np");
		return;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct wstate ws = {0};
	void (*fn)(struct wstate *) = w->control ? control_chunk : window_chunk;
	struct tally warm;

	pin_to_cpu(w->id);
	if (w->control) {
		control_init(&ws, w->id);
	} else {
		ws.seq = window_sequence(w->id);
		window_fill(&ws);
	}
	run_chunks(fn, &ws, opt_warmup, NULL, &warm);
	pthread_barrier_wait(w->go);
	run_chunks(fn, &ws, 0, w->stop, &w->tl);
	if (!w->control)
		window_drain(&ws);
	free((void *)ws.seq);
	free(ws.scratch);
	return NULL;
}

/* --threads workers at once, overlapping for the whole measurement.  The
 * total is the sum of the threads' rates: 1 / sum(1 / ns per pair). */
static void run_threads(const char *workload, int control)
{
	struct worker w[MAX_THREADS];
	pthread_barrier_t go;
	atomic_int stop = 0;
	struct timespec ts;
	double rate = 0, worst = 0, worst_clean = 1, clean = 1, secs = 0;
	uint64_t all = 0, worst_pairs = 0;
	char c[32];

	if (pthread_barrier_init(&go, NULL, opt_threads + 1))
		die("pthread_barrier_init");
	for (unsigned i = 0; i < opt_threads; i++) {
		w[i] = (struct worker){
			.id = i, .control = control, .go = &go, .stop = &stop};
		errno = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		if (errno)
			die("pthread_create");
	}
	pthread_barrier_wait(&go);
	ts.tv_sec = (time_t)opt_time;
	ts.tv_nsec = (long)((opt_time - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < opt_threads; i++) {
		const struct tally *tl = &w[i].tl;
		double ns;

		pthread_join(w[i].tid, NULL);
		ns = tally_ns(tl);
		snprintf(c, sizeof(c), "t%u", i);
		report(workload, c, ns, tl->pairs, tl->ns / 1e9, tally_clean(tl));
		if (ns > worst) {
			worst = ns;
			worst_pairs = tl->pairs;
			worst_clean = tally_clean(tl);
		}
		if (tally_clean(tl) < clean)
			clean = tally_clean(tl);
		if (tl->ns / 1e9 > secs)
			secs = tl->ns / 1e9;
		rate += 1 / ns;
		all += tl->pairs;
	}
	report(workload, "thread", worst, worst_pairs, secs, worst_clean);
	report(workload, "total", 1 / rate, all, secs, clean);
	pthread_barrier_destroy(&go);
}

static void run_control(void)
{
	struct wstate ws = {0};

	control_init(&ws, 0);
	measure("control", "1t", control_chunk, &ws);
	free(ws.scratch);
	run_threads("control", 1);
}

/* ---- set-up ---- */

static void *idle_thread(void *arg)
{
	return arg;
}

/* Which malloc the process really has: an LD_PRELOADed one shows in maps. */
static const char *malloc_name(void)
{
	static const char *const known[] = {"tcmalloc", "jemalloc", "mimalloc"};
	static char found[16] = "glibc";
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return "unknown";
	while (fgets(line, sizeof(line), f)) {
		for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strstr(line, known[i])) {
				snprintf(found, sizeof(found), "%s", known[i]);
				goto out;
			}
		}
	}
out:
	fclose(f);
	return found;
}

static void usage(FILE *f)
{
	fputs("usage: bufpool_bench --backend=pool|malloc|orig|bare "
	      "--workload=churn|window|window2|control\n"
	      "         [--time=SEC] [--warmup=SEC] [--slice=SEC] [--sizes=N,...]\n"
	      "         [--threads=N] [--no-pin] [--mem-limit=SIZE]\n"
	      "Prints `result WORKLOAD CASE NS_PER_PAIR PAIRS SECONDS CLEAN`.\n"
	      "See bench/README.md.\n",
	      f);
}

static size_t parse_size_or_die(const char *opt, const char *text)
{
	size_t v;

	if (bufpool_parse_size(text, &v) || v == 0) {
		fprintf(stderr, "bufpool_bench: %s: bad size '%s'\n", opt, text);
		exit(2);
	}
	return v;
}

static double parse_seconds_or_die(const char *opt, const char *text)
{
	char *end;
	double v = strtod(text, &end);

	if (end == text || *end || !(v >= 0) || v > 3600) {
		fprintf(stderr, "bufpool_bench: %s: bad time '%s'\n", opt, text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backend", required_argument, NULL, 'b'},
		{"workload", required_argument, NULL, 'w'},
		{"time", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'W'},
		{"slice", required_argument, NULL, 'S'},
		{"no-pin", no_argument, NULL, 'P'},
		{"sizes", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 'T'},
		{"mem-limit", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t sizes[64];
	unsigned nsizes = 0;
	const char *workload = NULL;
	pthread_t tid;
	int o;

	memcpy(sizes, default_sizes, sizeof(default_sizes));
	nsizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			if (!strcmp(optarg, "pool"))
				opt_backend = BK_POOL;
			else if (!strcmp(optarg, "malloc"))
				opt_backend = BK_MALLOC;
			else if (!strcmp(optarg, "orig"))
				opt_backend = BK_ORIG;
			else if (!strcmp(optarg, "bare"))
				opt_backend = BK_BARE;
			else
				goto bad;
			break;
		case 'w':
			workload = optarg;
			break;
		case 't':
			opt_time = parse_seconds_or_die("--time", optarg);
			break;
		case 'W':
			opt_warmup = parse_seconds_or_die("--warmup", optarg);
			break;
		case 'S':
			opt_slice = parse_seconds_or_die("--slice", optarg);
			break;
		case 'P':
			opt_pin = 0;
			break;
		case 's':
			nsizes = 0;
			for (char *tok = strtok(optarg, ","); tok;
			     tok = strtok(NULL, ",")) {
				if (nsizes == sizeof(sizes) / sizeof(sizes[0]))
					goto bad;
				sizes[nsizes] = parse_size_or_die("--sizes", tok);
				if (sizes[nsizes] > BUFPOOL_MAX_SIZE ||
				    sizes[nsizes] < TOUCH_HEAD) {
					fprintf(stderr, "bufpool_bench: --sizes: "
						"%s is outside [64, 8M]\n", tok);
					return 2;
				}
				nsizes++;
			}
			if (!nsizes)
				goto bad;
			break;
		case 'T':
			opt_threads = (unsigned)atoi(optarg);
			if (opt_threads < 1 || opt_threads > MAX_THREADS)
				goto bad;
			break;
		case 'm':
			opt_mem_limit = parse_size_or_die("--mem-limit", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || !workload ||
	    (strcmp(workload, "churn") && strcmp(workload, "window") &&
	     strcmp(workload, "window2") && strcmp(workload, "control")))
		goto bad;
	if (opt_warmup < 0)
		opt_warmup = opt_time / 5;

	/* Take glibc out of its single-threaded mode before anything else. */
	errno = pthread_create(&tid, NULL, idle_thread, NULL);
	if (errno)
		die("pthread_create");
	pthread_join(tid, NULL);

	if (opt_backend == BK_POOL) {
		struct bufpool_config cfg;

		bufpool_config_init(&cfg);
		cfg.mem_limit = opt_mem_limit;
		bench_pool = bufpool_new(&cfg);
		if (!bench_pool)
			die("bufpool_new");
	}
	printf("# backend=%s malloc=%s workload=%s time=%.3f warmup=%.3f "
	       "slice=%.4f\n", backend_name[opt_backend], malloc_name(),
	       workload, opt_time, opt_warmup, opt_slice);

	if (!strcmp(workload, "churn"))
		run_churn(sizes, nsizes);
	else if (!strcmp(workload, "window"))
		run_window();
	else if (!strcmp(workload, "window2"))
		run_threads("window2", 0);
	else
		run_control();

	/* For profilers: cost per step = cost of the run / steps. */
	printf("# steps=%" PRIuFAST64 " (warm-up included)\n",
	       atomic_load(&steps_done));
	if (bench_pool) {
		struct bufpool_stats st;

		bufpool_stats(bench_pool, &st);
		printf("# pool: allocs=%" PRIu64 " fresh=%" PRIu64
		       " released=%" PRIu64 " bytes_owned=%zu\n",
		       st.allocs, st.fresh, st.released, st.bytes_owned);
		bufpool_destroy(bench_pool);
	}
	return 0;
bad:
	usage(stderr);
	return 2;
}
