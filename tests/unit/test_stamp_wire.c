/*
 * test_stamp_wire.c - the STAMP wire format, src/stamp/stamp_wire.c, and
 * the authenticated mode's HMAC and key file (stamp_hmac.c, stamp_key.c).
 *
 * Byte offsets checked against hand-built packets (RFC 8762 §4.2.1 and
 * §4.3.1, RFC 8972's SSID at offset 14), NTP and PTPv2 timestamps against
 * known instants (the Unix epoch is NTP 2208988800, half a second is
 * fraction 2^31) and round trips, the NTP era 1 rule, signed differences,
 * and the Error Estimate's scale/multiplier rounding.
 *
 * Authenticated mode: the 112-byte layouts of RFC 8762 §4.2.2 and §4.3.2
 * (with RFC 8972's SSID after the Error Estimate) written out byte by
 * byte here, MBZ fields ignored on parse and zeroed on encode; T3 put into
 * an encoded reply; TWAMP-Light's short packets (RFC 8762 §4.6).  The
 * HMAC against RFC 4231's HMAC-SHA-256 vectors (truncated to 128 bits)
 * and against Nettle called directly; key files with every refusal.
 */
#include "config.h"

#include "stamp_hmac.h"
#include "stamp_key.h"
#include "stamp_wire.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Big-endian fields, written by hand as the RFC figures lay them out. */
static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

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

/* ---- authenticated layouts (RFC 8762 §4.2.2, §4.3.2) ------------------ */

static const struct stamp_sender auth_sender = {
	.seq = 0x01020304u, .ts = 0x1112131415161718ull, .err = 0xc1f3u, .ssid = 0xabcdu,
};

/* The authenticated Session-Sender packet, field by field:
 *   0 seq (4)   4 MBZ (12)   16 timestamp (8)   24 error estimate (2)
 *  26 SSID (2)  28 MBZ (68)  96 HMAC (16)                     = 112 */
static void auth_sender_packet(uint8_t p[STAMP_AUTH_LEN], uint8_t mbz)
{
	memset(p, mbz, STAMP_AUTH_LEN);
	be32(p + 0, auth_sender.seq);
	be64(p + 16, auth_sender.ts);
	be16(p + 24, auth_sender.err);
	be16(p + 26, auth_sender.ssid);
}

START_TEST(test_sender_auth_layout)
{
	uint8_t want[STAMP_AUTH_LEN], buf[STAMP_AUTH_LEN + 8];
	struct stamp_sender p;

	ck_assert_uint_eq(stamp_base_len(false), 44);
	ck_assert_uint_eq(stamp_base_len(true), 112);
	ck_assert_uint_eq(STAMP_AUTH_HMAC_OFF, 96);

	/* Encoding: the fields where the figure has them, every MBZ octet and
	 * the HMAC zero, nothing written past 112. */
	auth_sender_packet(want, 0);
	memset(buf, 0xee, sizeof buf);
	stamp_sender_encode(buf, true, &auth_sender);
	ck_assert_mem_eq(buf, want, STAMP_AUTH_LEN);
	for (size_t i = STAMP_AUTH_LEN; i < sizeof buf; i++)
		ck_assert_uint_eq(buf[i], 0xee);

	/* Parsing: MBZ octets are ignored on receipt, whatever they hold. */
	auth_sender_packet(buf, 0x5a);
	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_AUTH_LEN, true, &p), 0);
	ck_assert_uint_eq(p.seq, auth_sender.seq);
	ck_assert_uint_eq(p.ts, auth_sender.ts);
	ck_assert_uint_eq(p.err, auth_sender.err);
	ck_assert_uint_eq(p.ssid, auth_sender.ssid);

	/* An unauthenticated parse of the same bytes reads the 44-byte layout. */
	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_AUTH_LEN, false, &p), 0);
	ck_assert_uint_eq(p.seq, auth_sender.seq);
	ck_assert_uint_eq(p.ts, 0x5a5a5a5a5a5a5a5aull);

	errno = 0;
	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_AUTH_LEN - 1, true, &p), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	errno = 0;
	ck_assert_int_eq(stamp_sender_parse(buf, STAMP_BASE_LEN, true, &p), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

static const struct stamp_reflector auth_reflector = {
	.seq = 0xa0a1a2a3u, .ts = 0x3031323334353637ull, .err = 0x0102u, .ssid = 0x7788u,
	.rx_ts = 0x2021222324252627ull, .sender_seq = 0xb0b1b2b3u,
	.sender_ts = 0x1011121314151617ull, .sender_err = 0x4203u, .sender_ttl = 63,
};

/* The authenticated Session-Reflector packet, field by field:
 *   0 seq (4)              4 MBZ (12)    16 timestamp T3 (8)
 *  24 error estimate (2)  26 SSID (2)    28 MBZ (4)
 *  32 receive timestamp T2 (8)           40 MBZ (8)
 *  48 sender seq (4)      52 MBZ (12)    64 sender timestamp (8)
 *  72 sender error estimate (2)          74 MBZ (6)
 *  80 sender TTL (1)      81 MBZ (15)    96 HMAC (16)          = 112 */
static void auth_reflector_packet(uint8_t p[STAMP_AUTH_LEN], uint8_t mbz)
{
	memset(p, mbz, STAMP_AUTH_LEN);
	be32(p + 0, auth_reflector.seq);
	be64(p + 16, auth_reflector.ts);
	be16(p + 24, auth_reflector.err);
	be16(p + 26, auth_reflector.ssid);
	be64(p + 32, auth_reflector.rx_ts);
	be32(p + 48, auth_reflector.sender_seq);
	be64(p + 64, auth_reflector.sender_ts);
	be16(p + 72, auth_reflector.sender_err);
	p[80] = auth_reflector.sender_ttl;
}

START_TEST(test_reflector_auth_layout)
{
	uint8_t want[STAMP_AUTH_LEN], buf[STAMP_AUTH_LEN + 8];
	struct stamp_reflector p;

	auth_reflector_packet(want, 0);
	memset(buf, 0xee, sizeof buf);
	stamp_reflector_encode(buf, true, &auth_reflector);
	for (size_t i = 0; i < STAMP_AUTH_LEN; i++)
		ck_assert_msg(buf[i] == want[i], "octet %zu: 0x%02x, want 0x%02x", i, buf[i],
			      want[i]);
	for (size_t i = STAMP_AUTH_LEN; i < sizeof buf; i++)
		ck_assert_uint_eq(buf[i], 0xee);

	auth_reflector_packet(buf, 0xa5);
	ck_assert_int_eq(stamp_reflector_parse(buf, STAMP_AUTH_LEN, true, &p), 0);
	ck_assert_uint_eq(p.seq, auth_reflector.seq);
	ck_assert_uint_eq(p.ts, auth_reflector.ts);
	ck_assert_uint_eq(p.err, auth_reflector.err);
	ck_assert_uint_eq(p.ssid, auth_reflector.ssid);
	ck_assert_uint_eq(p.rx_ts, auth_reflector.rx_ts);
	ck_assert_uint_eq(p.sender_seq, auth_reflector.sender_seq);
	ck_assert_uint_eq(p.sender_ts, auth_reflector.sender_ts);
	ck_assert_uint_eq(p.sender_err, auth_reflector.sender_err);
	ck_assert_uint_eq(p.sender_ttl, auth_reflector.sender_ttl);
	errno = 0;
	ck_assert_int_eq(stamp_reflector_parse(buf, STAMP_AUTH_LEN - 1, true, &p), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

/* The sender's sequence number of a reply too short to parse: at 24 (44-byte
 * layout) or 48 (112-byte layout), if the datagram reaches that far. */
START_TEST(test_reflector_sender_seq)
{
	uint8_t buf[STAMP_AUTH_LEN];
	uint32_t seq = 0;

	memset(buf, 0x11, sizeof buf);
	be32(buf + 24, 0xc0c1c2c3u);
	be32(buf + 48, 0xd0d1d2d3u);
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, 28, false, &seq), 0);
	ck_assert_uint_eq(seq, 0xc0c1c2c3u);
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, sizeof buf, false, &seq), 0);
	ck_assert_uint_eq(seq, 0xc0c1c2c3u);
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, 52, true, &seq), 0);
	ck_assert_uint_eq(seq, 0xd0d1d2d3u);

	seq = 7;
	errno = 0;
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, 27, false, &seq), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	errno = 0;
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, 51, true, &seq), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(stamp_reflector_sender_seq(buf, 0, false, &seq), -1);
	ck_assert_uint_eq(seq, 7); /* untouched on failure */
}
END_TEST

/* T3 goes into the timestamp field of an encoded reply, in the format of
 * its own Error Estimate's Z bit, and nothing else changes (in
 * authenticated mode the HMAC is signed afterwards). */
static void check_put_tx(bool auth, bool ptp)
{
	struct stamp_reflector r = auth_reflector;
	struct timespec t3 = { .tv_sec = 1796000000, .tv_nsec = 250000000 };
	uint8_t buf[STAMP_AUTH_LEN + 4], before[sizeof buf], want_ts[8];
	size_t ts_off = auth ? 16 : 4;

	r.err = (uint16_t)(ptp ? 0x4001u : 0x8001u);
	memset(buf, 0xee, sizeof buf);
	stamp_reflector_encode(buf, auth, &r);
	if (auth)
		memset(buf + 96, 0x99, 16); /* an HMAC from earlier */
	memcpy(before, buf, sizeof buf);
	stamp_reflector_put_tx(buf, auth, &t3);
	if (ptp) { /* PTPv2 truncated: seconds since 1970, nanoseconds */
		be32(want_ts, 1796000000u);
		be32(want_ts + 4, 250000000u);
	} else { /* NTP: seconds since 1900, a quarter second is 2^30 */
		be32(want_ts, 1796000000u + 2208988800u);
		be32(want_ts + 4, 0x40000000u);
	}
	ck_assert_mem_eq(buf + ts_off, want_ts, 8);
	for (size_t i = 0; i < sizeof buf; i++)
		if (i < ts_off || i >= ts_off + 8)
			ck_assert_msg(buf[i] == before[i], "auth %d ptp %d: octet %zu changed",
				      auth, ptp, i);
}

START_TEST(test_put_tx)
{
	check_put_tx(false, false);
	check_put_tx(false, true);
	check_put_tx(true, false);
	check_put_tx(true, true);
}
END_TEST

/* ---- TWAMP-Light's short packets (RFC 8762 §4.6) ----------------------- */

/* A sender packet of exactly len bytes in its own allocation, so that
 * valgrind and ASan see any read past it: seq 0-3, timestamp 4-11, error
 * estimate 12-13, then bytes 14.. (SSID in STAMP, padding in TWAMP). */
static struct stamp_sender parse_short_of(size_t len, int *rc)
{
	uint8_t *p = malloc(len ? len : 1);
	struct stamp_sender s;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0x40 + i);
	if (len >= 14) {
		be32(p, 0xfeedf00du);
		be64(p + 4, 0x0102030405060708ull);
		be16(p + 12, 0x8a0bu);
	}
	memset(&s, 0x77, sizeof s);
	errno = 0;
	*rc = stamp_sender_parse_short(p, len, &s);
	free(p);
	return s;
}

START_TEST(test_sender_parse_short)
{
	static const size_t lens[] = { 14, 15, 16, 41, 43, 44, 60 };
	struct stamp_sender s;
	int rc;

	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		s = parse_short_of(lens[i], &rc);
		ck_assert_msg(rc == 0, "%zu bytes refused", lens[i]);
		ck_assert_uint_eq(s.seq, 0xfeedf00du);
		ck_assert_uint_eq(s.ts, 0x0102030405060708ull);
		ck_assert_uint_eq(s.err, 0x8a0bu);
		/* octets 14 and 15 are 0x4e 0x4f where the packet has them,
		 * zero where it does not */
		ck_assert_uint_eq(s.ssid, lens[i] == 14 ? 0 : lens[i] == 15 ? 0x4e00u : 0x4e4fu);
	}
	s = parse_short_of(13, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	s = parse_short_of(0, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

/* ---- HMAC-SHA-256/128 ------------------------------------------------- */

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* RFC 4231 §4: the HMAC-SHA-256 test cases whose keys fit struct stamp_key
 * (cases 6 and 7 have 131-byte keys); STAMP keeps the first 128 bits. */
static const struct {
	const char *key, *data, *mac;
} rfc4231[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddddddddddd",
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcd",
	  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	/* case 5 gives only the truncated output */
	{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
	  "a3b6167473100ee06e0c796c2955552b" },
};

START_TEST(test_hmac_rfc4231)
{
	for (size_t c = 0; c < sizeof rfc4231 / sizeof rfc4231[0]; c++) {
		struct stamp_key key = { .len = 0 };
		struct stamp_hmac h;
		uint8_t data[64], want[32], mac[STAMP_HMAC_LEN];
		size_t n;

		key.len = unhex(rfc4231[c].key, key.bytes);
		n = unhex(rfc4231[c].data, data);
		unhex(rfc4231[c].mac, want);
		stamp_hmac_init(&h, &key);

		/* whole, then split across a and b at every point */
		stamp_hmac_sum(&h, data, n, NULL, 0, mac);
		ck_assert_msg(memcmp(mac, want, STAMP_HMAC_LEN) == 0, "case %zu", c + 1);
		for (size_t cut = 0; cut <= n; cut++) {
			memset(mac, 0, sizeof mac);
			stamp_hmac_sum(&h, data, cut, data + cut, n - cut, mac);
			ck_assert_msg(memcmp(mac, want, STAMP_HMAC_LEN) == 0, "case %zu cut %zu",
				      c + 1, cut);
			ck_assert(stamp_hmac_check(&h, data, cut, data + cut, n - cut, want));
		}

		/* one flipped bit anywhere in the 16 bytes is refused */
		for (unsigned bit = 0; bit < 8 * STAMP_HMAC_LEN; bit++) {
			memcpy(mac, want, sizeof mac);
			mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			ck_assert_msg(!stamp_hmac_check(&h, data, n, NULL, 0, mac),
				      "case %zu: bit %u flipped passes", c + 1, bit);
		}
		/* as is a change in the data */
		data[n - 1] ^= 1;
		ck_assert(!stamp_hmac_check(&h, data, n, NULL, 0, want));
	}
}
END_TEST

/* The HMAC of an authenticated base packet covers bytes 0..95 and sits in
 * 96..111 (RFC 8762 §4.4); checked here against Nettle called directly. */
START_TEST(test_packet_sign)
{
	struct stamp_key key = { .len = 32 };
	struct stamp_hmac h;
	struct hmac_sha256_ctx ref;
	uint8_t buf[STAMP_AUTH_LEN + 8], want[STAMP_HMAC_LEN];

	for (size_t i = 0; i < key.len; i++)
		key.bytes[i] = (uint8_t)(0xa0 + i);
	stamp_hmac_init(&h, &key);
	auth_sender_packet(buf, 0);
	memset(buf + STAMP_AUTH_LEN, 0xee, 8);

	hmac_sha256_set_key(&ref, key.len, key.bytes);
	hmac_sha256_update(&ref, 96, buf);
	hmac_sha256_digest(&ref, sizeof want, want);

	stamp_packet_sign(&h, buf);
	ck_assert_mem_eq(buf + 96, want, sizeof want);
	for (size_t i = STAMP_AUTH_LEN; i < sizeof buf; i++)
		ck_assert_uint_eq(buf[i], 0xee);
	ck_assert(stamp_packet_check(&h, buf));

	/* any bit of the packet, fields or HMAC, flipped: refused */
	for (unsigned bit = 0; bit < 8 * STAMP_AUTH_LEN; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!stamp_packet_check(&h, buf), "bit %u flipped passes", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* bytes past the packet are not covered */
	buf[STAMP_AUTH_LEN] = 0;
	ck_assert(stamp_packet_check(&h, buf));

	/* another key */
	key.bytes[0] ^= 1;
	stamp_hmac_init(&h, &key);
	ck_assert(!stamp_packet_check(&h, buf));
}
END_TEST

/* ---- key files -------------------------------------------------------- */

static char key_dir[4096];

static void key_dir_make(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(key_dir, sizeof key_dir, "%s/test_stamp_key.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(key_dir));
}

/* Write text into a new file of that mode in key_dir, read it as a key,
 * remove it; stamp_key_read's result. */
static int key_try(const char *text, mode_t mode, struct stamp_key *key, char *why,
		   size_t whylen)
{
	char path[4200];
	int fd, rc;

	snprintf(path, sizeof path, "%s/key.XXXXXX", key_dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	why[0] = '\0';
	rc = stamp_key_read(path, key, why, whylen);
	unlink(path);
	ck_assert_msg(strchr(why, '\n') == NULL, "reason with a newline: %s", why);
	ck_assert_msg(strstr(why, key_dir) == NULL, "reason names the path: %s", why);
	return rc;
}

static void key_good(const char *text, size_t len, const uint8_t *want)
{
	struct stamp_key key;
	char why[200];

	ck_assert_msg(key_try(text, 0600, &key, why, sizeof why) == 0, "'%s': %s", text, why);
	ck_assert_uint_eq(key.len, len);
	ck_assert_mem_eq(key.bytes, want, len);
}

static void key_bad(const char *text, mode_t mode, const char *reason)
{
	struct stamp_key key;
	char why[200];

	ck_assert_msg(key_try(text, mode, &key, why, sizeof why) == -1, "'%s' accepted", text);
	ck_assert_msg(strcmp(why, reason) == 0, "'%s': reason '%s', want '%s'", text, why,
		      reason);
	ck_assert_uint_eq(key.len, 0);
}

/* hex digits for n bytes 0x00, 0x11, ... (upper or lower case) */
static const char *key_hex(size_t n, bool upper, const char *tail)
{
	static char text[300];
	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, sizeof text - off, upper ? "%02X" : "%02x",
					(unsigned)(uint8_t)(i * 0x11 + 0x0f));
	snprintf(text + off, sizeof text - off, "%s", tail);
	return text;
}

START_TEST(test_key_good)
{
	uint8_t want[64];

	key_dir_make();
	for (size_t i = 0; i < sizeof want; i++)
		want[i] = (uint8_t)(i * 0x11 + 0x0f);
	key_good(key_hex(16, false, "\n"), 16, want);
	key_good(key_hex(16, true, ""), 16, want);
	key_good(key_hex(32, true, "\n"), 32, want);
	key_good(key_hex(32, false, "\r\n"), 32, want);
	key_good(key_hex(64, false, "\n"), 64, want);
	key_good(key_hex(64, true, ""), 64, want);
	key_good("00112233445566778899AaBbCcDdEeFf\n", 16,
		 (const uint8_t *)"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff");
	ck_assert_int_eq(rmdir(key_dir), 0);
}
END_TEST

START_TEST(test_key_refused)
{
	struct stamp_key key;
	char path[4200], why[200], text[400], long_text[600];

	key_dir_make();

	/* missing, and not a regular file */
	snprintf(path, sizeof path, "%s/absent", key_dir);
	memset(&key, 0x55, sizeof key);
	ck_assert_int_eq(stamp_key_read(path, &key, why, sizeof why), -1);
	ck_assert_str_eq(why, "cannot open the key file: No such file or directory");
	ck_assert_uint_eq(key.len, 0);
	ck_assert_int_eq(stamp_key_read(key_dir, &key, why, sizeof why), -1);
	ck_assert_str_eq(why, "the key file is not a regular file");

	/* others may read it: the mode is named, whoever reads it */
	key_bad(key_hex(32, false, "\n"), 0640,
		"the key file is open to group or others (mode 0640): chmod 600 it");
	key_bad(key_hex(32, false, "\n"), 0604,
		"the key file is open to group or others (mode 0604): chmod 600 it");
	key_bad(key_hex(32, false, "\n"), 0610,
		"the key file is open to group or others (mode 0610): chmod 600 it");

	/* the text */
	snprintf(text, sizeof text, "%sa\n", key_hex(16, false, ""));
	key_bad(text, 0600, "the key must be 16 to 64 bytes in hex (32 to 128 digits), not 33 digits");
	snprintf(text, sizeof text, "%s\n", key_hex(16, false, ""));
	text[7] = 'g';
	key_bad(text, 0600, "the key has a character that is not a hex digit");
	snprintf(text, sizeof text, "%s\n", key_hex(16, false, ""));
	text[0] = ' ';
	key_bad(text, 0600, "the key has a character that is not a hex digit");
	snprintf(text, sizeof text, "0x%s\n", key_hex(16, false, ""));
	key_bad(text, 0600, "the key has a character that is not a hex digit");
	key_bad(key_hex(15, false, "\n"), 0600,
		"the key must be 16 to 64 bytes in hex (32 to 128 digits), not 30 digits");
	key_bad(key_hex(65, false, "\n"), 0600,
		"the key must be 16 to 64 bytes in hex (32 to 128 digits), not 130 digits");
	key_bad("", 0600, "the key must be 16 to 64 bytes in hex (32 to 128 digits), not 0 digits");
	key_bad("\n", 0600, "the key must be 16 to 64 bytes in hex (32 to 128 digits), not 0 digits");
	snprintf(text, sizeof text, "%s\n", key_hex(16, false, ""));
	snprintf(text + strlen(text), sizeof text - strlen(text), "%s", key_hex(16, false, "\n"));
	key_bad(text, 0600, "the key file must hold the key as hex on one line");
	key_bad(key_hex(16, false, "\n\n"), 0600, "the key file must hold the key as hex on one line");

	/* a key much longer than the largest is refused too */
	memset(long_text, 'a', 500);
	long_text[500] = '\0';
	ck_assert_int_eq(key_try(long_text, 0600, &key, why, sizeof why), -1);
	ck_assert_uint_eq(key.len, 0);

	ck_assert_int_eq(rmdir(key_dir), 0);
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
	tcase_add_test(tc, test_sender_auth_layout);
	tcase_add_test(tc, test_reflector_auth_layout);
	tcase_add_test(tc, test_reflector_sender_seq);
	tcase_add_test(tc, test_put_tx);
	tcase_add_test(tc, test_sender_parse_short);
	tcase_add_test(tc, test_hmac_rfc4231);
	tcase_add_test(tc, test_packet_sign);
	tcase_add_test(tc, test_key_good);
	tcase_add_test(tc, test_key_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(stamp_wire_suite(), NULL);
}
