/*
 * st_signals.c - signals under load: 100 SIGHUP reloads while clients
 * run, and SIGTERM in the middle of heavy traffic.
 *
 * Both keep checked TCP clients (echo and lars, pipelined, every byte
 * compared) and UDP clients running.  Reload: no connection may end, no
 * byte may differ, every reload must go RELOADING=1 -> READY=1, the good
 * ones must take effect and the bad ones (every tenth) be refused.
 * SIGTERM: exit status 0 within shutdown_timeout_ms + 1 s, and what each
 * client got back is a byte-exact prefix of what it sent, ending on a
 * frame boundary for lars clients that saw a clean EOF.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- a closed-loop UDP client (echo and lars in turn) ------------------- */

struct udp_client {
	const struct lh_listen *echo, *lars;
	atomic_bool stop;
	pthread_t thread;
	size_t sent, answered, wrong, lost;
};

static void *udp_client_main(void *arg)
{
	struct udp_client *u = arg;
	int fds[2] = {lh_udp_socket(u->echo->address, u->echo->port, NULL, 0),
		      lh_udp_socket(u->lars->address, u->lars->port, NULL, 0)};
	unsigned char msg[600], back[700];

	if (fds[0] < 0 || fds[1] < 0) {
		u->lost++;
		return NULL;
	}
	while (!atomic_load(&u->stop)) {
		int k = (int)(u->sent % 2);
		size_t len;
		if (k == 0) {
			len = 1 + u->sent % 512;
			lh_pattern(msg, len, 5, u->sent * 1000);
		} else {
			unsigned char body[512];
			uint32_t blen = (uint32_t)(u->sent % 512);
			lh_pattern(body, blen, 6, u->sent * 1000);
			len = lh_lars_frame(msg, (int32_t)u->sent, body, blen);
		}
		u->sent++;
		ssize_t n = lh_udp_xchg(fds[k], msg, len, back, sizeof(back), 1000);
		if (n < 0)
			u->lost++;
		else if ((size_t)n != len || memcmp(msg, back, len) != 0)
			u->wrong++;
		else
			u->answered++;
	}
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

static void udp_client_start(struct udp_client *u, const struct lh_listen *echo,
			     const struct lh_listen *lars)
{
	memset(u, 0, sizeof(*u));
	u->echo = echo;
	u->lars = lars;
	ck_assert_int_eq(pthread_create(&u->thread, NULL, udp_client_main, u), 0);
}

static void udp_client_stop(struct udp_client *u)
{
	atomic_store(&u->stop, true);
	pthread_join(u->thread, NULL);
}

static size_t count_in(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---- 100 reloads --------------------------------------------------------- */

#define RELOADS 100
#define BAD_EVERY 10
#define RELOAD_CLIENTS 8 /* of each mode */

START_TEST(test_reload_100)
{
	const char *sc = "reload_100";
	struct lh_daemon d;
	struct st_load L;
	struct st_load_sum ls;
	struct udp_client uc;
	uint64_t lat[RELOADS];
	size_t n_lat = 0, no_cycle = 0, good = 0, bad = 0;
	unsigned last_limit_m = 8;

	lh_init(&d);
	size_t te = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t tl = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	size_t ue = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	size_t ul = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);
	st_load_init(&L, &d.ls[te], &d.ls[tl], RELOAD_CLIENTS, RELOAD_CLIENTS, 32768, 777);
	st_load_start(&L);
	udp_client_start(&uc, &d.ls[ue], &d.ls[ul]);
	lh_sleep_ms(200);
	uint64_t t0 = lh_now_ms();

	for (int i = 0; i < RELOADS; i++) {
		if (i % BAD_EVERY == BAD_EVERY - 1) {
			lh_write_file(d.conf_path, "larsd: {\n  threads = 2;\n  no_such_key = 1;\n"
						   "  listen = ( );\n};\n");
			bad++;
		} else {
			unsigned limit_m = 8 + (unsigned)(i % 3) * 4;
			snprintf(d.settings, sizeof(d.settings),
				 "  threads = 2;\n  max_connections = %d;\n  idle_timeout = %d;\n"
				 "  shutdown_timeout_ms = %d;\n",
				 1000 + i, 60 + i, 2000 + i);
			snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"%uM\";", limit_m);
			lh_write_conf(&d);
			last_limit_m = limit_m;
			good++;
		}
		size_t from = lh_note_count(&d);
		uint64_t t = st_now_us();
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		long r = lh_wait_note(&d, "RELOADING=1", from, 3000);
		long ready = r >= 0 ? lh_wait_note(&d, "READY=1", (size_t)r + 1, 3000) : -1;
		if (ready < 0)
			no_cycle++;
		else
			lat[n_lat++] = st_now_us() - t;
		lh_sleep_ms(30); /* traffic between reloads */
	}
	uint64_t reload_ms = lh_now_ms() - t0;
	lh_sleep_ms(200);
	st_load_finish(&L, 5000);
	udp_client_stop(&uc);
	st_load_sum(&L, &ls);

	long long accepted = st_stat(&d, "tcp_accepted");
	long long limit = st_stat(&d, "mem_limit");
	char *err = lh_read_file(d.err_path);
	size_t n_reloaded = count_in(err, "reloaded ");
	size_t n_refused = count_in(err, "keeping the running configuration");
	free(err);
	uint64_t p50 = st_percentile(lat, n_lat, 50), p99 = st_percentile(lat, n_lat, 99),
		 pmax = st_percentile(lat, n_lat, 100);

	st_figure(sc, "sighups=%d in %llu ms: applied=%zu (logged %zu) refused=%zu (logged %zu) "
		  "without RELOADING/READY=%zu; SIGHUP->READY p50_us=%llu p99_us=%llu max_us=%llu",
		  RELOADS, (unsigned long long)reload_ms, good, n_reloaded, bad, n_refused,
		  no_cycle, (unsigned long long)p50, (unsigned long long)p99,
		  (unsigned long long)pmax);
	st_figure(sc, "tcp clients=%zu open=%zu eof=%zu reset=%zu wrong_bytes=%llu "
		  "in_flight=%zu checked_bytes=%llu tcp_accepted=%lld",
		  L.n, ls.open, ls.eof, ls.reset, (unsigned long long)ls.wrong, ls.in_flight,
		  (unsigned long long)ls.received, accepted);
	st_figure(sc, "udp datagrams=%zu answered=%zu wrong=%zu lost=%zu; mem_limit after=%lld",
		  uc.sent, uc.answered, uc.wrong, uc.lost, limit);

	ck_assert_msg(lh_alive(&d), "larsd died during the reloads");
	ck_assert_msg(no_cycle == 0, "%zu reloads did not go RELOADING=1 -> READY=1", no_cycle);
	ck_assert_msg(n_reloaded == good, "%zu good configs, %zu applied", good, n_reloaded);
	ck_assert_msg(n_refused == bad, "%zu bad configs, %zu refused", bad, n_refused);
	ck_assert_msg(limit == (long long)last_limit_m << 20, "mem_limit=%lld, the last config "
		      "says %uM", limit, last_limit_m);
	ck_assert_msg(ls.open == L.n && ls.eof == 0 && ls.reset == 0,
		      "connections dropped: %zu ended by EOF, %zu by reset", ls.eof, ls.reset);
	ck_assert_msg(accepted == (long long)L.n, "tcp_accepted=%lld: clients reconnected?",
		      accepted);
	ck_assert_msg(ls.wrong == 0 && uc.wrong == 0, "wrong bytes: tcp %llu, udp datagrams %zu",
		      (unsigned long long)ls.wrong, uc.wrong);
	ck_assert_msg(ls.in_flight == 0, "%zu clients did not get all their bytes back",
		      ls.in_flight);
	ck_assert_msg(uc.lost == 0, "%zu UDP datagrams unanswered", uc.lost);
	st_load_free(&L);
	/* The last SIGHUP met a bad file: larsd runs on the good one before. */
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- SIGTERM under load ---------------------------------------------------- */

#define TERM_CLIENTS 24 /* of each mode */
#define STUCK_CLIENTS 8 /* send, never read, never close: only the deadline ends them */
#define SHUTDOWN_MS 2000
#define EXIT_SLACK_MS 1000

struct udp_blaster {
	int fd;
	atomic_bool stop;
	pthread_t thread;
	uint64_t sent;
};

static void *blaster_main(void *arg)
{
	struct udp_blaster *b = arg;
	unsigned char msg[512];
	char sink[2048];

	lh_pattern(msg, sizeof(msg), 3, 0);
	while (!atomic_load(&b->stop)) {
		if (send(b->fd, msg, sizeof(msg), MSG_DONTWAIT) > 0)
			b->sent++;
		while (recv(b->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
	return NULL;
}

START_TEST(test_sigterm_under_load)
{
	const char *sc = "sigterm_under_load";
	struct lh_daemon d;
	struct st_load L;
	struct st_load_sum ls;
	struct udp_blaster ub;

	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  shutdown_timeout_ms = %d;\n",
		 SHUTDOWN_MS);
	size_t te = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t tl = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	size_t ue = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	st_load_init(&L, &d.ls[te], &d.ls[tl], TERM_CLIENTS, TERM_CLIENTS, 65536, 31337);
	memset(&ub, 0, sizeof(ub));
	ub.fd = lh_udp_socket("127.0.0.1", d.ls[ue].port, NULL, 0);
	ck_assert_int_ge(ub.fd, 0);
	st_load_start(&L);
	ck_assert_int_eq(pthread_create(&ub.thread, NULL, blaster_main, &ub), 0);
	int stuck[STUCK_CLIENTS];
	size_t stuck_pushed;
	static char chunk[65536];
	for (int i = 0; i < STUCK_CLIENTS; i++) {
		stuck[i] = lh_tcp_connect_nb("127.0.0.1", d.ls[te].port, 4096);
		ck_assert_int_ge(stuck[i], 0);
	}
	memset(chunk, 'h', sizeof(chunk));
	stuck_pushed = lh_push_until_stalled(stuck, STUCK_CLIENTS, chunk, sizeof(chunk), SIZE_MAX,
					     2000, 2000);

	long long out0 = st_stat(&d, "bytes_out");
	long long conns = st_stat(&d, "connections");
	long long stalled = st_stat(&d, "tcp_stalled_nomem");
	size_t from = lh_note_count(&d);
	uint64_t t0 = lh_now_ms();
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	int code = lh_wait_exit(&d, SHUTDOWN_MS + 5000);
	uint64_t exit_ms = lh_now_ms() - t0;
	bool stopping = lh_wait_note(&d, "STOPPING=1", from, 100) >= 0;
	lh_sleep_ms(300);
	st_load_finish(&L, 3000);
	atomic_store(&ub.stop, true);
	pthread_join(ub.thread, NULL);
	close(ub.fd);
	st_load_sum(&L, &ls);
	size_t stuck_closed = 0;
	for (int i = 0; i < STUCK_CLIENTS; i++) {
		stuck_closed += lh_wait_closed(stuck[i], 0) != 0 || lh_wait_closed(stuck[i], 500) != 0;
		close(stuck[i]);
	}

	st_figure(sc, "tcp connections=%lld: %d checked clients (%d echo, %d lars, 64K in flight "
		  "each), %d that never read (pushed %zu bytes) + udp blaster (%llu datagrams); "
		  "larsd had sent %lld bytes when SIGTERM came, tcp_stalled_nomem=%lld",
		  conns, 2 * TERM_CLIENTS, TERM_CLIENTS, TERM_CLIENTS, STUCK_CLIENTS, stuck_pushed,
		  (unsigned long long)ub.sent, out0, stalled);
	st_figure(sc, "exit code=%d after %llu ms (shutdown_timeout_ms=%d) STOPPING=1 %s",
		  code, (unsigned long long)exit_ms, SHUTDOWN_MS, stopping ? "seen" : "missing");
	st_figure(sc, "clients that never read: %zu/%d closed by larsd", stuck_closed,
		  STUCK_CLIENTS);
	st_figure(sc, "checked clients: clean_eof=%zu reset=%zu still_open=%zu wrong_bytes=%llu "
		  "lars partial frame at eof=%zu at reset=%zu; checked bytes sent=%llu echoed=%llu",
		  ls.eof, ls.reset, ls.open, (unsigned long long)ls.wrong, ls.partial_eof,
		  ls.partial_reset, (unsigned long long)ls.sent, (unsigned long long)ls.received);

	ck_assert_msg(code == 0, "larsd exited with %d (-1: still running after %d ms)", code,
		      SHUTDOWN_MS + 5000);
	ck_assert_msg(exit_ms <= SHUTDOWN_MS + EXIT_SLACK_MS,
		      "larsd took %llu ms to exit, shutdown_timeout_ms is %d",
		      (unsigned long long)exit_ms, SHUTDOWN_MS);
	ck_assert_msg(exit_ms >= SHUTDOWN_MS - 100, "larsd exited after %llu ms, before "
		      "shutdown_timeout_ms=%d, with clients that never read still connected",
		      (unsigned long long)exit_ms, SHUTDOWN_MS);
	ck_assert_msg(ls.wrong == 0, "%llu wrong bytes came back", (unsigned long long)ls.wrong);
	ck_assert_msg(ls.open == 0, "%zu connections neither closed nor reset", ls.open);
	ck_assert_msg(ls.partial_eof == 0,
		      "%zu lars clients got part of a frame and then a clean EOF", ls.partial_eof);
	st_load_free(&L);
	lh_cleanup(&d);
}
END_TEST

void stress_add_signals(Suite *s)
{
	testutil_add(s, "reload_100", test_reload_100, 60);
	testutil_add(s, "sigterm_under_load", test_sigterm_under_load, 30);
}
