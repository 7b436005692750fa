/*
 * udp.c - UDP echo, lars and STAMP datagrams (see udp.h).
 *
 * One readable event reads up to UDP_BATCH datagrams with one recvmmsg(),
 * drops what the guard, the allow-list, the per-source rate limit or the
 * mode's own rules refuse, turns STAMP test packets into their replies in
 * place (stamp.c), and sends the rest back with one sendmmsg().  Each
 * datagram lands in a pool buffer of UDP_BUFFER_SIZE; the buffers go back
 * to the pool once the batch is sent, through the worker's thread cache,
 * so a batch costs no locks (the rate limit's table takes a spin lock per
 * datagram, only while udp_source_rate is set; ratelimit.h).  Without
 * memory the datagrams are read and dropped, never queued.
 */
#include "config.h"

#include "udp.h"
#include "clock.h"
#include "dataplane.h"
#include "guard.h"
#include "lars.h"
#include "log.h"
#include "ratelimit.h"
#include "stamp.h"
#include "stamp_wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define UDP_BUDGET 8 /* batches per event, so one flood cannot starve the rest */

static struct log_limit nomem_limit = LOG_LIMIT_INIT(10000);

/* Turn the received destination address into the reply's source: keep
 * only the IP_PKTINFO / IPV6_PKTINFO message of what was received (a
 * STAMP socket also gets a timestamp and a TTL, which sendmsg() would
 * refuse or apply), moved to the front of control. */
static void udp_reply_from(struct msghdr *out, const struct msghdr *in, char *control)
{
	struct msghdr m = *in;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);
			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
		} else if (!(cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO)) {
			continue; /* IPV6_PKTINFO already names the address and interface */
		}
		size_t space = CMSG_SPACE(cm->cmsg_len - CMSG_LEN(0));
		if ((char *)cm != control)
			memmove(control, cm, cm->cmsg_len);
		out->msg_control = control;
		out->msg_controllen = space;
		return;
	}
}

/* A reply's DSCP (a STAMP Class of Service TLV asked for it): a TOS or
 * traffic class message after the reply's control messages. */
static void udp_reply_tos(struct msghdr *out, char *control, int family, int dscp)
{
	size_t at = out->msg_control ? out->msg_controllen : 0;
	struct cmsghdr *cm = (struct cmsghdr *)(void *)(control + at);
	int tos = dscp << 2;

	cm->cmsg_level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	cm->cmsg_type = family == AF_INET6 ? IPV6_TCLASS : IP_TOS;
	cm->cmsg_len = CMSG_LEN(sizeof(tos));
	memcpy(CMSG_DATA(cm), &tos, sizeof(tos));
	out->msg_control = control;
	out->msg_controllen = at + CMSG_SPACE(sizeof(tos));
}

/* Read and drop up to one batch: the pool has no memory for it. */
static int udp_drop_batch(struct dataplane *dp, struct port *p)
{
	struct mmsghdr msgs[UDP_BATCH];
	char sink[1];
	struct iovec iov = {sink, sizeof(sink)};

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < UDP_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	int n = recvmmsg(p->fd, msgs, UDP_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (n > 0) {
		dataplane_short_of_memory(dp);
		stats_add(&dp->stats->udp_dropped_nomem, (uint64_t)n);
		log_limited(&nomem_limit, LOG_WARNING,
			    "buffer pool at MEM_LIMIT (%zu bytes): dropping UDP datagrams",
			    bufpool_mem_limit(dp->pool));
	}
	return n;
}

/* Should this datagram be answered?  Counts the reason if not.  now_ns:
 * the batch's time for the rate limit (clock_ns()). */
static bool udp_accept(struct dataplane *dp, enum conf_mode mode, const struct sockaddr *peer,
		       const unsigned char *data, size_t len, uint64_t now_ns)
{
	if (guard_udp_port_blocked(dp->conf.blocked_ports, dp->conf.n_blocked_ports, peer)) {
		stats_add(&dp->stats->udp_dropped_guard, 1);
		return false;
	}
	if (!guard_client_allowed(dp->conf.allow, dp->conf.n_allow, peer)) {
		stats_add(&dp->stats->udp_dropped_allow, 1);
		return false;
	}
	if (dp->conf.udp_source_rate != 0 &&
	    !ratelimit_allow(dp->ratelimit, peer, now_ns, dp->conf.udp_source_rate,
			     dp->conf.udp_source_burst)) {
		stats_add(&dp->stats->udp_dropped_rate, 1);
		return false;
	}
	if (mode == CONF_MODE_STAMP && len < STAMP_TWAMP_LIGHT_MIN) {
		stats_add(&dp->stats->udp_dropped_short, 1);
		return false;
	}
	if (mode == CONF_MODE_LARS) {
		enum lars_status st = lars_check_datagram(data, len, dp->conf.max_message);
		if (st == LARS_TOO_LONG) {
			stats_add(&dp->stats->udp_dropped_oversize, 1);
			return false;
		}
		if (st == LARS_MALFORMED) {
			stats_add(&dp->stats->udp_dropped_malformed, 1);
			return false;
		}
	}
	return true;
}

static void udp_send(struct dataplane *dp, struct port *p, struct udp_batch *b, int nout)
{
	int sent = 0;

	while (sent < nout) {
		int n = sendmmsg(p->fd, b->out + sent, (unsigned)(nout - sent), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN or a peer-specific error: drop this one, go on. */
			stats_add(&dp->stats->udp_dropped_send, 1);
			sent++;
			continue;
		}
		uint64_t bytes = 0;
		for (int i = sent; i < sent + n; i++)
			bytes += b->out[i].msg_len;
		stats_add(&dp->stats->bytes_out, bytes); /* once a batch, not a datagram */
		stats_add(&p->stats.bytes_out, bytes);
		stats_add(&dp->stats->udp_replies, (uint64_t)n);
		stats_add(&p->stats.replies, (uint64_t)n);
		sent += n;
	}
}

/* One batch.  Returns the datagrams read; fewer than UDP_BATCH means the
 * socket is drained. */
static int udp_batch_once(struct dataplane *dp, struct port *p, int want)
{
	const struct listener *l = p->listener;
	enum conf_mode mode = l->mode;
	struct udp_batch *b = &dp->udp;
	bool stamp = mode == CONF_MODE_STAMP;
	bool control = l->pktinfo || stamp;
	int nbuf = 0;

	for (; nbuf < want; nbuf++) {
		b->buf[nbuf] = bufpool_alloc(dp->pool, UDP_BUFFER_SIZE);
		if (!b->buf[nbuf])
			break;
		b->iov_in[nbuf].iov_base = b->buf[nbuf]->data;
		b->iov_in[nbuf].iov_len = b->buf[nbuf]->capacity;
		memset(&b->in[nbuf].msg_hdr, 0, sizeof(b->in[nbuf].msg_hdr));
		b->in[nbuf].msg_hdr.msg_name = &b->peer[nbuf];
		b->in[nbuf].msg_hdr.msg_namelen = sizeof(b->peer[nbuf]);
		b->in[nbuf].msg_hdr.msg_iov = &b->iov_in[nbuf];
		b->in[nbuf].msg_hdr.msg_iovlen = 1;
		if (control) {
			b->in[nbuf].msg_hdr.msg_control = b->control[nbuf];
			b->in[nbuf].msg_hdr.msg_controllen = sizeof(b->control[nbuf]);
		}
	}
	if (nbuf == 0)
		return udp_drop_batch(dp, p);

	int n = recvmmsg(p->fd, b->in, (unsigned)nbuf, MSG_DONTWAIT, NULL);
	int nout = 0;
	uint64_t now_ns = n > 0 && dp->conf.udp_source_rate != 0 ? clock_ns() : 0;
	struct timespec rx = { 0, 0 }; /* STAMP's T2 where the kernel gave none */
	if (stamp && n > 0) {
		clock_gettime(CLOCK_REALTIME, &rx);
		stamp_clock_refresh(&dp->stamp, clock_ms());
	}
	for (int i = 0; i < n; i++) {
		size_t len = b->in[i].msg_len;
		unsigned char *data = (unsigned char *)b->buf[i]->data;
		const struct sockaddr *peer = (const struct sockaddr *)&b->peer[i];
		stats_add(&dp->stats->bytes_in, len);
		stats_add(&p->stats.bytes_in, len);
		if (!udp_accept(dp, mode, peer, data, len, now_ns))
			continue;
		struct stamp_packet pk = {data, len, b->buf[i]->capacity, &b->in[i].msg_hdr, -1};
		if (stamp && !stamp_reflect(&pk, &p->stamp, &dp->stamp, &rx, dp->stats))
			continue; /* an authenticated listener refused it (counted) */
		b->iov_out[nout].iov_base = b->buf[i]->data;
		b->iov_out[nout].iov_len = pk.len;
		memset(&b->out[nout].msg_hdr, 0, sizeof(b->out[nout].msg_hdr));
		b->out[nout].msg_hdr.msg_name = &b->peer[i];
		b->out[nout].msg_hdr.msg_namelen = b->in[i].msg_hdr.msg_namelen;
		b->out[nout].msg_hdr.msg_iov = &b->iov_out[nout];
		b->out[nout].msg_hdr.msg_iovlen = 1;
		if (l->pktinfo)
			udp_reply_from(&b->out[nout].msg_hdr, &b->in[i].msg_hdr, b->control[i]);
		if (pk.dscp >= 0)
			udp_reply_tos(&b->out[nout].msg_hdr, b->control[i], l->addr.ss_family, pk.dscp);
		nout++;
	}
	if (stamp && nout > 0) { /* T3: just before sending, once a batch */
		struct timespec t3;
		clock_gettime(CLOCK_REALTIME, &t3);
		for (int i = 0; i < nout; i++)
			stamp_transmit(b->iov_out[i].iov_base, &p->stamp, &t3);
	}
	if (nout > 0)
		udp_send(dp, p, b, nout);
	for (int i = nbuf - 1; i >= 0; i--)
		bufpool_revert(dp->pool, b->buf[i]);
	/* A short batch for want of buffers does not mean the socket is empty. */
	return n < nbuf ? (n < 0 ? 0 : n) : want;
}

/* The batch adapts to the listener's traffic: twice what the last read
 * brought, so a lone client costs two buffers per datagram and a flood
 * gets UDP_BATCH. */
void udp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct dataplane *dp = dataplane_of(loop);
	struct port *p = loop_container_of(h, struct port, handler);

	(void)events;
	for (int i = 0; i < UDP_BUDGET; i++) {
		int asked = (int)p->udp_want;
		int got = udp_batch_once(dp, p, asked);
		int next = got * 2;
		p->udp_want = (unsigned)(next < 2 ? 2 : next > UDP_BATCH ? UDP_BATCH : next);
		if (got < asked)
			return; /* drained */
	}
}
