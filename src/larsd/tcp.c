/*
 * tcp.c - TCP connections (see tcp.h).
 *
 * Sockets are edge-triggered: can_read and can_write remember what epoll
 * last said, and tcp_run() does as much as it can until the socket says
 * EAGAIN, the buffer is full of unsent output, or the pool has no memory.
 * A read shorter than the room offered means the socket is drained, which
 * saves the read that would only return EAGAIN.
 */
#include "config.h"

#include "tcp.h"
#include "lars.h"
#include "guard.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection reads into a 16K buffer at first; one whose reads fill the
 * buffer moves up a tier at its next buffer, to 256K at most, so bulk
 * transfers take few large reads and chatty ones hold little memory.  A
 * lars frame gets a buffer that holds it whole. */
#define TCP_READ_MIN ((size_t)16 << 10)
#define TCP_READ_MAX ((size_t)256 << 10)
#define TCP_ACCEPT_BUDGET 64

static struct log_limit nomem_limit = LOG_LIMIT_INIT(10000);
static struct log_limit emfile_limit = LOG_LIMIT_INIT(10000);

/* ---- connection list ---------------------------------------------------- */

static void conn_touch(struct worker *w, struct conn *c)
{
	c->last_ms = w->now_ms;
	if (TAILQ_LAST(&w->lru, conn_list) != c) {
		TAILQ_REMOVE(&w->lru, c, lru_link);
		TAILQ_INSERT_TAIL(&w->lru, c, lru_link);
	}
}

static void conn_unstarve(struct worker *w, struct conn *c)
{
	for (struct conn **p = &w->starved; *p; p = &(*p)->starved_next) {
		if (*p == c) {
			*p = c->starved_next;
			break;
		}
	}
	c->starved = false;
	c->starved_next = NULL;
}

/* ---- the stuck list: output waiting on a peer that does not read -------- */

static void stuck_unlink(struct worker *w, struct conn *c)
{
	if (c->stuck) {
		TAILQ_REMOVE(&w->stuck, c, stuck_link);
		c->stuck = false;
	}
}

static void stuck_append(struct worker *w, struct conn *c)
{
	c->stuck = true;
	c->stuck_since_ms = w->now_ms;
	TAILQ_INSERT_TAIL(&w->stuck, c, stuck_link);
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

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->starved)
		conn_unstarve(w, c);
	stuck_unlink(w, c);
	conn_release_buf(w, c);
	TAILQ_REMOVE(&w->lru, c, lru_link);
	close(c->fd); /* also removes it from the epoll set */
	w->n_conns--;
	atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
	free(c);
}

/* ---- accept -------------------------------------------------------------- */

/* Past EMFILE the pending connection would wake us forever: give up the
 * spare descriptor, accept and close the connection, take the spare back. */
static void tcp_refuse_emfile(struct worker *w, int lfd)
{
	log_limited(&emfile_limit, LOG_WARNING,
		    "out of file descriptors: refusing connections (raise LimitNOFILE)");
	if (w->reserve_fd >= 0) {
		close(w->reserve_fd);
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
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

void tcp_accept(struct worker *w, struct listener *l)
{
	for (int i = 0; i < TCP_ACCEPT_BUDGET; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				tcp_refuse_emfile(w, l->fd);
			return; /* EAGAIN, or a connection that died on the way */
		}
		if (!tcp_admit(w, fd, (struct sockaddr *)&peer)) {
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
			close(fd);
			continue;
		}
		c->kind = EV_CONN;
		c->fd = fd;
		c->mode = l->mode;
		c->can_write = true;
		c->read_size = TCP_READ_MIN;
		c->last_ms = w->now_ms;
		if (worker_watch(w, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, c) < 0) {
			atomic_fetch_sub_explicit(&w->d->connections, 1, memory_order_relaxed);
			close(fd);
			free(c);
			continue;
		}
		TAILQ_INSERT_TAIL(&w->lru, c, lru_link);
		w->n_conns++;
		stats_add(&w->stats.tcp_accepted, 1);
	}
}

/* ---- reading and echoing ------------------------------------------------- */

/* Make sure the connection has a buffer with room for the next read (and,
 * in lars mode, for the whole partial frame).  False: wait for memory. */
static bool conn_get_room(struct worker *w, struct conn *c)
{
	size_t least = c->next_frame > TCP_READ_MIN ? c->next_frame : TCP_READ_MIN;
	size_t need = c->read_size > least ? c->read_size : least;
	struct io_buf *nb = NULL;

	if (c->buf && c->buf->capacity >= need)
		goto have_room;
	nb = bufpool_alloc(w->d->pool, need);
	if (!nb && need > least) {
		/* Short of memory: no big reads for now, the least will do. */
		c->read_size = TCP_READ_MIN;
		need = least;
		if (c->buf && c->buf->capacity >= need)
			goto have_room;
		nb = bufpool_alloc(w->d->pool, need);
	}
	if (!nb && tcp_evict_stuck(w))
		nb = bufpool_alloc(w->d->pool, need);
	if (!nb) {
		stats_add(&w->stats.tcp_stalled_nomem, 1);
		log_limited(&nomem_limit, LOG_WARNING,
			    "buffer pool at MEM_LIMIT (%zu bytes): pausing reads",
			    bufpool_mem_limit(w->d->pool));
		worker_request_memory(w);
		if (!c->starved) {
			c->starved = true;
			c->starved_next = w->starved;
			w->starved = c;
		}
		return false;
	}
	if (c->buf) { /* outgrown, by a lars frame or by reads that fill it */
		io_buf_copy(nb, c->buf);
		bufpool_revert(w->d->pool, c->buf);
	}
	c->buf = nb;
	return true;
have_room:
	if (io_buf_space(c->buf) == 0)
		io_buf_adjust(c->buf);
	return true;
}

/* New bytes arrived: how many of them may be echoed now?  A frame above
 * max_message ends the reading as if the peer had closed. */
static void conn_frame(struct worker *w, struct conn *c)
{
	struct io_buf *b = c->buf;

	if (c->mode == CONF_MODE_ECHO) {
		stats_add(&w->stats.tcp_replies, 1);
		c->ready = b->length;
		return;
	}
	size_t complete, frames, next;
	const unsigned char *start = (const unsigned char *)b->data + b->head + c->ready;
	enum lars_status st = lars_scan(start, b->length - c->ready, w->conf.max_message,
					&complete, &frames, &next);
	stats_add(&w->stats.tcp_replies, frames);
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
		stuck_unlink(w, c); /* the peer reads: not stuck */
		io_buf_pop(b, (size_t)n);
		c->ready -= (size_t)n;
		if (b->length == 0)
			c->next_frame = 0;
	}
	return true;
}

/* Read once into the buffer.  Returns 1 on data, 0 when nothing more can
 * be read now, -1 if the connection must be closed. */
static int conn_read(struct worker *w, struct conn *c)
{
	if (!conn_get_room(w, c))
		return 0;
	size_t room = io_buf_space(c->buf);
	if (room == 0) /* full of unsent output: back pressure */
		return 0;
	ssize_t n = read(c->fd, io_buf_tail(c->buf), room);
	if (n > 0) {
		c->buf->length += (size_t)n;
		stats_add(&w->stats.bytes_in, (uint64_t)n);
		if ((size_t)n < room && !c->peer_hup)
			c->can_read = false; /* drained; with a FIN seen, read on to EOF */
		else if ((size_t)n == c->buf->capacity && c->read_size < TCP_READ_MAX)
			c->read_size *= 4; /* the next buffer, one tier up */
		conn_frame(w, c);
		return 1;
	}
	if (n == 0) {
		c->peer_closed = true;
		c->can_read = false;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->can_read = false;
		return 0;
	}
	return errno == EINTR ? 1 : -1;
}

/* Do all that can be done on this connection now. */
static void tcp_run(struct worker *w, struct conn *c)
{
	for (;;) {
		if (!conn_flush(w, c))
			goto close;
		if (c->ready > 0 && !c->can_write)
			break; /* wait for EPOLLOUT */
		if (!c->can_read || c->peer_closed)
			break;
		int r = conn_read(w, c);
		if (r < 0)
			goto close;
		if (r == 0 && (c->can_read && !c->peer_closed))
			break; /* starved or full: retried later */
	}
	if (c->peer_closed && c->ready == 0)
		goto close; /* echoed all whole frames the client sent */
	if (c->buf && c->buf->length == 0)
		conn_release_buf(w, c); /* idle connections hold no buffer */
	return;
close:
	conn_close(w, c);
}

void tcp_on_event(struct worker *w, struct conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->can_read = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->peer_hup = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->can_write = true;
	if (atomic_load_explicit(&w->d->stopping, memory_order_relaxed))
		return; /* tcp_drain_all() takes it from here */
	conn_touch(w, c);
	tcp_run(w, c);
}

void tcp_retry_starved(struct worker *w)
{
	struct conn *list = w->starved;

	w->starved = NULL;
	while (list) {
		struct conn *c = list;
		list = c->starved_next;
		c->starved = false;
		c->starved_next = NULL;
		tcp_run(w, c); /* may starve again, or close c */
	}
}

bool tcp_evict_stuck(struct worker *w)
{
	struct conn *c = TAILQ_FIRST(&w->stuck);

	if (!c || w->now_ms - c->stuck_since_ms < TCP_STUCK_EVICT_MS)
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
	while ((c = TAILQ_FIRST(&w->lru)) && w->now_ms - c->last_ms >= limit) {
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

	if (!conn_flush(w, c)) {
		conn_close(w, c);
		return;
	}
	if (c->ready > 0)
		return; /* wait for EPOLLOUT */
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
	for (c = TAILQ_FIRST(&w->lru); c; c = next) {
		next = TAILQ_NEXT(c, lru_link);
		conn_drain(w, c);
	}
	return w->n_conns == 0;
}

void tcp_close_all(struct worker *w)
{
	struct conn *c;
	while ((c = TAILQ_FIRST(&w->lru)))
		conn_close(w, c);
}
