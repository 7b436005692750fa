/*
 * memwatch.c - larsd's watch on memory.
 *
 * Two things, both about the pool's cap (mem_limit) meeting the rest of
 * the system:
 *  - the pool's pressure marks (bufpool_set_pressure(3)): when the bytes
 *    the pool owns reach MEMWATCH_HIGH of mem_limit, larsd says so once
 *    in the log, before reads start stalling at the cap.  The pool calls
 *    back on a worker thread, in the middle of an allocation, so the
 *    callback only flips an atomic flag and logs;
 *  - at start, the cgroup's memory.max (cgroup v2): a unit whose MemoryMax
 *    is below mem_limit plus larsd's own memory gets larsd killed by the
 *    kernel under load instead of pushing back (README, "Memory"), so
 *    larsd warns in one line.  Its own memory is measured: VmRSS after
 *    the workers started, less the pool's bytes (mem_limit counts those).
 *
 * Called by main.c (memwatch_pool_start after the pool is made,
 * memwatch_start_check after the workers start).  Paths take a root
 * prefix so the tests can feed fake /proc and /sys trees.
 */
#include "config.h"

#include "memwatch.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

/* ---- pressure ---------------------------------------------------------- */

static atomic_bool memwatch_warned;

static void memwatch_on_pressure(bufpool_t *pool, enum bufpool_pressure_event ev,
				 size_t owned, void *arg)
{
	(void)arg;
	if (ev != BUFPOOL_PRESSURE_HIGH || atomic_exchange(&memwatch_warned, true))
		return;
	log_warn("buffer pool at %.0f%% of mem_limit (%.1f of %.1f MiB): reads stall at "
		 "the limit; raise mem_limit if this is the normal load (warned once)",
		 MEMWATCH_HIGH * 100, (double)owned / MIB, (double)bufpool_mem_limit(pool) / MIB);
}

int memwatch_pool_start(bufpool_t *pool)
{
	struct bufpool_pressure pr = {
		.size = sizeof(pr),
		.high = MEMWATCH_HIGH,
		.low = MEMWATCH_LOW,
		.fn = memwatch_on_pressure,
	};
	return bufpool_set_pressure(pool, &pr);
}

/* ---- cgroup ------------------------------------------------------------ */

/* The cgroup v2 path from a /proc/self/cgroup file: the "0::PATH" line. */
static int cgroup_path(const char *root, char *group, size_t len)
{
	char file[4096], line[4096];
	int found = -1;

	snprintf(file, sizeof(file), "%s/proc/self/cgroup", root);
	FILE *f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(group, len, "%s", line + 3) < (int)len && group[0] == '/')
			found = 0;
		break;
	}
	fclose(f);
	if (found < 0)
		errno = ENOENT;
	return found;
}

/* One memory.max: 1 and *v for a number, 0 for "max" or no file, -1
 * (EINVAL) for anything else. */
static int read_max(const char *file, uint64_t *v)
{
	char text[64];
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	bool got = fgets(text, sizeof(text), f) != NULL;
	fclose(f);
	text[got ? strcspn(text, "\n") : 0] = '\0';
	if (strcmp(text, "max") == 0)
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (!got || text[0] < '0' || text[0] > '9' || *end != '\0' || errno) {
		errno = EINVAL;
		return -1;
	}
	*v = n;
	return 1;
}

int memwatch_cgroup_limit(const char *root, uint64_t *limit, char *group, size_t grouplen)
{
	char path[4096], file[4200];
	int found = 0;

	if (cgroup_path(root, path, sizeof(path)) < 0)
		return -1;
	snprintf(group, grouplen, "%s", path);
	/* From the own cgroup up: each level's limit applies to everything
	 * below it.  "/" is the top this process can see. */
	for (;;) {
		uint64_t v;
		snprintf(file, sizeof(file), "%s/sys/fs/cgroup%s/memory.max", root,
			 strcmp(path, "/") == 0 ? "" : path);
		int r = read_max(file, &v);
		if (r < 0)
			return -1;
		if (r > 0 && (!found || v < *limit)) {
			*limit = v;
			found = 1;
		}
		char *slash = strrchr(path, '/');
		if (!slash || strcmp(path, "/") == 0)
			break;
		if (slash == path)
			path[1] = '\0';
		else
			*slash = '\0';
	}
	return found;
}

uint64_t memwatch_rss(const char *root)
{
	char file[4096], line[256];
	unsigned long long kib = 0;

	snprintf(file, sizeof(file), "%s/proc/self/status", root);
	FILE *f = fopen(file, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib * 1024;
}

int memwatch_cgroup_check(const char *root, size_t mem_limit, uint64_t overhead, char *msg,
			  size_t msglen)
{
	char group[1024];
	uint64_t limit;

	if (memwatch_cgroup_limit(root, &limit, group, sizeof(group)) != 1)
		return 0;
	if ((uint64_t)mem_limit + overhead <= limit)
		return 0;
	snprintf(msg, msglen,
		 "cgroup %s: memory.max %.1f MiB is below mem_limit %.1f MiB plus larsd's "
		 "own %.1f MiB: under load the kernel kills larsd before the pool pushes back; "
		 "raise MemoryMax or lower mem_limit",
		 group, (double)limit / MIB, (double)mem_limit / MIB, (double)overhead / MIB);
	return 1;
}

void memwatch_start_check(bufpool_t *pool, size_t mem_limit)
{
	struct bufpool_stats st;
	char msg[1400];

	bufpool_stats(pool, &st);
	uint64_t rss = memwatch_rss("");
	uint64_t own = rss > st.bytes_owned ? rss - st.bytes_owned : 0;
	if (memwatch_cgroup_check("", mem_limit, own, msg, sizeof(msg)))
		log_warn("%s", msg);
}
