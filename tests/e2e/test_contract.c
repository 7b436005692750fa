/*
 * test_contract.c - larsd's memory contract (src/larsd/tcp.h, larsd(8)
 * MEMORY), the same scenarios on every backend.
 *
 * Each scenario is one function of the backend; the suite adds it once per
 * backend ("frames_at_cap_epoll", "frames_at_cap_io_uring"), so both data
 * paths run the same code and must meet the same numbers.  Where io_uring
 * cannot run (an old kernel, a seccomp filter, larsd built without
 * liburing), the io_uring cases run on io_backend = "auto" instead, which
 * is the default a user gets there, and say so.  LARSD_TEST_IO_BACKEND does
 * not apply here: every case names its backend.
 *
 * The scenarios, and the contract point of tcp.h each pins:
 *   frames_at_cap      24 lars clients send 50000 of a 60008-byte frame,
 *                      pause, then the rest, at 1M: all echoed (3)
 *   frames_at_defaults the same, 1500 clients, the shipped 64M (3)
 *   frames_starved     100 such clients at 1M, more than the pool can give
 *                      a first buffer each: frames in progress go first,
 *                      and every frame is echoed, none closed (3)
 *   frames_header_first the same with only the header and 100 bytes of
 *                      each frame first (a short read): all echoed (3)
 *   pipelined_mixed    60 clients stream 300 KB of pipelined frames of
 *                      0 to 65000 bytes at 512K: all byte-exact (3)
 *   never_reading      40 clients that never read, 8K socket buffers: one
 *                      16K buffer each; with the kernel's own buffers, at
 *                      most 256K each (2)
 *   evictions          64 never-reading clients fill 1M, then 10 new
 *                      clients are served, at the cost of one eviction (4)
 *   burst_returns      600 connections echo 16K and close: nothing in use
 *                      within 2 s (5)
 *   reload_lowers      600 idle connections at 64M, reload to 2M, close:
 *                      the pool owns no more than 2M (6)
 *   accept_wakeups     300 spaced connections, 2 workers: an accept wakes
 *                      one of them, or both when one is busy (on epoll),
 *                      never both every time
 *   oversize           a frame above max_message: the frames before it
 *                      echoed, then a reset (RST), counted
 * and, for io_uring alone, what larsd does when the kernel refuses it:
 *   ring_fails_at_start the start-up rings fail (ENOMEM from a seccomp
 *                      filter on the ring size): "auto" runs on epoll with
 *                      one notice, "io_uring" refuses to start
 *   submit_refused     every submit refused (EAGAIN) for 1.5 s while 200
 *                      clients send and 20 of them close: under 0.3 s of
 *                      CPU, at most two lines on stderr, then every echo
 *                      whole, and new connections echo intact
 *   submit_refused_closed larsd closes connections (idle_timeout) whose
 *                      echo is refused, new ones accepted meanwhile take
 *                      their numbers: each gets exactly its own bytes back
 *   ring_reregister_refused the buffer ring cannot be registered again
 *                      after a trim (ENOMEM): it holds nothing while so,
 *                      even under load, comes back once it can, and goes
 *                      with the clients (5)
 * The last three run larsd with tests/harness/fault_uring.c preloaded, a
 * shim in front of liburing that refuses while a file exists in the
 * daemon's directory; they skip, saying why, where io_uring cannot run or
 * larsd was built without liburing (no shim then).
 */
#include "config.h"

#include "larsd_harness.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define KIB 1024L
#define FRAME_BODY 60000u
#define FRAME_SIZE (8u + FRAME_BODY)
#define FRAME_FIRST 50000u /* sent before the pause */
#define PAUSE_MS 300
/* More than larsd's TCP_EVICT_MS: stuck this long, a client may go. */
#define TCP_EVICT_WAIT_MS 600

/* ---- the backends --------------------------------------------------------- */

static bool uring_checked, uring_here;

/* Can larsd run its io_uring backend here?  Asked of larsd itself. */
static bool io_uring_here(void)
{
	if (uring_checked)
		return uring_here;
	struct lh_daemon d;
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 1;\n  io_backend = \"io_uring\";\n");
	lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	uring_here = lh_start(&d);
	if (uring_here)
		lh_stop_ok(&d);
	lh_cleanup(&d);
	uring_checked = true;
	return uring_here;
}

/* The io_backend word for a scenario's backend. */
static const char *backend_word(const char *backend)
{
	if (strcmp(backend, "io_uring") == 0 && !io_uring_here()) {
		printf("# io_uring cannot run here: this case runs on io_backend = \"auto\"\n");
		return "auto";
	}
	return backend;
}

/* A daemon on backend with threads workers and mem_limit, no prealloc. */
static void contract_init(struct lh_daemon *d, const char *backend, unsigned threads,
			  const char *mem_limit)
{
	lh_init(d);
	snprintf(d->settings, sizeof(d->settings), "  threads = %u;\n  io_backend = \"%s\";\n",
		 threads, backend_word(backend));
	snprintf(d->bufpool, sizeof(d->bufpool),
		 "mem_limit = \"%s\"; prealloc = { tier_4K = 0; tier_16K = 0; tier_64K = 0; };",
		 mem_limit);
}

/* A listener whose queue holds many connections at once. */
static size_t add_listener(struct lh_daemon *d, const char *mode)
{
	size_t l = lh_add(d, "tcp", "127.0.0.1", mode, true);
	ck_assert_int_eq(listen(d->ls[l].fd, 4096), 0);
	return l;
}

/* Room for n client sockets here and n connections in larsd, which
 * inherits the limit. */
static void want_fds(size_t n)
{
	struct rlimit r;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < n * 2 + 64) {
		r.rlim_cur = r.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
	}
	ck_assert_msg(r.rlim_cur >= n * 2 + 64, "RLIMIT_NOFILE %llu is too low for %zu clients",
		      (unsigned long long)r.rlim_cur, n);
}

/* Wait up to ms for counter name to be at most max; its last value. */
static long long stat_settles(struct lh_daemon *d, const char *name, long long max, int ms)
{
	uint64_t end = lh_now_ms() + (uint64_t)ms;
	long long v;
	while ((v = lh_stat(d, name)) > max && lh_now_ms() < end)
		lh_sleep_ms(100);
	return v;
}

/* ---- lars clients --------------------------------------------------------- */

/* One client of a frame scenario: its frame goes out, the same comes back. */
struct fclient {
	int fd;
	size_t got;
	bool done;   /* echoed whole and exact */
	bool closed; /* larsd closed it (EOF or reset) first */
	bool wrong;  /* a byte came back that was not sent */
};

static void frame_of(unsigned char *out, size_t i)
{
	unsigned char body[FRAME_BODY];
	lh_pattern(body, sizeof(body), 1000 + i, 0);
	lh_lars_frame(out, (int32_t)i, body, FRAME_BODY);
}

/* Send bytes [from, to) of client i's frame; false if larsd closed it. */
static bool frame_send(struct fclient *c, size_t i, size_t from, size_t to)
{
	static unsigned char frame[FRAME_SIZE];
	frame_of(frame, i);
	return !c->closed && lh_send_all(c->fd, frame + from, to - from);
}

/* Read every client's echo until all are done or closed, or ms passed. */
static void frames_collect(struct fclient *cl, size_t n, int ms)
{
	static unsigned char frame[FRAME_SIZE], in[65536];
	struct pollfd *p = calloc(n, sizeof(*p));
	uint64_t end = lh_now_ms() + (uint64_t)ms;

	ck_assert_ptr_nonnull(p);
	for (;;) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!cl[i].done && !cl[i].closed)
				p[k++] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
		uint64_t now = lh_now_ms();
		if (k == 0 || now >= end)
			break;
		if (poll(p, k, (int)(end - now)) <= 0)
			continue;
		for (size_t j = 0; j < k; j++) {
			if (!p[j].revents)
				continue;
			size_t i = 0;
			while (cl[i].fd != p[j].fd)
				i++;
			ssize_t r = recv(cl[i].fd, in, sizeof(in), MSG_DONTWAIT);
			if (r <= 0) {
				if (r == 0 || (errno != EAGAIN && errno != EINTR))
					cl[i].closed = true;
				continue;
			}
			frame_of(frame, i);
			if (cl[i].got + (size_t)r > FRAME_SIZE ||
			    memcmp(in, frame + cl[i].got, (size_t)r) != 0)
				cl[i].wrong = true;
			cl[i].got += (size_t)r;
			if (cl[i].got >= FRAME_SIZE)
				cl[i].done = true;
		}
	}
	free(p);
}

struct frames_result {
	size_t done, closed, hung, wrong;
};

/* n clients each send the first `first` bytes of their frame, pause, send
 * the rest, and read the echo back. */
static struct frames_result frames_run(struct lh_daemon *d, size_t l, size_t n, size_t first,
				       int ms)
{
	struct fclient *cl = calloc(n, sizeof(*cl));
	struct frames_result r = {0};

	ck_assert_ptr_nonnull(cl);
	for (size_t i = 0; i < n; i++) {
		cl[i].fd = lh_tcp_connect_listener(&d->ls[l]);
		ck_assert_msg(cl[i].fd >= 0, "connect %zu: %s", i, strerror(errno));
	}
	for (size_t i = 0; i < n; i++)
		if (!frame_send(&cl[i], i, 0, first))
			cl[i].closed = true;
	lh_sleep_ms(PAUSE_MS);
	for (size_t i = 0; i < n; i++)
		if (!frame_send(&cl[i], i, first, FRAME_SIZE))
			cl[i].closed = true;
	frames_collect(cl, n, ms);
	for (size_t i = 0; i < n; i++) {
		r.done += cl[i].done && !cl[i].wrong;
		r.closed += cl[i].closed && !cl[i].done;
		r.hung += !cl[i].done && !cl[i].closed;
		r.wrong += cl[i].wrong;
		close(cl[i].fd);
	}
	free(cl);
	return r;
}

/* Frames in progress at the cap: every one is echoed. */
static void frames_all_echoed(const char *backend, size_t n, const char *mem_limit)
{
	struct lh_daemon d;

	want_fds(n);
	contract_init(&d, backend, 1, mem_limit);
	size_t l = add_listener(&d, "lars");
	lh_start_ok(&d);
	struct frames_result r = frames_run(&d, l, n, FRAME_FIRST, 30000);
	ck_assert_msg(r.done == n && r.wrong == 0,
		      "%zu of %zu frames echoed (%zu closed, %zu hung, %zu wrong): %s", r.done, n,
		      r.closed, r.hung, r.wrong, lh_pool_state(&d));
	ck_assert_int_eq(lh_stat(&d, "tcp_closed_stuck"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

static void frames_at_cap(const char *backend)
{
	frames_all_echoed(backend, 24, "1M");
}

static void frames_at_defaults(const char *backend)
{
	frames_all_echoed(backend, 1500, "64M");
}

/* More frames in progress than the pool has first buffers for: frames in
 * progress get memory before new reads, so each one finishes in turn,
 * none is closed, and larsd serves afterwards.  `first` bytes of each
 * frame come before the pause. */
static void frames_starved_first(const char *backend, size_t first)
{
	const size_t n = 100;
	struct lh_daemon d;

	contract_init(&d, backend, 1, "1M");
	size_t l = add_listener(&d, "lars");
	lh_start_ok(&d);
	struct frames_result r = frames_run(&d, l, n, first, 20000);
	printf("# %s: %zu echoed, %zu closed, %zu hung (tcp_stalled_nomem=%lld)\n", backend,
	       r.done, r.closed, r.hung, lh_stat(&d, "tcp_stalled_nomem"));
	ck_assert_msg(r.done == n && r.wrong == 0,
		      "%zu of %zu frames echoed (%zu closed, %zu hung, %zu wrong): %s", r.done, n,
		      r.closed, r.hung, r.wrong, lh_pool_state(&d));
	ck_assert_msg(lh_stat(&d, "tcp_stalled_nomem") > 0, "the pool never ran short");
	int fd = lh_tcp_connect_listener(&d.ls[l]);
	unsigned char msg[64];
	size_t len = lh_lars_frame(msg, 7, "after", 5);
	ck_assert_msg(lh_tcp_roundtrip(fd, msg, len), "no reply after the frames");
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

static void frames_starved(const char *backend)
{
	frames_starved_first(backend, FRAME_FIRST);
}

/* The same when only the header and a little of each frame come first:
 * a short read, after which the frame must still ask for its whole buffer
 * at once, or every connection keeps a 16K part at the cap and none goes
 * on (the epoll path did, until idle_timeout). */
static void frames_header_first(const char *backend)
{
	frames_starved_first(backend, 8 + 100);
}

/* ---- pipelined frames of mixed sizes ------------------------------------------ */

struct pclient {
	int fd;
	unsigned char *stream;
	size_t len, out, in;
	bool failed;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Client i's stream: frames of 0 to 65000 bytes of body until `total`. */
static size_t make_stream(unsigned char **out, size_t i, size_t total)
{
	unsigned char *s = malloc(total + 8 + 65000);
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (i + 1);
	size_t len = 0;

	ck_assert_ptr_nonnull(s);
	for (int32_t id = 0; len < total; id++) {
		uint32_t body = (uint32_t)(xorshift(&seed) % 65001);
		lh_lars_header(s + len, id, (int32_t)body);
		lh_pattern(s + len + 8, body, (uint64_t)i << 32 | (uint32_t)id, 0);
		len += 8 + body;
	}
	*out = s;
	return len;
}

static void pipelined_mixed(const char *backend)
{
	enum { N = 60 };
	static unsigned char in[65536];
	struct pclient cl[N];
	struct pollfd p[N];
	struct lh_daemon d;

	contract_init(&d, backend, 1, "512K");
	size_t l = add_listener(&d, "lars");
	lh_start_ok(&d);
	for (size_t i = 0; i < N; i++) {
		cl[i] = (struct pclient){.fd = lh_tcp_connect_listener(&d.ls[l])};
		ck_assert_int_ge(cl[i].fd, 0);
		lh_nonblock(cl[i].fd);
		cl[i].len = make_stream(&cl[i].stream, i, 300000);
	}
	uint64_t end = lh_now_ms() + 60000;
	size_t finished = 0;
	while (finished < N && lh_now_ms() < end) {
		for (size_t i = 0; i < N; i++)
			p[i] = (struct pollfd){
				.fd = cl[i].in == cl[i].len || cl[i].failed ? -1 : cl[i].fd,
				.events = (short)(POLLIN | (cl[i].out < cl[i].len ? POLLOUT : 0)),
			};
		if (poll(p, N, 200) <= 0)
			continue;
		for (size_t i = 0; i < N; i++) {
			struct pclient *c = &cl[i];
			if ((p[i].revents & POLLOUT) && c->out < c->len) {
				ssize_t k = send(c->fd, c->stream + c->out, c->len - c->out,
						 MSG_NOSIGNAL | MSG_DONTWAIT);
				if (k > 0)
					c->out += (size_t)k;
			}
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = recv(c->fd, in, sizeof(in), MSG_DONTWAIT);
			if (k <= 0) {
				if (k == 0 || (errno != EAGAIN && errno != EINTR))
					c->failed = true;
			} else if (c->in + (size_t)k > c->len ||
				   memcmp(in, c->stream + c->in, (size_t)k) != 0) {
				c->failed = true;
			} else {
				c->in += (size_t)k;
			}
			if (c->failed || c->in == c->len)
				finished++;
		}
	}
	size_t exact = 0;
	for (size_t i = 0; i < N; i++) {
		exact += cl[i].in == cl[i].len && !cl[i].failed;
		close(cl[i].fd);
		free(cl[i].stream);
	}
	ck_assert_msg(exact == N, "%zu of %d clients got their stream back byte for byte: %s",
		      exact, N, lh_pool_state(&d));
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

/* ---- clients that never read -------------------------------------------------- */

static size_t push_all(const int *fds, size_t n, size_t cap)
{
	static char chunk[65536];
	memset(chunk, 'h', sizeof(chunk));
	return lh_push_until_stalled(fds, n, chunk, sizeof(chunk), cap, 600, 8000);
}

/* Start d, then connect n clients that will never read, with socket
 * buffers of buf bytes on both sides (0: the kernel's; larsd's accepted
 * sockets inherit the listener's, as with a socket unit's SendBuffer=). */
static void start_with_hogs(struct lh_daemon *d, size_t l, int *fds, size_t n, int buf)
{
	if (buf > 0) {
		ck_assert_int_eq(setsockopt(d->ls[l].fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)), 0);
		ck_assert_int_eq(setsockopt(d->ls[l].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)), 0);
	}
	lh_start_ok(d);
	for (size_t i = 0; i < n; i++) {
		fds[i] = lh_tcp_connect_nb("127.0.0.1", d->ls[l].port, buf);
		ck_assert_int_ge(fds[i], 0);
	}
}

/* n clients send and never read, with socket buffers of buf bytes.  Pool
 * bytes per client, less the ring. */
static long per_client(const char *backend, size_t n, int buf)
{
	struct lh_daemon d;
	int *fds = calloc(n, sizeof(*fds));

	ck_assert_ptr_nonnull(fds);
	contract_init(&d, backend, 1, "16M");
	size_t l = add_listener(&d, "echo");
	start_with_hogs(&d, l, fds, n, buf);
	size_t pushed = push_all(fds, n, (size_t)64 << 20);
	/* Each figure is a sample of its own: the ring may have been filled
	 * between them, so take the larger of its sizes around in_use. */
	long long ring = lh_stat(&d, "pool_bytes_ring");
	long long in_use = lh_stat(&d, "pool_bytes_in_use");
	long long ring_after = lh_stat(&d, "pool_bytes_ring");
	if (ring_after > ring)
		ring = ring_after;
	long long conns = lh_stat(&d, "connections");
	printf("# %s, %zu clients, buffers %d: pushed %zu, in use %lld, ring %lld\n", backend, n,
	       buf, pushed, in_use, ring);
	ck_assert_int_eq(conns, (long long)n);
	ck_assert(in_use >= 0 && ring >= 0);
	/* The ring gives back what no receive waits for (point 5). */
	ck_assert_msg(stat_settles(&d, "pool_bytes_ring", 4 * 16 * KIB, 2500) <= 4 * 16 * KIB,
		      "the ring kept its buffers: %s", lh_pool_state(&d));
	int late = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_msg(lh_tcp_roundtrip(late, "late", 4), "a reading client was not served");
	close(late);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	lh_stop_ok(&d);
	lh_cleanup(&d);
	return (long)((in_use - ring) / (long long)n);
}

static void never_reading(const char *backend)
{
	long each = per_client(backend, 40, 8192);
	ck_assert_msg(each <= 16 * KIB, "a never-reading client costs %ld bytes of pool, not 16 KiB",
		      each);
	each = per_client(backend, 10, 0);
	ck_assert_msg(each <= 256 * KIB,
		      "with the kernel's buffers a never-reading client costs %ld bytes, over 256 KiB",
		      each);
}

/* 64 never-reading clients with 8K socket buffers hold one 16K buffer
 * each: a 1M pool, full.  Ten new clients, one after the other, are each
 * served, and all of it costs one eviction (the client stuck longest):
 * the evicted buffer is usable at once, and comes back after each reply. */
static void evictions(const char *backend)
{
	enum { HOGS = 64, NEW = 10 };
	struct lh_daemon d;
	int hogs[HOGS];

	contract_init(&d, backend, 1, "1M");
	size_t l = add_listener(&d, "echo");
	start_with_hogs(&d, l, hogs, HOGS, 8192);
	push_all(hogs, HOGS, (size_t)8 << 20);
	/* The ring gives back what no receive waits for: the hogs hold all. */
	stat_settles(&d, "pool_bytes_ring", 0, 2500);
	long long in_use = lh_stat(&d, "pool_bytes_in_use");
	ck_assert_msg(in_use == 1024 * KIB, "the hogs do not hold the pool: %s", lh_pool_state(&d));
	lh_sleep_ms(TCP_EVICT_WAIT_MS);
	for (int i = 0; i < NEW; i++) {
		int fd = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(lh_tcp_roundtrip(fd, "new client", 10), "new client %d not served: %s",
			      i, lh_pool_state(&d));
		close(fd);
	}
	long long evicted = lh_stat(&d, "tcp_closed_stuck");
	ck_assert_msg(evicted == 1, "%lld never-reading clients evicted for %d new ones: %s",
		      evicted, NEW, lh_pool_state(&d));
	for (size_t i = 0; i < HOGS; i++)
		close(hogs[i]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

/* ---- memory comes back ------------------------------------------------------- */

/* n connections, each echoes 16K once. */
static void open_and_echo(struct lh_daemon *d, size_t l, int *fds, size_t n)
{
	static char msg[16384], back[16384];
	memset(msg, 'b', sizeof(msg));
	for (size_t i = 0; i < n; i++) {
		fds[i] = lh_tcp_connect_listener(&d->ls[l]);
		ck_assert_int_ge(fds[i], 0);
	}
	for (size_t i = 0; i < n; i++)
		ck_assert(lh_send_all(fds[i], msg, sizeof(msg)));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(lh_recv_exact(fds[i], back, sizeof(back), 5000) == sizeof(back),
			      "connection %zu got no echo", i);
}

/* A one-worker larsd at 64M, and n connections that each echoed 16K. */
static void start_echoed(struct lh_daemon *d, const char *backend, int *fds, size_t n)
{
	want_fds(n);
	contract_init(d, backend, 1, "64M");
	size_t l = add_listener(d, "echo");
	lh_start_ok(d);
	open_and_echo(d, l, fds, n);
}

static void burst_returns(const char *backend)
{
	enum { N = 600 };
	struct lh_daemon d;
	int fds[N];

	start_echoed(&d, backend, fds, N);
	for (size_t i = 0; i < N; i++)
		close(fds[i]);
	long long in_use = stat_settles(&d, "pool_bytes_in_use", 0, 2500);
	ck_assert_msg(in_use == 0, "%lld bytes still in use 2.5 s after the burst: %s", in_use,
		      lh_pool_state(&d));
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

static void reload_lowers(const char *backend)
{
	enum { N = 600 };
	struct lh_daemon d;
	int fds[N];

	start_echoed(&d, backend, fds, N);
	snprintf(d.bufpool, sizeof(d.bufpool),
		 "mem_limit = \"2M\"; prealloc = { tier_4K = 0; tier_16K = 0; tier_64K = 0; };");
	lh_write_conf(&d);
	size_t from = lh_note_count(&d);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(lh_wait_note(&d, "READY=1", from, 3000) >= 0, "the reload did not end");
	long long owned = stat_settles(&d, "pool_bytes_owned", 2048 * KIB, 2500);
	ck_assert_msg(owned <= 2048 * KIB, "the pool owns %lld bytes after the reload to 2M: %s",
		      owned, lh_pool_state(&d));
	for (size_t i = 0; i < N; i++)
		close(fds[i]);
	owned = stat_settles(&d, "pool_bytes_owned", 2048 * KIB, 2500);
	ck_assert_msg(owned <= 2048 * KIB, "the pool owns %lld bytes once all closed: %s", owned,
		      lh_pool_state(&d));
	ck_assert_int_eq(stat_settles(&d, "pool_bytes_in_use", 0, 2500), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

/* ---- accepting, and bad frames ------------------------------------------------- */

static void accept_wakeups(const char *backend)
{
	enum { N = 300 };
	struct lh_daemon d;

	contract_init(&d, backend, 2, "8M");
	size_t l = add_listener(&d, "echo");
	lh_start_ok(&d);
	for (int i = 0; i < N; i++) {
		int fd = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fd, 0);
		lh_sleep_ms(3);
		close(fd);
	}
	stat_settles(&d, "connections", 0, 2000);
	long long accepted = lh_stat(&d, "tcp_accepted");
	long long empty = lh_stat(&d, "tcp_accept_empty");
	printf("# %s: %lld accepted, %lld wake-ups found nothing\n", backend, accepted, empty);
	ck_assert_int_eq(accepted, N);
	/* io_uring's exclusive poll wakes one ring; epoll's EPOLLEXCLUSIVE
	 * wakes a second worker when the first is busy, not asleep in
	 * epoll_wait() (measured here: 4 to 35 % of accepts). */
	ck_assert_msg(empty >= 0 && empty <= N / 2, "%lld of %d accepts woke a worker for nothing",
		      empty, N);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

static void oversize(const char *backend)
{
	unsigned char msg[64], back[64], hdr[8 + 16];
	struct lh_daemon d;

	contract_init(&d, backend, 1, "8M");
	size_t l = add_listener(&d, "lars");
	lh_start_ok(&d);
	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	size_t len = lh_lars_frame(msg, 1, "before", 6);
	lh_lars_header(hdr, 2, 65528); /* max_message is 65527 */
	memset(hdr + 8, 'x', 16);
	ck_assert(lh_send_all(fd, msg, len));
	ck_assert(lh_send_all(fd, hdr, sizeof(hdr)));
	ck_assert_msg(lh_recv_exact(fd, back, len, 3000) == len && memcmp(back, msg, len) == 0,
		      "the frame before the oversize one was not echoed");
	ssize_t r;
	while ((r = recv(fd, back, sizeof(back), 0)) < 0 && errno == EINTR)
		;
	ck_assert_msg(r < 0 && errno == ECONNRESET, "not reset after the oversize frame (%zd, %s)",
		      r, r < 0 ? strerror(errno) : "EOF");
	close(fd);
	ck_assert_int_eq(lh_stat(&d, "tcp_closed_oversize"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}

/* ---- io_uring alone: its rings cannot be made ---------------------------------- */

START_TEST(test_ring_fails_at_start)
{
	struct lh_daemon d;

	if (!io_uring_here()) {
		printf("# io_uring cannot run here: nothing to fail\n");
		return;
	}
	/* "auto": one notice with the reason, then epoll, serving. */
	contract_init(&d, "auto", 2, "8M");
	d.deny_io_uring_above = 8;
	size_t l = add_listener(&d, "echo");
	lh_start_ok(&d);
	ck_assert_msg(lh_wait_stderr(&d, "2 workers on epoll", 2000), "not on epoll");
	ck_assert_int_eq(lh_stderr_count(&d, "<5>io_backend \"auto\": using epoll, as io_uring "
					     "cannot run here: io_uring_setup: Cannot allocate "
					     "memory"),
			 1);
	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert(lh_tcp_roundtrip(fd, "on epoll", 8));
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);

	/* "io_uring": exit 1, one line, nothing bound. */
	contract_init(&d, "io_uring", 2, "8M");
	d.deny_io_uring_above = 8;
	size_t t = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	ck_assert_msg(!lh_start(&d), "started without its rings");
	ck_assert_int_eq(lh_wait_exit(&d, 2000), 1);
	char *err = lh_read_file(d.err_path);
	ck_assert_msg(strstr(err, "<3>io_backend \"io_uring\" cannot run here: io_uring_setup: "
				  "Cannot allocate memory") && strchr(err, '\n') == strrchr(err, '\n'),
		      "stderr: %s", err);
	free(err);
	fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, NULL);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "the port is served after the refusal");
	lh_cleanup(&d);
}
END_TEST

/* ---- io_uring alone: the kernel refuses requests --------------------------------- */

/* tests/harness/fault_uring.c, preloaded into larsd: while a file named
 * for a fault exists in the daemon's own directory, liburing refuses
 * (submits with EAGAIN, the buffer ring's registration with ENOMEM), and
 * counts what it refused there. */
#ifndef FAULT_URING_PATH
#define FAULT_URING_PATH ""
#endif

struct fault_env {
	char preload[2 * PATH_MAX + 16];
	char dir[PATH_MAX + 32];
};

/* Can larsd be made to meet refusals here?  If not, say why. */
static bool faults_here(void)
{
	if (!io_uring_here()) {
		printf("# io_uring cannot run here: nothing to refuse\n");
		return false;
	}
	if (access(FAULT_URING_PATH, R_OK) != 0) {
		printf("# no fault shim at \"%s\": nothing to refuse with\n", FAULT_URING_PATH);
		return false;
	}
	return true;
}

/* A one-worker io_uring larsd at mem_limit, with the shim preloaded and
 * `more` lines of settings. */
static void fault_init(struct lh_daemon *d, struct fault_env *e, const char *mem_limit,
		       const char *more)
{
	contract_init(d, "io_uring", 1, mem_limit);
	size_t len = strlen(d->settings);
	snprintf(d->settings + len, sizeof(d->settings) - len, "%s", more);
	/* After what the run preloads already (a sanitizer's runtime). */
	const char *before = getenv("LD_PRELOAD");
	snprintf(e->preload, sizeof(e->preload), "LD_PRELOAD=%s%s%s", before ? before : "",
		 before && *before ? ":" : "", FAULT_URING_PATH);
	snprintf(e->dir, sizeof(e->dir), "LARS_FAULT_DIR=%s", d->dir);
	d->env[0] = e->preload;
	d->env[1] = e->dir;
}

/* Fault ("submit", "register") on or off. */
static void fault_set(struct lh_daemon *d, const char *fault, bool on)
{
	char path[sizeof(d->dir) + 32];

	snprintf(path, sizeof(path), "%s/%s", d->dir, fault);
	if (on)
		lh_write_file(path, "");
	else
		ck_assert_int_eq(unlink(path), 0);
}

/* How many times the shim refused so far. */
static long fault_refused(struct lh_daemon *d, const char *fault)
{
	char path[sizeof(d->dir) + 32];

	snprintf(path, sizeof(path), "%s/%s.refused", d->dir, fault);
	char *text = lh_read_file(path);
	long n = strtol(text, NULL, 10);
	free(text);
	return n;
}

static void fault_cleanup(struct lh_daemon *d)
{
	static const char *const files[] = {"submit", "register", "submit.refused",
					    "register.refused"};
	char path[sizeof(d->dir) + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->dir, files[i]);
		unlink(path);
	}
	lh_cleanup(d);
}

/* User and system CPU time of process pid, all its threads, in seconds;
 * -1 if unknown. */
static double cpu_seconds(pid_t pid)
{
	char path[64];
	unsigned long long user, sys;
	double s = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	char *stat = lh_read_file(path);
	const char *p = strrchr(stat, ')'); /* after the command, which may hold anything */
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user,
			&sys) == 2)
		s = (double)(user + sys) / (double)sysconf(_SC_CLK_TCK);
	free(stat);
	return s;
}

/* What larsd wrote to stderr since byte `from` (caller frees), and how
 * many lines that is. */
static char *stderr_since(struct lh_daemon *d, size_t from, size_t *lines)
{
	char *all = lh_read_file(d->err_path);
	size_t len = strlen(all);
	char *text = strdup(from < len ? all + from : "");

	free(all);
	ck_assert_ptr_nonnull(text);
	*lines = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		(*lines)++;
	return text;
}

/* The first `max` lines of text, as TAP comments. */
static void print_lines(const char *text, int max)
{
	for (int i = 0; i < max && *text; i++) {
		int len = (int)strcspn(text, "\n");
		printf("#   %.*s\n", len, text);
		text += len + (text[len] == '\n');
	}
}

static size_t stderr_size(struct lh_daemon *d)
{
	char *all = lh_read_file(d->err_path);
	size_t len = strlen(all);

	free(all);
	return len;
}

/* Connect and echo a little: a client larsd serves. */
static int served_client(struct lh_daemon *d, size_t l)
{
	int fd = lh_tcp_connect_listener(&d->ls[l]);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_msg(lh_tcp_roundtrip(fd, "hello", 5), "no echo before the fault");
	return fd;
}

/* Client i's message, of len bytes, seed apart from every other's. */
static void message_of(unsigned char *msg, size_t len, uint64_t seed)
{
	lh_pattern(msg, len, 0x5eed0000u + seed, 0);
}

/* The kernel refuses every request for 1.5 s while 200 connections send
 * (their echoes, a send and a receive beside each, more than the SQ's 256
 * entries: some wait in the SQ, the others for room in it) and 20 of them
 * close, half with a reset.  larsd waits rather than spins, says so once,
 * then echoes every byte to the clients still there; new connections,
 * which take the closed ones' numbers, echo intact; no memory is left
 * behind. */
START_TEST(test_submit_refused)
{
	enum { N = 200, QUIT = 20, MSG = 1000, REFUSED_MS = 1500 };
	static unsigned char msg[MSG], back[MSG];
	struct lh_daemon d;
	struct fault_env e;
	int fds[N];

	if (!faults_here())
		return;
	want_fds(N);
	fault_init(&d, &e, "64M", "");
	size_t l = add_listener(&d, "echo");
	lh_start_ok(&d);
	for (size_t i = 0; i < N; i++)
		fds[i] = served_client(&d, l);
	size_t err_from = stderr_size(&d);

	fault_set(&d, "submit", true);
	uint64_t t0 = lh_now_ms();
	double cpu0 = cpu_seconds(d.pid);
	for (size_t i = 0; i < N; i++) {
		message_of(msg, MSG, i);
		ck_assert(lh_send_all(fds[i], msg, MSG));
	}
	lh_sleep_ms(100);
	for (size_t i = N - QUIT; i < N; i++) {
		struct linger reset = {.l_onoff = 1, .l_linger = 0};
		if (i % 2)
			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(fds[i]);
		fds[i] = -1;
	}
	bool quiet = lh_quiet(fds[0], 300);
	uint64_t now = lh_now_ms();
	if (now < t0 + REFUSED_MS)
		lh_sleep_ms((unsigned)(t0 + REFUSED_MS - now));
	double cpu = cpu_seconds(d.pid) - cpu0;
	size_t lines;
	char *said = stderr_since(&d, err_from, &lines);
	fault_set(&d, "submit", false);

	long refused = fault_refused(&d, "submit");
	printf("# %.2f s of CPU in %d ms of refused requests (%ld submits refused), %zu lines "
	       "on stderr\n",
	       cpu, REFUSED_MS, refused, lines);
	print_lines(said, 3);
	ck_assert_msg(refused > 0, "the shim refused nothing: not preloaded?");
	ck_assert_msg(quiet, "an echo came while the kernel refused requests");
	ck_assert_msg(cpu >= 0 && cpu < 0.3,
		      "larsd used %.2f s of CPU in %d ms of refused requests: it spins", cpu,
		      REFUSED_MS);
	ck_assert_msg(lines <= 2, "%zu lines on stderr in %d ms of refused requests", lines,
		      REFUSED_MS);
	/* A refused request is not a memory shortage: nothing waits behind
	 * it as if the pool were full. */
	ck_assert_msg(!strstr(said, "MEM_LIMIT"), "a refusal taken for MEM_LIMIT: %s", said);
	ck_assert_int_eq(lh_stat(&d, "tcp_stalled_nomem"), 0);
	free(said);

	size_t echoed = 0;
	for (size_t i = 0; i < N - QUIT; i++) {
		message_of(msg, MSG, i);
		echoed += lh_recv_exact(fds[i], back, MSG, 5000) == MSG &&
			  memcmp(back, msg, MSG) == 0 && lh_quiet(fds[i], 0);
	}
	ck_assert_msg(echoed == N - QUIT, "%zu of %d echoes came whole after the refusal: %s",
		      echoed, N - QUIT, lh_pool_state(&d));
	/* The closed ones' numbers go to new connections: none gets a byte
	 * of theirs. */
	stat_settles(&d, "connections", N - QUIT, 2000);
	for (size_t i = N - QUIT; i < N; i++) {
		fds[i] = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fds[i], 0);
		message_of(msg, MSG, 1000 + i);
		ck_assert_msg(lh_tcp_roundtrip(fds[i], msg, MSG) && lh_quiet(fds[i], 50),
			      "a new connection after the refusal was not echoed intact");
	}
	for (size_t i = 0; i < N; i++)
		close(fds[i]);
	long long in_use = stat_settles(&d, "pool_bytes_in_use", 0, 2500);
	ck_assert_msg(in_use == 0, "%lld bytes in use once all closed: %s", in_use,
		      lh_pool_state(&d));
	lh_stop_ok(&d);
	fault_cleanup(&d);
}
END_TEST

/* larsd closes connections (idle_timeout) whose echo the kernel refused,
 * and new connections, accepted while it still refuses, take their
 * numbers: the old requests, made no-ops, never reach the new sockets.
 * Each new client, once the kernel takes requests again, gets exactly its
 * own bytes back. */
START_TEST(test_submit_refused_closed)
{
	enum { N = 8, MSG = 1000 };
	static unsigned char msg[MSG], back[MSG];
	struct lh_daemon d;
	struct fault_env e;
	int old[N], fresh[N];

	if (!faults_here())
		return;
	fault_init(&d, &e, "8M", "  idle_timeout = 1;\n");
	size_t l = add_listener(&d, "echo");
	lh_start_ok(&d);
	for (size_t i = 0; i < N; i++)
		old[i] = served_client(&d, l);

	fault_set(&d, "submit", true);
	for (size_t i = 0; i < N; i++) {
		message_of(msg, MSG, i);
		ck_assert(lh_send_all(old[i], msg, MSG));
	}
	/* Closed within two idle checks, their echo still queued. */
	for (size_t i = 0; i < N; i++) {
		int closed = lh_wait_closed(old[i], 3000);
		ck_assert_msg(closed == 1, "connection %zu, idle while refused: %s", i,
			      closed == 0 ? "not closed in 3 s" : "echoed");
	}
	for (size_t i = 0; i < N; i++) {
		fresh[i] = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fresh[i], 0);
	}
	lh_sleep_ms(200); /* accepted meanwhile: their receives queue behind the old requests */
	fault_set(&d, "submit", false);
	ck_assert_msg(fault_refused(&d, "submit") > 0, "the shim refused nothing: not preloaded?");

	size_t intact = 0;
	for (size_t i = 0; i < N; i++) {
		message_of(msg, MSG, 100 + i);
		intact += lh_send_all(fresh[i], msg, MSG) &&
			  lh_recv_exact(fresh[i], back, MSG, 3000) == MSG &&
			  memcmp(back, msg, MSG) == 0 && lh_quiet(fresh[i], 50);
	}
	ck_assert_msg(intact == N,
		      "%zu of %d connections made while refused got exactly their own echo: %s",
		      intact, N, lh_pool_state(&d));
	ck_assert_int_eq(lh_stat(&d, "tcp_closed_idle"), N);
	for (size_t i = 0; i < N; i++) {
		close(old[i]);
		close(fresh[i]);
	}
	ck_assert_int_eq(stat_settles(&d, "pool_bytes_in_use", 0, 2500), 0);
	lh_stop_ok(&d);
	fault_cleanup(&d);
}
END_TEST

/* 100 clients echo in bursts: each turn, receives take many of the ring's
 * buffers at once. */
static void bursts(int *fds, size_t n, int rounds)
{
	unsigned char msg[100], back[100];

	memset(msg, 'y', sizeof(msg));
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			ck_assert(lh_send_all(fds[i], msg, sizeof(msg)));
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(lh_recv_exact(fds[i], back, sizeof(back), 3000) == sizeof(back),
				      "client %zu got no echo in a burst", i);
	}
}

/* The buffer ring cannot be registered again after a trim (the shim's
 * "register": ENOMEM): the trim that shrinks the ring after a burst gives
 * all its buffers back, and while the refusals last it holds none, even
 * under load (the receives take buffers of their own); once the kernel
 * takes it again, the ring comes back, and goes once the clients do. */
START_TEST(test_ring_reregister_refused)
{
	enum { N = 100 };
	struct lh_daemon d;
	struct fault_env e;
	int fds[N];

	if (!faults_here())
		return;
	fault_init(&d, &e, "64M", "");
	size_t l = add_listener(&d, "echo");
	lh_start_ok(&d);
	for (size_t i = 0; i < N; i++)
		fds[i] = served_client(&d, l);
	bursts(fds, N, 10);
	long long ring = lh_stat(&d, "pool_bytes_ring");
	ck_assert_msg(ring > 4 * 16 * KIB, "the ring did not grow in the bursts: %s",
		      lh_pool_state(&d));

	fault_set(&d, "register", true);
	/* Idle now, the ring shrinks at a trim, and cannot be registered
	 * again.  The trims come once a second, and the one that shrinks it
	 * is the third after the bursts (the need is the most of the last two
	 * seconds): wait up to 10 s, for a loaded machine. */
	for (uint64_t end = lh_now_ms() + 10000;
	     fault_refused(&d, "register") == 0 && lh_now_ms() < end;)
		lh_sleep_ms(20);
	ck_assert_msg(fault_refused(&d, "register") > 0,
		      "no trim registered the ring again in 10 s: %s", lh_pool_state(&d));
	ring = stat_settles(&d, "pool_bytes_ring", 0, 1000); /* the rest of that trim */
	ck_assert_msg(ring == 0, "%lld bytes in the ring after it could not be registered", ring);
	/* Under load, across trims: still nothing in it, and every echo comes. */
	for (uint64_t t0 = lh_now_ms(), end = t0 + 5000;
	     lh_now_ms() < end && (lh_now_ms() < t0 + 1500 || fault_refused(&d, "register") < 2);) {
		bursts(fds, N, 2);
		ring = lh_stat(&d, "pool_bytes_ring");
		ck_assert_msg(ring == 0, "%lld bytes in the unregistered ring under load: %s", ring,
			      lh_pool_state(&d));
	}
	long refused = fault_refused(&d, "register");
	printf("# the buffer ring's registration refused %ld times\n", refused);
	ck_assert_msg(refused >= 2, "one trim tried to register the ring, not each");
	ck_assert_int_eq(lh_stderr_count(&d, "cannot register the receive buffer ring again"), 1);

	fault_set(&d, "register", false);
	ring = 0;
	for (uint64_t end = lh_now_ms() + 2500; ring == 0 && lh_now_ms() < end;) {
		bursts(fds, N, 1);
		ring = lh_stat(&d, "pool_bytes_ring");
	}
	ck_assert_msg(ring > 0, "the ring holds nothing once it can be registered again: %s",
		      lh_pool_state(&d));
	for (size_t i = 0; i < N; i++)
		close(fds[i]);
	ring = stat_settles(&d, "pool_bytes_ring", 0, 3000);
	ck_assert_msg(ring == 0, "the ring kept %lld bytes once the clients left: %s", ring,
		      lh_pool_state(&d));
	ck_assert_int_eq(stat_settles(&d, "pool_bytes_in_use", 0, 2500), 0);
	lh_stop_ok(&d);
	fault_cleanup(&d);
}
END_TEST

/* ---- the suite: each scenario on each backend ---------------------------------- */

#define ON_EACH_BACKEND(name)                        \
	START_TEST(test_##name##_epoll)              \
	{                                            \
		name("epoll");                       \
	}                                            \
	END_TEST                                     \
	START_TEST(test_##name##_io_uring)           \
	{                                            \
		name("io_uring");                    \
	}                                            \
	END_TEST

ON_EACH_BACKEND(frames_at_cap)
ON_EACH_BACKEND(frames_at_defaults)
ON_EACH_BACKEND(frames_starved)
ON_EACH_BACKEND(frames_header_first)
ON_EACH_BACKEND(pipelined_mixed)
ON_EACH_BACKEND(never_reading)
ON_EACH_BACKEND(evictions)
ON_EACH_BACKEND(burst_returns)
ON_EACH_BACKEND(reload_lowers)
ON_EACH_BACKEND(accept_wakeups)
ON_EACH_BACKEND(oversize)

#define ADD_ON_EACH(s, name, timeout)                                          \
	do {                                                                   \
		testutil_add(s, #name "_epoll", test_##name##_epoll, timeout);  \
		testutil_add(s, #name "_io_uring", test_##name##_io_uring, timeout); \
	} while (0)

static Suite *contract_suite(void)
{
	Suite *s = suite_create("contract");

	ADD_ON_EACH(s, frames_at_cap, 30);
	ADD_ON_EACH(s, frames_at_defaults, 60);
	ADD_ON_EACH(s, frames_starved, 40);
	ADD_ON_EACH(s, frames_header_first, 40);
	ADD_ON_EACH(s, pipelined_mixed, 70);
	ADD_ON_EACH(s, never_reading, 40);
	ADD_ON_EACH(s, evictions, 40);
	ADD_ON_EACH(s, burst_returns, 30);
	ADD_ON_EACH(s, reload_lowers, 30);
	ADD_ON_EACH(s, accept_wakeups, 20);
	ADD_ON_EACH(s, oversize, 10);
	testutil_add(s, "ring_fails_at_start", test_ring_fails_at_start, 15);
	testutil_add(s, "submit_refused", test_submit_refused, 20);
	testutil_add(s, "submit_refused_closed", test_submit_refused_closed, 20);
	testutil_add(s, "ring_reregister_refused", test_ring_reregister_refused, 40);
	return s;
}

int main(void)
{
	return testutil_main(contract_suite(), &lh_testutil_run);
}
