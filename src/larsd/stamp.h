/*
 * stamp.h - mode "stamp": larsd as an RFC 8762 Session-Reflector.
 *
 * Each test packet is turned into its reply in place, in the pool buffer
 * it was read into (stamp_reflect()); udp.c calls it for each accepted
 * datagram of a batch, and stamp_transmit() for each reply just before
 * the batch's sendmmsg().  What a reply is, by what came:
 *   - a base packet (44 bytes, or 112 on an authenticated listener), and
 *     any RFC 8972 TLVs after it: a reply as long, its TLVs marked
 *     (stamp_tlv.h: U, M, I; Class of Service, Timestamp Information,
 *     HMAC);
 *   - a TWAMP-Light packet shorter than the base (at least its own 14
 *     bytes; RFC 8762 §4.6): the 44-byte base reply (unauthenticated
 *     listeners);
 *   - on an authenticated listener (authentication = "hmac-sha256"), a
 *     packet whose HMAC does not check, or a shorter one: no reply.
 * A stateful listener numbers its replies per session (stamp_sessions.h);
 * a stateless one copies the sender's sequence number.  The wire layouts
 * are src/stamp's.
 *
 * Each worker keeps a struct stamp_clock: the reflector's own Error
 * Estimate, read from the kernel (ntp_adjtime) at most once a second,
 * never per packet, and a struct stamp_port per STAMP listener.
 */
#ifndef LARSD_STAMP_H
#define LARSD_STAMP_H

#include "stamp_hmac.h"
#include "stamp_sessions.h"
#include "stats.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* Room for the control messages stamp_socket_setup() asks for: a
 * timestamp, the TTL or hop limit and the TOS or traffic class (each
 * twice, on a dual-stack socket). */
#define STAMP_CONTROL_SIZE                                                   \
	(CMSG_SPACE(sizeof(struct timespec)) + 2 * CMSG_SPACE(sizeof(int)) + \
	 2 * CMSG_SPACE(sizeof(int)))

struct stamp_clock {
	uint16_t err;      /* Error Estimate with Z clear: S, scale, multiplier */
	uint64_t next_ms;  /* read the kernel's clock status again after */
};

/* A STAMP listener as a worker serves it: its settings (from the worker's
 * copy of the configuration) and the daemon's session table. */
struct stamp_port {
	bool auth;
	struct stamp_hmac hmac;       /* auth: the listener's key */
	bool stateful;
	uint64_t timeout_ns;          /* stateful: session_timeout */
	struct stamp_sessions *sessions;
	struct sockaddr_storage local; /* the listener's address and port */
};

/* One request, in the buffer it was read into (cap bytes). */
struct stamp_packet {
	unsigned char *data;
	size_t len;                /* as received; the reply's, on return */
	size_t cap;
	const struct msghdr *msg;  /* its source, and its control messages */
	int dscp;                  /* out: the reply's DSCP (Class of Service
	                              TLV); -1: the socket's */
};

/* Ask the kernel for what a reflector needs on a UDP socket: receive
 * timestamps (SO_TIMESTAMPNS), and the TTL / hop limit and TOS / traffic
 * class of each datagram.  -1 with errno if one cannot be had. */
int stamp_socket_setup(int fd);

/* Refresh c from ntp_adjtime() if now_ms (clock.h) is past c->next_ms. */
void stamp_clock_refresh(struct stamp_clock *c, uint64_t now_ms);

/* Turn the request into its reply: T2 from the kernel's receive
 * timestamp, or *rx when the kernel gave none.  false: no reply, and why
 * is counted in st.  Counts the rest of what it saw there too. */
bool stamp_reflect(struct stamp_packet *pk, const struct stamp_port *sp,
		   const struct stamp_clock *c, const struct timespec *rx, struct stats *st);

/* Write T3 into a reply made by stamp_reflect() (and sign it, on an
 * authenticated listener). */
void stamp_transmit(unsigned char *data, const struct stamp_port *sp, const struct timespec *t3);

#endif /* LARSD_STAMP_H */
