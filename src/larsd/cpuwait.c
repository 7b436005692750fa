/*
 * cpuwait.c - notice when the workers wait for a CPU (see cpuwait.h).
 */
#include "config.h"

#include "cpuwait.h"
#include "log.h"
#include "worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

static struct log_limit cpuwait_limit = LOG_LIMIT_INIT(3600 * 1000);

/* Time on a CPU and time runnable but waiting, of one thread, in ns. */
static bool thread_schedstat(pid_t tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/schedstat", (long)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fscanf(f, "%" SCNu64 " %" SCNu64, run_ns, wait_ns) == 2;
	fclose(f);
	return ok;
}

enum sums { SUMS_OK, SUMS_NOT_YET, SUMS_FAILED };

/* Sums over the workers. */
static enum sums workers_schedstat(struct daemon *d, uint64_t *run_ns, uint64_t *wait_ns)
{
	*run_ns = *wait_ns = 0;
	for (unsigned i = 0; i < d->n_workers; i++) {
		pid_t tid = atomic_load_explicit(&d->workers[i].tid, memory_order_relaxed);
		uint64_t r, w;
		if (tid <= 0)
			return SUMS_NOT_YET; /* the thread has not started */
		if (!thread_schedstat(tid, &r, &w))
			return SUMS_FAILED;
		*run_ns += r;
		*wait_ns += w;
	}
	return SUMS_OK;
}

void cpuwait_tick(struct cpuwait *cw, struct daemon *d, uint64_t now_ms)
{
	uint64_t run, wait;

	if (cw->unavailable || d->n_workers == 0)
		return;
	if (cw->valid && now_ms - cw->start_ms < CPUWAIT_WINDOW_MS)
		return;
	switch (workers_schedstat(d, &run, &wait)) {
	case SUMS_OK:
		break;
	case SUMS_NOT_YET:
		return;
	case SUMS_FAILED:
		if (!cw->valid) {
			log_debug("no scheduler statistics in /proc: not watching CPU waits");
			cw->unavailable = true;
		}
		cw->valid = false; /* a worker has gone: stopping */
		return;
	}
	if (cw->valid) {
		double span = (double)(now_ms - cw->start_ms) * 1e6 * d->n_workers;
		cw->last_wait_pct = (unsigned)((double)(wait - cw->wait_ns) * 100 / span);
		cw->last_busy_pct = (unsigned)((double)(run - cw->run_ns) * 100 / span);
		if (d->n_workers > 1 && cw->last_wait_pct >= CPUWAIT_NOTICE_PCT &&
		    cw->last_busy_pct >= CPUWAIT_BUSY_PCT)
			log_limited(&cpuwait_limit, LOG_NOTICE,
				    "workers waited for a CPU %u%% of the last %u s (busy %u%%; "
				    "%u workers, %ld CPUs online): other processes keep these "
				    "CPUs busy, and fewer threads may answer sooner "
				    "(see threads in larsd.conf(5))",
				    cw->last_wait_pct, CPUWAIT_WINDOW_MS / 1000, cw->last_busy_pct,
				    d->n_workers, sysconf(_SC_NPROCESSORS_ONLN));
	}
	cw->valid = true;
	cw->start_ms = now_ms;
	cw->run_ns = run;
	cw->wait_ns = wait;
}
