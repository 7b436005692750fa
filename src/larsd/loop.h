/*
 * loop.h - an event loop over file descriptors, and nothing else.
 *
 * The loop knows descriptors and handlers, never what they are: whoever
 * watches a descriptor passes a struct loop_handler (usually inside its own
 * struct: a connection, a listener as a worker sees it, a wake-up eventfd),
 * and loop_wait() calls that handler's function with what happened.  The
 * caller finds its struct again with loop_container_of().
 *
 * The interface is three calls (watch, unwatch, wait) over a backend that
 * the operating system provides; loop.c is the part every backend shares
 * (time and dispatch), loop_epoll.c is Linux's epoll, as redis's
 * ae_epoll.c sits beside ae.c.  One loop belongs to one thread.
 *
 * A loop may also own an io_uring (loop_uring.h): then it waits in
 * io_uring_enter(), its plain readers are polled by the ring, the epoll
 * set (edge-triggered and exclusive watches) is itself one of the ring's
 * polls, and the TCP data path submits its receives and sends to the
 * same ring, so one system call per turn submits and waits.
 */
#ifndef LARSD_LOOP_H
#define LARSD_LOOP_H

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

struct loop_uring;

struct loop {
	int fd;          /* the backend's own descriptor */
	uint64_t now_ms; /* CLOCK_MONOTONIC at the end of the last wait */
	struct loop_uring *uring; /* NULL: epoll alone (loop_uring.h) */
	struct loop_fired fired[LOOP_MAX_EVENTS];
};

#define loop_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* 0, or -1 with errno. */
int loop_open(struct loop *loop);
void loop_close(struct loop *loop);

/* Watch fd for `events` (LOOP_READ, LOOP_WRITE, with LOOP_EDGE or
 * LOOP_EXCLUSIVE) and call h on each.  0, or -1 with errno. */
int loop_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h);
/* Closing a descriptor also stops watching it. */
void loop_unwatch(struct loop *loop, int fd);

/* Wait at most timeout_ms (-1: no limit) for events, update now_ms and
 * call the handlers.  The number of events handled, or -1 with errno
 * (EINTR counts as 0 events). */
int loop_wait(struct loop *loop, int timeout_ms);

/* ---- what a backend provides (loop_epoll.c) ---------------------------- */
int loop_backend_open(struct loop *loop);
void loop_backend_close(struct loop *loop);
int loop_backend_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h);
void loop_backend_unwatch(struct loop *loop, int fd);
/* Fill loop->fired (from index `at` on, at most LOOP_MAX_EVENTS - at);
 * the number filled, 0 on EINTR, or -1 with errno. */
int loop_backend_poll(struct loop *loop, int at, int timeout_ms);
/* Call the handlers of loop->fired[0 .. n-1]. */
void loop_dispatch(struct loop *loop, int n);

#endif /* LARSD_LOOP_H */
