/*
 * stamp_wire.c - STAMP packet layouts and timestamp formats (see
 * stamp_wire.h).  Byte offsets are named once here; nothing else in the
 * tree should know them.
 */
#include "config.h"

#include "stamp_wire.h"

#include <errno.h>
#include <string.h>

/* Where each field is, in each mode: RFC 8762 §4.2.1 and §4.3.1
 * (unauthenticated), §4.2.2 and §4.3.2 (authenticated), with RFC 8972
 * §3's SSID in the two octets after the Error Estimate. */
struct layout {
	size_t len, seq, ts, err, ssid;
	size_t rx_ts, sender_seq, sender_ts, sender_err, sender_ttl; /* reflector */
};

static const struct layout layouts[2] = {
	{STAMP_BASE_LEN, 0, 4, 12, 14, 16, 24, 28, 36, 40},
	{STAMP_AUTH_LEN, 0, 16, 24, 26, 32, 48, 64, 72, 80},
};

#define NS_PER_S 1000000000u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

uint64_t stamp_ts_from_timespec(const struct timespec *t, bool ptp)
{
	uint64_t ns = (uint64_t)t->tv_nsec;

	if (ptp)
		return (uint64_t)(uint32_t)t->tv_sec << 32 | ns;
	/* Seconds wrap modulo 2^32 at the era boundary (2036), as NTP's do. */
	uint32_t sec = (uint32_t)((uint64_t)t->tv_sec + STAMP_NTP_UNIX_OFFSET);
	uint32_t frac = (uint32_t)((ns << 32) / NS_PER_S);
	return (uint64_t)sec << 32 | frac;
}

int stamp_ts_to_timespec(uint64_t raw, bool ptp, struct timespec *out)
{
	uint32_t sec = (uint32_t)(raw >> 32), low = (uint32_t)raw;

	if (ptp) {
		if (low >= NS_PER_S) {
			errno = EINVAL;
			return -1;
		}
		out->tv_sec = (time_t)sec;
		out->tv_nsec = (long)low;
		return 0;
	}
	int64_t unix_s = (int64_t)sec - STAMP_NTP_UNIX_OFFSET;
	if (sec < 0x80000000u) /* era 1: past 2036-02-07 */
		unix_s += (int64_t)1 << 32;
	/* Round to the nearest nanosecond: 2^-32 s is about 0.23 ns. */
	uint64_t ns = ((uint64_t)low * NS_PER_S + (1u << 31)) >> 32;
	if (ns >= NS_PER_S) {
		ns -= NS_PER_S;
		unix_s++;
	}
	out->tv_sec = (time_t)unix_s;
	out->tv_nsec = (long)ns;
	return 0;
}

int64_t stamp_ts_diff_ns(uint64_t a, uint64_t b, bool ptp)
{
	if (ptp) {
		int64_t ds = (int64_t)(uint32_t)((b >> 32) - (a >> 32));
		if (ds >= (int64_t)1 << 31) /* wrapped: b before a */
			ds -= (int64_t)1 << 32;
		return ds * NS_PER_S + ((int64_t)(uint32_t)b - (int64_t)(uint32_t)a);
	}
	/* Both in 2^-32 s units; the difference modulo 2^64 is signed. */
	int64_t d = (int64_t)(b - a);
	bool neg = d < 0;
	uint64_t m = neg ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
	uint64_t ns = (m >> 32) * NS_PER_S +
		      (((m & 0xffffffffu) * NS_PER_S + (1u << 31)) >> 32);
	return neg ? -(int64_t)ns : (int64_t)ns;
}

uint16_t stamp_err_make(bool synced, bool ptp, uint64_t err_ns)
{
	/* units of 2^-32 s, rounded up, without overflowing 64 bits */
	uint64_t units = (err_ns / NS_PER_S) << 32;
	units += ((err_ns % NS_PER_S << 32) + NS_PER_S - 1) / NS_PER_S;
	unsigned scale = 0;
	uint64_t mult = units;

	while (mult > 0xff && scale < 63) {
		scale++;
		mult = (units + ((uint64_t)1 << scale) - 1) >> scale;
	}
	if (mult > 0xff)
		mult = 0xff;
	if (mult == 0) /* RFC 4656 §4.1.2: the multiplier is never zero */
		mult = 1;
	return (uint16_t)((synced ? STAMP_ERR_S : 0) | (ptp ? STAMP_ERR_Z : 0) |
			  scale << STAMP_ERR_SCALE_SHIFT | mult);
}

uint64_t stamp_err_ns(uint16_t err)
{
	unsigned scale = (err & STAMP_ERR_SCALE_MASK) >> STAMP_ERR_SCALE_SHIFT;
	uint64_t mult = err & STAMP_ERR_MULT_MASK;

	/* mult * 10^9 * 2^(scale - 32): mult * 10^9 < 2^38 is exact, then
	 * shifted right (rounding down) or left (saturating). */
	if (scale <= 32)
		return (mult * NS_PER_S) >> (32 - scale);
	unsigned up = scale - 32;
	uint64_t s = mult * NS_PER_S;
	if (up >= 64 || s > UINT64_MAX >> up)
		return UINT64_MAX;
	return s << up;
}

size_t stamp_base_len(bool auth)
{
	return layouts[auth].len;
}

/* The fields both packets begin with: sequence number, timestamp, error
 * estimate, SSID. */
static void head_get(const uint8_t *p, const struct layout *l, uint32_t *seq, uint64_t *ts,
		     uint16_t *err, uint16_t *ssid)
{
	*seq = get32(p + l->seq);
	*ts = get64(p + l->ts);
	*err = get16(p + l->err);
	*ssid = get16(p + l->ssid);
}

static void head_put(uint8_t *p, const struct layout *l, uint32_t seq, uint64_t ts, uint16_t err,
		     uint16_t ssid)
{
	memset(p, 0, l->len); /* the MBZ fields, and the HMAC until it is signed */
	put32(p + l->seq, seq);
	put64(p + l->ts, ts);
	put16(p + l->err, err);
	put16(p + l->ssid, ssid);
}

int stamp_sender_parse(const void *buf, size_t len, bool auth, struct stamp_sender *out)
{
	if (len < layouts[auth].len) {
		errno = EMSGSIZE;
		return -1;
	}
	head_get(buf, &layouts[auth], &out->seq, &out->ts, &out->err, &out->ssid);
	return 0;
}

int stamp_sender_parse_short(const void *buf, size_t len, struct stamp_sender *out)
{
	uint8_t base[STAMP_BASE_LEN] = {0};

	if (len < STAMP_TWAMP_LIGHT_MIN) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(base, buf, len < sizeof(base) ? len : sizeof(base));
	head_get(base, &layouts[0], &out->seq, &out->ts, &out->err, &out->ssid);
	return 0;
}

int stamp_reflector_parse(const void *buf, size_t len, bool auth, struct stamp_reflector *out)
{
	const struct layout *l = &layouts[auth];
	const uint8_t *p = buf;

	if (len < l->len) {
		errno = EMSGSIZE;
		return -1;
	}
	head_get(p, l, &out->seq, &out->ts, &out->err, &out->ssid);
	out->rx_ts = get64(p + l->rx_ts);
	out->sender_seq = get32(p + l->sender_seq);
	out->sender_ts = get64(p + l->sender_ts);
	out->sender_err = get16(p + l->sender_err);
	out->sender_ttl = p[l->sender_ttl];
	return 0;
}

int stamp_reflector_sender_seq(const void *buf, size_t len, bool auth, uint32_t *seq)
{
	const struct layout *l = &layouts[auth];

	if (len < l->sender_seq + 4) {
		errno = EMSGSIZE;
		return -1;
	}
	*seq = get32((const uint8_t *)buf + l->sender_seq);
	return 0;
}

void stamp_sender_encode(void *buf, bool auth, const struct stamp_sender *in)
{
	head_put(buf, &layouts[auth], in->seq, in->ts, in->err, in->ssid);
}

void stamp_reflector_encode(void *buf, bool auth, const struct stamp_reflector *in)
{
	const struct layout *l = &layouts[auth];
	uint8_t *p = buf;

	head_put(p, l, in->seq, in->ts, in->err, in->ssid);
	put64(p + l->rx_ts, in->rx_ts);
	put32(p + l->sender_seq, in->sender_seq);
	put64(p + l->sender_ts, in->sender_ts);
	put16(p + l->sender_err, in->sender_err);
	p[l->sender_ttl] = in->sender_ttl;
}

void stamp_reflector_put_tx(void *buf, bool auth, const struct timespec *t3)
{
	const struct layout *l = &layouts[auth];
	uint8_t *p = buf;

	put64(p + l->ts, stamp_ts_from_timespec(t3, stamp_err_ptp(get16(p + l->err))));
}
