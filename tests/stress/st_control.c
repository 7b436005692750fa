/*
 * st_control.c - the control socket's idle timeout, in real time.
 *
 * A client that connects and says nothing is closed after CTLSOCK_IDLE_MS
 * (60 s: too slow for make check), while a client that asks something
 * every 10 s is kept and answered, and a new client is served afterwards.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include "../../src/larsd/ctlsock.h" /* CTLSOCK_IDLE_MS: one home */

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_open(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Send "version" and expect "VERSION ..." within 2 s. */
static bool ctl_version(int fd)
{
	char buf[128];
	if (!lh_send_all(fd, "version\n", 8))
		return false;
	size_t n = 0;
	uint64_t end = lh_now_ms() + 2000;
	while (lh_now_ms() < end && (n == 0 || buf[n - 1] != '\n')) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			return false;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return strncmp(buf, "VERSION ", 8) == 0;
}

START_TEST(test_control_idle)
{
	const char *sc = "control_idle";
	struct lh_daemon d;
	char path[PATH_MAX];

	lh_init(&d);
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	snprintf(path, sizeof(path), "%s/control", d.dir);
	int idle = ctl_open(path), busy = ctl_open(path);
	uint64_t t0 = lh_now_ms(), closed_ms = 0, next_ask = t0;
	unsigned answers = 0, asks = 0;

	while (lh_now_ms() - t0 < CTLSOCK_IDLE_MS + 10000 && !closed_ms) {
		if (lh_now_ms() >= next_ask) {
			asks++;
			answers += ctl_version(busy);
			next_ask += 10000;
		}
		struct pollfd p = {idle, POLLIN, 0};
		if (poll(&p, 1, 200) > 0) {
			char c;
			if (recv(idle, &c, 1, 0) == 0)
				closed_ms = lh_now_ms() - t0;
		}
	}
	bool busy_ok = ctl_version(busy);
	int fresh = ctl_open(path);
	bool fresh_ok = ctl_version(fresh);
	st_figure(sc, "idle client closed after %llu ms (limit %u); the busy one answered %u of %u, "
		  "and after; a new client %s", (unsigned long long)closed_ms, CTLSOCK_IDLE_MS,
		  answers, asks, fresh_ok ? "served" : "NOT served");
	close(idle);
	close(busy);
	close(fresh);
	lh_stop_ok(&d);
	lh_cleanup(&d);
	ck_assert_msg(closed_ms >= CTLSOCK_IDLE_MS - 1000 && closed_ms <= CTLSOCK_IDLE_MS + 3000,
		      "idle client closed after %llu ms, want about %u", (unsigned long long)closed_ms,
		      CTLSOCK_IDLE_MS);
	ck_assert_msg(answers == asks && busy_ok, "the busy client was answered %u of %u", answers,
		      asks);
	ck_assert_msg(fresh_ok, "a new client was not served");
}
END_TEST

void stress_add_control(Suite *s)
{
	testutil_add(s, "control_idle", test_control_idle, 90);
}
