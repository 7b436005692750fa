/*
 * loop_epoll.c - the epoll implementation of the event loop (see loop.h).
 *
 * A reader is watched for EPOLLRDHUP too, so a FIN that arrives with the
 * last data is seen (as LOOP_HUP) even by an edge-triggered reader that
 * stops at a short read.  Not with EPOLLEXCLUSIVE, which the kernel allows
 * only beside EPOLLIN, EPOLLOUT and EPOLLET (listeners have no FIN).
 */
#include "config.h"

#include "loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epoll_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
{
	struct epoll_event ev = {.events = 0, .data.ptr = h};

	if (events & LOOP_READ)
		ev.events |= events & LOOP_EXCLUSIVE ? EPOLLIN : EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		ev.events |= EPOLLOUT;
	if (events & LOOP_EDGE)
		ev.events |= EPOLLET;
	if (events & LOOP_EXCLUSIVE)
		ev.events |= EPOLLEXCLUSIVE;
	return epoll_ctl(loop->fd, EPOLL_CTL_ADD, fd, &ev);
}

static void epoll_unwatch(struct loop *loop, int fd)
{
	epoll_ctl(loop->fd, EPOLL_CTL_DEL, fd, NULL);
}

static int epoll_wait_turn(struct loop *loop, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->fd, evs, LOOP_MAX_EVENTS, timeout_ms);

	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		uint32_t e = evs[i].events;
		unsigned events = 0;

		if (e & EPOLLIN)
			events |= LOOP_READ;
		if (e & EPOLLOUT)
			events |= LOOP_WRITE;
		if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			events |= LOOP_HUP;
		loop->fired[i].h = evs[i].data.ptr;
		loop->fired[i].events = events;
	}
	loop_tick(loop);
	loop_dispatch(loop, n);
	return n;
}

static void epoll_close(struct loop *loop)
{
	if (loop->fd >= 0)
		close(loop->fd);
	loop->fd = -1;
}

static const struct loop_ops epoll_ops = {
	.name = "epoll",
	.watch = epoll_watch,
	.unwatch = epoll_unwatch,
	.wait = epoll_wait_turn,
	.close = epoll_close,
};

int loop_open_epoll(struct loop *loop)
{
	loop->uring = NULL;
	loop->fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->fd < 0)
		return -1;
	loop->ops = &epoll_ops;
	loop_tick(loop);
	return 0;
}
