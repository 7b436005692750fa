/*
 * tcp.h - TCP connections: accept, echo (RFC 862) and lars framing.
 *
 * A connection holds at most one buffer, taken from the pool when there is
 * something to read and given back as soon as everything in it was sent,
 * so an idle connection holds no buffer memory.  Output that cannot be sent
 * stops reading (back pressure): a client that never reads costs one
 * buffer, never a growing queue.  When the pool is at MEM_LIMIT the
 * connection waits on the starved list and is retried; and a connection
 * whose output has been stuck for TCP_STUCK_EVICT_MS (its peer sends but
 * does not read) is closed to free its buffer for the others.
 *
 * The worker owns one struct tcp_conns and calls the tcp_* functions
 * below; the loop calls tcp_on_listener() and each connection's handler.
 */
#ifndef LARSD_TCP_H
#define LARSD_TCP_H

#include "conf.h"
#include "lars.h"
#include "loop.h"
#include "loop_uring.h"

#include <bufpool.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* The most buffers one send of the io_uring path gathers. */
#define TCP_URING_IOV 8

struct worker;
struct port;

struct conn {
	struct loop_handler handler;
	int fd;           /* -1 once closed, until tcp_reap() frees it */
	enum conf_mode mode;
	struct port *port;/* the listener slot it came from: its counters */
	struct io_buf *buf;
	size_t ready;     /* bytes at buf->head that may be sent: for lars, whole frames */
	size_t next_frame;/* size of the partial lars frame after them, if known */
	size_t read_size; /* the buffer size the next read asks for */
	bool can_read;    /* the socket may have input (edge-triggered) */
	bool can_write;   /* the socket had room at the last try */
	bool peer_closed; /* read returned 0 (or a bad frame ended reading) */
	bool peer_hup;    /* the loop saw the peer's FIN: read on to EOF */
	bool shut_wr;     /* shutdown sent while stopping */
	bool starved;
	bool stuck;       /* output waits for a peer that does not read */
	uint64_t last_ms;
	uint64_t stuck_since_ms;
	TAILQ_ENTRY(conn) lru_link;   /* tcp_conns.lru */
	TAILQ_ENTRY(conn) stuck_link; /* tcp_conns.stuck, while stuck */
	struct conn *starved_next;    /* tcp_conns.starved */
	struct conn *closed_next;     /* tcp_conns.closed */

	/* The io_uring data path (tcp_uring.c); unused under epoll, where
	 * buf, ready and next_frame above hold the connection's bytes. */
	struct conn_uring {
		struct loop_op recv_op;   /* a multishot receive */
		struct loop_op send_op;   /* one send in flight at most */
		struct io_buf *out;       /* received buffers to echo, oldest first */
		struct io_buf *out_tail;  /* the last of them, where small receives land */
		size_t out_len;           /* bytes in out; the first `ready` may go */
		struct lars_stream frames;
		struct msghdr msg;        /* the send in flight */
		struct iovec iov[TCP_URING_IOV];
		unsigned long send_turn;  /* the loop turn the send was queued in */
		bool on;                  /* this connection runs on the ring */
		bool recv_armed;
		bool recv_cancelled;      /* a cancel of the receive is queued */
		bool sending;
		bool closed;              /* closed: freed once no request is left */
	} u;
};

TAILQ_HEAD(conn_list, conn);

/* One worker's connections. */
struct tcp_conns {
	struct conn_list lru;  /* least recently active first (idle_timeout) */
	size_t n;
	struct conn *starved;  /* waiting for a buffer: the pool was at MEM_LIMIT */
	struct conn_list stuck;/* output waits for a peer that does not read,
	                          longest waiting first */
	struct conn *closed;   /* closed this turn; freed by tcp_reap(), as an
	                          event for them may still be in hand */
	int spare_fd;          /* given up to refuse connections past EMFILE */
	size_t closing;        /* io_uring: closed, waiting for their requests */
};

/* Output stuck this long makes a connection the first to go at MEM_LIMIT. */
#define TCP_STUCK_EVICT_MS 500

void tcp_init(struct tcp_conns *t);
void tcp_fini(struct tcp_conns *t);

/* Loop handler of a TCP listener (a struct port). */
void tcp_on_listener(struct loop *loop, struct loop_handler *h, unsigned events);

static inline bool tcp_starving(const struct tcp_conns *t)
{
	return t->starved != NULL;
}

void tcp_retry_starved(struct worker *w);
void tcp_close_idle(struct worker *w);
/* At MEM_LIMIT: close the connection stuck longest, if stuck long enough. */
bool tcp_evict_stuck(struct worker *w);
/* Stopping: stop reading, flush, half-close; true once all are closed. */
bool tcp_drain_all(struct worker *w);
void tcp_close_all(struct worker *w);
/* Free the connections closed since the last call.  Between loop turns. */
void tcp_reap(struct tcp_conns *t);

#endif /* LARSD_TCP_H */
