/*
 * stamp.c - the STAMP Session-Reflector of mode "stamp" (see stamp.h).
 *
 * What the reply carries (RFC 8762 §4.3.1, §4.3.2, RFC 8972 §3):
 *  - sequence number: the sender's (stateless), or the session's own
 *    count (stateful);
 *  - T3 and T2: the transmit and receive times, CLOCK_REALTIME, in the
 *    sender's format (its Error Estimate's Z bit: NTP 64-bit or PTPv2
 *    truncated); T2 is the kernel's software receive timestamp;
 *  - the reflector's Error Estimate: S set only when the kernel says the
 *    clock is synchronised, scale and multiplier from its estimated error;
 *  - SSID, sender sequence, sender timestamp and sender error estimate:
 *    copied; sender TTL: the datagram's IPv4 TTL or IPv6 hop limit (0 if
 *    the kernel did not say);
 *  - authenticated: the HMAC over the bytes before it, signed after T3;
 *  - the TLVs that followed the request's base packet, turned into the
 *    reply's by stamp_tlv_reflect().
 */
#include "config.h"

#include "stamp.h"
#include "log.h"
#include "sockaddr.h"
#include "stamp_clock.h"
#include "stamp_tlv.h"
#include "stamp_wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define STAMP_CLOCK_REFRESH_MS 1000

int stamp_socket_setup(int fd)
{
	int one = 1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		return -1;
	/* A dual-stack IPv6 socket (systemd's BindIPv6Only=both) also gets
	 * IPv4 datagrams: ask for their TTL too. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0)
		return -1;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) < 0)
		return -1;
	if ((setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) < 0 ||
	     setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) < 0) &&
	    ss.ss_family == AF_INET)
		return -1;
	return 0;
}

void stamp_clock_refresh(struct stamp_clock *c, uint64_t now_ms)
{
	static _Atomic bool warned;

	if (now_ms < c->next_ms)
		return;
	c->next_ms = now_ms + STAMP_CLOCK_REFRESH_MS;
	if (stamp_clock_error(false, &c->err) < 0 && !atomic_exchange(&warned, true))
		log_warn("STAMP: cannot read the clock's status (ntp_adjtime: %s): replies say the clock is not synchronised",
			 strerror(errno));
}

/* What the control messages of a request say. */
struct stamp_rx {
	struct timespec t2; /* the kernel's receive timestamp */
	uint8_t ttl;        /* TTL or hop limit; 0: not said */
	uint8_t tos;        /* TOS or traffic class */
	bool have_local;    /* the datagram's destination (IP_PKTINFO) */
	unsigned char local[16];
};

static void stamp_control(const struct msghdr *msg, struct stamp_rx *rx)
{
	if (!msg->msg_control)
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		int v;
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&rx->t2, CMSG_DATA(cm), sizeof(rx->t2));
		} else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
			   (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			rx->ttl = (uint8_t)v;
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) {
			rx->tos = *CMSG_DATA(cm); /* one byte */
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			rx->tos = (uint8_t)v;
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in sin = {.sin_family = AF_INET};
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin.sin_addr = pi.ipi_addr;
			rx->have_local = sockaddr_addr16((struct sockaddr *)&sin, rx->local);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memcpy(rx->local, &pi.ipi6_addr, 16);
			rx->have_local = true;
		}
	}
}

/* The reflector's sequence number for a stateful listener's reply. */
static uint32_t stamp_session_seq(const struct stamp_port *sp, const struct msghdr *msg,
				  const struct stamp_rx *rx, uint16_t ssid, struct stats *st)
{
	struct stamp_session_key k;
	struct timespec now;
	unsigned ev;

	memset(&k, 0, sizeof(k));
	sockaddr_addr16(msg->msg_name, k.peer);
	k.peer_port = (uint16_t)sockaddr_port(msg->msg_name);
	if (rx->have_local)
		memcpy(k.local, rx->local, 16);
	else
		sockaddr_addr16((const struct sockaddr *)&sp->local, k.local);
	k.local_port = (uint16_t)sockaddr_port((const struct sockaddr *)&sp->local);
	k.ssid = ssid;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint32_t seq = stamp_sessions_next(sp->sessions, &k,
					   (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
					   sp->timeout_ns, &ev);
	stats_add(&st->stamp_sessions_new, (ev & STAMP_SESSION_NEW) != 0);
	stats_add(&st->stamp_sessions_expired, (ev & STAMP_SESSION_EXPIRED) != 0);
	stats_add(&st->stamp_sessions_evicted, (ev & STAMP_SESSION_EVICTED) != 0);
	return seq;
}

bool stamp_reflect(struct stamp_packet *pk, const struct stamp_port *sp,
		   const struct stamp_clock *c, const struct timespec *rx_time, struct stats *st)
{
	size_t base = stamp_base_len(sp->auth);
	struct stamp_sender s;
	struct stamp_rx rx = {.t2 = *rx_time};
	bool twamp_light = !sp->auth && pk->len < base;

	pk->dscp = -1;
	if (sp->auth && pk->len < base) {
		stats_add(&st->stamp_dropped_unauth, 1);
		return false;
	}
	if (sp->auth && !stamp_packet_check(&sp->hmac, pk->data)) {
		stats_add(&st->stamp_dropped_hmac, 1);
		return false;
	}
	if (twamp_light ? stamp_sender_parse_short(pk->data, pk->len, &s) < 0
			: stamp_sender_parse(pk->data, pk->len, sp->auth, &s) < 0)
		return false; /* cannot happen: udp.c checked the length */
	stamp_control(pk->msg, &rx);
	bool ptp = stamp_err_ptp(s.err);
	struct stamp_reflector r = {
		.seq = sp->stateful ? stamp_session_seq(sp, pk->msg, &rx, s.ssid, st) : s.seq,
		.ts = 0, /* T3: stamp_transmit() */
		.err = (uint16_t)(c->err | (ptp ? STAMP_ERR_Z : 0)),
		.ssid = s.ssid,
		.rx_ts = stamp_ts_from_timespec(&rx.t2, ptp),
		.sender_seq = s.seq,
		.sender_ts = s.ts,
		.sender_err = s.err,
		.sender_ttl = rx.ttl,
	};
	uint8_t req_seq[4];
	memcpy(req_seq, pk->data, sizeof(req_seq)); /* the sequence number leads both modes */
	stamp_reflector_encode(pk->data, sp->auth, &r);
	if (twamp_light) {
		stats_add(&st->stamp_replies_short, 1);
		pk->len = base; /* the base reply, however short the request */
		return true;
	}
	if (pk->len > base) {
		struct stamp_tlv_reflect t = {
			.rx_tos = rx.tos,
			.synced = stamp_err_synced(c->err),
			.hmac = sp->auth ? &sp->hmac : NULL,
			.req_seq = req_seq,
			.reply_seq = pk->data,
		};
		stamp_tlv_reflect(pk->data + base, pk->len - base, &t);
		pk->dscp = t.dscp;
		stats_add(&st->stamp_tlv_unknown, t.unknown);
		stats_add(&st->stamp_tlv_malformed, t.malformed);
		stats_add(&st->stamp_tlv_integrity, t.integrity_failed);
	}
	return true;
}

void stamp_transmit(unsigned char *data, const struct stamp_port *sp, const struct timespec *t3)
{
	stamp_reflector_put_tx(data, sp->auth, t3);
	if (sp->auth)
		stamp_packet_sign(&sp->hmac, data);
}
