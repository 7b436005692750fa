/*
 * tcp.c - the core of TCP connections (see tcp.h, tcp_conn.h): accept
 * and admit, the lists of a worker's connections (idle, stuck, starved),
 * eviction at MEM_LIMIT, closing and freeing, and stopping.  The bytes
 * move in the worker's data path (tcp_epoll.c or tcp_uring.c); the
 * connection's buffer is decided in tcp_buf.c.
 */
#include "config.h"

#include "tcp_conn.h"
#include "dataplane.h"
#include "guard.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections one listener wake-up accepts at most, so one busy listener
 * does not starve the rest of the loop. */
#define TCP_ACCEPT_BUDGET 64

static struct log_limit emfile_limit = LOG_LIMIT_INIT(10000);

/* ---- the lists of a worker's connections -------------------------------- */

void tcp_init(struct tcp_conns *t, const struct tcp_path *path)
{
	t->path = path;
	TAILQ_INIT(&t->lru);
	TAILQ_INIT(&t->starved_frames);
	TAILQ_INIT(&t->starved);
	TAILQ_INIT(&t->deferred);
	TAILQ_INIT(&t->stuck);
	t->n = t->n_starved_frames = t->n_starved = t->n_deferred = t->closing = 0;
	t->closed = NULL;
	t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void tcp_fini(struct tcp_conns *t)
{
	if (t->spare_fd >= 0)
		close(t->spare_fd);
	t->spare_fd = -1;
}

void conn_touch(struct dataplane *dp, struct conn *c)
{
	c->last_ms = dp->loop.now_ms;
	if (TAILQ_LAST(&dp->tcp.lru, conn_list) != c) {
		TAILQ_REMOVE(&dp->tcp.lru, c, lru_link);
		TAILQ_INSERT_TAIL(&dp->tcp.lru, c, lru_link);
	}
}

/* The starved lists: a connection that holds a buffer holds part of a
 * frame (an empty buffer is given back before a read waits), and goes
 * first (contract point 3). */
void conn_starve(struct dataplane *dp, struct conn *c)
{
	struct tcp_conns *t = &dp->tcp;

	if (c->starved)
		return;
	c->starved = true;
	if (c->buf) {
		TAILQ_INSERT_TAIL(&t->starved_frames, c, starved_link);
		t->n_starved_frames++;
	} else {
		TAILQ_INSERT_TAIL(&t->starved, c, starved_link);
		t->n_starved++;
	}
}

void conn_defer(struct dataplane *dp, struct conn *c)
{
	struct tcp_conns *t = &dp->tcp;

	if (c->starved)
		return;
	c->starved = c->deferred = true;
	TAILQ_INSERT_TAIL(&t->deferred, c, starved_link);
	t->n_deferred++;
}

static void conn_unstarve(struct dataplane *dp, struct conn *c)
{
	struct tcp_conns *t = &dp->tcp;

	if (!c->starved)
		return;
	/* A connection does not gain or lose its buffer while starved. */
	if (c->deferred) {
		TAILQ_REMOVE(&t->deferred, c, starved_link);
		t->n_deferred--;
		c->deferred = false;
	} else if (c->buf) {
		TAILQ_REMOVE(&t->starved_frames, c, starved_link);
		t->n_starved_frames--;
	} else {
		TAILQ_REMOVE(&t->starved, c, starved_link);
		t->n_starved--;
	}
	c->starved = false;
}

/* The stuck list: output waiting on a peer that does not read. */
void stuck_unlink(struct dataplane *dp, struct conn *c)
{
	if (c->stuck) {
		TAILQ_REMOVE(&dp->tcp.stuck, c, stuck_link);
		c->stuck = false;
	}
}

void stuck_append(struct dataplane *dp, struct conn *c)
{
	if (c->stuck)
		return;
	c->stuck = true;
	c->stuck_since_ms = dp->loop.now_ms;
	TAILQ_INSERT_TAIL(&dp->tcp.stuck, c, stuck_link);
}

void conn_close(struct dataplane *dp, struct conn *c)
{
	struct tcp_conns *t = &dp->tcp;

	if (c->closed)
		return;
	c->closed = true;
	conn_unstarve(dp, c);
	stuck_unlink(dp, c);
	TAILQ_REMOVE(&t->lru, c, lru_link);
	t->n--;
	atomic_fetch_sub_explicit(dp->connections, 1, memory_order_relaxed);
	if (c->reset) {
		/* A protocol error: an abortive close (RST), whatever is unread. */
		struct linger abort_now = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now));
	}
	bool later = t->path->close(dp, c);
	conn_release_buf(dp, c); /* usable at once (contract point 4) */
	c->fd = -1;
	if (later) {
		t->closing++;
		return;
	}
	c->closed_next = t->closed;
	t->closed = c;
}

void tcp_conn_free(struct dataplane *dp, struct conn *c)
{
	dp->tcp.closing--;
	free(c);
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
static void tcp_refuse_emfile(struct dataplane *dp, int lfd)
{
	log_limited(&emfile_limit, LOG_WARNING,
		    "out of file descriptors: refusing connections (raise LimitNOFILE)");
	if (dp->tcp.spare_fd >= 0) {
		close(dp->tcp.spare_fd);
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		dp->tcp.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

static bool tcp_admit(struct dataplane *dp, int fd, const struct sockaddr *peer)
{
	if (!guard_client_allowed(dp->conf.allow, dp->conf.n_allow, peer)) {
		stats_add(&dp->stats->tcp_refused_allow, 1);
		return false;
	}
	unsigned n = atomic_fetch_add_explicit(dp->connections, 1, memory_order_relaxed);
	if (n >= dp->conf.max_connections || atomic_load(dp->stopping)) {
		atomic_fetch_sub_explicit(dp->connections, 1, memory_order_relaxed);
		stats_add(&dp->stats->tcp_refused_limit, 1);
		return false;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return true;
}

/* A new connection, handed to the data path.  False if it could not be. */
static bool conn_open(struct dataplane *dp, int fd, struct port *p)
{
	struct tcp_conns *t = &dp->tcp;
	struct conn *c = calloc(1, t->path->conn_size);

	if (!c)
		return false;
	c->fd = fd;
	c->mode = p->listener->mode;
	c->port = p;
	c->read_size = TCP_READ_MIN;
	c->last_ms = dp->loop.now_ms;
	TAILQ_INSERT_TAIL(&t->lru, c, lru_link);
	t->n++;
	if (t->path->open(dp, c) < 0) {
		TAILQ_REMOVE(&t->lru, c, lru_link);
		t->n--;
		free(c);
		return false;
	}
	return true;
}

void tcp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct dataplane *dp = dataplane_of(loop);
	struct port *p = loop_container_of(h, struct port, handler);

	(void)events;
	for (int i = 0; i < TCP_ACCEPT_BUDGET; i++) {
		/* Stopping: leave new connections in the listener's queue.  Under
		 * socket activation systemd keeps the socket open and the next
		 * larsd accepts them; accepted here they could only be closed. */
		if (dataplane_stopping(dp))
			return;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(p->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				tcp_refuse_emfile(dp, p->fd);
			else if (i == 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				stats_add(&dp->stats->tcp_accept_empty, 1); /* another worker took it */
			return; /* EAGAIN, or a connection that died on the way */
		}
		if (!tcp_admit(dp, fd, (struct sockaddr *)&peer)) {
			close(fd);
		} else if (!conn_open(dp, fd, p)) {
			atomic_fetch_sub_explicit(dp->connections, 1, memory_order_relaxed);
			close(fd);
		} else {
			stats_add(&dp->stats->tcp_accepted, 1);
			stats_add(&p->stats.accepted, 1);
		}
	}
}

/* ---- memory ---------------------------------------------------------------- */

void tcp_reclaim(struct dataplane *dp)
{
	if (dp->tcp.path->reclaim)
		dp->tcp.path->reclaim(dp);
}

bool tcp_can_evict(const struct dataplane *dp)
{
	const struct conn *c = TAILQ_FIRST(&dp->tcp.stuck);

	return c && dp->loop.now_ms - c->stuck_since_ms >= TCP_EVICT_MS;
}

bool tcp_evict_stuck(struct dataplane *dp)
{
	struct conn *c = TAILQ_FIRST(&dp->tcp.stuck);

	if (!tcp_can_evict(dp))
		return false;
	stats_add(&dp->stats->tcp_closed_stuck, 1);
	conn_close(dp, c);
	return true;
}

/* Resume the first n of a starved list (those that starve again go to
 * its end). */
static void retry_list(struct dataplane *dp, struct conn_list *list, size_t n)
{
	struct conn *c;

	while (n-- > 0 && (c = TAILQ_FIRST(list))) {
		conn_unstarve(dp, c);
		dp->tcp.path->resume(dp, c); /* may starve c again, or close it */
	}
}

void tcp_retry_starved(struct dataplane *dp)
{
	struct tcp_conns *t = &dp->tcp;

	/* Frames in progress first: while one still waits, the memory that
	 * frees up is theirs, and new reads wait behind them. */
	retry_list(dp, &t->deferred, t->n_deferred);
	retry_list(dp, &t->starved_frames, t->n_starved_frames);
	if (t->n_starved_frames == 0)
		retry_list(dp, &t->starved, t->n_starved);
}

void tcp_close_idle(struct dataplane *dp)
{
	if (dp->conf.idle_timeout == 0)
		return;
	uint64_t limit = (uint64_t)dp->conf.idle_timeout * 1000u;
	struct conn *c;
	while ((c = TAILQ_FIRST(&dp->tcp.lru)) && dp->loop.now_ms - c->last_ms >= limit) {
		stats_add(&dp->stats->tcp_closed_idle, 1);
		conn_close(dp, c);
	}
}

void tcp_after_turn(struct dataplane *dp, bool second)
{
	if (dp->tcp.path->after_turn)
		dp->tcp.path->after_turn(dp, second);
}

/* ---- stopping ------------------------------------------------------------ */

bool tcp_drain_all(struct dataplane *dp)
{
	struct tcp_conns *t = &dp->tcp;
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&t->lru); c; c = next) {
		next = TAILQ_NEXT(c, lru_link);
		conn_unstarve(dp, c); /* draining needs no new memory */
		t->path->drain(dp, c);
	}
	return t->n == 0;
}

void tcp_close_all(struct dataplane *dp)
{
	struct conn *c;
	while ((c = TAILQ_FIRST(&dp->tcp.lru)))
		conn_close(dp, c);
}
