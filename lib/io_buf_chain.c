/*
 * io_buf_chain.c - chains of buffers for scatter/gather I/O.
 *
 * A chain is buffers linked through io_buf.next, first to last, ending in
 * NULL.  Its data is the unprocessed bytes of each buffer in chain order.
 * These functions map a chain onto struct iovec arrays for writev/sendmsg
 * (the data) and readv/recvmsg (the free room), and account what such a
 * call moved: io_buf_chain_consume() after a write, io_buf_chain_produce()
 * after a read.
 *
 * Invariant kept for readers: the room is only ever the tail of the last
 * buffer that holds data plus the whole of every buffer after it, so bytes
 * read into a chain land after the bytes already in it, in order.  None of
 * these functions allocates, and none makes a system call.
 */
#include "config.h"

#include "bufpool_internal.h"

/* The buffer from which room begins: the last one holding data, or the
 * first of the chain when none does. */
static struct io_buf *chain_room_start(struct io_buf *chain)
{
	struct io_buf *start = chain;

	for (struct io_buf *b = chain; b; b = b->next)
		if (b->length > 0)
			start = b;
	return start;
}

BUFPOOL_API int io_buf_chain_iov(const struct io_buf *chain, struct iovec *iov, int iovcnt)
{
	int n = 0;

	for (const struct io_buf *b = chain; b && n < iovcnt; b = b->next) {
		if (b->length == 0)
			continue;
		iov[n].iov_base = b->data + b->head;
		iov[n].iov_len = b->length;
		n++;
	}
	return n;
}

BUFPOOL_API int io_buf_chain_iov_space(struct io_buf *chain, struct iovec *iov, int iovcnt)
{
	int n = 0;

	for (struct io_buf *b = chain_room_start(chain); b && n < iovcnt; b = b->next) {
		if (b->length == 0)
			b->head = 0; /* an empty buffer offers all of it */
		size_t room = io_buf_space(b);
		if (room == 0)
			continue;
		iov[n].iov_base = io_buf_tail(b);
		iov[n].iov_len = room;
		n++;
	}
	return n;
}

BUFPOOL_API size_t io_buf_chain_produce(struct io_buf *chain, size_t len)
{
	size_t done = 0;

	/* The same walk as io_buf_chain_iov_space(), so the bytes go where
	 * that iovec array pointed. */
	for (struct io_buf *b = chain_room_start(chain); b && done < len; b = b->next) {
		if (b->length == 0)
			b->head = 0;
		size_t room = io_buf_space(b);
		size_t take = len - done < room ? len - done : room;
		b->length += take;
		done += take;
	}
	return done;
}

BUFPOOL_API size_t io_buf_chain_consume(struct io_buf **chain, size_t len, bufpool_t *pool)
{
	size_t done = 0;
	struct io_buf *b = *chain;

	while (b) {
		done += io_buf_pop(b, len - done);
		if (b->length > 0)
			break; /* len ran out inside this buffer */
		if (!pool) {
			/* Kept, empty, for the caller to read into again. */
			if (done == len)
				break;
			b = b->next;
			continue;
		}
		struct io_buf *next = b->next;
		b->next = NULL;
		bufpool_revert(pool, b);
		b = next;
		*chain = b;
		if (done == len && (!b || b->length > 0))
			break;
	}
	return done;
}

BUFPOOL_API size_t io_buf_chain_length(const struct io_buf *chain)
{
	size_t n = 0;

	for (const struct io_buf *b = chain; b; b = b->next)
		n += b->length;
	return n;
}
