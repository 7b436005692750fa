/*
 * stats.h - the daemon's counters.
 *
 * Each worker owns one struct stats and is its only writer (relaxed
 * stores, no locked instructions on the hot path); the main thread sums
 * them for STATUS= and SIGUSR1.
 */
#ifndef LARSD_STATS_H
#define LARSD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define STATS_FIELDS(X) \
	X(tcp_accepted, "TCP connections accepted") \
	X(tcp_refused_limit, "TCP connections refused at max_connections") \
	X(tcp_refused_allow, "TCP connections refused by the allow-list") \
	X(tcp_closed_idle, "TCP connections closed at idle_timeout") \
	X(tcp_closed_oversize, "TCP connections closed for a frame above max_message") \
	X(tcp_stalled_nomem, "TCP reads postponed at MEM_LIMIT") \
	X(tcp_closed_stuck, "TCP connections closed at MEM_LIMIT: peer not reading") \
	X(tcp_accept_empty, "TCP listener wake-ups that found no connection to accept") \
	X(tcp_replies, "TCP replies written (echo: reads echoed; lars: frames)") \
	X(bytes_in, "bytes received") \
	X(bytes_out, "bytes sent") \
	X(udp_replies, "UDP datagrams echoed") \
	X(udp_dropped_guard, "UDP datagrams dropped by the reflection guard") \
	X(udp_dropped_allow, "UDP datagrams dropped by the allow-list") \
	X(udp_dropped_oversize, "UDP datagrams dropped: frame above max_message") \
	X(udp_dropped_malformed, "UDP datagrams dropped: malformed lars frame") \
	X(udp_dropped_nomem, "UDP datagrams dropped at MEM_LIMIT") \
	X(udp_dropped_send, "UDP replies dropped: socket buffer full") \
	X(udp_dropped_rate, "UDP datagrams dropped: source above udp_source_rate") \
	X(udp_dropped_short, "UDP datagrams dropped: STAMP test packet under 14 bytes") \
	X(stamp_replies_short, "STAMP base replies to TWAMP-Light packets under 44 bytes") \
	X(stamp_dropped_unauth, "STAMP packets dropped: unauthenticated, on an authenticated listener") \
	X(stamp_dropped_hmac, "STAMP packets dropped: their HMAC did not check") \
	X(stamp_tlv_unknown, "STAMP TLVs reflected with U: a type larsd does not implement") \
	X(stamp_tlv_malformed, "STAMP TLVs reflected with M: malformed") \
	X(stamp_tlv_integrity, "STAMP replies whose TLVs failed their HMAC TLV (flagged I)") \
	X(stamp_sessions_new, "STAMP sessions begun by a stateful reflector") \
	X(stamp_sessions_expired, "STAMP sessions forgotten after session_timeout idle") \
	X(stamp_sessions_evicted, "STAMP sessions pushed out of a full table by a new one")

struct stats {
#define X(name, text) _Atomic uint64_t name;
	STATS_FIELDS(X)
#undef X
};

static inline void stats_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t stats_get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* dst += src, field by field. */
void stats_sum(struct stats *dst, struct stats *src);


#endif /* LARSD_STATS_H */
