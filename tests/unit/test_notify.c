/*
 * test_notify.c - larsd's side of systemd's notification, watchdog and
 * socket activation protocols (src/larsd/notify.c), compiled in.
 *
 * The end-to-end suite (tests/e2e/larsd_signals.c, larsd_activation.c)
 * checks larsd's notifications and activated sockets as a whole, and the
 * package test runs them under a real systemd; here are the protocol's
 * edges: an abstract and a path socket; no socket; an address larsd
 * cannot use; the watchdog's WATCHDOG_PID and a malformed interval;
 * LISTEN_PID naming this process or another, descriptors made
 * close-on-exec and the variables removed.
 */
#include "config.h"

#include "notify.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound to name ("@..." abstract, or a path). */
static int receiver(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				     (name[0] == '/'));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, slen), 0);
	return fd;
}

static void expect(int fd, const char *want)
{
	char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

START_TEST(abstract_socket)
{
	char name[64];

	snprintf(name, sizeof(name), "@lars-test-notify-%ld", (long)getpid());
	int fd = receiver(name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	notify_ready("serving 4 listeners");
	expect(fd, "READY=1\nSTATUS=serving 4 listeners");
	notify_reloading();
	expect(fd, "RELOADING=1\nSTATUS=reloading the configuration");
	notify_watchdog();
	expect(fd, "WATCHDOG=1");
	notify_stopping();
	expect(fd, "STOPPING=1\nSTATUS=stopping: flushing connections");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}
END_TEST

START_TEST(path_socket)
{
	char dir[] = "/tmp/lars-test-notify.XXXXXX", name[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(name, sizeof(name), "%s/notify", dir);
	int fd = receiver(name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	notify_status("3 connections");
	expect(fd, "STATUS=3 connections");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	ck_assert_int_eq(unlink(name), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(no_socket)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_send("READY=1"), 0); /* nobody listens: fine */
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
	errno = 0;
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "@lars-test-notify-nobody-binds-this", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1); /* ECONNREFUSED */
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(watchdog)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "20000000", 1), 0);
	ck_assert_uint_eq(notify_watchdog_usec(), 20000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_uint_eq(notify_watchdog_usec(), 20000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	ck_assert_uint_eq(notify_watchdog_usec(), 0); /* another process's */
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "20s", 1), 0);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "-1", 1), 0);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}
END_TEST

/* In a child of its own: it puts sockets at descriptors 3 and 4. */
static int listen_fds_child(void *arg)
{
	char pid[32];
	int sv[2];
	(void)arg;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || dup2(sv[0], 3) < 0 ||
	    dup2(sv[1], 4) < 0)
		return 10;
	/* Another process's descriptors: none, and the variables go. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	if (notify_listen_fds() != 0 || getenv("LISTEN_PID") || getenv("LISTEN_FDS"))
		return 11;
	/* No LISTEN_PID: none. */
	setenv("LISTEN_FDS", "2", 1);
	if (notify_listen_fds() != 0)
		return 12;
	/* Its own: 2, close-on-exec, the variables gone. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "tcp:udp", 1);
	if (notify_listen_fds() != 2)
		return 13;
	if (!(fcntl(3, F_GETFD) & FD_CLOEXEC) || !(fcntl(4, F_GETFD) & FD_CLOEXEC))
		return 14;
	if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
		return 15;
	/* Read once: a second call finds nothing. */
	return notify_listen_fds() == 0 ? 0 : 16;
}

START_TEST(listen_fds)
{
	ck_assert_int_eq(testutil_in_child(listen_fds_child, NULL), 0);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");

	testutil_add(s, "abstract_socket", abstract_socket, 5);
	testutil_add(s, "path_socket", path_socket, 5);
	testutil_add(s, "no_socket", no_socket, 5);
	testutil_add(s, "watchdog", watchdog, 5);
	testutil_add(s, "listen_fds", listen_fds, 5);
	return s;
}

int main(void)
{
	return testutil_main(notify_suite(), NULL);
}
