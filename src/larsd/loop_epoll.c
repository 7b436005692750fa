/*
 * loop_epoll.c - the epoll backend of the event loop (see loop.h).
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

int loop_backend_open(struct loop *loop)
{
	loop->fd = epoll_create1(EPOLL_CLOEXEC);
	return loop->fd < 0 ? -1 : 0;
}

void loop_backend_close(struct loop *loop)
{
	if (loop->fd >= 0)
		close(loop->fd);
	loop->fd = -1;
}

int loop_backend_watch(struct loop *loop, int fd, unsigned events, struct loop_handler *h)
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

void loop_backend_unwatch(struct loop *loop, int fd)
{
	epoll_ctl(loop->fd, EPOLL_CTL_DEL, fd, NULL);
}

int loop_backend_poll(struct loop *loop, int at, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->fd, evs, LOOP_MAX_EVENTS - at, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		uint32_t e = evs[i].events;
		unsigned events = 0;

		if (e & EPOLLIN)
			events |= LOOP_READ;
		if (e & EPOLLOUT)
			events |= LOOP_WRITE;
		if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			events |= LOOP_HUP;
		loop->fired[at + i].h = evs[i].data.ptr;
		loop->fired[at + i].events = events;
	}
	return n;
}
