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

/* Is a client at sa in one of the n allowed networks (n 0: everyone)? */
bool guard_client_allowed(const struct conf_net *allow, size_t n, const struct sockaddr *sa);
/* Is sa's source port one of the n blocked ones? */
bool guard_udp_port_blocked(const uint16_t *blocked, size_t n, const struct sockaddr *sa);

#endif /* LARSD_GUARD_H */
