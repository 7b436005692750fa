/*
 * guard.h - who may talk to larsd.
 *
 * The UDP reflection guard drops datagrams from source port 0 and from the
 * ports of echo-like services (7 echo, 13 daytime, 17 qotd, 19 chargen, and
 * the configured extras): answering them would let an attacker make two
 * such services bounce packets at each other forever.  The allow-list, when
 * not empty, admits only clients from the listed networks (TCP and UDP).
 */
#ifndef LARSD_GUARD_H
#define LARSD_GUARD_H

#include "conf.h"

#include <stdbool.h>

bool guard_client_allowed(const struct conf *c, const struct sockaddr *sa);
bool guard_udp_port_blocked(const struct conf *c, const struct sockaddr *sa);

#endif /* LARSD_GUARD_H */
