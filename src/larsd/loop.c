/*
 * loop.c - the part of the event loop both implementations share (see
 * loop.h): the calls through the table of operations, the clock after
 * each wait, and calling the handlers.
 */
#include "config.h"

#include "loop.h"
#include "clock.h"

void loop_close(struct loop *loop)
{
	if (loop->ops)
		loop->ops->close(loop);
	loop->ops = NULL;
}

int loop_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	return loop->ops->watch(loop, fd, events, h);
}

void loop_unwatch(struct loop *loop, int fd)
{
	loop->ops->unwatch(loop, fd);
}

int loop_start(struct loop *loop)
{
	return loop->ops->start ? loop->ops->start(loop) : 0;
}

bool loop_drain(struct loop *loop, int timeout_ms)
{
	return loop->ops->drain ? loop->ops->drain(loop, timeout_ms) : true;
}

int loop_wait(struct loop *loop, int timeout_ms)
{
	return loop->ops->wait(loop, timeout_ms);
}

void loop_tick(struct loop *loop)
{
	loop->now_ms = clock_ms();
}

void loop_dispatch(struct loop *loop, int n)
{
	for (int i = 0; i < n; i++)
		loop->fired[i].h->fn(loop, loop->fired[i].h, loop->fired[i].events);
}
