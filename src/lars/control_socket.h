/*
 * control_socket.h - what larsd's control socket and its client larsctl agree
 * on besides the protocol's words (larsd(8), CONTROL SOCKET): where the
 * socket is by default, and how long one line of a reply may be.
 */
#ifndef LARS_CONTROL_SOCKET_H
#define LARS_CONTROL_SOCKET_H

#define LARS_CONTROL_DEFAULT "/run/larsd/control"
/* An "ERROR message" line at most: a configuration's FILE:LINE: message. */
#define LARS_CONTROL_ERR_MAX 512

#endif /* LARS_CONTROL_SOCKET_H */
