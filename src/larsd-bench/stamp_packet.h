/*
 * stamp_packet.h - what larsd-bench's STAMP Session-Sender puts in a test
 * packet and reads from a reply, as the options ask: the base packet
 * (unauthenticated, 44 bytes; authenticated, 112; or a 14-byte TWAMP-Light
 * packet), RFC 8972 TLVs after it (Class of Service, Timestamp
 * Information, Extra Padding up to --size, and in authenticated mode an
 * HMAC TLV last), zero padding past them.  client_stamp.c does the I/O
 * and the bookkeeping; this file knows the bytes (through src/stamp).
 */
#ifndef LARSD_BENCH_STAMP_PACKET_H
#define LARSD_BENCH_STAMP_PACKET_H

#include "options.h"
#include "stamp_hmac.h"
#include "stamp_tlv.h"
#include "stamp_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The smallest --size the options allow: the base packet and the TLVs. */
size_t stamp_request_min(const struct bench_opts *o);

struct stamp_spec {
	const struct bench_opts *o;
	bool auth;
	struct stamp_hmac hmac;
	size_t base;       /* base packet: 44, 112, or 14 for TWAMP-Light */
	size_t reply_len;  /* what a reply must be */
	size_t tlv_len;    /* the TLVs' bytes after the base */
};

void stamp_spec_init(struct stamp_spec *sp, const struct bench_opts *o);

/* Fill buf (--size bytes) with packet seq, its T1 (raw) and Error
 * Estimate, signed in authenticated mode. */
void stamp_request(const struct stamp_spec *sp, uint8_t *buf, uint32_t seq, uint64_t t1,
		   uint16_t err);

/* What a reply says beyond its base packet. */
struct stamp_reply {
	struct stamp_reflector r;
	unsigned tlv_u, tlv_m, tlv_i;  /* TLVs the reflector flagged */
	bool cos;                      /* a Class of Service TLV came back */
	struct stamp_cos cos_value;
	bool timestamp_info;           /* a Timestamp Information TLV came back */
	uint8_t sync_in, method_in, sync_out, method_out;
	bool tlv_hmac_ok;              /* authenticated: the reply's HMAC TLV checks */
};

/* Read a reply of len bytes.  NULL if it is a well-formed reply to this
 * sender's packets, else why not (a corrupt reply). */
const char *stamp_reply_read(const struct stamp_spec *sp, const uint8_t *p, size_t len,
			     struct stamp_reply *out);

/* The sender sequence number a reply too broken to read may still carry
 * (to charge it to its packet, not to a loss as well).  false if it is
 * too short for even that. */
bool stamp_reply_sender_seq(const struct stamp_spec *sp, const uint8_t *p, size_t len,
			    uint32_t *seq);

#endif /* LARSD_BENCH_STAMP_PACKET_H */
