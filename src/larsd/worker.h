/*
 * worker.h - one worker thread: an event loop and what it serves.
 *
 * A worker owns a loop (loop.h), the TCP connections it accepted (tcp.h),
 * a UDP batch (udp.h) and its counters.  It watches every listener, so
 * accepted connections and UDP datagrams spread over the workers: a shared
 * socket with LOOP_EXCLUSIVE, or the worker's own socket of a UDP group.
 * The worker itself only composes them: it follows the configuration the
 * main thread publishes, wakes up, and stops.
 */
#ifndef LARSD_WORKER_H
#define LARSD_WORKER_H

#include "daemon.h"
#include "loop.h"
#include "tcp.h"
#include "udp.h"

#include <semaphore.h>
#include <stdint.h>
#include <sys/types.h>

/* Counters of one listener in one worker: the worker is the only writer
 * (stats_add); the control thread sums them over the workers. */
struct port_stats {
	_Atomic uint64_t accepted;   /* TCP connections accepted */
	_Atomic uint64_t replies;    /* TCP replies, UDP datagrams echoed */
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
};

/* A listener as one worker watches it. */
struct port {
	struct loop_handler handler; /* tcp_on_listener or udp_on_listener */
	struct listener *listener;   /* NULL: a free slot */
	int fd;                      /* the socket this worker serves */
	unsigned udp_want;           /* UDP: datagrams the next read asks for */
	struct stamp_port stamp;     /* mode "stamp": its settings, at each sync */
	struct port_stats stats;     /* zeroed when the slot takes a listener */
};

/* The settings a worker reads, copied from the configuration the main
 * thread publishes at each sync (worker_sync()): the data path's limits
 * and guards, not the whole struct conf (its paths, its 64 listeners). */
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

struct worker {
	/* ---- its own: set up before the thread starts, then only the
	 * worker's thread touches these. */
	struct daemon *d;
	unsigned index;
	pthread_t thread;
	struct loop loop;
	int wakefd;                  /* eventfd: new generation, stop, trim */
	struct loop_handler wake;
	struct worker_conf conf;     /* the settings it reads */
	unsigned seen_generation;
	struct tcp_conns tcp;
	struct udp_batch udp;
	struct stamp_clock stamp;    /* the Error Estimate of STAMP replies */
	uint64_t memory_request_ms;  /* last worker_request_memory() */
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
	return loop_container_of(loop, struct worker, loop);
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

/* The pool is at MEM_LIMIT: ask the other workers to give the idle buffers
 * in their thread caches back (a cache is only emptied by its own thread). */
void worker_request_memory(struct worker *w);
/* Wait for a worker's thread to end (its loop stays until
 * worker_unprepare()). */
void worker_join(struct worker *w);

/* Has every worker finished a loop iteration within max_age_ms? */
bool workers_alive(struct daemon *d, uint64_t now_ms, uint64_t max_age_ms);

#endif /* LARSD_WORKER_H */
