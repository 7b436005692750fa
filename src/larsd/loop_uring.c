/*
 * loop_uring.c - a loop's io_uring (see loop_uring.h).
 *
 * Every request carries a struct loop_op pointer as its user_data (0 for
 * requests whose completion nobody waits for).  One turn: submit what was
 * queued and wait in the same io_uring_enter(), copy the completions out
 * of the CQ, call their functions (the TCP data path runs there), then the
 * readiness handlers that fired (polled readers, the epoll set), then
 * re-arm the one-shot polls whose handler ran and top the buffer ring up.
 *
 * Written from liburing 2.3's man pages.  liburing 2.3 has no
 * io_uring_setup_buf_ring(), so the buffer ring is registered by hand.
 */
#include "config.h"

#include "loop_uring.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_LIBURING

#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
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
/* Linux 6.1: one submitter thread, task work run only when it waits. */
#define RING_FLAGS (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | \
		    IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE)

/* A plain reader polled by the ring (one-shot, re-armed after its
 * handler ran), or the loop's epoll set. */
struct watch {
	struct loop_op op;
	int fd;
	struct loop_handler *h; /* NULL: the epoll set */
	bool armed;             /* a poll is in flight */
	bool fired;             /* its handler runs this turn: re-arm after */
	bool gone;              /* unwatched: free once the poll is over */
	struct watch *next;
};

struct loop_uring {
	struct io_uring ring;
	bufpool_t *pool;
	struct watch *watches;
	struct watch epoll;     /* the epoll set, polled like a reader */
	int n_fired;            /* loop->fired[] filled this turn */
	unsigned long turn;
	/* Provided buffers: bufs[bid] is in the kernel's ring, or NULL and
	 * its bid on the free stack. */
	struct io_uring_buf_ring *br;
	struct io_buf *bufs[LOOP_URING_MAX_BUFS];
	uint16_t free_bids[LOOP_URING_MAX_BUFS];
	unsigned n_free;
	unsigned max_bufs, want_bufs;
	bool skip_fill;         /* loop_uring_skip_fill() */
	unsigned in_flight;     /* requests with an op whose last completion is to come */
	bool draining;          /* loop_uring_drain(): arm nothing new */
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

static int ring_init(struct io_uring *ring, unsigned entries, char *why, size_t whylen)
{
	struct io_uring_params p = {.flags = RING_FLAGS, .cq_entries = CQ_ENTRIES};
	int r = io_uring_queue_init_params(entries, ring, &p);

	if (r < 0) {
		say(why, whylen, "io_uring_setup", -r);
		return -1;
	}
	return 0;
}

/* Register a buffer ring of `entries` for LOOP_URING_BGID; NULL with why. */
static struct io_uring_buf_ring *buf_ring_register(struct io_uring *ring, unsigned entries,
						  char *why, size_t whylen)
{
	size_t size = entries * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = {.ring_entries = entries, .bgid = LOOP_URING_BGID};
	void *br = NULL;
	int r;

	if ((r = posix_memalign(&br, (size_t)sysconf(_SC_PAGESIZE), size)) != 0) {
		say(why, whylen, "buffer ring", r);
		return NULL;
	}
	memset(br, 0, size);
	reg.ring_addr = (uintptr_t)br;
	r = io_uring_register_buf_ring(ring, &reg, 0);
	if (r < 0) {
		say(why, whylen, "io_uring_register_buf_ring", -r);
		free(br);
		return NULL;
	}
	io_uring_buf_ring_init(br);
	return br;
}

int loop_uring_probe(char *why, size_t whylen)
{
	struct io_uring ring;
	struct io_uring_buf_ring *br;

	if (ring_init(&ring, 8, why, whylen) < 0)
		return -1;
	br = buf_ring_register(&ring, 8, why, whylen);
	io_uring_queue_exit(&ring);
	free(br);
	return br ? 0 : -1;
}

/* ---- requests ------------------------------------------------------------ */

struct io_uring_sqe *loop_uring_sqe(struct loop *loop, struct loop_op *op)
{
	struct io_uring *ring = &loop->uring->ring;
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(ring)))
		io_uring_submit(ring);
	io_uring_sqe_set_data(sqe, op);
	if (op)
		loop->uring->in_flight++;
	return sqe;
}

unsigned long loop_uring_turn(const struct loop *loop)
{
	return loop->uring->turn;
}

/* ---- provided buffers ---------------------------------------------------- */

struct io_buf *loop_uring_take_buf(struct loop *loop, unsigned cqe_flags)
{
	struct loop_uring *u = loop->uring;
	unsigned bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
	struct io_buf *b = u->bufs[bid];

	u->bufs[bid] = NULL;
	u->free_bids[u->n_free++] = (uint16_t)bid;
	b->head = 0;
	b->length = 0;
	return b;
}

void loop_uring_want_bufs(struct loop *loop, unsigned n)
{
	loop->uring->want_bufs = n < loop->uring->max_bufs ? n : loop->uring->max_bufs;
}

bool loop_uring_fill(struct loop *loop)
{
	struct loop_uring *u = loop->uring;
	unsigned held = u->max_bufs - u->n_free, added = 0;

	while (held + added < u->want_bufs && u->n_free > 0) {
		struct io_buf *b = bufpool_alloc(u->pool, LOOP_URING_BUF_SIZE);
		if (!b)
			break;
		uint16_t bid = u->free_bids[--u->n_free];
		u->bufs[bid] = b;
		io_uring_buf_ring_add(u->br, b->data, (unsigned)b->capacity, bid,
				      io_uring_buf_ring_mask(u->max_bufs), (int)added);
		added++;
	}
	if (added)
		io_uring_buf_ring_advance(u->br, (int)added);
	return held + added > 0;
}

void loop_uring_skip_fill(struct loop *loop)
{
	loop->uring->skip_fill = true;
}

/* ---- polled readers ------------------------------------------------------ */

static void watch_arm(struct loop *loop, struct watch *wt)
{
	if (loop->uring->draining)
		return;
	io_uring_prep_poll_add(loop_uring_sqe(loop, &wt->op), wt->fd, POLLIN);
	wt->armed = true;
}

static void watch_fire(struct loop *loop, struct watch *wt, unsigned events)
{
	struct loop_uring *u = loop->uring;

	if (u->n_fired == LOOP_MAX_EVENTS) {
		watch_arm(loop, wt); /* still ready: it fires again next turn */
		return;
	}
	loop->fired[u->n_fired].h = wt->h;
	loop->fired[u->n_fired].events = events;
	u->n_fired++;
	wt->fired = true;
}

static void watch_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct watch *wt = loop_container_of(op, struct watch, op);
	unsigned events = 0;

	(void)flags;
	wt->armed = false;
	if (wt->gone || res < 0)
		return; /* unwatched (freed by watches_tidy()), or drained */
	if (res & POLLIN)
		events |= LOOP_READ;
	if (res & (POLLHUP | POLLERR | POLLRDHUP))
		events |= LOOP_HUP;
	watch_fire(loop, wt, events);
}

/* The epoll set is readable: take its events after the ones in hand. */
static void epoll_done(struct loop *loop, struct loop_op *op, int res, unsigned flags)
{
	struct loop_uring *u = loop->uring;

	(void)op;
	(void)flags;
	u->epoll.armed = false;
	u->epoll.fired = true; /* re-armed after the handlers, as a reader */
	if (res < 0 || u->n_fired == LOOP_MAX_EVENTS)
		return;
	int n = loop_backend_poll(loop, u->n_fired, 0);
	if (n > 0)
		u->n_fired += n;
}

int loop_uring_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	struct watch *wt = calloc(1, sizeof(*wt));

	(void)events; /* LOOP_READ: loop_watch() sends the rest to epoll */
	if (!wt)
		return -1;
	wt->op.fn = watch_done;
	wt->fd = fd;
	wt->h = h;
	wt->next = loop->uring->watches;
	loop->uring->watches = wt;
	watch_arm(loop, wt);
	return 0;
}

bool loop_uring_unwatch(struct loop *loop, int fd)
{
	for (struct watch *wt = loop->uring->watches; wt; wt = wt->next) {
		if (wt->fd != fd || wt->gone)
			continue;
		wt->gone = true;
		if (wt->armed)
			io_uring_prep_poll_remove(loop_uring_sqe(loop, NULL),
						  (uint64_t)(uintptr_t)&wt->op);
		return true;
	}
	return false;
}

/* Re-arm the polls whose handler ran; free the watches that are over. */
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
		if (wt->fired && !wt->gone && !wt->armed)
			watch_arm(loop, wt);
		wt->fired = false;
		p = &wt->next;
	}
	if (u->epoll.fired && !u->epoll.armed)
		watch_arm(loop, &u->epoll);
	u->epoll.fired = false;
}

/* ---- the loop ------------------------------------------------------------ */

int loop_uring_open(struct loop *loop, bufpool_t *pool, unsigned max_bufs,
		    char *why, size_t whylen)
{
	struct loop_uring *u = calloc(1, sizeof(*u));
	unsigned n = 1;

	if (!u) {
		say(why, whylen, "io_uring", ENOMEM);
		return -1;
	}
	if (ring_init(&u->ring, RING_ENTRIES, why, whylen) < 0) {
		free(u);
		return -1;
	}
	/* A buffer ring's size is a power of 2: the largest within max_bufs,
	 * so the ring never holds more of MEM_LIMIT than its share. */
	while (n * 2 <= max_bufs && n * 2 <= LOOP_URING_MAX_BUFS)
		n <<= 1;
	u->max_bufs = n;
	if (!(u->br = buf_ring_register(&u->ring, n, why, whylen))) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		u->free_bids[i] = (uint16_t)(n - 1 - i);
	u->n_free = n;
	u->pool = pool;
	u->epoll.op.fn = epoll_done;
	u->epoll.fd = loop->fd;
	loop->uring = u;
	return 0;
}

int loop_uring_start(struct loop *loop)
{
	if (!loop->uring)
		return 0;
	/* liburing 2.3 has no io_uring_enable_rings(). */
	if (syscall(__NR_io_uring_register, loop->uring->ring.ring_fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return -1;
	watch_arm(loop, &loop->uring->epoll);
	return 0;
}

void loop_uring_close(struct loop *loop)
{
	struct loop_uring *u = loop->uring;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring); /* cancels what is left in flight */
	/* A receive still in flight (a drain that timed out) could yet fill
	 * its buffer: then they stay with the pool until it is destroyed. */
	if (u->in_flight == 0)
		for (unsigned i = 0; i < u->max_bufs; i++)
			if (u->bufs[i])
				bufpool_revert(u->pool, u->bufs[i]);
	while (u->watches) {
		struct watch *wt = u->watches;
		u->watches = wt->next;
		free(wt);
	}
	free(u->br);
	free(u);
	loop->uring = NULL;
}

bool loop_uring_drain(struct loop *loop, int timeout_ms)
{
	struct loop_uring *u = loop->uring;

	if (!u)
		return true;
	u->draining = true;
	io_uring_prep_cancel64(loop_uring_sqe(loop, NULL), 0,
			       IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
	uint64_t end = clock_ms() + (uint64_t)timeout_ms;
	while (u->in_flight > 0 && clock_ms() < end)
		if (loop_uring_wait(loop, 10) < 0)
			break;
	return u->in_flight == 0;
}

int loop_uring_wait(struct loop *loop, int timeout_ms)
{
	struct loop_uring *u = loop->uring;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	struct { void *data; int res; unsigned flags; } done[CQE_BATCH];
	int r, n = 0;

	if (!u->skip_fill && !u->draining)
		loop_uring_fill(loop);
	u->skip_fill = false;
	if (timeout_ms < 0)
		r = io_uring_submit_and_wait(&u->ring, 1);
	else
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) {
		errno = -r;
		return -1;
	}
	/* Copy the completions out first: their functions queue requests,
	 * and a full SQ submits, which may post completions. */
	unsigned head;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		done[n].data = io_uring_cqe_get_data(cqe);
		done[n].res = cqe->res;
		done[n].flags = cqe->flags;
		if (++n == CQE_BATCH)
			break;
	}
	io_uring_cq_advance(&u->ring, (unsigned)n);

	/* Handlers read the time of this turn, not of the previous one. */
	loop->now_ms = clock_ms();
	u->n_fired = 0;
	u->turn++;
	for (int i = 0; i < n; i++) {
		struct loop_op *op = done[i].data;
		if (!op)
			continue;
		if (!(done[i].flags & IORING_CQE_F_MORE))
			u->in_flight--; /* its last completion */
		op->fn(loop, op, done[i].res, done[i].flags);
	}
	int fired = u->n_fired;
	loop_dispatch(loop, fired);
	watches_tidy(loop);
	return n;
}

#else /* !HAVE_LIBURING */

int loop_uring_probe(char *why, size_t whylen)
{
	snprintf(why, whylen, "larsd was built without liburing");
	return -1;
}

int loop_uring_open(struct loop *loop, bufpool_t *pool, unsigned max_bufs,
		    char *why, size_t whylen)
{
	(void)loop;
	(void)pool;
	(void)max_bufs;
	return loop_uring_probe(why, whylen);
}

int loop_uring_start(struct loop *loop) { (void)loop; return 0; }
bool loop_uring_drain(struct loop *loop, int timeout_ms) { (void)loop; (void)timeout_ms; return true; }
void loop_uring_close(struct loop *loop) { (void)loop; }

int loop_uring_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	return loop_backend_watch(loop, fd, events, h);
}

bool loop_uring_unwatch(struct loop *loop, int fd)
{
	(void)loop;
	(void)fd;
	return false;
}

int loop_uring_wait(struct loop *loop, int timeout_ms)
{
	(void)loop;
	(void)timeout_ms;
	errno = ENOSYS;
	return -1;
}

struct io_buf *loop_uring_take_buf(struct loop *loop, unsigned cqe_flags)
{
	(void)loop;
	(void)cqe_flags;
	return NULL;
}

void loop_uring_want_bufs(struct loop *loop, unsigned n) { (void)loop; (void)n; }
unsigned long loop_uring_turn(const struct loop *loop) { (void)loop; return 0; }
bool loop_uring_fill(struct loop *loop) { (void)loop; return false; }
void loop_uring_skip_fill(struct loop *loop) { (void)loop; }

#endif /* HAVE_LIBURING */
