/*
 * client_tcp.c - the TCP client: echo or lars frames over N connections.
 *
 * Each connection keeps up to --depth messages in flight.  Messages are
 * numbered; a connection only remembers three positions in its stream and
 * the send time of each message in flight:
 *
 *   recv_seq:recv_off  <=  send_seq:send_off  <=  next_seq:0
 *   (next byte to come back) (next byte to send)  (next message to make)
 *
 * Sending regenerates the bytes from send_seq:send_off into the worker's
 * scratch buffer, as many as fit, and writes them with one send(); what
 * the socket did not take is regenerated next time.  Reading takes what
 * is there (one recv() of up to 128 KiB) and compares it, message by
 * message, with what was sent; each completed message is a reply (or a
 * corrupt one) and makes room for a new message, and the new messages go
 * out with one send() after the read.  A full socket turns on EPOLLOUT
 * until the backlog is written.
 *
 * That is --verify bytes (and none in echo mode, which only counts the
 * bytes); with --verify frames or none in lars mode the replies are parsed
 * as Lars frames instead, in client_tcp_frames.c.  A reply left
 * incomplete while the server sends nothing for --timeout is short:
 * corrupt (tcp_stalled).
 */
#include "config.h"

#include "client_tcp.h"
#include "clock.h"
#include "worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static struct tcp_conn *tcp_conns(struct worker *w)
{
	return w->conns;
}

void tcp_fail(struct worker *w, struct tcp_conn *c, const char *what, int err)
{
	uint64_t lost = c->next_seq - c->recv_seq;

	worker_conn_error(w, lost, "connection %u to %s: %s%s%s", c->id, w->run->o->addr_text,
			  what, err ? ": " : "", err ? strerror(err) : "");
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* ---- connecting ----------------------------------------------------------- */

static int tcp_open(struct worker *w, struct tcp_conn *c)
{
	const struct bench_opts *o = w->run->o;
	int one = 1;

	c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addr_len) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	return worker_watch(w, c->fd, c, EPOLLOUT, false);
}

/* The outcome of a non-blocking connect. */
static void tcp_connected(struct worker *w, struct tcp_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0 && worker_watch(w, c->fd, c, EPOLLIN, true) < 0)
		err = errno;
	if (err) {
		tcp_fail(w, c, "connect", err);
		return;
	}
	c->connected = true;
}

static int tcp_setup(struct worker *w)
{
	const struct bench_opts *o = w->run->o;
	struct tcp_conn *conns = calloc(w->n_conns, sizeof(*conns));
	uint64_t *times = calloc((size_t)w->n_conns * o->depth, sizeof(*times));
	unsigned pending = 0;

	if (!conns || !times) {
		free(conns);
		free(times);
		errno = ENOMEM;
		return -1;
	}
	w->conns = conns;
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct tcp_conn *c = &conns[i];
		c->id = w->first_conn + i;
		c->sent_ns = times + (size_t)i * o->depth;
		if (tcp_open(w, c) < 0) {
			int err = errno;
			if (c->fd >= 0)
				close(c->fd);
			c->fd = -1;
			worker_conn_error(w, 0, "connection %u to %s: %s", c->id, o->addr_text,
					  strerror(err));
			continue;
		}
		pending++;
	}

	/* Wait for the connects, all at once. */
	uint64_t deadline = clock_ns() + (uint64_t)WORKER_CONNECT_MS * NS_PER_MS;
	struct epoll_event ev[64];
	while (pending > 0 && !atomic_load(&w->run->stop)) {
		uint64_t now = clock_ns();
		if (now >= deadline)
			break;
		int n = epoll_wait(w->epfd, ev, 64, (int)((deadline - now) / NS_PER_MS) + 1);
		for (int i = 0; i < n; i++) {
			struct tcp_conn *c = ev[i].data.ptr;
			if (!c->connected && c->fd >= 0) {
				tcp_connected(w, c);
				pending--;
			}
		}
	}
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->fd >= 0 && !c->connected)
			tcp_fail(w, c, "connect", ETIMEDOUT);
	}
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

static void tcp_want_out(struct worker *w, struct tcp_conn *c, bool on)
{
	if (c->want_out == on)
		return;
	if (worker_watch(w, c->fd, c, on ? EPOLLIN | EPOLLOUT : EPOLLIN, true) < 0) {
		tcp_fail(w, c, "epoll_ctl", errno);
		return;
	}
	c->want_out = on;
}

/* Write what is made and not yet sent, until the socket is full. */
static void tcp_flush(struct worker *w, struct tcp_conn *c)
{
	const struct payload *pl = w->run->pl;
	size_t frame = pl->frame;

	while (c->send_seq < c->next_seq) {
		size_t len = 0, off = c->send_off;
		for (uint64_t s = c->send_seq; s < c->next_seq && len < WORKER_BUFFER; s++) {
			size_t part = frame - off;
			if (part > WORKER_BUFFER - len)
				part = WORKER_BUFFER - len;
			payload_fill(pl, c->id, s, off, off + part, w->buf + len);
			len += part;
			off = 0;
		}
		ssize_t n = send(c->fd, w->buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tcp_fail(w, c, "send", errno);
			return;
		}
		size_t pos = c->send_off + (size_t)n;
		c->send_seq += pos / frame;
		c->send_off = pos % frame;
		if ((size_t)n < len)
			break;
	}
	tcp_want_out(w, c, c->send_seq < c->next_seq);
}

/* Make new messages while the pipeline has room, then send them. */
static void tcp_fill(struct worker *w, struct tcp_conn *c)
{
	unsigned depth = w->run->o->depth;

	while (c->next_seq - c->recv_seq < depth && worker_take(w)) {
		c->sent_ns[c->next_seq % depth] = w->now;
		c->next_seq++;
	}
	if (c->send_seq < c->next_seq && !c->want_out)
		tcp_flush(w, c);
}

/* ---- receiving ----------------------------------------------------------- */

/* Check n received bytes against the stream; false if the connection had
 * to be closed. */
static bool tcp_absorb(struct worker *w, struct tcp_conn *c, const unsigned char *p, size_t n)
{
	const struct payload *pl = w->run->pl;
	unsigned depth = w->run->o->depth;

	while (n > 0) {
		if (c->recv_seq == c->send_seq && c->recv_off >= c->send_off) {
			/* More than was sent: not an echo. */
			w->counts.corrupt++;
			tcp_fail(w, c, "more data came back than was sent", 0);
			return false;
		}
		size_t part = pl->frame - c->recv_off;
		if (part > n)
			part = n;
		if (!c->bad && w->run->o->verify == VERIFY_BYTES) {
			size_t at = payload_check(pl, c->id, c->recv_seq, c->recv_off,
						  c->recv_off + part, p);
			if (at != PAYLOAD_NONE) {
				unsigned char want;
				payload_fill(pl, c->id, c->recv_seq, at, at + 1, &want);
				worker_tell(w,
					    "corrupt reply: connection %u, message %llu, byte %zu: "
					    "0x%02x instead of 0x%02x",
					    c->id, (unsigned long long)c->recv_seq, at,
					    p[at - c->recv_off], want);
				c->bad = true;
			}
		}
		p += part;
		n -= part;
		c->recv_off += part;
		if (c->recv_off == pl->frame) {
			if (c->bad)
				worker_corrupt(w);
			else
				worker_reply(w, c->sent_ns[c->recv_seq % depth]);
			c->bad = false;
			c->recv_seq++;
			c->recv_off = 0;
		}
	}
	return true;
}

static void tcp_read(struct worker *w, struct tcp_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, w->buf, WORKER_BUFFER, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tcp_fail(w, c, "recv", errno);
			return;
		}
		if (n == 0) {
			tcp_fail(w, c, "closed by the server", 0);
			return;
		}
		w->rx_ns = w->now;
		bool ok = tcp_by_frames(w->run->o)
				  ? tcp_absorb_frames(w, c, w->buf, (size_t)n)
				  : tcp_absorb(w, c, w->buf, (size_t)n);
		if (!ok)
			return;
		if ((size_t)n < WORKER_BUFFER)
			break; /* drained: spare the recv() that would say EAGAIN */
	}
	tcp_fill(w, c);
}

/* ---- the client ---------------------------------------------------------- */

static void tcp_start(struct worker *w)
{
	struct tcp_conn *conns = tcp_conns(w);

	for (unsigned i = 0; i < w->n_conns; i++)
		if (conns[i].fd >= 0)
			tcp_fill(w, &conns[i]);
}

static void tcp_event(struct worker *w, void *p, uint32_t events)
{
	struct tcp_conn *c = p;

	if (c->fd < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		tcp_read(w, c); /* reports the error, if any, after the data */
		if (c->fd < 0)
			return;
	}
	if (events & EPOLLOUT)
		tcp_flush(w, c);
}

static void tcp_tick(struct worker *w)
{
	w->wake = 0;
}

/* The server has been silent for --timeout: a reply begun and not
 * finished will not be.  It is short (corrupt), and the connection, whose
 * stream can no longer be followed, is given up without another error. */
static void tcp_stalled(struct worker *w)
{
	struct tcp_conn *conns = tcp_conns(w);
	const struct payload *pl = w->run->pl;
	bool frames = tcp_by_frames(w->run->o);

	for (unsigned i = 0; i < w->n_conns; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->fd < 0 || c->recv_off == 0)
			continue;
		uint64_t lost = c->next_seq - c->recv_seq;
		size_t want = frames && c->flen ? c->flen : pl->frame;
		worker_tell(w, "short reply: connection %u, message %llu: %zu of %zu bytes", c->id,
			    (unsigned long long)c->recv_seq, c->recv_off, want);
		if (frames && c->flen && !c->fmatch) {
			w->counts.corrupt++; /* an unsolicited frame cut short */
		} else {
			worker_corrupt(w);
			lost--;
		}
		w->in_flight -= lost;
		w->live--;
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void tcp_close(struct worker *w)
{
	struct tcp_conn *conns = tcp_conns(w);

	if (!conns)
		return;
	for (unsigned i = 0; i < w->n_conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns[0].sent_ns);
	free(conns);
	w->conns = NULL;
}

const struct client_ops tcp_client_ops = {
	.setup = tcp_setup,
	.start = tcp_start,
	.event = tcp_event,
	.tick = tcp_tick,
	.stalled = tcp_stalled,
	.close = tcp_close,
};
