/*
 * histogram.c - log-linear latency histogram (see histogram.h).
 */
#include "config.h"

#include "histogram.h"

#include <string.h>

/* Index of v's bucket. */
static uint64_t hist_index(uint64_t v)
{
	if (v < HIST_LINEAR)
		return v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 2^e <= v, e >= 8 */
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	uint64_t sub = (v >> (e - HIST_SUB_BITS)) & ((UINT64_C(1) << HIST_SUB_BITS) - 1);
	return HIST_LINEAR + ((uint64_t)(e - HIST_SUB_BITS - 1) << HIST_SUB_BITS) + sub;
}

/* The middle of bucket i. */
static uint64_t hist_value(uint64_t i)
{
	if (i < HIST_LINEAR)
		return i;
	uint64_t k = i - HIST_LINEAR;
	unsigned e = (unsigned)(k >> HIST_SUB_BITS) + HIST_SUB_BITS + 1;
	uint64_t sub = k & ((UINT64_C(1) << HIST_SUB_BITS) - 1);
	uint64_t width = UINT64_C(1) << (e - HIST_SUB_BITS);
	uint64_t low = ((UINT64_C(1) << HIST_SUB_BITS) + sub) * width;
	return low + width / 2;
}

void hist_init(struct histogram *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(struct histogram *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct histogram *dst, const struct histogram *src)
{
	if (src->count == 0)
		return;
	for (uint64_t i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct histogram *h, double pct)
{
	if (h->count == 0)
		return 0;
	if (pct >= 100.0)
		return h->max;
	double want = pct / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++; /* the smallest rank covering pct percent */
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint64_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t v = hist_value(i);
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double hist_mean(const struct histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
