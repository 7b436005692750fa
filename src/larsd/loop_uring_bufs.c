/*
 * loop_uring_bufs.c - the io_uring loop's ring of provided receive buffers
 * (see loop_uring.h for how it is sized, loop_uring_ring.h for what it
 * shares with loop_uring.c).
 *
 * Each buffer is a libbufpool buffer, so MEM_LIMIT counts it; bufs[bid]
 * is the buffer of id bid, in the kernel's ring or named by a completion
 * not read yet, or NULL with bid on the free stack.  liburing 2.3 has no
 * io_uring_setup_buf_ring(): the ring is allocated and registered by hand.
 */
#include "config.h"

#include "loop_uring_ring.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int buf_ring_register(struct loop_uring *u);

int uring_bufs_open(struct loop_uring *u, bufpool_t *pool)
{
	size_t size = LOOP_URING_MAX_BUFS * sizeof(struct io_uring_buf);
	void *br = NULL;
	int r;

	if ((r = posix_memalign(&br, (size_t)sysconf(_SC_PAGESIZE), size)) != 0)
		return -r;
	memset(br, 0, size);
	u->br = br;
	if ((r = buf_ring_register(u)) < 0) {
		free(br);
		u->br = NULL;
		return r;
	}
	for (unsigned i = 0; i < LOOP_URING_MAX_BUFS; i++)
		u->free_bids[i] = (uint16_t)(LOOP_URING_MAX_BUFS - 1 - i);
	u->n_free = LOOP_URING_MAX_BUFS;
	u->cap = LOOP_URING_MAX_BUFS;
	u->registered = true;
	u->pool = pool;
	return 0;
}

void uring_bufs_close(struct loop_uring *u, bool give_back)
{
	/* A receive still in flight (a drain that timed out) could yet fill
	 * its buffer: then they stay with the pool until it is destroyed. */
	if (give_back)
		for (unsigned i = 0; i < LOOP_URING_MAX_BUFS; i++)
			if (u->bufs[i])
				bufpool_revert(u->pool, u->bufs[i]);
	free(u->br);
	u->br = NULL;
}

struct io_buf *uring_take_bid(struct loop_uring *u, unsigned cqe_flags)
{
	unsigned bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
	struct io_buf *b = u->bufs[bid];

	u->bufs[bid] = NULL;
	u->free_bids[u->n_free++] = (uint16_t)bid;
	u->turn_need++;
	b->head = 0;
	b->length = 0;
	return b;
}

struct io_buf *loop_uring_take_buf(struct loop *loop, unsigned cqe_flags)
{
	struct io_buf *b = loop->uring->cqe_buf;

	(void)cqe_flags;
	loop->uring->cqe_buf = NULL;
	return b;
}

void loop_uring_bufs_missed(struct loop *loop)
{
	loop->uring->turn_need++;
}

void loop_uring_bufs_users(struct loop *loop, int delta)
{
	loop->uring->users += (unsigned)delta;
}

void loop_uring_bufs_cap(struct loop *loop, unsigned cap)
{
	loop->uring->cap = cap < LOOP_URING_MAX_BUFS ? cap : LOOP_URING_MAX_BUFS;
}

void loop_uring_bufs_hold(struct loop *loop, bool hold)
{
	loop->uring->hold = hold;
}

unsigned loop_uring_bufs_held(const struct loop *loop)
{
	return held(loop->uring);
}

/* How many buffers the ring should hold now. */
static unsigned bufs_target(const struct loop_uring *u)
{
	unsigned need = u->peak_need > u->last_peak_need ? u->peak_need : u->last_peak_need;
	unsigned t = 2 * need > LOOP_URING_MIN_BUFS ? 2 * need : LOOP_URING_MIN_BUFS;

	if (t > u->users)
		t = u->users;
	return t < u->cap ? t : u->cap;
}

void uring_bufs_fill(struct loop_uring *u)
{
	unsigned target = bufs_target(u), added = 0;

	if (!u->registered)
		return; /* the kernel would never see them (loop_uring_bufs_trim) */
	while (held(u) < target) {
		struct io_buf *b = bufpool_alloc(u->pool, LOOP_URING_BUF_SIZE);
		if (!b)
			break;
		uint16_t bid = u->free_bids[--u->n_free];
		u->bufs[bid] = b;
		io_uring_buf_ring_add(u->br, b->data, (unsigned)b->capacity, bid,
				      io_uring_buf_ring_mask(LOOP_URING_MAX_BUFS), (int)added);
		added++;
	}
	if (added) {
		io_uring_buf_ring_advance(u->br, (int)added);
		u->posted = u->posted + added < LOOP_URING_MAX_BUFS ? u->posted + added
								    : LOOP_URING_MAX_BUFS;
	}
}

static int buf_ring_register(struct loop_uring *u)
{
	struct io_uring_buf_reg reg = {
		.ring_addr = (uintptr_t)u->br,
		.ring_entries = LOOP_URING_MAX_BUFS,
		.bgid = LOOP_URING_BGID,
	};
	int r = io_uring_register_buf_ring(&u->ring, &reg, 0);

	if (r == 0)
		io_uring_buf_ring_init(u->br);
	return r;
}

/* The buffers that completions not read yet name (the kernel took them
 * from its ring: they are the receivers' once the loop reads those): mark
 * their bids, and count them.  false if some completions are out of sight
 * (the CQ overflowed into the kernel's list). */
static bool unread_bufs(struct loop_uring *u, bool unread[], unsigned *n)
{
	struct io_uring_cqe *cqe;
	unsigned head;

	*n = 0;
	if (io_uring_cq_has_overflow(&u->ring))
		return false;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			unread[cqe->flags >> IORING_CQE_BUFFER_SHIFT] = true;
			(*n)++;
		}
	}
	return true;
}

unsigned loop_uring_bufs_trim(struct loop *loop, bool all)
{
	struct loop_uring *u = loop->uring;
	unsigned keep = all ? 0 : bufs_target(u), given = 0, n_unread;
	bool unread[LOOP_URING_MAX_BUFS] = {false};

	u->last_peak_need = u->peak_need;
	u->peak_need = 0;
	if (!u->registered) {
		/* The trim that failed to register the ring again gave back all
		 * it held, and nothing was added since: all it holds now are
		 * buffers of completions not read yet.  Try again. */
		if (buf_ring_register(u) == 0) {
			u->registered = true;
			log_notice("io_uring: receive buffer ring registered again");
		}
		return 0;
	}
	if (held(u) <= keep || u->posted <= keep)
		return 0;
	/* The kernel takes a buffer only while the loop waits (deferred task
	 * work), and each one it took is named by a completion: the buffers
	 * held, but for those named by completions not read yet, are in the
	 * kernel's ring.  Unregistering hands them back (the others stay the
	 * books' until their completions are read, so a trim needs no empty
	 * CQ and works under any load); the receives waiting on the ring find
	 * the new one by its group when their bytes come. */
	if (!unread_bufs(u, unread, &n_unread) || held(u) - n_unread <= keep)
		return 0;
	if (io_uring_unregister_buf_ring(&u->ring, LOOP_URING_BGID) < 0)
		return 0;
	memset(u->br, 0, LOOP_URING_MAX_BUFS * sizeof(struct io_uring_buf));
	int r = buf_ring_register(u);
	if (r < 0) {
		/* It cannot fail short of the kernel's memory.  Until a later
		 * trim registers it again, the ring holds nothing, and the
		 * receives waiting on it end with ENOBUFS and receive into
		 * buffers of their own. */
		u->registered = false;
		log_warn("io_uring: cannot register the receive buffer ring again (%s): "
			 "trying again at each trim",
			 strerror(-r));
	}
	unsigned added = 0;
	for (unsigned bid = 0; bid < LOOP_URING_MAX_BUFS; bid++) {
		struct io_buf *b = u->bufs[bid];
		if (!b || unread[bid])
			continue;
		if (u->registered && added < keep) {
			io_uring_buf_ring_add(u->br, b->data, (unsigned)b->capacity, bid,
					      io_uring_buf_ring_mask(LOOP_URING_MAX_BUFS), (int)added);
			added++;
			continue;
		}
		bufpool_revert(u->pool, b);
		u->bufs[bid] = NULL;
		u->free_bids[u->n_free++] = (uint16_t)bid;
		given++;
	}
	if (added)
		io_uring_buf_ring_advance(u->br, (int)added);
	u->posted = added;
	return given;
}

