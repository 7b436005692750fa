/*
 * io_buf.c - operations on one buffer.
 *
 * A buffer holds bytes data[head .. head+length): the unprocessed part.
 * Bytes before head were consumed; bytes after it are free tail room.  Every
 * operation keeps head + length <= capacity, and none of them allocates:
 * when something does not fit, the call fails with ENOSPC and changes
 * nothing.
 */
#include "config.h"

#include "bufpool_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

BUFPOOL_API void io_buf_clear(struct io_buf *buf)
{
	buf->head = 0;
	buf->length = 0;
}

BUFPOOL_API size_t io_buf_pop(struct io_buf *buf, size_t len)
{
	if (len >= buf->length) {
		len = buf->length;
		io_buf_clear(buf);
		return len;
	}
	buf->head += len;
	buf->length -= len;
	return len;
}

BUFPOOL_API void io_buf_adjust(struct io_buf *buf)
{
	if (buf->head == 0)
		return;
	if (buf->length > 0)
		memmove(buf->data, buf->data + buf->head, buf->length);
	buf->head = 0;
}

BUFPOOL_API int io_buf_copy(struct io_buf *dst, const struct io_buf *src)
{
	if (dst == src) {
		io_buf_adjust(dst);
		return 0;
	}
	if (src->length > dst->capacity) {
		errno = ENOSPC;
		return -1;
	}
	memmove(dst->data, src->data + src->head, src->length);
	dst->head = 0;
	dst->length = src->length;
	return 0;
}

BUFPOOL_API size_t io_buf_space(const struct io_buf *buf)
{
	return buf->capacity - buf->head - buf->length;
}

BUFPOOL_API char *io_buf_tail(struct io_buf *buf)
{
	return buf->data + buf->head + buf->length;
}

BUFPOOL_API int io_buf_append(struct io_buf *buf, const void *src, size_t len)
{
	if (len > buf->capacity - buf->length) {
		errno = ENOSPC;
		return -1;
	}
	if (len > io_buf_space(buf))
		io_buf_adjust(buf);
	memcpy(io_buf_tail(buf), src, len);
	buf->length += len;
	return 0;
}

BUFPOOL_API ssize_t io_buf_read_fd(struct io_buf *buf, int fd)
{
	if (io_buf_space(buf) == 0)
		io_buf_adjust(buf);
	size_t room = io_buf_space(buf);
	if (room == 0) {
		errno = ENOSPC;
		return -1;
	}
	ssize_t n = read(fd, io_buf_tail(buf), room);
	if (n > 0)
		buf->length += (size_t)n;
	return n;
}

BUFPOOL_API ssize_t io_buf_write_fd(struct io_buf *buf, int fd)
{
	if (buf->length == 0)
		return 0;
	/* MSG_NOSIGNAL: a peer that went away is an EPIPE for the caller, not
	 * a SIGPIPE that kills the process. */
	ssize_t n = send(fd, buf->data + buf->head, buf->length, MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
		n = write(fd, buf->data + buf->head, buf->length);
	if (n > 0)
		io_buf_pop(buf, (size_t)n);
	return n;
}
