/*
 * histogram.h - latency histogram with log-linear buckets (HdrHistogram's
 * idea, in nanoseconds).
 *
 * Values below 256 ns have a bucket each.  Above, every power of two
 * [2^e, 2^(e+1)) is cut into 128 equal buckets, so a bucket is at most
 * 1/128 of its values wide and a percentile, reported as the middle of its
 * bucket, is within 0.4 % of the true value.  Values up to 2^41 ns (about
 * 36 minutes) are kept; larger ones land in the last bucket.  The exact
 * minimum, maximum and sum are kept besides.
 *
 * Recording is a few instructions and no allocation; two histograms merge
 * by adding their buckets, so each thread keeps its own and the totals are
 * merged at the end.  Percentiles walk the buckets: O(buckets), no sorting.
 */
#ifndef LARSD_BENCH_HISTOGRAM_H
#define LARSD_BENCH_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 7                          /* 128 buckets per octave */
#define HIST_LINEAR (UINT64_C(2) << HIST_SUB_BITS) /* 0..255: exact */
#define HIST_MAX_EXP 40                          /* last octave: [2^40, 2^41) */
#define HIST_BUCKETS \
	(HIST_LINEAR + ((uint64_t)(HIST_MAX_EXP - HIST_SUB_BITS) << HIST_SUB_BITS))

struct histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct histogram *h);

/* Record one value (nanoseconds). */
void hist_record(struct histogram *h, uint64_t v);

/* Add src to dst. */
void hist_merge(struct histogram *dst, const struct histogram *src);

/* The value below or at which pct percent of the values lie (0 < pct <=
 * 100), within a bucket's precision and clamped to [min, max]; 0 when
 * empty. */
uint64_t hist_percentile(const struct histogram *h, double pct);

/* The mean, 0 when empty. */
double hist_mean(const struct histogram *h);

#endif /* LARSD_BENCH_HISTOGRAM_H */
