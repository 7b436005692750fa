/*
 * textbook-echo - the epoll floor of bench/echo.
 *
 * Usage: textbook-echo [-a ADDRESS] TCP-PORT UDP-PORT
 *
 * What a textbook's first epoll server does, and nothing more: one thread,
 * one level-triggered epoll set, non-blocking sockets.  TCP: on EPOLLIN,
 * read() once into one shared 64 KiB buffer and write() it back; bytes the
 * socket does not take are kept in a malloc'd buffer of the connection,
 * which then waits for EPOLLOUT instead of EPOLLIN until they are written
 * (no unbounded queue).  UDP: on EPOLLIN, one recvfrom() and one sendto().
 * It echoes bytes, so it serves larsd-bench's lars mode too: every lars
 * frame comes back unchanged.  A port of 0 takes a free one; the ports in
 * use are printed on stdout ("tcp PORT", "udp PORT") once listening.
 * SIGTERM or SIGINT ends it.
 */
#include "config.h"

#include "textbook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define BUF_SIZE 65536

struct conn {
	int fd;
	char *pending; /* bytes read but not yet written back */
	size_t off, len;
};

static char buf[BUF_SIZE];

static void conn_close(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c->pending);
	free(c);
}

static void set_events(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is pending; false if the connection broke. */
static bool conn_flush(int ep, struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->pending + c->off, c->len - c->off);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->off += (size_t)n;
	}
	free(c->pending);
	c->pending = NULL;
	c->off = c->len = 0;
	set_events(ep, c, EPOLLIN);
	return true;
}

/* Readable: read once, write back, keep what the socket did not take. */
static bool conn_echo(int ep, struct conn *c)
{
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	ssize_t w = write(c->fd, buf, (size_t)n);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return false;
		w = 0;
	}
	if (w < n) {
		c->len = (size_t)(n - w);
		c->off = 0;
		c->pending = malloc(c->len);
		if (!c->pending)
			return false;
		memcpy(c->pending, buf + w, c->len);
		set_events(ep, c, EPOLLOUT);
	}
	return true;
}

static void tcp_accept(int ep, int lfd)
{
	int one = 1;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		conn_close(c);
}

static void udp_echo(int fd)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
	if (n >= 0)
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
}

int main(int argc, char **argv)
{
	int tfd, ufd;

	textbook_setup("textbook-echo", argc, argv, SOCK_NONBLOCK, &tfd, &ufd);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		textbook_die("epoll_create1", errno);
	/* The listeners are told apart from connections by these two pointers. */
	static int tkey, ukey;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tkey};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.ptr = &ukey;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	textbook_print_ports(tfd, ufd);

	struct epoll_event evs[MAX_EVENTS];
	while (!textbook_stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &tkey) {
				tcp_accept(ep, tfd);
				continue;
			}
			if (p == &ukey) {
				udp_echo(ufd);
				continue;
			}
			struct conn *c = p;
			bool ok;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN))
				ok = false;
			else if (c->pending)
				ok = conn_flush(ep, c);
			else
				ok = conn_echo(ep, c);
			if (!ok)
				conn_close(c);
		}
	}
	return 0;
}
