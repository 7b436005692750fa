/*
 * test_iobuf.c - unit tests of the io_buf operations.
 *
 * Covers: io_buf_clear, io_buf_space and io_buf_tail, io_buf_pop (less
 * than, exactly and more than the unprocessed length), io_buf_adjust,
 * io_buf_copy (offset source, exact fit, a smaller destination -> ENOSPC
 * with the destination unchanged), io_buf_append (all or nothing, moving
 * data to the front when the tail is short), io_buf_read_fd and
 * io_buf_write_fd over pipes and stream and datagram socketpairs: EOF,
 * ENOSPC when full, EAGAIN on an empty non-blocking descriptor, partial
 * writes, EPIPE without SIGPIPE, and no syscall for an empty buffer.
 * Buffers come from a private pool made by the fixture.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* F_SETPIPE_SZ */
#endif
#include "config.h"

#include "testutil_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)

static bufpool_t *tio_pool;

static void tio_setup(void)
{
	tio_pool = testutil_pool_new(16 * 1024 * KiB, 1);
}

static void tio_teardown(void)
{
	bufpool_destroy(tio_pool);
	tio_pool = NULL;
}

static struct io_buf *tio_buf(size_t cap)
{
	struct io_buf *b = bufpool_alloc(tio_pool, cap);

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->capacity, cap);
	return b;
}

/* Append len pattern bytes (seed) and check the call succeeded. */
static void tio_append_pattern(struct io_buf *b, size_t len, uint64_t seed)
{
	char tmp[16 * 1024];

	ck_assert_uint_le(len, sizeof(tmp));
	testutil_fill(tmp, len, seed);
	ck_assert_int_eq(io_buf_append(b, tmp, len), 0);
}

/* The unprocessed bytes of b equal bytes [off, off+len) of pattern seed. */
static void tio_assert_content(struct io_buf *b, size_t off, size_t len,
			       uint64_t seed)
{
	char tmp[16 * 1024];

	ck_assert_uint_le(off + len, sizeof(tmp));
	ck_assert_uint_eq(b->length, len);
	testutil_fill(tmp, off + len, seed);
	ck_assert_mem_eq(b->data + b->head, tmp + off, len);
}

static void tio_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* ---- in-memory operations --------------------------------------------- */

START_TEST(test_clear)
{
	struct io_buf *b = tio_buf(4 * KiB);

	tio_append_pattern(b, 100, 1);
	io_buf_pop(b, 10);
	io_buf_clear(b);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 0);
	ck_assert_uint_eq(b->capacity, 4 * KiB);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_space_tail)
{
	struct io_buf *b = tio_buf(4 * KiB);

	ck_assert_uint_eq(io_buf_space(b), 4 * KiB);
	ck_assert_ptr_eq(io_buf_tail(b), b->data);
	tio_append_pattern(b, 100, 1);
	ck_assert_uint_eq(io_buf_space(b), 4 * KiB - 100);
	ck_assert_ptr_eq(io_buf_tail(b), b->data + 100);
	io_buf_pop(b, 40);
	ck_assert_uint_eq(io_buf_space(b), 4 * KiB - 100);
	ck_assert_ptr_eq(io_buf_tail(b), b->data + 100);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_pop)
{
	struct io_buf *b = tio_buf(4 * KiB);

	ck_assert_uint_eq(io_buf_pop(b, 10), 0); /* empty */
	tio_append_pattern(b, 100, 2);
	ck_assert_uint_eq(io_buf_pop(b, 0), 0);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(io_buf_pop(b, 30), 30);
	ck_assert_uint_eq(b->head, 30);
	tio_assert_content(b, 30, 70, 2);
	ck_assert_uint_eq(io_buf_pop(b, 1000), 70); /* more than length */
	ck_assert_uint_eq(b->length, 0);
	ck_assert_uint_eq(b->head, 0);

	tio_append_pattern(b, 50, 3);
	io_buf_pop(b, 20);
	ck_assert_uint_eq(io_buf_pop(b, 30), 30); /* exactly length */
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 0);
	ck_assert_uint_eq(io_buf_pop(b, SIZE_MAX), 0);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_adjust)
{
	struct io_buf *b = tio_buf(4 * KiB);

	io_buf_adjust(b); /* empty, head 0 */
	ck_assert_uint_eq(b->head, 0);
	tio_append_pattern(b, 100, 4);
	io_buf_adjust(b); /* head 0: nothing moves */
	tio_assert_content(b, 0, 100, 4);
	io_buf_pop(b, 40);
	io_buf_adjust(b);
	ck_assert_uint_eq(b->head, 0);
	tio_assert_content(b, 40, 60, 4);
	ck_assert_uint_eq(io_buf_space(b), 4 * KiB - 60);

	b->head = 10; /* consumed bytes, nothing left */
	b->length = 0;
	io_buf_adjust(b);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 0);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_copy)
{
	struct io_buf *src = tio_buf(16 * KiB), *dst = tio_buf(16 * KiB);

	tio_append_pattern(dst, 10, 9); /* overwritten by the copy */
	tio_append_pattern(src, 5100, 5);
	io_buf_pop(src, 100);
	ck_assert_int_eq(io_buf_copy(dst, src), 0);
	ck_assert_uint_eq(dst->head, 0);
	tio_assert_content(dst, 100, 5000, 5);
	tio_assert_content(src, 100, 5000, 5); /* source unchanged */

	io_buf_clear(src);
	ck_assert_int_eq(io_buf_copy(dst, src), 0); /* empty source */
	ck_assert_uint_eq(dst->head, 0);
	ck_assert_uint_eq(dst->length, 0);
	bufpool_revert(tio_pool, src);
	bufpool_revert(tio_pool, dst);
}
END_TEST

START_TEST(test_copy_exact_fit)
{
	struct io_buf *src = tio_buf(16 * KiB), *dst = tio_buf(4 * KiB);

	tio_append_pattern(src, 4 * KiB + 7, 6);
	io_buf_pop(src, 7);
	ck_assert_int_eq(io_buf_copy(dst, src), 0);
	tio_assert_content(dst, 7, 4 * KiB, 6);
	bufpool_revert(tio_pool, src);
	bufpool_revert(tio_pool, dst);
}
END_TEST

START_TEST(test_copy_too_small)
{
	struct io_buf *src = tio_buf(16 * KiB), *dst = tio_buf(4 * KiB);

	tio_append_pattern(dst, 30, 7);
	io_buf_pop(dst, 10);
	tio_append_pattern(src, 4 * KiB + 1, 8);
	errno = 0;
	ck_assert_int_eq(io_buf_copy(dst, src), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(dst->head, 10);
	tio_assert_content(dst, 10, 20, 7);
	tio_assert_content(src, 0, 4 * KiB + 1, 8);
	bufpool_revert(tio_pool, src);
	bufpool_revert(tio_pool, dst);
}
END_TEST

START_TEST(test_append_all_or_nothing)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char junk[16];

	memset(junk, 'x', sizeof(junk));
	tio_append_pattern(b, 4 * KiB - 10, 10);
	errno = 0;
	ck_assert_int_eq(io_buf_append(b, junk, 11), -1);
	ck_assert_int_eq(errno, ENOSPC);
	tio_assert_content(b, 0, 4 * KiB - 10, 10);
	ck_assert_int_eq(io_buf_append(b, junk, 10), 0);
	ck_assert_uint_eq(b->length, 4 * KiB);
	ck_assert_mem_eq(b->data + 4 * KiB - 10, junk, 10);
	ck_assert_int_eq(io_buf_append(b, junk, 0), 0);
	errno = 0;
	ck_assert_int_eq(io_buf_append(b, junk, 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(b->length, 4 * KiB);
	errno = 0;
	ck_assert_int_eq(io_buf_append(b, junk, SIZE_MAX), -1);
	ck_assert_int_eq(errno, ENOSPC);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* The tail is too short but the buffer has room: data moves to the front. */
START_TEST(test_append_adjusts)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char more[100];

	testutil_fill(more, sizeof(more), 12);
	tio_append_pattern(b, 4 * KiB, 11);
	io_buf_pop(b, 100);
	ck_assert_uint_eq(io_buf_space(b), 0);
	ck_assert_int_eq(io_buf_append(b, more, 60), 0);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 4 * KiB - 40);
	ck_assert_mem_eq(b->data + b->length - 60, more, 60);
	b->length -= 60;
	tio_assert_content(b, 100, 4 * KiB - 100, 11);
	b->length += 60;
	ck_assert_int_eq(io_buf_append(b, more, 40), 0); /* exactly full */
	ck_assert_uint_eq(b->length, 4 * KiB);
	errno = 0;
	ck_assert_int_eq(io_buf_append(b, more, 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* ---- file descriptors: reading ----------------------------------------- */

static void tio_write_pattern(int fd, size_t len, uint64_t seed)
{
	char tmp[16 * 1024];

	ck_assert_uint_le(len, sizeof(tmp));
	testutil_fill(tmp, len, seed);
	ck_assert_int_eq(write(fd, tmp, len), (ssize_t)len);
}

static void tio_read_basic(int rfd, int wfd)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char tmp[50];

	tio_write_pattern(wfd, 100, 20);
	ck_assert_int_eq(io_buf_read_fd(b, rfd), 100);
	tio_assert_content(b, 0, 100, 20);
	io_buf_pop(b, 60);
	tio_write_pattern(wfd, 50, 21);
	ck_assert_int_eq(io_buf_read_fd(b, rfd), 50);
	ck_assert_uint_eq(b->head, 60);
	ck_assert_uint_eq(b->length, 90);
	testutil_fill(tmp, 50, 21);
	ck_assert_mem_eq(b->data + 100, tmp, 50);
	b->length = 40;
	tio_assert_content(b, 60, 40, 20);
	b->length = 90;

	close(wfd);
	ck_assert_int_eq(io_buf_read_fd(b, rfd), 0); /* EOF */
	ck_assert_uint_eq(b->length, 90);
	ck_assert_uint_eq(b->head, 60);
	close(rfd);
	bufpool_revert(tio_pool, b);
}

START_TEST(test_read_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	tio_read_basic(p[0], p[1]);
}
END_TEST

START_TEST(test_read_socketpair)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	tio_read_basic(sv[0], sv[1]);
}
END_TEST

/* A datagram socket: one read_fd, one datagram. */
START_TEST(test_read_datagrams)
{
	struct io_buf *b = tio_buf(4 * KiB);
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	tio_write_pattern(sv[1], 10, 30);
	tio_write_pattern(sv[1], 20, 31);
	ck_assert_int_eq(io_buf_read_fd(b, sv[0]), 10);
	tio_assert_content(b, 0, 10, 30);
	io_buf_clear(b);
	ck_assert_int_eq(io_buf_read_fd(b, sv[0]), 20);
	tio_assert_content(b, 0, 20, 31);
	close(sv[0]);
	close(sv[1]);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_read_full)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char c;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	tio_append_pattern(b, 4 * KiB, 40);
	tio_write_pattern(p[1], 1, 41);
	errno = 0;
	ck_assert_int_eq(io_buf_read_fd(b, p[0]), -1);
	ck_assert_int_eq(errno, ENOSPC);
	tio_assert_content(b, 0, 4 * KiB, 40);
	ck_assert_int_eq(read(p[0], &c, 1), 1); /* still in the pipe */
	close(p[0]);
	close(p[1]);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* The tail is empty but bytes were consumed: read_fd moves data first. */
START_TEST(test_read_adjusts)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char tmp[200];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	tio_append_pattern(b, 4 * KiB, 42);
	io_buf_pop(b, 100);
	tio_write_pattern(p[1], 200, 43);
	ck_assert_int_eq(io_buf_read_fd(b, p[0]), 100);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_uint_eq(b->length, 4 * KiB);
	testutil_fill(tmp, sizeof(tmp), 43);
	ck_assert_mem_eq(b->data + 4 * KiB - 100, tmp, 100);
	b->length -= 100;
	tio_assert_content(b, 100, 4 * KiB - 100, 42);
	close(p[0]);
	close(p[1]);
	bufpool_revert(tio_pool, b);
}
END_TEST

static void tio_read_eagain(int rfd, int wfd)
{
	struct io_buf *b = tio_buf(4 * KiB);

	tio_nonblock(rfd);
	tio_append_pattern(b, 10, 50);
	errno = 0;
	ck_assert_int_eq(io_buf_read_fd(b, rfd), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	tio_assert_content(b, 0, 10, 50);
	close(rfd);
	close(wfd);
	bufpool_revert(tio_pool, b);
}

START_TEST(test_read_eagain)
{
	int p[2], sv[2];

	ck_assert_int_eq(pipe(p), 0);
	tio_read_eagain(p[0], p[1]);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	tio_read_eagain(sv[0], sv[1]);
}
END_TEST

START_TEST(test_read_badfd)
{
	struct io_buf *b = tio_buf(4 * KiB);

	errno = 0;
	ck_assert_int_eq(io_buf_read_fd(b, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(b->length, 0);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* ---- file descriptors: writing ----------------------------------------- */

START_TEST(test_write_empty_no_syscall)
{
	struct io_buf *b = tio_buf(4 * KiB);

	errno = 0;
	ck_assert_int_eq(io_buf_write_fd(b, -1), 0);
	ck_assert_int_eq(errno, 0);
	bufpool_revert(tio_pool, b);
}
END_TEST

static void tio_write_basic(int rfd, int wfd)
{
	struct io_buf *b = tio_buf(4 * KiB);
	char tmp[1000], got[1000];

	tio_append_pattern(b, 1000, 60);
	io_buf_pop(b, 10);
	ck_assert_int_eq(io_buf_write_fd(b, wfd), 990);
	ck_assert_uint_eq(b->length, 0);
	ck_assert_uint_eq(b->head, 0);
	ck_assert_int_eq(read(rfd, got, 990), 990);
	testutil_fill(tmp, sizeof(tmp), 60);
	ck_assert_mem_eq(got, tmp + 10, 990);
	close(rfd);
	close(wfd);
	bufpool_revert(tio_pool, b);
}

START_TEST(test_write_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	tio_write_basic(p[0], p[1]);
}
END_TEST

START_TEST(test_write_socketpair)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	tio_write_basic(sv[1], sv[0]);
}
END_TEST

/* Read everything available on a non-blocking fd; returns the byte count
 * and checks it continues pattern seed at offset *off. */
static size_t tio_drain(int rfd, size_t *off, uint64_t seed)
{
	char tmp[16 * 1024], got[16 * 1024];
	size_t total = 0;
	ssize_t n;

	testutil_fill(tmp, sizeof(tmp), seed);
	for (int i = 0; i < 64 && (n = read(rfd, got, sizeof(got) - *off)) > 0; i++) {
		ck_assert_mem_eq(got, tmp + *off, (size_t)n);
		*off += (size_t)n;
		total += (size_t)n;
		if (*off == sizeof(tmp))
			break;
	}
	return total;
}

/* A small non-blocking pipe: writes are partial, then EAGAIN with the
 * buffer unchanged; all bytes arrive in order. */
START_TEST(test_write_partial)
{
	struct io_buf *b = tio_buf(16 * KiB);
	size_t off = 0;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
#ifdef F_SETPIPE_SZ
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096); /* else 64K: no partial write */
#endif
	tio_nonblock(p[0]);
	tio_nonblock(p[1]);
	tio_append_pattern(b, 16 * KiB, 70);
	for (int i = 0; i < 64 && b->length > 0; i++) {
		size_t before = b->length, head = b->head;
		ssize_t n = io_buf_write_fd(b, p[1]);
		if (n < 0) {
			ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
			ck_assert_uint_eq(b->length, before);
			ck_assert_uint_eq(b->head, head);
			ck_assert_uint_gt(tio_drain(p[0], &off, 70), 0);
			continue;
		}
		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(b->length, before - (size_t)n);
	}
	ck_assert_uint_eq(b->length, 0);
	tio_drain(p[0], &off, 70);
	ck_assert_uint_eq(off, 16 * KiB);
	close(p[0]);
	close(p[1]);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* A full non-blocking socket: EAGAIN, buffer unchanged. */
START_TEST(test_write_eagain_socket)
{
	struct io_buf *b = tio_buf(16 * KiB);
	int sv[2], sz = 4096, full = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	tio_nonblock(sv[0]);
	for (int i = 0; i < 1000 && !full; i++) {
		if (b->length == 0)
			tio_append_pattern(b, 16 * KiB, 71);
		size_t before = b->length;
		errno = 0;
		if (io_buf_write_fd(b, sv[0]) < 0) {
			ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
			ck_assert_uint_eq(b->length, before);
			full = 1;
		}
	}
	ck_assert_msg(full, "socket never filled up");
	close(sv[0]);
	close(sv[1]);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* Writing to a socket whose peer is gone is EPIPE, not SIGPIPE. */
START_TEST(test_write_epipe)
{
	struct io_buf *b = tio_buf(4 * KiB);
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	tio_append_pattern(b, 100, 72);
	errno = 0;
	ck_assert_int_eq(io_buf_write_fd(b, sv[0]), -1);
	ck_assert_int_eq(errno, EPIPE);
	tio_assert_content(b, 0, 100, 72);
	close(sv[0]);
	bufpool_revert(tio_pool, b);
}
END_TEST

START_TEST(test_write_badfd)
{
	struct io_buf *b = tio_buf(4 * KiB);

	tio_append_pattern(b, 100, 73);
	errno = 0;
	ck_assert_int_eq(io_buf_write_fd(b, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	tio_assert_content(b, 0, 100, 73);
	bufpool_revert(tio_pool, b);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *tio_suite(void)
{
	Suite *s = suite_create("io_buf");
	TCase *tc;

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, tio_setup, tio_teardown);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_space_tail);
	tcase_add_test(tc, test_pop);
	tcase_add_test(tc, test_adjust);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_copy_exact_fit);
	tcase_add_test(tc, test_copy_too_small);
	tcase_add_test(tc, test_append_all_or_nothing);
	tcase_add_test(tc, test_append_adjusts);
	suite_add_tcase(s, tc);

	tc = tcase_create("read_fd");
	tcase_add_checked_fixture(tc, tio_setup, tio_teardown);
	tcase_add_test(tc, test_read_pipe);
	tcase_add_test(tc, test_read_socketpair);
	tcase_add_test(tc, test_read_datagrams);
	tcase_add_test(tc, test_read_full);
	tcase_add_test(tc, test_read_adjusts);
	tcase_add_test(tc, test_read_eagain);
	tcase_add_test(tc, test_read_badfd);
	suite_add_tcase(s, tc);

	tc = tcase_create("write_fd");
	tcase_add_checked_fixture(tc, tio_setup, tio_teardown);
	tcase_add_test(tc, test_write_empty_no_syscall);
	tcase_add_test(tc, test_write_pipe);
	tcase_add_test(tc, test_write_socketpair);
	tcase_add_test(tc, test_write_partial);
	tcase_add_test(tc, test_write_eagain_socket);
	tcase_add_test(tc, test_write_epipe);
	tcase_add_test(tc, test_write_badfd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(tio_suite(), NULL);
}
