/*
 * st_memory.c - memory under attack: 1000 TCP clients that send and never
 * read, and a UDP flood from many source ports.
 *
 * Both run with mem_limit = "8M" and sample larsd's VmRSS every 20 ms.
 * The bound checked is: peak VmRSS <= idle VmRSS + MEM_LIMIT +
 * RSS_OVERHEAD_KIB, where "idle" is measured after one echo has warmed
 * the daemon up, and the overhead covers what is not buffer memory (one
 * struct conn per connection, malloc's per-thread arenas, stacks).
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MEM_LIMIT_KIB 8192L
#define RSS_OVERHEAD_KIB 4096L

/* ---- a well-behaved client measuring its latency ---------------------- */

struct prober {
	const struct lh_listen *l;
	atomic_bool stop;
	pthread_t thread;
	uint64_t *lat_us;   /* one per echo that came back */
	size_t n_lat, cap;
	size_t sent, ok, wrong, late; /* late: not back within LATE_MS */
	uint64_t first_late_at_ms;    /* when the first late one was sent */
};

#define PROBE_LATE_MS 2000
#define PROBE_SIZE 64

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	unsigned char msg[PROBE_SIZE], back[PROBE_SIZE];
	uint64_t off = 0;

	int fd = lh_tcp_connect(p->l->address, p->l->port, NULL);
	if (fd < 0) {
		p->late++;
		return NULL;
	}
	while (!atomic_load(&p->stop)) {
		lh_pattern(msg, sizeof(msg), 77, off);
		uint64_t t0 = st_now_us();
		p->sent++;
		if (!lh_send_all(fd, msg, sizeof(msg))) {
			p->late++;
			break;
		}
		size_t got = lh_recv_exact(fd, back, sizeof(back), PROBE_LATE_MS);
		if (got != sizeof(back)) {
			p->late++;
			p->first_late_at_ms = t0 / 1000;
			break; /* the stream is out of step now */
		}
		uint64_t us = st_now_us() - t0;
		if (memcmp(msg, back, sizeof(msg)) != 0)
			p->wrong++;
		else
			p->ok++;
		if (p->n_lat < p->cap)
			p->lat_us[p->n_lat++] = us;
		off += sizeof(msg);
		lh_sleep_ms(1);
	}
	close(fd);
	return NULL;
}

static void prober_start(struct prober *p, const struct lh_listen *l)
{
	memset(p, 0, sizeof(*p));
	p->l = l;
	p->cap = 200000;
	p->lat_us = malloc(p->cap * sizeof(*p->lat_us));
	ck_assert_ptr_nonnull(p->lat_us);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, prober_main, p), 0);
}

static void prober_stop(struct prober *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
}

/* ---- 1000 clients that send and never read ------------------------------ */

#define HOGS 1000
#define HOG_SOCKBUF 4096   /* the hogs' own kernel buffers */
#define DAEMON_SOCKBUF 16384 /* larsd's side (the kernel doubles both) */
#define HOG_PUSH_MS 10000  /* push for at most this long ... */
#define HOG_QUIET_MS 500   /* ... or until nothing moves for this long */
#define HOG_HOLD_MS 3000   /* then hold the pressure this long */

START_TEST(test_never_reading_1000)
{
	const char *sc = "never_reading";
	struct lh_daemon d;
	struct st_rss rss;
	struct prober pr;
	static int hogs[HOGS];
	static char chunk[65536];
	size_t n_hogs = 0, pushed = 0;

	long nofile = st_raise_nofile();
	ck_assert_msg(nofile >= HOGS + 200,
		      "RLIMIT_NOFILE is %ld: %d clients need %d descriptors (raise the hard limit)",
		      nofile, HOGS, HOGS + 200);
	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"8M\";");
	size_t e = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	st_backlog(&d, e);
	/* larsd's kernel buffers capped (accepted sockets inherit them), as
	 * ReceiveBuffer=/SendBuffer= in a socket unit would: with the kernel's
	 * defaults the clients park about 1 GB in socket buffers before larsd
	 * meets MEM_LIMIT.  larsd's own memory is what is measured. */
	int kbuf = DAEMON_SOCKBUF;
	ck_assert_int_eq(setsockopt(d.ls[e].fd, SOL_SOCKET, SO_SNDBUF, &kbuf, sizeof(kbuf)), 0);
	ck_assert_int_eq(setsockopt(d.ls[e].fd, SOL_SOCKET, SO_RCVBUF, &kbuf, sizeof(kbuf)), 0);
	lh_start_ok(&d);

	int warm = lh_tcp_connect_listener(&d.ls[e]);
	ck_assert(warm >= 0 && lh_tcp_roundtrip(warm, "warm", 4));
	close(warm);
	lh_sleep_ms(200);
	long rss_idle = lh_rss_kib(d.pid);
	ck_assert_int_gt(rss_idle, 0);
	st_rss_start(&rss, d.pid, 20);
	prober_start(&pr, &d.ls[e]);
	lh_sleep_ms(300);

	uint64_t t0 = lh_now_ms();
	for (; n_hogs < HOGS; n_hogs++) {
		hogs[n_hogs] = lh_tcp_connect_nb("127.0.0.1", d.ls[e].port, HOG_SOCKBUF);
		if (hogs[n_hogs] < 0)
			break;
	}
	uint64_t connect_ms = lh_now_ms() - t0;
	int connect_errno = n_hogs < HOGS ? errno : 0;

	memset(chunk, 'h', sizeof(chunk));
	pushed = lh_push_until_stalled(hogs, n_hogs, chunk, sizeof(chunk), SIZE_MAX, HOG_QUIET_MS,
				       HOG_PUSH_MS);
	uint64_t push_ms = lh_now_ms() - t0;
	long long cpu0 = st_cpu_ms(d.pid);
	lh_sleep_ms(HOG_HOLD_MS);
	long long cpu_hold = st_cpu_ms(d.pid) - cpu0;

	long long conns = st_stat(&d, "connections");
	long long owned = st_stat(&d, "pool_bytes_owned");
	long long limit = st_stat(&d, "mem_limit");
	long long stalled = st_stat(&d, "tcp_stalled_nomem");
	long long evicted = st_stat(&d, "tcp_closed_stuck");
	long long bytes_in = st_stat(&d, "bytes_in");
	long long bytes_out = st_stat(&d, "bytes_out");
	prober_stop(&pr);
	st_rss_stop(&rss);
	long rss_peak = atomic_load(&rss.peak_kib);
	uint64_t p50 = st_percentile(pr.lat_us, pr.n_lat, 50);
	uint64_t p99 = st_percentile(pr.lat_us, pr.n_lat, 99);
	uint64_t pmax = st_percentile(pr.lat_us, pr.n_lat, 100);

	st_figure(sc, "socket buffers: clients %d, larsd %d (SO_SNDBUF/SO_RCVBUF as set; the "
		  "kernel doubles them); idle_timeout=60 (default)", HOG_SOCKBUF, DAEMON_SOCKBUF);
	st_figure(sc, "clients=%zu connected_in_ms=%llu pushed_bytes=%zu push_ms=%llu "
		  "larsd_bytes_in=%lld larsd_bytes_out=%lld connections=%lld",
		  n_hogs, (unsigned long long)connect_ms, pushed, (unsigned long long)push_ms,
		  bytes_in, bytes_out, conns);
	st_figure(sc, "mem_limit=%lld pool_bytes_owned=%lld tcp_stalled_nomem=%lld "
		  "tcp_closed_stuck=%lld; larsd CPU while the clients held the pool: %lld ms in %d ms",
		  limit, owned, stalled, evicted, cpu_hold, HOG_HOLD_MS);
	st_figure(sc, "rss_idle_kib=%ld rss_peak_kib=%ld growth_kib=%ld bound_kib=%ld "
		  "(idle + MEM_LIMIT %ld + overhead %ld) samples=%lu",
		  rss_idle, rss_peak, rss_peak - rss_idle,
		  rss_idle + MEM_LIMIT_KIB + RSS_OVERHEAD_KIB, MEM_LIMIT_KIB, RSS_OVERHEAD_KIB,
		  (unsigned long)atomic_load(&rss.samples));
	st_figure(sc, "well-behaved client: echoes=%zu ok=%zu wrong=%zu late=%zu "
		  "p50_us=%llu p99_us=%llu max_us=%llu",
		  pr.sent, pr.ok, pr.wrong, pr.late, (unsigned long long)p50,
		  (unsigned long long)p99, (unsigned long long)pmax);

	for (size_t i = 0; i < n_hogs; i++)
		close(hogs[i]);
	int fd = -1;
	bool served = false;
	uint64_t t_left = lh_now_ms();
	for (uint64_t until = t_left + 3000; !served && lh_now_ms() < until;) {
		fd = lh_tcp_connect_listener(&d.ls[e]);
		served = fd >= 0 && lh_tcp_roundtrip(fd, "after", 5);
		if (fd >= 0)
			close(fd);
	}
	st_figure(sc, "after the clients left: a new client %s after %llu ms",
		  served ? "served" : "NOT served", (unsigned long long)(lh_now_ms() - t_left));

	struct st_verdict v = {"", 0};
	st_expect(&v, n_hogs == HOGS, "only %zu of %d clients connected: %s", n_hogs, HOGS,
		  strerror(connect_errno));
	st_expect(&v, lh_alive(&d), "larsd died under the never-reading clients");
	st_expect(&v, bytes_in >= 0 && (size_t)bytes_in < pushed && (stalled > 0 || conns <= HOGS),
		  "no back pressure: the clients pushed %zu bytes, larsd read %lld, "
		  "tcp_stalled_nomem=%lld, connections=%lld",
		  pushed, bytes_in, stalled, conns);
	st_expect(&v, owned <= limit, "pool owns %lld bytes, above MEM_LIMIT %lld", owned, limit);
	st_expect(&v, rss_peak <= rss_idle + MEM_LIMIT_KIB + RSS_OVERHEAD_KIB,
		  "VmRSS peaked at %ld KiB: idle %ld + MEM_LIMIT %ld + overhead %ld exceeded",
		  rss_peak, rss_idle, MEM_LIMIT_KIB, RSS_OVERHEAD_KIB);
	st_expect(&v, pr.wrong == 0, "the well-behaved client got %zu wrong echoes", pr.wrong);
	st_expect(&v, pr.late == 0 && pr.ok > 0,
		  "the well-behaved client starved: echo #%zu (of %zu) not back within %d ms "
		  "while %zu clients held the pool (pool_bytes_owned=%lld of %lld, "
		  "tcp_stalled_nomem=%lld)",
		  pr.ok + 1, pr.sent, PROBE_LATE_MS, n_hogs, owned, limit, stalled);
	st_expect(&v, evicted > 0,
		  "no stuck connection was closed at MEM_LIMIT (tcp_closed_stuck=%lld)", evicted);
	st_expect(&v, cpu_hold >= 0 && cpu_hold <= HOG_HOLD_MS / 2,
		  "larsd used %lld ms of CPU in %d ms while nothing could move "
		  "(tcp_stalled_nomem=%lld): it spins at MEM_LIMIT",
		  cpu_hold, HOG_HOLD_MS, stalled);
	st_expect(&v, served, "no echo after the clients left");
	st_verdict_assert(&v);
	free(pr.lat_us);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- a UDP flood from many source ports --------------------------------- */

#define FLOOD_THREADS 2
#define FLOOD_SOCKETS 32     /* per thread, each its own source port */
#define FLOOD_MS 5000
#define FLOOD_BATCH 16
#define RESUME_LIMIT_MS 200  /* "at once": first answer after the flood */

struct flooder {
	uint16_t port;
	unsigned seed;
	atomic_bool *stop;
	pthread_t thread;
	uint64_t sent, bytes, eagain;
	int fds[FLOOD_SOCKETS];
};

static void *flooder_main(void *arg)
{
	struct flooder *f = arg;
	static __thread unsigned char data[FLOOD_BATCH][1472];
	struct mmsghdr m[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	uint64_t rng = f->seed * 2654435761u + 1;

	for (int i = 0; i < FLOOD_BATCH; i++)
		lh_pattern(data[i], sizeof(data[i]), f->seed, (uint64_t)i * 1472);
	while (!atomic_load(f->stop)) {
		for (int s = 0; s < FLOOD_SOCKETS; s++) {
			memset(m, 0, sizeof(m));
			for (int i = 0; i < FLOOD_BATCH; i++) {
				iov[i].iov_base = data[i];
				iov[i].iov_len = 64 + (size_t)(st_rand(&rng) % (1472 - 64));
				m[i].msg_hdr.msg_iov = &iov[i];
				m[i].msg_hdr.msg_iovlen = 1;
			}
			int n = sendmmsg(f->fds[s], m, FLOOD_BATCH, MSG_DONTWAIT);
			if (n > 0) {
				f->sent += (uint64_t)n;
				for (int i = 0; i < n; i++)
					f->bytes += iov[i].iov_len;
			} else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
				f->eagain++;
			}
		}
	}
	return NULL;
}

struct udp_probe {
	int fd;
	uint64_t sent, answered;
};

/* One datagram, one answer within ms?  Stale answers are skipped. */
static bool probe_once(struct udp_probe *p, int ms)
{
	char msg[32], back[64];
	int len = snprintf(msg, sizeof(msg), "probe %llu", (unsigned long long)p->sent);
	uint64_t end = lh_now_ms() + (uint64_t)ms;

	p->sent++;
	if (send(p->fd, msg, (size_t)len, 0) != len)
		return false;
	while (lh_now_ms() < end) {
		struct pollfd pf = {p->fd, POLLIN, 0};
		if (poll(&pf, 1, (int)(end - lh_now_ms())) <= 0)
			continue;
		ssize_t n = recv(p->fd, back, sizeof(back), MSG_DONTWAIT);
		if (n == len && memcmp(back, msg, (size_t)len) == 0) {
			p->answered++;
			return true;
		}
	}
	return false;
}

START_TEST(test_udp_flood)
{
	const char *sc = "udp_flood";
	struct lh_daemon d;
	struct st_rss rss;
	struct flooder fl[FLOOD_THREADS];
	atomic_bool stop = false;
	struct udp_probe during = {-1, 0, 0}, after = {-1, 0, 0};

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"8M\";");
	size_t u = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	during.fd = lh_udp_socket("127.0.0.1", d.ls[u].port, NULL, 0);
	ck_assert_int_ge(during.fd, 0);
	ck_assert(probe_once(&during, 2000));
	lh_sleep_ms(200);
	long rss_idle = lh_rss_kib(d.pid);
	long long drops0 = st_udp_socket_drops(d.ls[u].port);
	ck_assert_msg(drops0 >= 0, "cannot find the UDP socket of port %u in /proc/net/udp",
		      (unsigned)d.ls[u].port);
	st_rss_start(&rss, d.pid, 20);

	for (int t = 0; t < FLOOD_THREADS; t++) {
		memset(&fl[t], 0, sizeof(fl[t]));
		fl[t].port = d.ls[u].port;
		fl[t].seed = (unsigned)t + 1;
		fl[t].stop = &stop;
		for (int s = 0; s < FLOOD_SOCKETS; s++) {
			fl[t].fds[s] = lh_udp_socket("127.0.0.1", d.ls[u].port, "127.0.0.1", 0);
			ck_assert_int_ge(fl[t].fds[s], 0);
		}
	}
	uint64_t t0 = lh_now_ms();
	for (int t = 0; t < FLOOD_THREADS; t++)
		ck_assert_int_eq(pthread_create(&fl[t].thread, NULL, flooder_main, &fl[t]), 0);
	while (lh_now_ms() - t0 < FLOOD_MS) {
		probe_once(&during, 100);
		lh_sleep_ms(20);
	}
	atomic_store(&stop, true);
	for (int t = 0; t < FLOOD_THREADS; t++)
		pthread_join(fl[t].thread, NULL);
	uint64_t t_stop = lh_now_ms();
	uint64_t flood_ms = t_stop - t0;

	/* Service after the flood: the first answer, then 200 in a row. */
	after.fd = lh_udp_socket("127.0.0.1", d.ls[u].port, NULL, 0);
	ck_assert_int_ge(after.fd, 0);
	bool resumed = false;
	while (!resumed && lh_now_ms() - t_stop < 3000)
		resumed = probe_once(&after, 50);
	uint64_t resume_ms = lh_now_ms() - t_stop;
	size_t in_a_row = 0;
	while (resumed && in_a_row < 200 && probe_once(&after, 500))
		in_a_row++;

	uint64_t sent = during.sent + after.sent; /* the warm-up probe is in during */
	uint64_t bytes = 0, eagain = 0;
	for (int t = 0; t < FLOOD_THREADS; t++) {
		sent += fl[t].sent;
		bytes += fl[t].bytes;
		eagain += fl[t].eagain;
	}
	/* Every datagram sent was either read by larsd or dropped by the
	 * kernel at larsd's socket, and each of those larsd counts. */
	long long replies = 0, nomem = 0, send_drops = 0, other = 0, drops = 0, received = 0;
	for (uint64_t until = lh_now_ms() + 2000;;) {
		replies = st_stat(&d, "udp_replies");
		nomem = st_stat(&d, "udp_dropped_nomem");
		send_drops = st_stat(&d, "udp_dropped_send");
		other = st_stat(&d, "udp_dropped_guard") + st_stat(&d, "udp_dropped_allow") +
			st_stat(&d, "udp_dropped_oversize") + st_stat(&d, "udp_dropped_malformed");
		drops = st_udp_socket_drops(d.ls[u].port) - drops0;
		received = replies + nomem + send_drops + other;
		if ((uint64_t)(received + drops) == sent || lh_now_ms() >= until)
			break;
		lh_sleep_ms(100);
	}
	long long owned = st_stat(&d, "pool_bytes_owned");
	long long limit = st_stat(&d, "mem_limit");
	st_rss_stop(&rss);
	long rss_peak = atomic_load(&rss.peak_kib);

	st_figure(sc, "sources=%d duration_ms=%llu datagrams_sent=%llu (%.0f/s, %.1f MB/s) "
		  "sender_eagain=%llu",
		  FLOOD_THREADS * FLOOD_SOCKETS, (unsigned long long)flood_ms,
		  (unsigned long long)sent, (double)sent * 1000.0 / (double)flood_ms,
		  (double)bytes / 1e6 * 1000.0 / (double)flood_ms, (unsigned long long)eagain);
	st_figure(sc, "larsd_read=%lld udp_replies=%lld udp_dropped_nomem=%lld "
		  "udp_dropped_send=%lld kernel_drops_at_socket=%lld (%.1f%%) unaccounted=%lld",
		  received, replies, nomem, send_drops, drops,
		  sent ? 100.0 * (double)drops / (double)sent : 0.0,
		  (long long)sent - received - drops);
	st_figure(sc, "rss_idle_kib=%ld rss_peak_kib=%ld bound_kib=%ld pool_bytes_owned=%lld "
		  "mem_limit=%lld",
		  rss_idle, rss_peak, rss_idle + MEM_LIMIT_KIB + RSS_OVERHEAD_KIB, owned, limit);
	st_figure(sc, "probes during flood answered=%llu/%llu; after: first answer %llu ms "
		  "after the flood stopped, then %zu/200 in a row",
		  (unsigned long long)during.answered - 1, (unsigned long long)during.sent - 1,
		  (unsigned long long)resume_ms, in_a_row);

	ck_assert_msg(lh_alive(&d), "larsd died in the UDP flood");
	ck_assert_msg(owned <= limit, "pool owns %lld bytes, above MEM_LIMIT %lld", owned, limit);
	ck_assert_msg(rss_peak <= rss_idle + MEM_LIMIT_KIB + RSS_OVERHEAD_KIB,
		      "VmRSS peaked at %ld KiB: idle %ld + MEM_LIMIT %ld + overhead %ld exceeded",
		      rss_peak, rss_idle, MEM_LIMIT_KIB, RSS_OVERHEAD_KIB);
	ck_assert_msg((uint64_t)(received + drops) == sent,
		      "%llu datagrams sent, but larsd counted %lld and the kernel dropped %lld",
		      (unsigned long long)sent, received, drops);
	ck_assert_msg(resumed && resume_ms <= RESUME_LIMIT_MS,
		      "service did not resume at once: first answer after %llu ms (limit %d)",
		      (unsigned long long)resume_ms, RESUME_LIMIT_MS);
	ck_assert_msg(in_a_row == 200, "after the flood only %zu of 200 probes were answered",
		      in_a_row);

	for (int t = 0; t < FLOOD_THREADS; t++)
		for (int s = 0; s < FLOOD_SOCKETS; s++)
			close(fl[t].fds[s]);
	close(during.fd);
	close(after.fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void stress_add_memory(Suite *s)
{
	testutil_add(s, "never_reading_1000", test_never_reading_1000, 60);
	testutil_add(s, "udp_flood", test_udp_flood, 45);
}
