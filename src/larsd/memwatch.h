/*
 * memwatch.h - larsd's watch on memory: the pool's pressure marks and the
 * cgroup's memory.max.  See memwatch.c.
 */
#ifndef LARSD_MEMWATCH_H
#define LARSD_MEMWATCH_H

#include <bufpool.h>
#include <stddef.h>
#include <stdint.h>

/* The pool's pressure marks, fractions of mem_limit: a warning at the
 * high one (once per run); below the low one the episode is over. */
#define MEMWATCH_HIGH 0.90
#define MEMWATCH_LOW 0.70

/* Set the marks on pool, with the warning.  0, or -1 with errno. */
int memwatch_pool_start(bufpool_t *pool);

/* The memory limit of this process's cgroup (v2): the smallest numeric
 * memory.max from its own cgroup up to the top of the hierarchy it sees.
 * root prefixes /proc/self/cgroup and /sys/fs/cgroup ("" on a real
 * system; a directory of fake files in tests).  Returns 1 with *limit and
 * the cgroup's path in group, 0 when no level sets a limit ("max" or no
 * file), -1 with errno when it cannot tell (no cgroup v2 line: ENOENT; a
 * file that does not parse: EINVAL). */
int memwatch_cgroup_limit(const char *root, uint64_t *limit, char *group, size_t grouplen);

/* This process's resident memory (VmRSS) from root/proc/self/status, in
 * bytes; 0 when unknown. */
uint64_t memwatch_rss(const char *root);

/* The start-up check: when the cgroup's limit cannot hold mem_limit plus
 * overhead, write the one-line warning into msg and return 1; else 0. */
int memwatch_cgroup_check(const char *root, size_t mem_limit, uint64_t overhead, char *msg,
			  size_t msglen);

/* At start, after the workers run: measure larsd's own memory (VmRSS
 * less what the pool already owns) and log the check's warning, if any. */
void memwatch_start_check(bufpool_t *pool, size_t mem_limit);

#endif /* LARSD_MEMWATCH_H */
