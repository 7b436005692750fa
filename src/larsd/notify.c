/*
 * notify.c - systemd's notification and socket activation protocols,
 * spoken directly (sd_notify(3), sd_watchdog_enabled(3), sd_listen_fds(3)).
 *
 * Why not libsystemd: larsd used four of its functions, and linking it
 * maps libsystemd and what it needs (libgcrypt, libgpg-error, liblzma,
 * libzstd, liblz4, libcap) into every larsd: about 1 MiB of its 4 MiB of
 * idle resident memory (bench/results/2026-12-idle-rss.md), and a
 * library chain whose liblzma was the way into sshd in CVE-2024-3094.
 * systemd documents both protocols as stable interfaces and recommends
 * speaking them directly when that is all a daemon needs (sd_notify(3),
 * NOTES); suricata and OpenSSH did the same.  The protocols:
 *  - notification: one datagram of "KEY=value" lines to the AF_UNIX
 *    socket named by $NOTIFY_SOCKET, a path, or "@name" for the abstract
 *    namespace;
 *  - watchdog: $WATCHDOG_USEC, for this process if $WATCHDOG_PID is unset
 *    or names it;
 *  - socket activation: $LISTEN_FDS descriptors from 3, for this process
 *    if $LISTEN_PID names it; the variables are removed once read, as
 *    they describe this process alone.
 */
#include "config.h"

#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FDS_START 3

/* Send one notification.  0, or -1 with errno (no $NOTIFY_SOCKET: 0, as
 * nobody listens; an address larsd cannot use: EINVAL). */
int notify_send(const char *msg)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (!name || !*name)
		return 0;
	size_t len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sun.sun_path)) {
		errno = EINVAL; /* vsock and the like: not for a system daemon */
		return -1;
	}
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0'; /* the abstract namespace: no terminator */
	socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				     (name[0] == '/'));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, slen);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	errno = err;
	return n < 0 ? -1 : 0;
}

static void notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify_sendf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a longer status is cut */
	va_end(ap);
	notify_send(msg);
}

void notify_ready(const char *status)
{
	notify_sendf("READY=1\nSTATUS=%s", status);
}

void notify_status(const char *status)
{
	notify_sendf("STATUS=%s", status);
}

void notify_reloading(void)
{
	notify_send("RELOADING=1\nSTATUS=reloading the configuration");
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping: flushing connections");
}

void notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}

/* A positive decimal number that fills the whole of text, else 0. */
static uint64_t env_number(const char *name)
{
	const char *text = getenv(name);
	char *end;

	if (!text || *text < '0' || *text > '9')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	return errno || *end ? 0 : (uint64_t)v;
}

/* A variable meant for this process: $var_PID unset (only for the
 * watchdog, optional) or naming it. */
static bool env_for_me(const char *pid_var, bool required)
{
	if (!getenv(pid_var))
		return !required;
	return env_number(pid_var) == (uint64_t)getpid();
}

uint64_t notify_watchdog_usec(void)
{
	return env_for_me("WATCHDOG_PID", false) ? env_number("WATCHDOG_USEC") : 0;
}

int notify_listen_fds(void)
{
	int n = 0;

	if (env_for_me("LISTEN_PID", true)) {
		uint64_t v = env_number("LISTEN_FDS");
		n = v > INT16_MAX ? 0 : (int)v;
	}
	for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			n = 0; /* not the descriptors we were told of */
			break;
		}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}
