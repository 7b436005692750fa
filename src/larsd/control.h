/*
 * control.h - the main thread's loop (see control.c).
 */
#ifndef LARSD_CONTROL_H
#define LARSD_CONTROL_H

#include "ctlsock.h"
#include "daemon.h"

#include <signal.h>

/* Block the signals control_run() reads, in this thread and every thread
 * started after; ignore SIGPIPE. */
int control_block_signals(sigset_t *set);

/* Serve signals, timers and the control socket cs (open or not) until
 * SIGTERM or SIGINT.  -1 if it cannot start. */
int control_run(struct daemon *d, const sigset_t *set, struct ctlsock *cs);

#endif /* LARSD_CONTROL_H */
