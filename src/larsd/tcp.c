/*
 * tcp.c - TCP connections (see tcp.h).
 *
 * The read path: tcp_on_conn() (the loop's handler) -> tcp_run() ->
 * conn_read() -> conn_get_room() for a buffer, read(), conn_frame() for
 * what may be echoed, then conn_flush() sends it.  Sockets are
 * edge-triggered: can_read and can_write remember what the loop last said,
 * and tcp_run() does as much as it can until conn_read() says why it
 * stops (enum conn_read).  A read shorter than the room offered means the
 * socket is drained, which saves the read that would only return EAGAIN.
 */
#include "config.h"

#include "tcp_conn.h"
#include "guard.h"
#include "lars.h"
#include "log.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Growing read sizes (tcp_conn.h) make bulk transfers take few large
 * reads while chatty connections hold little memory.  A lars frame gets a
 * buffer that holds it whole. */
#define TCP_ACCEPT_BUDGET 64

/* Why conn_get_room() gave no room. */
enum conn_room { ROOM_OK, ROOM_NO_MEMORY, ROOM_BROKEN };

/* What one read did (in the spirit of nginx's NGX_OK / NGX_AGAIN / ...). */
enum conn_read {
	READ_DATA,    /* bytes arrived: more may follow */
	READ_AGAIN,   /* the socket is drained until the loop says otherwise */
	READ_EOF,     /* the peer closed its side */
	READ_BLOCKED, /* no room: the pool is at MEM_LIMIT, or the buffer is
	                 full of output the peer has not taken */
	READ_CLOSE,   /* the connection broke: close it */
};

static struct log_limit nomem_limit = LOG_LIMIT_INIT(10000);
static struct log_limit emfile_limit = LOG_LIMIT_INIT(10000);

/* ---- the lists of a worker's connections -------------------------------- */

void tcp_init(struct tcp_conns *t)
{
	TAILQ_INIT(&t->lru);
	TAILQ_INIT(&t->stuck);
	t->n = 0;
	t->starved = NULL;
	t->closed = NULL;
	t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void tcp_fini(struct tcp_conns *t)
{
	if (t->spare_fd >= 0)
		close(t->spare_fd);
	t->spare_fd = -1;
}

void conn_touch(struct worker *w, struct conn *c)
{
	c->last_ms = w->loop.now_ms;
	if (TAILQ_LAST(&w->tcp.lru, conn_list) != c) {
		TAILQ_REMOVE(&w->tcp.lru, c, lru_link);
		TAILQ_INSERT_TAIL(&w->tcp.lru, c, lru_link);
	}
}

static void conn_starve(struct worker *w, struct conn *c)
{
	if (c->starved)
		return;
	c->starved = true;
	c->starved_next = w->tcp.starved;
	w->tcp.starved = c;
}

static void conn_unstarve(struct worker *w, struct conn *c)
{
	for (struct conn **p = &w->tcp.starved; *p; p = &(*p)->starved_next) {
		if (*p == c) {
			*p = c->starved_next;
			c->starved_next = NULL;
			break;
		}
	}
	/* Not found: it is on the list tcp_retry_starved() is walking, which
	 * goes on through c->starved_next and skips it. */
	c->starved = false;
}

/* The stuck list: output waiting on a peer that does not read. */
void stuck_unlink(struct worker *w, struct conn *c)
{
	if (c->stuck) {
		TAILQ_REMOVE(&w->tcp.stuck, c, stuck_link);
		c->stuck = false;
	}
}

void stuck_append(struct worker *w, struct conn *c)
{
	c->stuck = true;
	c->stuck_since_ms = w->loop.now_ms;
	TAILQ_INSERT_TAIL(&w->tcp.stuck, c, stuck_link);
}

static void conn_release_buf(struct worker *w, struct conn *c)
{
	if (c->buf) {
		bufpool_revert(w->d->pool, c->buf);
		c->buf = NULL;
	}
	c->ready = 0;
	c->next_frame = 0;
}

/* Close now; free at tcp_reap(), since an event of this turn may still
 * name the connection (one closed to make room for another, say).  On
 * the io_uring path its requests must end first (tcp_uring_close). */
void conn_close(struct worker *w, struct conn *c)
{
	if (c->starved)
		conn_unstarve(w, c);
	stuck_unlink(w, c);
	conn_release_buf(w, c);
	TAILQ_REMOVE(&w->tcp.lru, c, lru_link);
	w->tcp.n--;
	atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
	if (c->u.on) {
		tcp_uring_close(w, c);
		return;
	}
	close(c->fd); /* also stops the loop watching it */
	c->fd = -1;
	c->closed_next = w->tcp.closed;
	w->tcp.closed = c;
}

void tcp_reap(struct tcp_conns *t)
{
	while (t->closed) {
		struct conn *c = t->closed;
		t->closed = c->closed_next;
		free(c);
	}
}

/* ---- accept -------------------------------------------------------------- */

/* Past EMFILE the pending connection would wake us forever: give up the
 * spare descriptor, accept and close the connection, take the spare back. */
static void tcp_refuse_emfile(struct worker *w, int lfd)
{
	log_limited(&emfile_limit, LOG_WARNING,
		    "out of file descriptors: refusing connections (raise LimitNOFILE)");
	if (w->tcp.spare_fd >= 0) {
		close(w->tcp.spare_fd);
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		w->tcp.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

static bool tcp_admit(struct worker *w, int fd, const struct sockaddr *peer)
{
	if (!guard_client_allowed(&w->conf, peer)) {
		stats_add(&w->stats.tcp_refused_allow, 1);
		return false;
	}
	unsigned n = atomic_fetch_add_explicit(&w->d->connections, 1, memory_order_relaxed);
	if (n >= w->conf.max_connections || atomic_load(&w->d->stopping)) {
		atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
		stats_add(&w->stats.tcp_refused_limit, 1);
		return false;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return true;
}

static void tcp_on_conn(struct loop *loop, struct loop_handler *h, unsigned events);

/* A new connection: its struct, watched edge-triggered, or receiving on
 * the worker's ring.  False if it was closed instead. */
static bool conn_open(struct worker *w, int fd, struct port *p)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return false;
	c->handler.fn = tcp_on_conn;
	c->fd = fd;
	c->mode = p->listener->mode;
	c->port = p;
	c->can_write = true;
	c->read_size = TCP_READ_MIN;
	c->last_ms = w->loop.now_ms;
	if (!w->loop.uring &&
	    loop_watch(&w->loop, fd, LOOP_READ | LOOP_WRITE | LOOP_EDGE, &c->handler) < 0) {
		free(c);
		return false;
	}
	TAILQ_INSERT_TAIL(&w->tcp.lru, c, lru_link);
	w->tcp.n++;
	if (w->loop.uring)
		tcp_uring_open(w, c);
	return true;
}

void tcp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct worker *w = worker_of(loop);
	struct port *p = loop_container_of(h, struct port, handler);

	(void)events;
	for (int i = 0; i < TCP_ACCEPT_BUDGET; i++) {
		/* Stopping: leave new connections in the listener's queue.  Under
		 * socket activation systemd keeps the socket open and the next
		 * larsd accepts them; accepted here they could only be closed. */
		if (atomic_load_explicit(&w->d->stopping, memory_order_relaxed))
			return;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(p->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				tcp_refuse_emfile(w, p->fd);
			return; /* EAGAIN, or a connection that died on the way */
		}
		if (!tcp_admit(w, fd, (struct sockaddr *)&peer)) {
			close(fd);
		} else if (!conn_open(w, fd, p)) {
			atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
			close(fd);
		} else {
			stats_add(&w->stats.tcp_accepted, 1);
			stats_add(&p->stats.accepted, 1);
		}
	}
}

/* ---- reading and echoing ------------------------------------------------- */

/* Does the connection's own buffer hold `need` bytes?  Then make room at
 * its end if all of it was sent. */
static bool conn_room_in_own(struct conn *c, size_t need)
{
	if (!c->buf || c->buf->capacity < need)
		return false;
	if (io_buf_space(c->buf) == 0)
		io_buf_adjust(c->buf);
	return true;
}

/* Move the connection's bytes into nb, a larger buffer: it outgrew its
 * own, by a lars frame or by reads that fill it. */
static bool conn_move_to(struct worker *w, struct conn *c, struct io_buf *nb)
{
	if (c->buf && io_buf_copy(nb, c->buf) < 0) {
		bufpool_revert(w->d->pool, nb);
		return false;
	}
	if (c->buf)
		bufpool_revert(w->d->pool, c->buf);
	c->buf = nb;
	return true;
}

/* The pool said no: wait on the starved list, ask the others for memory. */
void conn_wait_for_memory(struct worker *w, struct conn *c)
{
	stats_add(&w->stats.tcp_stalled_nomem, 1);
	log_limited(&nomem_limit, LOG_WARNING,
		    "buffer pool at MEM_LIMIT (%zu bytes): pausing reads",
		    bufpool_mem_limit(w->d->pool));
	worker_request_memory(w);
	conn_starve(w, c);
}

/* Give the connection a buffer with room for the next read (and, in lars
 * mode, for the whole partial frame): the size its reads have earned, or,
 * short of memory, the least that will do. */
static enum conn_room conn_get_room(struct worker *w, struct conn *c)
{
	size_t least = c->next_frame > TCP_READ_MIN ? c->next_frame : TCP_READ_MIN;
	size_t want = c->read_size > least ? c->read_size : least;
	struct io_buf *nb;

	if (conn_room_in_own(c, want))
		return ROOM_OK;
	nb = bufpool_alloc(w->d->pool, want);
	if (!nb && want > least) {
		c->read_size = TCP_READ_MIN; /* no big reads for now */
		if (conn_room_in_own(c, least))
			return ROOM_OK;
		nb = bufpool_alloc(w->d->pool, least);
	}
	if (!nb && tcp_evict_stuck(w))
		nb = bufpool_alloc(w->d->pool, least);
	if (!nb) {
		conn_wait_for_memory(w, c);
		return ROOM_NO_MEMORY;
	}
	if (!conn_move_to(w, c, nb)) {
		log_err("tcp: cannot move %zu bytes to a %zu-byte buffer",
			c->buf->length, nb->capacity);
		return ROOM_BROKEN;
	}
	return ROOM_OK;
}

/* New bytes arrived: how many of them may be echoed now?  A frame above
 * max_message ends the reading as if the peer had closed. */
static void conn_frame(struct worker *w, struct conn *c)
{
	struct io_buf *b = c->buf;

	if (c->mode == CONF_MODE_ECHO) {
		stats_add(&w->stats.tcp_replies, 1);
		stats_add(&c->port->stats.replies, 1);
		c->ready = b->length;
		return;
	}
	size_t complete, frames, next;
	const unsigned char *start = (const unsigned char *)b->data + b->head + c->ready;
	enum lars_status st = lars_scan(start, b->length - c->ready, w->conf.max_message,
					&complete, &frames, &next);
	stats_add(&w->stats.tcp_replies, frames);
	stats_add(&c->port->stats.replies, frames);
	c->ready += complete;
	c->next_frame = next;
	if (st == LARS_TOO_LONG) {
		/* Echo the whole frames before it, read no more, then close. */
		stats_add(&w->stats.tcp_closed_oversize, 1);
		c->next_frame = 0;
		c->peer_closed = true;
		c->can_read = false;
	}
}

/* Send what is ready.  False if the connection broke. */
static bool conn_flush(struct worker *w, struct conn *c)
{
	while (c->ready > 0 && c->can_write) {
		struct io_buf *b = c->buf;
		ssize_t n = send(c->fd, b->data + b->head, c->ready, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->can_write = false;
				if (!c->stuck)
					stuck_append(w, c);
				return true;
			}
			if (errno == EINTR)
				continue;
			return false;
		}
		stats_add(&w->stats.bytes_out, (uint64_t)n);
		stats_add(&c->port->stats.bytes_out, (uint64_t)n);
		stuck_unlink(w, c); /* the peer reads: not stuck */
		io_buf_pop(b, (size_t)n);
		c->ready -= (size_t)n;
		if (b->length == 0)
			c->next_frame = 0;
	}
	return true;
}

/* Read once into the buffer, and say why the reading stops if it does. */
static enum conn_read conn_read(struct worker *w, struct conn *c)
{
	switch (conn_get_room(w, c)) {
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
		c->buf->length += (size_t)n;
		stats_add(&w->stats.bytes_in, (uint64_t)n);
		stats_add(&c->port->stats.bytes_in, (uint64_t)n);
		if ((size_t)n < room && !c->peer_hup)
			c->can_read = false; /* drained; with a FIN seen, read on to EOF */
		else if ((size_t)n == c->buf->capacity && c->read_size < TCP_READ_MAX)
			c->read_size *= 4; /* the next buffer, one tier up */
		conn_frame(w, c);
		return READ_DATA;
	}
	if (n == 0) {
		c->peer_closed = true;
		c->can_read = false;
		return READ_EOF;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->can_read = false;
		return READ_AGAIN;
	}
	return READ_CLOSE;
}

/* Do all that can be done on this connection now: send what is ready,
 * read while the socket has input and there is room, until the socket
 * says EAGAIN, the peer closed, or the reading is blocked (no memory,
 * or output the peer has not taken yet). */
static void tcp_run(struct worker *w, struct conn *c)
{
	for (;;) {
		if (!conn_flush(w, c)) {
			conn_close(w, c);
			return;
		}
		if (c->ready > 0 && !c->can_write)
			break; /* wait for LOOP_WRITE */
		if (!c->can_read || c->peer_closed)
			break;
		enum conn_read r = conn_read(w, c);
		if (r == READ_CLOSE) {
			conn_close(w, c);
			return;
		}
		if (r == READ_BLOCKED)
			break; /* retried when memory or room comes */
		/* READ_DATA, READ_AGAIN, READ_EOF: flush what they made ready */
	}
	if (c->peer_closed && c->ready == 0)
		conn_close(w, c); /* echoed all whole frames the client sent */
	else if (c->buf && c->buf->length == 0)
		conn_release_buf(w, c); /* idle connections hold no buffer */
}

static void tcp_on_conn(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct worker *w = worker_of(loop);
	struct conn *c = loop_container_of(h, struct conn, handler);

	if (c->fd < 0)
		return; /* closed earlier in this turn */
	if (events & (LOOP_READ | LOOP_HUP))
		c->can_read = true;
	if (events & LOOP_HUP)
		c->peer_hup = true;
	if (events & (LOOP_WRITE | LOOP_HUP))
		c->can_write = true;
	if (atomic_load_explicit(&w->d->stopping, memory_order_relaxed))
		return; /* tcp_drain_all() takes it from here */
	conn_touch(w, c);
	tcp_run(w, c);
}

void tcp_retry_starved(struct worker *w)
{
	struct conn *list = w->tcp.starved;

	w->tcp.starved = NULL;
	while (list) {
		struct conn *c = list;
		list = c->starved_next;
		if (!c->starved || c->fd < 0 || c->u.closed)
			continue; /* closed, or unstarved, by a retry before it */
		c->starved = false;
		c->starved_next = NULL;
		if (c->u.on)
			tcp_uring_retry(w, c);
		else
			tcp_run(w, c); /* may starve again, or close c */
	}
}

bool tcp_evict_stuck(struct worker *w)
{
	struct conn *c = TAILQ_FIRST(&w->tcp.stuck);

	if (!c || w->loop.now_ms - c->stuck_since_ms < TCP_STUCK_EVICT_MS)
		return false;
	stats_add(&w->stats.tcp_closed_stuck, 1);
	conn_close(w, c);
	return true;
}

void tcp_close_idle(struct worker *w)
{
	if (w->conf.idle_timeout == 0)
		return;
	uint64_t limit = (uint64_t)w->conf.idle_timeout * 1000u;
	struct conn *c;
	while ((c = TAILQ_FIRST(&w->tcp.lru)) && w->loop.now_ms - c->last_ms >= limit) {
		stats_add(&w->stats.tcp_closed_idle, 1);
		conn_close(w, c);
	}
}

/* ---- stopping ------------------------------------------------------------ */

/* Flush what was read, then half-close and wait for the client to close,
 * discarding its further input: closing with unread input would send a
 * reset that can destroy replies still in flight. */
static void conn_drain(struct worker *w, struct conn *c)
{
	char sink[4096];

	if (c->u.on) {
		if (c->starved)
			conn_unstarve(w, c); /* draining needs no new memory first */
		tcp_uring_drain(w, c);
		return;
	}
	if (!conn_flush(w, c)) {
		conn_close(w, c);
		return;
	}
	if (c->ready > 0)
		return; /* wait for LOOP_WRITE */
	if (!c->shut_wr) {
		conn_release_buf(w, c);
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
		conn_close(w, c); /* EOF or error: done */
		return;
	}
}

bool tcp_drain_all(struct worker *w)
{
	struct conn *c, *next;
	for (c = TAILQ_FIRST(&w->tcp.lru); c; c = next) {
		next = TAILQ_NEXT(c, lru_link);
		conn_drain(w, c);
	}
	return w->tcp.n == 0;
}

void tcp_close_all(struct worker *w)
{
	struct conn *c;
	while ((c = TAILQ_FIRST(&w->tcp.lru)))
		conn_close(w, c);
}
