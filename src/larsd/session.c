/*
 * session.c - the books of one measuring session (see session.h).
 */
#include "config.h"

#include "session.h"

#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_FREE, SLOT_WAITING, SLOT_ANSWERED, SLOT_LOST, SLOT_LATE };

const char *const session_lat_name[SESSION_LATS] = {
	"rtt", "residence", "forward", "backward", "ipdv_forward", "ipdv_backward",
};

uint64_t session_slots_for(const struct conf_session *conf)
{
	double waiting = conf->rate * conf->timeout_ms / 1000.0;
	uint64_t want = 2 * (uint64_t)(waiting + 1) + 16, n = 64;

	while (n < want && n < SESSION_MAX_SLOTS)
		n <<= 1;
	return n;
}

int session_init(struct session *s, const struct conf_session *conf)
{
	memset(s, 0, sizeof(*s));
	s->conf = *conf;
	uint64_t n = session_slots_for(conf);
	s->slots = calloc(n, sizeof(s->slots[0]));
	if (!s->slots)
		return -1;
	s->mask = n - 1;
	for (int i = 0; i < SESSION_LATS; i++)
		session_hist_init(&s->lat[i]);
	return 0;
}

void session_free(struct session *s)
{
	free(s->slots);
	s->slots = NULL;
}

uint64_t session_next(struct session *s, uint64_t mono_ns, int64_t t1_ns)
{
	struct session_slot *slot = &s->slots[s->next & s->mask];

	/* The ring is twice what can wait, so the slot's packet is long
	 * decided, unless expiry fell behind: decide it now. */
	if (s->oldest + s->mask + 1 <= s->next) {
		if (slot->state == SLOT_WAITING)
			s->counts.lost++;
		s->oldest = s->next - s->mask;
	}
	slot->n = s->next;
	slot->sent_ns = mono_ns;
	slot->t1_ns = t1_ns;
	slot->state = SLOT_WAITING;
	return s->next;
}

void session_sent(struct session *s, bool ok)
{
	struct session_slot *slot = &s->slots[s->next & s->mask];

	if (ok) {
		s->counts.sent++;
	} else {
		s->counts.send_errors++;
		slot->state = SLOT_FREE; /* nothing to wait for */
	}
	s->next++;
}

void session_expire(struct session *s, uint64_t mono_ns)
{
	uint64_t timeout_ns = (uint64_t)s->conf.timeout_ms * 1000000u;

	while (s->oldest < s->next) {
		struct session_slot *slot = &s->slots[s->oldest & s->mask];
		if (slot->n == s->oldest && slot->state == SLOT_WAITING) {
			if (mono_ns - slot->sent_ns < timeout_ns)
				return;
			slot->state = SLOT_LOST;
			s->counts.lost++;
		}
		s->oldest++;
	}
}

/* A raw STAMP timestamp as nanoseconds since 1970. */
static int64_t ts_ns(uint64_t raw, bool ptp)
{
	struct timespec t;

	if (stamp_ts_to_timespec(raw, ptp, &t) < 0)
		return 0;
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint64_t positive(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)-v : (uint64_t)v;
}

/* The IPDV of packets n and n + 1, if both were answered. */
static void record_ipdv(struct session *s, uint64_t n)
{
	if (n + 1 >= s->next)
		return;
	const struct session_slot *a = &s->slots[n & s->mask], *b = &s->slots[(n + 1) & s->mask];
	if (a->n != n || b->n != n + 1 || a->state != SLOT_ANSWERED ||
	    b->state != SLOT_ANSWERED)
		return;
	session_hist_record(&s->lat[SESSION_IPDV_FORWARD], magnitude(b->fwd_ns - a->fwd_ns));
	session_hist_record(&s->lat[SESSION_IPDV_BACKWARD], magnitude(b->back_ns - a->back_ns));
}

/* The stateful reflector's number r on the reply to packet n. */
static void split_reply(struct session *s, uint64_t n, uint32_t r32)
{
	if (r32 != (uint32_t)n)
		s->stateful = true;
	/* Its number unwrapped near the last one's. */
	int32_t step = s->epoch_open ? (int32_t)(r32 - (uint32_t)s->top_r) : 0;
	uint64_t r = s->epoch_open ? s->top_r + (uint64_t)(int64_t)step : r32;
	if (s->epoch_open && n > s->top_n && step < 0) {
		/* A later packet, a lower number: the reflector restarted.
		 * Close the epoch; the packets between go forward. */
		session_split(s, &s->fwd_closed, &s->back_closed);
		uint64_t first = n >= r32 ? n - r32 : 0;
		if (first > s->top_n + 1)
			s->fwd_closed += first - (s->top_n + 1);
		s->epoch_open = false;
		r = r32;
	}
	if (!s->epoch_open) {
		s->epoch_open = true;
		s->epoch_first = n >= r ? n - r : 0;
		s->epoch_answered = 0;
		s->top_n = n;
		s->top_r = r;
	}
	if (n < s->epoch_first)
		return;
	s->epoch_answered++;
	if (n >= s->top_n) {
		s->top_n = n;
		s->top_r = r;
	}
}

bool session_split(const struct session *s, uint64_t *forward, uint64_t *backward)
{
	*forward = s->fwd_closed;
	*backward = s->back_closed;
	if (s->epoch_open) {
		uint64_t sent = s->top_n - s->epoch_first + 1, reached = s->top_r + 1;
		if (reached > sent)
			reached = sent; /* a duplicate reached it twice */
		*forward += sent - reached;
		*backward += reached > s->epoch_answered ? reached - s->epoch_answered : 0;
	}
	return s->stateful;
}

const char *session_reply(struct session *s, const struct stamp_reflector *r, int64_t t4_ns,
			  bool own_synced)
{
	/* The packet's number, from the low 32 bits on the wire. */
	uint32_t back = (uint32_t)s->next - r->sender_seq;
	if (back == 0 || back > s->next) {
		s->counts.corrupt++; /* never sent */
		return "corrupt";
	}
	uint64_t n = s->next - back;
	struct session_slot *slot = &s->slots[n & s->mask];
	if (slot->n != n || slot->state == SLOT_FREE) {
		s->counts.late++; /* its slot went to a later packet */
		return "late";
	}
	if (slot->state == SLOT_ANSWERED || slot->state == SLOT_LATE) {
		s->counts.duplicates++;
		return "duplicate";
	}
	if (slot->state == SLOT_LOST) {
		slot->state = SLOT_LATE;
		s->counts.late++;
		return "late";
	}
	bool reordered = s->any_answered && n < s->highest;
	if (reordered)
		s->counts.reordered++;
	else
		s->highest = n;
	s->any_answered = true;

	bool ptp = stamp_err_ptp(r->err);
	int64_t t2 = ts_ns(r->rx_ts, ptp), t3 = ts_ns(r->ts, ptp), t1 = slot->t1_ns;
	slot->state = SLOT_ANSWERED;
	slot->fwd_ns = t2 - t1;
	slot->back_ns = t4_ns - t3;
	s->counts.received++;
	s->synced = own_synced && stamp_err_synced(r->err);
	session_hist_record(&s->lat[SESSION_RTT], positive((t4_ns - t1) - (t3 - t2)));
	session_hist_record(&s->lat[SESSION_RESIDENCE], positive(t3 - t2));
	if (s->synced) {
		session_hist_record(&s->lat[SESSION_FORWARD], positive(slot->fwd_ns));
		session_hist_record(&s->lat[SESSION_BACKWARD], positive(slot->back_ns));
	}
	if (n > 0)
		record_ipdv(s, n - 1);
	record_ipdv(s, n);
	split_reply(s, n, r->seq);
	return reordered ? "reordered" : "received";
}

void session_corrupt(struct session *s)
{
	s->counts.corrupt++;
}
