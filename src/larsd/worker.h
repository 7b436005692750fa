/*
 * worker.h - one event loop thread.
 *
 * A worker owns an epoll set, the TCP connections it accepted, and its
 * counters.  It watches every listener (EPOLLEXCLUSIVE), so accepted
 * connections and UDP datagrams spread over the workers.
 */
#ifndef LARSD_WORKER_H
#define LARSD_WORKER_H

#include "daemon.h"

#include <stdint.h>
#include <sys/queue.h>

struct conn;

struct worker {
	struct daemon *d;
	unsigned index;
	pthread_t thread;
	int epfd;
	int wakefd;                /* eventfd: new generation or stop */
	enum ev_kind wake_kind;    /* EV_WAKE: epoll data of wakefd */
	int reserve_fd;            /* spare fd, given up to refuse past EMFILE */

	struct conf conf;          /* this worker's copy of the configuration */
	unsigned seen_generation;
	_Atomic unsigned acked_generation;
	struct listener *watched[CONF_MAX_LISTENERS];
	size_t n_watched;

	/* Connections, least recently active first (for idle_timeout). */
	TAILQ_HEAD(conn_list, conn) lru;
	size_t n_conns;
	/* Connections waiting for a buffer: the pool was at MEM_LIMIT. */
	struct conn *starved;
	/* Connections whose output waits for a peer that does not read,
	 * longest waiting first. */
	struct conn_list stuck;
	uint64_t memory_request_ms; /* last worker_request_memory() */
	uint64_t now_ms;
	uint64_t next_idle_check_ms;

	struct stats stats;
	_Atomic uint64_t heartbeat_ms; /* end of the last loop iteration */
	_Atomic bool trim_requested;   /* another worker is short of memory */
	_Atomic bool finished;
};

int worker_start(struct worker *w, struct daemon *d, unsigned index);
void worker_wake(struct worker *w);

/* The pool is at MEM_LIMIT: ask the other workers to give the idle buffers
 * in their thread caches back (a cache is only emptied by its own thread). */
void worker_request_memory(struct worker *w);
void worker_join(struct worker *w);

/* Has every worker finished a loop iteration within max_age_ms? */
bool workers_alive(struct daemon *d, uint64_t now_ms, uint64_t max_age_ms);

/* Wrapper for epoll_ctl(EPOLL_CTL_ADD) on the worker's set. */
int worker_watch(struct worker *w, int fd, uint32_t events, void *ptr);

#endif /* LARSD_WORKER_H */
