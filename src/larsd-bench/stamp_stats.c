/*
 * stamp_stats.c - STAMP measurements, merged and printed (see
 * stamp_stats.h).  Times are printed in microseconds, like the other
 * latencies of the summary.
 */
#include "config.h"

#include "stamp_stats.h"
#include "stamp_wire.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const double stats_pcts[] = {50.0, 90.0, 99.0, 99.9};
static const char *const stats_pct_keys[] = {"p50", "p90", "p99", "p99_9"};
#define STATS_NPCT (sizeof(stats_pcts) / sizeof(stats_pcts[0]))

static void sdist_init(struct sdist *d)
{
	hist_init(&d->neg);
	hist_init(&d->pos);
	d->min = INT64_MAX;
	d->max = INT64_MIN;
}

void sdist_record(struct sdist *d, int64_t v)
{
	if (v < 0)
		hist_record(&d->neg, (uint64_t)0 - (uint64_t)v);
	else
		hist_record(&d->pos, (uint64_t)v);
	if (v < d->min)
		d->min = v;
	if (v > d->max)
		d->max = v;
}

static void sdist_merge(struct sdist *dst, const struct sdist *src)
{
	hist_merge(&dst->neg, &src->neg);
	hist_merge(&dst->pos, &src->pos);
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

static uint64_t sdist_count(const struct sdist *d)
{
	return d->neg.count + d->pos.count;
}

int64_t sdist_percentile(const struct sdist *d, double pct)
{
	uint64_t n = sdist_count(d);

	if (n == 0)
		return 0;
	/* The rank-th smallest value; the negative ones come first, largest
	 * magnitude first. */
	uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank <= d->neg.count) {
		uint64_t k = d->neg.count - rank + 1; /* rank among magnitudes */
		return -(int64_t)hist_percentile(&d->neg, 100.0 * (double)k / (double)d->neg.count);
	}
	uint64_t k = rank - d->neg.count;
	return (int64_t)hist_percentile(&d->pos, 100.0 * (double)k / (double)d->pos.count);
}

static double sdist_mean(const struct sdist *d)
{
	uint64_t n = sdist_count(d);

	return n ? ((double)d->pos.sum - (double)d->neg.sum) / (double)n : 0.0;
}

void stamp_stats_init(struct stamp_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->ttl_min = 256;
	hist_init(&s->residence);
	sdist_init(&s->forward);
	sdist_init(&s->backward);
	sdist_init(&s->ipdv_forward);
	sdist_init(&s->ipdv_backward);
}

void stamp_stats_merge(struct stamp_stats *dst, const struct stamp_stats *src)
{
	dst->duplicates += src->duplicates;
	dst->reordered += src->reordered;
	dst->peer_synced += src->peer_synced;
	dst->peer_ptp += src->peer_ptp;
	dst->measured += src->measured;
	dst->icmp_errors += src->icmp_errors;
	dst->tlv_u += src->tlv_u;
	dst->tlv_m += src->tlv_m;
	dst->tlv_i += src->tlv_i;
	dst->cos_replies += src->cos_replies;
	dst->cos_forward_kept += src->cos_forward_kept;
	dst->cos_reverse_kept += src->cos_reverse_kept;
	if (src->ts_info_replies) {
		dst->ts_info_in = src->ts_info_in;
		dst->ts_info_out = src->ts_info_out;
	}
	dst->ts_info_replies += src->ts_info_replies;
	dst->reflector_numbers |= src->reflector_numbers;
	dst->split_sent += src->split_sent;
	dst->split_reached += src->split_reached;
	dst->split_answered += src->split_answered;
	dst->own_err = src->own_err;
	if (src->peer_err_ns > dst->peer_err_ns)
		dst->peer_err_ns = src->peer_err_ns;
	if (src->ttl_min < dst->ttl_min)
		dst->ttl_min = src->ttl_min;
	if (src->ttl_max > dst->ttl_max)
		dst->ttl_max = src->ttl_max;
	hist_merge(&dst->residence, &src->residence);
	sdist_merge(&dst->forward, &src->forward);
	sdist_merge(&dst->backward, &src->backward);
	sdist_merge(&dst->ipdv_forward, &src->ipdv_forward);
	sdist_merge(&dst->ipdv_backward, &src->ipdv_backward);
}

static double us(double ns)
{
	return ns / 1000.0;
}

static const char *const stats_note =
	"forward and backward delays need synchronised clocks at both ends; "
	"their IPDV does not";

/* Clocks: "synchronised" only if both ends say so. */
static bool stats_synced(const struct stamp_stats *s)
{
	return stamp_err_synced(s->own_err) && s->measured && s->peer_synced == s->measured;
}

static void text_sdist(FILE *f, const char *name, const struct sdist *d)
{
	fprintf(f, "%-11s", name);
	if (!sdist_count(d)) {
		fprintf(f, " none\n");
		return;
	}
	fprintf(f, " min %.1f", us((double)d->min));
	for (size_t i = 0; i < STATS_NPCT; i++)
		fprintf(f, " %s %.1f", i == 3 ? "p99.9" : stats_pct_keys[i],
			us((double)sdist_percentile(d, stats_pcts[i])));
	fprintf(f, "  max %.1f  mean %.1f\n", us((double)d->max), us(sdist_mean(d)));
}

void stamp_stats_text(FILE *f, const struct stamp_stats *s)
{
	const struct histogram *h = &s->residence;

	fprintf(f, "residence   T3-T2 us:");
	for (size_t i = 0; i < STATS_NPCT; i++)
		fprintf(f, " %s %.1f", i == 3 ? "p99.9" : stats_pct_keys[i],
			us((double)hist_percentile(h, stats_pcts[i])));
	fprintf(f, "  max %.1f  mean %.1f\n", us((double)h->max), us(hist_mean(h)));
	text_sdist(f, "forward us", &s->forward);
	text_sdist(f, "backward us", &s->backward);
	text_sdist(f, "ipdv fwd us", &s->ipdv_forward);
	text_sdist(f, "ipdv bwd us", &s->ipdv_backward);
	fprintf(f, "clocks      this host %s (error %.1f us), reflector %s (error up to %.1f us): "
		   "%s\n",
		stamp_err_synced(s->own_err) ? "synchronised" : "not synchronised",
		us((double)stamp_err_ns(s->own_err)),
		!s->measured ? "unknown"
		: s->peer_synced == s->measured ? "synchronised"
		: s->peer_synced ? "sometimes synchronised"
				 : "not synchronised",
		us((double)s->peer_err_ns), stats_note);
	if (!stats_synced(s))
		fprintf(f, "            (the forward and backward delays above are not meaningful)\n");
	fprintf(f, "packets     %" PRIu64 " duplicates, %" PRIu64 " reordered", s->duplicates,
		s->reordered);
	if (s->ttl_min <= s->ttl_max)
		fprintf(f, ", TTL at the reflector %" PRIu64 "..%" PRIu64, s->ttl_min, s->ttl_max);
	if (s->icmp_errors)
		fprintf(f, ", %" PRIu64 " ICMP errors", s->icmp_errors);
	fprintf(f, "\n");
	if (s->reflector_numbers)
		fprintf(f, "loss split  %" PRIu64 " sent, %" PRIu64 " reached the reflector, %" PRIu64
			   " came back: forward loss %" PRIu64 ", backward loss %" PRIu64
			   " (the stateful reflector's numbers, whole run)\n",
			s->split_sent, s->split_reached, s->split_answered,
			s->split_sent - s->split_reached, s->split_reached - s->split_answered);
	else if (s->split_sent)
		fprintf(f, "loss split  unknown: the reflector copies the sender's sequence numbers "
			   "(stateless, or nothing lost on the way out)\n");
	if (s->tlv_u || s->tlv_m || s->tlv_i)
		fprintf(f, "tlvs        flagged by the reflector: %" PRIu64 " unknown (U), %" PRIu64
			   " malformed (M), %" PRIu64 " integrity failed (I)\n",
			s->tlv_u, s->tlv_m, s->tlv_i);
	if (s->cos_replies)
		fprintf(f, "cos         %" PRIu64 " replies: DSCP kept to the reflector in %" PRIu64
			   ", back in the DSCP asked in %" PRIu64 "\n",
			s->cos_replies, s->cos_forward_kept, s->cos_reverse_kept);
	if (s->ts_info_replies)
		fprintf(f, "timestamps  reflector: T2 sync %u method %u, T3 sync %u method %u "
			   "(RFC 8972 codes)\n",
			s->ts_info_in >> 4, s->ts_info_in & 15, s->ts_info_out >> 4,
			s->ts_info_out & 15);
}

static void json_sdist(FILE *f, const char *key, const struct sdist *d)
{
	bool any = sdist_count(d) > 0;

	fprintf(f, "\"%s\":{\"min\":%.3f,\"mean\":%.3f,", key, any ? us((double)d->min) : 0.0,
		us(sdist_mean(d)));
	for (size_t i = 0; i < STATS_NPCT; i++)
		fprintf(f, "\"%s\":%.3f,", stats_pct_keys[i],
			us((double)sdist_percentile(d, stats_pcts[i])));
	fprintf(f, "\"max\":%.3f}", any ? us((double)d->max) : 0.0);
}

void stamp_stats_json(FILE *f, const struct stamp_stats *s)
{
	const struct histogram *h = &s->residence;

	fprintf(f, "\"stamp\":{\"duplicates\":%" PRIu64 ",\"reordered\":%" PRIu64 ",",
		s->duplicates, s->reordered);
	fprintf(f, "\"residence_us\":{\"min\":%.3f,\"mean\":%.3f,", h->count ? us((double)h->min) : 0.0,
		us(hist_mean(h)));
	for (size_t i = 0; i < STATS_NPCT; i++)
		fprintf(f, "\"%s\":%.3f,", stats_pct_keys[i],
			us((double)hist_percentile(h, stats_pcts[i])));
	fprintf(f, "\"max\":%.3f},", us((double)h->max));
	json_sdist(f, "forward_us", &s->forward);
	fprintf(f, ",");
	json_sdist(f, "backward_us", &s->backward);
	fprintf(f, ",");
	json_sdist(f, "ipdv_forward_us", &s->ipdv_forward);
	fprintf(f, ",");
	json_sdist(f, "ipdv_backward_us", &s->ipdv_backward);
	fprintf(f, ",\"sender_synced\":%s,\"sender_error_us\":%.3f,",
		stamp_err_synced(s->own_err) ? "true" : "false", us((double)stamp_err_ns(s->own_err)));
	fprintf(f, "\"reflector_synced\":%s,\"reflector_error_us\":%.3f,",
		s->measured && s->peer_synced == s->measured ? "true" : "false",
		us((double)s->peer_err_ns));
	fprintf(f, "\"reflector_ptp\":%s,", s->measured && s->peer_ptp == s->measured ? "true" : "false");
	if (s->ttl_min <= s->ttl_max)
		fprintf(f, "\"ttl_min\":%" PRIu64 ",\"ttl_max\":%" PRIu64 ",", s->ttl_min, s->ttl_max);
	else
		fprintf(f, "\"ttl_min\":null,\"ttl_max\":null,");
	fprintf(f, "\"icmp_errors\":%" PRIu64 ",", s->icmp_errors);
	fprintf(f, "\"tlv_flags\":{\"unknown\":%" PRIu64 ",\"malformed\":%" PRIu64
		   ",\"integrity\":%" PRIu64 "},",
		s->tlv_u, s->tlv_m, s->tlv_i);
	fprintf(f, "\"cos\":{\"replies\":%" PRIu64 ",\"forward_kept\":%" PRIu64
		   ",\"reverse_kept\":%" PRIu64 "},",
		s->cos_replies, s->cos_forward_kept, s->cos_reverse_kept);
	if (s->ts_info_replies)
		fprintf(f, "\"timestamp_info\":{\"replies\":%" PRIu64 ",\"t2_sync\":%u,"
			   "\"t2_method\":%u,\"t3_sync\":%u,\"t3_method\":%u},",
			s->ts_info_replies, s->ts_info_in >> 4, s->ts_info_in & 15u,
			s->ts_info_out >> 4, s->ts_info_out & 15u);
	else
		fprintf(f, "\"timestamp_info\":null,");
	if (s->reflector_numbers)
		fprintf(f, "\"loss_split\":{\"sent\":%" PRIu64 ",\"reached\":%" PRIu64
			   ",\"answered\":%" PRIu64 ",\"forward\":%" PRIu64 ",\"backward\":%" PRIu64
			   "},",
			s->split_sent, s->split_reached, s->split_answered,
			s->split_sent - s->split_reached, s->split_reached - s->split_answered);
	else
		fprintf(f, "\"loss_split\":null,");
	fprintf(f, "\"one_way_meaningful\":%s,\"note\":\"%s\"}",
		stats_synced(s) ? "true" : "false", stats_note);
}
