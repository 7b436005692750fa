/*
 * notify.h - talking to systemd: readiness, status, reload, stop, watchdog,
 * socket activation.  Every call is a no-op when larsd does not run under
 * systemd (no NOTIFY_SOCKET, no LISTEN_FDS).
 */
#ifndef LARSD_NOTIFY_H
#define LARSD_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval systemd asked for, in microseconds; 0 if none. */
uint64_t notify_watchdog_usec(void);
/* Sockets passed by socket activation: count, starting at fd 3. */
int notify_listen_fds(void);

#endif /* LARSD_NOTIFY_H */
