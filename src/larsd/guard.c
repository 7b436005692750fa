/*
 * guard.c - the reflection guard and the client allow-list (see guard.h).
 */
#include "config.h"

#include "guard.h"
#include "sockaddr.h"

#include <netinet/in.h>
#include <string.h>

static bool net_contains(const struct conf_net *net, const uint8_t *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr[full] & mask) == (addr[full] & mask);
}

bool guard_client_allowed(const struct conf_net *allow, size_t n, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family = sa->sa_family;
	uint8_t mapped[4];

	if (n == 0)
		return true;
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		addr = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) { /* judge ::ffff:a.b.c.d as a.b.c.d */
			memcpy(mapped, a6->s6_addr + 12, 4);
			addr = mapped;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (allow[i].family == family && net_contains(&allow[i], addr))
			return true;
	return false;
}

bool guard_udp_port_blocked(const uint16_t *blocked, size_t n, const struct sockaddr *sa)
{
	int port = sockaddr_port(sa);

	if (port < 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (blocked[i] == port)
			return true;
	return false;
}
