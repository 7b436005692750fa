/*
 * stamp_sessions.c - the sessions of a stateful STAMP reflector (see
 * stamp_sessions.h).
 */
#include "config.h"

#include "stamp_sessions.h"
#include "siphash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct stamp_session_key) == 40, "the key is hashed as 40 bytes");

struct session {
	struct stamp_session_key key;
	uint64_t last_ns; /* the last request; 0: a free place */
	uint32_t next;    /* the next reply's sequence number */
};

struct session_set {
	_Atomic uint32_t lock; /* spin_lock() */
	struct session s[STAMP_SESSIONS_WAYS];
};

struct stamp_sessions {
	uint64_t hash_key[2];
	size_t mask; /* sets - 1 */
	struct session_set sets[];
};

struct stamp_sessions *stamp_sessions_new(unsigned capacity)
{
	size_t sets = 1;

	while (sets * STAMP_SESSIONS_WAYS < capacity)
		sets <<= 1;
	struct stamp_sessions *t = calloc(1, sizeof(*t) + sets * sizeof(struct session_set));
	if (!t)
		return NULL;
	if (siphash_key(t->hash_key) < 0) {
		int e = errno;
		free(t);
		errno = e;
		return NULL;
	}
	t->mask = sets - 1;
	return t;
}

void stamp_sessions_free(struct stamp_sessions *t)
{
	free(t);
}

/* Has s been idle past the timeout (or never used)? */
static bool idle(const struct session *s, uint64_t now_ns, uint64_t timeout_ns)
{
	return s->last_ns == 0 || (now_ns > s->last_ns && now_ns - s->last_ns > timeout_ns);
}

uint32_t stamp_sessions_next(struct stamp_sessions *t, const struct stamp_session_key *key,
			     uint64_t now_ns, uint64_t timeout_ns, unsigned *events)
{
	struct session_set *set = &t->sets[siphash13(t->hash_key, key, sizeof(*key)) & t->mask];
	struct session *found = NULL, *stalest = &set->s[0];
	uint32_t seq;

	if (now_ns == 0)
		now_ns = 1; /* 0 marks a free place */
	spin_lock(&set->lock);
	for (unsigned i = 0; i < STAMP_SESSIONS_WAYS && !found; i++) {
		struct session *s = &set->s[i];
		if (s->last_ns != 0 && memcmp(&s->key, key, sizeof(*key)) == 0)
			found = s;
		else if (s->last_ns < stalest->last_ns)
			stalest = s;
	}
	*events = 0;
	if (found && idle(found, now_ns, timeout_ns)) {
		*events = STAMP_SESSION_NEW | STAMP_SESSION_EXPIRED; /* begun again */
		found->next = 0;
	} else if (!found) {
		found = stalest;
		*events = STAMP_SESSION_NEW |
			  (found->last_ns == 0 ? 0
			   : idle(found, now_ns, timeout_ns) ? STAMP_SESSION_EXPIRED
							    : STAMP_SESSION_EVICTED);
		found->key = *key;
		found->next = 0;
	}
	found->last_ns = now_ns;
	seq = found->next++;
	spin_unlock(&set->lock);
	return seq;
}
