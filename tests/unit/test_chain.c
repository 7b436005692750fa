/*
 * test_chain.c - unit tests of buffer chains for scatter/gather I/O.
 *
 * Covers: io_buf_chain_iov (data of every tier in order, consumed heads,
 * empty buffers skipped, the iovcnt bound), io_buf_chain_iov_space (room
 * only from the last buffer holding data on, empty buffers offered whole),
 * io_buf_chain_produce (the bytes land where the space iovecs pointed,
 * bounded by the room), io_buf_chain_consume (inside one buffer, across
 * buffers, without a pool keeping the emptied buffers, with one reverting
 * them, more than the chain holds), io_buf_chain_length.  End to end: a
 * chain of every tier (13 MiB) streamed through a pipe and through a
 * stream socketpair with writev/readv and sendmsg/recvmsg, non-blocking
 * with small kernel buffers so writes and reads are partial, and the
 * received stream checked byte for byte; the pool has every buffer back
 * at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* F_SETPIPE_SZ */
#endif
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static bufpool_t *tch_pool;

static void tch_setup(void)
{
	tch_pool = testutil_pool_new(64 * MiB, 1);
}

static void tch_teardown(void)
{
	bufpool_destroy(tch_pool);
	tch_pool = NULL;
}

/* Byte i of a stream: varies with position, so a byte out of place shows. */
static unsigned char tch_byte(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 9) + 7u);
}

static void tch_fill_stream(char *p, size_t len, size_t pos)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)tch_byte(pos + i);
}

/* A chain of one buffer per tier, smallest first. */
static struct io_buf *tch_chain_every_tier(void)
{
	struct io_buf *first = NULL, **link = &first;

	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		struct io_buf *b = bufpool_alloc(tch_pool, bufpool_tier_size(t));
		ck_assert_ptr_nonnull(b);
		*link = b;
		link = &b->next;
	}
	return first;
}

static void tch_chain_revert(struct io_buf *c)
{
	while (c) {
		struct io_buf *next = c->next;
		bufpool_revert(tch_pool, c);
		c = next;
	}
}

static void tch_assert_all_back(void)
{
	struct bufpool_stats st;

	testutil_assert_stats(tch_pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, 0);
}

START_TEST(test_iov_data)
{
	struct io_buf *c = tch_chain_every_tier();
	struct iovec iov[BUFPOOL_TIERS + 1];
	size_t pos = 0, total = 0;

	/* Every tier full but for a consumed head of 100 bytes; the 64K one
	 * empty, so it is skipped. */
	unsigned t = 0;
	for (struct io_buf *b = c; b; b = b->next, t++) {
		if (t == 2)
			continue;
		b->head = 100;
		b->length = b->capacity - 100;
		tch_fill_stream(b->data + b->head, b->length, pos);
		pos += b->length;
		total += b->length;
	}
	ck_assert_uint_eq(io_buf_chain_length(c), total);
	int n = io_buf_chain_iov(c, iov, BUFPOOL_TIERS + 1);
	ck_assert_int_eq(n, BUFPOOL_TIERS - 1);
	pos = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(iov[i].iov_len, bufpool_tier_size(i < 2 ? (unsigned)i : (unsigned)i + 1) - 100);
		const unsigned char *p = iov[i].iov_base;
		ck_assert_uint_eq(p[0], tch_byte(pos));
		pos += iov[i].iov_len;
		ck_assert_uint_eq(p[iov[i].iov_len - 1], tch_byte(pos - 1));
	}
	ck_assert_uint_eq(pos, total);
	/* The bound. */
	ck_assert_int_eq(io_buf_chain_iov(c, iov, 3), 3);
	ck_assert_int_eq(io_buf_chain_iov(c, iov, 0), 0);
	ck_assert_int_eq(io_buf_chain_iov(NULL, iov, 3), 0);
	tch_chain_revert(c);
	tch_assert_all_back();
}
END_TEST

START_TEST(test_iov_space_produce)
{
	struct io_buf *c = tch_chain_every_tier();
	struct io_buf *b0 = c, *b1 = c->next, *b2 = b1->next;
	struct iovec iov[BUFPOOL_TIERS];

	/* Data in b0 and b1; b2 empty with a stale head.  Room is b1's tail
	 * and everything after it, never b0's tail (bytes would land out of
	 * order). */
	b0->length = 10;
	b1->head = 5;
	b1->length = 20;
	b2->head = 999;
	int n = io_buf_chain_iov_space(c, iov, BUFPOOL_TIERS);
	ck_assert_int_eq(n, BUFPOOL_TIERS - 1);
	ck_assert_ptr_eq(iov[0].iov_base, b1->data + 25);
	ck_assert_uint_eq(iov[0].iov_len, b1->capacity - 25);
	ck_assert_ptr_eq(iov[1].iov_base, b2->data);
	ck_assert_uint_eq(b2->head, 0);
	ck_assert_uint_eq(iov[1].iov_len, b2->capacity);

	/* Produce as a read of that much would: fills b1, then part of b2. */
	size_t got = io_buf_chain_produce(c, b1->capacity - 25 + 1000);
	ck_assert_uint_eq(got, b1->capacity - 25 + 1000);
	ck_assert_uint_eq(b0->length, 10);
	ck_assert_uint_eq(b1->head + b1->length, b1->capacity);
	ck_assert_uint_eq(b2->length, 1000);
	/* Room now starts in b2. */
	n = io_buf_chain_iov_space(c, iov, 1);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_eq(iov[0].iov_base, b2->data + 1000);

	/* More than the room: bounded. */
	size_t room = 0;
	for (struct io_buf *b = b2; b; b = b->next)
		room += io_buf_space(b);
	ck_assert_uint_eq(io_buf_chain_produce(c, room + 12345), room);
	ck_assert_int_eq(io_buf_chain_iov_space(c, iov, BUFPOOL_TIERS), 0);
	tch_chain_revert(c);
}
END_TEST

START_TEST(test_consume_keep)
{
	struct io_buf *c = tch_chain_every_tier();
	struct io_buf *first = c, *b1 = c->next;

	first->length = 100;
	b1->length = 50;
	b1->next->length = 10;
	/* Inside the first buffer. */
	ck_assert_uint_eq(io_buf_chain_consume(&c, 40, NULL), 40);
	ck_assert_ptr_eq(c, first);
	ck_assert_uint_eq(first->head, 40);
	/* Across: the first emptied but kept (cleared), into the second. */
	ck_assert_uint_eq(io_buf_chain_consume(&c, 60 + 20, NULL), 80);
	ck_assert_ptr_eq(c, first);
	ck_assert_uint_eq(first->length, 0);
	ck_assert_uint_eq(first->head, 0);
	ck_assert_uint_eq(b1->head, 20);
	ck_assert_uint_eq(b1->length, 30);
	/* More than there is: all of it. */
	ck_assert_uint_eq(io_buf_chain_consume(&c, 1000, NULL), 40);
	ck_assert_uint_eq(io_buf_chain_length(c), 0);
	tch_chain_revert(c);
	tch_assert_all_back();
}
END_TEST

START_TEST(test_consume_revert)
{
	struct io_buf *c = tch_chain_every_tier();
	struct io_buf *b1 = c->next, *b2 = b1->next, *b3 = b2->next;
	struct bufpool_stats st;

	c->length = 100;
	b1->length = 50;
	b2->length = 0; /* empty in the middle: reverted when reached */
	b3->length = 10;
	ck_assert_uint_eq(io_buf_chain_consume(&c, 100, tch_pool), 100);
	ck_assert_ptr_eq(c, b1); /* the first went back to the pool */
	ck_assert_uint_eq(io_buf_chain_consume(&c, 55, tch_pool), 55);
	ck_assert_ptr_eq(c, b3); /* b1 emptied, b2 empty: both back */
	ck_assert_uint_eq(b3->head, 5);
	bufpool_stats(tch_pool, &st);
	ck_assert_uint_eq(st.bytes_in_use, bufpool_tier_size(3) + bufpool_tier_size(4) +
						bufpool_tier_size(5) + bufpool_tier_size(6));
	/* All of it: every buffer back, the chain NULL. */
	ck_assert_uint_eq(io_buf_chain_consume(&c, SIZE_MAX, tch_pool), 5);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(io_buf_chain_consume(&c, 10, tch_pool), 0);
	tch_assert_all_back();
}
END_TEST

/* ---- streams through real descriptors -------------------------------- */

enum tch_io { TCH_RW, TCH_MSG };

static ssize_t tch_write(int fd, struct iovec *iov, int n, enum tch_io how)
{
	if (how == TCH_RW)
		return writev(fd, iov, n);
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static ssize_t tch_read(int fd, struct iovec *iov, int n, enum tch_io how)
{
	if (how == TCH_RW)
		return readv(fd, iov, n);
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	return recvmsg(fd, &m, 0);
}

/*
 * Send a chain of every tier, full of the stream pattern, from wfd to rfd
 * (both non-blocking, small kernel buffers): writev/sendmsg from the
 * chain's data, consume what went (reverting emptied buffers), readv/
 * recvmsg into a receive chain of every tier, produce what came, check and
 * consume the received bytes.  Counts the partial writes and reads.
 */
static void tch_stream(int wfd, int rfd, enum tch_io how)
{
	struct io_buf *out = tch_chain_every_tier();
	struct io_buf *in = tch_chain_every_tier();
	struct iovec iov[BUFPOOL_TIERS];
	size_t total = 0, sent = 0, checked = 0;
	unsigned partial_w = 0, partial_r = 0;

	for (struct io_buf *b = out; b; b = b->next) {
		b->length = b->capacity;
		tch_fill_stream(b->data, b->length, total);
		total += b->length;
	}
	while (checked < total) {
		struct pollfd pf[2] = {{.fd = wfd, .events = POLLOUT}, {.fd = rfd, .events = POLLIN}};
		ck_assert_int_ge(poll(out ? pf : pf + 1, out ? 2 : 1, 5000), 1);
		if (out) {
			int n = io_buf_chain_iov(out, iov, BUFPOOL_TIERS);
			ck_assert_int_gt(n, 0);
			size_t want = 0;
			for (int i = 0; i < n; i++)
				want += iov[i].iov_len;
			ssize_t w = tch_write(wfd, iov, n, how);
			if (w < 0) {
				ck_assert_int_eq(errno, EAGAIN);
			} else {
				partial_w += (size_t)w < want;
				ck_assert_uint_eq(io_buf_chain_consume(&out, (size_t)w, tch_pool),
						  (size_t)w);
				sent += (size_t)w;
				ck_assert_uint_eq(io_buf_chain_length(out), total - sent);
			}
		}
		int n = io_buf_chain_iov_space(in, iov, BUFPOOL_TIERS);
		ck_assert_int_gt(n, 0);
		size_t room = 0;
		for (int i = 0; i < n; i++)
			room += iov[i].iov_len;
		ssize_t r = tch_read(rfd, iov, n, how);
		if (r < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			continue;
		}
		ck_assert_int_gt(r, 0); /* no EOF before the end */
		partial_r += (size_t)r < room;
		ck_assert_uint_eq(io_buf_chain_produce(in, (size_t)r), (size_t)r);
		/* Check the received bytes, in chain order, then consume them
		 * keeping the buffers for the next read. */
		n = io_buf_chain_iov(in, iov, BUFPOOL_TIERS);
		for (int i = 0; i < n; i++) {
			const unsigned char *p = iov[i].iov_base;
			for (size_t k = 0; k < iov[i].iov_len; k++)
				if (p[k] != tch_byte(checked + k))
					ck_abort_msg("byte %zu: got %u want %u", checked + k, p[k],
						     tch_byte(checked + k));
			checked += iov[i].iov_len;
		}
		io_buf_chain_consume(&in, SIZE_MAX, NULL);
	}
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(sent, total);
	ck_assert_uint_gt(partial_w, 0);
	ck_assert_uint_gt(partial_r, 0);
	tch_chain_revert(in);
	tch_assert_all_back();
}

static void tch_nonblock(int fd)
{
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

START_TEST(test_stream_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 16 * 1024), 0);
	tch_nonblock(p[0]);
	tch_nonblock(p[1]);
	tch_stream(p[1], p[0], TCH_RW);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A stream socketpair with small kernel buffers, streamed through. */
static void tch_stream_socketpair(enum tch_io how)
{
	int sv[2], sz = 32 * 1024;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	tch_nonblock(sv[0]);
	tch_nonblock(sv[1]);
	tch_stream(sv[0], sv[1], how);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_stream_socket_rw)
{
	tch_stream_socketpair(TCH_RW);
}
END_TEST

START_TEST(test_stream_socket_msg)
{
	tch_stream_socketpair(TCH_MSG);
}
END_TEST

static Suite *tch_suite(void)
{
	Suite *s = suite_create("io_buf_chain");
	TCase *tc = tcase_create("chain");

	tcase_add_checked_fixture(tc, tch_setup, tch_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_iov_data);
	tcase_add_test(tc, test_iov_space_produce);
	tcase_add_test(tc, test_consume_keep);
	tcase_add_test(tc, test_consume_revert);
	tcase_add_test(tc, test_stream_pipe);
	tcase_add_test(tc, test_stream_socket_rw);
	tcase_add_test(tc, test_stream_socket_msg);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(tch_suite(), NULL);
}
