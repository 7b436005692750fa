/*
 * stamp_sessions.h - the sessions of a stateful STAMP reflector
 * (stateful = true in larsd.conf(5); RFC 8762 §4.3.1).
 *
 * A stateful reflector numbers its replies itself, 0, 1, 2 ... in each
 * session, so that the sender can tell the packets lost on the way out
 * (missing from the reflector's numbers) from those lost on the way back.
 * A session is the sender's address and port, the reflector's address and
 * port, and the SSID.
 *
 * One table for the daemon, shared by the workers (a session's datagrams
 * may reach any of them), of fixed size (stamp_sessions, read at start):
 * sets of STAMP_SESSIONS_WAYS sessions under a spin lock each, the set
 * chosen by SipHash under a key drawn at start.  A session idle for longer
 * than its listener's session_timeout is forgotten (its sender starts
 * again at 0); a new session takes the stalest place of its set, pushing
 * out a live session only when the set is full of them.  Called by
 * stamp.c for each request of a stateful listener; made by main.c.
 */
#ifndef LARSD_STAMP_SESSIONS_H
#define LARSD_STAMP_SESSIONS_H

#include <stdint.h>

#define STAMP_SESSIONS_WAYS 4u

struct stamp_sessions;

struct stamp_session_key {
	uint8_t peer[16], local[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	uint16_t peer_port, local_port, ssid, zero;
};

/* What the lookup did to the table (flags; none: the session went on). */
#define STAMP_SESSION_NEW 1u     /* a session began (at 0) */
#define STAMP_SESSION_EXPIRED 2u /* one idle past its timeout was forgotten */
#define STAMP_SESSION_EVICTED 4u /* a live one lost its place to a new one */

/* A table of at least `capacity` sessions (rounded up to a power of two);
 * NULL with errno. */
struct stamp_sessions *stamp_sessions_new(unsigned capacity);
void stamp_sessions_free(struct stamp_sessions *t);

/* The reflector's sequence number for the next reply of key's session at
 * now_ns (a monotonic clock), sessions idle past timeout_ns forgotten. */
uint32_t stamp_sessions_next(struct stamp_sessions *t, const struct stamp_session_key *key,
			     uint64_t now_ns, uint64_t timeout_ns, unsigned *events);

#endif /* LARSD_STAMP_SESSIONS_H */
