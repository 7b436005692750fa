/*
 * measure.h - larsd's measuring sessions: a thread of its own that sends
 * STAMP test packets to the configured peers on a paced schedule and
 * keeps each session's books (session.h).
 *
 * Why a thread and not the workers: the workers' loops serve clients
 * under MEM_LIMIT and wake when traffic does; a session's schedule needs
 * a timer precise to microseconds whatever the load, and its packets are
 * few (1000 sessions at 1/s is 1000 packets a second).  One thread, one
 * epoll set waited on with a timeout in nanoseconds (epoll_pwait2), one
 * socket per session (connected, so the kernel sorts the replies and
 * reports ICMP errors per peer); bench/sessions measures its cost: about
 * 3.6 system calls a packet, sent and answered.  It never runs in the control thread, which only reads the books
 * under the lock and hands over a new list at a reload.
 *
 * Pacing: each session sends every 1/rate seconds on a fixed schedule
 * (no drift, no catching up in bursts: a turn late by more than one
 * interval starts the schedule again from now), its first packet at a
 * random point of its first interval, so sessions never line up on second
 * boundaries.  How late each packet went against its schedule is kept in
 * a histogram (stats sessions: sessions_send_error_us).
 *
 * Memory: each session is a struct session (about 6 KiB of histograms)
 * and its ring of slots (48 bytes each, session_slots_for(): 64 slots at
 * 1/s and a 3 s timeout, at most SESSION_MAX_SLOTS), and a packet buffer
 * of its size: 11.7 KiB resident a session at the defaults (bench/sessions);
 * CONF_MAX_SESSIONS bounds the count.  Not from the pool:
 * MEM_LIMIT bounds the clients' buffers, and the sessions are bounded by
 * the configuration alone.
 */
#ifndef LARSD_MEASURE_H
#define LARSD_MEASURE_H

#include "conf.h"
#include "ctlcmd.h"

#include <stddef.h>

struct measure;

/* Start measuring the n sessions of list (whose array it takes, and
 * frees in time; NULL and 0: none yet).  NULL with a one-line reason in
 * err if the thread or its timer cannot be made. */
struct measure *measure_start(struct conf_session *list, size_t n, char *err, size_t errlen);

/* A reload's list (taken likewise): sessions whose every key is unchanged
 * go on with their books and schedule, changed ones start afresh, those
 * no longer listed stop.  Returns once the thread has taken it. */
void measure_apply(struct measure *m, struct conf_session *list, size_t n);

/* The reply to "stats sessions" (larsctl(8), CONTROL PROTOCOL), appended
 * to out. */
void measure_report(struct measure *m, struct ctl_out *out);

/* Stop the thread and free everything. */
void measure_stop(struct measure *m);

#endif /* LARSD_MEASURE_H */
