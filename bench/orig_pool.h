/*
 * orig_pool.h - the original Lars buffer pool, kept as the benchmark's
 * baseline.
 *
 * This is the design libbufpool replaces, written in C from the seed notes
 * (see orig_pool.c): one process-wide pool made once with pthread_once, one
 * singly linked list of idle buffers per tier (4K ... 8M), one global mutex
 * around every list operation, preallocation up front, and a fresh malloc
 * when a tier's list is empty.  Only bench/bufpool_bench.c uses it.
 */
#ifndef ORIG_POOL_H
#define ORIG_POOL_H

#include <stddef.h>

#define ORIG_TIERS 7

/* The seed's io_buf: the same fields as struct io_buf, data malloc'ed
 * separately (the original did `data = new char[size]`). */
struct orig_buf {
	struct orig_buf *next;
	size_t capacity;
	size_t head;
	size_t length;
	char *data;
};

/* Buffers each tier gets up front.  Call before the first orig_alloc_buf();
 * later calls have no effect.  NULL or never called: orig_prealloc_default. */
void orig_pool_configure(const unsigned prealloc[ORIG_TIERS]);
extern const unsigned orig_prealloc_default[ORIG_TIERS];

/* The smallest tier >= n; NULL for n above 8M or when memory runs out
 * (the original called exit(1) there). */
struct orig_buf *orig_alloc_buf(size_t n);

/* Put a buffer back at the head of its tier's list. */
void orig_revert(struct orig_buf *buf);

#endif /* ORIG_POOL_H */
