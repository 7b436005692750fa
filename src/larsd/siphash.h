/*
 * siphash.h - SipHash-1-3, a keyed hash for tables that outsiders fill.
 *
 * The per-source UDP rate limit (ratelimit.c) and the STAMP sessions of a
 * stateful reflector (stamp_sessions.c) both pick a slot from what a
 * client sends: under a secret key drawn at start, no client can choose
 * keys that crowd one slot.
 */
#ifndef LARSD_SIPHASH_H
#define LARSD_SIPHASH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A 128-bit key from getrandom().  0, or -1 with errno. */
int siphash_key(uint64_t key[2]);

uint64_t siphash13(const uint64_t key[2], const void *data, size_t len);

/* A spin lock for a few instructions under contention by the workers. */
static inline void spin_lock(_Atomic uint32_t *l)
{
	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		while (atomic_load_explicit(l, memory_order_relaxed))
			;
}

static inline void spin_unlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

#endif /* LARSD_SIPHASH_H */
