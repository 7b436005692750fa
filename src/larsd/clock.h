/*
 * clock.h - monotonic time in milliseconds, for timeouts and rates.
 */
#ifndef LARSD_CLOCK_H
#define LARSD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif /* LARSD_CLOCK_H */
