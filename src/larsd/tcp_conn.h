/*
 * tcp_conn.h - one TCP connection, as the core (tcp.c, tcp_buf.c) and
 * the data paths (tcp_epoll.c, tcp_uring.c) share it.  Private to them.
 *
 * The core owns the connection: it admits it, keeps the lists (idle,
 * stuck, starved), decides its buffer (tcp_buf.c: one buffer, its size,
 * the frames in it), evicts, drains and frees.  A data path moves the
 * bytes: it reads into the buffer the core gives, sends what the core
 * marked ready, and tells the core what happened.  Each path embeds
 * struct conn first in a struct of its own (conn_size), behind one table
 * of operations chosen once per worker, as nginx's ngx_event_actions_t.
 * Every function is passed the worker's data plane (dataplane.h): its
 * loop, settings, pool and counters, and nothing else of the worker.
 */
#ifndef LARSD_TCP_CONN_H
#define LARSD_TCP_CONN_H

#include "conf.h"
#include "tcp.h"

#include <bufpool.h>

struct port;

struct conn {
	int fd;
	enum conf_mode mode;
	struct port *port;   /* the listener slot it came from: its counters */
	/* Its one buffer (tcp_buf.c), and what is in it. */
	struct io_buf *buf;
	size_t ready;        /* bytes at buf->head that may be sent: for lars, whole frames */
	size_t next_frame;   /* size of the partial lars frame after them, if known */
	size_t read_size;    /* the buffer size the next read asks for */
	bool peer_closed;    /* no more input: EOF, or a frame above max_message */
	bool reset;          /* close with a reset (a frame above max_message) */
	bool shut_wr;        /* shutdown sent while stopping */
	bool closed;
	bool starved, stuck;
	bool deferred;       /* on tcp_conns.deferred (starved is set too) */
	uint64_t last_ms;          /* last activity (idle_timeout) */
	uint64_t stuck_since_ms;
	TAILQ_ENTRY(conn) lru_link;     /* tcp_conns.lru */
	TAILQ_ENTRY(conn) stuck_link;   /* tcp_conns.stuck, while stuck */
	TAILQ_ENTRY(conn) starved_link; /* tcp_conns.starved(_frames) or deferred */
	struct conn *closed_next;       /* tcp_conns.closed */
};

/* A data path: what the core asks of it. */
struct tcp_path {
	const char *name;
	size_t conn_size;  /* its struct, struct conn first */
	/* Serve a new connection (the core set its fields).  0, or -1: the
	 * core closes the socket and frees c. */
	int (*open)(struct dataplane *dp, struct conn *c);
	/* It waited for memory (starved), or was deferred: try again. */
	void (*resume)(struct dataplane *dp, struct conn *c);
	/* Stopping: send what is ready, half-close, discard the client's
	 * input until its EOF, then conn_close().  Called every turn. */
	void (*drain)(struct dataplane *dp, struct conn *c);
	/* conn_close(): end the connection's I/O and close its socket.  When
	 * this returns the kernel no longer touches c->buf.  true if requests
	 * are still in flight: the path frees c with tcp_conn_free() once
	 * the last of them is over; false: the core frees it. */
	bool (*close)(struct dataplane *dp, struct conn *c);
	/* Optional.  Give idle memory back to the pool. */
	void (*reclaim)(struct dataplane *dp);
	/* Optional.  After each loop turn; second: once a second. */
	void (*after_turn)(struct dataplane *dp, bool second);
};

/* A connection reads into a 16K buffer at first (the io_uring ring's
 * receive buffers are this size too); one whose reads fill the buffer
 * moves up a tier at its next buffer, to TCP_READ_MAX at most. */
#define TCP_READ_MIN ((size_t)16 << 10)
#define TCP_READ_MAX ((size_t)256 << 10)

/* ---- tcp.c: the core ----------------------------------------------------- */

void conn_touch(struct dataplane *dp, struct conn *c);
/* Close now (with a reset if c->reset); freed at tcp_reap(), or by the
 * data path when its requests are over.  Closing twice is a no-op. */
void conn_close(struct dataplane *dp, struct conn *c);
void tcp_conn_free(struct dataplane *dp, struct conn *c);
/* Wait on a starved list until memory may be there (tcp_retry_starved). */
void conn_starve(struct dataplane *dp, struct conn *c);
/* Wait to be resumed at the next retry, for a reason of the data path's
 * own: not for memory, so it holds back no other connection. */
void conn_defer(struct dataplane *dp, struct conn *c);
void stuck_append(struct dataplane *dp, struct conn *c);
void stuck_unlink(struct dataplane *dp, struct conn *c);

/* ---- tcp_buf.c: the connection's one buffer ------------------------------ */

/* Why conn_get_room() gave no room. */
enum conn_room { ROOM_OK, ROOM_NO_MEMORY, ROOM_BROKEN };

/* Give c a buffer big enough for the next read (for lars, for the whole
 * partial frame), its unsent bytes moved to the front if none is left at
 * its end (none: output the peer has not taken, back pressure): the size
 * its reads have earned, or, short of memory, the least that will do.
 * May move c's bytes to a new buffer: only while no request of the data
 * path refers to c->buf.  At MEM_LIMIT it reclaims idle memory, evicts
 * (contract point 4), and else starves c (ROOM_NO_MEMORY: resume() comes
 * when memory may be there). */
enum conn_room conn_get_room(struct dataplane *dp, struct conn *c);
/* A buffer filled by the io_uring ring becomes c's own (c has none). */
void conn_adopt_buf(struct dataplane *dp, struct conn *c, struct io_buf *b);
void conn_release_buf(struct dataplane *dp, struct conn *c);
/* n bytes were read into c->buf's tail: count them, grow the next read
 * size, and find what may be sent. */
void conn_received(struct dataplane *dp, struct conn *c, size_t n);
/* n of the ready bytes were sent: count them, drop them; not stuck. */
void conn_sent(struct dataplane *dp, struct conn *c, size_t n);

#endif /* LARSD_TCP_CONN_H */
