/*
 * larsd_activation.c - larsd end to end: socket activation.
 *
 * Sockets bound here and passed as LISTEN_FDS/LISTEN_PID, as systemd does:
 * larsd uses them (a connection queued before it started included) and
 * says what it does with one that its config does not name.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t count_from_systemd(const char *log)
{
	size_t n = 0;

	for (const char *p = log; (p = strstr(p, "from systemd")) != NULL; p++)
		n++;
	return n;
}

/* ---- socket activation --------------------------------------------------- */

/* Sockets bound here, passed as LISTEN_FDS: larsd uses them, including a
 * connection queued before it started. */
START_TEST(test_socket_activation)
{
	struct lh_daemon d;
	const char *v6 = lt_have_v6() ? "::1" : "127.0.0.1";
	char back[16];

	lh_init(&d);
	size_t t4 = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_add(&d, "tcp", v6, "lars", true);
	lh_add(&d, "udp", v6, "lars", true);

	/* The kernel queues this connection on the passed socket. */
	int early = lh_tcp_connect_listener(&d.ls[t4]);
	ck_assert_int_ge(early, 0);
	ck_assert(lh_send_all(early, "early", 5));

	lh_start_ok(&d);
	char *err = lh_read_file(d.err_path);
	ck_assert_msg(count_from_systemd(err) == d.n_ls, "not all listeners came from systemd:\n%s",
		      err);
	free(err);
	ck_assert_uint_eq(lh_recv_exact(early, back, 5, 2000), 5);
	ck_assert_mem_eq(back, "early", 5);
	close(early);
	for (size_t i = 0; i < d.n_ls; i++)
		lt_check_listener(&d.ls[i], (int)i);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A passed socket that matches no listener in the config is an error. */
START_TEST(test_socket_activation_unmatched)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t stray = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	d.ls[stray].hidden = true;
	lh_add(&d, "udp", "127.0.0.1", "echo", true);
	ck_assert(!lh_start(&d));
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_msg(lh_stderr_has(&d, "matches no listener"), "no error about the stray socket");
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_activation(Suite *s)
{
	testutil_add(s, "activation", test_socket_activation, 10);
	testutil_add(s, "activation_unmatched", test_socket_activation_unmatched, 10);
}
