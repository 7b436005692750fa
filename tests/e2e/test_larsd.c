/*
 * test_larsd.c - larsd end to end: the real daemon, real sockets.
 *
 * Each test starts its own larsd (tests/harness/larsd_harness.c) with a
 * config in a private temporary directory, waits for READY=1 on its own
 * abstract NOTIFY_SOCKET, talks to it over loopback, and stops it with
 * SIGTERM, expecting exit status 0.  No fixed ports: most listeners are
 * bound here and passed by socket activation (LISTEN_FDS); some are given
 * to the daemon to bind, on a port just found free.  Counters are read from
 * the "stats: name=value" lines SIGUSR1 makes the daemon log.
 *
 * One program, one file a theme (as tests/stress/): each larsd_*.c beside
 * this file adds the cases of its theme (echo and lars framing, the
 * configuration, signals, the control socket, STAMP, measuring sessions,
 * io_backend, ...) through an lt_add_*() function.  larsd_tests.h declares
 * every one of them with its file and theme, larsd_suite() below calls
 * them, and tests/e2e/local.mk builds the files: a new theme is a new file
 * and a line in each of those three places.  What a theme covers is said
 * at the top of its file.  This file holds main() and the helpers the
 * themes share (declared in larsd_tests.h).
 */
#include "config.h"

#include "larsd_tests.h"

#include <signal.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- helpers the files share ---------------------------------------------- */

bool lt_have_v6(void)
{
	return lh_address_usable("::1");
}

size_t lt_first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i = 0;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

long lt_reload(struct lh_daemon *d)
{
	size_t from = lh_note_count(d);

	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	long r = lh_wait_note(d, "RELOADING=1", from, 3000);
	ck_assert_msg(r >= 0, "no RELOADING=1 after SIGHUP");
	long ready = lh_wait_note(d, "READY=1", (size_t)r + 1, 3000);
	ck_assert_msg(ready > r, "no READY=1 after RELOADING=1");
	return ready;
}

/* ---- the control socket ---------------------------------------------------- */

/* A blocking connection with 5 s timeouts; -1 on failure. */
int lt_ctl_connect_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Does the reply's last line end it (END, OK, ERROR ..., VERSION ...)? */
bool lt_ctl_reply_complete(const char *buf, size_t len)
{
	if (len == 0 || buf[len - 1] != '\n')
		return false;
	size_t start = len - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	const char *line = buf + start;
	return strncmp(line, "END\n", 4) == 0 || strncmp(line, "OK\n", 3) == 0 ||
	       strncmp(line, "ERROR ", 6) == 0 || strncmp(line, "VERSION ", 8) == 0;
}

/* Read one whole reply into buf (NUL-terminated); false on EOF/timeout. */
bool lt_ctl_read_reply(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len + 1 < cap) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (lt_ctl_reply_complete(buf, len))
			return true;
	}
	return false;
}

/* Send cmd (a "\n" is added) and read its reply.  ck_asserts. */
void lt_ctl_cmd(int fd, const char *cmd, char *buf, size_t cap)
{
	char line[256];

	snprintf(line, sizeof(line), "%s\n", cmd);
	ck_assert(lh_send_all(fd, line, strlen(line)));
	ck_assert_msg(lt_ctl_read_reply(fd, buf, cap), "no complete reply to \"%s\": \"%s\"", cmd, buf);
}

/* The value of "STAT name value", -1 if absent. */
long long lt_stat_of(const char *reply, const char *name)
{
	char key[128];
	size_t klen = (size_t)snprintf(key, sizeof(key), "STAT %s ", name);

	for (const char *p = reply; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, klen) == 0)
			return strtoll(p + klen, NULL, 10);
	return -1;
}

/* The value of "STAT name word" as text, "" if absent. */
void lt_stat_word(const char *reply, const char *name, char *out, size_t len)
{
	char key[128];
	size_t klen = (size_t)snprintf(key, sizeof(key), "STAT %s ", name);

	out[0] = '\0';
	for (const char *p = reply; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0) {
			size_t n = strcspn(p + klen, "\n");
			snprintf(out, len, "%.*s", (int)n, p + klen);
			return;
		}
	}
}

/* An echo round trip on any listener, in its mode. */
void lt_check_listener(const struct lh_listen *l, int tag)
{
	unsigned char msg[64], back[128];
	char text[32];
	size_t len;

	snprintf(text, sizeof(text), "hello %s %d", l->proto, tag);
	if (strcmp(l->mode, "lars") == 0)
		len = lh_lars_frame(msg, tag, text, (uint32_t)strlen(text));
	else
		len = (size_t)snprintf((char *)msg, sizeof(msg), "%s", text);

	if (strcmp(l->proto, "tcp") == 0) {
		int fd = lh_tcp_connect_listener(l);
		ck_assert_msg(fd >= 0, "connect tcp %s port %u: %s", l->address,
			      (unsigned)l->port, strerror(errno));
		ck_assert_msg(lh_tcp_roundtrip(fd, msg, len), "no reply (%s mode) on tcp %s port %u",
			      l->mode, l->address, (unsigned)l->port);
		close(fd);
	} else {
		int fd = lh_udp_socket(l->address, l->port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ssize_t n = lh_udp_xchg(fd, msg, len, back, sizeof(back), 2000);
		ck_assert_msg(n == (ssize_t)len && memcmp(back, msg, len) == 0,
			      "no reply (%s mode) on udp %s port %u (got %zd)", l->mode, l->address,
			      (unsigned)l->port, n);
		close(fd);
	}
}

/* A lars listener must not answer half a frame: "hello" is no frame. */
void lt_check_lars_rejects_plain(const struct lh_listen *l)
{
	if (strcmp(l->proto, "tcp") == 0) {
		int fd = lh_tcp_connect_listener(l);
		ck_assert_int_ge(fd, 0);
		ck_assert(lh_send_all(fd, "hello", 5));
		ck_assert_msg(lh_quiet(fd, 150), "lars tcp answered a partial frame");
		close(fd);
	} else {
		char back[64];
		int fd = lh_udp_socket(l->address, l->port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(lh_udp_xchg(fd, "hello", 5, back, sizeof(back), 150) < 0,
			      "lars udp answered a malformed datagram");
		close(fd);
	}
}

/* ---- the suite ---------------------------------------------------------------- */

static Suite *larsd_suite(void)
{
	Suite *s = suite_create("larsd");

	lt_add_echo(s);
	lt_add_conf(s);
	lt_add_signals(s);
	lt_add_activation(s);
	lt_add_limits(s);
	lt_add_control(s);
	lt_add_larsctl(s);
	lt_add_stamp(s);
	lt_add_stamp_modes(s);
	lt_add_sessions(s);
	lt_add_io_backend(s);
	return s;
}

int main(void)
{
	return testutil_main(larsd_suite(), &lh_testutil_run);
}
