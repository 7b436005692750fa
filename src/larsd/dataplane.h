/*
 * dataplane.h - what the TCP and UDP code (tcp*.c, udp.c) use of their
 * worker, and nothing more: the narrow context they are passed.
 *
 * Each worker (worker.h) embeds one struct dataplane and fills it before
 * its thread starts (worker_prepare(), worker_start()); the data plane never sees struct worker or struct
 * daemon.  It owns its loop, its connections, its UDP batch and its STAMP
 * clock; its settings are the worker's copy of the configuration, swapped
 * between loop turns (worker_sync); what it shares with the rest of larsd
 * (the pool, its counters, the count of open connections) it reaches
 * through the pointers below, set once.  Everything here is touched by
 * the worker's thread only, except through those pointers.
 */
#ifndef LARSD_DATAPLANE_H
#define LARSD_DATAPLANE_H

#include "conf.h"
#include "listener.h"
#include "loop.h"
#include "stamp.h"
#include "stats.h"
#include "tcp.h"
#include "udp.h"

#include <bufpool.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* The settings the data plane reads, copied from the configuration the
 * main thread publishes (worker_sync()): the limits and guards, not the
 * whole struct conf (its paths, its 64 listeners). */
struct worker_conf {
	unsigned max_connections;      /* TCP, all listeners, all workers */
	unsigned idle_timeout;         /* seconds; 0: never */
	uint32_t max_message;          /* lars frame body limit */
	unsigned shutdown_timeout_ms;
	uint32_t udp_source_rate, udp_source_burst; /* ratelimit.h; 0: none */
	struct conf_net allow[CONF_MAX_ALLOW];      /* guard.h */
	size_t n_allow;
	uint16_t blocked_ports[CONF_MAX_BLOCKED_PORTS];
	size_t n_blocked_ports;
};

/* Counters of one listener in one worker: the worker is the only writer
 * (stats_add); the control thread sums them over the workers. */
struct port_stats {
	_Atomic uint64_t accepted;   /* TCP connections accepted */
	_Atomic uint64_t replies;    /* TCP replies, UDP datagrams echoed */
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
};

/* A listener as one worker watches it (the worker keeps the slots). */
struct port {
	struct loop_handler handler; /* tcp_on_listener or udp_on_listener */
	struct listener *listener;   /* NULL: a free slot */
	int fd;                      /* the socket this worker serves */
	unsigned udp_want;           /* UDP: datagrams the next read asks for */
	struct stamp_port stamp;     /* mode "stamp": its settings, at each sync */
	struct port_stats stats;     /* zeroed when the slot takes a listener */
};

struct dataplane {
	/* ---- its own */
	struct loop loop;            /* the handlers run on it; now_ms */
	struct worker_conf conf;     /* the settings, as of the last sync */
	struct tcp_conns tcp;
	struct udp_batch udp;
	struct stamp_clock stamp;    /* the Error Estimate of STAMP replies */

	/* ---- shared, set once before the thread starts (worker.c) */
	bufpool_t *pool;
	struct stats *stats;         /* its worker's counters (one writer: this) */
	_Atomic uint64_t *ring_bytes; /* pool bytes its io_uring ring holds */
	struct ratelimit *ratelimit; /* per-source UDP limits, all workers */
	_Atomic unsigned *connections; /* open TCP connections, all workers */
	const _Atomic bool *stopping;  /* larsd is stopping */
	unsigned workers;            /* how many share the pool (the ring's cap) */
};

static inline struct dataplane *dataplane_of(struct loop *loop)
{
	return loop_container_of(loop, struct dataplane, loop);
}

static inline bool dataplane_stopping(const struct dataplane *dp)
{
	return atomic_load_explicit(dp->stopping, memory_order_relaxed);
}

/* The pool refused a buffer: ask the other workers for memory back
 * (worker.c): at most once per retry period, whoever calls. */
void dataplane_short_of_memory(struct dataplane *dp);

#endif /* LARSD_DATAPLANE_H */
