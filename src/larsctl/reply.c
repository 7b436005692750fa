/*
 * reply.c - one exchange with larsd's control socket (see reply.h).
 */
#include "config.h"

#include "reply.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Replies larger than this are not larsd's. */
#define REPLY_MAX (4u << 20)

int ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == ENOENT)
		snprintf(err, errlen, "%s: no such socket (is larsd running, with control "
			 "set? see larsd.conf(5))", path);
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "%s: permission denied (root, or a member of the "
			 "socket's group: see control in larsd.conf(5))", path);
	else if (e == ECONNREFUSED)
		snprintf(err, errlen, "%s: connection refused: larsd is not running", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(e));
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the reply in buf[0..len) complete? */
static bool reply_complete(const char *buf, size_t len)
{
	if (len == 0 || buf[len - 1] != '\n')
		return false;
	/* the last line */
	size_t start = len - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	const char *last = buf + start;
	if (start == 0 && strncmp(last, "STAT ", 5) != 0)
		return true; /* a one-line reply: OK, VERSION, ERROR */
	return strncmp(last, "END\n", 4) == 0 || strncmp(last, "END\r\n", 5) == 0;
}

static int parse(char *buf, struct reply *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (strncmp(buf, "STAT ", 5) != 0 && strncmp(buf, "END", 3) != 0) {
		char *nl = strchr(buf, '\n');
		*nl = '\0';
		if (nl > buf && nl[-1] == '\r')
			nl[-1] = '\0';
		if (strcmp(buf, "OK") == 0) {
			r->kind = REPLY_OK;
			return 0;
		}
		const char *rest = strchr(buf, ' ');
		r->text = strdup(rest ? rest + 1 : "");
		if (strncmp(buf, "VERSION ", 8) == 0)
			r->kind = REPLY_VERSION;
		else if (strncmp(buf, "ERROR", 5) == 0)
			r->kind = REPLY_ERROR;
		else {
			snprintf(err, errlen, "unexpected reply: %.80s", buf);
			return EXIT_PROTOCOL;
		}
		return 0;
	}
	r->kind = REPLY_STATS;
	size_t cap = 0;
	for (char *line = buf, *next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if (next - line >= 2 && next[-2] == '\r')
			next[-2] = '\0';
		if (strcmp(line, "END") == 0)
			break;
		char *name = line + 5, *value = strchr(name, ' ');
		if (strncmp(line, "STAT ", 5) != 0 || !value) {
			snprintf(err, errlen, "unexpected line in a reply: %.80s", line);
			return EXIT_PROTOCOL;
		}
		*value++ = '\0';
		if (r->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct stat_item *items = realloc(r->items, cap * sizeof(*items));
			if (!items) {
				snprintf(err, errlen, "out of memory");
				return EXIT_PROTOCOL;
			}
			r->items = items;
		}
		r->items[r->n].name = strdup(name);
		r->items[r->n].value = strdup(value);
		r->n++;
	}
	return 0;
}

int ctl_exchange(int fd, const char *command, int timeout_ms, struct reply *r, char *err,
		 size_t errlen)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "%s\n", command);
	if (n < 0 || (size_t)n >= sizeof(line) || send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(err, errlen, "cannot send the command: %s", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return EXIT_PROTOCOL;
	}
	long long deadline = now_ms() + timeout_ms;
	int rc = 0;
	while (!reply_complete(buf, len)) {
		long long left = deadline - now_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			snprintf(err, errlen, "no complete reply within %d ms", timeout_ms);
			rc = EXIT_PROTOCOL;
			break;
		}
		if (len == cap) {
			char *b = cap < REPLY_MAX ? realloc(buf, cap * 2 + 1) : NULL;
			if (!b) {
				snprintf(err, errlen, "reply too long");
				rc = EXIT_PROTOCOL;
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t got = recv(fd, buf + len, cap - len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			snprintf(err, errlen, "larsd closed the connection%s%s",
				 got < 0 ? ": " : " before replying", got < 0 ? strerror(errno) : "");
			rc = EXIT_UNREACHABLE;
			break;
		}
		len += (size_t)got;
	}
	if (rc == 0) {
		buf[len] = '\0';
		rc = parse(buf, r, err, errlen);
	}
	free(buf);
	return rc;
}

const char *reply_get(const struct reply *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].name, name) == 0)
			return r->items[i].value;
	return NULL;
}

void reply_free(struct reply *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].value);
	}
	free(r->items);
	free(r->text);
	memset(r, 0, sizeof(*r));
}
