/*
 * ctlparse.h - the control socket's command parser (see ctlparse.c).
 */
#ifndef LARSD_CTLPARSE_H
#define LARSD_CTLPARSE_H

#include <stddef.h>

/* The maximum line, without its "\n" or "\r\n". */
#define CTL_LINE_MAX 1024

enum ctl_cmd {
	CTL_UNKNOWN,        /* anything else: "ERROR unknown command" */
	CTL_STATS,          /* stats */
	CTL_STATS_POOL,     /* stats pool */
	CTL_STATS_LISTENERS,/* stats listeners */
	CTL_STATS_WORKERS,  /* stats workers */
	CTL_STATS_SESSIONS, /* stats sessions */
	CTL_STATS_RESET,    /* stats reset */
	CTL_RELOAD,         /* reload */
	CTL_VERSION,        /* version */
	CTL_HELP,           /* help */
};

/* One line (without its "\n"; a trailing "\r" is ignored), of len bytes
 * that may hold any byte including NUL.  Words are separated by spaces or
 * tabs.  No state, no allocation. */
enum ctl_cmd ctl_parse(const char *line, size_t len);

#endif /* LARSD_CTLPARSE_H */
