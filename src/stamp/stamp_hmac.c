/*
 * stamp_hmac.c - HMAC-SHA-256/128 for STAMP's authenticated
 * mode (see stamp_hmac.h).
 */
#include "config.h"

#include "stamp_hmac.h"

#include <nettle/memops.h>

void stamp_hmac_init(struct stamp_hmac *h, const struct stamp_key *key)
{
	hmac_sha256_set_key(&h->keyed, key->len, key->bytes);
}

void stamp_hmac_sum(const struct stamp_hmac *h, const void *a, size_t alen, const void *b,
		    size_t blen, uint8_t mac[STAMP_HMAC_LEN])
{
	struct hmac_sha256_ctx c = h->keyed; /* the keyed state, used once */

	hmac_sha256_update(&c, alen, a);
	if (b && blen)
		hmac_sha256_update(&c, blen, b);
	hmac_sha256_digest(&c, STAMP_HMAC_LEN, mac);
}

bool stamp_hmac_check(const struct stamp_hmac *h, const void *a, size_t alen, const void *b,
		      size_t blen, const uint8_t mac[STAMP_HMAC_LEN])
{
	uint8_t want[STAMP_HMAC_LEN];

	stamp_hmac_sum(h, a, alen, b, blen, want);
	return memeql_sec(want, mac, STAMP_HMAC_LEN) != 0;
}

void stamp_packet_sign(const struct stamp_hmac *h, void *buf)
{
	uint8_t *p = buf;

	stamp_hmac_sum(h, p, STAMP_AUTH_HMAC_OFF, NULL, 0, p + STAMP_AUTH_HMAC_OFF);
}

bool stamp_packet_check(const struct stamp_hmac *h, const void *buf)
{
	const uint8_t *p = buf;

	return stamp_hmac_check(h, p, STAMP_AUTH_HMAC_OFF, NULL, 0, p + STAMP_AUTH_HMAC_OFF);
}
