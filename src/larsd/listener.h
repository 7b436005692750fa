/*
 * listener.h - listening sockets: bound from the config, or handed over by
 * systemd socket activation.
 *
 * A listener is made once and shared by every worker: each worker watches
 * it in its own loop with LOOP_EXCLUSIVE, so one wakes per event.
 * A UDP listener that larsd binds itself is a group of sockets instead,
 * one per worker, sharing the port with SO_REUSEPORT: the kernel spreads
 * datagrams over them by source, and no datagram wakes two workers.
 */
#ifndef LARSD_LISTENER_H
#define LARSD_LISTENER_H

#include "conf.h"

#include <stdbool.h>

struct listener {
	int fd;            /* group[0] */
	int group[CONF_MAX_THREADS]; /* UDP: one socket per worker */
	unsigned n_group;
	enum conf_proto proto;
	_Atomic enum conf_mode mode; /* a reload may change it under the workers */
	bool activated; /* from systemd: kept across reloads */
	bool pktinfo;   /* UDP on a wildcard address: replies need the
	                   datagram's destination as their source */
	bool stamp_ready; /* its sockets deliver what mode "stamp" needs */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[80]; /* "tcp 127.0.0.1:7777", for messages */
};

/* Bind and listen for one configured listener, with one socket per worker
 * for UDP.  On failure returns NULL and a one-line message naming
 * address:port and the cause. */
struct listener *listener_open(const struct conf_listener *cl, unsigned workers,
			       char *err, size_t errlen);

/* The socket worker `index` serves. */
static inline int listener_fd(const struct listener *l, unsigned index)
{
	return l->group[index % l->n_group];
}

/* Wrap a socket passed by systemd, if it matches cl. */
bool listener_matches_fd(const struct conf_listener *cl, int fd);
struct listener *listener_adopt(const struct conf_listener *cl, int fd);

/* Serve l in mode m from now on, first asking the kernel for receive
 * timestamps and TTLs if m is "stamp" (stamp.h).  -1 with errno (the mode
 * unchanged) if the sockets cannot do that. */
int listener_set_mode(struct listener *l, enum conf_mode m);

/* Same protocol, address and port? */
bool listener_same(const struct listener *l, const struct conf_listener *cl);

void listener_close(struct listener *l);

/* "tcp 127.0.0.1:7777" / "udp [::1]:7" */
void listener_format(char *out, size_t len, enum conf_proto proto,
		     const struct sockaddr *sa);

#endif /* LARSD_LISTENER_H */
