/*
 * stamp_packet.c - the Session-Sender's test packets and what it reads
 * of replies (see stamp_packet.h).
 */
#include "config.h"

#include "stamp_packet.h"

#include <string.h>

#define TLV_CHOSEN (OPTS_TLV_PADDING | OPTS_TLV_COS | OPTS_TLV_TIMESTAMP)

/* TLVs on the wire (the SSID choice is a base packet field). */
static bool with_tlvs(const struct bench_opts *o)
{
	return (o->tlvs & TLV_CHOSEN) != 0;
}

size_t stamp_request_min(const struct bench_opts *o)
{
	size_t n = stamp_base_len(o->auth);

	if (o->tlvs & OPTS_TLV_COS)
		n += STAMP_TLV_HDR + STAMP_TLV_COS_LEN;
	if (o->tlvs & OPTS_TLV_TIMESTAMP)
		n += STAMP_TLV_HDR + STAMP_TLV_TIMESTAMP_INFO_LEN;
	if (o->tlvs & OPTS_TLV_PADDING)
		n += STAMP_TLV_HDR;
	if (o->auth && with_tlvs(o))
		n += STAMP_TLV_HDR + STAMP_HMAC_LEN;
	return n;
}

void stamp_spec_init(struct stamp_spec *sp, const struct bench_opts *o)
{
	memset(sp, 0, sizeof(*sp));
	sp->o = o;
	sp->auth = o->auth;
	if (o->auth)
		stamp_hmac_init(&sp->hmac, &o->key);
	sp->base = o->twamp_light ? STAMP_TWAMP_LIGHT_MIN : stamp_base_len(o->auth);
	sp->reply_len = o->twamp_light ? STAMP_BASE_LEN : o->size;
	sp->tlv_len = with_tlvs(o) ? o->size - sp->base : 0;
}

/* The TLVs at t (room bytes: all of them, Extra Padding taking what the
 * others leave), the HMAC TLV last and still unsigned. */
static void put_tlvs(const struct stamp_spec *sp, uint8_t *t, size_t room)
{
	const struct bench_opts *o = sp->o;
	size_t at = 0, hmac = sp->auth ? STAMP_TLV_HDR + STAMP_HMAC_LEN : 0;

	if (o->tlvs & OPTS_TLV_COS)
		at += stamp_tlv_put_cos(t + at, room - at, (unsigned)o->dscp);
	if (o->tlvs & OPTS_TLV_TIMESTAMP)
		at += stamp_tlv_put(t + at, room - at, STAMP_TLV_TIMESTAMP_INFO, NULL,
				    STAMP_TLV_TIMESTAMP_INFO_LEN);
	if (room - at > hmac) /* options.c saw to it that a header fits */
		at += stamp_tlv_put(t + at, room - at, STAMP_TLV_PADDING, NULL,
				    room - at - hmac - STAMP_TLV_HDR);
	if (hmac)
		stamp_tlv_put(t + at, room - at, STAMP_TLV_HMAC, NULL, STAMP_HMAC_LEN);
}

void stamp_request(const struct stamp_spec *sp, uint8_t *buf, uint32_t seq, uint64_t t1,
		   uint16_t err)
{
	const struct bench_opts *o = sp->o;
	struct stamp_sender s = {seq, t1, err, o->ssid};
	uint8_t base[STAMP_AUTH_LEN];

	memset(buf, 0, o->size);
	if (o->twamp_light) { /* the 14 bytes of RFC 5357 §4.1.2 */
		stamp_sender_encode(base, false, &s);
		memcpy(buf, base, STAMP_TWAMP_LIGHT_MIN);
		return;
	}
	stamp_sender_encode(buf, sp->auth, &s);
	if (sp->tlv_len) {
		put_tlvs(sp, buf + sp->base, sp->tlv_len);
		if (sp->auth)
			stamp_tlv_sign(&sp->hmac, buf, buf + sp->base, sp->tlv_len);
	}
	if (sp->auth)
		stamp_packet_sign(&sp->hmac, buf);
}

/* The TLVs of a reply: what the reflector flagged and said. */
static void read_tlvs(const struct stamp_spec *sp, const uint8_t *p, size_t n,
		      const uint8_t *reply_seq, struct stamp_reply *out)
{
	size_t pos = 0;
	struct stamp_tlv t;

	while (stamp_tlv_next(p, n, &pos, &t)) {
		const uint8_t *v = p + t.at + STAMP_TLV_HDR;
		out->tlv_u += (t.flags & STAMP_TLV_U) != 0;
		out->tlv_m += (t.flags & STAMP_TLV_M) != 0;
		out->tlv_i += (t.flags & STAMP_TLV_I) != 0;
		if (t.truncated)
			break;
		if (t.type == STAMP_TLV_COS && t.len == STAMP_TLV_COS_LEN) {
			out->cos = true;
			stamp_cos_read(v, &out->cos_value);
		} else if (t.type == STAMP_TLV_TIMESTAMP_INFO &&
			   t.len == STAMP_TLV_TIMESTAMP_INFO_LEN) {
			out->timestamp_info = true;
			out->sync_in = v[0];
			out->method_in = v[1];
			out->sync_out = v[2];
			out->method_out = v[3];
		}
	}
	if (sp->auth)
		out->tlv_hmac_ok = stamp_tlv_check(&sp->hmac, reply_seq, p, n);
}

const char *stamp_reply_read(const struct stamp_spec *sp, const uint8_t *p, size_t len,
			     struct stamp_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (stamp_reflector_parse(p, len, sp->auth, &out->r) < 0)
		return "is too short for a STAMP reply";
	if (len != sp->reply_len)
		return "has another length";
	if (sp->auth && !stamp_packet_check(&sp->hmac, p))
		return "fails its HMAC";
	if (sp->tlv_len)
		read_tlvs(sp, p + sp->base, sp->tlv_len, p, out);
	if (sp->auth && sp->tlv_len && !out->tlv_hmac_ok)
		return "fails the HMAC of its TLVs";
	return NULL;
}

bool stamp_reply_sender_seq(const struct stamp_spec *sp, const uint8_t *p, size_t len,
			    uint32_t *seq)
{
	return stamp_reflector_sender_seq(p, len, sp->auth, seq) == 0;
}
