/*
 * ctlsock.c - the control socket's listener and clients.
 *
 * Everything is non-blocking and bounded, so no client can stall the
 * control thread (and with it reloads, the watchdog and STATUS=): at most
 * CTLSOCK_MAX_CLIENTS clients (the next is told "ERROR too many clients"
 * and closed), lines of at most CTL_LINE_MAX bytes ("ERROR line too long"
 * and closed), CTLSOCK_IDLE_MS without input closes, and a client whose
 * unread replies would pass CTLSOCK_OUT_MAX is closed.  Access control is
 * the socket file's mode (0660) and its directory's.
 */
#include "config.h"

#include "ctlsock.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct log_limit accept_limit = LOG_LIMIT_INIT(10000);

static void sockaddr_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path); /* conf.c checked that it fits */
}

/* What is at the path now?  The socket file of a larsd that died answers
 * connect() with ECONNREFUSED and may go; anything else stays. */
enum ctlsock_prior { PRIOR_NONE, PRIOR_STALE, PRIOR_LIVE, PRIOR_OTHER };

static enum ctlsock_prior ctlsock_prior(const struct sockaddr_un *sun)
{
	struct stat st;
	enum ctlsock_prior prior = PRIOR_OTHER;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? PRIOR_NONE : PRIOR_OTHER;
	if (!S_ISSOCK(st.st_mode))
		return PRIOR_OTHER;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PRIOR_OTHER;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		prior = PRIOR_LIVE;
	else if (errno == ECONNREFUSED)
		prior = PRIOR_STALE;
	close(fd);
	return prior;
}

static void ctlsock_without(const char *path, const char *why)
{
	log_warn("control socket %s: %s; running without it", path, why);
}

int ctlsock_open(struct ctlsock *cs, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(cs, 0, sizeof(*cs));
	cs->fd = -1;
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		cs->clients[i].fd = -1;
	if (path[0] == '\0' || strlen(path) >= sizeof(cs->path))
		return 0;
	sockaddr_of(path, &sun);
	switch (ctlsock_prior(&sun)) {
	case PRIOR_LIVE:
		snprintf(err, errlen, "control socket %s: another larsd answers on it", path);
		return -1;
	case PRIOR_STALE:
		if (unlink(path) < 0) {
			ctlsock_without(path, strerror(errno));
			return 0;
		}
		break;
	case PRIOR_OTHER: /* not a socket, or unreachable: bind() says why */
	case PRIOR_NONE:
		break;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ctlsock_without(path, strerror(errno));
		return 0;
	}
	/* 0660 from the start: no moment where others may connect.  Only the
	 * main thread runs yet, so changing the process's umask is safe. */
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, CTLSOCK_MAX_CLIENTS) < 0) {
		ctlsock_without(path, strerror(errno));
		close(fd);
		return 0;
	}
	cs->fd = fd;
	strcpy(cs->path, path);
	log_info("control socket %s", path);
	return 0;
}

/* ---- clients ------------------------------------------------------------ */

static void client_close(struct ctlsock_client *c)
{
	close(c->fd);
	free(c->out.buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pollslot = -1;
}

/* Write what is pending, keep the unsent rest at the start (out.max
 * bounds what the client has not read).  False if the client broke. */
static bool client_flush(struct ctlsock_client *c)
{
	size_t off = 0;

	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + off, c->out.len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return false;
			break;
		}
		off += (size_t)n;
	}
	if (off > 0)
		memmove(c->out.buf, c->out.buf + off, c->out.len - off);
	c->out.len -= off;
	return true;
}

/* A last word before closing: best effort, never waits. */
static void client_refuse(int fd, const char *msg)
{
	ssize_t n = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
}

/* Take the waiting connections, a bounded number per turn so that a flood
 * of connects does not hold the thread from signals and timers. */
static void ctlsock_accept(struct ctlsock *cs)
{
	for (int budget = 0; budget < 64; budget++) {
		int fd = accept4(cs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_limited(&accept_limit, LOG_WARNING, "control socket: accept: %s",
					    strerror(errno));
			return;
		}
		struct ctlsock_client *c = NULL;
		for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS && !c; i++)
			if (cs->clients[i].fd < 0)
				c = &cs->clients[i];
		if (!c) {
			client_refuse(fd, "ERROR too many clients\n");
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->pollslot = -1;
		c->out.max = CTLSOCK_OUT_MAX + CTLSOCK_REPLY_MAX;
		c->last_ms = clock_ms();
	}
}

/* A line above CTL_LINE_MAX: say so after the replies still waiting, as
 * far as the socket takes them now, and close. */
static bool client_too_long(struct ctlsock_client *c)
{
	ctl_printf(&c->out, "ERROR line too long\n");
	(void)client_flush(c);
	return false;
}

/* Run the complete lines in c->in.  False: close the client. */
static bool client_lines(struct ctlsock *cs, struct ctlsock_client *c)
{
	char *start = c->in, *nl;

	while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in))) != NULL) {
		size_t len = (size_t)(nl - start);
		if (len > 0 && start[len - 1] == '\r')
			len--;
		if (len > CTL_LINE_MAX)
			return client_too_long(c);
		if (c->out.len > CTLSOCK_OUT_MAX)
			return false; /* asks and does not read */
		ctl_run(cs->state, ctl_parse(start, (size_t)(nl - start)), &c->out);
		if (c->out.overflow)
			return false; /* asks and does not read */
		start = nl + 1;
	}
	c->in_len -= (size_t)(start - c->in);
	memmove(c->in, start, c->in_len);
	/* Room for CTL_LINE_MAX bytes and "\r\n": a full buffer is too long. */
	if (c->in_len == sizeof(c->in))
		return client_too_long(c);
	return true;
}

/* Input: read a few times, run each line.  False: close.  Input is read
 * even while replies wait, so a client that asks and never reads reaches
 * CTLSOCK_OUT_MAX and goes; the bounded reads keep one client from
 * holding the thread. */
static bool client_read(struct ctlsock *cs, struct ctlsock_client *c)
{
	for (int budget = 0; budget < 16; budget++) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
				 MSG_DONTWAIT);
		if (n == 0) { /* "echo stats | nc -U": answer, then close */
			c->eof = true;
			return c->out.len > 0;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		c->in_len += (size_t)n;
		c->last_ms = clock_ms();
		if (!client_lines(cs, c) || !client_flush(c))
			return false;
	}
	return true;
}

size_t ctlsock_pollfds(struct ctlsock *cs, struct pollfd *pfd)
{
	size_t n = 0;

	cs->pollslot = -1;
	if (cs->fd < 0)
		return 0;
	cs->pollslot = (int)n;
	pfd[n++] = (struct pollfd){ cs->fd, POLLIN, 0 };
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct ctlsock_client *c = &cs->clients[i];
		c->pollslot = -1;
		if (c->fd < 0)
			continue;
		c->pollslot = (int)n;
		short ev = (short)((c->eof ? 0 : POLLIN) | (c->out.len > 0 ? POLLOUT : 0));
		pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
	}
	return n;
}

void ctlsock_serve(struct ctlsock *cs, const struct pollfd *pfd)
{
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct ctlsock_client *c = &cs->clients[i];
		if (c->fd < 0 || c->pollslot < 0)
			continue;
		short re = pfd[c->pollslot].revents;
		bool ok = true;
		if (re & POLLOUT)
			ok = client_flush(c);
		if (ok && !c->eof && (re & (POLLIN | POLLHUP | POLLERR)))
			ok = client_read(cs, c);
		if (c->eof && c->out.len == 0)
			ok = false;
		if (c->eof && (re & (POLLHUP | POLLERR)) && !(re & POLLOUT))
			ok = false; /* gone entirely: nobody reads the rest */
		if (!ok)
			client_close(c);
	}
	if (cs->pollslot >= 0 && (pfd[cs->pollslot].revents & POLLIN))
		ctlsock_accept(cs);
}

void ctlsock_tick(struct ctlsock *cs, uint64_t now_ms)
{
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct ctlsock_client *c = &cs->clients[i];
		if (c->fd >= 0 && now_ms - c->last_ms >= CTLSOCK_IDLE_MS)
			client_close(c);
	}
}

void ctlsock_close(struct ctlsock *cs)
{
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		if (cs->clients[i].fd >= 0)
			client_close(&cs->clients[i]);
	if (cs->fd >= 0) {
		close(cs->fd);
		unlink(cs->path);
		cs->fd = -1;
	}
}
