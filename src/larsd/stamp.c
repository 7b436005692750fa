/*
 * stamp.c - the STAMP Session-Reflector of mode "stamp" (see stamp.h).
 *
 * What the reply carries (RFC 8762 §4.3.1, RFC 8972 §3):
 *  - sequence number: the sender's (stateless mode copies it);
 *  - T3 and T2: the transmit and receive times, CLOCK_REALTIME, in the
 *    sender's format (its Error Estimate's Z bit: NTP 64-bit or PTPv2
 *    truncated); T2 is the kernel's software receive timestamp;
 *  - the reflector's Error Estimate: S set only when the kernel says the
 *    clock is synchronised, scale and multiplier from its estimated error;
 *  - SSID, sender sequence, sender timestamp and sender error estimate:
 *    copied; sender TTL: the datagram's IPv4 TTL or IPv6 hop limit (0 if
 *    the kernel did not say).
 */
#include "config.h"

#include "stamp.h"
#include "log.h"
#include "stamp_clock.h"
#include "stamp_wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>

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
	if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) < 0 &&
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

/* The kernel's receive timestamp and the TTL, from msg's control data. */
static void stamp_control(const struct msghdr *msg, struct timespec *rx, uint8_t *ttl)
{
	if (!msg->msg_control)
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		int v;
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(rx, CMSG_DATA(cm), sizeof(*rx));
		} else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
			   (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			*ttl = (uint8_t)v;
		}
	}
}

bool stamp_reflect(unsigned char *data, size_t len, const struct msghdr *msg,
		   const struct timespec *rx, const struct stamp_clock *c)
{
	struct stamp_sender s;
	struct timespec t2 = *rx;
	uint8_t ttl = 0;

	if (stamp_sender_parse(data, len, &s) < 0)
		return false;
	stamp_control(msg, &t2, &ttl);
	bool ptp = stamp_err_ptp(s.err);
	struct stamp_reflector r = {
		.seq = s.seq,
		.ts = 0, /* T3: stamp_transmit() */
		.err = (uint16_t)(c->err | (ptp ? STAMP_ERR_Z : 0)),
		.ssid = s.ssid,
		.rx_ts = stamp_ts_from_timespec(&t2, ptp),
		.sender_seq = s.seq,
		.sender_ts = s.ts,
		.sender_err = s.err,
		.sender_ttl = ttl,
	};
	stamp_reflector_encode(data, &r);
	return true;
}

void stamp_transmit(unsigned char *data, const struct timespec *t3)
{
	stamp_reflector_put_tx(data, t3);
}
