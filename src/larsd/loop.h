/*
 * loop.h - an event loop over file descriptors, and nothing else.
 *
 * The loop knows descriptors and handlers, never what they are: whoever
 * watches a descriptor passes a struct loop_handler (usually inside its own
 * struct: a connection, a listener as a worker sees it, a wake-up eventfd),
 * and loop_wait() calls that handler's function with what happened.  The
 * caller finds its struct again with loop_container_of().
 *
 * The interface is three calls (watch, unwatch, wait) over one of two
 * implementations, chosen when the loop is opened and kept in a table of
 * operations, as redis keeps ae_epoll.c beside ae.c:
 *   - loop_epoll.c, Linux's epoll: every kind of watch;
 *   - loop_uring.c (loop_uring.h), an io_uring that polls the readers
 *     itself (LOOP_READ, with LOOP_EXCLUSIVE) and also carries the
 *     requests of the TCP data path on the ring (tcp_uring.c), so one
 *     system call per turn submits and waits.
 * loop.c is what both share: the clock after each wait, and calling the
 * handlers.  One loop belongs to one thread.
 */
#ifndef LARSD_LOOP_H
#define LARSD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened (handler argument) and what to watch for (loop_watch). */
#define LOOP_READ 0x01u  /* readable, or a listener has a connection */
#define LOOP_WRITE 0x02u /* writable */
#define LOOP_HUP 0x04u   /* the peer closed its side, or the socket failed;
                            reported whether asked for or not */
/* How to watch (loop_watch only). */
#define LOOP_EDGE 0x10u      /* report a change once, not while it holds */
#define LOOP_EXCLUSIVE 0x20u /* of the loops that watch this descriptor,
                                one wakes per event */

/* The most events one loop_wait() hands out. */
#define LOOP_MAX_EVENTS 256

struct loop;
struct loop_handler;

typedef void loop_fn(struct loop *loop, struct loop_handler *h, unsigned events);

struct loop_handler {
	loop_fn *fn;
};

struct loop_fired {
	struct loop_handler *h;
	unsigned events;
};

/* One implementation of the loop. */
struct loop_ops {
	const char *name; /* "epoll", "io_uring": what larsd says it runs on */
	int (*watch)(struct loop *loop, int fd, unsigned events, struct loop_handler *h);
	void (*unwatch)(struct loop *loop, int fd);
	/* Wait, set now_ms, call the handlers; events handled or -1. */
	int (*wait)(struct loop *loop, int timeout_ms);
	void (*close)(struct loop *loop);
	/* Optional (NULL: nothing to do): on the thread that runs the loop,
	 * before its first wait, 0 or -1 with errno; and when it stops,
	 * settle what is in flight for at most timeout_ms, true if all did. */
	int (*start)(struct loop *loop);
	bool (*drain)(struct loop *loop, int timeout_ms);
};

struct loop_uring;

struct loop {
	const struct loop_ops *ops;
	int fd;          /* the epoll descriptor, or the ring's */
	uint64_t now_ms; /* CLOCK_MONOTONIC at the end of the last wait */
	struct loop_uring *uring; /* the io_uring loop's state, else NULL */
	struct loop_fired fired[LOOP_MAX_EVENTS];
};

#define loop_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* An epoll loop (loop_epoll.c).  0, or -1 with errno.  The io_uring loop
 * is opened by loop_uring_open() (loop_uring.h). */
int loop_open_epoll(struct loop *loop);
void loop_close(struct loop *loop);

static inline bool loop_is_uring(const struct loop *loop)
{
	return loop->uring != NULL;
}

/* Watch fd for `events` (LOOP_READ, LOOP_WRITE, with LOOP_EDGE or
 * LOOP_EXCLUSIVE) and call h on each.  0, or -1 with errno (EINVAL for
 * what the implementation cannot watch: io_uring polls readers only). */
int loop_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h);
/* On the loop's own thread, before its first wait (io_uring: enable the
 * ring made disabled, as SINGLE_ISSUER wants).  0, or -1 with errno. */
int loop_start(struct loop *loop);
/* Stopping, on the loop's thread: let what is in flight settle for at
 * most timeout_ms (io_uring: cancel every request, run turns until the
 * last completions are in).  true if nothing is left in flight. */
bool loop_drain(struct loop *loop, int timeout_ms);

/* Closing a descriptor also stops watching it. */
void loop_unwatch(struct loop *loop, int fd);

/* Wait at most timeout_ms (-1: no limit) for events, update now_ms and
 * call the handlers.  The number of events handled, or -1 with errno
 * (EINTR counts as 0 events). */
int loop_wait(struct loop *loop, int timeout_ms);

/* For the implementations, after each wait: set now_ms (handlers read
 * the time of this turn, not of the previous one); call the handlers of
 * loop->fired[0 .. n-1]. */
void loop_tick(struct loop *loop);
void loop_dispatch(struct loop *loop, int n);

#endif /* LARSD_LOOP_H */
