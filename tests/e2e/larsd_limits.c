/*
 * larsd_limits.c - larsd end to end: memory, limits and guards.
 *
 * Clients that never read against MEM_LIMIT (RSS and pool bounded, back
 * pressure, recovery once they go); max_connections; idle_timeout; the UDP
 * reflection guard; replies from a wildcard UDP listener; the allow-list.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What larsd's RSS may grow beyond the pool's own bytes: allocator and
 * thread stacks.  Under ThreadSanitizer every byte touched also gets
 * shadow memory and each thread an event trace, both resident: measured
 * here 3.3-4.4 MiB of growth over this file's hog tests on either
 * io_backend, against about 0.3 MiB without it. */
#if defined(__SANITIZE_THREAD__)
#define RSS_SLACK_KIB 16384L
#else
#define RSS_SLACK_KIB 4096L
#endif

/* ---- memory ------------------------------------------------------------------- */

/* Connections that send and never read, with socket buffers kept small. */
static int hog_connect(uint16_t port)
{
	int fd = lh_tcp_connect_nb("127.0.0.1", port, 4096);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Push up to cap bytes into each until none moves for 300 ms (or ms). */
static size_t hogs_push(const int *fds, size_t n, size_t cap, int ms)
{
	static char chunk[65536];

	memset(chunk, 'h', sizeof(chunk));
	return lh_push_until_stalled(fds, n, chunk, sizeof(chunk), cap, 300, ms);
}

/* Eight clients that push up to 8 MB each and never read, 512K MEM_LIMIT:
 * they meet back pressure, larsd's RSS stays below its start + MEM_LIMIT
 * + 4 MiB, the pool within its limit, and another client is served. */
START_TEST(test_never_reading_clients)
{
	struct lh_daemon d;
	int hogs[8];
	const size_t n_hogs = sizeof(hogs) / sizeof(hogs[0]);
	int small = 16384;

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"512K\";");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	/* Small kernel buffers on larsd's side (inherited from the listener, as
	 * with a socket unit's ReceiveBuffer=/SendBuffer=), so what the clients
	 * push ends up in larsd unless it stops reading. */
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	lh_start_ok(&d);
	lt_check_listener(&d.ls[l], 1); /* warm up: the first buffers, threads */
	long rss0 = lh_rss_kib(d.pid);
	ck_assert_int_gt(rss0, 0);

	for (size_t i = 0; i < n_hogs; i++)
		hogs[i] = hog_connect(d.ls[l].port);
	size_t pushed = hogs_push(hogs, n_hogs, 8 << 20, 4000);
	long rss1 = lh_rss_kib(d.pid);
	long long owned = lh_stat(&d, "pool_bytes_owned");
	long long bytes_in = lh_stat(&d, "bytes_in");

	ck_assert_msg(rss1 <= rss0 + 512 + RSS_SLACK_KIB,
		      "VmRSS grew from %ld to %ld KiB (clients pushed %zu bytes, larsd read %lld)",
		      rss0, rss1, pushed, bytes_in);
	ck_assert_msg(owned >= 0 && owned <= 512 * 1024, "pool owns %lld bytes", owned);
	ck_assert_msg(pushed < n_hogs * ((size_t)8 << 20), "never-reading clients met no back pressure");
	lt_check_listener(&d.ls[l], 2);
	for (size_t i = 0; i < n_hogs; i++)
		close(hogs[i]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* More never-reading clients than MEM_LIMIT has buffers for: reads stall
 * (counted), the pool stays within its limit, larsd stays up, and a
 * client that waited for memory is served once the hogs go away. */
START_TEST(test_pool_exhaustion_recovers)
{
	struct lh_daemon d;
	int hogs[40];
	const size_t n_hogs = sizeof(hogs) / sizeof(hogs[0]);
	char back[8];
	int small = 8192;

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"256K\"; prealloc = { tier_4K = 0; tier_16K = 0; };");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	/* Accepted sockets inherit this (as with a socket unit's SendBuffer=):
	 * without it the kernel takes megabytes per connection, and no
	 * buffer stays pinned with unsent output. */
	ck_assert_int_eq(setsockopt(d.ls[l].fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	lh_start_ok(&d);
	long rss0 = lh_rss_kib(d.pid);

	for (size_t i = 0; i < n_hogs; i++)
		hogs[i] = hog_connect(d.ls[l].port);
	hogs_push(hogs, n_hogs, 1 << 20, 4000);
	long long stalled = lh_stat(&d, "tcp_stalled_nomem");
	long long owned = lh_stat(&d, "pool_bytes_owned");
	long rss1 = lh_rss_kib(d.pid);
	ck_assert_msg(stalled > 0, "no read was postponed at MEM_LIMIT");
	/* The pool passed its high mark on the way: one warning, however
	 * many reads stalled. */
	const char *warning = "buffer pool at 90% of mem_limit";
	ck_assert_msg(lh_wait_stderr(&d, warning, 2000), "no pressure warning: %s",
		      lh_pool_state(&d));
	char *log = lh_read_file(d.err_path);
	const char *first = strstr(log, warning);
	ck_assert_msg(first && !strstr(first + 1, warning), "the pressure warning came twice");
	free(log);
	ck_assert_msg(owned >= 0 && owned <= 256 * 1024, "pool owns %lld bytes", owned);
	ck_assert_msg(rss1 <= rss0 + 256 + RSS_SLACK_KIB, "VmRSS grew from %ld to %ld KiB", rss0,
		      rss1);
	ck_assert(lh_alive(&d));

	int late = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(late, 0);
	ck_assert(lh_send_all(late, "late", 4));
	lh_sleep_ms(100);
	for (size_t i = 0; i < n_hogs; i++)
		close(hogs[i]);
	bool served = lh_recv_exact(late, back, 4, 3000) == 4 && memcmp(back, "late", 4) == 0;
	ck_assert_msg(served, "the waiting client was not served after the hogs left: %s",
		      lh_pool_state(&d));
	close(late);
	int again = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(again, 0);
	served = lh_tcp_roundtrip(again, "again", 5);
	ck_assert_msg(served, "a new client was not served after the hogs left: %s", lh_pool_state(&d));
	close(again);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- limits --------------------------------------------------------------- */

/* max_connections = 3: the 4th is closed at once, the 3 still echo, the
 * refusal is counted, and a slot that frees up is usable again. */
START_TEST(test_max_connections)
{
	struct lh_daemon d;
	int c[3];

	lh_init(&d);
	strcat(d.settings, "  max_connections = 3;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	for (int i = 0; i < 3; i++) {
		c[i] = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(c[i], 0);
		ck_assert(lh_tcp_roundtrip(c[i], "in", 2));
	}
	int fourth = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fourth, 0);
	ck_assert_msg(lh_wait_closed(fourth, 2000) == 1, "the 4th connection was not closed");
	close(fourth);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(lh_tcp_roundtrip(c[i], "still", 5), "connection %d broke", i);
	ck_assert_int_eq(lh_stat(&d, "tcp_refused_limit"), 1);

	close(c[0]);
	bool served = false;
	for (uint64_t end = lh_now_ms() + 2000; !served && lh_now_ms() < end;) {
		lh_sleep_ms(50);
		int fd = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fd, 0);
		served = lh_tcp_roundtrip(fd, "again", 5);
		close(fd);
	}
	ck_assert_msg(served, "a freed slot was not reused");
	close(c[1]);
	close(c[2]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* idle_timeout = 1: an idle connection is closed after 1-2 s (3 s at
 * most here), one that keeps talking is not. */
START_TEST(test_idle_timeout)
{
	struct lh_daemon d;

	lh_init(&d);
	strcat(d.settings, "  idle_timeout = 1;\n");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	int idle = lh_tcp_connect_listener(&d.ls[l]);
	int busy = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert(idle >= 0 && busy >= 0);
	ck_assert(lh_tcp_roundtrip(idle, "i", 1));
	ck_assert(lh_tcp_roundtrip(busy, "b", 1));
	uint64_t t0 = lh_now_ms(), closed_at = 0;

	while (lh_now_ms() - t0 < 3500) {
		ck_assert_msg(lh_tcp_roundtrip(busy, "busy", 4),
			      "the active connection was closed after %llu ms",
			      (unsigned long long)(lh_now_ms() - t0));
		if (!closed_at && lh_wait_closed(idle, 0) == 1)
			closed_at = lh_now_ms();
		lh_sleep_ms(100);
	}
	ck_assert_msg(closed_at, "the idle connection was not closed within 3.5 s");
	ck_assert_msg(closed_at - t0 >= 900, "the idle connection was closed after only %llu ms",
		      (unsigned long long)(closed_at - t0));
	ck_assert_msg(closed_at - t0 <= 3000, "the idle connection was closed after %llu ms",
		      (unsigned long long)(closed_at - t0));
	ck_assert_int_eq(lh_stat(&d, "tcp_closed_idle"), 1);
	close(idle);
	close(busy);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- guard and allow-list ---------------------------------------------------- */

/* Datagrams from a blocked source port get no reply, the same from an
 * ordinary port do; as root, source port 7 (echo) is blocked too. */
START_TEST(test_udp_reflection_guard)
{
	struct lh_daemon d;
	char back[64];
	uint16_t blocked;
	long long drops = 0;

	/* The blocked port: one we hold, so nobody else can use it. */
	int probe = lh_bind("udp", "127.0.0.1", 0, &blocked);
	ck_assert_int_ge(probe, 0);
	close(probe);
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  udp_blocked_ports = [ %u ];\n",
		 (unsigned)blocked);
	size_t e = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	size_t m = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int from_blocked = lh_udp_socket("127.0.0.1", d.ls[e].port, "127.0.0.1", blocked);
	ck_assert_msg(from_blocked >= 0, "bind source port %u: %s", (unsigned)blocked,
		      strerror(errno));
	ck_assert_msg(lh_udp_xchg(from_blocked, "ping", 4, back, sizeof(back), 300) < 0,
		      "a datagram from blocked port %u was answered", (unsigned)blocked);
	drops++;
	close(from_blocked);
	int ordinary = lh_udp_socket("127.0.0.1", d.ls[e].port, "127.0.0.1", 0);
	ck_assert_int_ge(ordinary, 0);
	ck_assert_int_eq(lh_udp_xchg(ordinary, "ping", 4, back, sizeof(back), 2000), 4);
	close(ordinary);

	if (geteuid() == 0) {
		int seven = lh_udp_socket("127.0.0.1", d.ls[m].port, "127.0.0.1", 7);
		if (seven >= 0) {
			unsigned char f[16];
			size_t flen = lh_lars_frame(f, 7, "echo", 4);
			ck_assert_msg(lh_udp_xchg(seven, f, flen, back, sizeof(back), 300) < 0,
				      "a datagram from port 7 was answered");
			drops++;
			close(seven);
		}
	}
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_guard"), drops);
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A UDP listener on the wildcard address answers from the address the
 * client wrote to (a connected client socket takes nothing else). */
START_TEST(test_udp_wildcard_reply_source)
{
	struct lh_daemon d;
	char back[64];

	lh_init(&d);
	size_t u = lh_add(&d, "udp", "0.0.0.0", "echo", true);
	lh_start_ok(&d);
	static const char *const to[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
	for (size_t i = 0; i < 3; i++) {
		int fd = lh_udp_socket(to[i], d.ls[u].port, NULL, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(lh_udp_xchg(fd, to[i], strlen(to[i]), back, sizeof(back), 2000) ==
				      (ssize_t)strlen(to[i]),
			      "no reply from %s", to[i]);
		close(fd);
	}
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* allow = [ "127.0.0.2/32" ]: 127.0.0.1 is refused (TCP closed at once,
 * UDP unanswered), 127.0.0.2 is served. */
START_TEST(test_allow_list)
{
	struct lh_daemon d;
	char back[64];

	lh_init(&d);
	strcat(d.settings, "  allow = [ \"127.0.0.2/32\" ];\n");
	size_t t = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t u = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, "127.0.0.1");
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1, "127.0.0.1 was not refused over TCP");
	close(fd);
	fd = lh_udp_socket(d.ls[u].address, d.ls[u].port, "127.0.0.1", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_udp_xchg(fd, "no", 2, back, sizeof(back), 300) < 0,
		      "127.0.0.1 was answered over UDP");
	close(fd);

	fd = lh_tcp_connect(d.ls[t].address, d.ls[t].port, "127.0.0.2");
	ck_assert_msg(fd >= 0, "connect from 127.0.0.2: %s", strerror(errno));
	ck_assert_msg(lh_tcp_roundtrip(fd, "yes", 3), "127.0.0.2 was not served over TCP");
	close(fd);
	fd = lh_udp_socket(d.ls[u].address, d.ls[u].port, "127.0.0.2", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(lh_udp_xchg(fd, "yes", 3, back, sizeof(back), 2000) == 3,
		      "127.0.0.2 was not answered over UDP");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "tcp_refused_allow"), 1);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_allow"), 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_limits(Suite *s)
{
	testutil_add(s, "never_reading", test_never_reading_clients, 15);
	testutil_add(s, "pool_exhaustion", test_pool_exhaustion_recovers, 15);
	testutil_add(s, "max_connections", test_max_connections, 10);
	testutil_add(s, "idle_timeout", test_idle_timeout, 10);
	testutil_add(s, "udp_guard", test_udp_reflection_guard, 10);
	testutil_add(s, "udp_wildcard", test_udp_wildcard_reply_source, 10);
	testutil_add(s, "allow_list", test_allow_list, 10);
}
