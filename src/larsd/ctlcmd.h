/*
 * ctlcmd.h - the control socket's commands and their replies (ctlcmd.c).
 */
#ifndef LARSD_CTLCMD_H
#define LARSD_CTLCMD_H

#include "ctlparse.h"
#include "daemon.h"
#include "stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A reply being built: bounded, so a client that asks and never reads
 * cannot make the daemon hold more than max bytes for it. */
struct ctl_out {
	char *buf;
	size_t len, cap, max;
	bool overflow;  /* a line did not fit under max: close the client */
};

void ctl_printf(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The counters as they were at "stats reset": later replies subtract them.
 * The workers' counters have one writer each, so the control thread never
 * writes them; it keeps this baseline instead. */
struct ctl_base {
	struct stats s;
	uint64_t reloads_ok, reloads_failed;
	uint64_t allocs, fresh, failures, too_large, released;
	uint64_t tier_allocs[BUFPOOL_TIERS], tier_fresh[BUFPOOL_TIERS],
		tier_failures[BUFPOOL_TIERS];
	const struct listener *listener[CONF_MAX_LISTENERS];
	uint64_t l_accepted[CONF_MAX_LISTENERS], l_replies[CONF_MAX_LISTENERS],
		l_bytes_in[CONF_MAX_LISTENERS], l_bytes_out[CONF_MAX_LISTENERS];
	uint64_t w_turns[CONF_MAX_THREADS], w_replies[CONF_MAX_THREADS];
};

/* The control thread's state the commands read.  Only that thread uses it. */
struct ctl_state {
	struct daemon *d;
	uint64_t start_ms;
	uint64_t reloads_ok, reloads_failed;
	/* SIGHUP's reload: 0, or -1 with "FILE:LINE: message" in err. */
	int (*reload)(void *arg, char *err, size_t errlen);
	void *reload_arg;
	struct ctl_base base;
};

/* Run cmd and append its reply (lines ending in "\n") to out. */
void ctl_run(struct ctl_state *st, enum ctl_cmd cmd, struct ctl_out *out);

#endif /* LARSD_CTLCMD_H */
