/*
 * worker.h - one worker thread: an event loop and what it serves.
 *
 * A worker owns a data plane (dataplane.h: a loop, the TCP connections it
 * accepted, a UDP batch, the settings they read) and its counters.  It
 * watches every listener, so accepted connections and UDP datagrams spread
 * over the workers: a shared socket with LOOP_EXCLUSIVE, or the worker's
 * own socket of a UDP group.  The worker itself only composes them: it
 * follows the configuration the main thread publishes, answers the other
 * workers' asks for memory, wakes up, and stops.
 */
#ifndef LARSD_WORKER_H
#define LARSD_WORKER_H

#include "daemon.h"
#include "dataplane.h"

#include <semaphore.h>
#include <stdint.h>
#include <sys/types.h>

struct worker {
	/* ---- its own: set up before the thread starts, then only the
	 * worker's thread touches these. */
	struct daemon *d;
	unsigned index;
	pthread_t thread;
	struct dataplane dp;         /* what the TCP and UDP code use: its loop,
	                                settings, connections (dataplane.h) */
	int wakefd;                  /* eventfd: new generation, stop, trim */
	struct loop_handler wake;
	unsigned seen_generation;
	uint64_t memory_request_ms;  /* last ask for memory (worker.c) */
	uint64_t next_idle_check_ms;

	/* ---- shared: what the control thread reads (ctlcmd.c, daemon.c,
	 * cpuwait.c) and the other workers ask; each an atomic, a counter
	 * with one writer (stats.h), or the slots' listener read under
	 * d->lock, which the worker holds when it changes one. */
	_Atomic pid_t tid;           /* the thread's id, once it runs (cpuwait.c) */
	_Atomic unsigned acked_generation; /* the configuration it follows */
	/* Slots never move: the loop holds pointers to their handlers. */
	struct port ports[CONF_MAX_LISTENERS];
	struct stats stats;
	_Atomic uint64_t loop_turns;   /* loop iterations (stats workers) */
	_Atomic uint64_t conns_open;   /* its TCP connections, as of the last turn */
	_Atomic uint64_t ring_bytes;   /* pool bytes its io_uring ring holds, likewise */
	_Atomic uint64_t heartbeat_ms; /* end of the last loop iteration (workers_alive) */
	_Atomic bool trim_requested;   /* another worker is short of memory */
	_Atomic bool finished;
	sem_t started;                 /* posted once the thread can serve, or cannot */
	int start_errno;               /* why it cannot, 0 if it can (read after started) */
};

static inline struct worker *worker_of(struct loop *loop)
{
	return loop_container_of(dataplane_of(loop), struct worker, dp);
}

/* Make the worker's loop: on io_uring if uring, else on epoll.  0, or -1
 * with a one-line reason in why (nothing is left open then). */
int worker_prepare(struct worker *w, struct daemon *d, unsigned index, bool uring,
		   char *why, size_t whylen);
/* Close the loop of a prepared worker that will not start. */
void worker_unprepare(struct worker *w);
/* Start a prepared worker's thread.  0, or -1 with errno. */
int worker_start(struct worker *w);
void worker_wake(struct worker *w);

/* Wait for a worker's thread to end (its loop stays until
 * worker_unprepare()). */
void worker_join(struct worker *w);

/* Has every worker finished a loop iteration within max_age_ms? */
bool workers_alive(struct daemon *d, uint64_t now_ms, uint64_t max_age_ms);

#endif /* LARSD_WORKER_H */
