/*
 * loop_uring.h - the io_uring side of a loop (larsd.conf io_backend).
 *
 * A loop that owns a ring waits in one io_uring_enter() per turn, which
 * also submits every request queued since the last turn.  Three kinds of
 * completion come back:
 *   - requests of the TCP data path (tcp_uring.c): a struct loop_op's
 *     function is called with the completion's res and flags;
 *   - one-shot polls of the loop's plain readers (UDP sockets, eventfds),
 *     re-armed after their handler ran, so they behave level-triggered as
 *     under epoll;
 *   - a poll of the loop's epoll set, which holds the watches only epoll
 *     can do (edge-triggered, exclusive: the TCP listeners).
 * The ring also owns the provided buffers that multishot receives fill:
 * pool buffers (bufpool_alloc) of LOOP_URING_BUF_SIZE, handed to the
 * kernel as a buffer ring and to the receiver with the completion.
 *
 * Needs Linux 6.1 (single issuer, deferred task work, multishot receive,
 * buffer rings); loop_uring_probe() says why not where it cannot run.
 */
#ifndef LARSD_LOOP_URING_H
#define LARSD_LOOP_URING_H

#include "loop.h"

#include <bufpool.h>
#include <stdbool.h>
#include <stddef.h>

/* The size of each provided receive buffer: the pool's 16K tier. */
#define LOOP_URING_BUF_SIZE ((size_t)16 << 10)
/* The most provided buffers one ring holds. */
#define LOOP_URING_MAX_BUFS 512u
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

/* Can this process run larsd's io_uring path?  0, or -1 with a one-line
 * reason in why. */
int loop_uring_probe(char *why, size_t whylen);

/* Give an open loop a ring, its receive buffers to come from pool, at
 * most max_bufs of them.  The ring starts disabled: loop_uring_start()
 * enables it on the thread that will run the loop.  0, or -1 with a
 * one-line reason in why (the loop then has no ring). */
int loop_uring_open(struct loop *loop, bufpool_t *pool, unsigned max_bufs,
		    char *why, size_t whylen);
int loop_uring_start(struct loop *loop);
/* Stopping, on the loop's thread: cancel every request in flight and run
 * turns until their last completions are in (their functions see
 * -ECANCELED: closed connections are freed), for at most timeout_ms.  No
 * poll is armed after this.  true if nothing is left in flight (always
 * without a ring). */
bool loop_uring_drain(struct loop *loop, int timeout_ms);
/* Free the ring and give its buffers back to the pool (no-op without). */
void loop_uring_close(struct loop *loop);

/* What loop.c calls when loop->uring is set. */
int loop_uring_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h);
bool loop_uring_unwatch(struct loop *loop, int fd);
int loop_uring_wait(struct loop *loop, int timeout_ms);

#ifdef HAVE_LIBURING
/* An SQE whose completion calls op->fn (op NULL: the completion is
 * ignored, as for a cancel).  Submits what is queued when the SQ is full. */
struct io_uring_sqe *loop_uring_sqe(struct loop *loop, struct loop_op *op);
#endif

/* The number of the current turn (loop_uring_wait() calls). */
unsigned long loop_uring_turn(const struct loop *loop);

/* The buffer that a receive completion with IORING_CQE_F_BUFFER filled,
 * now the caller's: head 0, length 0. */
struct io_buf *loop_uring_take_buf(struct loop *loop, unsigned cqe_flags);
/* How many provided buffers the receivers want the ring to hold (capped
 * at max_bufs). */
void loop_uring_want_bufs(struct loop *loop, unsigned n);
/* Top the ring up from the pool; false if it is empty and the pool is at
 * MEM_LIMIT (a receive would fail with ENOBUFS). */
bool loop_uring_fill(struct loop *loop);
/* Do not top the ring up before the next wait (memory another worker
 * asked for should reach it). */
void loop_uring_skip_fill(struct loop *loop);

#endif /* LARSD_LOOP_URING_H */
