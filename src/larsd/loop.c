/*
 * loop.c - the part of the event loop every backend shares (see loop.h):
 * the clock after each wait, and calling the handlers.  A loop with an
 * io_uring waits in loop_uring.c, which hands its readiness events back
 * to loop_dispatch().
 */
#include "config.h"

#include "loop.h"
#include "clock.h"
#include "loop_uring.h"

int loop_open(struct loop *loop)
{
	loop->now_ms = clock_ms();
	loop->uring = NULL;
	return loop_backend_open(loop);
}

void loop_close(struct loop *loop)
{
	loop_uring_close(loop);
	loop_backend_close(loop);
}

int loop_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	/* The ring polls plain readers itself; epoll keeps what only it can
	 * do (edge-triggered, exclusive wake-ups). */
	if (loop->uring && !(events & (LOOP_EDGE | LOOP_EXCLUSIVE | LOOP_WRITE)))
		return loop_uring_watch(loop, fd, events, h);
	return loop_backend_watch(loop, fd, events, h);
}

void loop_unwatch(struct loop *loop, int fd)
{
	if (loop->uring && loop_uring_unwatch(loop, fd))
		return;
	loop_backend_unwatch(loop, fd);
}

void loop_dispatch(struct loop *loop, int n)
{
	for (int i = 0; i < n; i++)
		loop->fired[i].h->fn(loop, loop->fired[i].h, loop->fired[i].events);
}

int loop_wait(struct loop *loop, int timeout_ms)
{
	if (loop->uring)
		return loop_uring_wait(loop, timeout_ms);

	int n = loop_backend_poll(loop, 0, timeout_ms);

	/* Handlers read the time of this turn, not of the previous one. */
	loop->now_ms = clock_ms();
	loop_dispatch(loop, n);
	return n;
}
