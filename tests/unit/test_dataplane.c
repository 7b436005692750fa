/*
 * test_dataplane.c - the TCP core and its buffer policy (tcp.c, tcp_buf.c)
 * on the epoll data path, driven through the narrow context they take
 * (struct dataplane): no worker, no daemon, no threads.
 *
 * The test is the worker: it makes the loop, the pool and a listener on
 * 127.0.0.1, turns the loop itself, and holds pool memory itself, so it
 * can order what the end-to-end contract suite (tests/e2e/test_contract.c)
 * can only race: who gets memory first at MEM_LIMIT.  Real sockets; the
 * worker's ask for memory (dataplane_short_of_memory) is counted here.
 *
 * Covers points of the memory contract (tcp.h):
 *  - frames_first (3): a frame in progress waits for its whole buffer;
 *    a new read waits behind it although the pool could give the read
 *    its 16K, and memory that comes back, enough for the frame only,
 *    goes to the frame first;
 *  - evicts_one (4): connections stuck TCP_EVICT_MS less 1 ms are not
 *    evicted; at TCP_EVICT_MS one refused buffer evicts one connection,
 *    the one stuck longest, and its memory is usable at once (the loop's
 *    clock is set by the test there);
 *  - one_buffer (2, 5): 1 MiB through an echo connection never takes more
 *    than one buffer of at most TCP_READ_MAX, its reads grow a tier, and
 *    the idle connection holds nothing.
 */
#include "config.h"

#include "dataplane.h"
#include "lars.h"
#include "tcp_conn.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define TURN_MS 10

static struct {
	bufpool_t *pool;
	struct dataplane dp;
	struct stats stats;
	_Atomic uint64_t ring_bytes;
	_Atomic unsigned connections;
	_Atomic bool stopping;
	struct listener listener;
	struct port port;
	struct sockaddr_in addr;
	unsigned asked_memory; /* dataplane_short_of_memory() calls */
} fx;

/* The worker's side of an ask for memory: here only counted. */
void dataplane_short_of_memory(struct dataplane *dp)
{
	ck_assert_ptr_eq(dp, &fx.dp);
	fx.asked_memory++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A data plane on epoll over a pool of mem_limit bytes, and a TCP listener
 * of the given mode whose accepted sockets have sndbuf bytes of send
 * buffer (0: the kernel's default). */
static void fx_start(size_t mem_limit, enum conf_mode mode, int sndbuf)
{
	struct bufpool_config cfg;
	socklen_t alen = sizeof(fx.addr);

	memset(&fx, 0, sizeof(fx));
	bufpool_config_init(&cfg);
	cfg.mem_limit = mem_limit;
	fx.pool = bufpool_new(&cfg);
	ck_assert_ptr_nonnull(fx.pool);
	ck_assert_int_eq(loop_open_epoll(&fx.dp.loop), 0);
	fx.dp.conf.max_connections = 100;
	fx.dp.conf.max_message = 1u << 20;
	fx.dp.pool = fx.pool;
	fx.dp.stats = &fx.stats;
	fx.dp.ring_bytes = &fx.ring_bytes;
	fx.dp.connections = &fx.connections;
	fx.dp.stopping = &fx.stopping;
	fx.dp.workers = 1;
	tcp_init(&fx.dp.tcp, &tcp_epoll_path);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	if (sndbuf > 0) /* accepted sockets inherit it */
		ck_assert_int_eq(setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	fx.addr.sin_family = AF_INET;
	fx.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&fx.addr, sizeof(fx.addr)), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&fx.addr, &alen), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	fx.listener.fd = lfd;
	fx.listener.proto = CONF_PROTO_TCP;
	fx.listener.mode = mode;
	fx.port.listener = &fx.listener;
	fx.port.fd = lfd;
	fx.port.handler.fn = tcp_on_listener;
	ck_assert_int_eq(loop_watch(&fx.dp.loop, lfd, LOOP_READ, &fx.port.handler), 0);
}

static void fx_stop(void)
{
	tcp_close_all(&fx.dp);
	tcp_reap(&fx.dp.tcp);
	ck_assert_uint_eq(fx.connections, 0);
	tcp_fini(&fx.dp.tcp);
	loop_close(&fx.dp.loop);
	close(fx.listener.fd);
	struct bufpool_stats st;
	bufpool_stats(fx.pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0); /* every buffer came back */
	bufpool_destroy(fx.pool);
}

/* One loop turn, as a worker's. */
static void turn(void)
{
	ck_assert_int_ge(loop_wait(&fx.dp.loop, TURN_MS), 0);
	tcp_reap(&fx.dp.tcp);
}

/* Connect a client (non-blocking, rcvbuf bytes of receive buffer, 0: the
 * default) and turn until larsd's side is open; that side in *c. */
static int client(int rcvbuf, struct conn **c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t before = fx.dp.tcp.n;

	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&fx.addr, sizeof(fx.addr)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (uint64_t end = now_ms() + 2000; fx.dp.tcp.n == before && now_ms() < end;)
		turn();
	ck_assert_uint_eq(fx.dp.tcp.n, before + 1);
	*c = TAILQ_LAST(&fx.dp.tcp.lru, conn_list);
	return fd;
}

/* Send out and receive inlen bytes into in, turning the loop between;
 * at most 5 s.  The bytes received. */
static size_t exchange(int fd, const void *out, size_t outlen, void *in, size_t inlen)
{
	size_t sent = 0, got = 0;

	for (uint64_t end = now_ms() + 5000; got < inlen && now_ms() < end;) {
		if (sent < outlen) {
			ssize_t n = send(fd, (const char *)out + sent, outlen - sent, MSG_NOSIGNAL);
			ck_assert_msg(n > 0 || errno == EAGAIN, "send: %s", strerror(errno));
			sent += n > 0 ? (size_t)n : 0;
		}
		turn();
		ssize_t n = recv(fd, (char *)in + got, inlen - got, 0);
		ck_assert_msg(n > 0 || (n < 0 && errno == EAGAIN), "recv: %zd %s", n,
			      strerror(errno));
		got += n > 0 ? (size_t)n : 0;
	}
	return got;
}

/* Wait (turning the loop) for a connection to be starved. */
static void turn_until_starved(const struct conn *c)
{
	for (uint64_t end = now_ms() + 2000; !c->starved && now_ms() < end;)
		turn();
	ck_assert(c->starved);
}

START_TEST(frames_first)
{
	enum { BODY = 40 * 1024, FRAME = LARS_HEADER_SIZE + BODY, FIRST = 108 };
	static unsigned char frame[FRAME], back[FRAME];
	unsigned char small[LARS_HEADER_SIZE + 2] = {0}, small_back[sizeof(small)];
	struct conn *f, *n;

	fx_start(128 * KiB, CONF_MODE_LARS, 0);
	lars_header_put(frame, 1, BODY);
	testutil_fill(frame + LARS_HEADER_SIZE, BODY, 7);
	lars_header_put(small, 2, 2);

	/* 96K of the 128K are held elsewhere, as six 16K buffers: the frame's
	 * connection gets a 16K read buffer, then 16K is left. */
	struct io_buf *held[6];
	for (int i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(held[i] = bufpool_alloc(fx.pool, 16 * KiB));

	/* The frame's header and 100 bytes of its body: the connection has its
	 * 16K read buffer and waits for one that holds the whole frame. */
	int fc = client(0, &f);
	ck_assert_int_eq(send(fc, frame, FIRST, 0), FIRST);
	turn_until_starved(f);
	ck_assert_ptr_nonnull(f->buf);
	ck_assert_uint_eq(f->buf->length, FIRST);
	ck_assert_uint_eq(f->next_frame, FRAME);
	ck_assert_uint_eq(fx.dp.tcp.n_starved_frames, 1);
	ck_assert_uint_eq(stats_get(&fx.stats.tcp_stalled_nomem), 1);
	ck_assert_uint_eq(fx.asked_memory, 1);

	/* A new connection's read waits behind the frame, though the pool
	 * has room for its 16K. */
	int nc = client(0, &n);
	ck_assert_int_eq(send(nc, small, sizeof(small), 0), (ssize_t)sizeof(small));
	turn_until_starved(n);
	ck_assert_ptr_null(n->buf);
	ck_assert_uint_eq(fx.dp.tcp.n_starved, 1);
	struct bufpool_stats st;
	bufpool_stats(fx.pool, &st);
	ck_assert_uint_le(st.bytes_owned + 16 * KiB, st.mem_limit);
	ck_assert_uint_eq(stats_get(&fx.stats.tcp_stalled_nomem), 2);

	/* 48K comes back: 64K free, the frame's 64K-tier buffer and nothing
	 * more.  Had the new read taken its 16K first, the frame would
	 * starve again; it goes first, and its 16K read buffer, given back
	 * once its bytes are moved, serves the new read. */
	for (int i = 0; i < 3; i++)
		bufpool_revert(fx.pool, held[i]);
	tcp_retry_starved(&fx.dp);
	ck_assert(!f->starved && !n->starved);
	ck_assert_uint_ge(f->buf->capacity, FRAME);
	ck_assert_uint_eq(f->buf->length, FIRST);
	ck_assert_uint_eq(exchange(nc, NULL, 0, small_back, sizeof(small_back)),
			  sizeof(small));
	ck_assert_mem_eq(small_back, small, sizeof(small));

	/* The rest of the frame, and the whole frame back, byte for byte. */
	ck_assert_uint_eq(exchange(fc, frame + FIRST, FRAME - FIRST, back, FRAME), FRAME);
	ck_assert_mem_eq(back, frame, FRAME);
	ck_assert_uint_eq(stats_get(&fx.stats.tcp_replies), 2);
	for (int i = 3; i < 6; i++)
		bufpool_revert(fx.pool, held[i]);
	close(fc);
	close(nc);
	fx_stop();
}
END_TEST

/* A client that sends and never reads, until larsd's side is stuck. */
static int stuck_client(struct conn **c)
{
	static char junk[256 * 1024];
	int fd = client(4096, c);

	for (uint64_t end = now_ms() + 3000; !(*c)->stuck && now_ms() < end;) {
		ssize_t n = send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		ck_assert(n > 0 || errno == EAGAIN);
		turn();
	}
	ck_assert((*c)->stuck);
	return fd;
}

START_TEST(evicts_one)
{
	struct io_buf *held[128];
	size_t n_held = 0;
	struct conn *s1, *s2, *n;
	char hello[] = "hello", back[sizeof(hello)];

	fx_start(1024 * KiB, CONF_MODE_ECHO, 4096);
	int c1 = stuck_client(&s1);
	int c2 = stuck_client(&s2);

	/* The rest of the pool is held elsewhere. */
	while (n_held < 128 && (held[n_held] = bufpool_alloc(fx.pool, 16 * KiB)))
		n_held++;
	ck_assert_uint_lt(n_held, 128);

	/* A new connection is refused its read buffer. */
	int nc = client(0, &n);
	ck_assert_int_eq(send(nc, hello, sizeof(hello), 0), (ssize_t)sizeof(hello));
	for (uint64_t end = now_ms() + 2000;
	     !n->starved && stats_get(&fx.stats.tcp_closed_stuck) == 0 && now_ms() < end;)
		turn();
	if (stats_get(&fx.stats.tcp_closed_stuck) == 0) {
		/* The boundary, on the loop's clock (the test's, as it is the
		 * worker's): stuck for TCP_EVICT_MS less 1 ms, nobody is
		 * evicted and the connection waits; at TCP_EVICT_MS the retry's
		 * one refused buffer evicts one connection, the one stuck
		 * longest, and takes its memory at once. */
		ck_assert(n->starved);
		const struct conn *oldest = TAILQ_FIRST(&fx.dp.tcp.stuck);
		const struct conn *next = TAILQ_NEXT(oldest, stuck_link);
		ck_assert_ptr_nonnull(next);
		fx.dp.loop.now_ms = oldest->stuck_since_ms + TCP_EVICT_MS - 1;
		tcp_retry_starved(&fx.dp);
		ck_assert(n->starved);
		ck_assert_uint_eq(stats_get(&fx.stats.tcp_closed_stuck), 0);
		ck_assert_uint_eq(fx.dp.tcp.n, 3);
		fx.dp.loop.now_ms = oldest->stuck_since_ms + TCP_EVICT_MS;
		tcp_retry_starved(&fx.dp);
		ck_assert_ptr_eq(TAILQ_FIRST(&fx.dp.tcp.stuck), next);
	} else {
		/* A machine so slow that TCP_EVICT_MS passed between the first
		 * stuck connection and the refusal: the first refusal evicted. */
		fprintf(stderr, "evicts_one: %d ms passed before the refusal; "
			"the boundary is not checked\n", TCP_EVICT_MS);
	}
	ck_assert_uint_eq(stats_get(&fx.stats.tcp_closed_stuck), 1);
	ck_assert(!n->starved);
	ck_assert_uint_eq(fx.dp.tcp.n, 2);
	ck_assert_uint_eq(exchange(nc, NULL, 0, back, sizeof(back)), sizeof(hello));
	ck_assert_mem_eq(back, hello, sizeof(hello));

	while (n_held > 0)
		bufpool_revert(fx.pool, held[--n_held]);
	close(c1);
	close(c2);
	close(nc);
	fx_stop();
}
END_TEST

START_TEST(one_buffer)
{
	enum { TOTAL = 1024 * 1024 };
	char *out = malloc(TOTAL), *in = malloc(TOTAL);
	size_t sent = 0, got = 0, held_turns = 0;
	struct conn *c;

	ck_assert(out && in);
	testutil_fill(out, TOTAL, 3);
	/* Small socket buffers both ways, so that larsd's side holds output
	 * the client has not taken at the end of some turns. */
	fx_start(64 * 1024 * KiB, CONF_MODE_ECHO, 4096);
	int fd = client(4096, &c);
	for (uint64_t end = now_ms() + 10000; got < TOTAL && now_ms() < end;) {
		ssize_t n = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
		ck_assert(n > 0 || errno == EAGAIN);
		sent += n > 0 ? (size_t)n : 0;
		turn();
		/* All the memory in use is the connection's one buffer. */
		struct bufpool_stats st;
		bufpool_stats(fx.pool, &st);
		ck_assert_uint_eq(st.bytes_in_use, c->buf ? c->buf->capacity : 0);
		ck_assert_uint_le(st.bytes_in_use, TCP_READ_MAX);
		held_turns += c->buf != NULL;
		n = recv(fd, in + got, TOTAL - got, 0);
		ck_assert(n > 0 || (n < 0 && errno == EAGAIN));
		got += n > 0 ? (size_t)n : 0;
	}
	ck_assert_uint_eq(got, TOTAL);
	ck_assert(testutil_verify(in, TOTAL, 3));
	ck_assert_uint_gt(held_turns, 0);
	ck_assert_uint_gt(c->read_size, TCP_READ_MIN); /* its reads grew a tier */
	turn();
	ck_assert_ptr_null(c->buf); /* idle: nothing held */

	/* The client closes: so does larsd's side, and its memory is back. */
	close(fd);
	for (uint64_t end = now_ms() + 2000; fx.dp.tcp.n > 0 && now_ms() < end;)
		turn();
	ck_assert_uint_eq(fx.dp.tcp.n, 0);
	free(out);
	free(in);
	fx_stop();
}
END_TEST

static Suite *dataplane_suite(void)
{
	Suite *s = suite_create("dataplane");

	testutil_add(s, "frames_first", frames_first, 20);
	testutil_add(s, "evicts_one", evicts_one, 20);
	testutil_add(s, "one_buffer", one_buffer, 20);
	return s;
}

int main(void)
{
	return testutil_main(dataplane_suite(), NULL);
}
