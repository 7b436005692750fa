/*
 * client_stamp.c - the STAMP Session-Sender (RFC 8762, unauthenticated or
 * authenticated, with RFC 8972's SSID and TLVs, or TWAMP-Light): test
 * packets to any Session-Reflector over N connected UDP sockets, each
 * reply taken apart field by field.
 *
 * A packet is what stamp_packet.c builds: the base packet, the TLVs asked
 * for, zero padding up to --size.  T1, its timestamp, is CLOCK_REALTIME
 * read just before send();
 * T4 is the kernel's receive timestamp (SO_TIMESTAMPNS), or the clock
 * right after recvmmsg() if there is none.  From a reply:
 *   round trip  T4 - T1            the worker's latency histogram
 *   residence   T3 - T2            the reflector's own clock only
 *   forward     T2 - T1, backward T4 - T3: the two clocks mixed
 * and loss (no reply within --timeout), duplicates, reordering and IPDV
 * go to stamp_stats.c.
 *
 * Pacing: closed loop (--depth packets in flight per socket, the next one
 * sent when a reply or a loss frees a place), or --rate packets per second
 * shared by the sockets, each on its own schedule; a late wake-up sends
 * what is due at once, so the mean rate holds.
 *
 * Every packet sent has an entry in its socket's ring, indexed by sequence
 * number: its send times and the T1 it carried, so a reply is matched
 * exactly (its sender sequence, T1 and Error Estimate echoed), and a
 * second reply to it is a duplicate.  The ring holds at least what can be
 * in flight within --timeout at --rate; in a closed loop, a packet whose
 * entry is needed again before its timeout is counted lost then.
 * Entries time out in sending order, so losses are found from the oldest
 * entry forward, never by scanning the ring.
 *
 * A reply that does not parse, names no packet sent, or echoes another T1,
 * length or SSID is corrupt (an error), charged to its packet (the one it
 * names, else the oldest in flight), so the packet is not also lost; a
 * late reply (after its packet was counted lost) is late, as in UDP echo
 * mode.  An ICMP error (port unreachable while a reflector restarts) is
 * counted, and the socket goes on; the packets it ate are lost in their
 * time.
 *
 * A stateful reflector numbers its replies itself (RFC 8762 §4.3.1): from
 * the reply to the highest sequence number answered, the reflector's own
 * number says how many packets reached it, so the losses split into
 * forward (sent, never reached it) and backward (reached it, no reply).
 */
#include "config.h"

#include "client_udp.h"
#include "clock.h"
#include "stamp_clock.h"
#include "stamp_packet.h"
#include "stamp_stats.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define STAMP_RING_MIN 4096u
#define STAMP_RING_MAX (1u << 22)
#define STAMP_BURST 64           /* paced sends per socket per wake-up */
#define STAMP_ERR_REFRESH_NS NS_PER_S
#define STAMP_CTRL (CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(int)))
#define STAMP_RCVBUF_MAX ((size_t)16 << 20)

enum stamp_entry_state { ENTRY_FREE, ENTRY_FLIGHT, ENTRY_ANSWERED, ENTRY_LOST };

struct stamp_entry {
	uint64_t seq;
	uint64_t sent_ns;  /* CLOCK_MONOTONIC: timeout, measured window */
	int64_t t1_ns;     /* CLOCK_REALTIME */
	uint64_t t1_raw;   /* T1 as sent */
	uint16_t err;      /* Error Estimate as sent */
	uint8_t state;
};

struct stamp_sock {
	int fd;
	uint32_t id;
	unsigned busy;        /* entries in flight */
	uint64_t next_seq;
	uint64_t tail;        /* no entry before this one is in flight */
	uint64_t next_send;   /* --rate: when the next packet is due */
	bool paced_out;       /* --rate: nothing more may be sent */
	uint64_t rx_high;     /* highest sequence answered + 1; 0: none yet */
	uint64_t last_seq;    /* the last reply measured, for IPDV */
	int64_t last_fwd, last_bwd;
	bool have_last;
	/* The reflector's own numbers (a stateful one), over the whole run. */
	uint64_t answered;       /* good replies */
	bool top_set;
	uint32_t top_sender_seq; /* the highest sequence number answered */
	uint32_t top_reflector_seq; /* the reflector's number in that reply */
	struct stamp_entry *ring;
};

struct stamp_state {
	uint64_t timeout_ns;
	uint64_t interval_ns;  /* --rate: per socket; 0: closed loop */
	uint64_t ring_mask;
	uint16_t err;          /* this host's Error Estimate */
	uint64_t err_next;     /* when to read it again */
	struct stamp_spec spec; /* what a packet holds, and a reply must */
	size_t rx_size;        /* --size + 1: a longer reply shows */
	unsigned char *tx;     /* --size bytes */
	unsigned char *rx;     /* WORKER_UDP_BATCH buffers of rx_size */
	struct mmsghdr rx_msg[WORKER_UDP_BATCH];
	struct iovec rx_iov[WORKER_UDP_BATCH];
	union {
		char buf[STAMP_CTRL];
		struct cmsghdr align;
	} rx_ctrl[WORKER_UDP_BATCH];
};

static int64_t stamp_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * (int64_t)NS_PER_S + t->tv_nsec;
}

static void stamp_arm(struct worker *w, uint64_t at)
{
	if (w->wake == 0 || at < w->wake)
		w->wake = at;
}

static void stamp_fail(struct worker *w, struct stamp_sock *s, const char *what, int err)
{
	worker_conn_error(w, s->busy, "socket %u to %s: %s: %s", s->id, w->run->o->addr_text,
			  what, strerror(err));
	close(s->fd);
	s->fd = -1;
	s->busy = 0;
}

/* ---- setup --------------------------------------------------------------- */

/* --dscp: the test packets go out with it; and with every --tlv, the TOS
 * or traffic class of each reply is read (what a Class of Service TLV
 * asked for the way back). */
static void stamp_socket_tos(int fd, const struct bench_opts *o)
{
	int one = 1, tos = o->dscp >= 0 ? o->dscp << 2 : 0; /* -1: not asked */
	bool v6 = o->addr.ss_family == AF_INET6;

	if (o->dscp >= 0)
		setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS, &tos,
			   sizeof(tos));
	setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVTCLASS : IP_RECVTOS, &one,
		   sizeof(one));
}

static size_t stamp_ring_size(const struct bench_opts *o)
{
	double want = 2.0 * o->depth;

	if (o->rate > 0) /* in flight within a timeout, twice over */
		want = 2.0 * o->rate / o->connections * o->timeout_ms / 1000.0 + 64;
	size_t n = STAMP_RING_MIN;
	while (n < want && n < STAMP_RING_MAX)
		n <<= 1;
	return n;
}

static int stamp_setup(struct worker *w)
{
	const struct bench_opts *o = w->run->o;
	size_t ring = stamp_ring_size(o);
	struct stamp_sock *socks = calloc(w->n_conns, sizeof(*socks));
	struct stamp_entry *entries = calloc((size_t)w->n_conns * ring, sizeof(*entries));
	struct stamp_state *u = calloc(1, sizeof(*u));

	if (!socks || !entries || !u)
		goto nomem;
	stamp_spec_init(&u->spec, o);
	u->rx_size = (o->size > u->spec.reply_len ? o->size : u->spec.reply_len) + 1;
	u->tx = calloc(1, o->size);
	u->rx = malloc(WORKER_UDP_BATCH * u->rx_size);
	if (!u->tx || !u->rx)
		goto nomem;
	u->timeout_ns = (uint64_t)o->timeout_ms * NS_PER_MS;
	u->ring_mask = ring - 1;
	if (o->rate > 0) {
		u->interval_ns = (uint64_t)((double)o->connections * 1e9 / o->rate);
		if (u->interval_ns == 0)
			u->interval_ns = 1;
		prctl(PR_SET_TIMERSLACK, 1UL); /* wake-ups on time, not 50 us late */
	}
	for (unsigned i = 0; i < WORKER_UDP_BATCH; i++) {
		u->rx_iov[i].iov_base = u->rx + i * u->rx_size;
		u->rx_iov[i].iov_len = u->rx_size;
		u->rx_msg[i].msg_hdr.msg_iov = &u->rx_iov[i];
		u->rx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	stamp_clock_error(o->ptp, &u->err);
	w->stamp->own_err = u->err;
	w->conns = socks;
	w->client = u;

	for (unsigned i = 0; i < w->n_conns; i++) {
		struct stamp_sock *s = &socks[i];
		s->id = w->first_conn + i;
		s->ring = entries + (size_t)i * ring;
		/* Room for what may be in flight (capped); T4 from the kernel. */
		size_t room = ring * (o->size + UDP_SKB_OVERHEAD);
		s->fd = udp_socket(w, s, room < STAMP_RCVBUF_MAX ? room : STAMP_RCVBUF_MAX, true);
		if (s->fd < 0)
			worker_conn_error(w, 0, "socket %u to %s: %s", s->id, o->addr_text,
					  strerror(errno));
		else
			stamp_socket_tos(s->fd, o);
	}
	return 0;

nomem:
	if (u) {
		free(u->tx);
		free(u->rx);
	}
	free(u);
	free(entries);
	free(socks);
	errno = ENOMEM;
	return -1;
}

/* ---- sending ------------------------------------------------------------- */

/* Send the next packet if one may be sent; false if not. */
static bool stamp_send(struct worker *w, struct stamp_sock *s)
{
	const struct bench_opts *o = w->run->o;
	struct stamp_state *u = w->client;

	if (s->fd < 0 || !worker_take(w))
		return false;
	uint64_t seq = s->next_seq++;
	struct stamp_entry *e = &s->ring[seq & u->ring_mask];
	if (e->state == ENTRY_FLIGHT) { /* the ring came round: lost by now */
		worker_loss(w, e->sent_ns);
		s->busy--;
	}
	if (w->now >= u->err_next) {
		stamp_clock_error(o->ptp, &u->err);
		w->stamp->own_err = u->err;
		u->err_next = w->now + STAMP_ERR_REFRESH_NS;
	}

	struct timespec t1;
	clock_gettime(CLOCK_REALTIME, &t1);
	uint64_t t1_raw = stamp_ts_from_timespec(&t1, o->ptp);
	stamp_request(&u->spec, u->tx, (uint32_t)seq, t1_raw, u->err);
	*e = (struct stamp_entry){seq, w->now, stamp_ns(&t1), t1_raw, u->err, ENTRY_FLIGHT};
	s->busy++;
	for (;;) {
		if (send(s->fd, u->tx, o->size, MSG_DONTWAIT) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
			w->stamp->icmp_errors++; /* an earlier packet's ICMP error */
		break; /* and EAGAIN, ENOBUFS: dropped here, a loss in its time */
	}
	stamp_arm(w, w->now + u->timeout_ns);
	return true;
}

/* Closed loop: fill the places free; paced: send what is due. */
static void stamp_fill(struct worker *w, struct stamp_sock *s)
{
	struct stamp_state *u = w->client;

	if (!u->interval_ns) {
		while (s->busy < w->run->o->depth && stamp_send(w, s))
			;
		return;
	}
	if (s->paced_out)
		return;
	for (unsigned k = 0; k < STAMP_BURST && s->next_send <= w->now; k++) {
		if (!stamp_send(w, s)) {
			s->paced_out = true;
			return;
		}
		s->next_send += u->interval_ns;
	}
	stamp_arm(w, s->next_send);
}

/* ---- receiving ----------------------------------------------------------- */

/* The reply's T4 (the kernel's receive timestamp, else fallback) and its
 * TOS or traffic class (-1: not said). */
static int64_t stamp_t4(const struct msghdr *m, int64_t fallback, int *tos)
{
	int64_t t4 = fallback;

	*tos = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec t;
			memcpy(&t, CMSG_DATA(c), sizeof(t));
			t4 = stamp_ns(&t);
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
			*tos = *CMSG_DATA(c);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
			memcpy(tos, CMSG_DATA(c), sizeof(*tos));
		}
	}
	return t4;
}

/* A raw timestamp from the reflector in nanoseconds of its CLOCK_REALTIME. */
static bool stamp_peer_ns(uint64_t raw, bool ptp, int64_t *out)
{
	struct timespec t;

	if (stamp_ts_to_timespec(raw, ptp, &t) < 0)
		return false;
	*out = stamp_ns(&t);
	return true;
}

/* The measurements of a good reply to packet seq, sent in the window. */
static void stamp_measure(struct worker *w, struct stamp_sock *s, uint64_t seq,
			  const struct stamp_reflector *r, int64_t t1, int64_t t2, int64_t t3,
			  int64_t t4)
{
	struct stamp_stats *st = w->stamp;
	int64_t fwd = t2 - t1, bwd = t4 - t3;
	int64_t res = stamp_ts_diff_ns(r->rx_ts, r->ts, stamp_err_ptp(r->err));

	st->measured++;
	hist_record(&st->residence, res > 0 ? (uint64_t)res : 0);
	sdist_record(&st->forward, fwd);
	sdist_record(&st->backward, bwd);
	if (s->have_last && seq == s->last_seq + 1) {
		sdist_record(&st->ipdv_forward, fwd - s->last_fwd);
		sdist_record(&st->ipdv_backward, bwd - s->last_bwd);
	}
	s->have_last = true;
	s->last_seq = seq;
	s->last_fwd = fwd;
	s->last_bwd = bwd;
	st->peer_synced += stamp_err_synced(r->err);
	st->peer_ptp += stamp_err_ptp(r->err);
	if (stamp_err_ns(r->err) > st->peer_err_ns)
		st->peer_err_ns = stamp_err_ns(r->err);
	if (r->sender_ttl) {
		if (r->sender_ttl < st->ttl_min)
			st->ttl_min = r->sender_ttl;
		if (r->sender_ttl > st->ttl_max)
			st->ttl_max = r->sender_ttl;
	}
}

/* Does the reply echo the T1 that packet e carried?  To the nanosecond:
 * a reflector that converts the timestamp and back (scapy's NTP fields go
 * through decimal seconds) may change the last bits of an NTP fraction. */
static bool stamp_same_t1(const struct stamp_entry *e, const struct stamp_reflector *r, bool ptp)
{
	int64_t d = stamp_ts_diff_ns(e->t1_raw, r->sender_ts, ptp);

	return d >= -1 && d <= 1;
}

/* The entry of the packet a reply names (sender sequence seq), if it is
 * one of the packets the ring still holds. */
static struct stamp_entry *stamp_entry_of(struct stamp_state *u, struct stamp_sock *s, uint32_t seq)
{
	uint32_t back = (uint32_t)s->next_seq - seq;

	if (back < 1 || back > s->next_seq || back > u->ring_mask + 1)
		return NULL;
	struct stamp_entry *e = &s->ring[(s->next_seq - back) & u->ring_mask];
	return e->seq == s->next_seq - back && e->state != ENTRY_FREE ? e : NULL;
}

/* A corrupt reply: charged to the packet it names or, if it names none
 * or one already answered (the bytes of a non-STAMP reply that name
 * packet 0 every time), to the oldest in flight, so that no packet is
 * both corrupt and lost. */
static void stamp_corrupt(struct worker *w, struct stamp_sock *s, struct stamp_entry *e)
{
	struct stamp_state *u = w->client;

	if (e && e->state == ENTRY_ANSWERED)
		e = NULL;
	for (uint64_t q = s->tail; !e && q < s->next_seq; q++) {
		struct stamp_entry *o = &s->ring[q & u->ring_mask];
		if (o->seq == q && o->state == ENTRY_FLIGHT)
			e = o;
	}
	if (e && e->state == ENTRY_FLIGHT) {
		worker_corrupt(w);
		s->busy--;
		e->state = ENTRY_ANSWERED;
	} else {
		w->counts.corrupt++; /* late (its packet was lost), or none in flight */
	}
}

/* What the TLVs of a good reply said. */
static void stamp_tlv_stats(struct worker *w, const struct stamp_reply *rp, int tos)
{
	const struct bench_opts *o = w->run->o;
	struct stamp_stats *st = w->stamp;

	st->tlv_u += rp->tlv_u;
	st->tlv_m += rp->tlv_m;
	st->tlv_i += rp->tlv_i;
	if (o->tlvs & OPTS_TLV_COS) {
		st->cos_replies += rp->cos;
		st->cos_forward_kept += rp->cos && (int)rp->cos_value.dscp2 == o->dscp;
		st->cos_reverse_kept += tos >= 0 && tos >> 2 == o->dscp;
	}
	if (rp->timestamp_info) {
		st->ts_info_replies++;
		st->ts_info_in = (uint8_t)(rp->sync_in << 4 | rp->method_in);
		st->ts_info_out = (uint8_t)(rp->sync_out << 4 | rp->method_out);
	}
}

/* --verify none: a reply of the right length counts, named by its first
 * four bytes, which an echo service and a stateless reflector both send
 * back as they came (the load, the same for both, is what is compared). */
static void stamp_absorb_unread(struct worker *w, struct stamp_sock *s, const unsigned char *p,
				size_t len, bool trunc, int64_t t4)
{
	struct stamp_state *u = w->client;
	struct stamp_entry *e = len >= 4 ? stamp_entry_of(u, s, (uint32_t)p[0] << 24 |
								 (uint32_t)p[1] << 16 |
								 (uint32_t)p[2] << 8 | p[3])
					 : NULL;

	if (trunc || len != u->spec.reply_len) {
		worker_tell(w, "corrupt reply: socket %u: %zu%s bytes instead of %zu", s->id, len,
			    trunc ? " or more" : "", u->spec.reply_len);
		stamp_corrupt(w, s, e);
		return;
	}
	if (!e || e->state == ENTRY_ANSWERED) {
		w->counts.late++; /* or a duplicate: not read, not told apart */
		return;
	}
	if (e->state == ENTRY_LOST) {
		w->counts.late++;
		e->state = ENTRY_ANSWERED;
		return;
	}
	e->state = ENTRY_ANSWERED;
	s->busy--;
	s->answered++;
	worker_reply_took(w, e->sent_ns, t4 > e->t1_ns ? (uint64_t)(t4 - e->t1_ns) : 0);
}

/* One reply of len bytes (trunc: it was longer), received at t4 with tos. */
static void stamp_absorb(struct worker *w, struct stamp_sock *s, const unsigned char *p,
			 size_t len, bool trunc, int64_t t4, int tos)
{
	const struct bench_opts *o = w->run->o;
	struct stamp_state *u = w->client;
	struct stamp_reply rp;
	struct stamp_entry *e = NULL;
	int64_t t2 = 0, t3 = 0;
	if (o->verify == VERIFY_NONE) {
		stamp_absorb_unread(w, s, p, len, trunc, t4);
		return;
	}
	const char *broken = trunc ? "is longer than any reply" : stamp_reply_read(&u->spec, p, len, &rp);

	if (broken) {
		uint32_t named;
		if (!trunc && stamp_reply_sender_seq(&u->spec, p, len, &named))
			e = stamp_entry_of(u, s, named);
		worker_tell(w, "corrupt reply: socket %u: %zu bytes: %s", s->id, len, broken);
		stamp_corrupt(w, s, e);
		return;
	}
	const struct stamp_reflector *r = &rp.r;
	e = stamp_entry_of(u, s, r->sender_seq);
	bool strict_ssid = (o->tlvs & OPTS_TLV_SSID) || o->auth;
	const char *why = !e                                     ? "names no packet sent"
			  : !stamp_same_t1(e, r, o->ptp)         ? "echoes another T1"
			  : r->sender_err != e->err              ? "echoes another error estimate"
			  : r->ssid != (o->twamp_light ? 0 : o->ssid) && (strict_ssid || r->ssid != 0)
				  ? "carries another SSID"
			  : !stamp_peer_ns(r->rx_ts, stamp_err_ptp(r->err), &t2) ||
					  !stamp_peer_ns(r->ts, stamp_err_ptp(r->err), &t3)
				  ? "has a timestamp out of range"
				  : NULL;
	if (why) {
		worker_tell(w, "corrupt reply: socket %u, sender sequence %lu: %s", s->id,
			    (unsigned long)r->sender_seq, why);
		stamp_corrupt(w, s, e);
		return;
	}
	switch (e->state) {
	case ENTRY_ANSWERED:
		w->stamp->duplicates++;
		return;
	case ENTRY_LOST:
		w->counts.late++;
		e->state = ENTRY_ANSWERED;
		return;
	default:
		break;
	}
	e->state = ENTRY_ANSWERED;
	s->busy--;
	s->answered++;
	if (!s->top_set || e->seq >= s->top_sender_seq) {
		s->top_set = true;
		s->top_sender_seq = (uint32_t)e->seq;
		s->top_reflector_seq = r->seq;
	}
	if (r->seq != r->sender_seq)
		w->stamp->reflector_numbers = true;
	worker_reply_took(w, e->sent_ns, t4 > e->t1_ns ? (uint64_t)(t4 - e->t1_ns) : 0);
	stamp_tlv_stats(w, &rp, tos);
	if (e->sent_ns < w->run->t_measure)
		return;
	if (s->rx_high > e->seq + 1)
		w->stamp->reordered++;
	else
		s->rx_high = e->seq + 1;
	stamp_measure(w, s, e->seq, r, e->t1_ns, t2, t3, t4);
}

static void stamp_read(struct worker *w, struct stamp_sock *s)
{
	struct stamp_state *u = w->client;

	for (;;) {
		for (unsigned i = 0; i < WORKER_UDP_BATCH; i++) {
			u->rx_msg[i].msg_hdr.msg_control = u->rx_ctrl[i].buf;
			u->rx_msg[i].msg_hdr.msg_controllen = sizeof(u->rx_ctrl[i].buf);
		}
		int n = recvmmsg(s->fd, u->rx_msg, WORKER_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
				w->stamp->icmp_errors++; /* the reflector is away: go on */
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				stamp_fail(w, s, "recv", errno);
			break;
		}
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		for (int i = 0; i < n; i++) {
			const struct msghdr *m = &u->rx_msg[i].msg_hdr;
			int tos;
			int64_t t4 = stamp_t4(m, stamp_ns(&now), &tos);
			stamp_absorb(w, s, u->rx + (size_t)i * u->rx_size, u->rx_msg[i].msg_len,
				     m->msg_flags & MSG_TRUNC, t4, tos);
		}
		if (n < WORKER_UDP_BATCH)
			break;
	}
	stamp_fill(w, s);
}

/* ---- the client ---------------------------------------------------------- */

static void stamp_start(struct worker *w)
{
	struct stamp_sock *socks = w->conns;
	struct stamp_state *u = w->client;

	for (unsigned i = 0; i < w->n_conns; i++) {
		/* Paced sockets start spread over one interval. */
		socks[i].next_send = w->now + (uint64_t)((double)u->interval_ns * socks[i].id /
							  w->run->o->connections);
		stamp_fill(w, &socks[i]);
	}
}

static void stamp_event(struct worker *w, void *p, uint32_t events)
{
	struct stamp_sock *s = p;

	if (s->fd >= 0 && (events & (EPOLLIN | EPOLLERR)))
		stamp_read(w, s);
}

/* Losses, oldest first, then what is due. */
static void stamp_tick(struct worker *w)
{
	struct stamp_sock *socks = w->conns;
	struct stamp_state *u = w->client;

	w->wake = 0;
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct stamp_sock *s = &socks[i];
		if (s->fd < 0)
			continue;
		for (; s->tail < s->next_seq; s->tail++) {
			struct stamp_entry *e = &s->ring[s->tail & u->ring_mask];
			if (e->seq != s->tail || e->state != ENTRY_FLIGHT)
				continue;
			if (w->now - e->sent_ns < u->timeout_ns) {
				stamp_arm(w, e->sent_ns + u->timeout_ns);
				break;
			}
			worker_loss(w, e->sent_ns);
			e->state = ENTRY_LOST;
			s->busy--;
		}
		stamp_fill(w, s);
	}
}

/* Forward and backward losses, from a stateful reflector's numbers: the
 * reply to the highest packet answered says how many had reached it. */
static void stamp_split_losses(struct worker *w, const struct stamp_sock *s)
{
	struct stamp_stats *st = w->stamp;

	if (!s->top_set)
		return;
	uint64_t reached = (uint64_t)s->top_reflector_seq + 1;
	uint64_t sent = (uint64_t)s->top_sender_seq + 1;
	st->split_sent += sent;
	st->split_reached += reached < sent ? reached : sent;
	st->split_answered += s->answered < reached ? s->answered : reached;
}

static void stamp_close(struct worker *w)
{
	struct stamp_sock *socks = w->conns;
	struct stamp_state *u = w->client;

	if (socks) {
		for (unsigned i = 0; i < w->n_conns; i++) {
			stamp_split_losses(w, &socks[i]);
			if (socks[i].fd >= 0)
				close(socks[i].fd);
		}
		free(socks[0].ring);
		free(socks);
	}
	if (u) {
		free(u->tx);
		free(u->rx);
	}
	free(u);
	w->conns = NULL;
	w->client = NULL;
}

const struct client_ops stamp_client_ops = {
	.setup = stamp_setup,
	.start = stamp_start,
	.event = stamp_event,
	.tick = stamp_tick,
	.stalled = NULL,
	.close = stamp_close,
};
