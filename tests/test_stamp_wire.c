/*
 * test_stamp_wire.c - the STAMP wire format, src/stamp/stamp_wire.c.
 *
 * Byte offsets checked against hand-built packets (RFC 8762 §4.2.1 and
 * §4.3.1, RFC 8972's SSID at offset 14), NTP and PTPv2 timestamps against
 * known instants (the Unix epoch is NTP 2208988800, half a second is
 * fraction 2^31) and round trips, the NTP era 1 rule, signed differences,
 * and the Error Estimate's scale/multiplier rounding.
 */
#include "config.h"

#include "stamp_wire.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

START_TEST(test_ntp_known)
{
	struct timespec t = { .tv_sec = 0, .tv_nsec = 500000000 };
	uint64_t raw = stamp_ts_from_timespec(&t, false);

	ck_assert_uint_eq(raw >> 32, 2208988800u);
	ck_assert_uint_eq((uint32_t)raw, 0x80000000u);

	struct timespec back;
	ck_assert_int_eq(stamp_ts_to_timespec(raw, false, &back), 0);
	ck_assert_int_eq(back.tv_sec, 0);
	ck_assert_int_eq(back.tv_nsec, 500000000);
}
END_TEST

START_TEST(test_ntp_round_trip)
{
	/* every nanosecond value survives NTP's 2^-32 s (0.23 ns) steps */
	static const long ns[] = { 0, 1, 2, 3, 999, 123456789, 999999999 };
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		struct timespec t = { .tv_sec = 1796000000, .tv_nsec = ns[i] }, b;
		ck_assert_int_eq(stamp_ts_to_timespec(stamp_ts_from_timespec(&t, false),
						      false, &b), 0);
		ck_assert_int_eq(b.tv_sec, t.tv_sec);
		ck_assert_int_eq(b.tv_nsec, t.tv_nsec);
	}
}
END_TEST

START_TEST(test_ntp_era1)
{
	/* 2040-01-01 is past the 2036 wrap: NTP seconds are small again */
	struct timespec t = { .tv_sec = 2208988800, .tv_nsec = 7 }, b;
	uint64_t raw = stamp_ts_from_timespec(&t, false);

	ck_assert_uint_lt(raw >> 32, 0x80000000u);
	ck_assert_int_eq(stamp_ts_to_timespec(raw, false, &b), 0);
	ck_assert_int_eq(b.tv_sec, t.tv_sec);
	ck_assert_int_eq(b.tv_nsec, 7);
}
END_TEST

START_TEST(test_ptp)
{
	struct timespec t = { .tv_sec = 1796000000, .tv_nsec = 999999999 }, b;
	uint64_t raw = stamp_ts_from_timespec(&t, true);

	ck_assert_uint_eq(raw >> 32, 1796000000u);
	ck_assert_uint_eq((uint32_t)raw, 999999999u);
	ck_assert_int_eq(stamp_ts_to_timespec(raw, true, &b), 0);
	ck_assert_int_eq(b.tv_sec, t.tv_sec);
	ck_assert_int_eq(b.tv_nsec, t.tv_nsec);

	errno = 0;
	ck_assert_int_eq(stamp_ts_to_timespec((uint64_t)5 << 32 | 1000000000u,
					      true, &b), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_diff)
{
	struct timespec a = { .tv_sec = 100, .tv_nsec = 999999000 };
	struct timespec b = { .tv_sec = 101, .tv_nsec = 1000 };

	for (int ptp = 0; ptp <= 1; ptp++) {
		uint64_t ra = stamp_ts_from_timespec(&a, ptp);
		uint64_t rb = stamp_ts_from_timespec(&b, ptp);
		int64_t d = stamp_ts_diff_ns(ra, rb, ptp);
		ck_assert_msg(d >= 1999 && d <= 2001, "ptp=%d d=%lld", ptp, (long long)d);
		d = stamp_ts_diff_ns(rb, ra, ptp);
		ck_assert_msg(d <= -1999 && d >= -2001, "ptp=%d d=%lld", ptp, (long long)d);
	}
}
END_TEST

START_TEST(test_error_estimate)
{
	/* 1 s = 2^32 units = 255 * 2^24 rounded up?  2^32 / 2^24 = 256 > 255,
	 * so scale 25, multiplier 128: exactly 1 s. */
	uint16_t e = stamp_err_make(true, false, 1000000000u);
	ck_assert_uint_eq(e, STAMP_ERR_S | 25u << 8 | 128u);
	ck_assert_uint_eq(stamp_err_ns(e), 1000000000u);
	ck_assert(stamp_err_synced(e));
	ck_assert(!stamp_err_ptp(e));

	/* zero error still has multiplier 1 (RFC 4656: never zero) */
	e = stamp_err_make(false, true, 0);
	ck_assert_uint_eq(e, STAMP_ERR_Z | 1u);
	ck_assert(!stamp_err_synced(e));

	/* rounding is upwards: the encoded value is never below the input */
	static const uint64_t in[] = { 1, 233, 1000, 16000, 500000, 123456789,
				       16000000000ull };
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		e = stamp_err_make(true, false, in[i]);
		uint64_t out = stamp_err_ns(e);
		ck_assert_msg(out + 1 >= in[i] && out <= in[i] + in[i] / 64 + 1,
			      "in %llu out %llu", (unsigned long long)in[i],
			      (unsigned long long)out);
		ck_assert_uint_ne(e & STAMP_ERR_MULT_MASK, 0);
	}
	/* the largest: 255 * 2^31 s saturates */
	ck_assert_uint_eq(stamp_err_ns(0x3fff), UINT64_MAX);
}
END_TEST

START_TEST(test_sender_layout)
{
	uint8_t buf[64];
	struct stamp_sender s = { .seq = 0x01020304u, .ts = 0x1112131415161718ull,
				  .err = 0x8123u, .ssid = 0xabcdu }, p;

	memset(buf, 0xee, sizeof buf);
	stamp_sender_encode(buf, false, &s);
	static const uint8_t want[16] = { 1, 2, 3, 4, 0x11, 0x12, 0x13, 0x14, 0x15,
					  0x16, 0x17, 0x18, 0x81, 0x23, 0xab, 0xcd };
	ck_assert_mem_eq(buf, want, sizeof want);
	for (unsigned i = 16; i < STAMP_BASE_LEN; i++)
		ck_assert_uint_eq(buf[i], 0);
	ck_assert_uint_eq(buf[STAMP_BASE_LEN], 0xee); /* nothing past 44 */

	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_BASE_LEN, false, &p), 0);
	ck_assert_uint_eq(p.seq, s.seq);
	ck_assert_uint_eq(p.ts, s.ts);
	ck_assert_uint_eq(p.err, s.err);
	ck_assert_uint_eq(p.ssid, s.ssid);
	errno = 0;
	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_BASE_LEN - 1, false, &p), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(test_reflector_layout)
{
	uint8_t buf[48];
	struct stamp_reflector r = {
		.seq = 0xa0a1a2a3u, .ts = 0x3030303030303033ull, .err = 0x0101u,
		.ssid = 0x7777u, .rx_ts = 0x2020202020202022ull,
		.sender_seq = 0xb0b1b2b3u, .sender_ts = 0x1010101010101011ull,
		.sender_err = 0x4202u, .sender_ttl = 63,
	}, p;

	memset(buf, 0xee, sizeof buf);
	stamp_reflector_encode(buf, false, &r);
	ck_assert_uint_eq(buf[0], 0xa0);
	ck_assert_uint_eq(buf[11], 0x33);
	ck_assert_uint_eq(buf[12], 0x01);
	ck_assert_uint_eq(buf[14], 0x77);
	ck_assert_uint_eq(buf[16], 0x20);
	ck_assert_uint_eq(buf[23], 0x22);
	ck_assert_uint_eq(buf[24], 0xb0);
	ck_assert_uint_eq(buf[27], 0xb3);
	ck_assert_uint_eq(buf[28], 0x10);
	ck_assert_uint_eq(buf[35], 0x11);
	ck_assert_uint_eq(buf[36], 0x42);
	ck_assert_uint_eq(buf[37], 0x02);
	ck_assert_uint_eq(buf[38] | buf[39], 0);
	ck_assert_uint_eq(buf[40], 63);
	ck_assert_uint_eq(buf[41] | buf[42] | buf[43], 0);
	ck_assert_uint_eq(buf[44], 0xee);

	ck_assert_int_eq(stamp_reflector_parse(buf, sizeof buf, false, &p), 0);
	ck_assert_uint_eq(p.seq, r.seq);
	ck_assert_uint_eq(p.ts, r.ts);
	ck_assert_uint_eq(p.err, r.err);
	ck_assert_uint_eq(p.ssid, r.ssid);
	ck_assert_uint_eq(p.rx_ts, r.rx_ts);
	ck_assert_uint_eq(p.sender_seq, r.sender_seq);
	ck_assert_uint_eq(p.sender_ts, r.sender_ts);
	ck_assert_uint_eq(p.sender_err, r.sender_err);
	ck_assert_uint_eq(p.sender_ttl, r.sender_ttl);
	ck_assert_int_eq(stamp_reflector_parse(buf, 43, false, &p), -1);
}
END_TEST

static Suite *stamp_wire_suite(void)
{
	Suite *s = suite_create("stamp_wire");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, test_ntp_known);
	tcase_add_test(tc, test_ntp_round_trip);
	tcase_add_test(tc, test_ntp_era1);
	tcase_add_test(tc, test_ptp);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_error_estimate);
	tcase_add_test(tc, test_sender_layout);
	tcase_add_test(tc, test_reflector_layout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(stamp_wire_suite(), NULL);
}
