/*
 * session.h - the books of one measuring session: larsd as a STAMP
 * Session-Sender (RFC 8762) to a configured peer (larsd.conf(5)
 * sessions).  measure.c owns the socket and the clock; this file only
 * counts, so its rules are tested without either (tests/unit/test_session.c).
 *
 * Each packet sent is numbered (a 64-bit count; its low 32 bits go on the
 * wire) and remembered in a ring of slots, sized for every packet that
 * can be waiting at once (rate x timeout, and some).  What a reply
 * becomes:
 *   - received: the first reply to a packet still waiting;
 *   - late: a reply to a packet already counted lost (its timeout passed),
 *     or to one so old its slot was reused; not received;
 *   - duplicate: a second reply to a packet answered, or late, already;
 *   - reordered: a first reply whose number is below that of a reply
 *     before it (RFC 4737's notion, counted once per reply);
 *   - corrupt: a reply that cannot be read or authenticated, or that
 *     names a packet never sent.
 * A packet with no reply within the timeout is lost, once, when its time
 * is up (session_expire()).
 *
 * Latencies, each in a session_hist: the round trip (T4 - T1) - (T3 -
 * T2), so the reflector's own time is not the network's; the reflector's
 * residence time T3 - T2; the forward and backward delays T2 - T1 and T4 -
 * T3, recorded only while both clocks say they are synchronised (else
 * they mix two clocks' offsets); and their variation from one packet to
 * the next (IPDV, RFC 5481, absolute values), which a constant offset
 * does not touch, so it is kept whatever the clocks say.
 *
 * Against a stateful reflector (one that numbers its replies itself, RFC
 * 8762 §4.3.1) the losses split: the reply to the highest packet answered
 * says how many had reached the reflector, so up to that packet, forward
 * losses (never reached it) and backward ones (reached it, no reply) are
 * known.  A reflector that restarts numbers from 0 again: the split goes
 * on from there, and packets lost between its last reply and its first
 * after the restart count as forward losses.
 */
#ifndef LARSD_SESSION_H
#define LARSD_SESSION_H

#include "conf.h"
#include "session_hist.h"
#include "stamp_wire.h"

#include <stdbool.h>
#include <stdint.h>

/* The slots' bound: rate x timeout may ask no more (1000/s x 60 s). */
#define SESSION_MAX_SLOTS 65536u

enum session_lat {
	SESSION_RTT,
	SESSION_RESIDENCE,
	SESSION_FORWARD,
	SESSION_BACKWARD,
	SESSION_IPDV_FORWARD,
	SESSION_IPDV_BACKWARD,
	SESSION_LATS
};

/* "rtt", "residence", ... as the control socket names them. */
extern const char *const session_lat_name[SESSION_LATS];

struct session_counts {
	uint64_t sent, received, lost, late, duplicates, reordered, corrupt, send_errors;
};

struct session_slot {
	uint64_t n;          /* the packet's number */
	uint64_t sent_ns;    /* CLOCK_MONOTONIC, for the timeout */
	int64_t t1_ns;       /* CLOCK_REALTIME at sending, as in the packet */
	int64_t fwd_ns, back_ns; /* its one-way delays, once answered */
	uint8_t state;       /* enum slot_state (session.c) */
};

struct session {
	struct conf_session conf;
	struct session_slot *slots;
	uint64_t mask;
	uint64_t next;       /* packets sent so far: the next one's number */
	uint64_t oldest;     /* the oldest packet whose fate is not known yet */
	uint64_t highest;    /* the highest packet answered, if any_answered */
	bool any_answered;
	bool synced;         /* both clocks, at the latest reply */
	struct session_counts counts;
	struct session_hist lat[SESSION_LATS];
	/* The loss split (see above). */
	bool stateful;       /* some reply's number was the reflector's own */
	bool epoch_open;
	uint64_t epoch_first;    /* the first packet the reflector's count covers */
	uint64_t epoch_answered; /* packets of the epoch answered */
	uint64_t top_n, top_r;   /* the highest packet answered, its reflector number */
	uint64_t fwd_closed, back_closed; /* the split of earlier epochs */
};

/* Set s up for conf (copied).  0, or -1 (out of memory). */
int session_init(struct session *s, const struct conf_session *conf);
void session_free(struct session *s);

/* The ring's size for conf: rate x timeout packets may wait, and twice
 * that for late replies to be told from stray ones. */
uint64_t session_slots_for(const struct conf_session *conf);

/* A packet goes out now: its number (the low 32 bits go on the wire). */
uint64_t session_next(struct session *s, uint64_t mono_ns, int64_t t1_ns);
/* ... and it went (or the send failed: counted apart, not lost). */
void session_sent(struct session *s, bool ok);

/* Count as lost every packet whose timeout has passed at mono_ns. */
void session_expire(struct session *s, uint64_t mono_ns);

/* A reply: r read from it, received at t4_ns (CLOCK_REALTIME), while this
 * host's clock was synchronised (own_synced) or not.  Returns what it was
 * counted as, for the log and the tests: "received", "late", ... */
const char *session_reply(struct session *s, const struct stamp_reflector *r, int64_t t4_ns,
			  bool own_synced);
void session_corrupt(struct session *s);

/* The loss split so far; false if the reflector is not stateful. */
bool session_split(const struct session *s, uint64_t *forward, uint64_t *backward);

#endif /* LARSD_SESSION_H */
