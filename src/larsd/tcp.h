/*
 * tcp.h - TCP connections: accept, echo (RFC 862) and lars framing.
 *
 * A connection holds at most one buffer, taken from the pool when there is
 * something to read and given back as soon as everything in it was sent,
 * so an idle connection holds no buffer memory.  Output that cannot be sent
 * stops reading (back pressure): a client that never reads costs one
 * buffer, never a growing queue.  When the pool is at MEM_LIMIT the
 * connection waits on the worker's starved list and is retried; and a
 * connection whose output has been stuck for TCP_STUCK_EVICT_MS (its peer
 * sends but does not read) is closed to free its buffer for the others.
 */
#ifndef LARSD_TCP_H
#define LARSD_TCP_H

#include "worker.h"

#include <stdbool.h>

struct conn {
	enum ev_kind kind; /* EV_CONN: first, epoll data points here */
	int fd;
	enum conf_mode mode;
	struct io_buf *buf;
	size_t ready;     /* bytes at buf->head that may be sent: for lars, whole frames */
	size_t next_frame;/* size of the partial lars frame after them, if known */
	size_t read_size; /* the buffer size the next read asks for */
	bool can_read;    /* the socket may have input (edge-triggered) */
	bool can_write;   /* the socket had room at the last try */
	bool peer_closed; /* read returned 0 (or a bad frame ended reading) */
	bool peer_hup;    /* epoll saw the peer's FIN: read on to EOF */
	bool shut_wr;     /* shutdown sent while stopping */
	bool starved;
	bool stuck;       /* output waits for a peer that does not read */
	uint64_t last_ms;
	uint64_t stuck_since_ms;
	TAILQ_ENTRY(conn) lru_link;   /* worker->lru */
	TAILQ_ENTRY(conn) stuck_link; /* worker->stuck, while stuck */
	struct conn *starved_next;
};

/* Output stuck this long makes a connection the first to go at MEM_LIMIT. */
#define TCP_STUCK_EVICT_MS 500

void tcp_accept(struct worker *w, struct listener *l);
void tcp_on_event(struct worker *w, struct conn *c, uint32_t events);
void tcp_retry_starved(struct worker *w);
void tcp_close_idle(struct worker *w);
/* At MEM_LIMIT: close the connection stuck longest, if stuck long enough. */
bool tcp_evict_stuck(struct worker *w);
/* Stopping: stop reading, flush, half-close; true once all are closed. */
bool tcp_drain_all(struct worker *w);
void tcp_close_all(struct worker *w);

#endif /* LARSD_TCP_H */
