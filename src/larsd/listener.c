/*
 * listener.c - open, adopt and close listening sockets (see listener.h).
 */
#include "config.h"

#include "listener.h"
#include "sockaddr.h"
#include "stamp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096

void listener_format(char *out, size_t len, enum conf_proto proto,
		     const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const char *p = proto == CONF_PROTO_TCP ? "tcp" : "udp";

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host,
			  sizeof(host));
		snprintf(out, len, "%s %s:%u", p, host, sockaddr_port(sa));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
			  sizeof(host));
		snprintf(out, len, "%s [%s]:%u", p, host, sockaddr_port(sa));
	}
}

/* On a wildcard UDP socket ask for each datagram's destination address,
 * so the reply leaves from the address the client wrote to. */
static bool listener_want_pktinfo(int fd, const struct sockaddr_storage *ss)
{
	int one = 1;

	if (!sockaddr_wildcard(ss))
		return false;
	if (ss->ss_family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0;
}

static struct listener *listener_make(const struct conf_listener *cl, const int *fds,
				      unsigned n)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	memcpy(l->group, fds, n * sizeof(fds[0]));
	l->n_group = n;
	l->fd = fds[0];
	l->proto = cl->proto;
	l->mode = CONF_MODE_ECHO; /* listener_set_mode(), by the caller */
	memcpy(&l->addr, &cl->addr, cl->addrlen);
	l->addrlen = cl->addrlen;
	listener_format(l->name, sizeof(l->name), cl->proto, (const struct sockaddr *)&cl->addr);
	if (cl->proto == CONF_PROTO_UDP) {
		l->pktinfo = true;
		for (unsigned i = 0; i < n; i++)
			l->pktinfo = listener_want_pktinfo(fds[i], &cl->addr) && l->pktinfo;
	}
	return l;
}

/* One bound socket; -1 with the message in err. */
static int socket_bind(const struct conf_listener *cl, bool reuseport, const char *name,
		       char *err, size_t errlen)
{
	int one = 1;
	int type = cl->proto == CONF_PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int family = cl->addr.ss_family;
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open a socket for %s: %s", name, strerror(errno));
		return -1;
	}
	if (family == AF_INET6) /* so 0.0.0.0 and :: can share a port */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&cl->addr, cl->addrlen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)) {
		snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct listener *listener_open(const struct conf_listener *cl, unsigned workers,
			       char *err, size_t errlen)
{
	char name[80];
	unsigned n = cl->proto == CONF_PROTO_UDP && workers > 1 ? workers : 1;
	int fds[CONF_MAX_THREADS];

	listener_format(name, sizeof(name), cl->proto, (const struct sockaddr *)&cl->addr);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = socket_bind(cl, cl->reuseport || n > 1, name, err, errlen);
		if (fds[i] < 0) {
			while (i > 0)
				close(fds[--i]);
			return NULL;
		}
	}
	struct listener *l = listener_make(cl, fds, n);
	if (!l) {
		snprintf(err, errlen, "out of memory for %s", name);
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
	} else if (listener_set_mode(l, cl->mode) < 0) {
		snprintf(err, errlen, "cannot get receive timestamps and TTLs on %s for STAMP: %s",
			 name, strerror(errno));
		listener_close(l);
		l = NULL;
	}
	return l;
}

int listener_set_mode(struct listener *l, enum conf_mode m)
{
	if (m == CONF_MODE_STAMP && !l->stamp_ready) {
		for (unsigned i = 0; i < l->n_group; i++)
			if (stamp_socket_setup(l->group[i]) < 0)
				return -1;
		l->stamp_ready = true;
	}
	atomic_store(&l->mode, m);
	return 0;
}

bool listener_matches_fd(const struct conf_listener *cl, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (type != (cl->proto == CONF_PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM))
		return false;
	return sockaddr_equal(&ss, &cl->addr);
}

struct listener *listener_adopt(const struct conf_listener *cl, int fd)
{
	int flags = 1;
	struct listener *l = listener_make(cl, &fd, 1);
	if (!l)
		return NULL;
	l->activated = true;
	if (ioctl(fd, FIONBIO, &flags) < 0 || listener_set_mode(l, cl->mode) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

bool listener_same(const struct listener *l, const struct conf_listener *cl)
{
	return l->proto == cl->proto && sockaddr_equal(&l->addr, &cl->addr);
}

void listener_close(struct listener *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n_group; i++)
		close(l->group[i]);
	free(l);
}
