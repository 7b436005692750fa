/*
 * larsd_io_backend.c - larsd end to end: io_backend (epoll, io_uring,
 * auto), the fallback where io_uring cannot run, and a reload that asks
 * for another backend.
 *
 * The rest of tests/e2e/test_larsd runs on the default backend, and once
 * more with LARSD_TEST_IO_BACKEND=epoll (tests/run-all), so every data path
 * case passes on both; the cases here pin what the backend choice does.
 * Where this kernel cannot run larsd's io_uring path at all (older than
 * 6.1, io_uring disabled, a container's seccomp profile), the io_uring
 * cases check the refusal instead, so the suite means the same anywhere.
 */
#include "config.h"

#include "larsd_tests.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Why io_uring cannot run under the harness's seccomp filter, or at all
 * in a larsd configured --without-liburing. */
#ifdef HAVE_LIBURING
#define NOT_HERE "cannot run here: io_uring_setup: Operation not permitted"
#define NOT_HERE_HINT " (kernel.io_uring_disabled, or a seccomp filter, forbids io_uring)"
#else
#define NOT_HERE "cannot run here: larsd was built without liburing"
#define NOT_HERE_HINT ""
#endif

/* Does this kernel let us make a ring as larsd's io_uring path does? */
static bool io_uring_here(void)
{
#ifndef HAVE_LIBURING
	return false;
#else
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_R_DISABLED;
	long fd = syscall(__NR_io_uring_setup, 8, &p);
	if (fd < 0)
		return false;
	close((int)fd);
	return true;
#endif
}

/* A daemon with one listener of each kind, on io_backend = io. */
static void start_with(struct lh_daemon *d, const char *io, size_t *tcp, size_t *lars,
		       size_t *udp)
{
	lh_init(d);
	snprintf(d->settings, sizeof(d->settings), "  threads = 2;\n  io_backend = \"%s\";\n", io);
	*tcp = lh_add(d, "tcp", "127.0.0.1", "echo", false);
	*lars = lh_add(d, "tcp", "127.0.0.1", "lars", false);
	*udp = lh_add(d, "udp", "127.0.0.1", "echo", false);
}

static void check_serves(struct lh_daemon *d, size_t tcp, size_t lars, size_t udp)
{
	for (int tag = 1; tag <= 3; tag++) {
		lt_check_listener(&d->ls[tcp], tag);
		lt_check_listener(&d->ls[lars], tag);
		lt_check_listener(&d->ls[udp], tag);
	}
	lt_check_lars_rejects_plain(&d->ls[lars]);
}

/* io_backend = "epoll": says so, serves. */
START_TEST(test_epoll)
{
	struct lh_daemon d;
	size_t t, l, u;

	start_with(&d, "epoll", &t, &l, &u);
	lh_start_ok(&d);
	ck_assert_msg(lh_wait_stderr(&d, "2 workers on epoll", 2000), "no \"on epoll\" line");
	ck_assert_msg(!lh_stderr_has(&d, "io_backend"), "epoll asked for, io_uring talked of");
	check_serves(&d, t, l, u);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* io_backend = "io_uring": runs on it where the kernel can, and where it
 * cannot, exits 1 with one line naming the cause, listening on nothing. */
START_TEST(test_io_uring)
{
	struct lh_daemon d;
	size_t t, l, u;

	start_with(&d, "io_uring", &t, &l, &u);
	if (!io_uring_here()) {
		ck_assert_msg(!lh_start(&d), "started without io_uring");
		ck_assert_int_eq(lh_wait_exit(&d, 2000), 1);
		ck_assert_msg(lh_stderr_has(&d, "io_backend \"io_uring\" cannot run here: "),
			      "no reason given");
		lh_cleanup(&d);
		return;
	}
	lh_start_ok(&d);
	ck_assert_msg(lh_wait_stderr(&d, "2 workers on io_uring", 2000), "no \"on io_uring\" line");
	check_serves(&d, t, l, u);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* "auto" under a seccomp filter that refuses io_uring_setup(): one notice
 * with the reason, then epoll, serving as ever. */
START_TEST(test_auto_falls_back)
{
	struct lh_daemon d;
	size_t t, l, u;

	start_with(&d, "auto", &t, &l, &u);
	d.deny_io_uring = true;
	lh_start_ok(&d);
	ck_assert_msg(lh_wait_stderr(&d, "2 workers on epoll", 2000), "no \"on epoll\" line");
	ck_assert_msg(lh_stderr_has(&d, "<5>io_backend \"auto\": using epoll, as io_uring " NOT_HERE
					NOT_HERE_HINT "\n"),
		      "no notice of the fallback with its reason");
	check_serves(&d, t, l, u);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* "io_uring" under the same filter: exit 1, one line, nothing bound. */
START_TEST(test_io_uring_refused)
{
	struct lh_daemon d;
	size_t t, l, u;

	start_with(&d, "io_uring", &t, &l, &u);
	d.deny_io_uring = true;
	ck_assert_msg(!lh_start(&d), "started with io_uring refused");
	ck_assert_int_eq(lh_wait_exit(&d, 2000), 1);
	char *err = lh_read_file(d.err_path);
	ck_assert_msg(strstr(err, "<3>io_backend \"io_uring\" " NOT_HERE) != NULL, "stderr: %s", err);
	ck_assert_msg(strchr(err, '\n') == strrchr(err, '\n'), "more than one line: %s", err);
	free(err);
	int fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, NULL);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "TCP port %u is served after the refusal",
		      (unsigned)d.ls[t].port);
	lh_cleanup(&d);
}
END_TEST

/* A reload keeps the backend the workers run on, and says so whenever the
 * file asks for another one: compared with what runs, not with the file
 * of the reload before. */
START_TEST(test_reload_keeps_backend)
{
	const char *later = "<5>reload: io_backend = \"io_uring\" takes effect at the next "
			    "start (running on epoll)";
	struct lh_daemon d;
	size_t t, l, u;

	start_with(&d, "epoll", &t, &l, &u);
	lh_start_ok(&d);
	int fd = lh_tcp_connect_listener(&d.ls[t]);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_tcp_roundtrip(fd, "before", 6));
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  io_backend = \"io_uring\";\n");
	lh_write_conf(&d);
	lt_reload(&d);
	ck_assert_msg(lh_stderr_count(&d, later) == 1, "no notice that io_backend waits for a restart");
	lt_reload(&d);
	ck_assert_msg(lh_stderr_count(&d, later) == 2, "a second reload forgot what runs");
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  io_backend = \"epoll\";\n");
	lh_write_conf(&d);
	lt_reload(&d);
	ck_assert_msg(lh_stderr_count(&d, "reload: io_backend") == 2,
		      "a notice for the backend that runs");
	ck_assert_msg(lh_tcp_roundtrip(fd, "after", 5), "the open connection broke");
	ck_assert_int_eq(lh_stderr_count(&d, " on io_uring"), 0);
	close(fd);
	check_serves(&d, t, l, u);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void lt_add_io_backend(Suite *s)
{
	testutil_add(s, "io_epoll", test_epoll, 10);
	testutil_add(s, "io_uring", test_io_uring, 10);
	testutil_add(s, "io_auto_fallback", test_auto_falls_back, 10);
	testutil_add(s, "io_uring_refused", test_io_uring_refused, 10);
	testutil_add(s, "io_reload", test_reload_keeps_backend, 15);
}
