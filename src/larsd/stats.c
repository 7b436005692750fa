/*
 * stats.c - summing the counters (see stats.h).
 */
#include "config.h"

#include "stats.h"

void stats_sum(struct stats *dst, struct stats *src)
{
#define X(name, text) stats_add(&dst->name, stats_get(&src->name));
	STATS_FIELDS(X)
#undef X
}
