/*
 * loop_uring.h - the io_uring implementation of the loop (io_backend).
 *
 * A loop that runs on a ring waits in one io_uring_enter() per turn, which
 * also submits every request queued since the last turn.  Two kinds of
 * completion come back:
 *   - requests of the TCP data path (tcp_uring.c): a struct loop_op's
 *     function is called with the completion's res and flags;
 *   - one-shot polls of the watched readers (listeners, UDP sockets, the
 *     wake eventfd), re-armed after their handler ran, so they behave
 *     level-triggered as under epoll.  A LOOP_EXCLUSIVE watch polls with
 *     EPOLLEXCLUSIVE: of the rings that poll a shared listener, one wakes
 *     per connection, as with epoll.
 *
 * The ring also owns the receive buffers that idle connections' receives
 * take when their client's bytes arrive (a provided buffer ring): pool
 * buffers (bufpool_alloc) of LOOP_URING_BUF_SIZE, so MEM_LIMIT counts
 * them.  How many it holds follows the need, never more than:
 *   - the receives waiting on it (loop_uring_bufs_users),
 *   - the most its receivers took in one turn lately, doubled (at least
 *     LOOP_URING_MIN_BUFS), and
 *   - a cap (loop_uring_bufs_cap: larsd gives a quarter of the worker's
 *     share of MEM_LIMIT, at most LOOP_URING_MAX_BUFS).
 * What it holds beyond that goes back to the pool at loop_uring_bufs_trim()
 * (larsd trims once a second, and at once when memory is short).  Only
 * this file uses liburing's types.
 *
 * Needs Linux 6.1 (single issuer, deferred task work, buffer rings,
 * synchronous cancel); loop_uring_open() says why not where it cannot run.
 */
#ifndef LARSD_LOOP_URING_H
#define LARSD_LOOP_URING_H

#include "loop.h"

#include <bufpool.h>
#include <stdbool.h>
#include <stddef.h>

/* The size of each provided receive buffer: the pool's 16K tier. */
#define LOOP_URING_BUF_SIZE ((size_t)16 << 10)
/* The most provided buffers one ring holds (its entries). */
#define LOOP_URING_MAX_BUFS 512u
/* The fewest it keeps while receives wait on it. */
#define LOOP_URING_MIN_BUFS 4u
/* The buffer group of the provided buffers (sqe->buf_group). */
#define LOOP_URING_BGID 0

struct loop_op;
/* res and flags of the completion (struct io_uring_cqe). */
typedef void loop_op_fn(struct loop *loop, struct loop_op *op, int res, unsigned flags);

/* A request in flight: embed it, pass it to loop_uring_sqe(), and find
 * the embedding struct in fn with loop_container_of(). */
struct loop_op {
	loop_op_fn *fn;
};

struct io_uring_sqe;

/* Make loop an io_uring loop, its receive buffers to come from pool.  The
 * ring starts disabled: loop_start() enables it on the thread that will
 * run the loop; loop_drain() cancels every request in flight and runs
 * turns until their last completions are in (their functions see
 * -ECANCELED: closed connections are freed), and arms no poll after.
 * 0, or -1 with a one-line reason in why. */
int loop_uring_open(struct loop *loop, bufpool_t *pool, char *why, size_t whylen);

/* ---- requests ------------------------------------------------------------ */

/* An SQE whose completion calls op->fn (op NULL: the completion is
 * ignored, as for a cancel).  Submits what is queued when the SQ is full;
 * NULL if the kernel takes nothing (short of memory, said once): the
 * caller tries again later. */
struct io_uring_sqe *loop_uring_sqe(struct loop *loop, struct loop_op *op);
/* Submit what is queued now, not at the next wait.  false if the kernel
 * refused some (they stay queued for the next turn). */
bool loop_uring_submit(struct loop *loop);
/* Cancel op's request.  Its completion still comes (-ECANCELED, or what it
 * did first); loop_uring_cancel_now() submits the queue first and returns
 * only when the kernel is done with the request's memory, so its buffer
 * may be reused at once.  A request of op still queued (not taken by the
 * kernel) never reaches it: it completes with -ECANCELED. */
void loop_uring_cancel(struct loop *loop, struct loop_op *op);
void loop_uring_cancel_now(struct loop *loop, struct loop_op *op);

/* ---- receive buffers ----------------------------------------------------- */

/* In a completion's function: the buffer that the receive completion with
 * IORING_CQE_F_BUFFER filled, now the caller's (head 0, length 0). */
struct io_buf *loop_uring_take_buf(struct loop *loop, unsigned cqe_flags);
/* A receive found the ring empty (ENOBUFS): the need was higher. */
void loop_uring_bufs_missed(struct loop *loop);
/* Receives waiting on the ring: delta +1 when one is armed, -1 when its
 * completion comes. */
void loop_uring_bufs_users(struct loop *loop, int delta);
/* The most buffers the ring may hold. */
void loop_uring_bufs_cap(struct loop *loop, unsigned cap);
/* hold: do not take buffers from the pool before the next wait (memory is
 * short, and what frees up goes to the connections waiting for it). */
void loop_uring_bufs_hold(struct loop *loop, bool hold);
/* Give the pool back what the ring holds beyond the need (everything if
 * all); the buffers given back.  Those named by completions not read yet
 * stay: they are their receivers'. */
unsigned loop_uring_bufs_trim(struct loop *loop, bool all);
unsigned loop_uring_bufs_held(const struct loop *loop);

#endif /* LARSD_LOOP_URING_H */
