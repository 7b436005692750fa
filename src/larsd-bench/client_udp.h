/*
 * client_udp.h - what the UDP clients share: client_udp.c (echo and lars
 * datagrams) and client_stamp.c (the STAMP Session-Sender) open their
 * sockets the same way.
 */
#ifndef LARSD_BENCH_CLIENT_UDP_H
#define LARSD_BENCH_CLIENT_UDP_H

#include "worker.h"

#include <stdbool.h>
#include <stddef.h>

#define UDP_SKB_OVERHEAD 1024 /* kernel bytes per queued datagram */

/* A non-blocking UDP socket connected to the server, with receive and
 * send buffers of about bufsize bytes (if they were smaller), the
 * kernel's receive timestamps if asked (SO_TIMESTAMPNS), and registered
 * with the worker's epoll for reading with c as its data.  The
 * descriptor, or -1 with errno. */
int udp_socket(struct worker *w, void *c, size_t bufsize, bool timestamps);

#endif /* LARSD_BENCH_CLIENT_UDP_H */
