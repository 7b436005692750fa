/*
 * stats.c - summing and logging the counters (see stats.h).
 */
#include "config.h"

#include "stats.h"
#include "log.h"

void stats_sum(struct stats *dst, struct stats *src)
{
#define X(name, text) stats_add(&dst->name, stats_get(&src->name));
	STATS_FIELDS(X)
#undef X
}

void stats_log(struct stats *s)
{
#define X(name, text) \
	log_always(LOG_NOTICE, "stats: %s=%llu (%s)", #name, (unsigned long long)stats_get(&s->name), text);
	STATS_FIELDS(X)
#undef X
}
