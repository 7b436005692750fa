/*
 * st_guard.c - security: the UDP reflection guard and the allow-list,
 * tried from the sources they must refuse.
 *
 * Guard: datagrams from source ports 7, 13, 17, 19 (bound for real, as
 * root), from the ports of udp_blocked_ports, and from port 0 (forged on a
 * raw socket, as root) get no answer and each counts in
 * udp_dropped_guard; and two echo services, larsd A on port 7 and larsd B,
 * cannot be made to bounce a datagram between them.
 * Allow-list: clients from other loopback addresses (127.0.0.2 ...) and,
 * as root, from another network (10.200.0.2, in a network namespace of
 * its own joined by a veth pair to larsd's namespace) are refused: TCP
 * closed without a byte, UDP unanswered, both counted; a client of an
 * allowed network on the same wire is served.  What cannot run here (not
 * root, no `ip`, a port taken) is skipped with a note, never failed.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUIET_MS 500

/* A datagram from src:sport, made by hand (IPv4, root).  False if no raw
 * socket could be had. */
static bool raw_udp_send(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			 const void *data, size_t len)
{
	unsigned char pkt[1500];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *uh = (struct udphdr *)(pkt + sizeof(*ip));
	struct sockaddr_in to = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return false;
	if (len > sizeof(pkt) - 28) {
		close(fd);
		return false;
	}
	memset(pkt, 0, 28);
	ip->ihl = 5;
	ip->version = 4;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(28 + len));
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons((uint16_t)(8 + len));
	uh->check = 0; /* none: allowed over IPv4 */
	memcpy(pkt + 28, data, len);
	inet_pton(AF_INET, dst, &to.sin_addr);
	bool ok = sendto(fd, pkt, 28 + len, 0, (struct sockaddr *)&to, sizeof(to)) ==
		  (ssize_t)(28 + len);
	close(fd);
	return ok;
}

/* Is nothing readable on any of the n sockets for ms?  The number of
 * sockets that got something. */
static size_t answered_any(const int *fds, size_t n, int ms)
{
	size_t got = 0;
	lh_sleep_ms((unsigned)ms);
	for (size_t i = 0; i < n; i++) {
		char b[2048];
		if (fds[i] >= 0 && recv(fds[i], b, sizeof(b), MSG_DONTWAIT) >= 0)
			got++;
	}
	return got;
}

static size_t probe_msg(const struct lh_listen *l, unsigned char *out, int id)
{
	if (strcmp(l->mode, "lars") == 0)
		return lh_lars_frame(out, id, "guard", 5);
	memcpy(out, "guard", 5);
	return 5;
}

/* ---- reflection guard ---------------------------------------------------- */

START_TEST(test_udp_guard)
{
	const char *sc = "udp_guard";
	struct lh_daemon d;
	bool root = geteuid() == 0, v6 = lh_address_usable("::1");
	uint16_t extra;
	int fds[64];
	size_t n_fds = 0, expected = 0, controls = 0, forged = 0;
	char skipped[512] = "";
	unsigned char msg[64], back[64];

	int probe = lh_bind("udp", "127.0.0.1", 0, &extra); /* a free port to block */
	ck_assert_int_ge(probe, 0);
	close(probe);
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings),
		 "  threads = 2;\n  udp_blocked_ports = [ 9, 1900, %u ];\n", (unsigned)extra);
	size_t le = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	size_t ll = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	if (v6)
		lh_add(&d, "udp", "::1", "echo", true);
	lh_start_ok(&d);

	/* Control: an ordinary source port is answered on every listener. */
	for (size_t i = 0; i < d.n_ls; i++) {
		int fd = lh_udp_socket(d.ls[i].address, d.ls[i].port, NULL, 0);
		size_t len = probe_msg(&d.ls[i], msg, 1);
		ck_assert_msg(fd >= 0 && lh_udp_xchg(fd, msg, len, back, sizeof(back), 2000) ==
						 (ssize_t)len,
			      "no answer on %s %s from an ordinary port", d.ls[i].address,
			      d.ls[i].mode);
		close(fd);
		controls++;
	}

	/* One socket per blocked port and family, sending to each listener. */
	static const uint16_t ports[] = {7, 13, 17, 19, 9, 1900, 0 /* extra */};
	for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		uint16_t port = ports[p] ? ports[p] : extra;
		static const char *const fams[] = {"127.0.0.1", "::1"};
		for (size_t f = 0; f < (v6 ? 2u : 1u); f++) {
			int fd = lh_bind("udp", fams[f], port, NULL);
			int why = errno;
			for (size_t i = 0; i < d.n_ls; i++) {
				const struct lh_listen *l = &d.ls[i];
				struct sockaddr_storage to;
				socklen_t tlen;
				if (strcmp(l->address, fams[f]) != 0)
					continue;
				size_t len = probe_msg(l, msg, (int)port);
				ck_assert(lh_sockaddr(l->address, l->port, &to, &tlen));
				if (fd >= 0) {
					ck_assert_int_eq(sendto(fd, msg, len, 0, (struct sockaddr *)&to,
								tlen),
							 (ssize_t)len);
					expected++;
				} else if (f == 0 && root &&
					   raw_udp_send("127.0.0.1", port, l->address, l->port, msg,
							len)) {
					expected++; /* port taken here: forged, answer unseen */
					forged++;
				} else {
					size_t k = strlen(skipped);
					snprintf(skipped + k, sizeof(skipped) - k, " %s:%u(%s)",
						 fams[f], (unsigned)port, strerror(why));
				}
			}
			if (fd >= 0)
				fds[n_fds++] = fd;
		}
	}
	size_t answered = answered_any(fds, n_fds, QUIET_MS);

	/* Port 0 cannot be bound: forge it, and prove forging works with a
	 * datagram from a port we hold, which must be answered. */
	bool raw_ok = false, raw_answered = false;
	if (root) {
		uint16_t mine;
		int own = lh_bind("udp", "127.0.0.1", 0, &mine);
		ck_assert_int_ge(own, 0);
		size_t len = probe_msg(&d.ls[le], msg, 0);
		raw_ok = raw_udp_send("127.0.0.1", mine, "127.0.0.1", d.ls[le].port, msg, len);
		struct pollfd pf = {own, POLLIN, 0};
		raw_answered = raw_ok && poll(&pf, 1, 2000) == 1;
		close(own);
		if (raw_answered) {
			controls++;
			ck_assert(raw_udp_send("127.0.0.1", 0, "127.0.0.1", d.ls[le].port, msg, len));
			len = probe_msg(&d.ls[ll], msg, 0);
			ck_assert(raw_udp_send("127.0.0.1", 0, "127.0.0.1", d.ls[ll].port, msg, len));
			expected += 2;
		}
	}
	lh_sleep_ms(200);
	long long guard = st_stat(&d, "udp_dropped_guard");
	long long replies = st_stat(&d, "udp_replies");

	st_figure(sc, "blocked source ports tried: 7 13 17 19 (always) 9 1900 %u (configured)%s "
		  "on %zu listeners%s: datagrams=%zu answered=%zu",
		  (unsigned)extra, raw_answered ? " 0 (forged, raw socket)" : "", d.n_ls,
		  v6 ? " (IPv4 echo and lars, IPv6 echo)" : " (IPv4 echo and lars)", expected,
		  answered);
	st_figure(sc, "udp_dropped_guard=%lld expected=%zu (forged for taken ports: %zu) "
		  "udp_replies=%lld controls=%zu%s%s",
		  guard, expected, forged, replies, controls, skipped[0] ? " skipped:" : "",
		  skipped);
	if (!root)
		st_figure(sc, "not root: ports below 1024 and port 0 skipped");
	else if (!raw_answered)
		st_figure(sc, "raw socket datagrams not answered (raw_ok=%d): port 0 skipped",
			  raw_ok);
	ck_assert_msg(answered == 0, "%zu datagrams from blocked ports were answered", answered);
	ck_assert_msg(guard == (long long)expected, "udp_dropped_guard=%lld, expected %zu", guard,
		      expected);
	ck_assert_msg(replies == (long long)controls, "udp_replies=%lld, expected %zu", replies,
		      controls);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Two echo services: larsd A on 127.0.0.7:7, larsd B on an ordinary port.
 * A datagram forged from B to A is answered by A (from port 7) and then
 * dropped by B's guard: one reply, one drop, then silence. */
START_TEST(test_udp_no_ping_pong)
{
	const char *sc = "udp_no_ping_pong";
	struct lh_daemon a, b;

	if (geteuid() != 0) {
		st_figure(sc, "SKIPPED: needs root (port 7 and a raw socket)");
		return;
	}
	int seven = lh_bind("udp", "127.0.0.7", 7, NULL);
	if (seven < 0) {
		st_figure(sc, "SKIPPED: cannot bind 127.0.0.7:7: %s", strerror(errno));
		return;
	}
	lh_init(&a);
	size_t la = lh_add(&a, "udp", "127.0.0.7", "echo", true);
	close(a.ls[la].fd);
	a.ls[la].fd = seven;
	a.ls[la].port = 7;
	lh_start_ok(&a);
	lh_init(&b);
	size_t lb = lh_add(&b, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&b);

	ck_assert(raw_udp_send("127.0.0.1", b.ls[lb].port, "127.0.0.7", 7, "bounce", 6));
	lh_sleep_ms(QUIET_MS);
	long long a1 = st_stat(&a, "udp_replies"), b_guard1 = st_stat(&b, "udp_dropped_guard"),
		  b1 = st_stat(&b, "udp_replies");
	lh_sleep_ms(QUIET_MS);
	long long a2 = st_stat(&a, "udp_replies"), b_guard2 = st_stat(&b, "udp_dropped_guard"),
		  b2 = st_stat(&b, "udp_replies");

	st_figure(sc, "A (port 7) udp_replies=%lld then %lld; B udp_dropped_guard=%lld then %lld, "
		  "udp_replies=%lld then %lld",
		  a1, a2, b_guard1, b_guard2, b1, b2);
	ck_assert_msg(a1 == 1, "A answered %lld times, expected once", a1);
	ck_assert_msg(b_guard1 == 1 && b1 == 0, "B dropped %lld and answered %lld (expected 1, 0)",
		      b_guard1, b1);
	ck_assert_msg(a2 == a1 && b2 == b1 && b_guard2 == b_guard1, "the datagram kept bouncing");
	lh_stop_ok(&a);
	lh_stop_ok(&b);
	lh_cleanup(&a);
	lh_cleanup(&b);
}
END_TEST

/* ---- allow-list --------------------------------------------------------------- */

#define OTHER_SOURCES 10

/* A TCP client from src sends a message: refused means closed, no byte. */
static bool tcp_refused(const struct lh_listen *l, const char *src)
{
	unsigned char msg[64];
	size_t len = probe_msg(l, msg, 1);
	int fd = lh_tcp_connect(l->address, l->port, src);
	ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
	lh_send_all(fd, msg, len); /* may fail: already closed */
	bool refused = lh_wait_closed(fd, 2000) == 1;
	close(fd);
	return refused;
}

START_TEST(test_allow_list_loopback)
{
	const char *sc = "allow_list_loopback";
	struct lh_daemon d;
	int fds[OTHER_SOURCES * 2];
	size_t n_fds = 0, tcp_ok = 0, tries = 0;
	unsigned char msg[64], back[64];

	lh_init(&d);
	strcat(d.settings, "  allow = [ \"127.0.0.1/32\" ];\n");
	size_t te = lh_add(&d, "tcp", "127.0.0.1", "echo", true);
	size_t tl = lh_add(&d, "tcp", "127.0.0.1", "lars", true);
	size_t ue = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	size_t ul = lh_add(&d, "udp", "127.0.0.1", "lars", true);
	lh_start_ok(&d);

	for (int i = 0; i < OTHER_SOURCES; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.%d.%d", i, 2 + i * 20);
		tcp_ok += tcp_refused(&d.ls[te], src);
		tcp_ok += tcp_refused(&d.ls[tl], src);
		size_t u[2] = {ue, ul};
		for (int k = 0; k < 2; k++) {
			int fd = lh_udp_socket(d.ls[u[k]].address, d.ls[u[k]].port, src, 0);
			ck_assert_int_ge(fd, 0);
			size_t len = probe_msg(&d.ls[u[k]], msg, i);
			ck_assert_int_eq(send(fd, msg, len, 0), (ssize_t)len);
			fds[n_fds++] = fd;
		}
		tries++;
	}
	size_t answered = answered_any(fds, n_fds, QUIET_MS);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	/* The allowed address is served on every listener. */
	size_t served = 0;
	for (size_t i = 0; i < d.n_ls; i++) {
		size_t len = probe_msg(&d.ls[i], msg, 2);
		int fd = strcmp(d.ls[i].proto, "tcp") == 0
				 ? lh_tcp_connect(d.ls[i].address, d.ls[i].port, "127.0.0.1")
				 : lh_udp_socket(d.ls[i].address, d.ls[i].port, "127.0.0.1", 0);
		ck_assert_int_ge(fd, 0);
		if (strcmp(d.ls[i].proto, "tcp") == 0)
			served += lh_tcp_roundtrip(fd, msg, len);
		else
			served += lh_udp_xchg(fd, msg, len, back, sizeof(back), 2000) == (ssize_t)len;
		close(fd);
	}
	long long tcp_refused_allow = st_stat(&d, "tcp_refused_allow");
	long long udp_dropped_allow = st_stat(&d, "udp_dropped_allow");

	st_figure(sc, "allow=127.0.0.1/32; %zu other loopback sources (127.0.0.2 ... 127.0.9.182) x "
		  "tcp echo, tcp lars, udp echo, udp lars: tcp refused=%zu/%zu udp answered=%zu/%zu",
		  tries, tcp_ok, tries * 2, answered, n_fds);
	st_figure(sc, "tcp_refused_allow=%lld udp_dropped_allow=%lld; 127.0.0.1 served on %zu/%zu "
		  "listeners",
		  tcp_refused_allow, udp_dropped_allow, served, d.n_ls);
	ck_assert_msg(tcp_ok == tries * 2, "%zu TCP clients from refused addresses were not "
		      "closed at once without data", tries * 2 - tcp_ok);
	ck_assert_msg(answered == 0, "%zu datagrams from refused addresses were answered",
		      answered);
	ck_assert_msg(tcp_refused_allow == (long long)tries * 2, "tcp_refused_allow=%lld, "
		      "expected %zu", tcp_refused_allow, tries * 2);
	ck_assert_msg(udp_dropped_allow == (long long)n_fds, "udp_dropped_allow=%lld, expected %zu",
		      udp_dropped_allow, n_fds);
	ck_assert_msg(served == d.n_ls, "the allowed address was served on %zu of %zu listeners",
		      served, d.n_ls);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* Run a shell command; true on exit status 0. */
static bool sh(const char *cmd)
{
	int rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static int ns_open(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

START_TEST(test_allow_list_other_network)
{
	const char *sc = "allow_list_netns";
	char srv[64], cli[64], cmd[2048];
	struct lh_daemon d;
	unsigned char msg[64], back[64];

	if (geteuid() != 0 || !sh("command -v ip >/dev/null 2>&1")) {
		st_figure(sc, "SKIPPED: needs root and ip(8) for network namespaces");
		return;
	}
	stress_netns_names(srv, cli, sizeof(srv));
	snprintf(cmd, sizeof(cmd),
		 "set -e; exec >/dev/null 2>&1; ip netns add %1$s; ip netns add %2$s; "
		 "ip -n %1$s link set lo up; ip -n %2$s link set lo up; "
		 "ip -n %1$s link add lsv0 type veth peer name lsv1 netns %2$s; "
		 "ip -n %1$s addr add 10.200.0.1/30 dev lsv0; "
		 "ip -n %1$s addr add 10.200.1.1/24 dev lsv0; "
		 "ip -n %2$s addr add 10.200.0.2/30 dev lsv1; "
		 "ip -n %2$s addr add 10.200.1.2/24 dev lsv1; "
		 "ip -n %1$s link set lsv0 up; ip -n %2$s link set lsv1 up",
		 srv, cli);
	if (!sh(cmd)) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s; ip netns del %s", srv, cli);
		sh(cmd);
		st_figure(sc, "SKIPPED: cannot make network namespaces with a veth pair here");
		return;
	}
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int sfd = ns_open(srv), cfd = ns_open(cli);
	ck_assert(home >= 0 && sfd >= 0 && cfd >= 0);
	ck_assert_int_eq(setns(sfd, CLONE_NEWNET), 0);

	/* larsd, its notify socket and its listeners live in srv. */
	lh_init(&d);
	strcat(d.settings, "  allow = [ \"10.200.1.0/24\" ];\n");
	size_t lt = lh_add(&d, "tcp", "10.200.0.1", "echo", true);
	size_t lu = lh_add(&d, "udp", "10.200.0.1", "lars", true);
	lh_start_ok(&d);

	/* Clients in cli: 10.200.0.2 (not allowed), 10.200.1.2 (allowed). */
	ck_assert_int_eq(setns(cfd, CLONE_NEWNET), 0);
	int t_no = lh_tcp_connect("10.200.0.1", d.ls[lt].port, "10.200.0.2");
	int t_yes = lh_tcp_connect("10.200.0.1", d.ls[lt].port, "10.200.1.2");
	int u_no = lh_udp_socket("10.200.0.1", d.ls[lu].port, "10.200.0.2", 0);
	int u_yes = lh_udp_socket("10.200.0.1", d.ls[lu].port, "10.200.1.2", 0);
	ck_assert_int_eq(setns(sfd, CLONE_NEWNET), 0);
	ck_assert_msg(t_no >= 0 && t_yes >= 0 && u_no >= 0 && u_yes >= 0,
		      "clients in the other namespace could not connect");

	lh_send_all(t_no, "refuse", 6);
	int t_no_closed = lh_wait_closed(t_no, 2000);
	size_t len = lh_lars_frame(msg, 5, "refuse", 6);
	ck_assert_int_eq(send(u_no, msg, len, 0), (ssize_t)len);
	bool u_no_quiet = answered_any(&u_no, 1, QUIET_MS) == 0;
	bool t_yes_ok = lh_tcp_roundtrip(t_yes, "served", 6);
	len = lh_lars_frame(msg, 6, "served", 6);
	bool u_yes_ok = lh_udp_xchg(u_yes, msg, len, back, sizeof(back), 2000) == (ssize_t)len;
	long long tcp_refused_allow = st_stat(&d, "tcp_refused_allow");
	long long udp_dropped_allow = st_stat(&d, "udp_dropped_allow");

	st_figure(sc, "larsd in netns %s on 10.200.0.1, allow=10.200.1.0/24, clients in netns %s "
		  "over veth: from 10.200.0.2 tcp %s, udp %s; from 10.200.1.2 tcp %s, udp %s",
		  srv, cli, t_no_closed == 1 ? "closed without data" : "NOT refused",
		  u_no_quiet ? "unanswered" : "ANSWERED", t_yes_ok ? "served" : "NOT served",
		  u_yes_ok ? "served" : "NOT served");
	st_figure(sc, "tcp_refused_allow=%lld udp_dropped_allow=%lld", tcp_refused_allow,
		  udp_dropped_allow);
	close(t_no);
	close(t_yes);
	close(u_no);
	close(u_yes);
	lh_stop_ok(&d);
	lh_cleanup(&d);
	ck_assert_int_eq(setns(home, CLONE_NEWNET), 0);
	close(home);
	close(sfd);
	close(cfd);
	snprintf(cmd, sizeof(cmd), "ip netns del %s; ip netns del %s", srv, cli);
	ck_assert_msg(sh(cmd), "could not delete the namespaces %s %s", srv, cli);

	ck_assert_msg(t_no_closed == 1, "TCP from 10.200.0.2 was not refused");
	ck_assert_msg(u_no_quiet, "UDP from 10.200.0.2 was answered");
	ck_assert_msg(t_yes_ok && u_yes_ok, "10.200.1.2 was not served (tcp %d, udp %d)", t_yes_ok,
		      u_yes_ok);
	ck_assert_msg(tcp_refused_allow == 1 && udp_dropped_allow == 1,
		      "tcp_refused_allow=%lld udp_dropped_allow=%lld, expected 1 and 1",
		      tcp_refused_allow, udp_dropped_allow);
}
END_TEST

void stress_add_guard(Suite *s)
{
	testutil_add(s, "udp_guard", test_udp_guard, 30);
	testutil_add(s, "udp_no_ping_pong", test_udp_no_ping_pong, 20);
	testutil_add(s, "allow_list_loopback", test_allow_list_loopback, 30);
	testutil_add(s, "allow_list_netns", test_allow_list_other_network, 30);
}
