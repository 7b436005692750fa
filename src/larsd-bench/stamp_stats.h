/*
 * stamp_stats.h - what the STAMP Session-Sender measures beyond the
 * round-trip time (which goes in the worker's latency histogram like any
 * other mode's): the reflector's residence time T3 - T2, the forward and
 * backward delays T2 - T1 and T4 - T3, their variation from one packet to
 * the next (IPDV, RFC 5481 §1.2: consecutive sequence numbers only),
 * duplicates and reordered replies, and what the reflector says of its
 * clock.
 *
 * Forward and backward delays mix the two hosts' clocks: they are true
 * delays only when the clocks are synchronised, and may be negative when
 * they are not; their IPDV is meaningful either way, since a constant
 * offset cancels.  They are kept in signed distributions.
 *
 * One struct per worker thread, written by client_stamp.c only; main()
 * merges them after the run and report.c prints the total.
 */
#ifndef LARSD_BENCH_STAMP_STATS_H
#define LARSD_BENCH_STAMP_STATS_H

#include "histogram.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A distribution of signed values: magnitudes of the negative ones and
 * the others in two histograms. */
struct sdist {
	struct histogram neg, pos;
	int64_t min, max;
};

struct stamp_stats {
	uint64_t duplicates;   /* a second reply to one packet */
	uint64_t reordered;    /* replies with a lower sequence number than one before */
	uint64_t peer_synced;  /* replies whose reflector said its clock is synchronised */
	uint64_t peer_ptp;     /* replies with PTPv2 timestamps (Z bit) */
	uint64_t peer_err_ns;  /* the largest Error Estimate a reflector gave */
	uint64_t ttl_min;      /* sender TTL / hop limit the reflector saw; 256: none */
	uint64_t ttl_max;
	uint64_t measured;     /* replies in these distributions */
	uint64_t icmp_errors;  /* ICMP errors (port unreachable ...) the sockets reported */
	uint64_t tlv_u, tlv_m, tlv_i; /* reply TLVs flagged unknown, malformed, integrity */
	uint64_t cos_replies;       /* replies with a Class of Service TLV */
	uint64_t cos_forward_kept;  /* ... that say the reflector got our DSCP */
	uint64_t cos_reverse_kept;  /* replies that came back in the DSCP asked for */
	uint64_t ts_info_replies;   /* replies with Timestamp Information */
	uint8_t ts_info_in, ts_info_out; /* the last: sync source << 4 | method */
	/* A stateful reflector's numbers (client_stamp.c), the whole run:
	 * packets up to the highest answered, how many reached the
	 * reflector, how many came back. */
	bool reflector_numbers;     /* some reply's number was the reflector's own */
	uint64_t split_sent, split_reached, split_answered;
	uint16_t own_err;      /* this host's Error Estimate, the latest sent */
	struct histogram residence; /* T3 - T2, ns */
	struct sdist forward;       /* T2 - T1 */
	struct sdist backward;      /* T4 - T3 */
	struct sdist ipdv_forward;
	struct sdist ipdv_backward;
};

void stamp_stats_init(struct stamp_stats *s);
void stamp_stats_merge(struct stamp_stats *dst, const struct stamp_stats *src);

void sdist_record(struct sdist *d, int64_t v);
/* pct in (0, 100]; 0 when empty. */
int64_t sdist_percentile(const struct sdist *d, double pct);

/* The STAMP lines of the text summary, and the members of the JSON
 * object (starting with a comma-free "\"stamp\":{...}"). */
void stamp_stats_text(FILE *f, const struct stamp_stats *s);
void stamp_stats_json(FILE *f, const struct stamp_stats *s);

#endif /* LARSD_BENCH_STAMP_STATS_H */
