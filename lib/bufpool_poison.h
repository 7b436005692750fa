/*
 * bufpool_poison.h - idle buffers made untouchable in checking builds.
 *
 * Under AddressSanitizer the data of an idle buffer is poisoned, and under
 * valgrind (configure --enable-valgrind-poison, which needs
 * valgrind/memcheck.h) it is marked no-access, from the moment it is
 * reverted (or made idle) until bufpool_alloc() hands it out again: a
 * write through a pointer kept after bufpool_revert() is reported where it
 * happens.  The header (next, and the pool's private fields) stays
 * accessible: the idle lists link through it.
 *
 * In a normal build both functions are empty and inline, so the fast paths
 * pay nothing.  make check builds a separate copy of the library with the
 * valgrind requests for tests/unit/test_poison_vg; that copy is never installed.  Included by the files that move buffers between idle and
 * handed out: bufpool.c and bufpool_alloc.c.
 */
#ifndef BUFPOOL_POISON_H
#define BUFPOOL_POISON_H

#include "bufpool_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define BUFPOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUFPOOL_ASAN 1
#endif
#endif

#ifdef BUFPOOL_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef BUFPOOL_VALGRIND_POISON
#include <valgrind/memcheck.h>
#endif

/* The buffer is idle from now on: its data must not be touched. */
static inline void buf_poison(struct io_buf *b)
{
#ifdef BUFPOOL_ASAN
	ASAN_POISON_MEMORY_REGION(b->data, b->capacity);
#endif
#ifdef BUFPOOL_VALGRIND_POISON
	VALGRIND_MAKE_MEM_NOACCESS(b->data, b->capacity);
#endif
	(void)b;
}

/* The buffer is handed out (or given back to the system): usable again,
 * its bytes undefined as malloc's are. */
static inline void buf_unpoison(struct io_buf *b)
{
#ifdef BUFPOOL_ASAN
	ASAN_UNPOISON_MEMORY_REGION(b->data, b->capacity);
#endif
#ifdef BUFPOOL_VALGRIND_POISON
	VALGRIND_MAKE_MEM_UNDEFINED(b->data, b->capacity);
#endif
	(void)b;
}

#endif /* BUFPOOL_POISON_H */
