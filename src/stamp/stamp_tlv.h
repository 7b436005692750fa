/*
 * stamp_tlv.h - RFC 8972 TLVs: what follows a STAMP base packet.
 *
 * Each TLV is Flags (1 octet: U, M, I and five reserved bits), Type (1),
 * Length (2, the value's octets) and the value.  The sender writes them
 * with the flags clear; the reflector copies them into its reply and
 * marks what it made of each (stamp_tlv_reflect()):
 *   U  a type it does not implement, reflected unchanged;
 *   M  a TLV whose length runs past the packet (its end is reflected as
 *      it came, and nothing after it is read), or a known type of the
 *      wrong length (Timestamp Information: shorter than 4, as sub-TLVs
 *      may follow its four octets);
 *   I  every TLV, when the HMAC TLV does not check out.
 * The walk ends at a header of four zeros, where the packet's zero
 * padding begins; the bytes from there come back unchanged.
 * Implemented: Extra Padding (reflected), Timestamp Information (how T2
 * and T3 were taken), Class of Service (the reply's DSCP; what was
 * received), HMAC (authenticated mode: checked, and the reply's signed).
 *
 * The HMAC TLV is the last one; its 16 octets are the truncated
 * HMAC-SHA-256 of the packet's sequence number (4 octets) and the TLVs
 * before it.  Nothing here allocates or does I/O.
 */
#ifndef STAMP_TLV_H
#define STAMP_TLV_H

#include "stamp_hmac.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STAMP_TLV_HDR 4u
#define STAMP_TLV_U 0x80u /* unrecognised */
#define STAMP_TLV_M 0x40u /* malformed */
#define STAMP_TLV_I 0x20u /* integrity check failed */

/* Types (IANA "STAMP TLV Types"). */
enum stamp_tlv_type {
	STAMP_TLV_PADDING = 1,
	STAMP_TLV_LOCATION = 2,
	STAMP_TLV_TIMESTAMP_INFO = 3,
	STAMP_TLV_COS = 4,
	STAMP_TLV_DIRECT = 5,
	STAMP_TLV_ACCESS = 6,
	STAMP_TLV_FOLLOW_UP = 7,
	STAMP_TLV_HMAC = 8,
};

#define STAMP_TLV_TIMESTAMP_INFO_LEN 4u
#define STAMP_TLV_COS_LEN 4u

/* Timestamp Information: synchronisation sources and timestamping methods. */
enum { STAMP_SYNC_NTP = 1, STAMP_SYNC_PTP = 2, STAMP_SYNC_SSU = 3, STAMP_SYNC_GNSS = 4,
       STAMP_SYNC_LOCAL = 5 };
enum { STAMP_TSTAMP_HW = 1, STAMP_TSTAMP_SW = 2, STAMP_TSTAMP_CONTROL = 3 };

/* One TLV as found. */
struct stamp_tlv {
	size_t at;      /* offset of its header */
	uint8_t flags;
	uint8_t type;
	size_t len;     /* the value's length, as its header says */
	bool truncated; /* the packet ends before the value does */
};

/* The TLV at *pos of p[0 .. n), and *pos moved past it (to n if it is
 * truncated).  false when no whole header is left, or the header is four
 * zeros: the packet's plain padding (RFC 8762 §4.2.1) starts there. */
bool stamp_tlv_next(const uint8_t *p, size_t n, size_t *pos, struct stamp_tlv *t);

/* Append a TLV of type with len bytes of value (NULL: zeros) at p, room
 * bytes free; its size, or 0 if it does not fit. */
size_t stamp_tlv_put(uint8_t *p, size_t room, uint8_t type, const void *value, size_t len);
/* A Class of Service TLV asking for dscp on the way back. */
size_t stamp_tlv_put_cos(uint8_t *p, size_t room, unsigned dscp);
/* Sign the TLVs p[0 .. n) (whose last one is an HMAC TLV of 16 bytes,
 * n including it) for a packet whose sequence number field is seq. */
void stamp_tlv_sign(const struct stamp_hmac *h, const uint8_t seq[4], uint8_t *p, size_t n);
/* Does their HMAC TLV check out?  false without one. */
bool stamp_tlv_check(const struct stamp_hmac *h, const uint8_t seq[4], const uint8_t *p,
		     size_t n);

/* Class of Service value: DSCP1 (the one asked for the reply), DSCP2 and
 * ECN (what the reflector received), RP. */
struct stamp_cos {
	unsigned dscp1, dscp2, ecn, rp;
};
void stamp_cos_read(const uint8_t value[STAMP_TLV_COS_LEN], struct stamp_cos *c);

/* What the reflector knows and learns while it turns the TLVs of a
 * request, copied into its reply, into the reply's. */
struct stamp_tlv_reflect {
	/* in */
	uint8_t rx_tos;                /* the request's TOS / traffic class */
	bool synced;                   /* the reflector's clock is synchronised */
	const struct stamp_hmac *hmac; /* authenticated mode, else NULL */
	const uint8_t *req_seq;        /* the request's sequence number field */
	const uint8_t *reply_seq;      /* the reply's */
	/* out */
	int dscp;                      /* Class of Service: the reply's DSCP; -1: none asked */
	unsigned unknown, malformed;   /* TLVs flagged U, M */
	bool integrity_failed;         /* the HMAC TLV did not check: all flagged I */
};

/* Process the TLVs p[0 .. n) in place.  Sets the out fields. */
void stamp_tlv_reflect(uint8_t *p, size_t n, struct stamp_tlv_reflect *r);

#endif /* STAMP_TLV_H */
