/*
 * fuzz_stamp_tlv.c - libFuzzer target: the RFC 8972 TLVs a STAMP reflector
 * turns into its reply (src/stamp/stamp_tlv.c).
 *
 * The input is:
 *
 *   u8    modes: bit 0 authenticated (an HMAC key), bit 1 the clock is
 *         synchronised, bit 2 sign the request's last 20 bytes as an
 *         HMAC TLV first (so that good HMACs are reached, not only bad)
 *   u8    the request's TOS byte (DSCP and ECN as received)
 *   4+4   the request's and the reply's sequence number fields
 *   ...   the rest: the TLVs after the base packet, in an allocation of
 *         exactly their size (ASan sees a read or write past them)
 *
 * A plain reference walks the request (a whole header needed, a header
 * of four zeros starts the packet's padding, a value past the end is
 * truncated) and
 * must find exactly what stamp_tlv_next() finds, each step forward and
 * within the region.  It then says what the reply must be: each TLV's
 * Type and Length as they came, its Flags those of the request plus U
 * (a type not implemented), M (truncated, or a known type of the wrong
 * length) and I (authenticated, and the request's HMAC TLV fails while
 * something other than whole Extra Padding TLVs is there), nothing else;
 * Timestamp Information and Class of Service values filled in, the HMAC
 * TLV signed over the reply (computed here with Nettle directly), and
 * every other byte, unknown values and bytes after the walk included,
 * unchanged.  The counts and the DSCP asked for must agree too.
 */
#include "config.h"

#include "fuzz.h"
#include "stamp_tlv.h"

#include <nettle/hmac.h>
#include <stdbool.h>
#include <string.h>

#define MAX_TLVS 4096

static struct stamp_key key;
static struct stamp_hmac hmac;

struct ref_tlv {
	size_t at, len;
	uint8_t flags, type;
	bool truncated;
};

/* The TLVs of p[0 .. n), walked without stamp_tlv.c; their number. */
static size_t ref_walk(const uint8_t *p, size_t n, struct ref_tlv *t)
{
	size_t pos = 0, k = 0;

	while (n - pos >= 4) {
		if (!p[pos] && !p[pos + 1] && !p[pos + 2] && !p[pos + 3])
			break; /* a zero header: the packet's padding starts */
		t[k].at = pos;
		t[k].flags = p[pos];
		t[k].type = p[pos + 1];
		t[k].len = (size_t)p[pos + 2] * 256 + p[pos + 3];
		t[k].truncated = pos + 4 + t[k].len > n;
		pos = t[k].truncated ? n : pos + 4 + t[k].len;
		k++;
	}
	return k;
}

/* Truncated HMAC-SHA-256 of seq then p[0 .. n), with Nettle directly. */
static void ref_mac(const uint8_t seq[4], const uint8_t *p, size_t n, uint8_t out[16])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_set_key(&c, key.len, key.bytes);
	hmac_sha256_update(&c, 4, seq);
	hmac_sha256_update(&c, n, p);
	hmac_sha256_digest(&c, 16, out);
}

/* The offset of the request's HMAC TLV (the last, 16 bytes, at n - 20), or
 * n if it has none. */
static size_t ref_hmac_at(const struct ref_tlv *t, size_t k, size_t n)
{
	if (k == 0 || n < 20)
		return n;
	const struct ref_tlv *last = &t[k - 1];
	return last->at == n - 20 && last->type == STAMP_TLV_HMAC && last->len == 16 ? last->at
										     : n;
}

static void check_walk(const uint8_t *p, size_t n, const struct ref_tlv *want, size_t k)
{
	struct stamp_tlv t;
	size_t pos = 0, i = 0;

	while (stamp_tlv_next(p, n, &pos, &t)) {
		FUZZ_CHECK(i < k, "stamp_tlv_next finds a TLV %zu at %zu; the reference, %zu", i,
			   t.at, k);
		FUZZ_CHECK(t.at + 4 <= n, "TLV header at %zu past the end %zu", t.at, n);
		FUZZ_CHECK(pos > t.at && pos <= n, "walk from %zu to %zu, n %zu", t.at, pos, n);
		FUZZ_CHECK(t.truncated ? pos == n : pos == t.at + 4 + t.len,
			   "TLV at %zu length %zu: next at %zu", t.at, t.len, pos);
		FUZZ_CHECK(t.at == want[i].at && t.len == want[i].len && t.type == want[i].type &&
				   t.flags == want[i].flags && t.truncated == want[i].truncated,
			   "TLV %zu: at %zu type %u len %zu trunc %d; reference at %zu type %u len %zu trunc %d",
			   i, t.at, t.type, t.len, t.truncated, want[i].at, want[i].type, want[i].len,
			   want[i].truncated);
		i++;
	}
	FUZZ_CHECK(i == k, "stamp_tlv_next finds %zu TLVs, the reference %zu", i, k);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	key.len = 32;
	for (size_t i = 0; i < key.len; i++)
		key.bytes[i] = (uint8_t)(i * 29 + 3);
	stamp_hmac_init(&hmac, &key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_tlv tlvs[MAX_TLVS];
	struct fuzz_in in = { data, size };
	uint8_t modes = fuzz_u8(&in), tos = fuzz_u8(&in), req_seq[4], reply_seq[4];
	bool auth = modes & 1, synced = modes & 2;

	for (int i = 0; i < 4; i++)
		req_seq[i] = fuzz_u8(&in);
	for (int i = 0; i < 4; i++)
		reply_seq[i] = fuzz_u8(&in);
	if (in.n / 4 + 1 > MAX_TLVS)
		return 0;

	size_t n = in.n;
	uint8_t *req = malloc(n ? n : 1), *p = malloc(n ? n : 1);
	FUZZ_CHECK(req && p, "out of memory");
	memcpy(req, in.p, n);
	if (auth && (modes & 4) && n >= 20) {
		req[n - 20] = 0;
		req[n - 19] = STAMP_TLV_HMAC;
		req[n - 18] = 0;
		req[n - 17] = 16;
		ref_mac(req_seq, req, n - 20, req + n - 16);
	}
	memcpy(p, req, n);

	/* The walk. */
	size_t k = ref_walk(req, n, tlvs);
	check_walk(req, n, tlvs, k);

	/* Is the request intact? */
	bool intact = true;
	size_t req_mac_at = ref_hmac_at(tlvs, k, n);
	if (auth) {
		bool mac_ok = false;
		if (req_mac_at < n) {
			uint8_t mac[16];
			ref_mac(req_seq, req, req_mac_at, mac);
			mac_ok = memcmp(mac, req + req_mac_at + 4, 16) == 0;
		}
		FUZZ_CHECK(stamp_tlv_check(&hmac, req_seq, req, n) == mac_ok,
			   "stamp_tlv_check says %d, the reference %d", !mac_ok, mac_ok);
		bool padding_only = true;
		for (size_t i = 0; i < k; i++)
			padding_only &= tlvs[i].type == STAMP_TLV_PADDING && !tlvs[i].truncated;
		intact = mac_ok || padding_only;
	}

	struct stamp_tlv_reflect r = {
		.rx_tos = tos, .synced = synced, .hmac = auth ? &hmac : NULL,
		.req_seq = req_seq, .reply_seq = reply_seq,
	};
	stamp_tlv_reflect(p, n, &r);

	/* The reply: what each TLV becomes; everything else as it came. */
	uint8_t *want = malloc(n ? n : 1);
	FUZZ_CHECK(want, "out of memory");
	memcpy(want, req, n);
	unsigned unknown = 0, malformed = 0;
	int dscp = -1;
	for (size_t i = 0; i < k; i++) {
		const struct ref_tlv *t = &tlvs[i];
		uint8_t *v = want + t->at + 4;
		bool known = t->type == STAMP_TLV_PADDING || t->type == STAMP_TLV_TIMESTAMP_INFO ||
			     t->type == STAMP_TLV_COS || (t->type == STAMP_TLV_HMAC && auth);
		/* Timestamp Information: sub-TLVs may follow its four octets */
		size_t len_ok = t->type == STAMP_TLV_TIMESTAMP_INFO ? (t->len < 4 ? 4 : t->len)
				: t->type == STAMP_TLV_COS	    ? 4
				: t->type == STAMP_TLV_HMAC	    ? 16
								    : t->len;

		if (!intact)
			want[t->at] |= STAMP_TLV_I;
		if (t->truncated || (known && t->len != len_ok)) {
			want[t->at] |= STAMP_TLV_M;
			malformed++;
		} else if (!known) {
			want[t->at] |= STAMP_TLV_U;
			unknown++;
		} else if (t->type == STAMP_TLV_TIMESTAMP_INFO) {
			v[0] = v[2] = synced ? 1 : 5; /* NTP, or the local clock */
			v[1] = v[3] = 2;              /* software timestamps */
		} else if (t->type == STAMP_TLV_COS) {
			dscp = v[0] >> 2;
			v[0] = (uint8_t)((v[0] & 0xfc) | tos >> 6);
			v[1] = (uint8_t)(((tos >> 2) & 0xf) << 4 | (tos & 3) << 2);
		}
	}
	if (auth && req_mac_at < n)
		ref_mac(reply_seq, want, req_mac_at, want + req_mac_at + 4);

	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(p[i] == want[i], "reply byte %zu of %zu: 0x%02x, want 0x%02x (request 0x%02x)",
			   i, n, p[i], want[i], req[i]);
	}
	/* Flags only gain U, M and I; no other bit of the reply differs from
	 * the request outside the values stamp_tlv.c fills in (checked above,
	 * stated here on its own). */
	for (size_t i = 0; i < k; i++) {
		uint8_t f = req[tlvs[i].at], g = p[tlvs[i].at];
		FUZZ_CHECK((g & f) == f && ((g & ~f) & ~(STAMP_TLV_U | STAMP_TLV_M | STAMP_TLV_I)) == 0,
			   "TLV at %zu: flags 0x%02x became 0x%02x", tlvs[i].at, f, g);
		FUZZ_CHECK(memcmp(req + tlvs[i].at + 1, p + tlvs[i].at + 1, 3) == 0,
			   "TLV at %zu: type or length changed", tlvs[i].at);
	}
	FUZZ_CHECK(r.unknown == unknown && r.malformed == malformed,
		   "counts U %u M %u, reference U %u M %u", r.unknown, r.malformed, unknown, malformed);
	FUZZ_CHECK(r.dscp == dscp, "dscp %d, reference %d", r.dscp, dscp);
	FUZZ_CHECK(r.integrity_failed == !intact, "integrity_failed %d, reference %d",
		   r.integrity_failed, !intact);
	FUZZ_CHECK(auth || !r.integrity_failed, "integrity failed without a key");

	/* The reply walks as the request did. */
	struct ref_tlv *again = malloc((k ? k : 1) * sizeof(*again));
	FUZZ_CHECK(again, "out of memory");
	FUZZ_CHECK(ref_walk(p, n, again) == k, "the reply has another number of TLVs");
	for (size_t i = 0; i < k; i++)
		FUZZ_CHECK(again[i].at == tlvs[i].at && again[i].len == tlvs[i].len,
			   "reply TLV %zu moved", i);
	free(again);
	free(want);
	free(p);
	free(req);
	return 0;
}
