/*
 * test_larsd_bench_stamp.c - larsd-bench --stamp, the STAMP Session-Sender,
 * end to end.
 *
 * Against larsd's own Session-Reflector (mode = "stamp", started on a free
 * loopback port by tests/larsd_harness.c): closed loop and paced runs,
 * both timestamp formats, padding, the SSID, the TTL the reflector saw,
 * residence, forward and backward delays in the JSON summary.
 *
 * Against small reflectors on a thread of the test, built on the shared
 * wire module (src/stamp/stamp_wire.h) so they reflect correctly except
 * where they are meant not to: one that answers every packet twice
 * (duplicates, not errors), one that swaps each pair of packets
 * (reordered), one that drops every fourth (losses), and a plain echo
 * server, which is no reflector at all (every reply corrupt, exit 1).
 *
 * And, as units: the signed distributions of stamp_stats.c (forward and
 * backward delays may be negative when the clocks are not synchronised)
 * and the host clock's Error Estimate (src/stamp/stamp_clock.c).
 *
 * Every run is bounded (-n with -t 2, or -t under a second) on loopback.
 */
#include "config.h"

#include "bench_util.h"
#include "larsd_harness.h"
#include "stamp_clock.h"
#include "stamp_stats.h"
#include "stamp_wire.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- larsd's reflector ------------------------------------------------------ */

/* One worker: replies leave in the order requests arrived, so a sender's
 * packets come back in order (with two workers sharing the socket, one
 * may overtake another: how often depends only on the scheduler). */
static void start_larsd(struct lh_daemon *d, char *port, size_t len)
{
	lh_init(d);
	snprintf(d->settings, sizeof(d->settings), "  threads = 1;\n");
	lh_add(d, "udp", "127.0.0.1", "stamp", true);
	if (!lh_start(d)) {
		char *err = lh_read_file(d->err_path);
		ck_abort_msg("larsd did not become ready; stderr:\n%s", err);
	}
	snprintf(port, len, "%u", (unsigned)d->ls[0].port);
}

static void stop_larsd(struct lh_daemon *d)
{
	ck_assert_int_eq(lh_stop(d, LH_STOP_MS), 0);
	lh_cleanup(d);
}

/* What every clean STAMP run of n packets against a reflector on this host
 * shows. */
static void assert_stamp_clean(const struct lh_exec *b, long n)
{
	ck_assert_code(b, 0);
	ck_assert_num(b, "replies", ==, n);
	ck_assert_num(b, "errors", ==, 0);
	ck_assert_num(b, "losses", ==, 0);
	ck_assert_num(b, "late", ==, 0);
	ck_assert_num(b, "duplicates", ==, 0);
	ck_assert_ptr_nonnull(strstr(b->out, "\"mode\":\"stamp\""));
	/* Round trip T4 - T1 covers the reflector's T3 - T2. */
	ck_assert_msg(num_in(b, "latency_us", "p50") > 0, "%s", b->out);
	ck_assert_msg(num_in(b, "residence_us", "max") > 0, "%s", b->out);
	ck_assert_msg(num_in(b, "latency_us", "max") >= num_in(b, "residence_us", "min"), "%s",
		      b->out);
	/* One host, one clock: T1 <= T2 and T3 <= T4, within the resolution. */
	ck_assert_msg(num_in(b, "forward_us", "min") >= -0.001, "%s", b->out);
	ck_assert_msg(num_in(b, "backward_us", "min") >= -0.001, "%s", b->out);
	ck_assert_ptr_nonnull(strstr(b->out, "\"note\":\"forward and backward delays need"));
}

START_TEST(test_stamp_larsd)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d, port, sizeof(port));
	const char *args[] = {"--stamp", "-P", port, "-n", "2000", "-c", "2", "-d", "4", "-T",
			      "2", "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_stamp_clean(&b, 2000);
	ck_assert_num(&b, "reordered", ==, 0);
	ck_assert_num(&b, "size", ==, 44);
	ck_assert_num(&b, "ssid", ==, 1);
	ck_assert_ptr_nonnull(strstr(b.out, "\"timestamps\":\"ntp\""));
	/* larsd reads the TTL of each request: 64 on loopback. */
	ck_assert_num(&b, "ttl_min", ==, 64);
	ck_assert_num(&b, "ttl_max", ==, 64);

	/* PTPv2 timestamps, padding, another SSID: the reflector answers in
	 * kind, and the reply is as long as the request. */
	const char *ptp[] = {"--stamp", "-P", port, "-n", "500", "--ptp", "-s", "200", "--ssid",
			     "4242", "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, ptp);
	assert_stamp_clean(&b, 500);
	ck_assert_num(&b, "reordered", ==, 0); /* one in flight at a time */
	ck_assert_num(&b, "frame_bytes", ==, 200);
	ck_assert_ptr_nonnull(strstr(b.out, "\"reflector_ptp\":true"));

	/* Paced: 2000 packets/s for half a second, about 1000 packets. */
	const char *paced[] = {"--stamp", "-P", port, "--rate", "2000", "-t", "0.5", "--timeout",
			       "1000", "--json", NULL};
	run_bench(&b, paced);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "rate_pps", ==, 2000);
	ck_assert_num(&b, "sent", >=, 900);
	ck_assert_num(&b, "sent", <=, 1100);
	ck_assert_num(&b, "errors", ==, 0);

	/* The text summary says what the one-way delays are worth. */
	const char *text[] = {"--stamp", "-P", port, "-n", "200", "-t", "2", NULL};
	run_bench(&b, text);
	ck_assert_code(&b, 0);
	ck_assert_ptr_nonnull(strstr(b.out, "residence   T3-T2 us:"));
	ck_assert_ptr_nonnull(strstr(b.out, "forward and backward delays need synchronised clocks"));
	stop_larsd(&d);
}
END_TEST

/* ---- reflectors on a thread ------------------------------------------------------ */

enum refl_kind {
	R_TWICE, /* every packet reflected twice */
	R_SWAP,  /* packets 2k and 2k+1 reflected in the other order */
	R_DROP,  /* every fourth packet not reflected */
	R_ECHO,  /* the packet sent back as it came: not a reflector */
};

struct refl {
	enum refl_kind kind;
	int fd;
	uint16_t port;
	char port_text[8];
	atomic_bool stop;
	pthread_t thread;
};

/* A correct RFC 8762 reply to the sender packet in buf, in place. */
static void refl_answer(unsigned char *buf, size_t len, uint32_t seq)
{
	struct stamp_sender s;
	struct timespec t;

	ck_assert_int_eq(stamp_sender_parse(buf, len, false, &s), 0);
	clock_gettime(CLOCK_REALTIME, &t);
	bool ptp = stamp_err_ptp(s.err);
	struct stamp_reflector r = {
		.seq = seq,
		.ts = stamp_ts_from_timespec(&t, ptp),
		.err = stamp_err_make(false, ptp, 1000000),
		.ssid = s.ssid,
		.rx_ts = stamp_ts_from_timespec(&t, ptp),
		.sender_seq = s.seq,
		.sender_ts = s.ts,
		.sender_err = s.err,
		.sender_ttl = 64,
	};
	stamp_reflector_encode(buf, false, &r);
}

static void *refl_main(void *arg)
{
	struct refl *h = arg;
	unsigned char buf[2048], held[2048];
	size_t held_len = 0;
	uint32_t k = 0;

	while (!atomic_load(&h->stop)) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct pollfd p = {h->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recvfrom(h->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < (ssize_t)STAMP_BASE_LEN)
			continue;
		uint32_t i = k++;
		if (h->kind != R_ECHO)
			refl_answer(buf, (size_t)n, i);
		const struct sockaddr *to = (const struct sockaddr *)&peer;
		switch (h->kind) {
		case R_TWICE:
			sendto(h->fd, buf, (size_t)n, 0, to, plen);
			break;
		case R_SWAP:
			if (i % 2 == 0) {
				memcpy(held, buf, (size_t)n);
				held_len = (size_t)n;
				continue;
			}
			sendto(h->fd, buf, (size_t)n, 0, to, plen);
			memcpy(buf, held, held_len);
			n = (ssize_t)held_len;
			break;
		case R_DROP:
			if (i % 4 == 3)
				continue;
			break;
		default:
			break;
		}
		sendto(h->fd, buf, (size_t)n, 0, to, plen);
	}
	return NULL;
}

static void refl_start(struct refl *h, enum refl_kind kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->fd = lh_bind("udp", "127.0.0.1", 0, &h->port);
	ck_assert_msg(h->fd >= 0, "bind: %s", strerror(errno));
	snprintf(h->port_text, sizeof(h->port_text), "%u", (unsigned)h->port);
	ck_assert_int_eq(pthread_create(&h->thread, NULL, refl_main, h), 0);
}

static void refl_stop(struct refl *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	close(h->fd);
}

START_TEST(test_stamp_duplicates)
{
	struct refl h;
	struct lh_exec b;

	refl_start(&h, R_TWICE);
	const char *args[] = {"--stamp", "-P", h.port_text, "-n", "100", "--timeout", "1000",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 100);
	/* The second copy of the last reply may come after the run. */
	ck_assert_num(&b, "duplicates", >=, 99);
	ck_assert_num(&b, "duplicates", <=, 100);
	ck_assert_num(&b, "errors", ==, 0);
	refl_stop(&h);
}
END_TEST

START_TEST(test_stamp_reorder_loss)
{
	struct refl h;
	struct lh_exec b;

	/* Depth 2: both packets of a pair are in flight, the second comes back first. */
	refl_start(&h, R_SWAP);
	const char *swap[] = {"--stamp", "-P", h.port_text, "-n", "40", "-d", "2", "--timeout",
			      "1000", "-t", "2", "--json", NULL};
	run_bench(&b, swap);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 40);
	ck_assert_num(&b, "reordered", ==, 20);
	ck_assert_num(&b, "losses", ==, 0);
	refl_stop(&h);

	refl_start(&h, R_DROP);
	const char *drop[] = {"--stamp", "-P", h.port_text, "-n", "40", "--timeout", "50", "-t",
			      "2", "--json", NULL};
	run_bench(&b, drop);
	ck_assert_code(&b, 0); /* losses are not errors */
	ck_assert_num(&b, "losses", ==, 10);
	ck_assert_num(&b, "replies", ==, 30);
	ck_assert_num(&b, "loss_pct", ==, 25);
	ck_assert_num(&b, "reordered", ==, 0);
	refl_stop(&h);
}
END_TEST

/* An echo server is not a reflector: the T1 it "echoes" is not ours. */
START_TEST(test_stamp_not_a_reflector)
{
	struct refl h;
	struct lh_exec b;

	refl_start(&h, R_ECHO);
	const char *args[] = {"--stamp", "-P", h.port_text, "-n", "10", "--timeout", "100", "-t",
			      "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", >=, 1);
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_msg(strstr(b.err, "corrupt reply: socket 0, sender sequence"), "stderr: %s",
		      b.err);
	refl_stop(&h);
}
END_TEST

START_TEST(test_stamp_bad_arguments)
{
	static const char *const cases[][8] = {
		{"-P", "7", "--stamp", "-p", "tcp", NULL},
		{"-P", "7", "--stamp", "-s", "43", NULL},
		{"-P", "7", "--stamp", "--rate", "0", NULL},
		{"-P", "7", "--stamp", "--ssid", "0", NULL},
		{"-P", "7", "--stamp", "--ssid", "65536", NULL},
		{"-P", "7", "--stamp", "--verify", "none", NULL},
		{"-P", "7", "--rate", "100", NULL},
		{"-P", "7", "--ptp", NULL},
		{"-P", "7", "-m", "twamp", NULL},
	};
	struct lh_exec b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_bench(&b, cases[i]);
		ck_assert_msg(b.code == 2, "case %zu: exit %d, stderr %s", i, b.code, b.err);
		ck_assert_msg(strncmp(b.err, "larsd-bench: ", 13) == 0, "case %zu: %s", i, b.err);
		char *nl = strchr(b.err, '\n');
		ck_assert_msg(nl && nl[1] == '\0', "case %zu: not one line: %s", i, b.err);
	}
}
END_TEST

/* ---- units ------------------------------------------------------------------------ */

START_TEST(test_sdist)
{
	static struct stamp_stats st, other;

	stamp_stats_init(&st);
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.0), 0);
	/* -100 .. 99 ns, each once: exact below 256 ns in magnitude. */
	for (int64_t v = -100; v < 100; v++)
		sdist_record(&st.forward, v);
	ck_assert_int_eq(st.forward.min, -100);
	ck_assert_int_eq(st.forward.max, 99);
	ck_assert_int_eq(sdist_percentile(&st.forward, 0.5), -100);   /* rank 1 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 25.0), -51);   /* rank 50 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.0), -1);    /* rank 100 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.5), 0);     /* rank 101 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 100.0), 99);
	/* Merged: counts add up, the extremes carry over. */
	stamp_stats_init(&other);
	sdist_record(&other.forward, -5000);
	other.duplicates = 3;
	other.ttl_min = other.ttl_max = 63;
	stamp_stats_merge(&st, &other);
	ck_assert_int_eq(st.forward.min, -5000);
	ck_assert_int_eq(sdist_percentile(&st.forward, 0.1), -5000);
	ck_assert_uint_eq(st.duplicates, 3);
	ck_assert_uint_eq(st.ttl_min, 63);
	ck_assert_uint_eq(st.ttl_max, 63);
}
END_TEST

START_TEST(test_clock_error)
{
	uint16_t err = 0, ptp = 0;

	/* Read-only ntp_adjtime() needs no privilege, but a container's
	 * seccomp filter may refuse it all the same (systemd-nspawn without
	 * CAP_SYS_TIME): then the estimate says unsynchronised, 16 s. */
	int rc = stamp_clock_error(false, &err);
	ck_assert_int_eq(stamp_clock_error(true, &ptp), rc);
	if (rc < 0) {
		ck_assert(!stamp_err_synced(err) && !stamp_err_synced(ptp));
		ck_assert_uint_ge(stamp_err_ns(err), STAMP_CLOCK_UNSYNC_ERR_NS);
	}
	ck_assert(!stamp_err_ptp(err));
	ck_assert(stamp_err_ptp(ptp));
	ck_assert_uint_ne(err & STAMP_ERR_MULT_MASK, 0); /* never zero, RFC 4656 */
	ck_assert_uint_gt(stamp_err_ns(err), 0);
}
END_TEST

static Suite *stamp_suite(void)
{
	Suite *s = suite_create("larsd-bench --stamp");

	testutil_add(s, "stamp_larsd", test_stamp_larsd, 20);
	testutil_add(s, "stamp_duplicates", test_stamp_duplicates, 15);
	testutil_add(s, "stamp_reorder_loss", test_stamp_reorder_loss, 15);
	testutil_add(s, "stamp_not_a_reflector", test_stamp_not_a_reflector, 15);
	testutil_add(s, "stamp_bad_arguments", test_stamp_bad_arguments, 15);
	testutil_add(s, "sdist", test_sdist, 10);
	testutil_add(s, "clock_error", test_clock_error, 10);
	return s;
}

int main(void)
{
	return testutil_main(stamp_suite(), &lh_testutil_run);
}
