/*
 * cpuwait.h - notice when the workers wait for a CPU.
 *
 * Each worker is one thread with its own connections, so a worker that is
 * runnable but not running holds its clients' replies back.  That happens
 * when the workers outnumber the CPUs that other busy processes leave free
 * (a load generator on the same host, say): two workers on two CPUs
 * shared with a client answer later, at the 99th percentile, than one.
 * The control thread reads the kernel's scheduler statistics of each
 * worker thread (/proc/self/task/TID/schedstat: time on a CPU, time
 * waiting on a run queue) and says so in the log, once an hour at most.
 */
#ifndef LARSD_CPUWAIT_H
#define LARSD_CPUWAIT_H

#include "daemon.h"

#include <stdbool.h>
#include <stdint.h>

/* Judged over windows of this length. */
#define CPUWAIT_WINDOW_MS 5000
/* Worth a notice: the workers waited this share of the window for a CPU
 * (summed over the workers, divided by workers x window)... */
#define CPUWAIT_NOTICE_PCT 25
/* ...while they were busy: on a CPU at least this share of it. */
#define CPUWAIT_BUSY_PCT 10

struct cpuwait {
	bool valid;         /* the sums below were read */
	bool unavailable;   /* no schedstat here: never try again */
	uint64_t start_ms;  /* of the window */
	uint64_t run_ns;    /* sums over the workers at start_ms */
	uint64_t wait_ns;
	unsigned last_wait_pct; /* of the last whole window */
	unsigned last_busy_pct;
};

/* The control thread calls this about once a second. */
void cpuwait_tick(struct cpuwait *cw, struct daemon *d, uint64_t now_ms);

#endif /* LARSD_CPUWAIT_H */
