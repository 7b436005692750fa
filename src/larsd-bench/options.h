/*
 * options.h - the command line of larsd-bench, parsed and checked.
 *
 * opts_parse() fills a struct bench_opts from argv, resolves the host and
 * checks every value and every combination, so the rest of the program
 * only runs on options that make sense.  It prints nothing itself: on a
 * bad argument it leaves one line (without the program name) in err for
 * main() to print before exiting with status 2.
 */
#ifndef LARSD_BENCH_OPTIONS_H
#define LARSD_BENCH_OPTIONS_H

#include "stamp_key.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

enum bench_proto { BENCH_TCP, BENCH_UDP };
enum bench_mode { BENCH_ECHO, BENCH_LARS, BENCH_STAMP };
/* How a reply is checked (--verify).  bytes: the stream or datagram is
 * compared with what was sent; frames (lars mode): each reply frame is
 * matched to its request by msgid and order, frames with another msgid
 * are unsolicited, a matched frame with another body is changed; none:
 * matched like frames (or by length in echo mode), bodies not compared. */
enum bench_verify { VERIFY_BYTES, VERIFY_FRAMES, VERIFY_NONE };

#define OPTS_ERR_MAX 256
#define OPTS_MAX_CONNECTIONS 100000u
#define OPTS_MAX_THREADS 256u
#define OPTS_MAX_DEPTH 1024u
#define OPTS_MAX_TCP_SIZE ((size_t)16 << 20)
#define OPTS_MAX_UDP_DATAGRAM ((size_t)65507) /* IPv4's limit, safe for both */
#define OPTS_UDP_MIN_SIZE 8 /* the sequence tag must fit in the payload */
#define OPTS_MAX_RATE 10000000u /* --rate, packets per second */

struct bench_opts {
	enum bench_proto proto;
	enum bench_mode mode;
	enum bench_verify verify; /* default: frames in lars mode, else bytes */
	const char *host;
	uint16_t port;
	struct sockaddr_storage addr; /* host and port, resolved */
	socklen_t addr_len;
	char addr_text[INET6_ADDRSTRLEN + 8]; /* "127.0.0.1:7777", "[::1]:7777" */

	unsigned connections;  /* TCP connections or UDP sockets */
	unsigned threads;      /* never more than connections */
	unsigned depth;        /* messages in flight per connection */
	size_t size;           /* payload bytes; the body in lars mode */
	double duration;       /* seconds; 0: until count is reached */
	uint64_t count;        /* replies (and UDP losses) to wait for; 0: none */
	double warmup;         /* seconds before measuring */
	unsigned timeout_ms;   /* UDP: a datagram's reply is lost after this;
				* TCP: a reply stalled this long at the end is short */
	int32_t msgid;         /* lars mode */
	double rate;           /* stamp mode: packets per second, all sockets; 0: closed loop */
	uint16_t ssid;         /* stamp mode: RFC 8972 Session-Sender Identifier */
	bool ptp;              /* stamp mode: PTPv2 timestamps (the Z bit), else NTP */
	bool twamp_light;      /* stamp mode: 14-byte TWAMP-Light requests */
	bool auth;             /* stamp mode: authenticated, with key */
	struct stamp_key key;  /* --auth-key-file */
	unsigned tlvs;         /* stamp mode: OPTS_TLV_* to send */
	int dscp;              /* stamp mode: the test packets' DSCP; -1: the kernel's */
	bool json;
	bool quiet;
	pid_t server_pid;      /* 0: none */
};

/* --tlv choices: RFC 8972 TLVs after the base packet (and the SSID). */
#define OPTS_TLV_SSID 0x1u      /* the reply must echo --ssid exactly */
#define OPTS_TLV_PADDING 0x2u   /* Extra Padding up to --size */
#define OPTS_TLV_COS 0x4u       /* Class of Service: the reply in --dscp */
#define OPTS_TLV_TIMESTAMP 0x8u /* Timestamp Information */

enum opts_result {
	OPTS_RUN,  /* run with these options */
	OPTS_DONE, /* --help or --version printed: exit 0 */
	OPTS_BAD,  /* err says why: exit 2 */
};

enum opts_result opts_parse(struct bench_opts *o, int argc, char **argv, char *err,
			    size_t err_len);

void opts_usage(FILE *out);

const char *opts_proto_name(enum bench_proto p);
const char *opts_mode_name(enum bench_mode m);
const char *opts_verify_name(enum bench_verify v);

#endif /* LARSD_BENCH_OPTIONS_H */
