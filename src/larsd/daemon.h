/*
 * daemon.h - state shared by the main thread and the workers.
 *
 * The main thread owns the configuration and the listener set.  It changes
 * them only under `lock`, then bumps `generation` and wakes the workers;
 * each worker copies what it needs at the end of its next loop iteration
 * and acknowledges the generation.  Nothing on a worker's hot path takes
 * the lock.
 */
#ifndef LARSD_DAEMON_H
#define LARSD_DAEMON_H

#include "conf.h"
#include "listener.h"
#include "stats.h"

#include <bufpool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct worker;
struct ratelimit;

struct daemon {
	pthread_mutex_t lock;
	struct conf conf;                                    /* under lock */
	struct listener *listeners[CONF_MAX_LISTENERS];      /* under lock */
	size_t n_listeners;
	_Atomic unsigned generation;

	_Atomic bool stopping;
	_Atomic unsigned connections; /* open TCP connections, all workers */
	/* A worker refused a buffer asks the others for one eviction: when
	 * (loop ms), 0 once one of them has answered (worker.c). */
	_Atomic uint64_t evict_asked_ms;
	bufpool_t *pool;
	struct ratelimit *ratelimit;  /* per-source UDP limits, all workers */
	struct stamp_sessions *stamp_sessions; /* stateful STAMP listeners' sessions */
	unsigned stamp_sessions_max;  /* its size, from the configuration at start */
	struct measure *measure;      /* the measuring sessions; NULL while none ran */

	struct worker *workers;
	unsigned threads;             /* workers made at start (set before any runs) */
	unsigned n_workers;           /* of them running: the main thread's count */
	int io_backend;               /* enum conf_io as read at start */
	bool io_uring;                /* workers run on io_uring (loop_uring.h) */
};

/* Claim the sockets systemd passed (LISTEN_FDS); their count, or -1. */
int daemon_take_activated(char *err, size_t errlen);

/* The listeners configuration c needs: reused, adopted or newly bound,
 * in the order of c->listeners.  -1 with a one-line message if one cannot be had; nothing changes then. */
int daemon_plan_listeners(struct daemon *d, const struct conf *c,
			  struct listener **out, size_t *n_out, char *err, size_t errlen);

/* Make c and the listener set current, wait for the workers to follow,
 * then close the listeners that are no longer needed. */
/* Hand c's sessions to the measuring thread (started with the first
 * ones), which takes the array: c's is NULL after.  0, or -1 (logged)
 * if the thread cannot start. */
int daemon_measure(struct daemon *d, struct conf *c);

void daemon_publish(struct daemon *d, const struct conf *c, struct listener **set,
		    size_t n);
void daemon_close_listeners(struct daemon *d);

void daemon_stats(struct daemon *d, struct stats *sum);
uint64_t daemon_replies(struct stats *s);
void daemon_status_line(struct daemon *d, double rate, char *out, size_t len);

#endif /* LARSD_DAEMON_H */
