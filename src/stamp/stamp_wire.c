/*
 * stamp_wire.c - STAMP packet layouts and timestamp formats (see
 * stamp_wire.h).  Byte offsets are named once here; nothing else in the
 * tree should know them.
 */
#include "config.h"

#include "stamp_wire.h"

#include <errno.h>
#include <string.h>

enum {
	OFF_SEQ = 0,
	OFF_TS = 4,
	OFF_ERR = 12,
	OFF_SSID = 14,
	OFF_RX_TS = 16,         /* reflector only from here on */
	OFF_SENDER_SEQ = 24,
	OFF_SENDER_TS = 28,
	OFF_SENDER_ERR = 36,
	OFF_SENDER_TTL = 40,
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

/* The 16 bytes both packets begin with: sequence number, timestamp, error
 * estimate, SSID. */
static void head_get(const uint8_t *p, uint32_t *seq, uint64_t *ts, uint16_t *err,
		     uint16_t *ssid)
{
	*seq = get32(p + OFF_SEQ);
	*ts = get64(p + OFF_TS);
	*err = get16(p + OFF_ERR);
	*ssid = get16(p + OFF_SSID);
}

static void head_put(uint8_t *p, uint32_t seq, uint64_t ts, uint16_t err, uint16_t ssid)
{
	memset(p, 0, STAMP_BASE_LEN);
	put32(p + OFF_SEQ, seq);
	put64(p + OFF_TS, ts);
	put16(p + OFF_ERR, err);
	put16(p + OFF_SSID, ssid);
}

int stamp_sender_parse(const void *buf, size_t len, struct stamp_sender *out)
{
	if (len < STAMP_BASE_LEN) {
		errno = EMSGSIZE;
		return -1;
	}
	head_get(buf, &out->seq, &out->ts, &out->err, &out->ssid);
	return 0;
}

int stamp_reflector_parse(const void *buf, size_t len, struct stamp_reflector *out)
{
	const uint8_t *p = buf;

	if (len < STAMP_BASE_LEN) {
		errno = EMSGSIZE;
		return -1;
	}
	head_get(p, &out->seq, &out->ts, &out->err, &out->ssid);
	out->rx_ts = get64(p + OFF_RX_TS);
	out->sender_seq = get32(p + OFF_SENDER_SEQ);
	out->sender_ts = get64(p + OFF_SENDER_TS);
	out->sender_err = get16(p + OFF_SENDER_ERR);
	out->sender_ttl = p[OFF_SENDER_TTL];
	return 0;
}

void stamp_sender_encode(void *buf, const struct stamp_sender *in)
{
	head_put(buf, in->seq, in->ts, in->err, in->ssid); /* and the MBZ */
}

void stamp_reflector_encode(void *buf, const struct stamp_reflector *in)
{
	uint8_t *p = buf;

	head_put(p, in->seq, in->ts, in->err, in->ssid); /* and the MBZ */
	put64(p + OFF_RX_TS, in->rx_ts);
	put32(p + OFF_SENDER_SEQ, in->sender_seq);
	put64(p + OFF_SENDER_TS, in->sender_ts);
	put16(p + OFF_SENDER_ERR, in->sender_err);
	p[OFF_SENDER_TTL] = in->sender_ttl;
}

void stamp_reflector_put_tx(void *buf, const struct timespec *t3)
{
	uint8_t *p = buf;

	put64(p + OFF_TS, stamp_ts_from_timespec(t3, stamp_err_ptp(get16(p + OFF_ERR))));
}
