/*
 * report.h - the summary at the end of a run: text for people, or one
 * JSON object (--json) for scripts, both on stdout with the same numbers.
 */
#ifndef LARSD_BENCH_REPORT_H
#define LARSD_BENCH_REPORT_H

#include "histogram.h"
#include "options.h"
#include "payload.h"
#include "stamp_stats.h"
#include "worker.h"

#include <stdbool.h>
#include <stdio.h>

struct report {
	const struct bench_opts *o;
	const struct payload *pl;
	double elapsed;            /* seconds in the measured window */
	bool interrupted;          /* stopped by a signal */
	struct bench_counts c;     /* all workers */
	const struct histogram *h; /* all workers */
	const struct stamp_stats *stamp; /* stamp mode, else NULL */
	bool server;               /* --server-pid given */
	double server_cpu;         /* CPU seconds over the window; < 0: unknown */
	long server_rss_kib;       /* at the end; < 0: unknown */
};

void report_text(FILE *f, const struct report *r);
void report_json(FILE *f, const struct report *r);

/* Errors the exit status counts: corrupt (and short) replies, changed
 * replies, connection errors. */
uint64_t report_errors(const struct report *r);

#endif /* LARSD_BENCH_REPORT_H */
