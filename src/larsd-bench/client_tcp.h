/*
 * client_tcp.h - the TCP client's per-connection state, shared by
 * client_tcp.c (connecting, sending, --verify bytes and none) and
 * client_tcp_frames.c (--verify frames).
 *
 * Positions in a connection's stream (see client_tcp.c):
 *   recv_seq:recv_off  <=  send_seq:send_off  <=  next_seq:0
 * In frames mode recv_off counts the bytes of the frame being received
 * (header included), whichever message it turns out to be, and recv_seq
 * only moves on a frame that answers a request.
 */
#ifndef LARSD_BENCH_CLIENT_TCP_H
#define LARSD_BENCH_CLIENT_TCP_H

#include "payload.h"
#include "worker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcp_conn {
	int fd;
	uint32_t id;
	bool connected;
	bool want_out;  /* EPOLLOUT is on */
	bool bad;       /* the message being received already differs */
	uint64_t next_seq;
	uint64_t send_seq;
	size_t send_off;
	uint64_t recv_seq;
	size_t recv_off;
	uint64_t *sent_ns; /* [depth], by seq % depth */
	/* --verify frames: the frame being received. */
	unsigned char fhdr[LARS_HEADER_SIZE];
	size_t flen;    /* its length, header included, once the header is in; else 0 */
	bool fmatch;    /* it answers message recv_seq */
};

/* Are replies parsed as frames (lars mode, --verify frames or none)? */
static inline bool tcp_by_frames(const struct bench_opts *o)
{
	return o->mode == BENCH_LARS && o->verify != VERIFY_BYTES;
}

/* Close c after an error, counting what was in flight as lost. */
void tcp_fail(struct worker *w, struct tcp_conn *c, const char *what, int err);

/* Frames (tcp_by_frames): take n received bytes; false if c had to be closed. */
bool tcp_absorb_frames(struct worker *w, struct tcp_conn *c, const unsigned char *p, size_t n);

#endif /* LARSD_BENCH_CLIENT_TCP_H */
