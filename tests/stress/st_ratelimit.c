/*
 * st_ratelimit.c - one flooding source cannot take the UDP service from
 * another (udp_source_rate, udp_source_burst).
 *
 * larsd with two workers and a STAMP listener, udp_source_rate = 1000.
 * A well-behaved sender on 127.0.0.1 sends a test packet every 2 ms (500
 * per second, half its limit) for FLOOD_S seconds and counts the replies by
 * sequence number; meanwhile a flood from 127.0.0.2 sends FLOOD_PPS (40
 * times the limit), rotating over 64 source ports.  The well-behaved
 * source must get >= 99% of its replies; the flood no more than its rate
 * and burst allow, whatever its ports; the drops are counted in
 * udp_dropped_rate.  The same run without the limit is measured first,
 * for comparison only (its figures are printed, nothing is asserted).
 *
 * Why a paced flood: a flood faster than larsd's workers can read fills
 * the sockets' receive queues, and the kernel then drops datagrams of
 * every source before larsd sees them; no limit in the daemon can help
 * there (larsd.conf(5) points to a per-source limit in nftables).  On this
 * 2-CPU machine shared with other work, one thread sending 44-byte
 * datagrams unpaced reaches ~110k/s and the kernel drops ~13% of every
 * source's datagrams with or without the limit.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_S 4
#define RATE 1000
#define BURST 200
#define GOOD_PERIOD_US 2000
#define FLOOD_PORTS 64
#define FLOOD_PPS 40000
#define FLOOD_TICK_US 1000 /* the flood sends FLOOD_PPS / 1000 a millisecond */
#define PKT 44 /* a STAMP base packet */

struct flood {
	uint16_t port;
	atomic_bool stop;
	uint64_t sent;
	pthread_t thread;
};

static void *flood_run(void *arg)
{
	struct flood *f = arg;
	int fds[FLOOD_PORTS];
	unsigned char pkt[PKT];

	memset(pkt, 0, sizeof(pkt));
	for (int i = 0; i < FLOOD_PORTS; i++)
		fds[i] = lh_udp_socket("127.0.0.1", f->port, "127.0.0.2", 0);
	uint64_t t0 = st_now_us();
	uint32_t k = 0;
	for (uint64_t tick = 1; !atomic_load(&f->stop); tick++) {
		uint64_t due = tick * FLOOD_PPS * FLOOD_TICK_US / 1000000;
		for (; k < due; k++) {
			int fd = fds[k % FLOOD_PORTS];
			pkt[3] = (unsigned char)k;
			if (fd >= 0 &&
			    send(fd, pkt, sizeof(pkt), MSG_DONTWAIT) == (ssize_t)sizeof(pkt))
				f->sent++;
		}
		uint64_t next = t0 + tick * FLOOD_TICK_US, now = st_now_us();
		if (next > now)
			usleep((useconds_t)(next - now));
	}
	for (int i = 0; i < FLOOD_PORTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* Count a reply whose sequence number was sent and not seen before. */
static void note_reply(const unsigned char *back, ssize_t len, unsigned char *seen,
		       unsigned n, unsigned *got)
{
	if (len < 4)
		return;
	unsigned s = (unsigned)back[0] << 24 | (unsigned)back[1] << 16 |
		     (unsigned)back[2] << 8 | back[3];
	if (s < n && !seen[s]) {
		seen[s] = 1;
		(*got)++;
	}
}

/* The well-behaved source: a packet every GOOD_PERIOD_US for FLOOD_S
 * seconds, replies read as they come; the replies that carry a sequence
 * number sent (each counted once). */
static unsigned good_source(uint16_t port, unsigned *sent_out)
{
	unsigned n = FLOOD_S * 1000000 / GOOD_PERIOD_US, got = 0;
	unsigned char pkt[PKT], back[256];
	unsigned char *seen = calloc(n, 1);
	int fd = lh_udp_socket("127.0.0.1", port, "127.0.0.1", 0);

	ck_assert(seen != NULL && fd >= 0);
	memset(pkt, 0, sizeof(pkt));
	uint64_t t0 = st_now_us();
	for (unsigned k = 0; k < n; k++) {
		pkt[0] = (unsigned char)(k >> 24);
		pkt[1] = (unsigned char)(k >> 16);
		pkt[2] = (unsigned char)(k >> 8);
		pkt[3] = (unsigned char)k;
		send(fd, pkt, sizeof(pkt), 0);
		uint64_t next = t0 + (uint64_t)(k + 1) * GOOD_PERIOD_US;
		for (;;) { /* read until the next packet is due */
			uint64_t now = st_now_us();
			if (now >= next)
				break;
			struct timeval tv = { 0, (suseconds_t)(next - now) };
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			note_reply(back, recv(fd, back, sizeof(back), 0), seen, n, &got);
		}
	}
	lh_sleep_ms(300); /* stragglers */
	ssize_t r;
	while ((r = recv(fd, back, sizeof(back), MSG_DONTWAIT)) >= 4)
		note_reply(back, r, seen, n, &got);
	close(fd);
	free(seen);
	*sent_out = n;
	return got;
}

struct round {
	unsigned good_sent, good_got;
	uint64_t flood_sent;
	long long replies, dropped_rate;
	uint64_t ms;
};

static void run_round(unsigned rate, struct round *r)
{
	struct lh_daemon d;
	struct flood f;

	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings),
		 "  threads = 2;\n  udp_source_rate = %u;\n  udp_source_burst = %u;\n", rate,
		 BURST);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", false);
	lh_start_ok(&d);

	memset(&f, 0, sizeof(f));
	f.port = d.ls[i].port;
	uint64_t t0 = lh_now_ms();
	ck_assert_int_eq(pthread_create(&f.thread, NULL, flood_run, &f), 0);
	r->good_got = good_source(d.ls[i].port, &r->good_sent);
	atomic_store(&f.stop, true);
	pthread_join(f.thread, NULL);
	r->ms = lh_now_ms() - t0;
	r->flood_sent = f.sent;
	r->replies = st_stat(&d, "udp_replies");
	r->dropped_rate = st_stat(&d, "udp_dropped_rate");
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

START_TEST(test_source_rate_limit)
{
	const char *sc = "source_rate_limit";
	struct round off, on;
	struct st_verdict v = { "", 0 };

	run_round(0, &off);
	run_round(RATE, &on);
	for (int k = 0; k < 2; k++) {
		const struct round *r = k ? &on : &off;
		st_figure(sc, "udp_source_rate=%u burst=%u: good 127.0.0.1 got %u of %u (%.2f%%); "
			  "flood 127.0.0.2 over %d ports sent %llu in %llu ms (%.0f/s), "
			  "answered %lld; udp_dropped_rate=%lld",
			  k ? RATE : 0, BURST, r->good_got, r->good_sent,
			  100.0 * r->good_got / r->good_sent, FLOOD_PORTS,
			  (unsigned long long)r->flood_sent, (unsigned long long)r->ms,
			  r->flood_sent * 1000.0 / (double)r->ms,
			  r->replies - (long long)r->good_got, r->dropped_rate);
	}
	long long flood_answered = on.replies - (long long)on.good_got;
	long long allowed = (long long)RATE * (long long)(on.ms + 1000) / 1000 + BURST;
	st_expect(&v, on.good_got * 100 >= on.good_sent * 99,
		  "the well-behaved source got %u of %u replies (< 99%%)", on.good_got,
		  on.good_sent);
	st_expect(&v, on.flood_sent > 10 * (uint64_t)allowed,
		  "the flood sent only %llu datagrams: not a flood",
		  (unsigned long long)on.flood_sent);
	st_expect(&v, flood_answered <= allowed,
		  "the flood got %lld replies, its limit allows %lld", flood_answered, allowed);
	st_expect(&v, on.dropped_rate > 0, "udp_dropped_rate is 0");
	st_verdict_assert(&v);
}
END_TEST

void stress_add_ratelimit(Suite *s)
{
	testutil_add(s, "source_rate_limit", test_source_rate_limit, 40);
}
