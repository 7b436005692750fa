/*
 * client_udp.c - the UDP client: echo or lars datagrams over N sockets.
 *
 * Each socket is connected to the server and keeps up to --depth
 * datagrams in flight, each in a slot that remembers its sequence number
 * and send time.  A reply names its message by the tag in its payload
 * (payload.h); it is checked byte for byte against that message and then:
 *
 *   - the message is in flight: a reply (latency recorded), slot freed;
 *   - the message was sent but is no longer in flight (timed out, or this
 *     is a duplicate): a late reply, counted but not an error;
 *   - anything else, or a byte that differs, or a wrong length: corrupt.
 *
 * That is --verify bytes.  With --verify frames or none (lars mode) a
 * datagram is a frame: one with another msgid is unsolicited (counted, not
 * an error), one whose header does not give its length is corrupt, and one
 * with the run's msgid answers the message its tag names if that one is in
 * flight, else the oldest in flight; under frames a body that differs is a
 * changed reply (an error), under none the body is not compared.  Echo
 * mode with --verify none checks the length only.
 *
 * A slot whose reply has not come within --timeout is a loss; the slot is
 * freed and the next datagram goes out, so losses are counted instead of
 * stalling the run.  All slots time out after the same delay, so the
 * worker only needs to wake at the earliest send time plus the timeout.
 *
 * Datagrams go out with sendmmsg() (one call for all a socket can send)
 * and come in with recvmmsg(), straight from the shared pattern through
 * two iovecs each: no copies of the payload on the way out.
 */
#include "config.h"

#include "client_udp.h"
#include "clock.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_RX_BYTES ((size_t)256 << 10) /* receive buffers per thread */

struct udp_slot {
	uint64_t seq;
	uint64_t sent_ns;
	bool busy;
};

struct udp_sock {
	int fd;
	uint32_t id;
	unsigned busy;        /* slots in use */
	uint64_t next_seq;
	struct udp_slot *slot; /* [depth] */
};

struct udp_state {
	uint64_t timeout_ns;
	size_t rx_size;        /* frame + 1: a longer datagram shows */
	unsigned rx_batch;
	unsigned char *rx;     /* rx_batch buffers of rx_size */
	struct mmsghdr rx_msg[WORKER_UDP_BATCH];
	struct iovec rx_iov[WORKER_UDP_BATCH];
	unsigned ntx;          /* datagrams queued for one socket */
	struct mmsghdr tx_msg[WORKER_UDP_BATCH];
	struct iovec tx_iov[WORKER_UDP_BATCH][2];
	unsigned char tx_head[WORKER_UDP_BATCH][PAYLOAD_HEAD_MAX];
};

static void udp_arm(struct worker *w, uint64_t deadline)
{
	if (w->wake == 0 || deadline < w->wake)
		w->wake = deadline;
}

static void udp_fail(struct worker *w, struct udp_sock *s, const char *what, int err)
{
	worker_conn_error(w, s->busy, "socket %u to %s: %s: %s", s->id, w->run->o->addr_text,
			  what, strerror(err));
	close(s->fd);
	s->fd = -1;
	s->busy = 0;
	memset(s->slot, 0, sizeof(*s->slot) * w->run->o->depth);
}

/* ---- setup ------------------------------------------------------------------ */

int udp_socket(struct worker *w, void *c, size_t bufsize, bool timestamps)
{
	const struct bench_opts *o = w->run->o;
	int size = bufsize > INT32_MAX / 2 ? INT32_MAX / 2 : (int)bufsize;
	int cur = 0, one = 1;
	socklen_t len = sizeof(cur);

	int fd = socket(o->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Room for a whole pipeline of replies (and requests); past the
	 * system's limit only with CAP_NET_ADMIN (the FORCE options). */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &len) == 0 && cur < size) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (timestamps)
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addr_len) < 0 ||
	    worker_watch(w, fd, c, EPOLLIN, false) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int udp_setup(struct worker *w)
{
	const struct bench_opts *o = w->run->o;
	const struct payload *pl = w->run->pl;
	struct udp_sock *socks = calloc(w->n_conns, sizeof(*socks));
	struct udp_slot *slots = calloc((size_t)w->n_conns * o->depth, sizeof(*slots));
	struct udp_state *u = calloc(1, sizeof(*u));

	if (!socks || !slots || !u)
		goto nomem;
	u->timeout_ns = (uint64_t)o->timeout_ms * NS_PER_MS;
	u->rx_size = pl->frame + 1;
	u->rx_batch = (unsigned)(UDP_RX_BYTES / u->rx_size);
	if (u->rx_batch > WORKER_UDP_BATCH)
		u->rx_batch = WORKER_UDP_BATCH;
	if (u->rx_batch < 1)
		u->rx_batch = 1;
	u->rx = malloc(u->rx_batch * u->rx_size);
	if (!u->rx)
		goto nomem;
	for (unsigned i = 0; i < u->rx_batch; i++) {
		u->rx_iov[i].iov_base = u->rx + i * u->rx_size;
		u->rx_iov[i].iov_len = u->rx_size;
		u->rx_msg[i].msg_hdr.msg_iov = &u->rx_iov[i];
		u->rx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	for (unsigned i = 0; i < WORKER_UDP_BATCH; i++) {
		u->tx_msg[i].msg_hdr.msg_iov = u->tx_iov[i];
		u->tx_iov[i][0].iov_base = u->tx_head[i];
		u->tx_iov[i][0].iov_len = pl->head;
		u->tx_iov[i][1].iov_len = pl->frame - pl->head;
	}
	w->conns = socks;
	w->client = u;

	for (unsigned i = 0; i < w->n_conns; i++) {
		struct udp_sock *s = &socks[i];
		s->id = w->first_conn + i;
		s->slot = slots + (size_t)i * o->depth;
		s->fd = udp_socket(w, s, (size_t)o->depth * (pl->frame + UDP_SKB_OVERHEAD), false);
		if (s->fd < 0)
			worker_conn_error(w, 0, "socket %u to %s: %s", s->id, o->addr_text,
					  strerror(errno));
	}
	return 0;

nomem:
	if (u)
		free(u->rx);
	free(u);
	free(slots);
	free(socks);
	errno = ENOMEM;
	return -1;
}

/* ---- sending --------------------------------------------------------------- */

/* Send the queued datagrams.  One the kernel refuses for want of room is
 * gone, and will be a loss when its time is up. */
static void udp_send(struct worker *w, struct udp_sock *s)
{
	struct udp_state *u = w->client;
	unsigned sent = 0;

	while (sent < u->ntx) {
		int n = sendmmsg(s->fd, u->tx_msg + sent, u->ntx - sent, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				udp_fail(w, s, "send", errno);
				break;
			}
			sent++; /* EAGAIN, ENOBUFS, ...: dropped here */
			continue;
		}
		sent += (unsigned)n;
	}
	u->ntx = 0;
}

static struct udp_slot *udp_free_slot(struct udp_sock *s, unsigned depth)
{
	/* In order, message seq sits in slot seq % depth: found at once. */
	for (unsigned i = 0, j = (unsigned)(s->next_seq % depth); i < depth; i++) {
		if (!s->slot[j].busy)
			return &s->slot[j];
		if (++j == depth)
			j = 0;
	}
	return NULL;
}

/* Send new datagrams while the socket has free slots. */
static void udp_fill(struct worker *w, struct udp_sock *s)
{
	const struct payload *pl = w->run->pl;
	struct udp_state *u = w->client;
	unsigned depth = w->run->o->depth;

	while (s->fd >= 0 && s->busy < depth && worker_take(w)) {
		struct udp_slot *slot = udp_free_slot(s, depth);
		uint64_t seq = s->next_seq++;
		slot->seq = seq;
		slot->sent_ns = w->now;
		slot->busy = true;
		s->busy++;

		struct msghdr *m = &u->tx_msg[u->ntx].msg_hdr;
		payload_head(pl, s->id, seq, u->tx_head[u->ntx]);
		u->tx_iov[u->ntx][1].iov_base = (void *)payload_tail(pl, s->id, seq);
		m->msg_iovlen = pl->frame > pl->head ? 2 : 1;
		if (++u->ntx == WORKER_UDP_BATCH)
			udp_send(w, s);
	}
	if (u->ntx > 0)
		udp_send(w, s);
	if (s->busy > 0)
		udp_arm(w, w->now + u->timeout_ns);
}

/* ---- receiving ----------------------------------------------------------- */

static struct udp_slot *udp_find(struct udp_sock *s, uint64_t seq, unsigned depth)
{
	struct udp_slot *slot = &s->slot[seq % depth];

	if (slot->busy && slot->seq == seq)
		return slot;
	for (unsigned i = 0; i < depth; i++)
		if (s->slot[i].busy && s->slot[i].seq == seq)
			return &s->slot[i];
	return NULL;
}

static void udp_release(struct udp_sock *s, struct udp_slot *slot)
{
	slot->busy = false;
	s->busy--;
}

/* The message a datagram's tag names, UINT64_MAX if none. */
static uint64_t udp_tagged(const struct payload *pl, const struct udp_sock *s,
			   const unsigned char *p, size_t len)
{
	if (len < pl->head || pl->size < PAYLOAD_TAG)
		return UINT64_MAX;
	/* The tag has the low 32 bits: the latest message that has them. */
	uint32_t back = (uint32_t)s->next_seq - payload_tag_seq(pl, p);
	return back >= 1 && back <= s->next_seq ? s->next_seq - back : UINT64_MAX;
}

/* The slot of the message the tag names if in flight, else the oldest in
 * flight; NULL if none is. */
static struct udp_slot *udp_match(const struct payload *pl, struct udp_sock *s,
				  const unsigned char *p, size_t len, unsigned depth)
{
	uint64_t seq = udp_tagged(pl, s, p, len);
	struct udp_slot *slot = seq != UINT64_MAX ? udp_find(s, seq, depth) : NULL;

	for (unsigned i = 0; !slot && i < depth; i++)
		if (s->slot[i].busy) {
			slot = &s->slot[i];
			for (unsigned j = i + 1; j < depth; j++)
				if (s->slot[j].busy && s->slot[j].seq < slot->seq)
					slot = &s->slot[j];
		}
	return slot;
}

/* --verify frames or none, and echo mode's none (see the top). */
static void udp_absorb_matched(struct worker *w, struct udp_sock *s, const unsigned char *p,
			       size_t len, bool trunc)
{
	const struct bench_opts *o = w->run->o;
	const struct payload *pl = w->run->pl;
	bool frames = o->mode == BENCH_LARS;

	if (frames && (trunc || len < LARS_HEADER_SIZE ||
		       (int64_t)lars_get32(p + 4) != (int64_t)(len - LARS_HEADER_SIZE))) {
		worker_tell(w, "corrupt reply: socket %u: %zu%s bytes, not a Lars frame", s->id, len,
			    trunc ? " or more" : "");
		w->counts.corrupt++;
		return;
	}
	if (frames && lars_get32(p) != o->msgid) {
		w->counts.unsolicited++;
		return;
	}
	struct udp_slot *slot = udp_match(pl, s, p, len, o->depth);
	if (!slot) {
		w->counts.late++;
		return;
	}
	if (!frames && (trunc || len != pl->frame)) {
		worker_tell(w, "corrupt reply: socket %u: %zu%s bytes instead of %zu", s->id, len,
			    trunc ? " or more" : "", pl->frame);
		worker_corrupt(w);
	} else if (o->verify == VERIFY_FRAMES &&
		   (len != pl->frame || payload_check(pl, s->id, slot->seq, 0, len, p) != PAYLOAD_NONE)) {
		worker_tell(w, "changed reply: socket %u, message %llu: another body", s->id,
			    (unsigned long long)slot->seq);
		worker_changed(w);
	} else {
		worker_reply(w, slot->sent_ns);
	}
	udp_release(s, slot);
}

/* One datagram of len bytes (trunc: it was longer). */
static void udp_absorb(struct worker *w, struct udp_sock *s, const unsigned char *p,
		       size_t len, bool trunc)
{
	const struct payload *pl = w->run->pl;
	unsigned depth = w->run->o->depth;
	uint64_t seq = udp_tagged(pl, s, p, len);
	struct udp_slot *slot = NULL;
	size_t at = 0;

	if (w->run->o->verify != VERIFY_BYTES) {
		udp_absorb_matched(w, s, p, len, trunc);
		return;
	}
	if (seq != UINT64_MAX) {
		slot = udp_find(s, seq, depth);
		if (!trunc && len == pl->frame) {
			at = payload_check(pl, s->id, seq, 0, len, p);
			if (at == PAYLOAD_NONE) {
				if (slot) {
					worker_reply(w, slot->sent_ns);
					udp_release(s, slot);
				} else {
					w->counts.late++;
				}
				return;
			}
		}
	}

	/* Corrupt.  If it still names a message in flight, that one is done. */
	if (trunc || len != pl->frame) {
		worker_tell(w, "corrupt reply: socket %u: %zu%s bytes instead of %zu", s->id, len,
			    trunc ? " or more" : "", pl->frame);
	} else if (seq == UINT64_MAX) {
		worker_tell(w, "corrupt reply: socket %u: not a message that was sent", s->id);
	} else {
		unsigned char want;
		payload_fill(pl, s->id, seq, at, at + 1, &want);
		worker_tell(w,
			    "corrupt reply: socket %u, message %llu, byte %zu: 0x%02x instead of "
			    "0x%02x",
			    s->id, (unsigned long long)seq, at, p[at], want);
	}
	if (slot) {
		worker_corrupt(w);
		udp_release(s, slot);
	} else {
		w->counts.corrupt++;
	}
}

static void udp_read(struct worker *w, struct udp_sock *s)
{
	struct udp_state *u = w->client;

	for (;;) {
		int n = recvmmsg(s->fd, u->rx_msg, u->rx_batch, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				udp_fail(w, s, "recv", errno);
			break;
		}
		for (int i = 0; i < n; i++)
			udp_absorb(w, s, u->rx + (size_t)i * u->rx_size, u->rx_msg[i].msg_len,
				   u->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC);
		if ((unsigned)n < u->rx_batch)
			break;
	}
	udp_fill(w, s);
}

/* ---- the client -------------------------------------------------------------- */

static void udp_start(struct worker *w)
{
	struct udp_sock *socks = w->conns;

	for (unsigned i = 0; i < w->n_conns; i++)
		udp_fill(w, &socks[i]);
}

static void udp_event(struct worker *w, void *p, uint32_t events)
{
	struct udp_sock *s = p;

	if (s->fd >= 0 && (events & (EPOLLIN | EPOLLERR)))
		udp_read(w, s);
}

/* Datagrams whose time is up are lost; their slots take new ones. */
static void udp_tick(struct worker *w)
{
	struct udp_sock *socks = w->conns;
	struct udp_state *u = w->client;
	unsigned depth = w->run->o->depth;

	w->wake = 0;
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct udp_sock *s = &socks[i];
		bool freed = false;
		if (s->fd < 0 || s->busy == 0)
			continue;
		for (unsigned k = 0; k < depth; k++) {
			struct udp_slot *slot = &s->slot[k];
			if (!slot->busy)
				continue;
			if (w->now - slot->sent_ns >= u->timeout_ns) {
				worker_loss(w, slot->sent_ns);
				udp_release(s, slot);
				freed = true;
			} else {
				udp_arm(w, slot->sent_ns + u->timeout_ns);
			}
		}
		if (freed)
			udp_fill(w, s);
	}
}

static void udp_close(struct worker *w)
{
	struct udp_sock *socks = w->conns;
	struct udp_state *u = w->client;

	if (socks) {
		for (unsigned i = 0; i < w->n_conns; i++)
			if (socks[i].fd >= 0)
				close(socks[i].fd);
		free(socks[0].slot);
		free(socks);
	}
	if (u)
		free(u->rx);
	free(u);
	w->conns = NULL;
	w->client = NULL;
}

const struct client_ops udp_client_ops = {
	.setup = udp_setup,
	.start = udp_start,
	.event = udp_event,
	.tick = udp_tick,
	.close = udp_close,
};
