/*
 * ctlsock.h - the control socket: a Unix stream listener and its clients
 * (see ctlsock.c).  Served by the control thread's poll loop.
 */
#ifndef LARSD_CTLSOCK_H
#define LARSD_CTLSOCK_H

#include "ctlcmd.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#define CTLSOCK_MAX_CLIENTS 16
#define CTLSOCK_IDLE_MS 60000
/* Replies waiting unread: past this, the next command closes the client. */
#define CTLSOCK_OUT_MAX (256 * 1024)
/* The most one reply may add: "stats sessions" of CONF_MAX_SESSIONS
 * sessions, about 1.5 KiB each, fits. */
#define CTLSOCK_REPLY_MAX (8 * 1024 * 1024)
/* The poll slots ctlsock_pollfds() may fill: the listener and the clients. */
#define CTLSOCK_NFDS (1 + CTLSOCK_MAX_CLIENTS)

struct ctlsock_client {
	int fd;                        /* -1: a free slot */
	char in[CTL_LINE_MAX + 2];     /* a partial line: up to 1024 + "\r\n" */
	size_t in_len;
	struct ctl_out out;            /* replies not yet written */
	uint64_t last_ms;              /* last input: the idle timeout */
	int pollslot;                  /* index in the last pollfds, or -1 */
	bool eof;                      /* the client shut down its sending
	                                  side: flush the replies, then close */
};

struct ctlsock {
	int fd;                        /* -1: no control socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int pollslot;
	struct ctlsock_client clients[CTLSOCK_MAX_CLIENTS];
	struct ctl_state *state;       /* set by the control thread */
};

/* Open the socket at path ("" : none).  A stale socket file (nothing
 * answers) is replaced.  -1 with a message in err only when another
 * process answers on it; any other failure logs one warning and leaves
 * cs without a socket: serving traffic matters more. */
int ctlsock_open(struct ctlsock *cs, const char *path, char *err, size_t errlen);

/* Fill pfd (room for CTLSOCK_NFDS) with what to poll; the count. */
size_t ctlsock_pollfds(struct ctlsock *cs, struct pollfd *pfd);
/* Serve what poll() reported in pfd (as filled above). */
void ctlsock_serve(struct ctlsock *cs, const struct pollfd *pfd);
/* Close clients idle for CTLSOCK_IDLE_MS. */
void ctlsock_tick(struct ctlsock *cs, uint64_t now_ms);
/* Close everything and remove the socket file. */
void ctlsock_close(struct ctlsock *cs);

#endif /* LARSD_CTLSOCK_H */
