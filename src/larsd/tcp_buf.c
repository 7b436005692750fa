/*
 * tcp_buf.c - a connection's one buffer (contract points 2 to 5 of tcp.h),
 * the same for every data path: how big it is, where it comes from at
 * MEM_LIMIT, what in it may be sent, and when it goes back.
 *
 * Growing read sizes make bulk transfers take few large reads while
 * chatty connections hold little memory.  A lars frame gets a buffer that
 * holds it whole, so a frame in progress never needs a second one.
 */
#include "config.h"

#include "tcp_conn.h"
#include "dataplane.h"
#include "lars.h"
#include "log.h"

static struct log_limit nomem_limit = LOG_LIMIT_INIT(10000);

void conn_release_buf(struct dataplane *dp, struct conn *c)
{
	if (c->buf) {
		bufpool_revert(dp->pool, c->buf);
		c->buf = NULL;
	}
	c->ready = 0;
	c->next_frame = 0;
}

void conn_adopt_buf(struct dataplane *dp, struct conn *c, struct io_buf *b)
{
	(void)dp; /* the other buffer functions' shape */
	c->buf = b;
}

/* Does the connection's own buffer hold `need` bytes?  Then make room at
 * its end if all of it was sent. */
static bool room_in_own(struct conn *c, size_t need)
{
	if (!c->buf || c->buf->capacity < need)
		return false;
	if (io_buf_space(c->buf) == 0)
		io_buf_adjust(c->buf);
	return true;
}

/* Move the connection's bytes into nb, a larger buffer: it outgrew its
 * own, by a lars frame or by reads that fill it. */
static bool move_to(struct dataplane *dp, struct conn *c, struct io_buf *nb)
{
	if (c->buf && io_buf_copy(nb, c->buf) < 0) {
		bufpool_revert(dp->pool, nb);
		return false;
	}
	if (c->buf)
		bufpool_revert(dp->pool, c->buf);
	c->buf = nb;
	return true;
}

/* The pool said no, to this connection's `least` bytes. */
static struct io_buf *alloc_hard(struct dataplane *dp, struct conn *c, size_t least)
{
	struct io_buf *nb;

	/* Frames in progress go first: a new read waits behind them. */
	if (!c->buf && dp->tcp.n_starved_frames > 0)
		return NULL;
	tcp_reclaim(dp); /* idle memory first: the io_uring ring's buffers */
	if ((nb = bufpool_alloc(dp->pool, least)))
		return nb;
	if (tcp_evict_stuck(dp) && (nb = bufpool_alloc(dp->pool, least)))
		return nb;
	return NULL;
}

enum conn_room conn_get_room(struct dataplane *dp, struct conn *c)
{
	size_t least = c->next_frame > TCP_READ_MIN ? c->next_frame : TCP_READ_MIN;
	size_t want = c->read_size > least ? c->read_size : least;
	struct io_buf *nb;

	if (room_in_own(c, want))
		goto ok;
	/* Frames in progress first (point 3): while one of them waits for
	 * memory, a connection that holds none takes nothing, even if the
	 * pool could give it something now. */
	bool behind = !c->buf && dp->tcp.n_starved_frames > 0;
	nb = behind ? NULL : bufpool_alloc(dp->pool, want);
	if (!nb && !behind && want > least) {
		c->read_size = TCP_READ_MIN; /* no big reads for now */
		if (room_in_own(c, least))
			goto ok;
		nb = bufpool_alloc(dp->pool, least);
	}
	if (!nb && !(nb = alloc_hard(dp, c, least))) {
		stats_add(&dp->stats->tcp_stalled_nomem, 1);
		log_limited(&nomem_limit, LOG_WARNING,
			    "buffer pool at MEM_LIMIT (%zu bytes): pausing reads",
			    bufpool_mem_limit(dp->pool));
		dataplane_short_of_memory(dp);
		conn_starve(dp, c);
		return ROOM_NO_MEMORY;
	}
	if (!move_to(dp, c, nb)) {
		log_err("tcp: cannot move %zu bytes to a %zu-byte buffer",
			c->buf->length, nb->capacity);
		return ROOM_BROKEN;
	}
ok:
	return ROOM_OK;
}

/* New bytes arrived: how many of them may be echoed now?  A frame above
 * max_message ends the reading as if the peer had closed, and the
 * connection is reset once the whole frames before it are sent. */
static void conn_frame(struct dataplane *dp, struct conn *c)
{
	struct io_buf *b = c->buf;

	if (c->mode == CONF_MODE_ECHO) {
		stats_add(&dp->stats->tcp_replies, 1);
		stats_add(&c->port->stats.replies, 1);
		c->ready = b->length;
		return;
	}
	size_t complete, frames, next;
	const unsigned char *start = (const unsigned char *)b->data + b->head + c->ready;
	enum lars_status st = lars_scan(start, b->length - c->ready, dp->conf.max_message,
					&complete, &frames, &next);
	stats_add(&dp->stats->tcp_replies, frames);
	stats_add(&c->port->stats.replies, frames);
	c->ready += complete;
	c->next_frame = next;
	if (st == LARS_TOO_LONG) {
		stats_add(&dp->stats->tcp_closed_oversize, 1);
		c->next_frame = 0;
		c->peer_closed = true;
		c->reset = true;
	}
}

void conn_received(struct dataplane *dp, struct conn *c, size_t n)
{
	c->buf->length += n;
	stats_add(&dp->stats->bytes_in, n);
	stats_add(&c->port->stats.bytes_in, n);
	if (n == c->buf->capacity && c->read_size < TCP_READ_MAX)
		c->read_size *= 4; /* the next buffer, one tier up */
	conn_frame(dp, c);
}

void conn_sent(struct dataplane *dp, struct conn *c, size_t n)
{
	stats_add(&dp->stats->bytes_out, n);
	stats_add(&c->port->stats.bytes_out, n);
	stuck_unlink(dp, c); /* the peer reads: not stuck */
	io_buf_pop(c->buf, n);
	c->ready -= n;
	if (c->buf->length == 0)
		c->next_frame = 0;
}
