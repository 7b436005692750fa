/*
 * tcp_uring.c - the io_uring data path of TCP connections (see
 * tcp_conn.h, loop_uring.h).
 *
 * The same buffer as on epoll (tcp_buf.c decides it), moved by requests
 * on the worker's ring, one at a time per connection, as epoll's run()
 * flushes before it reads:
 *   - An idle connection (no buffer) waits with a receive on the ring's
 *     provided buffers (IORING_RECVSEND_POLL_FIRST: it takes a buffer only
 *     when bytes come).  The buffer it fills becomes the connection's own.
 *   - What may be sent goes in one send with MSG_DONTWAIT, which completes
 *     in the io_uring_enter() that submits it: sent, or EAGAIN.  EAGAIN (a
 *     peer that does not read) puts the connection on the stuck list and
 *     arms a poll for room, holding no reference to the buffer, so an
 *     eviction's memory is usable at once.  Nothing is read meanwhile
 *     (back pressure, contract point 2).
 *   - Once the send is over, a connection that holds part of a frame, or
 *     whose last receive said more bytes wait (IORING_CQE_F_SOCK_NONEMPTY),
 *     receives into its own buffer's tail (conn_get_room(): the whole-frame
 *     buffer, or starved at MEM_LIMIT); any other gives its empty buffer
 *     back and waits on the ring again.  A client that waits for its
 *     reply gets that receive beside the send (recv_beside()), bounded so
 *     that what it brings always fits in the one buffer.
 * A receive that finds the ring empty (ENOBUFS) means bytes are there: the
 * connection then takes a buffer of its own from the pool.  A closed
 * connection's requests are cancelled (the one that could write into its
 * buffer synchronously), and its struct is freed when the last completion
 * is in.
 */
#include "config.h"

#include "tcp_conn.h"
#include "dataplane.h"
#include "loop_uring.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Receive beside a send only with at least this much room. */
#define RECV_BESIDE_MIN 512

enum uring_in {
	IN_NONE,
	IN_RING, /* a receive into one of the ring's buffers */
	IN_OWN,  /* a receive into the connection's own buffer */
};

enum uring_out {
	OUT_NONE,
	OUT_SEND, /* a send of the ready bytes */
	OUT_POLL, /* a poll for room to send: the peer does not read */
};

struct uconn {
	struct conn c;
	struct loop_op in_op, out_op;
	enum uring_in in;
	enum uring_out out;
	bool in_cancelled; /* stopping: its IN_OWN receive is cancelled */
	bool more_input; /* the last receive said more bytes wait */
};

static struct uconn *uconn_of(struct conn *c)
{
	return loop_container_of(c, struct uconn, c);
}

/* The requests below: false if the kernel refuses requests for now
 * (loop_uring_sqe()): nothing was queued, and the caller comes back
 * later (retry_later()). */

/* A receive into one of the ring's buffers, of at most max bytes (0: the
 * whole buffer). */
static bool recv_ring(struct dataplane *dp, struct uconn *u, size_t max)
{
	struct io_uring_sqe *sqe = loop_uring_sqe(&dp->loop, &u->in_op);

	if (!sqe)
		return false;
	io_uring_prep_recv(sqe, u->c.fd, NULL, max, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = LOOP_URING_BGID;
	sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	loop_uring_bufs_users(&dp->loop, 1);
	u->in = IN_RING;
	u->in_cancelled = false;
	return true;
}

static bool recv_own(struct dataplane *dp, struct uconn *u)
{
	struct io_buf *b = u->c.buf;
	struct io_uring_sqe *sqe = loop_uring_sqe(&dp->loop, &u->in_op);

	if (!sqe)
		return false;
	io_uring_prep_recv(sqe, u->c.fd, io_buf_tail(b), io_buf_space(b), 0);
	u->in = IN_OWN;
	u->in_cancelled = false;
	return true;
}

static bool send_ready(struct dataplane *dp, struct uconn *u)
{
	struct conn *c = &u->c;
	struct io_uring_sqe *sqe = loop_uring_sqe(&dp->loop, &u->out_op);

	if (!sqe)
		return false;
	io_uring_prep_send(sqe, c->fd, c->buf->data + c->buf->head, c->ready,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	u->out = OUT_SEND;
	return true;
}

static bool poll_room(struct dataplane *dp, struct uconn *u)
{
	struct io_uring_sqe *sqe = loop_uring_sqe(&dp->loop, &u->out_op);

	if (!sqe)
		return false;
	io_uring_prep_poll_add(sqe, u->c.fd, POLLOUT);
	u->out = OUT_POLL;
	return true;
}

/* A request the kernel refused (it is short of memory): try again later.
 * With nothing in flight: deferred (conn_defer()), resumed every few
 * milliseconds, its buffer untouched meanwhile; not starved, which would
 * hold other connections back as if the pool were full.  A receive beside the refused
 * send or poll may never complete (the client waits for its reply): it is
 * cancelled, and its completion comes back here through pump(). */
static void retry_later(struct dataplane *dp, struct uconn *u)
{
	if (u->in == IN_NONE && u->out == OUT_NONE)
		conn_defer(dp, &u->c);
	else if (u->in == IN_RING)
		loop_uring_cancel(&dp->loop, &u->in_op);
}

/* Free a closed connection once no completion of it is to come. */
static bool settle(struct dataplane *dp, struct uconn *u)
{
	if (!u->c.closed || u->in != IN_NONE || u->out != OUT_NONE)
		return false;
	tcp_conn_free(dp, &u->c);
	return true;
}

/* Stopping, nothing in flight, nothing to send: half-close, then read on
 * (discarding) to the client's EOF: closing with unread input would send
 * a reset that can destroy replies still in flight. */
static void drain_step(struct dataplane *dp, struct uconn *u)
{
	struct conn *c = &u->c;

	if (!c->shut_wr) {
		conn_release_buf(dp, c); /* a partial frame, or nothing */
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	if (c->peer_closed)
		conn_close(dp, c);
	else
		recv_ring(dp, u, 0); /* refused: uring_drain() comes back next turn */
}

/* A client that waits for its reply (its last receive left nothing
 * behind) sends again once it has it: receive from the ring beside the
 * send, which saves the turn between them.  At most the room the buffer
 * is sure to have after the send, its capacity less what is sent, so that
 * if the send does not take everything the new bytes still fit behind
 * what is left (in_done): one buffer, as ever.  Not beside a send to a
 * client that was stuck: there, reading waits. */
static void recv_beside(struct dataplane *dp, struct uconn *u)
{
	struct conn *c = &u->c;
	size_t room = c->buf->capacity - c->ready;

	if (u->in != IN_NONE || u->more_input || c->ready != c->buf->length || c->peer_closed ||
	    c->stuck || room < RECV_BESIDE_MIN || dataplane_stopping(dp))
		return;
	recv_ring(dp, u, room < LOOP_URING_BUF_SIZE ? room : 0); /* refused: after the send */
}

/* Do the next thing the connection needs, if nothing is in flight. */
static void pump(struct dataplane *dp, struct uconn *u)
{
	struct conn *c = &u->c;

	if (c->closed)
		return;
	if (c->ready > 0 && u->out == OUT_NONE) {
		if (!send_ready(dp, u)) {
			retry_later(dp, u);
			return;
		}
		recv_beside(dp, u);
	}
	if (c->buf && c->buf->length == 0 && u->out == OUT_NONE && u->in != IN_OWN)
		conn_release_buf(dp, c); /* idle connections hold no buffer */
	if (u->out != OUT_NONE || u->in != IN_NONE)
		return; /* reading waits until the send is over, as on epoll */
	if (dataplane_stopping(dp)) {
		drain_step(dp, u);
		return;
	}
	if (c->peer_closed) {
		conn_close(dp, c); /* echoed all whole frames the client sent */
		return;
	}
	if (!c->buf && !u->more_input) {
		if (!recv_ring(dp, u, 0))
			retry_later(dp, u);
		return;
	}
	switch (conn_get_room(dp, c)) {
	case ROOM_OK:
		if (io_buf_space(c->buf) > 0 && !recv_own(dp, u))
			retry_later(dp, u);
		return;
	case ROOM_NO_MEMORY:
		return; /* starved: resume() comes back */
	case ROOM_BROKEN:
		conn_close(dp, c);
		return;
	}
}

/* Bytes arrived while stopping (or EOF): thrown away, since the connection
 * has half-closed.  With the ring empty, read them here. */
static void drain_discard(struct dataplane *dp, struct uconn *u, int res)
{
	char sink[4096];
	ssize_t n;

	if (res == -ENOBUFS) {
		while ((n = read(u->c.fd, sink, sizeof(sink))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			u->c.peer_closed = true;
	} else if (res <= 0 && res != -ECANCELED) {
		u->c.peer_closed = true; /* EOF, or an error: done */
	}
	pump(dp, u);
}

/* Bytes received beside a send that did not take everything: behind what
 * is left, where recv_beside() made sure they fit. */
static void merge(struct dataplane *dp, struct uconn *u, struct io_buf *b, size_t n)
{
	struct io_buf *own = u->c.buf;

	if (io_buf_space(own) < n) {
		/* A send queued this turn refers to the bytes where they are:
		 * out first (it completes at once), then move them.  One the
		 * kernel refuses must never see them moved: cancelled before
		 * it reaches the kernel, and out_done() sends again. */
		if (!loop_uring_submit(&dp->loop) && u->out == OUT_SEND)
			loop_uring_cancel(&dp->loop, &u->out_op);
		io_buf_adjust(own);
	}
	memcpy(io_buf_tail(own), b->data, n);
	bufpool_revert(dp->pool, b);
	/* conn_received() counts the n bytes in. */
}

static void in_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct dataplane *dp = dataplane_of(loop);
	struct uconn *u = loop_container_of(op, struct uconn, in_op);
	struct conn *c = &u->c;
	/* A buffer is taken with bytes only.  One that came with EOF or an
	 * error (the kernel picks it before it reads) stays the loop's, which
	 * gives it back. */
	bool filled = res > 0 && (flags & IORING_CQE_F_BUFFER);
	struct io_buf *b = filled ? loop_uring_take_buf(loop, flags) : NULL;

	if (u->in == IN_RING)
		loop_uring_bufs_users(loop, -1);
	u->in = IN_NONE;
	if (c->closed || c->shut_wr) {
		if (b)
			bufpool_revert(dp->pool, b);
		if (!settle(dp, u) && !c->closed)
			drain_discard(dp, u, res);
		return;
	}
	if (res > 0) {
		if (b && c->buf)
			merge(dp, u, b, (size_t)res); /* received beside a send */
		else if (b)
			conn_adopt_buf(dp, c, b); /* it had none: it waited on the ring */
		/* Only the kernel's word: a guess would pin a buffer on a
		 * connection that then goes idle. */
		u->more_input = flags & IORING_CQE_F_SOCK_NONEMPTY;
		conn_touch(dp, c);
		conn_received(dp, c, (size_t)res);
	} else if (res == 0) {
		c->peer_closed = true; /* EOF: echo what is whole, then close */
	} else if (res == -ENOBUFS) {
		loop_uring_bufs_missed(loop);
		u->more_input = true; /* bytes wait: receive into a buffer of its own */
	} else if (res != -ECANCELED) {
		conn_close(dp, c); /* reset, or another error */
		return;
	}
	pump(dp, u);
}

static void out_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct dataplane *dp = dataplane_of(loop);
	struct uconn *u = loop_container_of(op, struct uconn, out_op);
	struct conn *c = &u->c;
	enum uring_out was = u->out;

	(void)flags;
	u->out = OUT_NONE;
	if (settle(dp, u) || c->closed)
		return;
	if (was == OUT_SEND && res == -EAGAIN) {
		stuck_append(dp, c); /* the peer does not read */
		if (!poll_room(dp, u))
			retry_later(dp, u); /* sends again, and polls on EAGAIN */
		return;
	}
	if ((res < 0 && res != -ECANCELED) || (was == OUT_SEND && res == 0)) {
		conn_close(dp, c); /* the client reset, or is gone */
		return;
	}
	if (was == OUT_SEND && res > 0) {
		conn_touch(dp, c); /* progress sending counts as activity (idle_timeout) */
		conn_sent(dp, c, (size_t)res);
	}
	pump(dp, u);
}

static int uring_open(struct dataplane *dp, struct conn *c)
{
	struct uconn *u = uconn_of(c);

	u->in_op.fn = in_done;
	u->out_op.fn = out_done;
	return recv_ring(dp, u, 0) ? 0 : -1; /* refused: the core closes it */
}

static void uring_resume(struct dataplane *dp, struct conn *c)
{
	pump(dp, uconn_of(c));
}

static void uring_drain(struct dataplane *dp, struct conn *c)
{
	struct uconn *u = uconn_of(c);

	if (u->in == IN_OWN && !u->in_cancelled) {
		loop_uring_cancel(&dp->loop, &u->in_op); /* its completion drains */
		u->in_cancelled = true;
	} else if (u->in == IN_RING && u->out == OUT_NONE && c->ready == 0 && !c->shut_wr) {
		conn_release_buf(dp, c);
		shutdown(c->fd, SHUT_WR); /* the receive waiting goes on, discarding */
		c->shut_wr = true;
	} else if (u->in == IN_NONE && u->out == OUT_NONE) {
		pump(dp, u);
	}
}

static bool uring_close(struct dataplane *dp, struct conn *c)
{
	struct uconn *u = uconn_of(c);

	if (u->in == IN_NONE && u->out == OUT_NONE) {
		close(c->fd);
		return false;
	}
	/* A receive or send into c->buf: cancelled before the buffer goes
	 * back.  The socket's number is free once closed: the queue is
	 * submitted first, and a request of it that the kernel refused
	 * becomes a no-op (loop_uring_cancel*()), so none outlives it. */
	if (u->in == IN_OWN)
		loop_uring_cancel_now(&dp->loop, &u->in_op);
	if (u->out == OUT_SEND)
		loop_uring_cancel_now(&dp->loop, &u->out_op);
	loop_uring_submit(&dp->loop);
	if (u->in == IN_RING)
		loop_uring_cancel(&dp->loop, &u->in_op);
	if (u->out == OUT_POLL)
		loop_uring_cancel(&dp->loop, &u->out_op);
	close(c->fd);
	return true;
}

static void uring_reclaim(struct dataplane *dp)
{
	loop_uring_bufs_trim(&dp->loop, true);
}

/* The ring's cap: a quarter of the worker's share of MEM_LIMIT (which a
 * reload may have lowered). */
static unsigned ring_cap(const struct dataplane *dp)
{
	size_t bufs = bufpool_mem_limit(dp->pool) / 4 / dp->workers / LOOP_URING_BUF_SIZE;

	return bufs < 1 ? 1 : bufs > LOOP_URING_MAX_BUFS ? LOOP_URING_MAX_BUFS : (unsigned)bufs;
}

static void uring_after_turn(struct dataplane *dp, bool second)
{
	/* While connections wait for memory, what frees up is theirs. */
	loop_uring_bufs_hold(&dp->loop, tcp_starving(&dp->tcp));
	if (second) {
		loop_uring_bufs_cap(&dp->loop, ring_cap(dp));
		loop_uring_bufs_trim(&dp->loop, false);
	}
	atomic_store_explicit(dp->ring_bytes,
			      (uint64_t)loop_uring_bufs_held(&dp->loop) * LOOP_URING_BUF_SIZE,
			      memory_order_relaxed);
}

const struct tcp_path tcp_uring_path = {
	.name = "io_uring",
	.conn_size = sizeof(struct uconn),
	.open = uring_open,
	.resume = uring_resume,
	.drain = uring_drain,
	.close = uring_close,
	.reclaim = uring_reclaim,
	.after_turn = uring_after_turn,
};
