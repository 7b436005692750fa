/*
 * tcp_conn.h - what tcp.c (accept, the lists, the epoll data path) and
 * tcp_uring.c (the io_uring data path) share about one connection.
 * Private to the two.
 */
#ifndef LARSD_TCP_CONN_H
#define LARSD_TCP_CONN_H

#include "tcp.h"

/* A connection reads into a 16K buffer at first (the io_uring path's
 * receive buffers are this size too); one whose reads fill the buffer
 * moves up a tier at its next buffer, to 256K at most.  The io_uring
 * path stops receiving while TCP_READ_MAX bytes wait to be sent. */
#define TCP_READ_MIN ((size_t)16 << 10)
#define TCP_READ_MAX ((size_t)256 << 10)

/* tcp.c */
void conn_touch(struct worker *w, struct conn *c);
void conn_close(struct worker *w, struct conn *c);
void conn_wait_for_memory(struct worker *w, struct conn *c);
void stuck_append(struct worker *w, struct conn *c);
void stuck_unlink(struct worker *w, struct conn *c);

/* tcp_uring.c */
void tcp_uring_open(struct worker *w, struct conn *c);
/* After conn_close() took it off the lists: cancel its requests, close
 * the socket and free c once none is left. */
void tcp_uring_close(struct worker *w, struct conn *c);
/* It waited for memory: receive again if the ring has buffers now. */
void tcp_uring_retry(struct worker *w, struct conn *c);
/* Stopping: stop reading, send what is ready, half-close, then discard
 * the client's input until it closes. */
void tcp_uring_drain(struct worker *w, struct conn *c);

#endif /* LARSD_TCP_CONN_H */
