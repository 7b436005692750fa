/*
 * clock.h - CLOCK_MONOTONIC in nanoseconds, the one time base of a run:
 * send and reply times, deadlines, UDP timeouts and the measured window.
 */
#ifndef LARSD_BENCH_CLOCK_H
#define LARSD_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

static inline uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif /* LARSD_BENCH_CLOCK_H */
