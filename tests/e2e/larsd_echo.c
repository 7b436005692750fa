/*
 * larsd_echo.c - larsd end to end: echo and lars framing.
 *
 * Echo and lars over TCP and UDP, IPv4 and IPv6; a 4 MB transfer; lars
 * frames split at every byte, trickled a byte per segment under a small
 * MEM_LIMIT, coalesced, over max_message; malformed
 * datagrams.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG_TRANSFER ((size_t)4 << 20)

/* Send len bytes and read len bytes back at the same time; bytes read. */
static size_t transfer(int fd, const unsigned char *out, unsigned char *back, size_t len,
		       int timeout_ms)
{
	uint64_t deadline = lh_now_ms() + (uint64_t)timeout_ms;
	size_t sent = 0, got = 0;

	lh_nonblock(fd);
	while (got < len && lh_now_ms() < deadline) {
		struct pollfd p = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			size_t chunk = len - sent < 256 * 1024 ? len - sent : 256 * 1024;
			ssize_t n = send(fd, out + sent, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, back + got, len - got, MSG_DONTWAIT);
			if (n > 0)
				got += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	return got;
}

/* ---- echo ------------------------------------------------------------------ */

/* Every combination of proto, family and mode, on ports larsd binds
 * itself (the config-port path). */
START_TEST(test_echo_all_kinds)
{
	static const char *const protos[] = {"tcp", "udp"};
	static const char *const modes[] = {"echo", "lars"};
	const char *addrs[] = {"127.0.0.1", "::1"};
	size_t n_addrs = lt_have_v6() ? 2 : 1;
	struct lh_daemon d;

	lh_init(&d);
	for (size_t a = 0; a < n_addrs; a++)
		for (size_t p = 0; p < 2; p++)
			for (size_t m = 0; m < 2; m++)
				lh_add(&d, protos[p], addrs[a], modes[m], false);
	lh_start_ok(&d);
	ck_assert_msg(!lh_stderr_has(&d, "from systemd"), "nothing was socket-activated");
	for (size_t i = 0; i < d.n_ls; i++) {
		lt_check_listener(&d.ls[i], (int)i + 1);
		if (strcmp(d.ls[i].mode, "lars") == 0)
			lt_check_lars_rejects_plain(&d.ls[i]);
	}
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), (long long)n_addrs * 2);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* 4 MB in and out at the same time, in echo mode and as lars frames of
 * every size up to max_message. */
START_TEST(test_tcp_large_transfer)
{
	struct lh_daemon d;
	unsigned char *out = malloc(BIG_TRANSFER + 70000), *back = malloc(BIG_TRANSFER + 70000);
	size_t len, got, at;
	uint32_t x = 12345;
	int fd;

	ck_assert(out && back);
	lh_init(&d);
	size_t echo = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t lars = lh_add(&d, "tcp", lt_have_v6() ? "::1" : "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	lh_pattern(out, BIG_TRANSFER, 1, 0);
	fd = lh_tcp_connect_listener(&d.ls[echo]);
	ck_assert_int_ge(fd, 0);
	got = transfer(fd, out, back, BIG_TRANSFER, 8000);
	ck_assert_msg(got == BIG_TRANSFER, "echo: %zu of %zu bytes came back", got, BIG_TRANSFER);
	at = lt_first_difference(out, back, got);
	ck_assert_msg(at == got, "echo: byte %zu differs", at);
	close(fd);

	/* Frames: random sizes, the largest allowed among them. */
	len = 0;
	for (int32_t id = 0; len < BIG_TRANSFER; id++) {
		uint32_t body;
		x = x * 1103515245u + 12345u;
		body = id == 3 ? 65527 : (x >> 8) % 65528;
		unsigned char *f = out + len;
		lh_lars_header(f, id, (int32_t)body);
		lh_pattern(f + 8, body, 2, len);
		len += 8 + body;
	}
	fd = lh_tcp_connect_listener(&d.ls[lars]);
	ck_assert_int_ge(fd, 0);
	got = transfer(fd, out, back, len, 8000);
	ck_assert_msg(got == len, "lars: %zu of %zu bytes came back", got, len);
	at = lt_first_difference(out, back, got);
	ck_assert_msg(at == got, "lars: byte %zu differs", at);
	close(fd);

	lh_stop_ok(&d);
	lh_cleanup(&d);
	free(out);
	free(back);
}
END_TEST

/* ---- lars ------------------------------------------------------------------ */

/* One frame byte by byte: nothing comes back before its last byte; then
 * the same frame split in two at every offset. */
START_TEST(test_lars_split)
{
	struct lh_daemon d;
	unsigned char frame[64], back[64];
	const char *body = "split me at every byte";
	size_t len;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	len = lh_lars_frame(frame, 77, body, (uint32_t)strlen(body));
	for (size_t i = 0; i + 1 < len; i++) {
		ck_assert(lh_send_all(fd, frame + i, 1));
		lh_sleep_ms(1);
	}
	ck_assert_msg(lh_quiet(fd, 100), "lars echoed an incomplete frame");
	ck_assert(lh_send_all(fd, frame + len - 1, 1));
	ck_assert_uint_eq(lh_recv_exact(fd, back, len, 2000), len);
	ck_assert_mem_eq(back, frame, len);

	for (size_t k = 1; k < len; k++) {
		len = lh_lars_frame(frame, (int32_t)(1000 + k), body, (uint32_t)strlen(body));
		ck_assert(lh_send_all(fd, frame, k));
		lh_sleep_ms(2);
		ck_assert(lh_send_all(fd, frame + k, len - k));
		ck_assert_msg(lh_recv_exact(fd, back, len, 2000) == len, "split at %zu: no echo", k);
		ck_assert_msg(memcmp(back, frame, len) == 0, "split at %zu: echo differs", k);
	}
	/* An empty body, split inside the header. */
	for (size_t k = 1; k < 8; k++) {
		len = lh_lars_frame(frame, (int32_t)k, NULL, 0);
		ck_assert(lh_send_all(fd, frame, k));
		lh_sleep_ms(2);
		ck_assert(lh_send_all(fd, frame + k, len - k));
		ck_assert_uint_eq(lh_recv_exact(fd, back, len, 2000), len);
		ck_assert_mem_eq(back, frame, len);
	}
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Frames trickled in a byte per segment on a few connections at once,
 * under a 2M MEM_LIMIT: the bytes of a half frame share a buffer, so they
 * hold a few KiB, not one receive buffer per byte (the io_uring path's
 * receives each take a 16K buffer: 3 x 700 of them would be 33 MiB, and
 * the connections would wait for memory that only they hold). */
START_TEST(test_lars_trickle)
{
	enum { CONNS = 3, BODY = 700 };
	struct lh_daemon d;
	unsigned char body[BODY], frame[CONNS][BODY + 8], back[BODY + 8];
	int fd[CONNS], one = 1;
	size_t len = 0;

	lh_init(&d);
	snprintf(d.bufpool, sizeof(d.bufpool), "mem_limit = \"2M\";");
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);
	for (int i = 0; i < CONNS; i++) {
		memset(body, 'a' + i, sizeof(body));
		len = lh_lars_frame(frame[i], 500 + i, body, BODY);
		fd[i] = lh_tcp_connect_listener(&d.ls[l]);
		ck_assert_int_ge(fd[i], 0);
		ck_assert_int_eq(setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	}
	for (size_t k = 0; k < len; k++) {
		for (int i = 0; i < CONNS; i++)
			ck_assert(lh_send_all(fd[i], frame[i] + k, 1));
		if (k % 2 == 0)
			lh_sleep_ms(1);
	}
	for (int i = 0; i < CONNS; i++) {
		ck_assert_msg(lh_recv_exact(fd[i], back, len, 3000) == len,
			      "connection %d: the trickled frame did not come back (tcp_stalled_nomem=%lld, "
			      "pool_bytes_owned=%lld)",
			      i, lh_stat(&d, "tcp_stalled_nomem"), lh_stat(&d, "pool_bytes_owned"));
		ck_assert_mem_eq(back, frame[i], len);
		close(fd[i]);
	}
	ck_assert_int_eq(lh_stat(&d, "tcp_stalled_nomem"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* 300 frames in one write, then a frame cut short: exactly the complete
 * ones come back, the last one once it is complete. */
START_TEST(test_lars_coalesced)
{
	struct lh_daemon d;
	static unsigned char out[300 * 520 + 600], back[sizeof(out)];
	unsigned char body[600];
	size_t len = 0, whole;

	lh_init(&d);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	for (int i = 0; i < 300; i++) {
		uint32_t blen = (uint32_t)((i * 37) % 511);
		lh_pattern(body, blen, 3, (uint64_t)i << 16);
		len += lh_lars_frame(out + len, i, body, blen);
	}
	whole = len;
	lh_pattern(body, 500, 4, 0);
	len += lh_lars_frame(out + len, 300, body, 500);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_send_all(fd, out, whole + 100));
	ck_assert_uint_eq(lh_recv_exact(fd, back, whole, 3000), whole);
	ck_assert_msg(memcmp(back, out, whole) == 0, "coalesced frames came back changed");
	ck_assert_msg(lh_quiet(fd, 150), "part of an incomplete frame came back");
	ck_assert(lh_send_all(fd, out + whole + 100, len - whole - 100));
	ck_assert_uint_eq(lh_recv_exact(fd, back, len - whole, 2000), len - whole);
	ck_assert_mem_eq(back, out + whole, len - whole);
	close(fd);
	ck_assert_int_eq(lh_stat(&d, "tcp_replies"), 301);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A larsd with max_message = 1000 and one TCP lars listener, its index. */
static size_t start_lars_max_1000(struct lh_daemon *d)
{
	lh_init(d);
	strcat(d->settings, "  max_message = 1000;\n");
	size_t l = lh_add(d, "tcp", "127.0.0.1", "lars", true);
	lh_start_ok(d);
	return l;
}

/* A frame over max_message closes the connection and is counted; a frame
 * of exactly max_message is fine; a negative length is over the limit. */
START_TEST(test_lars_tcp_oversize)
{
	struct lh_daemon d;
	static unsigned char frame[1100];
	size_t len;

	size_t l = start_lars_max_1000(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	lh_pattern(frame + 8, 1000, 5, 0);
	len = lh_lars_frame(frame, 1, frame + 8, 1000);
	ck_assert_msg(lh_tcp_roundtrip(fd, frame, len), "a frame of max_message was refused");
	lh_lars_header(frame, 2, 1001);
	ck_assert(lh_send_all(fd, frame, 8));
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1,
		      "a frame over max_message did not close the connection");
	close(fd);

	fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	lh_lars_header(frame, 3, INT32_MIN);
	ck_assert(lh_send_all(fd, frame, 8));
	ck_assert_msg(lh_wait_closed(fd, 2000) == 1, "a negative length did not close");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "tcp_closed_oversize"), 2);
	lt_check_listener(&d.ls[l], 9); /* still serving */
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Complete frames before an oversized one, in the same segment, are still
 * echoed before the connection closes (as they are when they arrive in an
 * earlier segment). */
START_TEST(test_lars_tcp_good_then_oversize)
{
	struct lh_daemon d;
	unsigned char buf[128], back[128];
	size_t good;

	size_t l = start_lars_max_1000(&d);

	int fd = lh_tcp_connect_listener(&d.ls[l]);
	ck_assert_int_ge(fd, 0);
	good = lh_lars_frame(buf, 1, "good frame", 10);
	lh_lars_header(buf + good, 2, 1001);
	ck_assert(lh_send_all(fd, buf, good + 8));
	size_t got = lh_recv_exact(fd, back, good, 2000);
	ck_assert_msg(got == good && memcmp(back, buf, good) == 0,
		      "the complete frame before an oversized one was not echoed (%zu of %zu bytes)",
		      got, good);
	ck_assert_int_eq(lh_wait_closed(fd, 2000), 1);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Malformed and oversized datagrams get no reply; a good one right after
 * each does; each drop is counted. */
START_TEST(test_lars_udp_bad_datagrams)
{
	struct lh_daemon d;
	static unsigned char bad[1100], good[64], back[2048];
	struct { size_t len; int32_t claim; const char *what; bool oversize; } cases[] = {
		{0, 0, "empty", false},
		{5, 0, "shorter than a header", false},
		{8, 10, "header only, claims 10", false},
		{13, 10, "claims 10, carries 5", false},
		{18, 5, "claims 5, carries 10", false},
		{1009, 1001, "over max_message", true},
		{8, -5, "negative length", true},
	};
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	long long malformed = 0, oversize = 0;

	lh_init(&d);
	strcat(d.settings, "  max_message = 1000;\n");
	size_t l = lh_add(&d, "udp", lt_have_v6() ? "::1" : "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	int fd = lh_udp_socket(d.ls[l].address, d.ls[l].port, NULL, 0);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < n_cases; i++) {
		lh_pattern(bad, sizeof(bad), 6, i);
		if (cases[i].len >= 8)
			lh_lars_header(bad, (int32_t)i, cases[i].claim);
		ck_assert_int_eq(send(fd, bad, cases[i].len, 0), (ssize_t)cases[i].len);
		size_t glen = lh_lars_frame(good, (int32_t)(100 + i), "good", 4);
		ssize_t n = lh_udp_xchg(fd, good, glen, back, sizeof(back), 2000);
		ck_assert_msg(n == (ssize_t)glen && memcmp(back, good, glen) == 0,
			      "after a datagram %s: the first reply is not the good frame (%zd bytes)",
			      cases[i].what, n);
		if (cases[i].oversize)
			oversize++;
		else
			malformed++;
	}
	/* Exactly max_message is fine. */
	lh_pattern(bad + 8, 1000, 7, 0);
	size_t blen = lh_lars_frame(bad, 999, bad + 8, 1000);
	ck_assert_int_eq(lh_udp_xchg(fd, bad, blen, back, sizeof(back), 2000), (ssize_t)blen);
	ck_assert_mem_eq(back, bad, blen);
	ck_assert_msg(lh_quiet(fd, 200), "a late reply to a bad datagram");
	close(fd);

	ck_assert_int_eq(lh_stat(&d, "udp_dropped_malformed"), malformed);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_oversize"), oversize);
	ck_assert_int_eq(lh_stat(&d, "udp_replies"), (long long)n_cases + 1);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_echo(Suite *s)
{
	testutil_add(s, "echo", test_echo_all_kinds, 15);
	testutil_add(s, "large", test_tcp_large_transfer, 20);
	testutil_add(s, "lars_split", test_lars_split, 10);
	testutil_add(s, "lars_trickle", test_lars_trickle, 15);
	testutil_add(s, "lars_coalesced", test_lars_coalesced, 10);
	testutil_add(s, "lars_oversize", test_lars_tcp_oversize, 10);
	testutil_add(s, "lars_good_then_oversize", test_lars_tcp_good_then_oversize, 10);
	testutil_add(s, "lars_udp", test_lars_udp_bad_datagrams, 15);
}
