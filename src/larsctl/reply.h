/*
 * reply.h - one exchange with larsd's control socket.
 *
 * larsctl sends one command line and reads the reply of memcached's text
 * protocol: "STAT name value" lines closed by "END", or one line "OK",
 * "VERSION text" or "ERROR message".
 */
#ifndef LARSCTL_REPLY_H
#define LARSCTL_REPLY_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses, larsctl(8) lists them. */
enum {
	EXIT_DAEMON_ERROR = 1, /* larsd answered ERROR (a reload refused, say) */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,  /* no socket, no permission, larsd not running */
	EXIT_PROTOCOL = 4,     /* the reply made no sense, or timed out */
};

struct stat_item {
	char *name;
	char *value;
};

struct reply {
	enum { REPLY_STATS, REPLY_OK, REPLY_VERSION, REPLY_ERROR } kind;
	struct stat_item *items; /* REPLY_STATS */
	size_t n;
	char *text;              /* REPLY_VERSION, REPLY_ERROR: the rest of the line */
};

/* Connect to the socket at path; -1 with a one-line message in err. */
int ctl_connect(const char *path, char *err, size_t errlen);

/* Send command on fd and read its reply within timeout_ms; 0, or an exit
 * status with a one-line message in err. */
int ctl_exchange(int fd, const char *command, int timeout_ms, struct reply *r, char *err,
		 size_t errlen);

/* The value of name, or NULL. */
const char *reply_get(const struct reply *r, const char *name);

void reply_free(struct reply *r);

#endif /* LARSCTL_REPLY_H */
