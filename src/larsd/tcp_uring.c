/*
 * tcp_uring.c - the io_uring data path of TCP connections (see tcp_conn.h,
 * loop_uring.h).
 *
 * A connection keeps one multishot receive armed.  Each completion hands
 * over a provided buffer (16K, from the pool) full of the client's bytes;
 * the buffer is appended to the connection's output chain as it is (or
 * its bytes are copied after the last buffer's, if they fit there), and
 * the bytes that may go back (echo: all; lars: whole frames, found by
 * lars_stream_feed() across buffers) are sent with one send or sendmsg
 * over the chain, one in flight at a time so that bytes keep their order.
 * A send's completion pops the buffers it emptied back into the pool.
 * Every request of a turn goes out in the loop's next io_uring_enter().
 *
 * Back pressure as on the epoll path: when a send queued in an earlier
 * turn is still in flight (the client sends but does not read) and
 * STUCK_BUFS buffers of output wait behind it, or whatever happens once
 * TCP_READ_MAX bytes wait, the receive is cancelled and the connection is
 * on the stuck list; it receives again once its send completes.  When the
 * ring ran out of buffers and the pool is at MEM_LIMIT the receive ends
 * with ENOBUFS and the connection waits on the starved list.  A closed
 * connection's requests are cancelled, and its struct is freed when the
 * last of their completions is in.
 */
#include "config.h"

#include "tcp_conn.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef HAVE_LIBURING

#include <liburing.h>

/* Receivers get as many provided buffers as there are connections, plus
 * this many for the ones that receive twice in one turn. */
#define RING_SPARE_BUFS 32
/* Buffers of output behind a send that did not complete in its turn. */
#define STUCK_BUFS 2

static void conn_recv_done(struct loop *loop, struct loop_op *op, int res, unsigned flags);
static void out_release(struct worker *w, struct conn *c);
static void conn_send_done(struct loop *loop, struct loop_op *op, int res, unsigned flags);

static void ring_want(struct worker *w)
{
	loop_uring_want_bufs(&w->loop, (unsigned)w->tcp.n + RING_SPARE_BUFS);
}

/* A send queued in an earlier turn is still in flight: the client does
 * not read.  On the stuck list, the connection's output is what
 * tcp_evict_stuck() frees at MEM_LIMIT, even if its receive ran dry
 * before any back pressure was due. */
static void note_stuck(struct worker *w, struct conn *c)
{
	if (c->u.sending && c->u.send_turn != loop_uring_turn(&w->loop) && !c->stuck)
		stuck_append(w, c);
}

/* Buffers for the ring; at MEM_LIMIT, close the connection stuck longest
 * (if stuck long enough) to free its output, as the epoll path does. */
static bool ring_fill(struct worker *w)
{
	return loop_uring_fill(&w->loop) || (tcp_evict_stuck(w) && loop_uring_fill(&w->loop));
}

static void recv_arm(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe = loop_uring_sqe(&w->loop, &c->u.recv_op);

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = LOOP_URING_BGID;
	c->u.recv_armed = true;
	c->u.recv_cancelled = false;
}

static void cancel(struct worker *w, struct loop_op *op)
{
	io_uring_prep_cancel(loop_uring_sqe(&w->loop, NULL), op, 0);
}

static void recv_stop(struct worker *w, struct conn *c)
{
	if (c->u.recv_armed && !c->u.recv_cancelled) {
		cancel(w, &c->u.recv_op);
		c->u.recv_cancelled = true;
	}
}

/* Should the connection receive now?  Not while its client does not read
 * (stuck: a send of an earlier turn is still in flight; it receives again
 * when that send completes), nor while TCP_READ_MAX bytes wait; a partial
 * lars frame does not count, as it cannot go before its end arrives
 * (max_message bounds it). */
static bool recv_wanted(const struct conn *c)
{
	return !c->u.closed && !c->peer_closed && !c->starved && !c->u.recv_armed &&
	       ((!c->stuck && c->ready < TCP_READ_MAX) || c->shut_wr);
}

/* Send the first `ready` bytes of the chain (at most TCP_URING_IOV
 * buffers of them). */
static void send_ready(struct worker *w, struct conn *c)
{
	struct conn_uring *u = &c->u;
	size_t left = c->ready;
	int n = 0;

	for (struct io_buf *b = u->out; b && left > 0 && n < TCP_URING_IOV; b = b->next) {
		size_t k = b->length < left ? b->length : left;
		u->iov[n].iov_base = b->data + b->head;
		u->iov[n].iov_len = k;
		left -= k;
		n++;
	}
	struct io_uring_sqe *sqe = loop_uring_sqe(&w->loop, &u->send_op);
	if (n == 1) {
		io_uring_prep_send(sqe, c->fd, u->iov[0].iov_base, u->iov[0].iov_len, MSG_NOSIGNAL);
	} else {
		memset(&u->msg, 0, sizeof(u->msg));
		u->msg.msg_iov = u->iov;
		u->msg.msg_iovlen = (size_t)n;
		io_uring_prep_sendmsg(sqe, c->fd, &u->msg, MSG_NOSIGNAL);
	}
	u->sending = true;
	u->send_turn = loop_uring_turn(&w->loop);
}

/* Has the client stopped reading?  Its send did not complete in the turn
 * it was queued in, and more output waits; or TCP_READ_MAX bytes wait. */
static bool conn_backed_up(struct worker *w, const struct conn *c)
{
	if (c->ready >= TCP_READ_MAX)
		return true;
	if (!c->u.sending || c->u.send_turn == loop_uring_turn(&w->loop))
		return false;
	size_t left = c->ready;
	unsigned n = 0;
	for (const struct io_buf *b = c->u.out; b && left > 0 && n < STUCK_BUFS; b = b->next, n++)
		left -= b->length < left ? b->length : left;
	return n >= STUCK_BUFS;
}

/* Free c once it is closed and no completion of it is still to come. */
static bool conn_settle(struct worker *w, struct conn *c)
{
	if (!c->u.closed || c->u.recv_armed || c->u.sending)
		return false;
	out_release(w, c);
	close(c->fd);
	w->tcp.closing--;
	free(c);
	return true;
}

/* Drop what cannot be sent any more. */
static void out_release(struct worker *w, struct conn *c)
{
	io_buf_chain_consume(&c->u.out, c->u.out_len, w->d->pool);
	c->u.out_tail = NULL;
	c->u.out_len = 0;
	c->ready = 0;
}

static bool stopping(const struct worker *w)
{
	return atomic_load_explicit(&w->d->stopping, memory_order_relaxed);
}

/* Nothing is being sent: close after the client's EOF (once the receive
 * is over); stopping, half-close first and read on to the client's EOF;
 * otherwise receive.  May free c. */
static void conn_idle_send(struct worker *w, struct conn *c)
{
	if (stopping(w) && !c->shut_wr) {
		out_release(w, c); /* a partial frame, or nothing */
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	if (c->peer_closed) {
		if (!c->u.recv_armed)
			conn_close(w, c); /* echoed all whole frames the client sent */
		return;
	}
	if (recv_wanted(c))
		recv_arm(w, c);
}

/* n new bytes at the end of the chain: how many may go back? */
static void conn_frames(struct worker *w, struct conn *c, const char *data, size_t n)
{
	size_t before = c->u.out_len - n;

	if (c->mode == CONF_MODE_ECHO) {
		stats_add(&w->stats.tcp_replies, 1);
		stats_add(&c->port->stats.replies, 1);
		c->ready = c->u.out_len;
		return;
	}
	size_t end, frames;
	enum lars_status st = lars_stream_feed(&c->u.frames, (const unsigned char *)data, n,
					       w->conf.max_message, &end, &frames);
	stats_add(&w->stats.tcp_replies, frames);
	stats_add(&c->port->stats.replies, frames);
	if (frames > 0)
		c->ready = before + end;
	if (st == LARS_TOO_LONG) {
		/* Echo the whole frames before it, read no more, then close. */
		stats_add(&w->stats.tcp_closed_oversize, 1);
		c->peer_closed = true;
		recv_stop(w, c);
	}
}

/* Put a received buffer's bytes at the end of the output chain; return
 * where they now are.  Bytes that fit after the last buffer's are copied
 * there and the buffer goes back to the pool: a client that trickles a
 * frame in one byte per segment would otherwise pin a 16K buffer per
 * byte, and at MEM_LIMIT those half frames could hold every buffer while
 * their connections starve (each buffer but the last in the chain is thus
 * more than half full, or was when it stopped being the last). */
static const char *out_append(struct worker *w, struct conn *c, struct io_buf *b)
{
	struct io_buf *t = c->u.out_tail;

	if (t && t->capacity - t->head - t->length >= b->length) {
		char *at = t->data + t->head + t->length; /* after any send in flight */
		memcpy(at, b->data + b->head, b->length);
		t->length += b->length;
		bufpool_revert(w->d->pool, b);
		return at;
	}
	b->next = NULL;
	if (t)
		t->next = b;
	else
		c->u.out = b;
	c->u.out_tail = b;
	return b->data + b->head;
}

static void conn_received(struct worker *w, struct conn *c, struct io_buf *b, size_t n)
{
	b->length = n;
	stats_add(&w->stats.bytes_in, (uint64_t)n);
	stats_add(&c->port->stats.bytes_in, (uint64_t)n);
	if (c->shut_wr || c->peer_closed || stopping(w)) {
		bufpool_revert(w->d->pool, b); /* stopping, or past a bad frame */
		return;
	}
	conn_touch(w, c);
	const char *data = out_append(w, c, b);
	c->u.out_len += n;
	conn_frames(w, c, data, n);
	note_stuck(w, c);
	if (conn_backed_up(w, c)) {
		recv_stop(w, c); /* back pressure: the client does not read */
		if (!c->stuck)
			stuck_append(w, c);
	}
	if (!c->u.sending && c->ready > 0)
		send_ready(w, c);
}

static void conn_recv_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct worker *w = worker_of(loop);
	struct conn *c = loop_container_of(op, struct conn, u.recv_op);
	struct io_buf *b = flags & IORING_CQE_F_BUFFER ? loop_uring_take_buf(loop, flags) : NULL;

	if (!(flags & IORING_CQE_F_MORE))
		c->u.recv_armed = false;
	if (c->u.closed) {
		if (b)
			bufpool_revert(w->d->pool, b);
		conn_settle(w, c);
		return;
	}
	if (res > 0 && b)
		conn_received(w, c, b, (size_t)res);
	else if (b)
		bufpool_revert(w->d->pool, b);
	if (c->u.recv_armed)
		return;
	if (res == -ENOBUFS && !c->peer_closed) {
		/* The ring ran dry: refill it, or wait for memory. */
		note_stuck(w, c);
		bool filled = ring_fill(w); /* may evict c itself: it is stuck */
		if (c->u.closed || !recv_wanted(c))
			return; /* a stuck one receives when its send completes */
		if (filled)
			recv_arm(w, c);
		else
			conn_wait_for_memory(w, c);
		return;
	}
	if (res < 0 && res != -ECANCELED && res != -ENOBUFS) {
		conn_close(w, c); /* reset, or another error */
		return;
	}
	if (res == 0)
		c->peer_closed = true; /* EOF: echo what is whole, then close */
	if (!c->u.sending)
		conn_idle_send(w, c); /* may free c */
	else if (recv_wanted(c))
		recv_arm(w, c); /* the kernel may end a multishot receive any time */
}

static void conn_send_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct worker *w = worker_of(loop);
	struct conn *c = loop_container_of(op, struct conn, u.send_op);

	(void)flags;
	c->u.sending = false;
	if (c->u.closed) {
		conn_settle(w, c);
		return;
	}
	if (res <= 0) {
		conn_close(w, c); /* the client reset, or is gone */
		return;
	}
	stats_add(&w->stats.bytes_out, (uint64_t)res);
	stats_add(&c->port->stats.bytes_out, (uint64_t)res);
	conn_touch(w, c); /* progress sending counts as activity (idle_timeout) */
	io_buf_chain_consume(&c->u.out, (size_t)res, w->d->pool);
	if (!c->u.out)
		c->u.out_tail = NULL;
	c->u.out_len -= (size_t)res;
	c->ready -= (size_t)res;
	stuck_unlink(w, c); /* the client reads: not stuck */
	if (c->ready == 0) {
		conn_idle_send(w, c); /* may free c */
		return;
	}
	send_ready(w, c);
	if (recv_wanted(c))
		recv_arm(w, c);
}

void tcp_uring_open(struct worker *w, struct conn *c)
{
	c->u.on = true;
	c->u.recv_op.fn = conn_recv_done;
	c->u.send_op.fn = conn_send_done;
	ring_want(w);
	recv_arm(w, c);
}

void tcp_uring_close(struct worker *w, struct conn *c)
{
	c->u.closed = true;
	if (!c->u.sending)
		out_release(w, c); /* else a send in flight still reads it */
	w->tcp.closing++;
	ring_want(w);
	recv_stop(w, c);
	if (c->u.sending)
		cancel(w, &c->u.send_op);
	conn_settle(w, c);
}

void tcp_uring_retry(struct worker *w, struct conn *c)
{
	note_stuck(w, c);
	if (!recv_wanted(c))
		return;
	bool filled = ring_fill(w);
	if (c->u.closed || !recv_wanted(c))
		return;
	if (filled)
		recv_arm(w, c);
	else
		conn_wait_for_memory(w, c);
}

void tcp_uring_drain(struct worker *w, struct conn *c)
{
	if (!c->shut_wr && !c->u.sending)
		conn_idle_send(w, c); /* may free c */
}

#else /* !HAVE_LIBURING: loop_uring_open() fails, so no connection is on */

void tcp_uring_open(struct worker *w, struct conn *c) { (void)w; (void)c; abort(); }
void tcp_uring_close(struct worker *w, struct conn *c) { (void)w; (void)c; abort(); }
void tcp_uring_retry(struct worker *w, struct conn *c) { (void)w; (void)c; abort(); }
void tcp_uring_drain(struct worker *w, struct conn *c) { (void)w; (void)c; abort(); }

#endif /* HAVE_LIBURING */
