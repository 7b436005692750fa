/*
 * test_stamp_tlv.c - RFC 8972 TLVs, src/stamp/stamp_tlv.c.
 *
 * Every TLV region here is written out byte by byte (Flags, Type, Length,
 * value), and the reply expected from it too: the walk (zero padding ends
 * it, a header that does not fit, a value that runs past the packet), the
 * flags a reflector sets (U for a type it does not implement, M for a
 * length past the packet or a known type of the wrong length, I on every
 * TLV when the HMAC TLV fails), Extra Padding reflected as it came,
 * Timestamp Information filled in, Class of Service (DSCP1 kept, DSCP2 and
 * ECN as received, RP 0), and the HMAC TLV checked and re-signed over the
 * reply's sequence number and the TLVs before it: the expected HMACs are
 * computed here with Nettle directly, not with stamp_hmac.c.
 */
#include "config.h"

#include "stamp_tlv.h"
#include "testutil.h"

#include <check.h>
#include <nettle/hmac.h>
#include <stdint.h>
#include <string.h>

#define F_U 0x80u
#define F_M 0x40u
#define F_I 0x20u

/* A TLV region under construction. */
struct region {
	uint8_t p[512];
	size_t n;
};

/* Append Flags 0, Type, Length (big-endian) and len bytes of value; the
 * offset of its header. */
static size_t add(struct region *r, uint8_t type, uint16_t len, const void *value)
{
	size_t at = r->n;

	ck_assert_uint_le(at + 4 + len, sizeof r->p);
	r->p[at] = 0;
	r->p[at + 1] = type;
	r->p[at + 2] = (uint8_t)(len >> 8);
	r->p[at + 3] = (uint8_t)len;
	if (value)
		memcpy(r->p + at + 4, value, len);
	else
		memset(r->p + at + 4, 0, len);
	r->n = at + 4 + len;
	return at;
}

static void add_zeros(struct region *r, size_t len)
{
	memset(r->p + r->n, 0, len);
	r->n += len;
}

static const uint8_t req_seq[4] = { 0x00, 0x00, 0x01, 0x2c };
static const uint8_t reply_seq[4] = { 0x00, 0x00, 0x00, 0x07 };

static struct stamp_key test_key(void)
{
	struct stamp_key k = { .len = 32 };

	for (size_t i = 0; i < k.len; i++)
		k.bytes[i] = (uint8_t)(0x5c ^ (i * 7));
	return k;
}

/* HMAC-SHA-256 of seq then p[0 .. n), first 16 bytes: Nettle directly. */
static void ref_hmac(const uint8_t seq[4], const uint8_t *p, size_t n, uint8_t out[16])
{
	struct stamp_key k = test_key();
	struct hmac_sha256_ctx c;
	uint8_t text[600];

	ck_assert_uint_le(4 + n, sizeof text);
	memcpy(text, seq, 4);
	memcpy(text + 4, p, n);
	hmac_sha256_set_key(&c, k.len, k.bytes);
	hmac_sha256_update(&c, 4 + n, text);
	hmac_sha256_digest(&c, 16, out);
}

/* Append an HMAC TLV signed for seq over everything before it. */
static size_t add_hmac(struct region *r, const uint8_t seq[4])
{
	uint8_t mac[16];

	ref_hmac(seq, r->p, r->n, mac);
	return add(r, STAMP_TLV_HMAC, 16, mac);
}

static struct stamp_tlv_reflect reflect(struct region *r, uint8_t rx_tos, bool synced,
					const struct stamp_hmac *h)
{
	struct stamp_tlv_reflect t;

	memset(&t, 0x5a, sizeof t); /* the out fields must all be set */
	t.rx_tos = rx_tos;
	t.synced = synced;
	t.hmac = h;
	t.req_seq = req_seq;
	t.reply_seq = reply_seq;
	stamp_tlv_reflect(r->p, r->n, &t);
	return t;
}

/* Everything but the listed changes is as the request had it. */
static void assert_same_except(const struct region *got, const struct region *req,
			       const struct region *want)
{
	ck_assert_uint_eq(got->n, req->n);
	for (size_t i = 0; i < got->n; i++)
		ck_assert_msg(got->p[i] == want->p[i], "octet %zu: 0x%02x, want 0x%02x (request 0x%02x)",
			      i, got->p[i], want->p[i], req->p[i]);
}

/* ---- the walk -------------------------------------------------------- */

START_TEST(test_next_walk)
{
	struct region r = { .n = 0 };
	struct stamp_tlv t;
	size_t pos = 0, a, b;

	a = add(&r, STAMP_TLV_PADDING, 3, "\x01\x02\x03");
	r.p[a] = 0x80; /* flags are reported as they are */
	b = add(&r, 0xfe, 0, NULL);
	add_zeros(&r, 9); /* the packet's plain padding */

	ck_assert(stamp_tlv_next(r.p, r.n, &pos, &t));
	ck_assert_uint_eq(t.at, 0);
	ck_assert_uint_eq(t.flags, 0x80);
	ck_assert_uint_eq(t.type, STAMP_TLV_PADDING);
	ck_assert_uint_eq(t.len, 3);
	ck_assert(!t.truncated);
	ck_assert_uint_eq(pos, 7);
	ck_assert(stamp_tlv_next(r.p, r.n, &pos, &t));
	ck_assert_uint_eq(t.at, b);
	ck_assert_uint_eq(t.type, 0xfe);
	ck_assert_uint_eq(t.len, 0);
	ck_assert(!t.truncated);
	ck_assert_uint_eq(pos, 11);
	/* nine zeros are padding, not a TLV of type 0 */
	ck_assert(!stamp_tlv_next(r.p, r.n, &pos, &t));
	ck_assert_uint_eq(pos, 11);

	/* only zeros, or nothing: no TLV */
	pos = 0;
	ck_assert(!stamp_tlv_next(r.p + 11, 9, &pos, &t));
	ck_assert(!stamp_tlv_next(r.p, 0, &pos, &t));
	pos = r.n + 1;
	ck_assert(!stamp_tlv_next(r.p, r.n, &pos, &t));

	/* a header of four zeros starts the padding, even with bytes after
	 * it: they are not walked (the walk stays linear) */
	static const uint8_t z[] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
	pos = 0;
	ck_assert(stamp_tlv_next(z, sizeof z, &pos, &t));
	ck_assert_uint_eq(t.type, 1);
	ck_assert_uint_eq(pos, 4);
	ck_assert(!stamp_tlv_next(z, sizeof z, &pos, &t));
	ck_assert_uint_eq(pos, 4);
}
END_TEST

START_TEST(test_next_short_header)
{
	/* a TLV, then three bytes: not a header */
	static const uint8_t p[] = { 0, 1, 0, 1, 0xaa, 0x00, 0x01, 0x02 };
	struct stamp_tlv t;
	size_t pos = 0;

	ck_assert(stamp_tlv_next(p, sizeof p, &pos, &t));
	ck_assert_uint_eq(pos, 5);
	ck_assert(!stamp_tlv_next(p, sizeof p, &pos, &t));
	ck_assert_uint_eq(pos, 5);
	for (size_t n = 0; n < 4; n++) {
		pos = 0;
		ck_assert_msg(!stamp_tlv_next(p + 4, n, &pos, &t), "%zu bytes", n);
	}
}
END_TEST

START_TEST(test_next_truncated)
{
	/* Length 16, only 6 bytes of value left */
	static const uint8_t p[] = { 0, 1, 0, 4, 1, 2, 3, 4, 0, 0xfe, 0, 16, 9, 8, 7, 6, 5, 4 };
	struct stamp_tlv t;
	size_t pos = 0;

	ck_assert(stamp_tlv_next(p, sizeof p, &pos, &t));
	ck_assert(!t.truncated);
	ck_assert(stamp_tlv_next(p, sizeof p, &pos, &t));
	ck_assert_uint_eq(t.at, 8);
	ck_assert_uint_eq(t.type, 0xfe);
	ck_assert_uint_eq(t.len, 16);
	ck_assert(t.truncated);
	ck_assert_uint_eq(pos, sizeof p);
	ck_assert(!stamp_tlv_next(p, sizeof p, &pos, &t));

	/* exactly fitting is not truncated; one byte less is */
	pos = 0;
	ck_assert(stamp_tlv_next(p + 8, 4 + 6, &pos, &t) && t.truncated);
	static const uint8_t q[] = { 0, 0xfe, 0, 2, 7, 7 };
	pos = 0;
	ck_assert(stamp_tlv_next(q, sizeof q, &pos, &t) && !t.truncated);
	pos = 0;
	ck_assert(stamp_tlv_next(q, sizeof q - 1, &pos, &t) && t.truncated);
	ck_assert_uint_eq(pos, sizeof q - 1);
}
END_TEST

START_TEST(test_put)
{
	uint8_t p[16];

	memset(p, 0xee, sizeof p);
	ck_assert_uint_eq(stamp_tlv_put(p, sizeof p, STAMP_TLV_PADDING, "\x01\x02", 2), 6);
	ck_assert_mem_eq(p, "\x00\x01\x00\x02\x01\x02\xee", 7);
	ck_assert_uint_eq(stamp_tlv_put(p, sizeof p, 0x42, NULL, 3), 7);
	ck_assert_mem_eq(p, "\x00\x42\x00\x03\x00\x00\x00\xee", 8);
	ck_assert_uint_eq(stamp_tlv_put(p, 6, 0x42, NULL, 3), 0);
	ck_assert_uint_eq(stamp_tlv_put(p, 3, 0x42, NULL, 0), 0);
	/* Class of Service asking for DSCP 46 (EF): DSCP1 in the top six bits */
	ck_assert_uint_eq(stamp_tlv_put_cos(p, sizeof p, 46), 8);
	ck_assert_mem_eq(p, "\x00\x04\x00\x04\xb8\x00\x00\x00", 8);
	ck_assert_uint_eq(stamp_tlv_put_cos(p, 7, 46), 0);
}
END_TEST

/* ---- reflecting ------------------------------------------------------ */

START_TEST(test_reflect_unknown)
{
	struct region r = { .n = 0 }, req, want;
	size_t a, b, c, d;

	a = add(&r, 0xfe, 5, "\x0a\x0b\x0c\x0d\x0e");
	b = add(&r, STAMP_TLV_LOCATION, 2, "\x55\x66");
	c = add(&r, STAMP_TLV_FOLLOW_UP, 0, NULL);
	d = add(&r, STAMP_TLV_HMAC, 16, "0123456789abcdef"); /* unauthenticated: unknown */
	add_zeros(&r, 6);
	req = want = r;
	want.p[a] = want.p[b] = want.p[c] = want.p[d] = F_U;

	struct stamp_tlv_reflect t = reflect(&r, 0x00, true, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(t.unknown, 4);
	ck_assert_uint_eq(t.malformed, 0);
	ck_assert_int_eq(t.dscp, -1);
	ck_assert(!t.integrity_failed);
}
END_TEST

START_TEST(test_reflect_past_end)
{
	struct region r = { .n = 0 }, req, want;
	size_t a, b;

	a = add(&r, STAMP_TLV_PADDING, 4, "\x01\x02\x03\x04");
	b = add(&r, 0xfe, 3, "\x07\x07\x07");
	r.p[b + 2] = 0x00;
	r.p[b + 3] = 0x20; /* Length 32, 3 bytes there */
	req = want = r;
	want.p[b] = F_M;

	struct stamp_tlv_reflect t = reflect(&r, 0, false, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(r.p[a], 0);
	ck_assert_uint_eq(t.unknown, 0);
	ck_assert_uint_eq(t.malformed, 1);

	/* a Class of Service TLV cut short is not acted on */
	r.n = 0;
	b = add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	r.n -= 1;
	req = want = r;
	want.p[b] = F_M;
	t = reflect(&r, 0xff, false, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(t.malformed, 1);
	ck_assert_int_eq(t.dscp, -1);
}
END_TEST

START_TEST(test_reflect_wrong_length)
{
	struct region r = { .n = 0 }, req, want;
	size_t a, b, c;

	a = add(&r, STAMP_TLV_TIMESTAMP_INFO, 3, "\x09\x09\x09");
	b = add(&r, STAMP_TLV_COS, 2, "\xb8\x00");
	c = add(&r, STAMP_TLV_COS, 0, NULL);
	req = want = r;
	want.p[a] = want.p[b] = want.p[c] = F_M;

	struct stamp_tlv_reflect t = reflect(&r, 0xb8, true, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(t.malformed, 3);
	ck_assert_uint_eq(t.unknown, 0);
	ck_assert_int_eq(t.dscp, -1);
}
END_TEST

START_TEST(test_reflect_padding)
{
	struct region r = { .n = 0 }, req;
	uint8_t v[40];

	for (size_t i = 0; i < sizeof v; i++)
		v[i] = (uint8_t)(i * 13 + 1);
	add(&r, STAMP_TLV_PADDING, sizeof v, v);
	add(&r, STAMP_TLV_PADDING, 0, NULL);
	add(&r, STAMP_TLV_PADDING, 7, NULL);
	req = r;

	struct stamp_tlv_reflect t = reflect(&r, 0x2e, true, NULL);
	assert_same_except(&r, &req, &req);
	ck_assert_uint_eq(t.unknown, 0);
	ck_assert_uint_eq(t.malformed, 0);
	ck_assert_int_eq(t.dscp, -1);
	ck_assert(!t.integrity_failed);
}
END_TEST

/* Sync Src In/Out (1 NTP, 5 local clock), Timestamp In/Out (2 software). */
START_TEST(test_reflect_timestamp_info)
{
	for (int synced = 0; synced <= 1; synced++) {
		struct region r = { .n = 0 }, req, want;
		size_t a = add(&r, STAMP_TLV_TIMESTAMP_INFO, 4, "\x09\x09\x09\x09");
		uint8_t src = synced ? 1 : 5;

		req = want = r;
		memcpy(want.p + a + 4, (uint8_t[]){ src, 2, src, 2 }, 4);
		struct stamp_tlv_reflect t = reflect(&r, 0, synced, NULL);
		assert_same_except(&r, &req, &want);
		ck_assert_uint_eq(t.unknown + t.malformed, 0);
	}
	/* sub-TLVs after the four octets (RFC 8972 §4.3) come back as they came */
	struct region r = { .n = 0 }, req, want;
	size_t a = add(&r, STAMP_TLV_TIMESTAMP_INFO, 12,
		       "\x09\x09\x09\x09\x00\x07\x00\x04\xde\xad\xbe\xef");
	req = want = r;
	memcpy(want.p + a + 4, (uint8_t[]){ 1, 2, 1, 2 }, 4);
	struct stamp_tlv_reflect t = reflect(&r, 0, true, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(t.unknown + t.malformed, 0);
}
END_TEST

/* DSCP1 (6 bits) DSCP2 (6) ECN (2) RP (2) Reserved (16): DSCP1 as asked,
 * DSCP2 and ECN from the request's TOS, RP 0 (DSCP1 was used). */
START_TEST(test_reflect_cos)
{
	struct region r = { .n = 0 }, req, want;
	size_t a, b;

	/* DSCP1 46 (EF); the sender left junk in DSCP2, ECN and RP */
	a = add(&r, STAMP_TLV_COS, 4, "\xbb\xff\x00\x00");
	b = add(&r, STAMP_TLV_PADDING, 2, "\x01\x01");
	req = want = r;
	/* received DSCP 43 (101011), ECN 3 (CE): TOS 0xaf */
	want.p[a + 4] = 0xb8 | 0x2;    /* 101110 10 */
	want.p[a + 5] = 0xb0 | 3 << 2; /* 1011 11 00 */
	struct stamp_tlv_reflect t = reflect(&r, 0xaf, true, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_int_eq(t.dscp, 46);
	ck_assert_uint_eq(r.p[b], 0);

	struct stamp_cos cos;
	stamp_cos_read(r.p + a + 4, &cos);
	ck_assert_uint_eq(cos.dscp1, 46);
	ck_assert_uint_eq(cos.dscp2, 43);
	ck_assert_uint_eq(cos.ecn, 3);
	ck_assert_uint_eq(cos.rp, 0);

	/* DSCP1 0, received DSCP 10 (AF11) with ECT(1) */
	r.n = 0;
	a = add(&r, STAMP_TLV_COS, 4, "\x00\x00\x00\x00");
	req = want = r;
	want.p[a + 4] = 0x00;                 /* 000000 00 */
	want.p[a + 5] = 0xa0 | 1 << 2;        /* 1010 01 00 */
	t = reflect(&r, 10 << 2 | 1, false, NULL);
	assert_same_except(&r, &req, &want);
	ck_assert_int_eq(t.dscp, 0);
}
END_TEST

/* ---- authenticated mode: the HMAC TLV ------------------------------- */

START_TEST(test_reflect_hmac_good)
{
	struct stamp_key key = test_key();
	struct stamp_hmac h;
	struct region r = { .n = 0 }, req, want;
	size_t a, b, c, m;
	uint8_t mac[16];

	stamp_hmac_init(&h, &key);
	a = add(&r, STAMP_TLV_PADDING, 6, "\x01\x02\x03\x04\x05\x06");
	b = add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	c = add(&r, 0xfe, 2, "\x33\x44");
	m = add_hmac(&r, req_seq);
	ck_assert(stamp_tlv_check(&h, req_seq, r.p, r.n));
	ck_assert(!stamp_tlv_check(&h, reply_seq, r.p, r.n));
	req = want = r;

	struct stamp_tlv_reflect t = reflect(&r, 0x29, true, &h);
	ck_assert(!t.integrity_failed);
	ck_assert_uint_eq(t.unknown, 1);
	ck_assert_int_eq(t.dscp, 46);
	/* the reply: U on the unknown one, Class of Service filled in, no I,
	 * and the HMAC TLV over the reply's sequence number and TLVs */
	want.p[c] = F_U;
	want.p[b + 4] = 0xb8;
	want.p[b + 5] = 0xa4;
	ref_hmac(reply_seq, want.p, m, mac);
	memcpy(want.p + m + 4, mac, 16);
	assert_same_except(&r, &req, &want);
	ck_assert_uint_eq(r.p[a], 0);
	ck_assert_uint_eq(r.p[m], 0);
	ck_assert(stamp_tlv_check(&h, reply_seq, r.p, r.n));

	/* only an HMAC TLV */
	r.n = 0;
	m = add_hmac(&r, req_seq);
	t = reflect(&r, 0, true, &h);
	ck_assert(!t.integrity_failed);
	ck_assert_uint_eq(r.p[m], 0);
	ref_hmac(reply_seq, r.p, 0, mac);
	ck_assert_mem_eq(r.p + m + 4, mac, 16);
}
END_TEST

/* A request whose HMAC TLV fails: every TLV comes back with I. */
static void check_hmac_bad(struct region *r, const struct stamp_hmac *h, const char *what)
{
	struct region req = *r;
	struct stamp_tlv t;
	size_t pos = 0, k = 0;

	struct stamp_tlv_reflect out = reflect(r, 0, true, h);
	ck_assert_msg(out.integrity_failed, "%s: integrity_failed not set", what);
	while (stamp_tlv_next(req.p, req.n, &pos, &t)) {
		ck_assert_msg(r->p[t.at] & F_I, "%s: TLV %zu at %zu without I", what, k, t.at);
		k++;
	}
	ck_assert_msg(k > 0, "%s: no TLVs", what);
}

START_TEST(test_reflect_hmac_bad)
{
	struct stamp_key key = test_key();
	struct stamp_hmac h;
	struct region r = { .n = 0 }, good;
	size_t m;

	stamp_hmac_init(&h, &key);
	add(&r, STAMP_TLV_PADDING, 6, "\x01\x02\x03\x04\x05\x06");
	add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	add(&r, 0xfe, 2, "\x33\x44");
	m = add_hmac(&r, req_seq);
	good = r;

	/* every single bit of the HMAC, flipped */
	for (unsigned bit = 0; bit < 128; bit++) {
		r = good;
		r.p[m + 4 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		check_hmac_bad(&r, &h, "HMAC bit flipped");
		ck_assert_uint_eq(r.p[0], F_I);
		ck_assert_uint_eq(r.p[m], F_I);
	}
	/* a covered byte changed */
	r = good;
	r.p[5] ^= 0x10;
	check_hmac_bad(&r, &h, "padding changed");
	/* signed for another sequence number */
	r.n = 0;
	add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	add_hmac(&r, reply_seq);
	check_hmac_bad(&r, &h, "other sequence number");
	/* an HMAC TLV of the wrong length: M as well */
	r.n = 0;
	add(&r, STAMP_TLV_PADDING, 2, NULL);
	m = add(&r, STAMP_TLV_HMAC, 12, "0123456789ab");
	check_hmac_bad(&r, &h, "short HMAC TLV");
	ck_assert_uint_eq(r.p[m], F_I | F_M);
	/* an HMAC TLV that is not the last */
	r.n = 0;
	add(&r, STAMP_TLV_PADDING, 2, NULL);
	add_hmac(&r, req_seq);
	add(&r, STAMP_TLV_PADDING, 2, "\x01\x01");
	check_hmac_bad(&r, &h, "HMAC TLV not last");
}
END_TEST

START_TEST(test_reflect_auth_without_hmac)
{
	struct stamp_key key = test_key();
	struct stamp_hmac h;
	struct region r = { .n = 0 }, req;

	stamp_hmac_init(&h, &key);

	/* Class of Service and no HMAC TLV: I */
	add(&r, STAMP_TLV_PADDING, 2, "\x01\x01");
	add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	check_hmac_bad(&r, &h, "no HMAC TLV");

	/* Extra Padding only (and the packet's zeros): nothing to protect */
	r.n = 0;
	add(&r, STAMP_TLV_PADDING, 8, "\x01\x02\x03\x04\x05\x06\x07\x08");
	add(&r, STAMP_TLV_PADDING, 1, "\x09");
	add_zeros(&r, 12);
	req = r;
	struct stamp_tlv_reflect t = reflect(&r, 0, true, &h);
	ck_assert(!t.integrity_failed);
	assert_same_except(&r, &req, &req);

	/* Extra Padding cut short is not Extra Padding */
	r.n = 0;
	add(&r, STAMP_TLV_PADDING, 8, NULL);
	r.p[8] = 0x01;
	r.n -= 2;
	check_hmac_bad(&r, &h, "truncated padding");
	ck_assert_uint_eq(r.p[0], F_I | F_M);
}
END_TEST

/* The sender's side: stamp_tlv_sign writes what Nettle computes. */
START_TEST(test_tlv_sign)
{
	struct stamp_key key = test_key();
	struct stamp_hmac h;
	struct region r = { .n = 0 };
	uint8_t mac[16];
	size_t m;

	stamp_hmac_init(&h, &key);
	add(&r, STAMP_TLV_COS, 4, "\xb8\x00\x00\x00");
	m = add(&r, STAMP_TLV_HMAC, 16, NULL);
	stamp_tlv_sign(&h, req_seq, r.p, r.n);
	ref_hmac(req_seq, r.p, m, mac);
	ck_assert_mem_eq(r.p + m + 4, mac, 16);
	ck_assert(stamp_tlv_check(&h, req_seq, r.p, r.n));
	r.n = m; /* without its HMAC TLV */
	ck_assert(!stamp_tlv_check(&h, req_seq, r.p, r.n));
	ck_assert(!stamp_tlv_check(&h, req_seq, r.p, 0));
}
END_TEST

static Suite *stamp_tlv_suite(void)
{
	Suite *s = suite_create("stamp_tlv");
	TCase *tc = tcase_create("tlv");

	tcase_add_test(tc, test_next_walk);
	tcase_add_test(tc, test_next_short_header);
	tcase_add_test(tc, test_next_truncated);
	tcase_add_test(tc, test_put);
	tcase_add_test(tc, test_reflect_unknown);
	tcase_add_test(tc, test_reflect_past_end);
	tcase_add_test(tc, test_reflect_wrong_length);
	tcase_add_test(tc, test_reflect_padding);
	tcase_add_test(tc, test_reflect_timestamp_info);
	tcase_add_test(tc, test_reflect_cos);
	tcase_add_test(tc, test_reflect_hmac_good);
	tcase_add_test(tc, test_reflect_hmac_bad);
	tcase_add_test(tc, test_reflect_auth_without_hmac);
	tcase_add_test(tc, test_tlv_sign);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(stamp_tlv_suite(), NULL);
}
