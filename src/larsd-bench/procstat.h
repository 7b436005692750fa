/*
 * procstat.h - what /proc says about the server under test (--server-pid):
 * its CPU time (utime + stime of /proc/PID/stat) and its resident memory
 * (VmRSS of /proc/PID/status).  Linux only, like the rest of the tool.
 */
#ifndef LARSD_BENCH_PROCSTAT_H
#define LARSD_BENCH_PROCSTAT_H

#include <sys/types.h>

/* User plus system CPU seconds the process has used; -1 with errno if it
 * cannot be read (no such process). */
double procstat_cpu_seconds(pid_t pid);

/* VmRSS in KiB; -1 if unknown. */
long procstat_rss_kib(pid_t pid);

#endif /* LARSD_BENCH_PROCSTAT_H */
