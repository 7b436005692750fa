/*
 * st_malformed.c - random and hostile input on every kind of listener.
 *
 * For each input the reply larsd owes is worked out here with the rules of
 * larsd.conf(5): on a lars TCP stream, exactly the whole valid frames
 * before the first header with a negative or too large msglen (which
 * closes the connection and counts tcp_closed_oversize) or before an
 * incomplete frame; a lars datagram is answered only when its header
 * agrees with its length; echo listeners answer everything unchanged.
 * Every reply is compared byte for byte, every drop counter to the
 * prediction, while a checked background load keeps running.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MESSAGE 65527u /* the default max_message */
#define STREAM_CAP 65536

#define RANDOM_CONNS 400
#define HALF_CONNS 200 /* shut down and read */
#define HALF_GONE 200  /* closed or reset without reading */
#define SPLIT_CONNS 12
#define ECHO_TCP_CONNS 100
#define LARS_DATAGRAMS 1000
#define ECHO_DATAGRAMS 500

static const int32_t hostile_lengths[] = {
	-1, -8, INT32_MIN, INT32_MAX, (int32_t)MAX_MESSAGE + 1, 65536, 8388600, 0x7fffff00,
};
#define N_HOSTILE (sizeof(hostile_lengths) / sizeof(hostile_lengths[0]))

static int32_t le32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

/* The reply owed to a lars TCP stream b that then ends; *bad: it closes on
 * a bad header (counted as tcp_closed_oversize). */
static size_t lars_expect_tcp(const unsigned char *b, size_t len, bool *bad)
{
	size_t off = 0;

	*bad = false;
	while (len - off >= 8) {
		int32_t ml = le32(b + off + 4);
		if (ml < 0 || (uint32_t)ml > MAX_MESSAGE) {
			*bad = true;
			break;
		}
		if (len - off - 8 < (size_t)ml)
			break;
		off += 8 + (size_t)ml;
	}
	return off;
}

enum verdict { V_OK, V_MALFORMED, V_OVERSIZE };

static enum verdict lars_expect_udp(const unsigned char *b, size_t len)
{
	if (len < 8)
		return V_MALFORMED;
	int32_t ml = le32(b + 4);
	if (ml < 0 || (uint32_t)ml > MAX_MESSAGE)
		return V_OVERSIZE;
	return (size_t)ml == len - 8 ? V_OK : V_MALFORMED;
}

static void random_bytes(uint64_t *rng, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(st_rand(rng) >> 24);
}

static size_t put_frame(uint64_t *rng, unsigned char *p, int32_t id, uint32_t body)
{
	lh_lars_header(p, id, (int32_t)body);
	random_bytes(rng, p + 8, body);
	return 8 + (size_t)body;
}

/* A stream of valid frames, garbage and hostile headers, maybe cut short. */
static size_t random_stream(uint64_t *rng, unsigned char *out)
{
	size_t len = 0;
	int pieces = 1 + (int)(st_rand(rng) % 6);

	for (int i = 0; i < pieces && len < STREAM_CAP - 4096; i++) {
		unsigned r = (unsigned)(st_rand(rng) % 10);
		if (r < 5) {
			len += put_frame(rng, out + len, i, (uint32_t)(st_rand(rng) % 1500));
		} else if (r < 7) {
			size_t n = 1 + st_rand(rng) % 64;
			random_bytes(rng, out + len, n);
			len += n;
		} else if (r == 7) {
			lh_lars_header(out + len, i, hostile_lengths[st_rand(rng) % N_HOSTILE]);
			len += 8;
		} else if (r == 8) { /* a big valid frame that never completes */
			lh_lars_header(out + len, i, (int32_t)MAX_MESSAGE);
			random_bytes(rng, out + len + 8, 100);
			len += 108;
		} else {
			size_t n = 1 + st_rand(rng) % 2000;
			random_bytes(rng, out + len, n);
			len += n;
		}
	}
	if (st_rand(rng) % 3 == 0 && len > 1)
		len = 1 + st_rand(rng) % (len - 1);
	return len;
}

/* ---- many TCP clients at once ------------------------------------------ */

#define BATCH 50
#define CLOSE_MS 1500 /* larsd must have closed by then */

/* One client: send `in`, shut down our side, read until larsd closes. */
struct xch {
	unsigned char *in, *back;
	size_t len, sent, got;
	int fd;
	bool shut;
	int end; /* 0: still open, 1: EOF, 2: reset */
};

static void xch_alloc(struct xch *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].in = malloc(STREAM_CAP);
		x[i].back = malloc(STREAM_CAP);
		ck_assert(x[i].in && x[i].back);
		x[i].fd = -1;
	}
}

static void xch_free(struct xch *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].in);
		free(x[i].back);
	}
}

/* Run n clients to l at once (those with fd < 0 connect first), until
 * every one is closed by larsd or CLOSE_MS passed with nothing moving. */
static void xch_run(struct xch *x, size_t n, const struct lh_listen *l)
{
	struct pollfd pf[BATCH];
	size_t idx[BATCH], open = 0;
	uint64_t deadline = lh_now_ms() + CLOSE_MS;

	for (size_t i = 0; i < n; i++) {
		if (x[i].fd < 0) {
			x[i].fd = lh_tcp_connect(l->address, l->port, NULL);
			ck_assert_msg(x[i].fd >= 0, "connect: %s", strerror(errno));
		}
		lh_nonblock(x[i].fd);
		x[i].got = 0;
		x[i].end = 0;
		x[i].shut = false;
		open++;
	}
	while (open > 0 && lh_now_ms() < deadline) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++) {
			if (x[i].end)
				continue;
			if (!x[i].shut && x[i].sent == x[i].len) {
				shutdown(x[i].fd, SHUT_WR);
				x[i].shut = true;
			}
			pf[np] = (struct pollfd){x[i].fd, (short)(POLLIN | (x[i].shut ? 0 : POLLOUT)), 0};
			idx[np++] = i;
		}
		if (poll(pf, np, 20) <= 0)
			continue;
		for (size_t k = 0; k < np; k++) {
			struct xch *c = &x[idx[k]];
			if (pf[k].revents & POLLOUT) {
				ssize_t m = send(c->fd, c->in + c->sent, c->len - c->sent,
						 MSG_DONTWAIT | MSG_NOSIGNAL);
				if (m > 0)
					c->sent += (size_t)m;
				else if (m < 0 && errno != EAGAIN && errno != EINTR)
					c->sent = c->len; /* closed on us: read what is there */
			}
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				unsigned char sink[4096];
				unsigned char *dst = c->got < STREAM_CAP ? c->back + c->got : sink;
				size_t room = c->got < STREAM_CAP ? STREAM_CAP - c->got : sizeof(sink);
				ssize_t m = recv(c->fd, dst, room, MSG_DONTWAIT);
				if (m > 0) {
					c->got += (size_t)m;
					deadline = lh_now_ms() + CLOSE_MS;
				} else if (m == 0 || (errno != EAGAIN && errno != EINTR)) {
					c->end = m == 0 ? 1 : 2;
					open--;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		close(x[i].fd);
		x[i].fd = -1;
	}
}

struct tally {
	size_t conns, exact, short_reset, wrong, hung;
	size_t hung_echoed; /* of the hung: got all they were owed first */
	long long bad_headers;  /* predicted tcp_closed_oversize */
	uint64_t bytes_back;
};

/* Judge lars clients: exactly the whole frames owed, then closed. */
static void judge_lars(struct xch *x, size_t n, struct tally *t)
{
	for (size_t i = 0; i < n; i++) {
		bool bad;
		size_t want = lars_expect_tcp(x[i].in, x[i].len, &bad);
		bool prefix = x[i].got <= want && memcmp(x[i].back, x[i].in, x[i].got) == 0;
		t->conns++;
		t->bad_headers += bad;
		t->bytes_back += x[i].got;
		if (!x[i].end) {
			t->hung++;
			t->hung_echoed += prefix && x[i].got == want;
		} else if (x[i].got == want && prefix) {
			t->exact++;
		} else if (x[i].end == 2 && prefix) {
			t->short_reset++;
		} else {
			t->wrong++;
		}
	}
}

/* Judge echo clients: everything back unchanged, then closed. */
static void judge_echo(struct xch *x, size_t n, struct tally *t)
{
	for (size_t i = 0; i < n; i++) {
		bool same = x[i].got == x[i].len && memcmp(x[i].back, x[i].in, x[i].len) == 0;
		t->conns++;
		t->bytes_back += x[i].got;
		if (!x[i].end) {
			t->hung++;
			t->hung_echoed += same;
		} else if (same) {
			t->exact++;
		} else {
			t->wrong++;
		}
	}
}

/* Frames sent one byte at a time on several connections at once (and on
 * every third one a hostile header after them, also byte by byte). */
static void split_conns(const struct lh_listen *l, uint64_t *rng, struct xch *x)
{
	size_t most = 0;

	for (int i = 0; i < SPLIT_CONNS; i++) {
		x[i].len = put_frame(rng, x[i].in, 1, 0);
		x[i].len += put_frame(rng, x[i].in + x[i].len, 2, 1);
		x[i].len += put_frame(rng, x[i].in + x[i].len, 3, 57);
		if (i % 3 == 2) {
			lh_lars_header(x[i].in + x[i].len, 4, hostile_lengths[i % N_HOSTILE]);
			x[i].len += 8;
		}
		x[i].sent = 0;
		most = x[i].len > most ? x[i].len : most;
		x[i].fd = lh_tcp_connect(l->address, l->port, NULL);
		ck_assert_int_ge(x[i].fd, 0);
	}
	for (size_t k = 0; k < most; k++) {
		for (int i = 0; i < SPLIT_CONNS; i++)
			if (x[i].sent < x[i].len &&
			    send(x[i].fd, x[i].in + x[i].sent, 1, MSG_NOSIGNAL) == 1)
				x[i].sent++;
		lh_sleep_ms(1);
	}
	for (int i = 0; i < SPLIT_CONNS; i++)
		x[i].sent = x[i].len; /* the rest is lost if a send failed: judged below */
}

/* Whole frames, then part of one. */
static void half_input(uint64_t *rng, struct xch *x)
{
	int k = (int)(st_rand(rng) % 4);

	x->len = 0;
	for (int i = 0; i < k; i++)
		x->len += put_frame(rng, x->in + x->len, i, (uint32_t)(st_rand(rng) % 1000));
	size_t next = put_frame(rng, x->in + x->len, k, (uint32_t)(1 + st_rand(rng) % 1000));
	x->len += 1 + st_rand(rng) % (next - 1); /* 1 .. next-1 bytes of it */
	x->sent = 0;
	x->fd = -1;
}

/* Half a frame, then close() (abrupt: reset) without reading. */
static void half_and_go(const struct lh_listen *l, uint64_t *rng, bool abrupt, struct xch *x)
{
	half_input(rng, x);
	int fd = lh_tcp_connect(l->address, l->port, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert(lh_send_all(fd, x->in, x->len));
	if (abrupt) {
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

/* ---- UDP ------------------------------------------------------------------ */

struct udp_tally {
	size_t sent, answered, wrong, lost;
	long long malformed, oversize; /* predicted drops */
};

/* A batch of lars datagrams: the valid ones must come back (each once,
 * unchanged), nothing else may. */
static void lars_udp_batch(int fd, uint64_t *rng, struct udp_tally *t)
{
	enum { B = 50 };
	static unsigned char dg[B][1600];
	size_t len[B];
	bool valid[B], seen[B];
	size_t n_valid = 0, n_back = 0;

	for (int i = 0; i < B; i++) {
		unsigned r = (unsigned)(st_rand(rng) % 10);
		uint32_t body = (uint32_t)(st_rand(rng) % 1400);
		len[i] = put_frame(rng, dg[i], (int32_t)(t->sent + (size_t)i), body);
		if (r == 4 || r == 5) { /* random bytes, any length */
			len[i] = st_rand(rng) % 200;
			random_bytes(rng, dg[i], len[i]);
		} else if (r == 6) {
			lh_lars_header(dg[i], 0, hostile_lengths[st_rand(rng) % N_HOSTILE]);
		} else if (r == 7) { /* the header lies about the length */
			lh_lars_header(dg[i], 0, (int32_t)body + 1 + (int32_t)(st_rand(rng) % 8));
		} else if (r == 8) {
			lh_lars_header(dg[i], 0, body > 0 ? (int32_t)body - 1 : 5);
		} else if (r == 9) {
			len[i] = st_rand(rng) % 8; /* shorter than a header */
		}
		enum verdict v = lars_expect_udp(dg[i], len[i]);
		valid[i] = v == V_OK;
		seen[i] = false;
		n_valid += valid[i];
		t->malformed += v == V_MALFORMED;
		t->oversize += v == V_OVERSIZE;
		ck_assert_int_eq(send(fd, dg[i], len[i], 0), (ssize_t)len[i]);
	}
	t->sent += B;
	uint64_t end = lh_now_ms() + 1000;
	while (lh_now_ms() < end) {
		/* Once all valid ones are back, wait a little for strays. */
		if (n_back == n_valid && end > lh_now_ms() + 30)
			end = lh_now_ms() + 30;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		unsigned char back[1600];
		ssize_t n = recv(fd, back, sizeof(back), MSG_DONTWAIT);
		if (n < 0)
			continue;
		int match = -1;
		for (int i = 0; i < B && match < 0; i++)
			if (valid[i] && !seen[i] && (size_t)n == len[i] && memcmp(back, dg[i], len[i]) == 0)
				match = i;
		if (match < 0) {
			t->wrong++;
		} else {
			seen[match] = true;
			n_back++;
			t->answered++;
		}
	}
	t->lost += n_valid - n_back;
}

START_TEST(test_malformed_input)
{
	const char *sc = "malformed";
	struct lh_daemon d;
	struct st_load L;
	struct st_load_sum ls;
	struct tally rnd = {0}, hos = {0}, spl = {0}, half = {0}, etcp = {0};
	struct udp_tally lu = {0}, eu = {0};
	static unsigned char in[STREAM_CAP], back[STREAM_CAP];
	static struct xch x[BATCH];
	uint64_t rng = 0x5eed5eedULL;

	lh_init(&d);
	size_t lt = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	size_t et = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t lu_l = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	size_t eu_l = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	st_backlog(&d, lt);
	st_backlog(&d, et);
	lh_start_ok(&d);
	xch_alloc(x, BATCH);
	st_load_init(&L, &d.ls[et], &d.ls[lt], 2, 4, 16384, 4242);
	st_load_start(&L);
	uint64_t t0 = lh_now_ms();

	/* lars TCP: random streams, hostile headers, split, half frames. */
	for (int done = 0; done < RANDOM_CONNS; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			x[i].len = random_stream(&rng, x[i].in);
			x[i].sent = 0;
		}
		xch_run(x, BATCH, &d.ls[lt]);
		judge_lars(x, BATCH, &rnd);
	}
	size_t nh = 0;
	for (size_t h = 0; h < N_HOSTILE; h++) {
		for (int pre = 0; pre < 3; pre++, nh++) { /* 0..2 good frames before it */
			unsigned char *in = x[nh].in;
			size_t len = 0;
			for (int k = 0; k < pre; k++)
				len += put_frame(&rng, in + len, k, (uint32_t)(st_rand(&rng) % 500));
			lh_lars_header(in + len, 99, hostile_lengths[h]);
			len += 8;
			random_bytes(&rng, in + len, 64 * (size_t)pre); /* and trailing bytes */
			x[nh].len = len + 64 * (size_t)pre;
			x[nh].sent = 0;
		}
	}
	xch_run(x, nh, &d.ls[lt]);
	judge_lars(x, nh, &hos);
	split_conns(&d.ls[lt], &rng, x);
	xch_run(x, SPLIT_CONNS, &d.ls[lt]);
	judge_lars(x, SPLIT_CONNS, &spl);
	for (int done = 0; done < HALF_CONNS; done += BATCH) {
		for (int i = 0; i < BATCH; i++)
			half_input(&rng, &x[i]);
		xch_run(x, BATCH, &d.ls[lt]);
		judge_lars(x, BATCH, &half);
	}
	long long conns_before_go = st_stat(&d, "connections");
	for (int i = 0; i < HALF_GONE; i++)
		half_and_go(&d.ls[lt], &rng, i % 2, &x[0]);

	/* Echo TCP: garbage comes back unchanged. */
	for (int done = 0; done < ECHO_TCP_CONNS; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			x[i].len = 1 + st_rand(&rng) % 32768;
			random_bytes(&rng, x[i].in, x[i].len);
			x[i].sent = 0;
		}
		xch_run(x, BATCH, &d.ls[et]);
		judge_echo(x, BATCH, &etcp);
	}

	/* lars UDP in batches, echo UDP one by one. */
	int ufd = lh_udp_socket("127.0.0.1", d.ls[lu_l].port, NULL, 0);
	ck_assert_int_ge(ufd, 0);
	while (lu.sent < LARS_DATAGRAMS)
		lars_udp_batch(ufd, &rng, &lu);
	close(ufd);
	ufd = lh_udp_socket("127.0.0.1", d.ls[eu_l].port, NULL, 0);
	ck_assert_int_ge(ufd, 0);
	for (int i = 0; i < ECHO_DATAGRAMS; i++) {
		size_t len = st_rand(&rng) % 1473;
		random_bytes(&rng, in, len);
		ck_assert_int_eq(send(ufd, in, len, 0), (ssize_t)len);
		eu.sent++;
		struct pollfd p = {ufd, POLLIN, 0};
		if (poll(&p, 1, 1000) <= 0) {
			eu.lost++;
			continue;
		}
		ssize_t n = recv(ufd, back, sizeof(back), MSG_DONTWAIT);
		if (n == (ssize_t)len && memcmp(in, back, len) == 0)
			eu.answered++;
		else
			eu.wrong++;
	}
	close(ufd);
	uint64_t input_ms = lh_now_ms() - t0;

	st_load_finish(&L, 5000);
	st_load_sum(&L, &ls);
	lh_sleep_ms(200);
	long long oversize = st_stat(&d, "tcp_closed_oversize");
	long long malformed = st_stat(&d, "udp_dropped_malformed");
	long long udp_oversize = st_stat(&d, "udp_dropped_oversize");
	long long udp_replies = st_stat(&d, "udp_replies");
	long long conns = st_stat(&d, "connections");
	long long predicted_bad = rnd.bad_headers + hos.bad_headers + spl.bad_headers +
				  half.bad_headers;

	long long in_use = st_stat(&d, "pool_bytes_in_use");
	long long held_open = conns - (long long)L.n;

#define TALLY(t) (t).conns, (t).exact, (t).short_reset, (t).wrong, (t).hung, (t).hung_echoed
#define TALLY_FMT "conns=%zu exact=%zu short_by_reset=%zu wrong=%zu " \
		  "not_closed=%zu (of which fully echoed %zu)"
	st_figure(sc, "lars tcp random streams: " TALLY_FMT " bad_headers=%lld", TALLY(rnd),
		  rnd.bad_headers);
	st_figure(sc, "lars tcp hostile msglen (-1, -8, INT32_MIN, INT32_MAX, max+1, 65536, "
		  "8388600, 0x7fffff00) after 0-2 good frames: " TALLY_FMT, TALLY(hos));
	st_figure(sc, "lars tcp frames byte by byte: " TALLY_FMT, TALLY(spl));
	st_figure(sc, "lars tcp whole frames + part of one, then shutdown(SHUT_WR): " TALLY_FMT,
		  TALLY(half));
	st_figure(sc, "echo tcp garbage (1..32768 random bytes), then shutdown(SHUT_WR): "
		  TALLY_FMT, TALLY(etcp));
	st_figure(sc, "lars tcp part of a frame then close() or reset: conns=%d; connections "
		  "larsd held before them=%lld",
		  HALF_GONE, conns_before_go - (long long)L.n);
	st_figure(sc, "connections larsd still holds after every hostile client closed: %lld "
		  "(pool_bytes_in_use=%lld)",
		  held_open, in_use);
	st_figure(sc, "lars udp: datagrams=%zu answered=%zu wrong=%zu lost=%zu "
		  "predicted malformed=%lld oversize=%lld, counted malformed=%lld oversize=%lld",
		  lu.sent, lu.answered, lu.wrong, lu.lost, lu.malformed, lu.oversize, malformed,
		  udp_oversize);
	st_figure(sc, "echo udp garbage (0..1472 bytes): datagrams=%zu answered=%zu wrong=%zu "
		  "lost=%zu",
		  eu.sent, eu.answered, eu.wrong, eu.lost);
	st_figure(sc, "tcp_closed_oversize=%lld predicted=%lld; background load: "
		  "checked_bytes=%llu wrong=%llu open=%zu/%zu in_flight=%zu; input took %llu ms",
		  oversize, predicted_bad, (unsigned long long)ls.received,
		  (unsigned long long)ls.wrong, ls.open, L.n, ls.in_flight,
		  (unsigned long long)input_ms);

	ck_assert_msg(lh_alive(&d), "larsd died on malformed input");
	ck_assert_msg(rnd.wrong + hos.wrong + spl.wrong + half.wrong + etcp.wrong == 0,
		      "wrong TCP replies: random %zu, hostile %zu, split %zu, half %zu, echo %zu",
		      rnd.wrong, hos.wrong, spl.wrong, half.wrong, etcp.wrong);
	ck_assert_msg(rnd.hung + hos.hung + spl.hung + half.hung + etcp.hung == 0,
		      "larsd did not close %zu connections within %d ms of the client's EOF "
		      "(random %zu, hostile %zu, split %zu, half %zu, echo %zu); it still holds "
		      "%lld connections of clients that closed, pool_bytes_in_use=%lld",
		      rnd.hung + hos.hung + spl.hung + half.hung + etcp.hung, CLOSE_MS, rnd.hung,
		      hos.hung, spl.hung, half.hung, etcp.hung, held_open, in_use);
	ck_assert_msg(rnd.short_reset + hos.short_reset + half.short_reset == 0,
		      "owed frames lost to a reset: random %zu, hostile %zu, half %zu",
		      rnd.short_reset, hos.short_reset, half.short_reset);
	ck_assert_msg(oversize == predicted_bad, "tcp_closed_oversize=%lld, predicted %lld",
		      oversize, predicted_bad);
	ck_assert_msg(lu.wrong == 0 && eu.wrong == 0, "wrong UDP replies: lars %zu, echo %zu",
		      lu.wrong, eu.wrong);
	ck_assert_msg(lu.lost == 0 && eu.lost == 0, "valid datagrams unanswered: lars %zu, "
		      "echo %zu", lu.lost, eu.lost);
	ck_assert_msg(malformed == lu.malformed && udp_oversize == lu.oversize,
		      "udp drops counted malformed=%lld oversize=%lld, predicted %lld and %lld",
		      malformed, udp_oversize, lu.malformed, lu.oversize);
	ck_assert_msg(udp_replies == (long long)(lu.answered + eu.answered),
		      "udp_replies=%lld, %zu answers arrived", udp_replies,
		      lu.answered + eu.answered);
	ck_assert_msg(ls.wrong == 0 && ls.open == L.n && ls.in_flight == 0,
		      "background load: wrong=%llu open=%zu/%zu in_flight=%zu",
		      (unsigned long long)ls.wrong, ls.open, L.n, ls.in_flight);
	ck_assert_msg(held_open == 0, "larsd still holds %lld connections of clients that "
		      "closed", held_open);
	xch_free(x, BATCH);
	st_load_free(&L);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void stress_add_malformed(Suite *s)
{
	testutil_add(s, "malformed_input", test_malformed_input, 60);
}
