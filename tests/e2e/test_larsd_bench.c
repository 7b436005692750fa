/*
 * test_larsd_bench.c - larsd-bench end to end.
 *
 * Each test runs the built larsd-bench as a child process, reads its exit
 * status, its stderr and its --json summary, and checks the numbers.  The
 * server is either the real larsd, started on free loopback ports with a
 * temporary config (tests/harness/larsd_harness.c), or a small misbehaving
 * server run on a thread of the test itself:
 *
 *   - a TCP echo server that flips one bit of the stream: the bench must
 *     find the corrupt reply and exit 1;
 *   - UDP echo servers that flip a byte of one datagram (corrupt), answer
 *     only every other datagram (losses), answer one datagram after its
 *     timeout (a loss, then a late reply that is not an error), or answer
 *     every datagram twice (late duplicates);
 *   - Lars servers that behave like servers larsd-bench did not grow up
 *     with: one that answers each frame with its 8-byte header only (a
 *     short reply: corrupt, exit 1), one that greets with a frame of its
 *     own (msgid 101) before echoing (unsolicited, not an error with
 *     --verify frames), and one that answers with another body (changed
 *     under --verify frames, fine under --verify none), over TCP and UDP.
 *
 * And the command line: every bad argument is one line on stderr and exit
 * status 2; and the latency histogram's precision, as a unit.  Every run is bounded (-t 2 at most, killed after 10 s); no
 * fixed ports, so `make -j2 check` can run it beside the other suites.
 */
#include "config.h"

#include "bench_util.h"
#include "histogram.h"
#include "larsd_harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The numbers every good run of count n has. */
static void assert_clean(const struct lh_exec *b, long n)
{
	ck_assert_code(b, 0);
	ck_assert_num(b, "replies", ==, n);
	ck_assert_num(b, "sent", ==, n);
	ck_assert_num(b, "errors", ==, 0);
	ck_assert_num(b, "corrupt", ==, 0);
	ck_assert_num(b, "connection_errors", ==, 0);
	ck_assert_num(b, "losses", ==, 0);
	ck_assert_num(b, "p50", >, 0);
	ck_assert_num(b, "max", >=, num(b, "p99"));
	ck_assert_num(b, "p99", >=, num(b, "p50"));
	ck_assert_num(b, "replies_per_s", >, 0);
	ck_assert_msg(b->ms < 3000, "took %llu ms", (unsigned long long)b->ms);
}

/* ---- larsd --------------------------------------------------------------- */

enum { L_TCP_ECHO, L_UDP_ECHO, L_TCP_LARS, L_UDP_LARS };

static void start_larsd(struct lh_daemon *d)
{
	lh_init(d);
	lh_add(d, "tcp", "127.0.0.1", "echo", true);
	lh_add(d, "udp", "127.0.0.1", "echo", true);
	lh_add(d, "tcp", "127.0.0.1", "lars", true);
	lh_add(d, "udp", "127.0.0.1", "lars", true);
	if (!lh_start(d)) {
		char *err = lh_read_file(d->err_path);
		ck_abort_msg("larsd did not become ready; stderr:\n%s", err);
	}
}

static void stop_larsd(struct lh_daemon *d)
{
	ck_assert_int_eq(lh_stop(d, LH_STOP_MS), 0);
	lh_cleanup(d);
}

static const char *port_of(struct lh_daemon *d, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%u", (unsigned)d->ls[i].port);
	return buf;
}

/* ---- misbehaving servers, on a thread ------------------------------------------ */

enum helper_kind {
	H_TCP_FLIP,   /* TCP echo, one bit of the stream flipped */
	H_UDP_FLIP,   /* UDP echo, one byte of datagram 3 changed */
	H_UDP_HALF,   /* UDP: only datagrams 0, 2, 4, ... answered */
	H_UDP_LATE,   /* UDP: datagram 2 answered late, just before datagram 5 */
	H_UDP_TWICE,  /* UDP: every datagram answered twice */
	H_TCP_HEADER, /* TCP lars: each frame answered with its header only */
	H_TCP_GREET,  /* TCP lars: a msgid 101 frame first, then an echo */
	H_TCP_OTHER,  /* TCP lars: each frame answered with another body */
	H_UDP_HEADER, /* UDP lars: each frame answered with its header only */
	H_UDP_OTHER,  /* UDP lars: a msgid 101 frame, then another body */
};

#define HELPER_GREET_ID 101
static const char helper_other_body[] = "hello from another server";

static bool helper_is_tcp(enum helper_kind k)
{
	return k == H_TCP_FLIP || k == H_TCP_HEADER || k == H_TCP_GREET || k == H_TCP_OTHER;
}

/* A Lars frame: msgid, body length (little-endian), body; its length. */
static size_t helper_frame(unsigned char *out, int32_t msgid, const void *body, size_t len)
{
	uint32_t id = (uint32_t)msgid, n = (uint32_t)len;

	for (int i = 0; i < 4; i++) {
		out[i] = (unsigned char)(id >> (8 * i));
		out[4 + i] = (unsigned char)(n >> (8 * i));
	}
	memcpy(out + 8, body, len);
	return 8 + len;
}

#define HELPER_FLIP_AT 100 /* TCP: stream byte */

struct helper {
	enum helper_kind kind;
	int fd;
	uint16_t port;
	char port_text[8];
	atomic_bool stop;
	pthread_t thread;
};

static void *helper_tcp(void *arg)
{
	struct helper *h = arg;
	unsigned char buf[4096];
	size_t pos = 0;
	int c = -1;

	while (!atomic_load(&h->stop)) {
		struct pollfd p = {c >= 0 ? c : h->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (c < 0) {
			c = accept(h->fd, NULL, NULL);
			continue;
		}
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0) {
			close(c);
			c = -1;
			pos = 0;
			continue;
		}
		if (pos <= HELPER_FLIP_AT && HELPER_FLIP_AT < pos + (size_t)n)
			buf[HELPER_FLIP_AT - pos] ^= 0x10;
		pos += (size_t)n;
		if (!lh_send_all(c, buf, (size_t)n)) {
			close(c);
			c = -1;
		}
	}
	if (c >= 0)
		close(c);
	return NULL;
}

/* The Lars servers over TCP: frames cut out of the stream, each answered
 * as h->kind says. */
static void *helper_tcp_lars(void *arg)
{
	struct helper *h = arg;
	static unsigned char in[1 << 16];
	unsigned char out[256];
	size_t have = 0;
	int c = -1;

	while (!atomic_load(&h->stop)) {
		struct pollfd p = {c >= 0 ? c : h->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (c < 0) {
			c = accept(h->fd, NULL, NULL);
			have = 0;
			if (c >= 0 && h->kind == H_TCP_GREET)
				lh_send_all(c, out, helper_frame(out, HELPER_GREET_ID, "welcome", 7));
			continue;
		}
		ssize_t n = read(c, in + have, sizeof(in) - have);
		if (n <= 0) {
			close(c);
			c = -1;
			continue;
		}
		have += (size_t)n;
		for (;;) {
			if (have < 8)
				break;
			size_t len = 8 + ((size_t)in[4] | (size_t)in[5] << 8 | (size_t)in[6] << 16);
			if (have < len)
				break;
			if (h->kind == H_TCP_HEADER)
				lh_send_all(c, in, 8);
			else if (h->kind == H_TCP_OTHER)
				lh_send_all(c, out,
					    helper_frame(out, (int32_t)(in[0] | in[1] << 8), helper_other_body,
							 sizeof(helper_other_body) - 1));
			else
				lh_send_all(c, in, len);
			memmove(in, in + len, have - len);
			have -= len;
		}
	}
	if (c >= 0)
		close(c);
	return NULL;
}

static void *helper_udp(void *arg)
{
	struct helper *h = arg;
	unsigned char buf[65536], held[65536];
	struct sockaddr_storage held_peer;
	socklen_t held_len = 0;
	ssize_t held_n = 0;
	unsigned k = 0;

	while (!atomic_load(&h->stop)) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct pollfd p = {h->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recvfrom(h->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < 0)
			continue;
		unsigned i = k++;
		int times = 1;
		switch (h->kind) {
		case H_UDP_FLIP:
			if (i == 3 && n > 20)
				buf[20] ^= 0xff;
			break;
		case H_UDP_HALF:
			times = i % 2 == 0;
			break;
		case H_UDP_LATE:
			/* With depth 1, datagram 3 is only sent once 2 has timed out. */
			if (i == 2) {
				memcpy(held, buf, (size_t)n);
				held_n = n;
				held_peer = peer;
				held_len = plen;
				times = 0;
			}
			if (i == 5)
				sendto(h->fd, held, (size_t)held_n, 0, (struct sockaddr *)&held_peer,
				       held_len);
			break;
		case H_UDP_TWICE:
			times = 2;
			break;
		case H_UDP_HEADER:
			n = n > 8 ? 8 : n;
			break;
		case H_UDP_OTHER: {
			unsigned char other[64];
			int32_t id = (int32_t)(buf[0] | buf[1] << 8);
			size_t len = helper_frame(other, HELPER_GREET_ID, "hi", 2);
			sendto(h->fd, other, len, 0, (struct sockaddr *)&peer, plen);
			n = (ssize_t)helper_frame(buf, id, helper_other_body,
						  sizeof(helper_other_body) - 1);
			break;
		}
		default:
			break;
		}
		for (int t = 0; t < times; t++)
			sendto(h->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
	}
	return NULL;
}

static void helper_start(struct helper *h, enum helper_kind kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->fd = lh_bind(helper_is_tcp(kind) ? "tcp" : "udp", "127.0.0.1", 0, &h->port);
	ck_assert_msg(h->fd >= 0, "bind: %s", strerror(errno));
	snprintf(h->port_text, sizeof(h->port_text), "%u", (unsigned)h->port);
	ck_assert_int_eq(pthread_create(&h->thread, NULL,
					kind == H_TCP_FLIP ? helper_tcp
					: helper_is_tcp(kind) ? helper_tcp_lars
							      : helper_udp,
					h),
			 0);
}

static void helper_stop(struct helper *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	close(h->fd);
}

/* ---- against larsd ---------------------------------------------------------- */

START_TEST(test_tcp_echo)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-P", port_of(&d, L_TCP_ECHO, port, sizeof(port)), "-n", "3000",
			      "-c", "4", "-d", "4", "-T", "2", "-s", "100", "-t", "2",
			      "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 3000);
	ck_assert_num(&b, "connections", ==, 4);
	ck_assert_num(&b, "threads", ==, 2);
	ck_assert_num(&b, "frame_bytes", ==, 100);
	ck_assert_ptr_nonnull(strstr(b.out, "\"proto\":\"tcp\",\"mode\":\"echo\""));
	ck_assert_ptr_nonnull(strstr(b.out, "\"server\":null"));
	stop_larsd(&d);
}
END_TEST

/* Big messages: many reads and writes per message, partial sends. */
START_TEST(test_tcp_echo_large)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-P", port_of(&d, L_TCP_ECHO, port, sizeof(port)), "-n", "200",
			      "-c", "2", "-d", "3", "-s", "300000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 200);
	stop_larsd(&d);
}
END_TEST

START_TEST(test_tcp_lars)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-P", port_of(&d, L_TCP_LARS, port, sizeof(port)), "-m", "lars",
			      "--msgid", "7", "-n", "2000", "-c", "3", "-d", "5", "-s", "300",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 2000);
	ck_assert_num(&b, "frame_bytes", ==, 308);
	ck_assert_num(&b, "msgid", ==, 7);
	stop_larsd(&d);
}
END_TEST

/* An empty body is a valid lars frame: just the header. */
START_TEST(test_tcp_lars_empty)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-P", port_of(&d, L_TCP_LARS, port, sizeof(port)), "-m", "lars",
			      "-s", "0", "-n", "500", "-d", "2", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 500);
	ck_assert_num(&b, "frame_bytes", ==, 8);
	stop_larsd(&d);
}
END_TEST

START_TEST(test_udp_echo)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-p", "udp", "-P", port_of(&d, L_UDP_ECHO, port, sizeof(port)),
			      "-n", "2000", "-c", "4", "-d", "4", "-T", "2", "--timeout", "1000",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 2000);
	ck_assert_num(&b, "late", ==, 0);
	stop_larsd(&d);
}
END_TEST

START_TEST(test_udp_lars)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d);
	const char *args[] = {"-p", "udp", "-m", "lars", "--msgid", "-3", "-P",
			      port_of(&d, L_UDP_LARS, port, sizeof(port)), "-n", "1000", "-c", "2",
			      "-d", "3", "-s", "1000", "--timeout", "1000", "-t", "2", "--json",
			      NULL};
	run_bench(&b, args);
	assert_clean(&b, 1000);
	ck_assert_num(&b, "frame_bytes", ==, 1008);
	ck_assert_num(&b, "msgid", ==, -3);
	stop_larsd(&d);
}
END_TEST

START_TEST(test_tcp_ipv6)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	if (!lh_address_usable("::1"))
		return; /* no IPv6 here */
	lh_init(&d);
	lh_add(&d, "tcp", "::1", "echo", true);
	lh_add(&d, "udp", "::1", "echo", true);
	ck_assert(lh_start(&d));
	const char *tcp[] = {"-H", "::1", "-P", port_of(&d, 0, port, sizeof(port)), "-n", "500",
			     "-t", "2", "--json", NULL};
	run_bench(&b, tcp);
	assert_clean(&b, 500);
	ck_assert_ptr_nonnull(strstr(b.out, "\"target\":\"[::1]:"));
	const char *udp[] = {"-p", "udp", "-H", "[::1]", "-P", port_of(&d, 1, port, sizeof(port)),
			     "-n", "500", "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, udp);
	assert_clean(&b, 500);
	stop_larsd(&d);
}
END_TEST

/* Duration mode, the text summary, the server's CPU and memory. */
START_TEST(test_duration_text_server)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8], pid[16];

	start_larsd(&d);
	snprintf(pid, sizeof(pid), "%ld", (long)d.pid);
	const char *args[] = {"-P", port_of(&d, L_TCP_ECHO, port, sizeof(port)), "-t", "0.4",
			      "--warmup", "0.1", "-c", "2", "--server-pid", pid, NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0);
	ck_assert_msg(b.ms >= 400 && b.ms < 2000, "took %llu ms", (unsigned long long)b.ms);
	ck_assert_ptr_nonnull(strstr(b.out, "replies "));
	ck_assert_ptr_nonnull(strstr(b.out, "p99.9 "));
	ck_assert_ptr_nonnull(strstr(b.out, "errors      0:"));
	ck_assert_ptr_nonnull(strstr(b.out, "CPU s per 100k replies, RSS "));
	ck_assert_str_eq(b.err, "");

	const char *json[] = {"-P", port, "-p", "tcp", "-t", "0.3", "--json", "--server-pid",
			      pid, NULL};
	run_bench(&b, json);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "duration_s", >=, 0.29);
	ck_assert_num(&b, "duration_s", <, 1.0);
	ck_assert_num(&b, "replies", >, 0);
	ck_assert_num(&b, "cpu_s", >=, 0);
	ck_assert_num(&b, "cpu_s_per_100k", >=, 0);
	ck_assert_num(&b, "rss_kib", >, 0);
	ck_assert_num(&b, "pid", ==, d.pid);
	stop_larsd(&d);
}
END_TEST

/* ---- what must be caught ------------------------------------------------------- */

START_TEST(test_tcp_corrupt)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_TCP_FLIP);
	const char *args[] = {"-P", h.port_text, "-n", "50", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 1);
	/* Byte 100 is in message 1 (64 bytes each); the stream stays aligned. */
	ck_assert_num(&b, "corrupt", ==, 1);
	ck_assert_num(&b, "errors", ==, 1);
	ck_assert_num(&b, "replies", ==, 49);
	ck_assert_num(&b, "connection_errors", ==, 0);
	ck_assert_msg(strstr(b.err, "corrupt reply: connection 0, message 1, byte 36") != NULL,
		      "stderr: %s", b.err);

	/* The same in lars mode: byte 100 is in the body of frame 1, a
	 * changed reply frame by frame, a corrupt one byte by byte. */
	const char *lars[] = {"-P", h.port_text, "-m", "lars", "-n", "50", "-t", "2", "--json",
			      NULL};
	run_bench(&b, lars);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "changed", ==, 1);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_num(&b, "replies", ==, 49);
	const char *bytes[] = {"-P", h.port_text, "-m", "lars", "--verify", "bytes", "-n", "50",
			       "-t", "2", "--json", NULL};
	run_bench(&b, bytes);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", ==, 1);
	ck_assert_num(&b, "changed", ==, 0);
	/* --verify none in echo mode counts the bytes, not their values. */
	const char *none[] = {"-P", h.port_text, "--verify", "none", "-n", "50", "-t", "2",
			      "--json", NULL};
	run_bench(&b, none);
	assert_clean(&b, 50);
	helper_stop(&h);
}
END_TEST

START_TEST(test_udp_corrupt)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_UDP_FLIP);
	const char *args[] = {"-p", "udp", "-P", h.port_text, "-n", "20", "--timeout", "500",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", ==, 1);
	ck_assert_num(&b, "replies", ==, 19);
	ck_assert_num(&b, "losses", ==, 0);
	ck_assert_num(&b, "late", ==, 0);
	ck_assert_msg(strstr(b.err, "corrupt reply: socket 0, message 3, byte 20") != NULL,
		      "stderr: %s", b.err);
	/* --verify none: the length is checked, not the bytes (a fresh server,
	 * which changes its datagram 3 again). */
	helper_stop(&h);
	helper_start(&h, H_UDP_FLIP);
	const char *none[] = {"-p", "udp", "-P", h.port_text, "--verify", "none", "-n", "20",
			      "--timeout", "500", "-t", "2", "--json", NULL};
	run_bench(&b, none);
	assert_clean(&b, 20);
	helper_stop(&h);
}
END_TEST

START_TEST(test_udp_loss)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_UDP_HALF);
	const char *args[] = {"-p", "udp", "-P", h.port_text, "-n", "20", "--timeout", "50",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0); /* losses are counted, not errors */
	ck_assert_num(&b, "losses", ==, 10);
	ck_assert_num(&b, "replies", ==, 10);
	ck_assert_num(&b, "loss_pct", ==, 50);
	ck_assert_num(&b, "errors", ==, 0);
	ck_assert_num(&b, "sent", ==, 20);
	/* Ten timeouts of 50 ms: the run did not stall. */
	ck_assert_msg(b.ms < 1500, "took %llu ms", (unsigned long long)b.ms);
	helper_stop(&h);
}
END_TEST

START_TEST(test_udp_late)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_UDP_LATE);
	const char *args[] = {"-p", "udp", "-P", h.port_text, "-n", "10", "-t", "2", "--json",
			      NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "losses", ==, 1);
	ck_assert_num(&b, "late", ==, 1);
	ck_assert_num(&b, "replies", ==, 9);
	ck_assert_num(&b, "corrupt", ==, 0);
	helper_stop(&h);

	helper_start(&h, H_UDP_TWICE);
	const char *twice[] = {"-p", "udp", "-P", h.port_text, "-n", "200", "-d", "4",
			       "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, twice);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 200);
	ck_assert_num(&b, "late", >, 0);
	ck_assert_num(&b, "corrupt", ==, 0);
	helper_stop(&h);
}
END_TEST

/* ---- servers larsd-bench did not grow up with ------------------------------------ */

/* Each frame answered with its 8-byte header only: a short reply, in every
 * --verify mode, and the run ends (with -n alone, too) instead of waiting
 * for the rest. */
START_TEST(test_tcp_short_reply)
{
	struct helper h;
	struct lh_exec b;
	static const char *const verify[] = {"bytes", "frames", "none"};

	helper_start(&h, H_TCP_HEADER);
	for (size_t i = 0; i < 3; i++) {
		const char *args[] = {"-P", h.port_text, "-m", "lars", "--verify", verify[i], "-n",
				      "20", "--timeout", "100", "--json", NULL};
		run_bench(&b, args);
		ck_assert_code(&b, 1);
		ck_assert_num(&b, "corrupt", ==, 1);
		ck_assert_num(&b, "errors", ==, 1);
		ck_assert_num(&b, "replies", ==, 0);
		ck_assert_msg(strstr(b.err, "short reply: connection 0, message 0: 8 of 72 bytes"),
			      "--verify %s: stderr: %s", verify[i], b.err);
		ck_assert_msg(b.ms < 2000, "took %llu ms", (unsigned long long)b.ms);
	}
	/* Deeper pipelines: the later headers land in the first reply's body. */
	const char *deep[] = {"-P", h.port_text, "-m", "lars", "--verify", "bytes", "-d", "4",
			      "-t", "0.3", "--timeout", "100", "--json", NULL};
	run_bench(&b, deep);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", ==, 1);
	helper_stop(&h);
}
END_TEST

/* A greeting of its own first (as the Lars example server's msgid 101). */
START_TEST(test_tcp_greeting)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_TCP_GREET);
	const char *args[] = {"-P", h.port_text, "-m", "lars", "-d", "3", "-n", "300", "-t", "2",
			      "--json", NULL};
	run_bench(&b, args);
	assert_clean(&b, 300);
	ck_assert_num(&b, "unsolicited", ==, 1);
	ck_assert_num(&b, "changed", ==, 0);
	ck_assert_ptr_nonnull(strstr(b.out, "\"verify\":\"frames\""));
	/* Compared as a byte stream, every reply is off by the greeting. */
	const char *bytes[] = {"-P", h.port_text, "-m", "lars", "--verify", "bytes", "-n", "20",
			       "-t", "0.5", "--timeout", "100", "--json", NULL};
	run_bench(&b, bytes);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", >=, 1);
	ck_assert_num(&b, "replies", ==, 0);
	helper_stop(&h);
}
END_TEST

/* Another body in reply: changed under --verify frames, fine under none. */
START_TEST(test_tcp_other_body)
{
	struct helper h;
	struct lh_exec b;

	helper_start(&h, H_TCP_OTHER);
	const char *frames[] = {"-P", h.port_text, "-m", "lars", "-d", "2", "-n", "50", "-t", "2",
				"--json", NULL};
	run_bench(&b, frames);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "changed", ==, 50);
	ck_assert_num(&b, "errors", ==, 50);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_msg(strstr(b.err, "changed reply: connection 0, message 0: 25-byte body "
				    "instead of 64"),
		      "stderr: %s", b.err);
	const char *none[] = {"-P", h.port_text, "-m", "lars", "--verify", "none", "-d", "2", "-n",
			      "50", "-t", "2", "--json", NULL};
	run_bench(&b, none);
	assert_clean(&b, 50);
	ck_assert_num(&b, "changed", ==, 0);
	helper_stop(&h);
}
END_TEST

START_TEST(test_udp_frames)
{
	struct helper h;
	struct lh_exec b;

	/* The header only: not a frame (its length says 64 more bytes). */
	helper_start(&h, H_UDP_HEADER);
	const char *header[] = {"-p", "udp", "-m", "lars", "-P", h.port_text, "-n", "10",
				"--timeout", "50", "-t", "2", "--json", NULL};
	run_bench(&b, header);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", ==, 10);
	ck_assert_num(&b, "losses", ==, 10);
	ck_assert_msg(strstr(b.err, "socket 0: 8 bytes, not a Lars frame"), "stderr: %s", b.err);
	const char *hbytes[] = {"-p", "udp", "-m", "lars", "--verify", "bytes", "-P", h.port_text,
				"-n", "10", "--timeout", "50", "-t", "2", "--json", NULL};
	run_bench(&b, hbytes);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", ==, 10);
	helper_stop(&h);

	/* A frame of its own, then another body. */
	helper_start(&h, H_UDP_OTHER);
	const char *frames[] = {"-p", "udp", "-m", "lars", "-P", h.port_text, "-n", "30", "-d",
				"3", "--timeout", "500", "-t", "2", "--json", NULL};
	run_bench(&b, frames);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "changed", ==, 30);
	ck_assert_num(&b, "unsolicited", ==, 30);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_num(&b, "losses", ==, 0);
	const char *none[] = {"-p", "udp", "-m", "lars", "--verify", "none", "-P", h.port_text,
			      "-n", "30", "-d", "3", "--timeout", "500", "-t", "2", "--json", NULL};
	run_bench(&b, none);
	assert_clean(&b, 30);
	ck_assert_num(&b, "unsolicited", ==, 30);
	helper_stop(&h);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct lh_exec b;
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)lh_free_port("tcp", "127.0.0.1"));
	const char *args[] = {"-P", port, "-c", "3", "-n", "10", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "connection_errors", ==, 3);
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_msg(strstr(b.err, "Connection refused") != NULL, "stderr: %s", b.err);
}
END_TEST

/* ---- the command line ------------------------------------------------------------ */

START_TEST(test_bad_arguments)
{
	static const char *const cases[][8] = {
		{NULL},
		{"-P", NULL},
		{"-P", "0", NULL},
		{"-P", "70000", NULL},
		{"-P", "7", "--size", "x", NULL},
		{"-P", "7", "-s", "-1", NULL},
		{"-P", "7", "-p", "sctp", NULL},
		{"-P", "7", "-m", "http", NULL},
		{"-P", "7", "-c", "0", NULL},
		{"-P", "7", "-d", "0", NULL},
		{"-P", "7", "-t", "0", NULL},
		{"-P", "7", "-t", "soon", NULL},
		{"-P", "7", "-n", "0", NULL},
		{"-P", "7", "-T", "x", NULL},
		{"-P", "7", "--timeout", "0", NULL},
		{"-P", "7", "--msgid", "3000000000", NULL},
		{"-P", "7", "--warmup", "-1", NULL},
		{"-P", "7", "-p", "udp", "-s", "4", NULL},
		{"-P", "7", "-p", "udp", "-s", "70000", NULL},
		{"-P", "7", "-s", "0", NULL},
		{"-P", "7", "-H", "", NULL},
		{"-P", "7", "--bogus", NULL},
		{"-P", "7", "-x", NULL},
		{"-P", "7", "extra", NULL},
		{"-P", "7", "--server-pid", "abc", NULL},
		{"-P", "7", "--server-pid", "2147483647", NULL},
		{"-P", "7", "--verify", "some", NULL},
		{"-P", "7", "--verify", "frames", NULL}, /* echo mode */
	};
	struct lh_exec b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_bench(&b, cases[i]);
		ck_assert_msg(b.code == 2, "case %zu (%s %s): exit %d, stderr %s", i,
			      cases[i][0] ? cases[i][0] : "", cases[i][2] ? cases[i][2] : "",
			      b.code, b.err);
		ck_assert_msg(strncmp(b.err, "larsd-bench: ", 13) == 0, "case %zu: %s", i, b.err);
		char *nl = strchr(b.err, '\n');
		ck_assert_msg(nl && nl[1] == '\0', "case %zu: not one line: %s", i, b.err);
		ck_assert_str_eq(b.out, "");
	}
	const char *size[] = {"-P", "7", "--size", "x", NULL};
	run_bench(&b, size);
	ck_assert_str_eq(b.err, "larsd-bench: --size: 'x' is not a number\n");
}
END_TEST

START_TEST(test_help_version)
{
	struct lh_exec b;
	const char *help[] = {"--help", NULL};
	const char *version[] = {"-V", NULL};

	run_bench(&b, help);
	ck_assert_code(&b, 0);
	ck_assert_ptr_nonnull(strstr(b.out, "usage: larsd-bench"));
	ck_assert_ptr_nonnull(strstr(b.out, "--server-pid"));
	run_bench(&b, version);
	ck_assert_code(&b, 0);
	ck_assert_ptr_nonnull(strstr(b.out, PACKAGE_VERSION));
}
END_TEST

/* ---- the histogram ------------------------------------------------------------- */

static void assert_near(uint64_t got, double want, double tolerance)
{
	ck_assert_msg(fabs((double)got - want) <= want * tolerance, "%llu, expected %g +- %g %%",
		      (unsigned long long)got, want, tolerance * 100);
}

START_TEST(test_histogram)
{
	static struct histogram h, other;

	hist_init(&h);
	ck_assert_uint_eq(hist_percentile(&h, 99.0), 0);
	/* Below 256 ns every value has its bucket. */
	for (uint64_t v = 0; v < 200; v++)
		hist_record(&h, v);
	ck_assert_uint_eq(hist_percentile(&h, 50.0), 99);
	ck_assert_uint_eq(hist_percentile(&h, 100.0), 199);
	ck_assert_uint_eq(h.min, 0);

	/* 1 us .. 10 s, uniform on a log scale: every percentile within 0.4 %. */
	hist_init(&h);
	hist_init(&other);
	const uint64_t n = 200000;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = (uint64_t)(1000.0 * pow(10.0, 7.0 * (double)i / (double)n));
		hist_record(i % 2 ? &h : &other, v);
	}
	hist_merge(&h, &other);
	ck_assert_uint_eq(h.count, n);
	const double pcts[] = {10, 50, 90, 99, 99.9};
	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		double rank = ceil(pcts[k] / 100.0 * (double)n) - 1;
		double want = floor(1000.0 * pow(10.0, 7.0 * rank / (double)n));
		assert_near(hist_percentile(&h, pcts[k]), want, 0.004);
	}
	ck_assert_uint_eq(hist_percentile(&h, 100.0), h.max);

	/* Beyond the last octave: clamped, the maximum still exact. */
	hist_record(&h, UINT64_C(1) << 50);
	ck_assert_uint_eq(h.max, UINT64_C(1) << 50);
	ck_assert_uint_eq(hist_percentile(&h, 100.0), UINT64_C(1) << 50);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------- */

static Suite *bench_suite(void)
{
	Suite *s = suite_create("larsd-bench");

	testutil_add(s, "tcp_echo", test_tcp_echo, 15);
	testutil_add(s, "tcp_echo_large", test_tcp_echo_large, 15);
	testutil_add(s, "tcp_lars", test_tcp_lars, 15);
	testutil_add(s, "tcp_lars_empty", test_tcp_lars_empty, 15);
	testutil_add(s, "udp_echo", test_udp_echo, 15);
	testutil_add(s, "udp_lars", test_udp_lars, 15);
	testutil_add(s, "tcp_ipv6", test_tcp_ipv6, 15);
	testutil_add(s, "duration_text_server", test_duration_text_server, 15);
	testutil_add(s, "tcp_corrupt", test_tcp_corrupt, 15);
	testutil_add(s, "udp_corrupt", test_udp_corrupt, 15);
	testutil_add(s, "udp_loss", test_udp_loss, 15);
	testutil_add(s, "udp_late", test_udp_late, 15);
	testutil_add(s, "tcp_short_reply", test_tcp_short_reply, 15);
	testutil_add(s, "tcp_greeting", test_tcp_greeting, 15);
	testutil_add(s, "tcp_other_body", test_tcp_other_body, 15);
	testutil_add(s, "udp_frames", test_udp_frames, 15);
	testutil_add(s, "connection_refused", test_connection_refused, 15);
	testutil_add(s, "bad_arguments", test_bad_arguments, 30);
	testutil_add(s, "help_version", test_help_version, 10);
	testutil_add(s, "histogram", test_histogram, 10);
	return s;
}

int main(void)
{
	return testutil_main(bench_suite(), &lh_testutil_run);
}
