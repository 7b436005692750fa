/*
 * session_hist.c - the measuring sessions' latency histograms (see
 * session_hist.h).
 */
#include "config.h"

#include "session_hist.h"

#include <string.h>

const uint32_t session_hist_bounds_us[SESSION_HIST_BOUNDS] = {SESSION_HIST_BOUNDS_US};

void session_hist_init(struct session_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* The exported bucket of ns: the first bound it does not exceed. */
static unsigned bucket_of(uint64_t ns)
{
	unsigned i = 0;

	while (i < SESSION_HIST_BOUNDS && ns > (uint64_t)session_hist_bounds_us[i] * 1000u)
		i++;
	return i;
}

static unsigned fine_of(uint64_t ns)
{
	if (ns < (UINT64_C(1) << SESSION_FINE_MIN_EXP))
		return 0;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);
	if (e >= SESSION_FINE_MAX_EXP)
		return SESSION_FINE_BUCKETS - 1;
	unsigned sub = (unsigned)(ns >> (e - SESSION_FINE_SUB_BITS)) &
		       ((1u << SESSION_FINE_SUB_BITS) - 1);
	return 1 + ((e - SESSION_FINE_MIN_EXP) << SESSION_FINE_SUB_BITS) + sub;
}

/* The middle of fine bucket i. */
static uint64_t fine_middle(unsigned i)
{
	if (i == 0)
		return (UINT64_C(1) << SESSION_FINE_MIN_EXP) / 2;
	unsigned e = SESSION_FINE_MIN_EXP + ((i - 1) >> SESSION_FINE_SUB_BITS);
	uint64_t sub = (i - 1) & ((1u << SESSION_FINE_SUB_BITS) - 1);
	uint64_t width = UINT64_C(1) << (e - SESSION_FINE_SUB_BITS);
	return (UINT64_C(1) << e) + sub * width + width / 2;
}

void session_hist_record(struct session_hist *h, uint64_t ns)
{
	if (h->count == 0 || ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->count++;
	h->sum_ns += ns;
	h->bucket[bucket_of(ns)]++;
	h->fine[fine_of(ns)]++;
}

uint64_t session_hist_percentile(const struct session_hist *h, double pct)
{
	if (h->count == 0)
		return 0;
	uint64_t want = (uint64_t)((double)h->count * pct / 100.0 + 0.999999);
	uint64_t seen = 0;

	if (want < 1)
		want = 1;
	if (want >= h->count)
		return h->max_ns; /* the last value: exact */
	for (unsigned i = 0; i < SESSION_FINE_BUCKETS; i++) {
		seen += h->fine[i];
		if (seen >= want) {
			uint64_t v = fine_middle(i);
			return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
		}
	}
	return h->max_ns;
}
