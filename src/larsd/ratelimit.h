/*
 * ratelimit.h - per-source token buckets for UDP (udp_source_rate,
 * udp_source_burst in larsd.conf(5)).
 *
 * One table for the whole daemon, shared by every worker: the kernel
 * spreads a UDP listener's datagrams over the workers' SO_REUSEPORT
 * sockets by source address *and port*, so a per-worker table would let a
 * source that rotates its ports get `threads` times the rate.  The key is
 * the source address without the port (an IPv4-mapped IPv6 address counts
 * as its IPv4 address).
 *
 * Fixed memory whatever the number of sources: RATELIMIT_SETS sets of
 * RATELIMIT_WAYS buckets, each set under a tiny spin lock held for a few
 * instructions.  A source that is not in its set takes the set's stalest
 * bucket (the one least recently used) with a full burst.  The set comes
 * from SipHash-1-3 of the address under a key drawn from getrandom() at
 * start, so no outsider can pick addresses that share a set.
 *
 * The rate and burst are passed to each call (they come from the calling
 * worker's copy of the configuration), so a reload takes effect without
 * touching the table.  Called by udp.c for every datagram when
 * udp_source_rate is not 0; created and freed by main.c.
 */
#ifndef LARSD_RATELIMIT_H
#define LARSD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_SETS 2048u
#define RATELIMIT_WAYS 4u  /* 2048 x 4 = 8192 sources, 272 KiB */

struct ratelimit;

/* NULL with errno on failure (no memory). */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* May the source of sa send one more datagram at now_ns (a monotonic
 * clock)?  rate: datagrams per second, > 0; burst: bucket size, > 0. */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ns,
		     uint32_t rate, uint32_t burst);

#endif /* LARSD_RATELIMIT_H */
