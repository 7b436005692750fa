/*
 * idle-conns - helpers of bench/echo.
 *
 * Usage: idle-conns [-H ADDRESS] -P PORT -c COUNT
 *        idle-conns --free-ports COUNT
 *        idle-conns --sample SECONDS PID...
 *
 * The first form opens COUNT TCP connections to ADDRESS:PORT (IPv4,
 * default 127.0.0.1), never sends a byte, and checks half a second later
 * that the server has closed none of them.  It prints "open N" (N the
 * connections still open) on stdout, then holds them until SIGTERM or
 * SIGINT.  Exit status 1 if any connection failed or was closed.  Raise the
 * descriptor limit (ulimit -n) above COUNT first.
 *
 * The second form prints COUNT port numbers, one a line, each free on
 * 127.0.0.1 for TCP and for UDP alike at the time (the kernel picks them:
 * bind to port 0).  All of them are held until the last one is found, so
 * they differ.
 *
 * The third form samples the process trees of the PIDs every SECONDS until
 * SIGTERM: one line "TIME TICKS RSS_KIB PROCESSES" each time, TIME in
 * seconds since the epoch (as bash's EPOCHREALTIME), TICKS the sum of
 * utime + stime + cutime + cstime (clock ticks) over the PIDs and all
 * their descendants alive (children that exited and were reaped are in
 * their parent's cutime and cstime), RSS_KIB the sum of their resident
 * memory.  larsd-bench --server-pid sees one process; servers that fork a
 * child per connection (xinetd, socat) need the whole tree.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: idle-conns [-H ADDRESS] -P PORT -c COUNT\n"
		     "       idle-conns --free-ports COUNT\n"
		     "       idle-conns --sample SECONDS PID...\n");
}

static long parse_count(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "idle-conns: '%s': want a number from 1 to %ld\n", s, max);
		exit(2);
	}
	return v;
}

static int free_ports(int count)
{
	int *fds = calloc((size_t)count * 2, sizeof(int));
	int *ports = calloc((size_t)count, sizeof(int));
	if (!fds || !ports)
		return 1;
	for (int i = 0; i < count; i++) {
		for (int tries = 0;; tries++) {
			struct sockaddr_in sin = {.sin_family = AF_INET,
						  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			socklen_t len = sizeof(sin);
			int t = socket(AF_INET, SOCK_STREAM, 0);
			int u = socket(AF_INET, SOCK_DGRAM, 0);
			if (t < 0 || u < 0 || bind(t, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
			    getsockname(t, (struct sockaddr *)&sin, &len) < 0) {
				perror("idle-conns: socket");
				return 1;
			}
			if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
				fds[2 * i] = t;
				fds[2 * i + 1] = u;
				ports[i] = ntohs(sin.sin_port);
				break;
			}
			close(t);
			close(u);
			if (tries > 1000) {
				fprintf(stderr, "idle-conns: no port free for TCP and UDP\n");
				return 1;
			}
		}
	}
	for (int i = 0; i < count; i++)
		printf("%d\n", ports[i]);
	return 0; /* exiting closes them */
}

/* Add the stat of one process to the sums; push its children on the stack. */
static void sample_one(long pid, unsigned long long *ticks, unsigned long long *rss_pages,
		       long *nprocs, long **stack, size_t *n, size_t *cap)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return; /* gone */
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	char *p = ok ? strrchr(line, ')') : NULL;
	if (!p)
		return;
	/* Fields after "pid (comm)": state is 3, utime..cstime 14..17, rss 24. */
	p++;
	for (int field = 3; field <= 24; field++) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (field >= 14 && field <= 17)
			*ticks += v;
		else if (field == 24)
			*rss_pages += v;
		p = strchr(p + 1, ' ');
		if (!p)
			break;
	}
	(*nprocs)++;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char cpath[300];
		snprintf(cpath, sizeof(cpath), "/proc/%ld/task/%s/children", pid, e->d_name);
		if (!(f = fopen(cpath, "r")))
			continue;
		long child;
		while (fscanf(f, "%ld", &child) == 1) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*stack = realloc(*stack, *cap * sizeof(long));
				if (!*stack)
					exit(1);
			}
			(*stack)[(*n)++] = child;
		}
		fclose(f);
	}
	closedir(d);
}

static int sample(double interval, char **pids, int npids)
{
	long *stack = NULL;
	size_t cap = 0;
	long page_kib = sysconf(_SC_PAGESIZE) / 1024;
	struct timespec ts = {(time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9)};

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		unsigned long long ticks = 0, rss = 0;
		long nprocs = 0;
		size_t n = 0;
		for (int i = 0; i < npids; i++)
			sample_one(atol(pids[i]), &ticks, &rss, &nprocs, &stack, &n, &cap);
		while (n > 0) {
			long pid = stack[--n];
			sample_one(pid, &ticks, &rss, &nprocs, &stack, &n, &cap);
		}
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		printf("%lld.%06ld %llu %llu %ld\n", (long long)now.tv_sec, now.tv_nsec / 1000,
		       ticks, rss * (unsigned long long)page_kib, nprocs);
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
	free(stack);
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long port = 0, count = 0;

	if (argc == 3 && strcmp(argv[1], "--free-ports") == 0)
		return free_ports((int)parse_count(argv[2], 1000));
	if (argc >= 4 && strcmp(argv[1], "--sample") == 0) {
		double interval = atof(argv[2]);
		if (interval <= 0 || interval > 3600) {
			fprintf(stderr, "idle-conns: --sample: bad interval '%s'\n", argv[2]);
			return 2;
		}
		return sample(interval, argv + 3, argc - 3);
	}
	for (int opt; (opt = getopt(argc, argv, "H:P:c:h")) != -1;) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'P': port = parse_count(optarg, 65535); break;
		case 'c': count = parse_count(optarg, 1000000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (port == 0 || count == 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "idle-conns: bad IPv4 address '%s'\n", host);
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	int *fds = malloc((size_t)count * sizeof(int));
	if (ep < 0 || !fds) {
		perror("idle-conns");
		return 1;
	}
	/* Connect in waves so the server's accept backlog never overflows. */
	long failed = 0, pending = 0, opened = 0;
	struct epoll_event evs[256];
	while (opened < count || pending > 0) {
		while (opened < count && pending < 512) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				fprintf(stderr, "idle-conns: socket %ld: %s\n", opened, strerror(errno));
				return 1;
			}
			fds[opened] = fd;
			struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)opened};
			if ((connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
			     errno != EINPROGRESS) ||
			    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
				fprintf(stderr, "idle-conns: connect: %s\n", strerror(errno));
				return 1;
			}
			opened++;
			pending++;
		}
		int n = epoll_wait(ep, evs, 256, 5000);
		if (n <= 0) {
			fprintf(stderr, "idle-conns: connections time out\n");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = fds[evs[i].data.u64], err = 0;
			socklen_t len = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			pending--;
			if (err) {
				failed++;
				close(fd); /* also leaves the epoll set */
				continue;
			}
			/* From now on watch for the server closing it. */
			struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data = evs[i].data};
			epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		}
	}
	/* Half a second for the server to close what it would not keep. */
	long closed = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = 500 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		int n = epoll_wait(ep, evs, 256, (int)left);
		for (int i = 0; i < n; i++) {
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[evs[i].data.u64], NULL);
			closed++;
		}
	}
	printf("open %ld\n", count - failed - closed);
	fflush(stdout);
	while (!stop)
		pause();
	return failed || closed ? 1 : 0;
}
