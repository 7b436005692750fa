/*
 * udp.h - UDP echo and lars datagrams, batched with recvmmsg/sendmmsg.
 *
 * Every mode (echo, lars, stamp) goes through the reflection guard, the
 * allow-list and the per-source rate limit (ratelimit.h) before its own
 * checks.  Each worker owns one struct udp_batch, the room for one batch in flight;
 * each listener it serves keeps its own batch size (struct port), which
 * follows that listener's traffic.  The loop calls udp_on_listener().
 */
#ifndef LARSD_UDP_H
#define LARSD_UDP_H

#include "loop.h"
#include "stamp.h"

#include <bufpool.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Datagrams per recvmmsg()/sendmmsg(), at most. */
#define UDP_BATCH 16
/* Each datagram is read into a buffer of this size: the pool tier that
 * holds the largest datagram (65507 bytes). */
#define UDP_BUFFER_SIZE ((size_t)64 << 10)
/* Control data of one datagram. */
#define UDP_CONTROL_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + STAMP_CONTROL_SIZE)

struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec iov_in[UDP_BATCH];
	struct iovec iov_out[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	struct io_buf *buf[UDP_BATCH];
	/* IP_PKTINFO / IPV6_PKTINFO of wildcard listeners, and what STAMP
	 * listeners receive (stamp.h) */
	char control[UDP_BATCH][UDP_CONTROL_SIZE] __attribute__((aligned(8)));
};

/* Loop handler of a UDP listener (a struct port). */
void udp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events);

#endif /* LARSD_UDP_H */
