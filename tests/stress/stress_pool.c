/*
 * stress_pool.c - libbufpool under two threads at MEM_LIMIT for a long run.
 *
 * Two threads allocate buffers of random sizes (4K to 1M tiers) into a
 * pool whose MEM_LIMIT holds only a part of what they ask for, keep up to
 * HOLD of them, write a pattern over each, verify it before giving the
 * buffer back, and now and then hand a buffer to the other thread, which
 * verifies and reverts it (cross-thread reverts).  A third thread samples
 * bufpool_stats() all the time and trims the pool now and then.
 *
 * Checked:
 *  - the accounted bytes (bytes_owned) never exceed mem_limit in any sample;
 *  - no buffer is handed out twice: each holder marks the first word of its
 *    buffer with an atomic compare-and-swap, which fails if another holder
 *    marked it and did not give it back, and the whole pattern (one word
 *    per 64 bytes, each naming holder, buffer and position) must be intact
 *    when the buffer goes back, which catches overlapping buffers too;
 *  - every failed allocation says ENOMEM; capacities and alignment hold;
 *  - once everything is back, nothing is in use.
 * Run twice: with the per-thread caches (the default) and without.
 * Plain C, TAP on stdout.  STRESS_POOL_SECONDS sets the run (default 10).
 */
#include "config.h"

#include <bufpool.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIMIT ((size_t)2 << 20)
#define HOLD 24
#define LIVE 0x4c495645u /* "LIVE" in the top half of the first word */
#define DEAD 0x44454144u

static int tap_n, tap_failed;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failed += !ok;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* ---- one held buffer ----------------------------------------------------- */

struct held {
	struct io_buf *buf;
	uint64_t tag; /* holder and serial */
};

struct problems {
	atomic_ullong double_handout, pattern, bad_errno, bad_shape;
	char first[256];
	atomic_flag first_set;
};

static struct problems prob;

static void problem(atomic_ullong *counter, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(atomic_ullong *counter, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(counter, 1);
	if (atomic_flag_test_and_set(&prob.first_set))
		return;
	va_start(ap, fmt);
	vsnprintf(prob.first, sizeof(prob.first), fmt, ap);
	va_end(ap);
}

static uint64_t word_of(uint64_t tag, size_t i)
{
	return (tag * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)i;
}

/* Claim the buffer (first word: LIVE | tag low bits) and write the pattern
 * in every other 64-byte line's second word. */
static void claim(struct held *h)
{
	_Atomic uint64_t *first = (_Atomic uint64_t *)(void *)h->buf->data;
	uint64_t old = atomic_load(first);
	uint64_t mine = (uint64_t)LIVE << 32 | (h->tag & 0xffffffffu);

	if ((old >> 32) == LIVE || !atomic_compare_exchange_strong(first, &old, mine))
		problem(&prob.double_handout,
			"buffer %p handed out while held (its mark %#llx, new holder %#llx)",
			(void *)h->buf->data, (unsigned long long)old, (unsigned long long)mine);
	uint64_t *w = (uint64_t *)(void *)h->buf->data;
	for (size_t i = 8; i < h->buf->capacity / 8; i += 8)
		w[i + 1] = word_of(h->tag, i);
	w[1] = word_of(h->tag, 1);
}

/* Check the pattern and the mark, then mark it dead. */
static void release(struct held *h)
{
	_Atomic uint64_t *first = (_Atomic uint64_t *)(void *)h->buf->data;
	uint64_t mine = (uint64_t)LIVE << 32 | (h->tag & 0xffffffffu);
	uint64_t *w = (uint64_t *)(void *)h->buf->data;
	size_t bad = w[1] != word_of(h->tag, 1);

	for (size_t i = 8; i < h->buf->capacity / 8; i += 8)
		bad += w[i + 1] != word_of(h->tag, i);
	if (bad)
		problem(&prob.pattern, "buffer %p (capacity %zu): %zu words of the pattern changed",
			(void *)h->buf->data, h->buf->capacity, bad);
	uint64_t seen = mine;
	if (!atomic_compare_exchange_strong(first, &seen, (uint64_t)DEAD << 32))
		problem(&prob.double_handout, "buffer %p: mark %#llx, expected %#llx",
			(void *)h->buf->data, (unsigned long long)seen, (unsigned long long)mine);
}

/* ---- the two worker threads and the sampler --------------------------------- */

struct worker {
	bufpool_t *pool;
	unsigned id;
	atomic_bool *stop;
	_Atomic(struct held *) inbox; /* a buffer from the other thread */
	struct worker *other;
	uint64_t allocs, fails, handed, received;
	pthread_t thread;
};

static size_t pick_size(uint64_t *r)
{
	static const size_t tiers[] = {4096, 4096, 16384, 16384, 65536, 262144, 1048576};
	size_t t = tiers[rnd(r) % (sizeof(tiers) / sizeof(tiers[0]))];
	return 1 + rnd(r) % t;
}

static void take_inbox(struct worker *w)
{
	struct held *in = atomic_exchange(&w->inbox, NULL);
	if (!in)
		return;
	release(in);
	bufpool_revert(w->pool, in->buf);
	free(in);
	w->received++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct held held[HOLD];
	size_t n = 0;
	uint64_t r = 0x1234567ULL + w->id * 0x9876543ULL, serial = 0;

	while (!atomic_load(w->stop)) {
		take_inbox(w);
		if (n < HOLD && (n == 0 || rnd(&r) % 2)) {
			size_t want = pick_size(&r);
			errno = 0;
			struct io_buf *b = bufpool_alloc(w->pool, want);
			if (!b) {
				w->fails++;
				if (errno != ENOMEM)
					problem(&prob.bad_errno, "alloc(%zu) failed with errno %d",
						want, errno);
				if (n > 0) { /* make room */
					release(&held[--n]);
					bufpool_revert(w->pool, held[n].buf);
				}
				continue;
			}
			w->allocs++;
			if (b->capacity < want || ((uintptr_t)b->data & 63) || b->head || b->length)
				problem(&prob.bad_shape, "alloc(%zu): capacity %zu data %p head %zu "
					"length %zu", want, b->capacity, (void *)b->data, b->head,
					b->length);
			held[n].buf = b;
			held[n].tag = (uint64_t)w->id << 48 | ++serial;
			claim(&held[n]);
			n++;
			continue;
		}
		size_t k = (size_t)(rnd(&r) % n);
		struct held h = held[k];
		held[k] = held[--n];
		if (rnd(&r) % 16 == 0 && !atomic_load(&w->other->inbox)) {
			struct held *gift = malloc(sizeof(*gift));
			struct held *none = NULL;
			if (gift) {
				*gift = h;
				if (atomic_compare_exchange_strong(&w->other->inbox, &none, gift)) {
					w->handed++;
					continue;
				}
				free(gift);
			}
		}
		release(&h);
		bufpool_revert(w->pool, h.buf);
	}
	while (n > 0) {
		release(&held[--n]);
		bufpool_revert(w->pool, held[n].buf);
	}
	return NULL;
}

struct sampler {
	bufpool_t *pool;
	atomic_bool *stop;
	uint64_t samples, over, trims;
	size_t max_owned, max_in_use, limit_seen;
	char first_over[160];
	pthread_t thread;
};

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	uint64_t next_trim = now_ns();

	while (!atomic_load(s->stop)) {
		struct bufpool_stats st;
		bufpool_stats(s->pool, &st);
		s->samples++;
		s->limit_seen = st.mem_limit;
		if (st.bytes_owned > s->max_owned)
			s->max_owned = st.bytes_owned;
		if (st.bytes_in_use > s->max_in_use)
			s->max_in_use = st.bytes_in_use;
		if (st.bytes_owned > st.mem_limit && s->over++ == 0)
			snprintf(s->first_over, sizeof(s->first_over),
				 "sample %llu: bytes_owned %zu > mem_limit %zu",
				 (unsigned long long)s->samples, st.bytes_owned, st.mem_limit);
		if (now_ns() >= next_trim) {
			bufpool_trim(s->pool);
			s->trims++;
			next_trim = now_ns() + 50000000u;
		}
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- one run ------------------------------------------------------------------ */

static void run(const char *name, int thread_cache, double seconds)
{
	struct bufpool_config cfg;
	atomic_bool stop = false;
	struct worker w[2];
	struct sampler s;

	memset(&prob, 0, sizeof(prob));
	atomic_flag_clear(&prob.first_set);
	bufpool_config_init(&cfg);
	cfg.mem_limit = LIMIT;
	cfg.thread_cache = thread_cache;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		cfg.prealloc[t] = 0;
	bufpool_t *pool = bufpool_new(&cfg);
	if (!pool) {
		tap(false, "%s: bufpool_new: %s", name, strerror(errno));
		return;
	}
	memset(w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	s.pool = pool;
	s.stop = &stop;
	for (unsigned i = 0; i < 2; i++) {
		w[i].pool = pool;
		w[i].id = i + 1;
		w[i].stop = &stop;
		w[i].other = &w[1 - i];
	}
	uint64_t t0 = now_ns();
	pthread_create(&s.thread, NULL, sampler_main, &s);
	for (unsigned i = 0; i < 2; i++)
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(w[i].thread, NULL);
	for (unsigned i = 0; i < 2; i++)
		take_inbox(&w[i]); /* a gift left in flight */
	pthread_join(s.thread, NULL);
	double secs = (double)(now_ns() - t0) / 1e9;

	struct bufpool_stats st;
	bufpool_stats(pool, &st);
	uint64_t allocs = w[0].allocs + w[1].allocs, fails = w[0].fails + w[1].fails;
	printf("# pool %s: %.1f s, mem_limit=%zu, 2 threads holding up to %d buffers of "
	       "4K..1M each\n", name, secs, (size_t)LIMIT, HOLD);
	printf("# pool %s: allocs=%llu (%.0f/s per thread) enomem=%llu (%.1f%%) "
	       "cross_thread_reverts=%llu fresh=%llu released=%llu\n",
	       name, (unsigned long long)allocs, (double)allocs / secs / 2,
	       (unsigned long long)fails,
	       allocs + fails ? 100.0 * (double)fails / (double)(allocs + fails) : 0.0,
	       (unsigned long long)(w[0].received + w[1].received),
	       (unsigned long long)st.fresh, (unsigned long long)st.released);
	printf("# pool %s: samples=%llu max_bytes_owned=%zu (%.1f%% of the limit) "
	       "max_bytes_in_use=%zu samples_over_limit=%llu trims=%llu\n",
	       name, (unsigned long long)s.samples, s.max_owned,
	       100.0 * (double)s.max_owned / (double)LIMIT, s.max_in_use,
	       (unsigned long long)s.over, (unsigned long long)s.trims);
	fflush(stdout);

	tap(s.over == 0 && s.samples > 1000, "%s: bytes_owned never above mem_limit in %llu "
	    "samples (max %zu of %zu)%s%s", name, (unsigned long long)s.samples, s.max_owned,
	    (size_t)LIMIT, s.over ? ": " : "", s.first_over);
	tap(fails > 0 && s.max_owned + (1u << 20) > LIMIT,
	    "%s: the run reached MEM_LIMIT (%llu allocations refused)", name,
	    (unsigned long long)fails);
	tap(prob.double_handout == 0 && prob.pattern == 0,
	    "%s: no buffer handed out twice, every pattern intact (%llu double, %llu patterns)%s%s",
	    name, (unsigned long long)prob.double_handout, (unsigned long long)prob.pattern,
	    prob.first[0] ? ": " : "", prob.first);
	tap(prob.bad_errno == 0 && prob.bad_shape == 0,
	    "%s: failures say ENOMEM, capacity and 64-byte alignment hold (%llu, %llu)", name,
	    (unsigned long long)prob.bad_errno, (unsigned long long)prob.bad_shape);
	tap(st.bytes_in_use == 0 && st.bytes_owned <= LIMIT,
	    "%s: all given back: bytes_in_use=%zu bytes_owned=%zu", name, st.bytes_in_use,
	    st.bytes_owned);
	bufpool_destroy(pool);
}

int main(void)
{
	const char *env = getenv("STRESS_POOL_SECONDS");
	double total = env ? atof(env) : 10.0;

	if (total <= 0)
		total = 10.0;
	printf("1..10\n");
	run("thread-caches", 1, total * 0.6);
	run("shared-lists", 0, total * 0.4);
	return tap_failed ? 1 : 0;
}
