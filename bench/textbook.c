/*
 * textbook.c - what the two floors of bench/echo share (see textbook.h).
 */
#include "config.h"

#include "textbook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

volatile sig_atomic_t textbook_stop;
const char *textbook_prog = "textbook";

static void on_signal(int sig)
{
	(void)sig;
	textbook_stop = 1;
}

void textbook_die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", textbook_prog, what, strerror(err));
	exit(1);
}

static int open_socket(const char *addr, int type, int flags, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "%s: bad IPv4 address '%s'\n", textbook_prog, addr);
		exit(2);
	}
	int fd = socket(AF_INET, type | flags | SOCK_CLOEXEC, 0);
	if (fd < 0)
		textbook_die("socket", errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		textbook_die("bind", errno);
	if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
		textbook_die("listen", errno);
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		textbook_die("getsockname", errno);
	return ntohs(sin.sin_port);
}

void textbook_setup(const char *prog, int argc, char **argv, int sock_flags, int *tfd,
		    int *ufd)
{
	const char *addr = "127.0.0.1";
	int opt;

	textbook_prog = prog;
	while ((opt = getopt(argc, argv, "a:h")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'h':
			printf("usage: %s [-a ADDRESS] TCP-PORT UDP-PORT\n", prog);
			exit(0);
		default: exit(2);
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: %s [-a ADDRESS] TCP-PORT UDP-PORT\n", prog);
		exit(2);
	}
	int tport = atoi(argv[optind]), uport = atoi(argv[optind + 1]);
	if (tport < 0 || tport > 65535 || uport < 0 || uport > 65535) {
		fprintf(stderr, "%s: ports are 0..65535\n", prog);
		exit(2);
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	*tfd = open_socket(addr, SOCK_STREAM, sock_flags, tport);
	*ufd = open_socket(addr, SOCK_DGRAM, sock_flags, uport);
}

void textbook_print_ports(int tfd, int ufd)
{
	printf("tcp %d\nudp %d\n", bound_port(tfd), bound_port(ufd));
	fflush(stdout);
}
