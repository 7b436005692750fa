/*
 * textbook.h - what the two floors of bench/echo share: the command line,
 * the signals, the listening sockets and the "tcp PORT" / "udp PORT" lines
 * (textbook-echo.c and textbook-uring.c keep only their event loops).
 */
#ifndef BENCH_TEXTBOOK_H
#define BENCH_TEXTBOOK_H

#include <signal.h>

/* Set by SIGTERM and SIGINT: the loop ends. */
extern volatile sig_atomic_t textbook_stop;

/* The program's name in messages. */
extern const char *textbook_prog;

/* Print "PROG: what: strerror(err)" and exit 1. */
void textbook_die(const char *what, int err) __attribute__((noreturn));

/* Parse "[-a ADDRESS] TCP-PORT UDP-PORT" (exit 2 on a bad one, 0 for -h),
 * catch SIGTERM and SIGINT, ignore SIGPIPE, and open the TCP listener and
 * the UDP socket (sock_flags: SOCK_NONBLOCK or 0) on IPv4 ADDRESS. */
void textbook_setup(const char *prog, int argc, char **argv, int sock_flags, int *tfd,
		    int *ufd);

/* Say on stdout which ports are in use (a port of 0 took a free one). */
void textbook_print_ports(int tfd, int ufd);

#endif /* BENCH_TEXTBOOK_H */
