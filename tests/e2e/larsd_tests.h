/*
 * larsd_tests.h - the larsd end-to-end suite (tests/e2e/test_larsd): the
 * files of its themes, each adding its test cases, and the checks they
 * share (test_larsd.c).  The daemon is run through larsd_harness.h.
 */
#ifndef LARSD_TESTS_H
#define LARSD_TESTS_H

#include "larsd_harness.h"

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

void lt_add_echo(Suite *s);       /* larsd_echo.c: echo, lars framing */
void lt_add_conf(Suite *s);       /* larsd_conf.c: config errors, command line */
void lt_add_signals(Suite *s);    /* larsd_signals.c: notify, signals, reload */
void lt_add_activation(Suite *s); /* larsd_activation.c: LISTEN_FDS */
void lt_add_limits(Suite *s);     /* larsd_limits.c: memory, limits, guards */
void lt_add_control(Suite *s);    /* larsd_control.c: the control socket */
void lt_add_larsctl(Suite *s);    /* larsd_larsctl.c: larsctl(8) against larsd */
void lt_add_stamp(Suite *s);      /* larsd_stamp.c: STAMP, per-source rate limits */
void lt_add_stamp_modes(Suite *s); /* larsd_stamp_modes.c: TWAMP-Light, auth, stateful, TLVs */
void lt_add_sessions(Suite *s);   /* larsd_sessions.c: measuring sessions, the relay's truth */
void lt_add_io_backend(Suite *s); /* larsd_io_backend.c: epoll, io_uring, fallback */

/* Is IPv6 loopback usable here? */
bool lt_have_v6(void);

/* The control socket: a blocking connection to path with 5 s timeouts (-1
 * on failure); whether buf ends a reply (END, OK, ERROR, VERSION); read one
 * whole reply (NUL-terminated; false on EOF or timeout); send cmd and read
 * its reply (ck_asserts); the number, or the text, of "STAT name value"
 * (-1, or "", if absent). */
int lt_ctl_connect_path(const char *path);
bool lt_ctl_reply_complete(const char *buf, size_t len);
bool lt_ctl_read_reply(int fd, char *buf, size_t cap);
void lt_ctl_cmd(int fd, const char *cmd, char *buf, size_t cap);
long long lt_stat_of(const char *reply, const char *name);
void lt_stat_word(const char *reply, const char *name, char *out, size_t len);

/* The index of the first byte where a and b differ (len if none). */
size_t lt_first_difference(const unsigned char *a, const unsigned char *b, size_t len);

/* An echo round trip on any listener, in its mode.  ck_asserts. */
void lt_check_listener(const struct lh_listen *l, int tag);

/* SIGHUP; RELOADING=1 then READY=1 after it (the reload is over, its log
 * lines written).  Returns the READY index.  ck_asserts. */
long lt_reload(struct lh_daemon *d);

/* A lars listener must not answer half a frame: "hello" is no frame.
 * ck_asserts. */
void lt_check_lars_rejects_plain(const struct lh_listen *l);

#endif /* LARSD_TESTS_H */
