/*
 * test_session.c - the books of a measuring session (src/larsd/session.c)
 * and its histograms (session_hist.c), without sockets or clocks: each
 * case sends packets and hands back replies it builds, with timestamps it
 * chooses, and checks what the session counted.
 *
 *   in_order        every reply comes: received, round trips, residence
 *   lost_then_late  no reply within the timeout: lost once; a reply after
 *                   that is late, not received
 *   duplicates      a second reply to a packet, in time or late
 *   reordered       a reply below one before it, once per reply
 *   corrupt         a reply naming a packet never sent
 *   synced_only     one-way delays only while both clocks say synchronised;
 *                   IPDV whatever they say
 *   split           a stateful reflector's numbers split the losses
 *                   forward and backward, exactly
 *   split_restart   a reflector that restarts numbering mid-session
 *   wrap            sequence numbers past 2^32
 *   slots           the ring's size for rate x timeout, bounded
 *   hist_buckets    the exported buckets' edges (a bound is in its bucket)
 *   hist_percentile within 1/16 of the true value, min and max exact
 */
#include "config.h"

#include "session.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <string.h>

#define MS 1000000ll
#define US 1000ll
#define EPOCH_NS (1700000000ll * 1000000000ll) /* realtime at "0" */

static struct conf_session conf_of(double rate, unsigned timeout_ms)
{
	struct conf_session c;

	memset(&c, 0, sizeof(c));
	strcpy(c.name, "t");
	strcpy(c.peer, "127.0.0.1");
	c.port = 862;
	c.rate = rate;
	c.size = 44;
	c.timeout_ms = timeout_ms;
	return c;
}

static uint64_t raw(int64_t realtime_ns)
{
	struct timespec t = {(time_t)(realtime_ns / 1000000000), (long)(realtime_ns % 1000000000)};
	return stamp_ts_from_timespec(&t, false);
}

/* Packet n went at t_ms (monotonic and realtime alike). */
static void send_at(struct session *s, uint64_t n_expected, int64_t t_ms)
{
	uint64_t n = session_next(s, (uint64_t)(t_ms * MS), EPOCH_NS + t_ms * MS);
	ck_assert_uint_eq(n, n_expected);
	session_sent(s, true);
}

/* The reply to packet n: reached the reflector fwd after sending, left it
 * res later, came back after back; the reflector numbered it r. */
static const char *reply(struct session *s, uint64_t n, int64_t sent_ms, int64_t fwd,
			 int64_t res, int64_t back, uint32_t r, bool synced)
{
	struct stamp_reflector rf;
	int64_t t1 = EPOCH_NS + sent_ms * MS, t2 = t1 + fwd, t3 = t2 + res;

	memset(&rf, 0, sizeof(rf));
	rf.seq = r;
	rf.sender_seq = (uint32_t)n;
	rf.rx_ts = raw(t2);
	rf.ts = raw(t3);
	rf.err = stamp_err_make(synced, false, 1000);
	return session_reply(s, &rf, t3 + back, synced);
}

START_TEST(test_in_order)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	for (uint64_t n = 0; n < 10; n++) {
		send_at(&s, n, (int64_t)n * 100);
		ck_assert_str_eq(reply(&s, n, (int64_t)n * 100, 300 * US, 20 * US, 200 * US,
				       (uint32_t)n, false), "received");
	}
	session_expire(&s, 2000 * MS);
	ck_assert_uint_eq(s.counts.sent, 10);
	ck_assert_uint_eq(s.counts.received, 10);
	ck_assert_uint_eq(s.counts.lost + s.counts.late + s.counts.duplicates, 0);
	/* The round trip leaves out the reflector's 20 us. */
	ck_assert_uint_eq(s.lat[SESSION_RTT].count, 10);
	ck_assert_uint_eq(s.lat[SESSION_RTT].min_ns, 500 * US);
	ck_assert_uint_eq(s.lat[SESSION_RTT].max_ns, 500 * US);
	ck_assert_uint_eq(s.lat[SESSION_RESIDENCE].max_ns, 20 * US);
	uint64_t fwd, back;
	ck_assert(!session_split(&s, &fwd, &back)); /* numbers as sent: not stateful */
	session_free(&s);
}
END_TEST

START_TEST(test_lost_then_late)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	for (uint64_t n = 0; n < 5; n++)
		send_at(&s, n, (int64_t)n * 100);
	ck_assert_str_eq(reply(&s, 0, 0, MS, 0, MS, 0, false), "received");
	session_expire(&s, 999 * MS); /* none is a second old yet */
	ck_assert_uint_eq(s.counts.lost, 0);
	session_expire(&s, 1250 * MS); /* 1, 2 are */
	ck_assert_uint_eq(s.counts.lost, 2);
	session_expire(&s, 1250 * MS); /* counted once */
	ck_assert_uint_eq(s.counts.lost, 2);
	ck_assert_str_eq(reply(&s, 1, 100, 600 * MS, 0, 600 * MS, 1, false), "late");
	ck_assert_str_eq(reply(&s, 3, 300, MS, 0, MS, 3, false), "received");
	session_expire(&s, 5000 * MS);
	ck_assert_uint_eq(s.counts.lost, 3); /* 1, 2, 4 */
	ck_assert_uint_eq(s.counts.late, 1);
	ck_assert_uint_eq(s.counts.received, 2);
	ck_assert_uint_eq(s.lat[SESSION_RTT].count, 2); /* a late reply is not timed */
	session_free(&s);
}
END_TEST

START_TEST(test_duplicates)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	send_at(&s, 0, 0);
	send_at(&s, 1, 100);
	ck_assert_str_eq(reply(&s, 0, 0, MS, 0, MS, 0, false), "received");
	ck_assert_str_eq(reply(&s, 0, 0, MS, 0, MS, 0, false), "duplicate");
	session_expire(&s, 2000 * MS);
	ck_assert_str_eq(reply(&s, 1, 100, 2000 * MS, 0, MS, 1, false), "late");
	ck_assert_str_eq(reply(&s, 1, 100, 2000 * MS, 0, MS, 1, false), "duplicate");
	ck_assert_uint_eq(s.counts.duplicates, 2);
	ck_assert_uint_eq(s.counts.received, 1);
	ck_assert_uint_eq(s.counts.late, 1);
	ck_assert_uint_eq(s.counts.lost, 1);
	session_free(&s);
}
END_TEST

START_TEST(test_reordered)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	for (uint64_t n = 0; n < 6; n++)
		send_at(&s, n, (int64_t)n * 100);
	ck_assert_str_eq(reply(&s, 0, 0, MS, 0, MS, 0, false), "received");
	ck_assert_str_eq(reply(&s, 2, 200, MS, 0, MS, 2, false), "received");
	ck_assert_str_eq(reply(&s, 1, 100, MS, 0, MS, 1, false), "reordered");
	ck_assert_str_eq(reply(&s, 5, 500, MS, 0, MS, 5, false), "received");
	ck_assert_str_eq(reply(&s, 3, 300, MS, 0, MS, 3, false), "reordered");
	ck_assert_str_eq(reply(&s, 4, 400, MS, 0, MS, 4, false), "reordered");
	ck_assert_uint_eq(s.counts.reordered, 3);
	ck_assert_uint_eq(s.counts.received, 6);
	session_free(&s);
}
END_TEST

START_TEST(test_corrupt)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	send_at(&s, 0, 0);
	ck_assert_str_eq(reply(&s, 7, 0, MS, 0, MS, 7, false), "corrupt");
	session_corrupt(&s);
	ck_assert_uint_eq(s.counts.corrupt, 2);
	ck_assert_uint_eq(s.counts.received, 0);
	session_free(&s);
}
END_TEST

START_TEST(test_synced_only)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	/* Forward delays 1, 3, 2 ms; backward 2, 2, 5 ms. */
	int64_t fwd[] = {1 * MS, 3 * MS, 2 * MS}, back[] = {2 * MS, 2 * MS, 5 * MS};
	for (uint64_t n = 0; n < 3; n++) {
		send_at(&s, n, (int64_t)n * 100);
		reply(&s, n, (int64_t)n * 100, fwd[n], 0, back[n], (uint32_t)n, n != 1);
	}
	ck_assert_uint_eq(s.lat[SESSION_FORWARD].count, 2); /* packet 1 unsynced */
	ck_assert_uint_eq(s.lat[SESSION_FORWARD].min_ns, 1 * MS);
	ck_assert_uint_eq(s.lat[SESSION_FORWARD].max_ns, 2 * MS);
	ck_assert_uint_eq(s.lat[SESSION_BACKWARD].max_ns, 5 * MS);
	/* IPDV of (0,1) and (1,2) whatever the clocks said. */
	ck_assert_uint_eq(s.lat[SESSION_IPDV_FORWARD].count, 2);
	ck_assert_uint_eq(s.lat[SESSION_IPDV_FORWARD].sum_ns, 2 * MS + 1 * MS);
	ck_assert_uint_eq(s.lat[SESSION_IPDV_BACKWARD].sum_ns, 0 + 3 * MS);
	ck_assert(s.synced);
	session_free(&s);
}
END_TEST

/* Packets 0..19: 3 and 11 never reach the reflector, the replies to 6
 * and 14 are lost; the reflector numbers what reaches it. */
START_TEST(test_split)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;
	uint32_t r = 0;

	ck_assert_int_eq(session_init(&s, &c), 0);
	for (uint64_t n = 0; n < 20; n++) {
		send_at(&s, n, (int64_t)n * 100);
		if (n == 3 || n == 11)
			continue;
		uint32_t mine = r++;
		if (n == 6 || n == 14)
			continue;
		reply(&s, n, (int64_t)n * 100, MS, 0, MS, mine, false);
	}
	session_expire(&s, 10000 * MS);
	uint64_t fwd, back;
	ck_assert(session_split(&s, &fwd, &back));
	ck_assert_uint_eq(s.counts.lost, 4);
	ck_assert_uint_eq(fwd, 2);
	ck_assert_uint_eq(back, 2);
	session_free(&s);
}
END_TEST

/* The reflector restarts after packet 9 (its replies to 10..12 never
 * come: it is down) and numbers from 0 from packet 13 on. */
START_TEST(test_split_restart)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;
	uint32_t r = 0;

	ck_assert_int_eq(session_init(&s, &c), 0);
	for (uint64_t n = 0; n < 25; n++) {
		send_at(&s, n, (int64_t)n * 100);
		if (n == 13)
			r = 0;
		if (n == 4 || (n >= 10 && n <= 12))
			continue; /* 4 lost forward; 10..12 while it is down */
		uint32_t mine = r++;
		if (n == 7 || n == 20)
			continue; /* replies lost */
		reply(&s, n, (int64_t)n * 100, MS, 0, MS, mine, false);
	}
	session_expire(&s, 10000 * MS);
	uint64_t fwd, back;
	ck_assert(session_split(&s, &fwd, &back));
	ck_assert_uint_eq(s.counts.lost, 6);
	ck_assert_uint_eq(fwd, 4);  /* 4, 10, 11, 12 */
	ck_assert_uint_eq(back, 2); /* 7, 20 */
	session_free(&s);
}
END_TEST

START_TEST(test_wrap)
{
	struct conf_session c = conf_of(10, 1000);
	struct session s;

	ck_assert_int_eq(session_init(&s, &c), 0);
	s.next = s.oldest = (UINT64_C(1) << 32) - 2; /* as after 2^32 - 2 packets */
	for (uint64_t n = s.next; n < (UINT64_C(1) << 32) + 3; n++) {
		send_at(&s, n, (int64_t)(n - s.oldest) * 100);
		ck_assert_str_eq(reply(&s, n, 0, MS, 0, MS, (uint32_t)n, false), "received");
	}
	ck_assert_uint_eq(s.counts.received, 5);
	ck_assert_uint_eq(s.counts.reordered, 0);
	session_free(&s);
}
END_TEST

START_TEST(test_slots)
{
	struct conf_session c = conf_of(1, 3000);

	ck_assert_uint_eq(session_slots_for(&c), 64);
	c = conf_of(100, 3000); /* 300 waiting: 2 x 301 + 16 = 618 */
	ck_assert_uint_eq(session_slots_for(&c), 1024);
	c = conf_of(1000, 60000);
	ck_assert_uint_eq(session_slots_for(&c), SESSION_MAX_SLOTS);
}
END_TEST

START_TEST(test_hist_buckets)
{
	struct session_hist h;

	session_hist_init(&h);
	session_hist_record(&h, 10 * US);      /* le 10 us */
	session_hist_record(&h, 10 * US + 1);  /* le 20 us */
	session_hist_record(&h, 1000 * MS);    /* le 1 s */
	session_hist_record(&h, 11000 * MS);   /* +Inf */
	ck_assert_uint_eq(h.bucket[0], 1);
	ck_assert_uint_eq(h.bucket[1], 1);
	ck_assert_uint_eq(session_hist_bounds_us[15], 1000000);
	ck_assert_uint_eq(h.bucket[15], 1);
	ck_assert_uint_eq(h.bucket[SESSION_HIST_BUCKETS - 1], 1);
	ck_assert_uint_eq(h.count, 4);
	for (unsigned i = 1; i < SESSION_HIST_BOUNDS; i++)
		ck_assert_uint_gt(session_hist_bounds_us[i], session_hist_bounds_us[i - 1]);
}
END_TEST

START_TEST(test_hist_percentile)
{
	struct session_hist h;

	session_hist_init(&h);
	ck_assert_uint_eq(session_hist_percentile(&h, 50), 0);
	for (uint64_t v = 1; v <= 10000; v++)
		session_hist_record(&h, v * 1000); /* 1 us .. 10 ms */
	double pcts[] = {1, 50, 90, 99, 99.9};
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double want = pcts[i] * 100 * 1000, got = (double)session_hist_percentile(&h, pcts[i]);
		ck_assert_msg(fabs(got - want) <= want / 16, "p%g: %.0f, want %.0f", pcts[i], got, want);
	}
	ck_assert_uint_eq(session_hist_percentile(&h, 100), 10000 * 1000);
	ck_assert_uint_eq(h.min_ns, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");

	testutil_add(s, "in_order", test_in_order, 5);
	testutil_add(s, "lost_then_late", test_lost_then_late, 5);
	testutil_add(s, "duplicates", test_duplicates, 5);
	testutil_add(s, "reordered", test_reordered, 5);
	testutil_add(s, "corrupt", test_corrupt, 5);
	testutil_add(s, "synced_only", test_synced_only, 5);
	testutil_add(s, "split", test_split, 5);
	testutil_add(s, "split_restart", test_split_restart, 5);
	testutil_add(s, "wrap", test_wrap, 5);
	testutil_add(s, "slots", test_slots, 5);
	testutil_add(s, "hist_buckets", test_hist_buckets, 5);
	testutil_add(s, "hist_percentile", test_hist_percentile, 5);
	return testutil_main(s, NULL);
}
