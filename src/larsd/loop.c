/*
 * loop.c - the part of the event loop every backend shares (see loop.h):
 * the clock after each wait, and calling the handlers.
 */
#include "config.h"

#include "loop.h"
#include "clock.h"

int loop_open(struct loop *loop)
{
	loop->now_ms = clock_ms();
	return loop_backend_open(loop);
}

void loop_close(struct loop *loop)
{
	loop_backend_close(loop);
}

int loop_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	return loop_backend_watch(loop, fd, events, h);
}

void loop_unwatch(struct loop *loop, int fd)
{
	loop_backend_unwatch(loop, fd);
}

int loop_wait(struct loop *loop, int timeout_ms)
{
	int n = loop_backend_poll(loop, timeout_ms);

	/* Handlers read the time of this turn, not of the previous one. */
	loop->now_ms = clock_ms();
	for (int i = 0; i < n; i++)
		loop->fired[i].h->fn(loop, loop->fired[i].h, loop->fired[i].events);
	return n;
}
