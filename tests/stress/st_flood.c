/*
 * st_flood.c - a connection flood past max_connections.
 *
 * max_connections = 100, held by 100 resident clients (50 echo, 50 lars)
 * that keep checked traffic flowing; then 2000 more connections in waves
 * of 250.  Each extra one must be closed by larsd at once (EOF or reset,
 * no data), counted in tcp_refused_limit; the residents must lose no byte
 * and no connection; afterwards a freed slot serves a new client and the
 * daemon stops cleanly.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESIDENTS 100
#define FLOOD 2000
#define WAVE 250
#define REFUSE_WAIT_MS 2000
#define SERIAL 200 /* then one at a time, for the refusal latency */

struct wave_result {
	size_t connect_failed, eof, reset, data, hung;
};

/* Connect a wave, then wait for larsd to close every one of them. */
static void flood_wave(uint16_t port, size_t n, uint64_t *lat_us, size_t *n_lat,
		       struct wave_result *r, int *first_errno)
{
	int fds[WAVE];
	uint64_t t_conn[WAVE];
	bool done[WAVE];
	size_t live = 0;

	for (size_t i = 0; i < n; i++) {
		t_conn[i] = st_now_us();
		fds[i] = lh_tcp_connect_nb("127.0.0.1", port, 0);
		done[i] = fds[i] < 0;
		if (fds[i] < 0) {
			r->connect_failed++;
			if (!*first_errno)
				*first_errno = errno;
		} else {
			live++;
		}
	}
	uint64_t end = lh_now_ms() + REFUSE_WAIT_MS;
	struct pollfd pf[WAVE];
	size_t idx[WAVE];
	while (live > 0 && lh_now_ms() < end) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (!done[i]) {
				pf[np] = (struct pollfd){fds[i], POLLIN, 0};
				idx[np++] = i;
			}
		if (poll(pf, np, 50) <= 0)
			continue;
		for (size_t k = 0; k < np; k++) {
			if (!pf[k].revents)
				continue;
			size_t i = idx[k];
			char c;
			ssize_t got = recv(fds[i], &c, 1, MSG_DONTWAIT);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got > 0)
				r->data++;
			else if (got == 0)
				r->eof++;
			else
				r->reset++;
			lat_us[(*n_lat)++] = st_now_us() - t_conn[i];
			done[i] = true;
			live--;
		}
	}
	r->hung += live;
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

START_TEST(test_connection_flood)
{
	const char *sc = "connection_flood";
	struct lh_daemon d;
	struct st_load L;
	struct st_load_sum after;
	struct wave_result wr = {0, 0, 0, 0, 0};
	static uint64_t lat[FLOOD];
	size_t n_lat = 0;
	int first_errno = 0;

	ck_assert_msg(st_raise_nofile() >= RESIDENTS + WAVE + 100, "RLIMIT_NOFILE too low");
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  max_connections = %d;\n",
		 RESIDENTS);
	size_t e = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t m = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	st_backlog(&d, e);
	st_backlog(&d, m);
	lh_start_ok(&d);

	st_load_init(&L, &d.ls[e], &d.ls[m], RESIDENTS / 2, RESIDENTS / 2, 16384, 1000);
	st_load_start(&L);
	lh_sleep_ms(500);
	long long conns0 = st_stat(&d, "connections");
	long rss0 = lh_rss_kib(d.pid);
	long long out0 = st_stat(&d, "bytes_out");

	uint64_t t0 = lh_now_ms();
	for (size_t done = 0; done < FLOOD; done += WAVE)
		flood_wave(d.ls[done / WAVE % 2 ? m : e].port, WAVE, lat, &n_lat, &wr,
			   &first_errno);
	uint64_t flood_ms = lh_now_ms() - t0;

	/* Refusal latency, one connection at a time: connect to EOF. */
	static uint64_t one[SERIAL];
	size_t n_one = 0, one_bad = 0;
	for (int i = 0; i < SERIAL; i++) {
		uint64_t t = st_now_us();
		int fd = lh_tcp_connect("127.0.0.1", d.ls[i % 2 ? m : e].port, NULL);
		if (fd >= 0 && lh_wait_closed(fd, REFUSE_WAIT_MS) == 1)
			one[n_one++] = st_now_us() - t;
		else
			one_bad++;
		if (fd >= 0)
			close(fd);
	}

	long long out1 = st_stat(&d, "bytes_out");
	long long refused = st_stat(&d, "tcp_refused_limit");
	long long accepted = st_stat(&d, "tcp_accepted");
	long long conns1 = st_stat(&d, "connections");
	long rss1 = lh_rss_kib(d.pid);
	st_load_finish(&L, 5000);
	st_load_sum(&L, &after);

	uint64_t p50 = st_percentile(lat, n_lat, 50), p99 = st_percentile(lat, n_lat, 99),
		 pmax = st_percentile(lat, n_lat, 100);
	st_figure(sc, "max_connections=%d residents=%lld flood=%d in %llu ms "
		  "(%.0f connections/s)",
		  RESIDENTS, conns0, FLOOD, (unsigned long long)flood_ms,
		  (double)FLOOD * 1000.0 / (double)flood_ms);
	st_figure(sc, "refused: eof=%zu reset=%zu got_data=%zu not_closed=%zu connect_failed=%zu "
		  "tcp_refused_limit=%lld tcp_accepted=%lld",
		  wr.eof, wr.reset, wr.data, wr.hung, wr.connect_failed, refused, accepted);
	st_figure(sc, "in waves of %d (all connects first, then the closes): connect-to-close "
		  "p50_us=%llu p99_us=%llu max_us=%llu",
		  WAVE, (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)pmax);
	st_figure(sc, "%d more one at a time: refused=%zu not_refused=%zu connect-to-close "
		  "p50_us=%llu p99_us=%llu max_us=%llu",
		  SERIAL, n_one, one_bad, (unsigned long long)st_percentile(one, n_one, 50),
		  (unsigned long long)st_percentile(one, n_one, 99),
		  (unsigned long long)st_percentile(one, n_one, 100));
	st_figure(sc, "residents during the flood: bytes_echoed=%lld; after: open=%zu eof=%zu "
		  "reset=%zu wrong_bytes=%llu in_flight=%zu; total_checked_bytes=%llu",
		  out1 - out0, after.open, after.eof, after.reset,
		  (unsigned long long)after.wrong, after.in_flight,
		  (unsigned long long)after.received);
	st_figure(sc, "rss_kib before=%ld after=%ld; connections after=%lld", rss0, rss1, conns1);

	ck_assert_msg(conns0 == RESIDENTS, "%lld residents connected, expected %d", conns0,
		      RESIDENTS);
	ck_assert_msg(wr.connect_failed == 0, "%zu flood connections could not connect: %s",
		      wr.connect_failed, strerror(first_errno));
	ck_assert_msg(wr.hung == 0, "%zu connections past the limit were left open", wr.hung);
	ck_assert_msg(wr.data == 0, "%zu connections past the limit got data", wr.data);
	ck_assert_msg(one_bad == 0, "%zu of %d connections past the limit were not closed",
		      one_bad, SERIAL);
	ck_assert_msg(refused == FLOOD + SERIAL, "tcp_refused_limit=%lld, expected %d", refused,
		      FLOOD + SERIAL);
	ck_assert_msg(accepted == RESIDENTS, "tcp_accepted=%lld, expected %d", accepted,
		      RESIDENTS);
	ck_assert_msg(conns1 == RESIDENTS, "connections=%lld after the flood", conns1);
	ck_assert_msg(after.wrong == 0, "residents got %llu wrong bytes",
		      (unsigned long long)after.wrong);
	ck_assert_msg(after.open == RESIDENTS, "%zu residents lost their connection (eof %zu, "
		      "reset %zu)", RESIDENTS - after.open, after.eof, after.reset);
	ck_assert_msg(after.in_flight == 0, "%zu residents did not get all their bytes back",
		      after.in_flight);
	ck_assert_msg(out1 > out0, "the residents were not served during the flood");

	/* A freed slot is usable at once. */
	close(L.c[0].fd);
	L.c[0].fd = -1;
	bool served = false;
	for (uint64_t until = lh_now_ms() + 2000; !served && lh_now_ms() < until;) {
		lh_sleep_ms(20);
		int fd = lh_tcp_connect_listener(&d.ls[e]);
		served = fd >= 0 && lh_tcp_roundtrip(fd, "slot", 4);
		if (fd >= 0)
			close(fd);
	}
	ck_assert_msg(served, "a freed slot did not serve a new client");
	st_load_free(&L);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void stress_add_flood(Suite *s)
{
	testutil_add(s, "connection_flood", test_connection_flood, 60);
}
