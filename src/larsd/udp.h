/*
 * udp.h - UDP echo and lars datagrams, batched with recvmmsg/sendmmsg.
 */
#ifndef LARSD_UDP_H
#define LARSD_UDP_H

#include "worker.h"

void udp_on_readable(struct worker *w, struct listener *l);

#endif /* LARSD_UDP_H */
