/*
 * ctlcmd.c - the replies of the control socket's commands.
 *
 * memcached's text protocol: "STAT name value" lines then "END", or "OK",
 * or "ERROR message".  Counters are reported minus the baseline of the
 * last "stats reset"; gauges (open connections, pool bytes) as they are.
 * The names are an interface (larsctl(8), CONTROL PROTOCOL, lists them):
 * add, never rename.
 * Runs in the control thread only.
 */
#include "config.h"

#include "ctlcmd.h"
#include "clock.h"
#include "measure.h"
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_OUT_CHUNK 4096

void ctl_printf(struct ctl_out *o, const char *fmt, ...)
{
	char line[CONF_ERR_MAX + 64];
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (o->len + (size_t)n > o->max) {
		o->overflow = true;
		return;
	}
	if (o->len + (size_t)n > o->cap) {
		size_t cap = o->cap ? o->cap : CTL_OUT_CHUNK;
		while (cap < o->len + (size_t)n)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->overflow = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, line, (size_t)n);
	o->len += (size_t)n;
}

/* A counter since the baseline; a counter that went back (a listener slot
 * reused) counts from zero. */
static uint64_t since(uint64_t now, uint64_t base)
{
	return now >= base ? now - base : now;
}

static void stat_u64(struct ctl_out *o, const char *name, uint64_t v)
{
	ctl_printf(o, "STAT %s %llu\n", name, (unsigned long long)v);
}

/* ---- the snapshots that stats and stats reset share ------------------- */

struct listener_sum {
	uint64_t accepted, replies, bytes_in, bytes_out;
};

/* Listener i's counters summed over the workers.  Under d->lock, which
 * the workers hold when they change which listener a slot serves. */
static void listener_sum(struct daemon *d, const struct listener *l, struct listener_sum *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned w = 0; w < d->n_workers; w++) {
		for (size_t k = 0; k < CONF_MAX_LISTENERS; k++) {
			struct port *p = &d->workers[w].ports[k];
			if (p->listener != l)
				continue;
			s->accepted += stats_get(&p->stats.accepted);
			s->replies += stats_get(&p->stats.replies);
			s->bytes_in += stats_get(&p->stats.bytes_in);
			s->bytes_out += stats_get(&p->stats.bytes_out);
		}
	}
}

static uint64_t worker_replies(struct worker *w)
{
	return stats_get(&w->stats.tcp_replies) + stats_get(&w->stats.udp_replies);
}

static void ctl_reset(struct ctl_state *st)
{
	struct ctl_base *b = &st->base;
	struct daemon *d = st->d;
	struct bufpool_stats ps;

	memset(b, 0, sizeof(*b));
	daemon_stats(d, &b->s);
	b->reloads_ok = st->reloads_ok;
	b->reloads_failed = st->reloads_failed;
	bufpool_stats(d->pool, &ps);
	b->allocs = ps.allocs;
	b->fresh = ps.fresh;
	b->failures = ps.failures;
	b->too_large = ps.too_large;
	b->released = ps.released;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		b->tier_allocs[t] = ps.tier[t].allocs;
		b->tier_fresh[t] = ps.tier[t].fresh;
		b->tier_failures[t] = ps.tier[t].failures;
	}
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_listeners; i++) {
		struct listener_sum ls;
		listener_sum(d, d->listeners[i], &ls);
		b->listener[i] = d->listeners[i];
		b->l_accepted[i] = ls.accepted;
		b->l_replies[i] = ls.replies;
		b->l_bytes_in[i] = ls.bytes_in;
		b->l_bytes_out[i] = ls.bytes_out;
	}
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < d->n_workers; i++) {
		b->w_turns[i] = stats_get(&d->workers[i].loop_turns);
		b->w_replies[i] = worker_replies(&d->workers[i]);
	}
}

/* ---- stats ------------------------------------------------------------ */

/* What the workers' io_uring rings hold for idle connections (in use,
 * as the pool counts it). */
static uint64_t ring_bytes(struct daemon *d)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < d->n_workers; i++)
		sum += atomic_load_explicit(&d->workers[i].ring_bytes, memory_order_relaxed);
	return sum;
}

static void ctl_stats(struct ctl_state *st, struct ctl_out *o)
{
	struct daemon *d = st->d;
	struct ctl_base *b = &st->base;
	struct stats s;
	struct bufpool_stats ps;

	daemon_stats(d, &s);
	bufpool_stats(d->pool, &ps);
	stat_u64(o, "uptime_s", (clock_ms() - st->start_ms) / 1000);
	ctl_printf(o, "STAT version %s\n", PACKAGE_VERSION);
	stat_u64(o, "threads", d->n_workers);
	stat_u64(o, "connections_current", atomic_load(&d->connections));
	stat_u64(o, "connections_total",
		 since(stats_get(&s.tcp_accepted), stats_get(&b->s.tcp_accepted)));
#define X(name, text) stat_u64(o, #name, since(stats_get(&s.name), stats_get(&b->s.name)));
	STATS_FIELDS(X)
#undef X
	stat_u64(o, "reloads_ok", since(st->reloads_ok, b->reloads_ok));
	stat_u64(o, "reloads_failed", since(st->reloads_failed, b->reloads_failed));
	stat_u64(o, "pool_mem_limit", ps.mem_limit);
	stat_u64(o, "pool_bytes_owned", ps.bytes_owned);
	stat_u64(o, "pool_bytes_in_use", ps.bytes_in_use);
	stat_u64(o, "pool_bytes_idle", ps.bytes_idle);
	stat_u64(o, "pool_bytes_ring", ring_bytes(d));
	stat_u64(o, "pool_allocs", since(ps.allocs, b->allocs));
	stat_u64(o, "pool_fresh", since(ps.fresh, b->fresh));
	stat_u64(o, "pool_failures", since(ps.failures, b->failures));
	stat_u64(o, "pool_too_large", since(ps.too_large, b->too_large));
	stat_u64(o, "pool_released", since(ps.released, b->released));
	ctl_printf(o, "END\n");
}

/* memcached's "stats slabs": STAT tier_<i>:<field> value. */
static void ctl_stats_pool(struct ctl_state *st, struct ctl_out *o)
{
	struct ctl_base *b = &st->base;
	struct bufpool_stats ps;
	struct bufpool_peaks pk = {.size = sizeof(pk)};

	bufpool_stats(st->d->pool, &ps);
	if (bufpool_peaks(st->d->pool, &pk) < 0)
		memset(&pk, 0, sizeof(pk));
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		const struct bufpool_tier_stats *ts = &ps.tier[t];
		ctl_printf(o, "STAT tier_%u:capacity %zu\n", t, ts->capacity);
		ctl_printf(o, "STAT tier_%u:owned %llu\n", t, (unsigned long long)ts->owned);
		ctl_printf(o, "STAT tier_%u:idle %llu\n", t, (unsigned long long)ts->idle);
		ctl_printf(o, "STAT tier_%u:in_use %llu\n", t, (unsigned long long)ts->in_use);
		/* high-water marks run since start: stats reset leaves them */
		ctl_printf(o, "STAT tier_%u:peak_owned %llu\n", t, (unsigned long long)pk.owned[t]);
		ctl_printf(o, "STAT tier_%u:allocs %llu\n", t,
			   (unsigned long long)since(ts->allocs, b->tier_allocs[t]));
		ctl_printf(o, "STAT tier_%u:fresh %llu\n", t,
			   (unsigned long long)since(ts->fresh, b->tier_fresh[t]));
		ctl_printf(o, "STAT tier_%u:failures %llu\n", t,
			   (unsigned long long)since(ts->failures, b->tier_failures[t]));
	}
	stat_u64(o, "bytes_owned", ps.bytes_owned);
	stat_u64(o, "peak_bytes_owned", pk.bytes_owned);
	stat_u64(o, "mem_limit", ps.mem_limit);
	/* pressure marks (memwatch.c); counts since start, like the peaks */
	struct bufpool_pressure_stats pr = {.size = sizeof(pr)};
	if (bufpool_pressure_stats(st->d->pool, &pr) < 0)
		memset(&pr, 0, sizeof(pr));
	stat_u64(o, "pressure_high_mark", pr.high_mark);
	stat_u64(o, "pressure_low_mark", pr.low_mark);
	stat_u64(o, "pressure_above", pr.above != 0);
	stat_u64(o, "pressure_high_events", pr.high_events);
	stat_u64(o, "pressure_low_events", pr.low_events);
	stat_u64(o, "pressure_refusals", pr.refusals);
	ctl_printf(o, "END\n");
}

static void ctl_stats_listeners(struct ctl_state *st, struct ctl_out *o)
{
	struct daemon *d = st->d;
	struct ctl_base *b = &st->base;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_listeners; i++) {
		const struct listener *l = d->listeners[i];
		const struct conf_listener *cl = &d->conf.listeners[i]; /* same order */
		struct listener_sum s;
		bool same = b->listener[i] == l;

		listener_sum(d, l, &s);
		ctl_printf(o, "STAT listener_%zu:proto %s\n", i,
			   l->proto == CONF_PROTO_TCP ? "tcp" : "udp");
		ctl_printf(o, "STAT listener_%zu:address %s\n", i, cl->address);
		ctl_printf(o, "STAT listener_%zu:port %u\n", i, (unsigned)cl->port);
		ctl_printf(o, "STAT listener_%zu:mode %s\n", i,
			   conf_mode_name(atomic_load(&l->mode)));
		ctl_printf(o, "STAT listener_%zu:origin %s\n", i,
			   l->activated ? "activated" : "bound");
		ctl_printf(o, "STAT listener_%zu:accepted %llu\n", i,
			   (unsigned long long)since(s.accepted, same ? b->l_accepted[i] : 0));
		ctl_printf(o, "STAT listener_%zu:replies %llu\n", i,
			   (unsigned long long)since(s.replies, same ? b->l_replies[i] : 0));
		ctl_printf(o, "STAT listener_%zu:bytes_in %llu\n", i,
			   (unsigned long long)since(s.bytes_in, same ? b->l_bytes_in[i] : 0));
		ctl_printf(o, "STAT listener_%zu:bytes_out %llu\n", i,
			   (unsigned long long)since(s.bytes_out, same ? b->l_bytes_out[i] : 0));
	}
	pthread_mutex_unlock(&d->lock);
	ctl_printf(o, "END\n");
}

static void ctl_stats_workers(struct ctl_state *st, struct ctl_out *o)
{
	struct daemon *d = st->d;

	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		ctl_printf(o, "STAT worker_%u:connections %llu\n", i,
			   (unsigned long long)stats_get(&w->conns_open));
		ctl_printf(o, "STAT worker_%u:loop_turns %llu\n", i,
			   (unsigned long long)since(stats_get(&w->loop_turns), st->base.w_turns[i]));
		ctl_printf(o, "STAT worker_%u:replies %llu\n", i,
			   (unsigned long long)since(worker_replies(w), st->base.w_replies[i]));
	}
	ctl_printf(o, "END\n");
}

/* ---- the rest ---------------------------------------------------------- */

static const char *const ctl_help[] = {
	"stats", "stats pool", "stats listeners", "stats workers", "stats sessions", "stats reset",
	"reload", "version", "help",
};

void ctl_run(struct ctl_state *st, enum ctl_cmd cmd, struct ctl_out *o)
{
	char err[CONF_ERR_MAX];

	switch (cmd) {
	case CTL_STATS:
		ctl_stats(st, o);
		return;
	case CTL_STATS_POOL:
		ctl_stats_pool(st, o);
		return;
	case CTL_STATS_LISTENERS:
		ctl_stats_listeners(st, o);
		return;
	case CTL_STATS_WORKERS:
		ctl_stats_workers(st, o);
		return;
	case CTL_STATS_SESSIONS:
		measure_report(st->d->measure, o);
		return;
	case CTL_STATS_RESET:
		ctl_reset(st);
		ctl_printf(o, "OK\n");
		return;
	case CTL_RELOAD:
		if (st->reload(st->reload_arg, err, sizeof(err)) < 0)
			ctl_printf(o, "ERROR %s\n", err);
		else
			ctl_printf(o, "OK\n");
		return;
	case CTL_VERSION:
		ctl_printf(o, "VERSION %s\n", PACKAGE_VERSION);
		return;
	case CTL_HELP:
		for (size_t i = 0; i < sizeof(ctl_help) / sizeof(ctl_help[0]); i++)
			ctl_printf(o, "%s\n", ctl_help[i]);
		ctl_printf(o, "END\n");
		return;
	case CTL_UNKNOWN:
		break;
	}
	ctl_printf(o, "ERROR unknown command\n");
}
