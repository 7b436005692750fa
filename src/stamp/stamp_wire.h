/*
 * stamp_wire.h - the STAMP test packet on the wire (RFC 8762, RFC 8972).
 *
 * Owns the byte layout of the unauthenticated Session-Sender packet (RFC
 * 8762 §4.2.1) and Session-Reflector packet (§4.3.1), with RFC 8972's
 * Session-Sender Identifier (SSID) in the two bytes at offset 14 that RFC
 * 8762 had as MBZ; the Error Estimate field (RFC 4656 §4.1.2, Z bit from
 * RFC 8186); and the two timestamp formats, NTP 64-bit (seconds since
 * 1900, 32-bit binary fraction) and PTPv2 truncated (seconds since 1970,
 * 32-bit nanoseconds), to and from struct timespec.
 *
 * Two modes (RFC 8762 §4.2, §4.3): unauthenticated, base packets of
 * STAMP_BASE_LEN (44) bytes, and authenticated, STAMP_AUTH_LEN (112) bytes
 * with more MBZ fields and an HMAC at STAMP_AUTH_HMAC_OFF (stamp_hmac.h
 * signs and checks it); the functions take `auth` to choose.  A
 * TWAMP-Light sender's packet may be as short as its own fields
 * (STAMP_TWAMP_LIGHT_MIN, RFC 8762 §4.6): stamp_sender_parse_short().
 *
 * No I/O, no clocks, no allocation: callers (larsd's reflector,
 * larsd-bench's sender, the tests) bring the buffers and the times.  All
 * multi-byte fields are big-endian on the wire; the structs here hold host
 * values.  Anything past the base packet (RFC 8972 TLVs, stamp_tlv.h) is
 * the caller's business: the encoders write only the base packet.
 */
#ifndef STAMP_WIRE_H
#define STAMP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Length of the unauthenticated base packet, sender and reflector alike. */
#define STAMP_BASE_LEN 44u
/* The authenticated base packet, and where its HMAC is (it covers the
 * bytes before it; RFC 8762 §4.4). */
#define STAMP_AUTH_LEN 112u
#define STAMP_AUTH_HMAC_OFF 96u
#define STAMP_HMAC_LEN 16u
/* The shortest TWAMP-Light test packet: sequence number, timestamp and
 * Error Estimate (RFC 5357 §4.1.2), which RFC 8762 §4.6 has a reflector
 * answer with the base packet. */
#define STAMP_TWAMP_LIGHT_MIN 14u

/* Seconds from the NTP era 0 epoch (1900-01-01) to the Unix epoch. */
#define STAMP_NTP_UNIX_OFFSET 2208988800u

/* Error Estimate bits: S (synchronised to UTC), Z (PTPv2 timestamps). */
#define STAMP_ERR_S 0x8000u
#define STAMP_ERR_Z 0x4000u
#define STAMP_ERR_SCALE_SHIFT 8
#define STAMP_ERR_SCALE_MASK 0x3f00u
#define STAMP_ERR_MULT_MASK 0x00ffu

/* The unauthenticated Session-Sender packet (RFC 8762 §4.2.1 + RFC 8972):
 *   0 sequence number (4)   4 timestamp (8)   12 error estimate (2)
 *  14 SSID (2)             16 MBZ (28)                    = 44 bytes */
struct stamp_sender {
	uint32_t seq;
	uint64_t ts;      /* raw 64-bit timestamp, format per err's Z bit */
	uint16_t err;     /* error estimate, STAMP_ERR_* */
	uint16_t ssid;
};

/* The unauthenticated Session-Reflector packet (RFC 8762 §4.3.1):
 *   0 sequence number (4)   4 timestamp T3 (8)   12 error estimate (2)
 *  14 SSID (2)             16 receive timestamp T2 (8)
 *  24 sender sequence (4)  28 sender timestamp T1 (8)
 *  36 sender error estimate (2)   38 MBZ (2)
 *  40 sender TTL (1)       41 MBZ (3)                     = 44 bytes */
struct stamp_reflector {
	uint32_t seq;
	uint64_t ts;         /* T3 */
	uint16_t err;
	uint16_t ssid;
	uint64_t rx_ts;      /* T2 */
	uint32_t sender_seq;
	uint64_t sender_ts;  /* T1, as the sender wrote it */
	uint16_t sender_err;
	uint8_t sender_ttl;
};

/* Timestamps.  A raw value is the 64-bit big-endian field read as a host
 * integer: seconds in the high 32 bits, fraction (NTP) or nanoseconds
 * (PTPv2) in the low 32.  ptp selects PTPv2 truncated (the Z bit). */
uint64_t stamp_ts_from_timespec(const struct timespec *t, bool ptp);
/* Convert back; NTP seconds below 2^31 are read as era 1 (2036-2104), as
 * RFC 4330 §3 suggests.  Returns -1 with errno EINVAL for a PTPv2 value
 * whose nanoseconds are >= 10^9, else 0. */
int stamp_ts_to_timespec(uint64_t raw, bool ptp, struct timespec *out);
/* Nanoseconds from a to b (b - a), both raw values in the same format. */
int64_t stamp_ts_diff_ns(uint64_t a, uint64_t b, bool ptp);

/* Error Estimate: Multiplier * 2^(Scale - 32) seconds, multiplier never 0.
 * stamp_err_make rounds err_ns up to the nearest representable value
 * (saturating at the largest). */
uint16_t stamp_err_make(bool synced, bool ptp, uint64_t err_ns);
/* The estimate in nanoseconds (saturating at UINT64_MAX). */
uint64_t stamp_err_ns(uint16_t err);
static inline bool stamp_err_ptp(uint16_t err) { return (err & STAMP_ERR_Z) != 0; }
static inline bool stamp_err_synced(uint16_t err) { return (err & STAMP_ERR_S) != 0; }

/* The base packet's length in a mode: 44 or 112. */
size_t stamp_base_len(bool auth);

/* Parse the base packet at buf; -1 (errno EMSGSIZE) if len is shorter. */
int stamp_sender_parse(const void *buf, size_t len, bool auth, struct stamp_sender *out);
int stamp_reflector_parse(const void *buf, size_t len, bool auth, struct stamp_reflector *out);
/* Just the sender sequence number of a reflector packet too short to
 * parse, if it reaches that far; -1 (errno EMSGSIZE) if not. */
int stamp_reflector_sender_seq(const void *buf, size_t len, bool auth, uint32_t *seq);
/* An unauthenticated sender packet of at least STAMP_TWAMP_LIGHT_MIN
 * bytes, the fields it lacks read as zero. */
int stamp_sender_parse_short(const void *buf, size_t len, struct stamp_sender *out);
/* Write the base packet at buf (MBZ fields and the HMAC zeroed). */
void stamp_sender_encode(void *buf, bool auth, const struct stamp_sender *in);
void stamp_reflector_encode(void *buf, bool auth, const struct stamp_reflector *in);
/* Write the transmit timestamp T3 into a reflector packet already
 * encoded in buf, in the format its own Error Estimate's Z bit names: the
 * reflector stamps a batch of replies at once, just before sending (and
 * signs them after, in authenticated mode). */
void stamp_reflector_put_tx(void *buf, bool auth, const struct timespec *t3);

#endif /* STAMP_WIRE_H */
