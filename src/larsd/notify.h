/*
 * notify.h - talking to systemd: readiness, status, reload, stop, watchdog,
 * socket activation, in systemd's own protocols (notify.c says why not
 * through libsystemd).  Every call is a no-op when larsd does not run
 * under systemd (no NOTIFY_SOCKET, no LISTEN_FDS).
 */
#ifndef LARSD_NOTIFY_H
#define LARSD_NOTIFY_H

#include <stdint.h>

/* Send msg ("KEY=value" lines) to $NOTIFY_SOCKET.  0 (also when it is
 * unset), or -1 with errno (EINVAL: not a path or an "@" abstract name). */
int notify_send(const char *msg);
void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval systemd asked for, in microseconds; 0 if none
 * (or $WATCHDOG_PID names another process). */
uint64_t notify_watchdog_usec(void);
/* Sockets passed by socket activation: count, starting at fd 3, made
 * close-on-exec; 0 unless $LISTEN_PID names this process.  Removes the
 * LISTEN_* variables. */
int notify_listen_fds(void);

#endif /* LARSD_NOTIFY_H */
