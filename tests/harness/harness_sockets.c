/*
 * harness_sockets.c - the tests' clients: addresses, free ports, TCP and
 * UDP sockets, sending and receiving with deadlines, lars frames and
 * byte patterns (declared in larsd_harness.h with the rest of lh_*).
 */
#include "config.h"

#include "larsd_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LH_CLIENT_TIMEOUT_S 5

/* ---- sockets --------------------------------------------------------------- */

bool lh_sockaddr(const char *address, uint16_t port, struct sockaddr_storage *ss,
		 socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

static int sock_type(const char *proto)
{
	return strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
}

int lh_bind(const char *proto, const char *address, uint16_t port, uint16_t *port_out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, type = sock_type(proto);

	if (!lh_sockaddr(address, port, &ss, &len)) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	if (port_out)
		*port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

bool lh_address_usable(const char *address)
{
	int fd = lh_bind("udp", address, 0, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

uint16_t lh_free_port(const char *proto, const char *address)
{
	uint16_t port = 0;
	int fd = lh_bind(proto, address, 0, &port);

	ck_assert_msg(fd >= 0, "cannot bind %s %s port 0: %s", proto, address, strerror(errno));
	close(fd);
	return port;
}

void lh_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	ck_assert_int_ge(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void set_timeouts(int fd)
{
	struct timeval tv = {LH_CLIENT_TIMEOUT_S, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int bind_source(int fd, int family, const char *src, uint16_t src_port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!src && !src_port)
		return 0;
	if (!src)
		src = family == AF_INET ? "0.0.0.0" : "::";
	if (!lh_sockaddr(src, src_port, &ss, &len) || ss.ss_family != family) {
		errno = EINVAL;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&ss, len);
}

/* connect(), and a blocking connect() a signal interrupted: the kernel
 * goes on connecting, so wait for it (up to 5 s) and take its result. */
static int connect_through_signals(int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	struct pollfd p = {fd, POLLOUT, 0};
	int r, err = 0;
	socklen_t elen = sizeof(err);
	while ((r = poll(&p, 1, 5000)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

/* Bind fd to src:src_port (see bind_source) and connect it to ss; fd, or
 * -1 with errno once fd is closed. */
static int bind_and_connect(int fd, const struct sockaddr_storage *ss, socklen_t len,
			    const char *src, uint16_t src_port)
{
	if (bind_source(fd, ss->ss_family, src, src_port) < 0 ||
	    connect_through_signals(fd, ss, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A TCP socket to address:port from src (NULL: any); kernel buffers of
 * buf bytes when buf > 0, set before connecting so the window is small
 * from the start. */
static int tcp_connect(const char *address, uint16_t port, const char *src, int buf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (!lh_sockaddr(address, port, &ss, &len))
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (buf > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	}
	return bind_and_connect(fd, &ss, len, src, 0);
}

int lh_tcp_connect(const char *address, uint16_t port, const char *src)
{
	return tcp_connect(address, port, src, 0);
}

int lh_tcp_connect_nb(const char *address, uint16_t port, int buf)
{
	int fd = tcp_connect(address, port, NULL, buf);

	if (fd >= 0)
		lh_nonblock(fd);
	return fd;
}

int lh_tcp_connect_listener(const struct lh_listen *l)
{
	return lh_tcp_connect(l->address, l->port, NULL);
}

int lh_udp_socket(const char *address, uint16_t port, const char *src, uint16_t src_port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!lh_sockaddr(address, port, &ss, &len))
		return -1;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	return bind_and_connect(fd, &ss, len, src, src_port);
}

bool lh_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

size_t lh_push_until_stalled(const int *fds, size_t n, const void *data, size_t len,
			    size_t cap, int quiet_ms, int max_ms)
{
	const char *bytes = data;
	size_t *each = calloc(n, sizeof(*each)), total = 0;
	uint64_t end = lh_now_ms() + (uint64_t)max_ms, moved = lh_now_ms();

	ck_assert_ptr_nonnull(each);
	while (lh_now_ms() < end && lh_now_ms() - moved < (uint64_t)quiet_ms) {
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (each[i] >= cap)
				continue;
			size_t off = each[i] % len, want = len - off;
			if (want > cap - each[i])
				want = cap - each[i];
			ssize_t k = send(fds[i], bytes + off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0) {
				each[i] += (size_t)k;
				total += (size_t)k;
				any = true;
			}
		}
		if (any)
			moved = lh_now_ms();
		else
			lh_sleep_ms(5);
	}
	free(each);
	return total;
}

/* poll() for events on fd until the absolute deadline; its result. */
static int poll_until(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = lh_now_ms();
		int left = now >= deadline ? 0 : (int)(deadline - now);
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

size_t lh_recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	uint64_t deadline = lh_now_ms() + (uint64_t)timeout_ms;
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		if (poll_until(fd, POLLIN, deadline) <= 0)
			break;
		ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int lh_wait_closed(int fd, int timeout_ms)
{
	uint64_t deadline = lh_now_ms() + (uint64_t)timeout_ms;
	char sink[4096];

	for (;;) {
		if (poll_until(fd, POLLIN, deadline) <= 0)
			return 0;
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return 1;
		if (n > 0)
			return -1;
		if (errno != EINTR && errno != EAGAIN)
			return 1; /* any other error: the connection is gone too */
	}
}

bool lh_quiet(int fd, int ms)
{
	return poll_until(fd, POLLIN, lh_now_ms() + (uint64_t)ms) == 0;
}

bool lh_tcp_roundtrip(int fd, const void *msg, size_t len)
{
	char *back = malloc(len ? len : 1);
	bool ok;

	ck_assert_ptr_nonnull(back);
	ok = lh_send_all(fd, msg, len) && lh_recv_exact(fd, back, len, 3000) == len &&
	     memcmp(back, msg, len) == 0;
	free(back);
	return ok;
}

ssize_t lh_udp_xchg(int fd, const void *msg, size_t len, void *reply, size_t cap,
		    int timeout_ms)
{
	uint64_t deadline = lh_now_ms() + (uint64_t)timeout_ms;

	if (send(fd, msg, len, 0) != (ssize_t)len)
		return -1;
	if (poll_until(fd, POLLIN, deadline) <= 0)
		return -1;
	return recv(fd, reply, cap, MSG_DONTWAIT);
}

void lh_lars_header(void *out, int32_t msgid, int32_t body_len)
{
	unsigned char *p = out;
	uint32_t id = (uint32_t)msgid, len = (uint32_t)body_len;

	for (int i = 0; i < 4; i++) {
		p[i] = (unsigned char)(id >> (8 * i));
		p[4 + i] = (unsigned char)(len >> (8 * i));
	}
}

size_t lh_lars_frame(void *out, int32_t msgid, const void *body, uint32_t body_len)
{
	unsigned char *p = out;

	lh_lars_header(p, msgid, (int32_t)body_len);
	if (body_len)
		memmove(p + 8, body, body_len);
	return 8 + (size_t)body_len;
}

void lh_pattern(void *p, size_t len, uint64_t seed, uint64_t off)
{
	unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) ^ (seed * 0x9e3779b97f4a7c15ULL);
		x *= 0xff51afd7ed558ccdULL;
		x ^= x >> 29;
		b[i] = (unsigned char)x;
	}
}

