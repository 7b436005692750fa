/*
 * larsctl - ask a running larsd through its control socket.
 *
 *   larsctl [-s SOCKET] [--json | --prometheus] stats [pool|listeners|workers|sessions|reset]
 *   larsctl [-s SOCKET] reload | version
 *   larsctl [-s SOCKET] watch [-n SECONDS] [--count N]
 *
 * One connection per run; the reply is printed as aligned text, JSON or
 * Prometheus' text format (format.c; the measuring sessions' in sessions.c).
 * `stats --prometheus` asks for every section, so one run gives the whole
 * exposition.  Exit statuses: reply.h.
 */
#include "config.h"

#include "control_socket.h"
#include "format.h"
#include "reply.h"
#include "watch.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum output { OUT_TEXT, OUT_JSON, OUT_PROMETHEUS };

static void usage(FILE *f)
{
	fprintf(f, "usage: larsctl [-s SOCKET] [--json | --prometheus] stats\n"
		   "               [pool|listeners|workers|sessions|reset]\n"
		   "       larsctl [-s SOCKET] reload | version\n"
		   "       larsctl [-s SOCKET] watch [-n SECONDS] [--count N]\n"
		   "  -s, --socket PATH   larsd's control socket (default %s)\n"
		   "  -j, --json          print JSON\n"
		   "  -p, --prometheus    print the Prometheus text exposition format\n"
		   "  -t, --timeout MS    wait this long for a reply (default 5000)\n"
		   "  -n SECONDS          watch: refresh period (default 1)\n"
		   "      --count N       watch: show N frames, then exit\n"
		   "  -h, --help, -V, --version\n"
		   "Exit status: 0 done, 1 larsd answered ERROR, 2 bad usage, 3 larsd not\n"
		   "reachable (no socket, permission denied, not running), 4 a bad reply.\n",
		LARS_CONTROL_DEFAULT);
}

/* Append src's items to dst (moving the strings); with tables_only, only
 * the "group_N:field" items. */
static void merge(struct reply *dst, struct reply *src, bool tables_only)
{
	char g[32];
	unsigned row;
	const char *f;
	struct stat_item *items = realloc(dst->items, (dst->n + src->n) * sizeof(*items));
	if (!items)
		return;
	dst->items = items;
	for (size_t i = 0; i < src->n; i++) {
		if (tables_only && !stat_split(src->items[i].name, g, sizeof(g), &row, &f)) {
			free(src->items[i].name);
			free(src->items[i].value);
			continue;
		}
		dst->items[dst->n++] = src->items[i];
	}
	src->n = 0;
	reply_free(src);
}

static int run(const char *path, const char *command, enum output out, int timeout_ms)
{
	char err[LARS_CONTROL_ERR_MAX + 64];
	struct reply r;
	int fd = ctl_connect(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "larsctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	int rc = ctl_exchange(fd, command, timeout_ms, &r, err, sizeof(err));
	/* The whole exposition in one run: every section of stats.  A larsd
	 * older than "stats sessions" answers it ERROR: that merges nothing. */
	static const char *const more[] = {"stats pool", "stats listeners", "stats workers",
					   "stats sessions"};
	for (size_t i = 0; rc == 0 && r.kind == REPLY_STATS && out == OUT_PROMETHEUS &&
			   strcmp(command, "stats") == 0 && i < sizeof(more) / sizeof(more[0]); i++) {
		struct reply extra;
		rc = ctl_exchange(fd, more[i], timeout_ms, &extra, err, sizeof(err));
		if (rc == 0)
			merge(&r, &extra, i == 0); /* pool's totals repeat stats' pool_* */
		else
			reply_free(&r);
	}
	close(fd);
	if (rc) {
		fprintf(stderr, "larsctl: %s\n", err);
		return rc;
	}
	switch (r.kind) {
	case REPLY_ERROR:
		if (strcmp(r.text, "unknown command") == 0) /* "stats sessions" to an older larsd */
			fprintf(stderr, "larsctl: larsd does not know '%s' (older than larsctl %s?)\n",
				command, PACKAGE_VERSION);
		else
			fprintf(stderr, "larsctl: %s\n", r.text);
		rc = EXIT_DAEMON_ERROR;
		break;
	case REPLY_OK:
		if (out == OUT_JSON)
			printf("{\"result\":\"OK\"}\n");
		else
			printf("OK\n");
		break;
	case REPLY_VERSION:
		if (out == OUT_JSON)
			printf("{\"version\":\"%s\"}\n", r.text);
		else
			printf("%s\n", r.text);
		break;
	case REPLY_STATS:
		if (out == OUT_JSON)
			rc = format_json(stdout, &r);
		else if (out == OUT_PROMETHEUS)
			rc = format_prometheus(stdout, &r);
		else
			rc = format_text(stdout, &r);
		if (rc < 0) {
			fprintf(stderr, "larsctl: out of memory formatting the reply\n");
			rc = EXIT_PROTOCOL;
		}
		break;
	}
	reply_free(&r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("larsctl: stdout");
		return EXIT_PROTOCOL;
	}
	return rc;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!*s || *s == '-')
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0' && *out <= max;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"prometheus", no_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	const char *path = LARS_CONTROL_DEFAULT;
	enum output out = OUT_TEXT;
	unsigned long timeout_ms = 5000, count = 0, interval_s = 1;
	int opt;

	/* GNU getopt permutes: options may follow the command word (watch -n 2). */
	while ((opt = getopt_long(argc, argv, "s:jpt:n:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'j': out = OUT_JSON; break;
		case 'p': out = OUT_PROMETHEUS; break;
		case 't':
			if (!parse_uint(optarg, 3600000, &timeout_ms) || timeout_ms == 0) {
				fprintf(stderr, "larsctl: --timeout: want 1..3600000 ms, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (!parse_uint(optarg, 3600, &interval_s) || interval_s == 0) {
				fprintf(stderr, "larsctl: -n: want 1..3600 seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			if (!parse_uint(optarg, 1000000, &count) || count == 0) {
				fprintf(stderr, "larsctl: --count: want 1..1000000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("larsctl %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	int nargs = argc - optind;
	const char *cmd = nargs > 0 ? argv[optind] : "";
	const char *arg = nargs > 1 ? argv[optind + 1] : NULL;
	char line[64];

	if (strcmp(cmd, "watch") == 0 && nargs == 1) {
		if (out != OUT_TEXT) {
			fprintf(stderr, "larsctl: watch prints text only\n");
			return EXIT_USAGE;
		}
		return watch_run(path, (unsigned)interval_s * 1000, (unsigned)count, (int)timeout_ms);
	}
	if (strcmp(cmd, "stats") == 0 && nargs <= 2 &&
	    (!arg || !strcmp(arg, "pool") || !strcmp(arg, "listeners") ||
	     !strcmp(arg, "workers") || !strcmp(arg, "sessions") || !strcmp(arg, "reset"))) {
		snprintf(line, sizeof(line), "stats%s%s", arg ? " " : "", arg ? arg : "");
		return run(path, line, out, (int)timeout_ms);
	}
	if ((strcmp(cmd, "reload") == 0 || strcmp(cmd, "version") == 0) && nargs == 1)
		return run(path, cmd, out, (int)timeout_ms);
	if (nargs == 0)
		fprintf(stderr, "larsctl: no command\n");
	else
		fprintf(stderr, "larsctl: unknown command or argument: %s%s%s\n", cmd,
			arg ? " " : "", arg ? arg : "");
	usage(stderr);
	return EXIT_USAGE;
}
