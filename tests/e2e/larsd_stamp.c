/*
 * larsd_stamp.c - larsd end to end: mode "stamp" (the RFC 8762
 * Session-Reflector) and the per-source UDP rate limit.
 *
 * Test packets are built and replies read with src/stamp/stamp_wire.h,
 * over real UDP sockets on loopback, field by field: the copied sequence
 * number, timestamp, error estimate and SSID; T1 <= T2 <= T3 <= T4 on one
 * clock; the TTL the sender set (IP_TTL / IPV6_UNICAST_HOPS); the reply's
 * length and the bytes past the base packet; NTP and PTPv2 formats; the S
 * bit as the kernel reports the clock.  Then what must not be answered
 * (packets too short even for TWAMP-Light, the reflection guard), a
 * reload into mode "stamp", and
 * the rate limit with one port, with rotating ports and from a second
 * address.  An independent sender (scapy) is
 * tests/interop/stamp_scapy.tap.
 */
#include "config.h"

#include "larsd_tests.h"
#include "stamp_wire.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define PAD 20          /* bytes past the base packet: an RFC 8972 TLV */
#define SENDER_TTL 37   /* set on the sender's socket, seen by the reflector */

static struct timespec now_real(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
}

/* A UDP socket to the listener whose datagrams leave with SENDER_TTL. */
static int stamp_socket(const struct lh_listen *l, const char *src)
{
	int ttl = SENDER_TTL;
	int fd = lh_udp_socket(l->address, l->port, src, 0);

	ck_assert_msg(fd >= 0, "udp socket to %s port %u: %s", l->address,
		      (unsigned)l->port, strerror(errno));
	if (strchr(l->address, ':'))
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
					    sizeof(ttl)), 0);
	else
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	return fd;
}

/* Does the kernel say the clock is synchronised (what S must say)? */
static bool clock_synced(void)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int state = ntp_adjtime(&tx);
	return state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

/* One test packet with a TLV after it, its reply checked field by field. */
static void check_exchange(const struct lh_listen *l, bool ptp, uint32_t seq)
{
	unsigned char req[STAMP_BASE_LEN + PAD], back[256];
	struct stamp_sender s = { .seq = seq, .err = stamp_err_make(false, ptp, 5000),
				  .ssid = (uint16_t)(0xa000 + seq) };
	struct stamp_reflector r;
	struct timespec t1, t2, t3, t4;

	int fd = stamp_socket(l, NULL);
	/* RFC 8972 Extra Padding TLV: flags 0, type 1, length PAD - 4 */
	req[STAMP_BASE_LEN] = 0;
	req[STAMP_BASE_LEN + 1] = 1;
	req[STAMP_BASE_LEN + 2] = 0;
	req[STAMP_BASE_LEN + 3] = PAD - 4;
	lh_pattern(req + STAMP_BASE_LEN + 4, PAD - 4, seq, 0);
	t1 = now_real();
	s.ts = stamp_ts_from_timespec(&t1, ptp);
	stamp_sender_encode(req, false, &s);
	ssize_t n = lh_udp_xchg(fd, req, sizeof(req), back, sizeof(back), 2000);
	t4 = now_real();
	close(fd);

	ck_assert_msg(n == (ssize_t)sizeof(req), "%s %s: reply of %zd bytes to %zu",
		      l->address, ptp ? "PTP" : "NTP", n, sizeof(req));
	ck_assert_int_eq(stamp_reflector_parse(back, (size_t)n, false, &r), 0);
	ck_assert_uint_eq(r.seq, seq); /* stateless: the sender's number */
	ck_assert_uint_eq(r.sender_seq, seq);
	ck_assert_uint_eq(r.sender_ts, s.ts);
	ck_assert_uint_eq(r.sender_err, s.err);
	ck_assert_uint_eq(r.ssid, s.ssid);
	ck_assert_uint_eq(r.sender_ttl, SENDER_TTL);
	ck_assert_msg(stamp_err_ptp(r.err) == ptp, "Z bit %d, sender's %d",
		      stamp_err_ptp(r.err), ptp);
	ck_assert_msg(stamp_err_synced(r.err) == clock_synced(), "S bit %d, kernel says %d",
		      stamp_err_synced(r.err), clock_synced());
	ck_assert_uint_ne(r.err & STAMP_ERR_MULT_MASK, 0);
	ck_assert_msg(memcmp(back + STAMP_BASE_LEN, req + STAMP_BASE_LEN, PAD) == 0,
		      "the bytes past the base packet changed");
	for (size_t i = 38; i < STAMP_BASE_LEN; i++) /* MBZ, around the TTL */
		ck_assert_msg(i == 40 || back[i] == 0, "MBZ byte %zu is %u", i, back[i]);

	ck_assert_int_eq(stamp_ts_to_timespec(r.rx_ts, ptp, &t2), 0);
	ck_assert_int_eq(stamp_ts_to_timespec(r.ts, ptp, &t3), 0);
	/* One clock: T1 <= T2 <= T3 <= T4, allowing the NTP fraction's
	 * rounding (under a nanosecond) */
	ck_assert_msg(ns_between(&t1, &t2) >= -1, "T2 before T1 by %lld ns",
		      (long long)-ns_between(&t1, &t2));
	ck_assert_msg(ns_between(&t2, &t3) >= 0, "T3 before T2");
	ck_assert_msg(ns_between(&t3, &t4) >= -1, "T4 before T3");
	ck_assert_msg(ns_between(&t1, &t4) < 2000000000, "round trip of %lld ns",
		      (long long)ns_between(&t1, &t4));
}

/* Every field, IPv4 and IPv6, bound and socket-activated, NTP and PTPv2. */
START_TEST(test_stamp_fields)
{
	struct lh_daemon d;

	lh_init(&d);
	lh_add(&d, "udp", "127.0.0.1", "stamp", false);
	lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	if (lt_have_v6()) {
		lh_add(&d, "udp", "::1", "stamp", false);
		lh_add(&d, "udp", "::1", "stamp", true);
	}
	lh_start_ok(&d);
	uint32_t seq = 1;
	for (size_t i = 0; i < d.n_ls; i++) {
		check_exchange(&d.ls[i], false, seq++);
		check_exchange(&d.ls[i], true, seq++);
	}
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", (long long)seq - 1), (long long)seq - 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* On a wildcard address the reply leaves from the address the sender
 * wrote to (IP_PKTINFO / IPV6_PKTINFO next to the timestamp and TTL
 * messages; a connected sender takes nothing else). */
START_TEST(test_stamp_wildcard)
{
	struct lh_daemon d;
	struct lh_listen to;

	lh_init(&d);
	size_t v4 = lh_add(&d, "udp", "0.0.0.0", "stamp", true);
	size_t v6 = lt_have_v6() ? lh_add(&d, "udp", "::", "stamp", true) : SIZE_MAX;
	lh_start_ok(&d);
	to = d.ls[v4];
	to.address = "127.0.0.2";
	check_exchange(&to, false, 21);
	to.address = "127.0.0.1";
	check_exchange(&to, true, 22);
	if (v6 != SIZE_MAX) {
		to = d.ls[v6];
		to.address = "::1";
		check_exchange(&to, false, 23);
	}
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Under the 14 bytes of a TWAMP-Light packet: dropped and counted; 44
 * exactly: answered with 44 (shorter ones: larsd_stamp_modes.c).  The
 * reflection guard applies as in the other modes. */
START_TEST(test_stamp_drops)
{
	struct lh_daemon d;
	unsigned char req[STAMP_BASE_LEN], back[128];
	struct stamp_sender s = { .seq = 9, .err = 1 };
	uint16_t blocked;

	int probe = lh_bind("udp", "127.0.0.1", 0, &blocked);
	ck_assert_int_ge(probe, 0);
	close(probe);
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  udp_blocked_ports = [ %u ];\n",
		 (unsigned)blocked);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	lh_start_ok(&d);
	stamp_sender_encode(req, false, &s);

	int fd = stamp_socket(&d.ls[i], NULL);
	ck_assert_msg(lh_udp_xchg(fd, req, STAMP_TWAMP_LIGHT_MIN - 1, back, sizeof(back), 300) < 0,
		      "a 13-byte test packet was answered");
	ck_assert_int_eq(lh_udp_xchg(fd, req, STAMP_BASE_LEN, back, sizeof(back), 2000),
			 STAMP_BASE_LEN);
	close(fd);
	int from_blocked = lh_udp_socket("127.0.0.1", d.ls[i].port, "127.0.0.1", blocked);
	ck_assert_int_ge(from_blocked, 0);
	ck_assert_msg(lh_udp_xchg(from_blocked, req, STAMP_BASE_LEN, back, sizeof(back), 300) < 0,
		      "a test packet from blocked port %u was answered", (unsigned)blocked);
	close(from_blocked);

	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 1), 1);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_short"), 1);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_guard"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A reload turns an echo listener into a reflector on the same socket. */
START_TEST(test_stamp_reload)
{
	struct lh_daemon d;
	unsigned char back[64];

	lh_init(&d);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "echo", false);
	lh_start_ok(&d);
	lt_check_listener(&d.ls[i], 1);
	d.ls[i].mode = "stamp";
	lh_write_conf(&d);
	size_t from = lh_note_count(&d);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	long r = lh_wait_note(&d, "RELOADING=1", from, 3000);
	ck_assert_msg(r >= 0 && lh_wait_note(&d, "READY=1", (size_t)r + 1, 3000) > r,
		      "no reload");
	check_exchange(&d.ls[i], false, 77);
	int fd = stamp_socket(&d.ls[i], NULL);
	ck_assert_msg(lh_udp_xchg(fd, "hello", 5, back, sizeof(back), 300) < 0,
		      "a reflector echoed 5 bytes");
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- per-source rate limits ---------------------------------------------- */

/* Send count test packets on fds (round robin) without waiting, then
 * count the replies that come within quiet_ms of the last one. */
static int burst_replies(const int *fds, int nfd, int count, int quiet_ms)
{
	unsigned char req[STAMP_BASE_LEN], back[128];
	int got = 0;

	for (int k = 0; k < count; k++) {
		struct stamp_sender s = { .seq = (uint32_t)k, .err = 1 };
		stamp_sender_encode(req, false, &s);
		ck_assert_int_eq(send(fds[k % nfd], req, sizeof(req), 0), (ssize_t)sizeof(req));
	}
	for (int k = 0; k < nfd; k++)
		while (!lh_quiet(fds[k], quiet_ms))
			if (recv(fds[k], back, sizeof(back), MSG_DONTWAIT) > 0)
				got++;
	return got;
}

/* udp_source_rate = 1, burst 8, two workers: one source gets its burst
 * and not more, whether it keeps its port or uses a new port for each
 * datagram (the key is the address; the table is shared by the workers
 * the kernel spreads the ports over); another address has its own. */
START_TEST(test_rate_limit)
{
	struct lh_daemon d;
	int fds[32];

	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings),
		 "  threads = 2;\n  udp_source_rate = 1;\n  udp_source_burst = 8;\n");
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", false);
	lh_start_ok(&d);

	fds[0] = stamp_socket(&d.ls[i], "127.0.0.1");
	int one = burst_replies(fds, 1, 32, 200);
	close(fds[0]);
	ck_assert_msg(one >= 8 && one <= 9, "one port: %d replies to 32, burst 8", one);

	for (int k = 0; k < 32; k++)
		fds[k] = stamp_socket(&d.ls[i], "127.0.0.1");
	int rotating = burst_replies(fds, 32, 32, 50);
	for (int k = 0; k < 32; k++)
		close(fds[k]);
	ck_assert_msg(rotating <= 2, "32 ports of a drained source: %d replies", rotating);

	fds[0] = stamp_socket(&d.ls[i], "127.0.0.2");
	int other = burst_replies(fds, 1, 8, 200);
	close(fds[0]);
	ck_assert_msg(other == 8, "127.0.0.2: %d replies to 8", other);

	long long replies = lh_stat_reaching(&d, "udp_replies", one + rotating + other);
	ck_assert_int_eq(replies, one + rotating + other);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_rate"), 32 + 32 + 8 - replies);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void lt_add_stamp(Suite *s)
{
	testutil_add(s, "stamp_fields", test_stamp_fields, 10);
	testutil_add(s, "stamp_wildcard", test_stamp_wildcard, 10);
	testutil_add(s, "stamp_drops", test_stamp_drops, 10);
	testutil_add(s, "stamp_reload", test_stamp_reload, 10);
	testutil_add(s, "rate_limit", test_rate_limit, 15);
}
