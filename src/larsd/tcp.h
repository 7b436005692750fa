/*
 * tcp.h - TCP connections: accept, echo (RFC 862) and lars framing.
 *
 * The memory contract, the same on every data path (larsd(8) MEMORY says
 * it to users; tests/e2e/test_contract.c checks each point on each backend):
 *
 *  1. The cap.  Every byte a connection reads or sends is in a buffer of
 *     the pool, and the pool never holds more than MEM_LIMIT.
 *  2. One buffer a connection.  A connection holds at most one buffer:
 *     none while idle; 16K for its next read, a tier up (to 256K at most,
 *     TCP_READ_MAX) once its reads fill their buffer; for a lars frame, one
 *     that holds the whole frame (max_message bounds it).  Output the peer
 *     does not take stops the reading, so a client that sends and never
 *     reads costs that one buffer, never a queue.  The io_uring path adds
 *     a worker's ring of idle receive buffers, bounded apart
 *     (loop_uring.h), and given back first when memory is short.
 *  3. Frames finish.  A frame in progress gets, once its header is in, a
 *     buffer that holds it whole, so it never needs more memory than that
 *     one buffer; at MEM_LIMIT a connection that holds part of a frame
 *     gets memory before any that holds none (new reads wait behind it).
 *     So frames in progress finish as memory comes back, in turn, and
 *     none is left waiting while new reads take what frees up.  Memory
 *     held by a frame whose client stopped sending comes back at
 *     idle_timeout (tcp_closed_idle).
 *  4. Who is evicted, and how many.  When the pool refuses a buffer, idle
 *     memory goes back first (the ring's buffers; the other workers' thread
 *     caches); then, if its output has waited TCP_EVICT_MS or more for a
 *     peer that does not read, the connection stuck longest is closed
 *     (tcp_closed_stuck): one per refused buffer, and its memory is usable
 *     at once.  A worker that has none to evict asks the others for one:
 *     one of them answers, the first with a connection to evict.
 *     Otherwise the connection waits (tcp_stalled_nomem) on the starved
 *     list, retried every few milliseconds.
 *  5. Memory comes back.  A connection's buffer goes back to the pool when
 *     it is empty and when the connection closes; the ring gives back what
 *     it holds beyond the need within about a second (none once no
 *     connection is left).
 *  6. Reload.  A lower mem_limit holds for every buffer taken after it;
 *     buffers in use above it come back as their connections empty them or
 *     close, and the ring's cap follows it.
 *
 * Each worker's data plane (dataplane.h) owns one struct tcp_conns; the
 * worker calls the tcp_* functions below with it, the loop calls
 * tcp_on_listener().  Each connection is served by
 * the worker's data path (tcp_conn.h): tcp_epoll.c or tcp_uring.c.
 */
#ifndef LARSD_TCP_H
#define LARSD_TCP_H

#include "loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct dataplane;
struct conn;
struct tcp_path;

TAILQ_HEAD(conn_list, conn);

/* One worker's connections. */
struct tcp_conns {
	const struct tcp_path *path; /* its data path, chosen with its loop */
	struct conn_list lru;        /* least recently active first (idle_timeout) */
	size_t n;
	/* Waiting for memory (the pool was at MEM_LIMIT), oldest first: those
	 * that hold part of a frame, then those that hold nothing. */
	struct conn_list starved_frames, starved;
	size_t n_starved_frames, n_starved;
	/* Deferred by the data path for a reason of its own (the kernel
	 * refused a request): resumed every few milliseconds, and not a
	 * memory shortage, so nothing waits behind them. */
	struct conn_list deferred;
	size_t n_deferred;
	struct conn_list stuck;      /* output waits for a peer that does not
	                                read, longest waiting first */
	struct conn *closed;         /* closed; freed by tcp_reap(), as an event
	                                for them may still be in hand */
	size_t closing;              /* closed, freed by the data path once its
	                                requests in flight are over */
	int spare_fd;                /* given up to refuse connections past EMFILE */
};

/* Stuck this long at MEM_LIMIT, a connection may be evicted (point 4). */
#define TCP_EVICT_MS 500

void tcp_init(struct tcp_conns *t, const struct tcp_path *path);
void tcp_fini(struct tcp_conns *t);

/* Loop handler of a TCP listener (a struct port). */
void tcp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events);

/* Connections wait for memory. */
static inline bool tcp_starving(const struct tcp_conns *t)
{
	return t->n_starved_frames + t->n_starved > 0;
}

/* Connections wait to be resumed: for memory, or deferred. */
static inline bool tcp_waiting(const struct tcp_conns *t)
{
	return tcp_starving(t) || t->n_deferred > 0;
}

void tcp_retry_starved(struct dataplane *dp);
void tcp_close_idle(struct dataplane *dp);
/* Has this worker a connection stuck long enough to evict? */
bool tcp_can_evict(const struct dataplane *dp);
/* At MEM_LIMIT: close the connection stuck longest, if stuck long enough. */
bool tcp_evict_stuck(struct dataplane *dp);
/* Give idle memory back to the pool (the io_uring ring's buffers). */
void tcp_reclaim(struct dataplane *dp);
/* After each loop turn, and once a second (second: the ring's trim). */
void tcp_after_turn(struct dataplane *dp, bool second);
/* Stopping: stop reading, flush, half-close; true once all are closed. */
bool tcp_drain_all(struct dataplane *dp);
void tcp_close_all(struct dataplane *dp);
/* Free the connections closed since the last call.  Between loop turns. */
void tcp_reap(struct tcp_conns *t);

/* The data paths (tcp_conn.h); tcp_uring_path only with liburing. */
extern const struct tcp_path tcp_epoll_path;
extern const struct tcp_path tcp_uring_path;

#endif /* LARSD_TCP_H */
