/*
 * loop_uring.c - the io_uring implementation of the loop (see
 * loop_uring.h).
 *
 * Every request carries a struct loop_op pointer as its user_data (0 for
 * requests whose completion nobody waits for).  One turn: top the buffer
 * ring up, submit what was queued and wait in the same io_uring_enter(),
 * copy the completions out of the CQ, call their functions (the TCP data
 * path runs there), then the handlers of the polls that fired, then
 * re-arm those polls.
 *
 * The kernel may refuse submissions when it is short of memory.  What it
 * refused stays in the SQ for the next turn, which then waits briefly
 * without submitting rather than spin; loop_uring_sqe() returns NULL
 * while the SQ is full; a request that must never reach the kernel once
 * refused (its socket closed, its buffer moved) is made a no-op in the
 * SQ, which completes as cancelled (unqueue()).
 *
 * Written from liburing 2.3's man pages.  liburing 2.3 has no
 * io_uring_setup_buf_ring() nor io_uring_enable_rings(), so the buffer
 * ring is registered and the ring enabled by hand.
 */
#include "config.h"

#include "loop_uring_ring.h"
#include "log.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The SQ is submitted early when full; the CQ, which many connections'
 * receives fill at once, overflows into the kernel's list (IORING_FEAT_NODROP)
 * rather than losing completions.  Both rings are resident memory: 4096
 * completions are 64 KiB a worker. */
#define RING_ENTRIES 256
#define CQ_ENTRIES 4096
#define CQE_BATCH 256
/* Submits in a row that take nothing before a turn gives up (the rest
 * waits in the SQ for the next turn), and how long that turn then waits. */
#define SUBMIT_TRIES 3
#define SUBMIT_BACKOFF_MS 10
/* A watch's polls that may end in an error in a row before it is re-armed
 * only once every WATCH_RETRY_MS. */
#define WATCH_FAILS 3
#define WATCH_RETRY_MS 1000
/* The low bit of a request's user_data (a struct loop_op pointer, so
 * aligned): it was made a no-op in the SQ, and completes as cancelled. */
#define NEUTERED ((uint64_t)1)

#define LOOP_URING_COLD __attribute__((noinline, cold))
/* Linux 6.1: one submitter thread, task work run only when it waits. */
#define RING_FLAGS (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | \
		    IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE)

/* A watched reader, polled one-shot and re-armed after its handler ran. */
struct watch {
	struct loop_op op;
	int fd;
	unsigned poll_mask;     /* POLLIN, with EPOLLEXCLUSIVE for LOOP_EXCLUSIVE */
	struct loop_handler *h;
	bool armed;             /* a poll is in flight */
	bool gone;              /* unwatched: free once the poll is over */
	unsigned fails;         /* polls in a row that ended in an error */
	uint64_t retry_ms;      /* not re-armed before (after WATCH_FAILS of them) */
	struct watch *next;
};

static void say(char *why, size_t whylen, const char *what, int err)
{
	const char *hint = "";

	if (err == EINVAL)
		hint = " (larsd's io_uring path needs Linux 6.1 or later)";
	else if (err == EPERM || err == EACCES)
		hint = " (kernel.io_uring_disabled, or a seccomp filter, forbids io_uring)";
	else if (err == ENOSYS)
		hint = " (a kernel without io_uring, or a seccomp filter)";
	else if (err == ENOMEM)
		hint = " (RLIMIT_MEMLOCK, or the memory cgroup)";
	snprintf(why, whylen, "%s: %s%s", what, strerror(err), hint);
}

/* ---- requests ------------------------------------------------------------ */

/* Submit what is queued; true if the kernel took all of it.  It refuses
 * requests only when short of memory (-EAGAIN, -ENOMEM: its request cache,
 * the memory cgroup): a few tries, then say so once and leave the rest in
 * the SQ for the next turn. */
static LOOP_URING_COLD bool submit_queued(struct loop_uring *u)
{
	unsigned tries = 0;

	while (io_uring_sq_ready(&u->ring) > 0) {
		int r = io_uring_submit(&u->ring);
		if (r > 0)
			continue; /* progress, maybe short: a request that failed is in the CQ */
		if (++tries < SUBMIT_TRIES)
			continue;
		if (!u->submit_refused)
			log_warn("io_uring: the kernel takes no more requests (%s): "
				 "trying again each turn",
				 r < 0 ? strerror(-r) : "none taken");
		u->submit_refused = true;
		return false;
	}
	u->submit_refused = false;
	return true;
}

/* The SQ is full: submit it, and take the slot that frees up, if any.
 * Once the kernel refused, not again before the next wait tries. */
static LOOP_URING_COLD struct io_uring_sqe *sqe_hard(struct loop_uring *u)
{
	if (!u->submit_refused)
		submit_queued(u);
	return io_uring_get_sqe(&u->ring);
}

struct io_uring_sqe *loop_uring_sqe(struct loop *loop, struct loop_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->uring->ring);

	if (!sqe && !(sqe = sqe_hard(loop->uring)))
		return NULL;
	io_uring_sqe_set_data(sqe, op);
	if (op)
		loop->uring->in_flight++;
	return sqe;
}

bool loop_uring_submit(struct loop *loop)
{
	struct loop_uring *u = loop->uring;

	return io_uring_sq_ready(&u->ring) == 0 || (!u->submit_refused && submit_queued(u));
}

/* Requests of op (NULL: of every op) still in the SQ, queued this turn or
 * refused by the kernel: made no-ops before the kernel sees them (their
 * socket may be closed and its number reused, their buffer given back).
 * Each still completes, as if cancelled: its user_data keeps the op, with
 * the NEUTERED bit that uring_wait() turns into -ECANCELED.  true if op's
 * request was there.  The slots from the kernel's head to our tail are the
 * unsubmitted ones; liburing maps slot i to sqes[i & mask] (its SQ array
 * is the identity since 2.2). */
static bool unqueue(struct loop_uring *u, const struct loop_op *op)
{
	struct io_uring_sq *sq = &u->ring.sq;
	bool found = false;

	for (unsigned pos = *sq->khead; pos != sq->sqe_tail; pos++) {
		struct io_uring_sqe *sqe = &sq->sqes[pos & sq->ring_mask];
		uint64_t data = sqe->user_data;
		if (data == 0 || (data & NEUTERED) || (op && data != (uintptr_t)op))
			continue;
		io_uring_prep_nop(sqe); /* flags 0: no buffer select, no link */
		sqe->user_data = data | NEUTERED;
		found = true;
		if (op)
			break; /* one request at a time per op */
	}
	return found;
}

static void sync_cancel(struct loop_uring *u, const struct loop_op *op, unsigned flags)
{
	struct io_uring_sync_cancel_reg reg = {
		.addr = (uint64_t)(uintptr_t)op,
		.fd = -1,
		.flags = flags,
		.timeout = {.tv_sec = -1, .tv_nsec = -1},
	};

	/* 0: cancelled; -ENOENT: it had completed.  Either way the kernel is
	 * done with its memory, and its completion is in the CQ or comes
	 * when the loop next waits. */
	io_uring_register_sync_cancel(&u->ring, &reg);
}

void loop_uring_cancel(struct loop *loop, struct loop_op *op)
{
	struct loop_uring *u = loop->uring;

	if (io_uring_sq_ready(&u->ring) > 0 && unqueue(u, op))
		return; /* never submitted: nothing to cancel */
	struct io_uring_sqe *sqe = loop_uring_sqe(loop, NULL);
	if (sqe)
		io_uring_prep_cancel(sqe, op, 0);
	else
		sync_cancel(u, op, 0); /* no room in the SQ: at once */
}

void loop_uring_cancel_now(struct loop *loop, struct loop_op *op)
{
	struct loop_uring *u = loop->uring;

	/* A request still in the SQ is not the kernel's yet: submit it, so
	 * that it runs (a send completes at once) or can be found.  If the
	 * kernel refuses it, it must never see it. */
	if (!loop_uring_submit(loop) && unqueue(u, op))
		return;
	sync_cancel(u, op, 0);
}

/* ---- polled readers ------------------------------------------------------ */

static void watch_arm(struct loop *loop, struct watch *wt)
{
	if (loop->uring->draining)
		return;
	struct io_uring_sqe *sqe = loop_uring_sqe(loop, &wt->op);
	if (!sqe)
		return; /* the kernel refuses requests: watches_tidy() tries again */
	io_uring_prep_poll_add(sqe, wt->fd, wt->poll_mask);
	wt->armed = true;
}

static void watch_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct loop_uring *u = loop->uring;
	struct watch *wt = loop_container_of(op, struct watch, op);
	unsigned events = 0;

	(void)flags;
	wt->armed = false;
	if (wt->gone)
		return; /* unwatched: freed by watches_tidy() */
	if (res < 0) {
		if (u->draining)
			return; /* cancelled: nothing is armed any more */
		/* A poll that failed (-ENOMEM, ...) on a listener or the wake
		 * eventfd: re-armed by watches_tidy(), at once the first few
		 * times, then once every WATCH_RETRY_MS, so that an error that
		 * persists neither leaves it silent nor spins the loop. */
		if (++wt->fails == WATCH_FAILS)
			log_warn("io_uring: polling descriptor %d keeps failing (%s): "
				 "trying again every %d ms",
				 wt->fd, strerror(-res), WATCH_RETRY_MS);
		if (wt->fails >= WATCH_FAILS)
			wt->retry_ms = loop->now_ms + WATCH_RETRY_MS;
		return;
	}
	wt->fails = 0;
	if (u->n_fired == LOOP_MAX_EVENTS) {
		watch_arm(loop, wt); /* still ready: it fires again next turn */
		return;
	}
	if (res & POLLIN)
		events |= LOOP_READ;
	if (res & (POLLHUP | POLLERR | POLLRDHUP))
		events |= LOOP_HUP;
	loop->fired[u->n_fired].h = wt->h;
	loop->fired[u->n_fired].events = events;
	u->n_fired++; /* re-armed by watches_tidy(), after its handler ran */
}

static int uring_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	if (events & (LOOP_WRITE | LOOP_EDGE)) {
		errno = EINVAL; /* the TCP data path on a ring does not ask */
		return -1;
	}
	struct watch *wt = calloc(1, sizeof(*wt));
	if (!wt)
		return -1;
	wt->op.fn = watch_done;
	wt->fd = fd;
	wt->poll_mask = POLLIN | (events & LOOP_EXCLUSIVE ? EPOLLEXCLUSIVE : 0);
	wt->h = h;
	wt->next = loop->uring->watches;
	loop->uring->watches = wt;
	watch_arm(loop, wt);
	return 0;
}

static void uring_unwatch(struct loop *loop, int fd)
{
	for (struct watch *wt = loop->uring->watches; wt; wt = wt->next) {
		if (wt->fd != fd || wt->gone)
			continue;
		wt->gone = true;
		if (wt->armed)
			loop_uring_cancel(loop, &wt->op);
		return;
	}
}

/* Arm the polls of the watches whose handler ran, or whose poll failed
 * (when their retry is due), or could not be armed; free the watches
 * that are over. */
static void watches_tidy(struct loop *loop)
{
	struct loop_uring *u = loop->uring;

	for (struct watch **p = &u->watches; *p;) {
		struct watch *wt = *p;
		if (wt->gone && !wt->armed) {
			*p = wt->next;
			free(wt);
			continue;
		}
		if (!wt->gone && !wt->armed && loop->now_ms >= wt->retry_ms)
			watch_arm(loop, wt);
		p = &wt->next;
	}
}

/* ---- the loop ------------------------------------------------------------ */

/* The kernel did not take all of the queue, so the enter did not wait
 * either.  Try again; if it still refuses (said once), wait without
 * submitting, briefly: the next turn tries again, and the loop does not
 * spin meanwhile. */
static LOOP_URING_COLD int wait_unsubmitted(struct loop_uring *u, int timeout_ms)
{
	struct io_uring_cqe *cqe;

	if (submit_queued(u))
		return 0; /* taken now: this turn reads what is there */
	int ms = timeout_ms < 0 || timeout_ms > SUBMIT_BACKOFF_MS ? SUBMIT_BACKOFF_MS : timeout_ms;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = (long long)ms * 1000000};
	return io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
}

static int uring_wait(struct loop *loop, int timeout_ms)
{
	struct loop_uring *u = loop->uring;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	struct { void *data; int res; unsigned flags; struct io_buf *buf; } done[CQE_BATCH];
	int r, n = 0;

	if (!u->hold && !u->draining)
		uring_bufs_fill(u);
	u->hold = false;
	if (timeout_ms < 0)
		r = io_uring_submit_and_wait(&u->ring, 1);
	else
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (io_uring_sq_ready(&u->ring) > 0)
		r = wait_unsubmitted(u, timeout_ms);
	else
		u->submit_refused = false;
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) {
		errno = -r;
		return -1;
	}
	/* Copy the completions out first: their functions queue requests,
	 * and a full SQ submits, which may post completions.  The buffers
	 * they filled leave the ring's books now, so that a trim during
	 * their functions sees only buffers still in the kernel's ring. */
	unsigned head;
	u->turn_need = 0;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t data = cqe->user_data;
		done[n].data = (void *)(uintptr_t)(data & ~NEUTERED);
		done[n].res = (data & NEUTERED) ? -ECANCELED : cqe->res;
		done[n].flags = cqe->flags;
		done[n].buf = cqe->flags & IORING_CQE_F_BUFFER ? uring_take_bid(u, cqe->flags) : NULL;
		if (++n == CQE_BATCH)
			break;
	}
	io_uring_cq_advance(&u->ring, (unsigned)n);

	loop_tick(loop);
	u->n_fired = 0;
	for (int i = 0; i < n; i++) {
		struct loop_op *op = done[i].data;
		u->cqe_buf = done[i].buf;
		if (op) {
			if (!(done[i].flags & IORING_CQE_F_MORE))
				u->in_flight--; /* its last completion */
			op->fn(loop, op, done[i].res, done[i].flags);
		}
		if (u->cqe_buf) /* not taken: nobody wanted it */
			bufpool_revert(u->pool, u->cqe_buf);
		u->cqe_buf = NULL;
	}
	if (u->turn_need > u->peak_need)
		u->peak_need = u->turn_need;
	int fired = u->n_fired;
	loop_dispatch(loop, fired);
	watches_tidy(loop);
	return n;
}

static void uring_close(struct loop *loop)
{
	struct loop_uring *u = loop->uring;

	io_uring_queue_exit(&u->ring); /* cancels what is left in flight */
	uring_bufs_close(u, u->in_flight == 0);
	while (u->watches) {
		struct watch *wt = u->watches;
		u->watches = wt->next;
		free(wt);
	}
	free(u);
	loop->uring = NULL;
	loop->fd = -1;
}

static int uring_start(struct loop *loop);
static bool uring_drain(struct loop *loop, int timeout_ms);

static const struct loop_ops uring_ops = {
	.name = "io_uring",
	.watch = uring_watch,
	.unwatch = uring_unwatch,
	.wait = uring_wait,
	.close = uring_close,
	.start = uring_start,
	.drain = uring_drain,
};

int loop_uring_open(struct loop *loop, bufpool_t *pool, char *why, size_t whylen)
{
	struct loop_uring *u = calloc(1, sizeof(*u));
	struct io_uring_params p = {.flags = RING_FLAGS, .cq_entries = CQ_ENTRIES};
	int r;

	if (!u) {
		say(why, whylen, "io_uring", ENOMEM);
		return -1;
	}
	if ((r = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p)) < 0) {
		say(why, whylen, "io_uring_setup", -r);
		free(u);
		return -1;
	}
	if ((r = uring_bufs_open(u, pool)) < 0) {
		say(why, whylen, r == -ENOMEM ? "buffer ring" : "io_uring_register_buf_ring", -r);
		io_uring_queue_exit(&u->ring);
		free(u);
		return -1;
	}
	loop->uring = u;
	loop->fd = u->ring.ring_fd;
	loop->ops = &uring_ops;
	loop_tick(loop);
	return 0;
}

static int uring_start(struct loop *loop)
{
	/* liburing 2.3 has no io_uring_enable_rings(). */
	return (int)syscall(__NR_io_uring_register, loop->uring->ring.ring_fd,
			    IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

static bool uring_drain(struct loop *loop, int timeout_ms)
{
	struct loop_uring *u = loop->uring;

	u->draining = true;
	/* What is still queued never reaches the kernel (it completes as
	 * cancelled); what the kernel has is cancelled. */
	unqueue(u, NULL);
	struct io_uring_sqe *sqe = loop_uring_sqe(loop, NULL);
	if (sqe)
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
	else
		sync_cancel(u, NULL, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
	uint64_t end = loop->now_ms + (uint64_t)timeout_ms;
	while (u->in_flight > 0 && loop->now_ms < end)
		if (uring_wait(loop, 10) < 0)
			break;
	return u->in_flight == 0;
}
