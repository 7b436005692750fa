/*
 * impair-relay - a UDP relay that impairs traffic by a fixed, seeded
 * schedule and says exactly what it did.  This kernel has no netem; the
 * STAMP session tests put this relay between a Session-Sender and a
 * Session-Reflector and compare the session's counters with its report.
 *
 * Paths.  One socket listens on --listen.  Each client source address
 * (at most RELAY_MAX_CLIENTS) gets a socket of its own connected to --to,
 * so a reply arriving on it belongs to that client, as in a NAT.  "fwd" is
 * client -> --to; "back" is --to -> client, sent from the listening socket.
 * Clients are never forgotten: the relay lives for one test.
 *
 * Schedule.  Each direction numbers the datagrams it receives 0, 1, 2, ...
 * over all clients.  A SPEC picks indices (spec.c):
 *   every:K[+O]   i % K == O (O defaults to 0)
 *   list:A,B,...  exactly those
 *   rand:P        with probability P: bit-mixed (splitmix64) from --seed,
 *                 the direction, the impairment and i alone, so each
 *                 (direction, impairment) is its own stream; changing one
 *                 SPEC, or the other direction's traffic, moves nothing else.
 * For each datagram, in this order:
 *   drop     not forwarded.  Drop wins over dup and reorder and is counted
 *            once (as dropped only).
 *   dup      forwarded twice, the copy right after.
 *   reorder  held back, and sent right after the next datagram of the same
 *            direction that is forwarded (a dropped one overtakes nothing),
 *            then counted as reordered.  If none comes within
 *            --reorder-hold-ms, it goes alone and is counted as hold_expired,
 *            not reordered: nothing overtook it.  A datagram that arrives
 *            while another is held is the one that overtakes: it is never
 *            held itself, even if its index was chosen.
 *   delay    everything that leaves, both ways, waits --delay-ms first, in
 *            one FIFO (order kept, including the order reorder made).
 *
 * Counting, per direction: received (numbered), forwarded (datagrams sent,
 * copies included), dropped, duplicated, reordered, hold_expired,
 * send_errors (the kernel refused a send, e.g. ICMP port unreachable from
 * a closed --to), pending (copies still held or delayed at report time).
 * At any report:
 *   received - dropped + duplicated == forwarded + send_errors + pending.
 * fwd_refused counts datagrams from clients beyond the cap; they get no
 * index.  Nor do those the kernel dropped on the relay's own sockets before
 * it read them (buffer full): fwd_socket_drops, back_socket_drops, from
 * SO_MEMINFO; a test that wants exact figures checks that they are 0.  The report also lists the indices dropped, duplicated and
 * reordered (the first RELAY_MAX_LIST of each; the count is the total).
 *
 * So a STAMP session through the relay, sender -> relay -> reflector, for
 * a schedule that does not hit the same test packet twice, should report:
 * each fwd or back drop one lost packet; a fwd dup makes the reflector
 * answer twice, so one duplicate reply (and a stateful reflector sees one
 * extra packet); a back dup one duplicate; a fwd or back reorder one
 * reordered reply, if the sender's next packet comes within the hold time;
 * and --delay-ms adds 2 x delay to every round trip (delay to each one-way
 * figure).
 *
 * Reports go to --report atomically (temp file, rename): at start (so the
 * path is checked before "listening" is printed), on SIGUSR1, and at the
 * end (SIGTERM, SIGINT, or --duration elapsed; exit 0).  Each report
 * carries report_seq, one more each time, and final 1 on the last, so a
 * test can wait for the report its SIGUSR1 asked for.
 *
 * Bounded: single-threaded, one ppoll() whose timeout is the next due
 * datagram, hold or the end of --duration (default 600 s).  Signals are
 * blocked except inside ppoll(), so the handlers' flags are never missed.
 * While the delay queue is near its cap the relay stops reading (the
 * kernel's socket buffers wait) instead of losing datagrams uncounted.
 * Exit 2 with one line per wrong argument, or on a socket it cannot make.
 */
#include "config.h"

#include "opts.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_MAX_CLIENTS 64
#define RELAY_MAX_LIST 10000		/* indices in each list of the report */
#define RELAY_QUEUE_MAX 16384		/* datagrams waiting out --delay-ms */
#define RELAY_QUEUE_BYTES (64u << 20)
#define RELAY_DGRAM_MAX 65536
#define RELAY_SOCKBUF (4 << 20)		/* asked for; net.core.*mem_max caps it */
#define RELAY_BATCH 32			/* datagrams read from a socket a turn */
/* One datagram read can make four sends: itself, its copy, a released
 * held one and its copy. */
#define RELAY_SENDS_PER_READ 4
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

static const char *const imp_list[NIMP] = {"dropped", "duplicated", "reordered"};

struct idxlist {
	size_t n;
	uint64_t v[RELAY_MAX_LIST];
};

struct held {
	bool on, dup;
	uint64_t idx, deadline;
	int client;
	size_t len;
	unsigned char *data;
};

struct counts {
	uint64_t received, forwarded, dropped, duplicated, reordered;
	uint64_t hold_expired, send_errors, refused;
};

struct direction {
	struct counts c;
	struct held held;
	struct idxlist list[NIMP];	/* indices dropped, duplicated, reordered */
	bool send_error_told;
};

struct client {
	struct sockaddr_storage addr;	/* the source it came from */
	socklen_t addrlen;
	int fd;				/* connected to --to */
};

struct pkt {
	uint64_t due;
	enum dir dir;
	int client;
	size_t len;
	unsigned char *data;
};

struct relay {
	struct opts opt;
	struct sockaddr_storage bound;		/* --listen, its port chosen */
	socklen_t bound_len;
	uint64_t report_seq;
	int lfd;
	struct client clients[RELAY_MAX_CLIENTS];
	int nclients;
	bool cap_told;
	struct direction dir[NDIR];
	struct pkt queue[RELAY_QUEUE_MAX];	/* a ring, due times ascending */
	size_t qhead, qcount, qbytes;
	unsigned char buf[RELAY_DGRAM_MAX];
};

static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void idxlist_add(struct idxlist *l, uint64_t i)
{
	if (l->n < RELAY_MAX_LIST)
		l->v[l->n++] = i;
}

/* ---- sending: now or through the delay queue ------------------------- */

static bool queue_has_room(const struct relay *r)
{
	return r->qcount + RELAY_SENDS_PER_READ <= RELAY_QUEUE_MAX &&
	       r->qbytes + RELAY_SENDS_PER_READ * RELAY_DGRAM_MAX <= RELAY_QUEUE_BYTES;
}

static void send_error(struct relay *r, enum dir d, int err)
{
	struct direction *dp = &r->dir[d];

	dp->c.send_errors++;
	if (!dp->send_error_told) {
		dp->send_error_told = true;
		fprintf(stderr, "impair-relay: %s send: %s (counted as %s_send_errors; not repeated)\n",
			opts_dir_name[d], strerror(err), opts_dir_name[d]);
	}
}

static void send_now(struct relay *r, enum dir d, int client, const void *data, size_t len)
{
	const struct client *c = &r->clients[client];
	ssize_t n;

	if (d == FWD)
		n = send(c->fd, data, len, 0);
	else
		n = sendto(r->lfd, data, len, 0, (const struct sockaddr *)&c->addr, c->addrlen);
	if (n < 0)
		send_error(r, d, errno);
	else
		r->dir[d].c.forwarded++;
}

/* Sends a datagram after --delay-ms; the data is copied. */
static void emit(struct relay *r, enum dir d, int client, const void *data, size_t len)
{
	struct pkt *p;

	if (r->opt.delay_ms == 0) {
		send_now(r, d, client, data, len);
		return;
	}
	if (r->qcount == RELAY_QUEUE_MAX) {	/* queue_has_room() prevents it */
		send_error(r, d, ENOBUFS);
		return;
	}
	p = &r->queue[(r->qhead + r->qcount) % RELAY_QUEUE_MAX];
	p->data = malloc(len ? len : 1);
	if (p->data == NULL) {
		send_error(r, d, ENOMEM);
		return;
	}
	memcpy(p->data, data, len);
	p->len = len;
	p->dir = d;
	p->client = client;
	p->due = now_ns() + r->opt.delay_ms * NS_PER_MS;
	r->qcount++;
	r->qbytes += len;
}

static void emit_held(struct relay *r, enum dir d)
{
	struct held *h = &r->dir[d].held;

	emit(r, d, h->client, h->data, h->len);
	if (h->dup)
		emit(r, d, h->client, h->data, h->len);
	free(h->data);
	h->data = NULL;
	h->on = false;
}

/* Applies direction d's schedule to the datagram just received. */
static void impair(struct relay *r, enum dir d, int client, const unsigned char *data, size_t len)
{
	struct direction *dp = &r->dir[d];
	uint64_t i = dp->c.received++;
	bool dup = spec_chosen(&r->opt.spec[d][DUP], i);

	if (spec_chosen(&r->opt.spec[d][DROP], i)) {
		dp->c.dropped++;
		idxlist_add(&dp->list[DROP], i);
		return;
	}
	if (dup) {
		dp->c.duplicated++;
		idxlist_add(&dp->list[DUP], i);
	}
	if (!dp->held.on && spec_chosen(&r->opt.spec[d][REORDER], i)) {
		struct held *h = &dp->held;

		h->data = malloc(len ? len : 1);
		if (h->data != NULL) {
			memcpy(h->data, data, len);
			h->on = true;
			h->dup = dup;
			h->idx = i;
			h->client = client;
			h->len = len;
			h->deadline = now_ns() + r->opt.hold_ms * NS_PER_MS;
			return;
		}
		/* No memory to hold it: it goes now, not reordered. */
	}
	emit(r, d, client, data, len);
	if (dup)
		emit(r, d, client, data, len);
	if (dp->held.on) {
		dp->c.reordered++;
		idxlist_add(&dp->list[REORDER], dp->held.idx);
		emit_held(r, d);
	}
}

/* Releases holds that waited in vain and sends what is due. */
static void run_timers(struct relay *r, uint64_t now)
{
	for (int d = 0; d < NDIR; d++) {
		if (r->dir[d].held.on && now >= r->dir[d].held.deadline) {
			r->dir[d].c.hold_expired++;
			emit_held(r, (enum dir)d);
		}
	}
	while (r->qcount > 0 && r->queue[r->qhead].due <= now) {
		struct pkt *p = &r->queue[r->qhead];

		send_now(r, p->dir, p->client, p->data, p->len);
		free(p->data);
		r->qbytes -= p->len;
		r->qhead = (r->qhead + 1) % RELAY_QUEUE_MAX;
		r->qcount--;
	}
}

static uint64_t next_timer(const struct relay *r, uint64_t end)
{
	uint64_t t = end;

	for (int d = 0; d < NDIR; d++)
		if (r->dir[d].held.on && r->dir[d].held.deadline < t)
			t = r->dir[d].held.deadline;
	if (r->qcount > 0 && r->queue[r->qhead].due < t)
		t = r->queue[r->qhead].due;
	return t;
}

/* ---- addresses and sockets ------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/*
 * A non-blocking UDP socket with room for a burst (the kernel caps the
 * size at net.core.rmem_max): what the kernel drops there never gets an
 * index, and shifts the schedule.
 */
static int udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = RELAY_SOCKBUF;

	if (fd < 0)
		return -1;
	/* Best effort: a smaller buffer is no reason to fail. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* What the kernel dropped on fd for want of room (SO_MEMINFO, Linux 4.6);
 * 0 if it cannot tell. */
static uint32_t socket_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS] = {0};
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

/* A socket connected to --to; -1 with errno. */
static int to_socket(const struct relay *r)
{
	int fd = udp_socket(r->opt.to_addr.ss_family);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&r->opt.to_addr, r->opt.to_len) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* The client index of a source, a new one if there is room; -1 if not. */
static int client_find(struct relay *r, const struct sockaddr_storage *src, socklen_t len)
{
	struct client *c;
	char name[OPTS_ADDR_MAX];

	for (int i = 0; i < r->nclients; i++)
		if (same_addr(&r->clients[i].addr, src))
			return i;
	if (r->nclients == RELAY_MAX_CLIENTS) {
		if (!r->cap_told) {
			r->cap_told = true;
			opts_format_addr(src, len, name, sizeof(name));
			fprintf(stderr, "impair-relay: more than %d clients: %s and later new ones "
				"refused (counted as fwd_refused; not repeated)\n",
				RELAY_MAX_CLIENTS, name);
		}
		return -1;
	}
	c = &r->clients[r->nclients];
	c->fd = to_socket(r);
	if (c->fd < 0) {
		opts_format_addr(src, len, name, sizeof(name));
		fprintf(stderr, "impair-relay: no socket to --to for client %s: %s (counted as fwd_refused)\n",
			name, strerror(errno));
		return -1;
	}
	memcpy(&c->addr, src, len);
	c->addrlen = len;
	return r->nclients++;
}

static void read_listen(struct relay *r)
{
	for (int n = 0; n < RELAY_BATCH && queue_has_room(r); n++) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		ssize_t len = recvfrom(r->lfd, r->buf, sizeof(r->buf), 0, (struct sockaddr *)&src, &slen);
		int client;

		if (len < 0) {
			if (errno != EAGAIN && errno != ECONNREFUSED)
				fprintf(stderr, "impair-relay: recv on --listen: %s\n", strerror(errno));
			return;
		}
		client = client_find(r, &src, slen);
		if (client < 0)
			r->dir[FWD].c.refused++;
		else
			impair(r, FWD, client, r->buf, (size_t)len);
	}
}

static void read_client(struct relay *r, int client)
{
	for (int n = 0; n < RELAY_BATCH && queue_has_room(r); n++) {
		ssize_t len = recv(r->clients[client].fd, r->buf, sizeof(r->buf), 0);

		if (len < 0) {
			/* ECONNREFUSED: an ICMP error for an earlier send; it
			 * was counted then. */
			if (errno == ECONNREFUSED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "impair-relay: recv from --to: %s\n", strerror(errno));
			return;
		}
		impair(r, BACK, client, r->buf, (size_t)len);
	}
}

/* ---- the report ------------------------------------------------------ */

static uint64_t pending(const struct relay *r, enum dir d)
{
	const struct held *h = &r->dir[d].held;
	uint64_t n = h->on ? 1u + h->dup : 0u;

	for (size_t i = 0; i < r->qcount; i++)
		n += r->queue[(r->qhead + i) % RELAY_QUEUE_MAX].dir == d;
	return n;
}

static int report_write(struct relay *r, bool final)
{
	char tmp[4096];
	uint64_t back_drops;
	FILE *f;
	int err;

	if (r->opt.report == NULL)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", r->opt.report, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "seed %" PRIu64 "\nreport_seq %" PRIu64 "\nfinal %d\n", r->opt.seed, r->report_seq++,
		final);
	for (int d = 0; d < NDIR; d++) {
		const struct counts *c = &r->dir[d].c;
		const char *n = opts_dir_name[d];

		fprintf(f,
			"%s_received %" PRIu64 "\n%s_forwarded %" PRIu64 "\n%s_dropped %" PRIu64 "\n"
			"%s_duplicated %" PRIu64 "\n%s_reordered %" PRIu64 "\n"
			"%s_hold_expired %" PRIu64 "\n%s_send_errors %" PRIu64 "\n"
			"%s_pending %" PRIu64 "\n",
			n, c->received, n, c->forwarded, n, c->dropped, n, c->duplicated, n,
			c->reordered, n, c->hold_expired, n, c->send_errors, n,
			pending(r, (enum dir)d));
	}
	back_drops = 0;
	for (int i = 0; i < r->nclients; i++)
		back_drops += socket_drops(r->clients[i].fd);
	fprintf(f, "fwd_refused %" PRIu64 "\nfwd_socket_drops %" PRIu32
		"\nback_socket_drops %" PRIu64 "\n",
		r->dir[FWD].c.refused, socket_drops(r->lfd), back_drops);
	for (int d = 0; d < NDIR; d++) {
		for (int k = 0; k < NIMP; k++) {
			const struct idxlist *l = &r->dir[d].list[k];

			fprintf(f, "%s_%s_list", opts_dir_name[d], imp_list[k]);
			for (size_t i = 0; i < l->n; i++)
				fprintf(f, " %" PRIu64, l->v[i]);
			fputc('\n', f);
		}
	}
	err = ferror(f) ? EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, r->opt.report) != 0)
		err = errno;
	if (err != 0) {
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

/* Binds the listening socket and checks that --to can be reached. */
static bool relay_open(struct relay *r)
{
	char name[OPTS_ADDR_MAX];
	int fd;

	r->lfd = udp_socket(r->opt.listen_addr.ss_family);
	if (r->lfd < 0 ||
	    bind(r->lfd, (const struct sockaddr *)&r->opt.listen_addr, r->opt.listen_len) < 0) {
		opts_format_addr(&r->opt.listen_addr, r->opt.listen_len, name, sizeof(name));
		fprintf(stderr, "impair-relay: cannot listen on %s: %s\n", name, strerror(errno));
		return false;
	}
	r->bound_len = sizeof(r->bound);
	if (getsockname(r->lfd, (struct sockaddr *)&r->bound, &r->bound_len) < 0) {
		fprintf(stderr, "impair-relay: getsockname: %s\n", strerror(errno));
		return false;
	}
	fd = to_socket(r);
	if (fd < 0) {
		opts_format_addr(&r->opt.to_addr, r->opt.to_len, name, sizeof(name));
		fprintf(stderr, "impair-relay: cannot make a socket to %s: %s\n", name, strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/* A pending ICMP error with nothing to read (reported even while the
 * relay does not ask for POLLIN): take it, or ppoll() would return at
 * once forever.  The send it belongs to was counted already. */
static void take_error(int fd)
{
	int err;
	socklen_t len = sizeof(err);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

static int relay_loop(struct relay *r, const sigset_t *waitmask)
{
	struct pollfd pfd[1 + RELAY_MAX_CLIENTS];
	uint64_t end = now_ns() + r->opt.duration_s * NS_PER_S;

	while (!got_term) {
		uint64_t now = now_ns(), wake;
		struct timespec ts;
		int nfds;
		short ev;

		if (got_usr1) {
			got_usr1 = 0;
			if (report_write(r, false) < 0)
				fprintf(stderr, "impair-relay: report %s: %s\n", r->opt.report, strerror(errno));
		}
		if (now >= end)
			break;
		run_timers(r, now);
		wake = next_timer(r, end);
		now = now_ns();
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / NS_PER_S);
		ts.tv_nsec = (long)(wake % NS_PER_S);
		ev = queue_has_room(r) ? POLLIN : 0;
		nfds = 1 + r->nclients;
		pfd[0] = (struct pollfd){.fd = r->lfd, .events = ev};
		for (int i = 0; i < r->nclients; i++)
			pfd[1 + i] = (struct pollfd){.fd = r->clients[i].fd, .events = ev};
		if (ppoll(pfd, (nfds_t)nfds, &ts, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "impair-relay: ppoll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			read_listen(r);
		else if (pfd[0].revents & POLLERR)
			take_error(r->lfd);
		for (int i = 0; i < nfds - 1; i++) {
			if (pfd[1 + i].revents & POLLIN)
				read_client(r, i);
			else if (pfd[1 + i].revents & POLLERR)
				take_error(r->clients[i].fd);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct relay relay;	/* large (the queue): not on the stack */
	struct relay *r = &relay;
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, waitmask;
	char name[OPTS_ADDR_MAX];
	int rc;

	switch (opts_parse(&r->opt, argc, argv)) {
	case OPTS_OK:
		break;
	case OPTS_HELP:
		return 0;
	case OPTS_BAD:
		return 2;
	}
	/* Our signals arrive only inside ppoll(), so no flag is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGUSR1);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	if (!relay_open(r))
		return 2;
	if (report_write(r, false) < 0) {
		fprintf(stderr, "impair-relay: --report \"%s\": %s\n", r->opt.report, strerror(errno));
		return 2;
	}
	opts_format_addr(&r->bound, r->bound_len, name, sizeof(name));
	printf("listening %s\n", name);
	fflush(stdout);

	rc = relay_loop(r, &waitmask);
	if (report_write(r, true) < 0) {
		fprintf(stderr, "impair-relay: report %s: %s\n", r->opt.report, strerror(errno));
		rc = 1;
	}
	for (size_t i = 0; i < r->qcount; i++)
		free(r->queue[(r->qhead + i) % RELAY_QUEUE_MAX].data);
	for (int d = 0; d < NDIR; d++)
		free(r->dir[d].held.data);
	opts_free(&r->opt);
	for (int i = 0; i < r->nclients; i++)
		close(r->clients[i].fd);
	close(r->lfd);
	return rc;
}
