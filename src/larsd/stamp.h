/*
 * stamp.h - mode "stamp": larsd as an RFC 8762 Session-Reflector.
 *
 * Stateless and unauthenticated (RFC 8762 §4.3, §4.3.1): each test packet
 * is turned into its reply in place, in the pool buffer it was read into,
 * so the reply is exactly as long as the request and the bytes past the
 * 44-byte base packet (RFC 8972 TLVs, padding) go back unchanged.  udp.c
 * calls stamp_reflect() for each accepted datagram of a batch and
 * stamp_transmit() for each reply just before the batch's sendmmsg(); the
 * wire layout itself is src/stamp/stamp_wire.h's.
 *
 * Each worker keeps a struct stamp_clock: the reflector's own Error
 * Estimate, read from the kernel (ntp_adjtime) at most once a second,
 * never per packet.
 */
#ifndef LARSD_STAMP_H
#define LARSD_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* Room for the control messages stamp_socket_setup() asks for: a
 * timestamp and the TTL or hop limit (both, on a dual-stack socket). */
#define STAMP_CONTROL_SIZE \
	(CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(int)) + \
	 CMSG_SPACE(sizeof(int)))

struct stamp_clock {
	uint16_t err;      /* Error Estimate with Z clear: S, scale, multiplier */
	uint64_t next_ms;  /* read the kernel's clock status again after */
};

/* Ask the kernel for what a reflector needs on a UDP socket: receive
 * timestamps (SO_TIMESTAMPNS) and the TTL / hop limit of each datagram.
 * -1 with errno if one cannot be had. */
int stamp_socket_setup(int fd);

/* Refresh c from ntp_adjtime() if now_ms (clock.h) is past c->next_ms. */
void stamp_clock_refresh(struct stamp_clock *c, uint64_t now_ms);

/* Turn the test packet in data (len bytes, as received with msg's control
 * messages) into its reply: T2 from the kernel's receive timestamp, or
 * *rx when the kernel gave none.  false, data untouched, if len is under
 * the 44-byte base packet. */
bool stamp_reflect(unsigned char *data, size_t len, const struct msghdr *msg,
		   const struct timespec *rx, const struct stamp_clock *c);

/* Write T3 into a reply made by stamp_reflect(). */
void stamp_transmit(unsigned char *data, const struct timespec *t3);

#endif /* LARSD_STAMP_H */
