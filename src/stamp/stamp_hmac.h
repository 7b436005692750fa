/*
 * stamp_hmac.h - STAMP's authenticated mode: HMAC-SHA-256 truncated to 128
 * bits (RFC 8762 §4.4, RFC 8972 §4.8), and the shared key it uses.
 *
 * The hash is Nettle's (the library GnuTLS is built on), never one of our
 * own; checks compare in constant time (memeql_sec).  A struct stamp_hmac
 * holds the key already run through HMAC's inner and outer pads, so a
 * packet costs two SHA-256 compressions, not four.
 *
 * Used by larsd's reflector and larsd-bench's sender, with the key of
 * stamp_key.h.
 */
#ifndef STAMP_HMAC_H
#define STAMP_HMAC_H

#include "stamp_key.h"
#include "stamp_wire.h"

#include <nettle/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stamp_hmac {
	struct hmac_sha256_ctx keyed;
};

void stamp_hmac_init(struct stamp_hmac *h, const struct stamp_key *key);

/* The truncated HMAC of a then b (b may be NULL) into mac. */
void stamp_hmac_sum(const struct stamp_hmac *h, const void *a, size_t alen, const void *b,
		    size_t blen, uint8_t mac[STAMP_HMAC_LEN]);
/* Does mac match?  In constant time. */
bool stamp_hmac_check(const struct stamp_hmac *h, const void *a, size_t alen, const void *b,
		      size_t blen, const uint8_t mac[STAMP_HMAC_LEN]);

/* An authenticated base packet at buf: sign it (the HMAC over the bytes
 * before it), or check its HMAC. */
void stamp_packet_sign(const struct stamp_hmac *h, void *buf);
bool stamp_packet_check(const struct stamp_hmac *h, const void *buf);

#endif /* STAMP_HMAC_H */
