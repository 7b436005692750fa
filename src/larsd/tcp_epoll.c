/*
 * tcp_epoll.c - the epoll data path of TCP connections (see tcp_conn.h).
 *
 * The read path: on_conn() (the loop's handler) -> run() -> read_once()
 * -> conn_get_room() for a buffer, read(), conn_received() for what may
 * be echoed, then flush() sends it.  Sockets are edge-triggered: can_read
 * and can_write remember what the loop last said, and run() does as much
 * as it can until read_once() says why it stops (enum read_result).  A
 * read shorter than the room offered means the socket is drained, which
 * saves the read that would only return EAGAIN.
 */
#include "config.h"

#include "tcp_conn.h"
#include "dataplane.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

struct econn {
	struct conn c;
	struct loop_handler handler;
	bool can_read;    /* the socket may have input (edge-triggered) */
	bool can_write;   /* the socket had room at the last try */
	bool peer_hup;    /* the loop saw the peer's FIN: read on to EOF */
};

/* What one read did (in the spirit of nginx's NGX_OK / NGX_AGAIN / ...). */
enum read_result {
	READ_DATA,    /* bytes arrived: more may follow */
	READ_AGAIN,   /* the socket is drained until the loop says otherwise */
	READ_EOF,     /* the peer closed its side */
	READ_BLOCKED, /* no room: the pool is at MEM_LIMIT, or the buffer is
	                 full of output the peer has not taken */
	READ_CLOSE,   /* the connection broke: close it */
};

static struct econn *econn_of(struct conn *c)
{
	return loop_container_of(c, struct econn, c);
}

/* Send what is ready.  False if the connection broke. */
static bool flush(struct dataplane *dp, struct econn *e)
{
	struct conn *c = &e->c;

	while (c->ready > 0 && e->can_write) {
		ssize_t n = send(c->fd, c->buf->data + c->buf->head, c->ready, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				e->can_write = false;
				stuck_append(dp, c);
				return true;
			}
			if (errno == EINTR)
				continue;
			return false;
		}
		conn_sent(dp, c, (size_t)n);
	}
	return true;
}

/* Read once into the buffer, and say why the reading stops if it does. */
static enum read_result read_once(struct dataplane *dp, struct econn *e)
{
	struct conn *c = &e->c;

	switch (conn_get_room(dp, c)) {
	case ROOM_OK:
		break;
	case ROOM_NO_MEMORY:
		return READ_BLOCKED;
	case ROOM_BROKEN:
		return READ_CLOSE;
	}
	size_t room = io_buf_space(c->buf);
	if (room == 0) /* full of unsent output: back pressure */
		return READ_BLOCKED;
	ssize_t n;
	do
		n = read(c->fd, io_buf_tail(c->buf), room);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if ((size_t)n < room && !e->peer_hup)
			e->can_read = false; /* drained; with a FIN seen, read on to EOF */
		conn_received(dp, c, (size_t)n);
		if (c->peer_closed)
			e->can_read = false; /* a frame above max_message */
		else if (c->next_frame > c->buf->capacity)
			e->can_read = true; /* a frame's header is in: its whole buffer now (point 3) */
		return READ_DATA;
	}
	if (n == 0) {
		c->peer_closed = true;
		e->can_read = false;
		return READ_EOF;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		e->can_read = false;
		return READ_AGAIN;
	}
	return READ_CLOSE;
}

/* Do all that can be done on this connection now: send what is ready,
 * read while the socket has input and there is room, until the socket
 * says EAGAIN, the peer closed, or the reading is blocked (no memory,
 * or output the peer has not taken yet). */
static void run(struct dataplane *dp, struct econn *e)
{
	struct conn *c = &e->c;

	for (;;) {
		if (!flush(dp, e)) {
			conn_close(dp, c);
			return;
		}
		if (c->ready > 0 && !e->can_write)
			break; /* wait for LOOP_WRITE */
		if (!e->can_read || c->peer_closed)
			break;
		enum read_result r = read_once(dp, e);
		if (r == READ_CLOSE) {
			conn_close(dp, c);
			return;
		}
		if (r == READ_BLOCKED)
			break; /* retried when memory or room comes */
		/* READ_DATA, READ_AGAIN, READ_EOF: flush what they made ready */
	}
	if (c->peer_closed && c->ready == 0)
		conn_close(dp, c); /* echoed all whole frames the client sent */
	else if (c->buf && c->buf->length == 0 && !c->starved)
		conn_release_buf(dp, c); /* idle connections hold no buffer */
}

static void on_conn(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct dataplane *dp = dataplane_of(loop);
	struct econn *e = loop_container_of(h, struct econn, handler);

	if (e->c.closed)
		return; /* closed earlier in this turn */
	if (events & (LOOP_READ | LOOP_HUP))
		e->can_read = true;
	if (events & LOOP_HUP)
		e->peer_hup = true;
	if (events & (LOOP_WRITE | LOOP_HUP))
		e->can_write = true;
	if (dataplane_stopping(dp))
		return; /* drain() takes it from here */
	conn_touch(dp, &e->c);
	if (!e->c.starved)
		run(dp, e); /* a starved one waits for its retry */
}

static int epoll_open(struct dataplane *dp, struct conn *c)
{
	struct econn *e = econn_of(c);

	e->handler.fn = on_conn;
	e->can_write = true;
	return loop_watch(&dp->loop, c->fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, &e->handler);
}

static void epoll_resume(struct dataplane *dp, struct conn *c)
{
	run(dp, econn_of(c));
}

/* Flush what was read, then half-close and wait for the client to close,
 * discarding its further input: closing with unread input would send a
 * reset that can destroy replies still in flight. */
static void epoll_drain(struct dataplane *dp, struct conn *c)
{
	struct econn *e = econn_of(c);
	char sink[4096];

	if (!flush(dp, e)) {
		conn_close(dp, c);
		return;
	}
	if (c->ready > 0)
		return; /* wait for LOOP_WRITE */
	if (!c->shut_wr) {
		conn_release_buf(dp, c);
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	for (;;) {
		ssize_t n = read(c->fd, sink, sizeof(sink));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		conn_close(dp, c); /* EOF or error: done */
		return;
	}
}

static bool epoll_close(struct dataplane *dp, struct conn *c)
{
	(void)dp;
	close(c->fd); /* also stops the loop watching it */
	return false;
}

const struct tcp_path tcp_epoll_path = {
	.name = "epoll",
	.conn_size = sizeof(struct econn),
	.open = epoll_open,
	.resume = epoll_resume,
	.drain = epoll_drain,
	.close = epoll_close,
};
