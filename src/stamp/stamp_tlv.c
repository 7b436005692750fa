/*
 * stamp_tlv.c - RFC 8972 TLVs (see stamp_tlv.h).
 */
#include "config.h"

#include "stamp_tlv.h"

#include <string.h>

bool stamp_tlv_next(const uint8_t *p, size_t n, size_t *pos, struct stamp_tlv *t)
{
	size_t at = *pos;

	/* A header of four zeros (Reserved type 0, length 0) is where the
	 * packet's own padding starts (RFC 8762 §4.2.1: zeros): the walk ends
	 * there, and what follows comes back as it came.  Deciding by the
	 * header alone keeps the walk linear in the packet's length. */
	if (at > n || n - at < STAMP_TLV_HDR ||
	    (p[at] | p[at + 1] | p[at + 2] | p[at + 3]) == 0)
		return false;
	t->at = at;
	t->flags = p[at];
	t->type = p[at + 1];
	t->len = (size_t)p[at + 2] << 8 | p[at + 3];
	t->truncated = t->len > n - at - STAMP_TLV_HDR;
	*pos = t->truncated ? n : at + STAMP_TLV_HDR + t->len;
	return true;
}

size_t stamp_tlv_put(uint8_t *p, size_t room, uint8_t type, const void *value, size_t len)
{
	if (len > 0xffff || room < STAMP_TLV_HDR || room - STAMP_TLV_HDR < len)
		return 0;
	p[0] = 0;
	p[1] = type;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (value)
		memcpy(p + STAMP_TLV_HDR, value, len);
	else
		memset(p + STAMP_TLV_HDR, 0, len);
	return STAMP_TLV_HDR + len;
}

/* DSCP1 (6 bits), DSCP2 (6), ECN (2), RP (2), reserved (16). */
size_t stamp_tlv_put_cos(uint8_t *p, size_t room, unsigned dscp)
{
	uint8_t v[STAMP_TLV_COS_LEN] = {(uint8_t)((dscp & 0x3f) << 2), 0, 0, 0};

	return stamp_tlv_put(p, room, STAMP_TLV_COS, v, sizeof(v));
}

void stamp_cos_read(const uint8_t v[STAMP_TLV_COS_LEN], struct stamp_cos *c)
{
	c->dscp1 = v[0] >> 2;
	c->dscp2 = (unsigned)(v[0] & 3) << 4 | v[1] >> 4;
	c->ecn = (v[1] >> 2) & 3;
	c->rp = v[1] & 3;
}

static void cos_reflect(uint8_t *v, uint8_t rx_tos, struct stamp_tlv_reflect *r)
{
	unsigned dscp1 = v[0] >> 2, dscp2 = rx_tos >> 2, ecn = rx_tos & 3;

	v[0] = (uint8_t)(dscp1 << 2 | dscp2 >> 4);
	v[1] = (uint8_t)((dscp2 & 0xf) << 4 | ecn << 2); /* RP 0: DSCP1 is used */
	r->dscp = (int)dscp1;
}

/* The HMAC TLV of p[0 .. n): the offset of its header, or n if it is not
 * the last TLV of the right length. */
static size_t hmac_tlv_at(const uint8_t *p, size_t n)
{
	if (n < STAMP_TLV_HDR + STAMP_HMAC_LEN)
		return n;
	size_t at = n - STAMP_TLV_HDR - STAMP_HMAC_LEN;
	size_t pos = 0;
	struct stamp_tlv t;
	while (stamp_tlv_next(p, n, &pos, &t))
		if (t.at == at)
			return t.type == STAMP_TLV_HMAC && t.len == STAMP_HMAC_LEN ? at : n;
	return n;
}

void stamp_tlv_sign(const struct stamp_hmac *h, const uint8_t seq[4], uint8_t *p, size_t n)
{
	size_t at = n - STAMP_TLV_HDR - STAMP_HMAC_LEN;

	stamp_hmac_sum(h, seq, 4, p, at, p + at + STAMP_TLV_HDR);
}

bool stamp_tlv_check(const struct stamp_hmac *h, const uint8_t seq[4], const uint8_t *p,
		     size_t n)
{
	size_t at = hmac_tlv_at(p, n);

	return at < n && stamp_hmac_check(h, seq, 4, p, at, p + at + STAMP_TLV_HDR);
}

/* Authenticated: does the request's HMAC TLV check out?  A request whose
 * TLVs are all Extra Padding may leave it out. */
static bool request_intact(const uint8_t *p, size_t n, const struct stamp_tlv_reflect *r)
{
	size_t pos = 0;
	struct stamp_tlv t;
	bool padding_only = true;

	if (stamp_tlv_check(r->hmac, r->req_seq, p, n))
		return true;
	while (stamp_tlv_next(p, n, &pos, &t))
		padding_only &= t.type == STAMP_TLV_PADDING && !t.truncated;
	return padding_only;
}

void stamp_tlv_reflect(uint8_t *p, size_t n, struct stamp_tlv_reflect *r)
{
	size_t pos = 0;
	struct stamp_tlv t;
	bool intact = !r->hmac || request_intact(p, n, r); /* before anything changes */

	r->dscp = -1;
	r->unknown = r->malformed = 0;
	r->integrity_failed = !intact;
	while (stamp_tlv_next(p, n, &pos, &t)) {
		uint8_t *v = p + t.at + STAMP_TLV_HDR;
		/* Timestamp Information may carry sub-TLVs after its four
		 * octets (RFC 8972 §4.3): reflected as they came. */
		size_t want = t.type == STAMP_TLV_TIMESTAMP_INFO
				      ? (t.len < STAMP_TLV_TIMESTAMP_INFO_LEN ? STAMP_TLV_TIMESTAMP_INFO_LEN : t.len)
			      : t.type == STAMP_TLV_COS  ? STAMP_TLV_COS_LEN
			      : t.type == STAMP_TLV_HMAC ? STAMP_HMAC_LEN
							 : t.len;
		bool known = t.type == STAMP_TLV_PADDING || t.type == STAMP_TLV_TIMESTAMP_INFO ||
			     t.type == STAMP_TLV_COS || (t.type == STAMP_TLV_HMAC && r->hmac);

		if (!intact)
			p[t.at] |= STAMP_TLV_I;
		if (t.truncated || (known && t.len != want)) {
			p[t.at] |= STAMP_TLV_M;
			r->malformed++;
			continue;
		}
		if (!known) {
			p[t.at] |= STAMP_TLV_U;
			r->unknown++;
			continue;
		}
		if (t.type == STAMP_TLV_TIMESTAMP_INFO) { /* T2 and T3: the kernel's, ours */
			v[0] = v[2] = r->synced ? STAMP_SYNC_NTP : STAMP_SYNC_LOCAL;
			v[1] = v[3] = STAMP_TSTAMP_SW;
		} else if (t.type == STAMP_TLV_COS) {
			cos_reflect(v, r->rx_tos, r);
		} /* Extra Padding as it came; the HMAC TLV is signed below */
	}
	/* The reply's HMAC TLV covers the reply. */
	size_t at = r->hmac ? hmac_tlv_at(p, n) : n;
	if (at < n)
		stamp_hmac_sum(r->hmac, r->reply_seq, 4, p, at, p + at + STAMP_TLV_HDR);
}
