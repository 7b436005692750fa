/*
 * session_hist.h - the latency histograms of larsd's measuring sessions
 * (session.h): fixed buckets an operator can graph, and a finer one for
 * the percentiles larsctl shows.
 *
 * The exported buckets are fixed and the same for every session and every
 * larsd, so Prometheus can add them across hosts: upper bounds of 10 us
 * to 10 s in a 1-2-5 series (SESSION_HIST_BOUNDS_US), then +Inf.  The
 * control socket sends them as counts per bucket, not cumulative;
 * larsctl --prometheus makes them the cumulative _bucket{le=...} samples.
 *
 * The percentiles (p50, p90, p99) come from a finer log-linear histogram
 * beside it: 8 buckets per power of two from 1 us to 2^36 ns (about 69 s),
 * each reported as its middle, so within 1/16 (6.25 %) of the true
 * value; the minimum and maximum are exact.
 *
 * Values are nanoseconds.  No allocation, no locking: the measuring
 * thread records, the control thread reads under the sessions' lock.
 */
#ifndef LARSD_SESSION_HIST_H
#define LARSD_SESSION_HIST_H

#include <stdint.h>

/* The exported buckets' upper bounds, microseconds.  An interface
 * (larsd(8), larsctl(8), dashboards): add none, change none. */
#define SESSION_HIST_BOUNDS_US                                                    \
	10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, \
		200000, 500000, 1000000, 2000000, 5000000, 10000000
#define SESSION_HIST_BOUNDS 19
#define SESSION_HIST_BUCKETS (SESSION_HIST_BOUNDS + 1) /* and +Inf */

extern const uint32_t session_hist_bounds_us[SESSION_HIST_BOUNDS];

/* The fine histogram: values under 2^10 ns (1.024 us) in bucket 0, then
 * 8 per octave up to 2^36 ns; larger ones in the last. */
#define SESSION_FINE_SUB_BITS 3
#define SESSION_FINE_MIN_EXP 10
#define SESSION_FINE_MAX_EXP 36
#define SESSION_FINE_BUCKETS \
	(1 + ((SESSION_FINE_MAX_EXP - SESSION_FINE_MIN_EXP) << SESSION_FINE_SUB_BITS))

struct session_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns, max_ns;
	uint64_t bucket[SESSION_HIST_BUCKETS];   /* exported, not cumulative */
	uint32_t fine[SESSION_FINE_BUCKETS];
};

void session_hist_init(struct session_hist *h);
void session_hist_record(struct session_hist *h, uint64_t ns);

/* The value at or below which pct percent of the values lie (0 < pct <=
 * 100), the middle of its fine bucket clamped to [min, max]; 0 if empty. */
uint64_t session_hist_percentile(const struct session_hist *h, double pct);

#endif /* LARSD_SESSION_HIST_H */
