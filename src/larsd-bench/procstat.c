/*
 * procstat.c - read a process's CPU time and RSS from /proc (see procstat.h).
 */
#include "config.h"

#include "procstat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double procstat_cpu_seconds(pid_t pid)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return -1.0;
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	if (!ok)
		return -1.0;
	/* "pid (comm) state ..." and comm may hold spaces or parentheses:
	 * the fields start after the last ')'.  utime and stime are fields
	 * 14 and 15; state is field 3. */
	char *p = strrchr(line, ')');
	if (!p) {
		errno = EINVAL;
		return -1.0;
	}
	p++;
	unsigned long long utime = 0, stime = 0;
	for (int field = 3; field <= 15; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0') {
			errno = EINVAL;
			return -1.0;
		}
		if (field == 14)
			utime = strtoull(p, NULL, 10);
		else if (field == 15)
			stime = strtoull(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	return (double)(utime + stime) / (double)hz;
}

long procstat_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}
