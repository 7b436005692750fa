/*
 * loop_uring_ring.h - what the two halves of the io_uring loop share:
 * the ring and its state.  loop_uring.c makes the ring, submits, waits and
 * polls; loop_uring_bufs.c keeps the ring of provided receive buffers
 * (loop_uring.h says how it is sized).  Private to those two files.
 */
#ifndef LARSD_LOOP_URING_RING_H
#define LARSD_LOOP_URING_RING_H

#include "loop_uring.h"

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

struct watch;

struct loop_uring {
	struct io_uring ring;
	bufpool_t *pool;
	struct watch *watches;
	int n_fired;            /* loop->fired[] filled this turn */
	unsigned in_flight;     /* requests with an op whose last completion is to come */
	bool draining;          /* loop_drain(): arm nothing new */
	bool submit_refused;    /* the kernel refused requests (said once); the
	                           next wait tries again */

	/* Provided buffers: bufs[bid] is in the kernel's ring, or NULL and
	 * its bid on the free stack. */
	struct io_uring_buf_ring *br;
	struct io_buf *bufs[LOOP_URING_MAX_BUFS];
	uint16_t free_bids[LOOP_URING_MAX_BUFS];
	unsigned n_free;
	bool registered;        /* the kernel has the buffer ring (br) */
	unsigned posted;        /* put in the kernel's ring since the last trim (at
	                           most LOOP_URING_MAX_BUFS): it holds no more */
	unsigned cap;           /* loop_uring_bufs_cap() */
	unsigned users;         /* receives waiting on the ring */
	bool hold;              /* loop_uring_bufs_hold() */
	/* The need: buffers taken (or missed) in one turn, the most of this
	 * trim period and of the one before. */
	unsigned turn_need, peak_need, last_peak_need;
	struct io_buf *cqe_buf; /* the buffer of the completion in hand */
};

/* Buffers the ring's books hold: in the kernel's ring, or named by
 * completions not read yet. */
static inline unsigned held(const struct loop_uring *u)
{
	return LOOP_URING_MAX_BUFS - u->n_free;
}

/* loop_uring_bufs.c */
/* Allocate and register the buffer ring, empty: 0 or -errno. */
int uring_bufs_open(struct loop_uring *u, bufpool_t *pool);
/* Give its buffers back (give_back: no receive can fill one any more)
 * and free it; after io_uring_queue_exit(). */
void uring_bufs_close(struct loop_uring *u, bool give_back);
/* Top the ring up to what it should hold now. */
void uring_bufs_fill(struct loop_uring *u);
/* A completion filled the buffer its flags name: no longer the ring's. */
struct io_buf *uring_take_bid(struct loop_uring *u, unsigned cqe_flags);

#endif /* LARSD_LOOP_URING_RING_H */
