/*
 * conf.h - larsd's configuration, parsed once into a plain struct.
 *
 * conf_load() reads a libconfig file, checks every value and either fills
 * a complete, valid struct conf or fails with a one-line message
 * "FILE:LINE: what is wrong" (or "FILE: what is wrong" where libconfig
 * gives no line).  Nothing else in the daemon touches libconfig.  A reload
 * loads a new struct and swaps it in only when conf_load() succeeded.
 */
#ifndef LARSD_CONF_H
#define LARSD_CONF_H

#include "control_socket.h"
#include "lars.h"
#include "stamp_key.h"

#include <bufpool.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_DEFAULT_PATH SYSCONFDIR "/larsd/larsd.conf"
#define CONF_MAX_THREADS 256
#define CONF_MAX_LISTENERS 64
#define CONF_MAX_ALLOW 64         /* allow: networks */
#define CONF_MAX_BLOCKED_PORTS 64 /* udp_blocked_ports, with the five always there */
#define CONF_DEFAULT_CONTROL LARS_CONTROL_DEFAULT
#define CONF_ERR_MAX LARS_CONTROL_ERR_MAX
/* A frame and its header fit the largest TCP segment or UDP datagram. */
#define CONF_DEFAULT_MAX_MESSAGE (65535 - LARS_HEADER_SIZE)

enum conf_proto { CONF_PROTO_TCP, CONF_PROTO_UDP };
enum conf_mode { CONF_MODE_ECHO, CONF_MODE_LARS, CONF_MODE_STAMP };
/* io_backend: how workers wait and move TCP bytes (larsd.conf(5)). */
enum conf_io { CONF_IO_AUTO, CONF_IO_EPOLL, CONF_IO_URING };
/* Stateful STAMP sessions (larsd.conf(5)). */
#define CONF_DEFAULT_STAMP_SESSIONS 4096u
#define CONF_MAX_STAMP_SESSIONS 1048576u
#define CONF_DEFAULT_SESSION_TIMEOUT 60u
/* Per-source UDP rate limit ranges (larsd.conf(5)). */
#define CONF_MAX_SOURCE_RATE 10000000u
#define CONF_MAX_SOURCE_BURST 1000000u

struct conf_listener {
	enum conf_proto proto;
	enum conf_mode mode;
	char address[64];              /* as written in the file */
	uint16_t port;
	struct sockaddr_storage addr;  /* parsed address and port */
	socklen_t addrlen;
	bool reuseport;                /* SO_REUSEPORT: share the port with
	                                  other larsd instances */
	/* mode "stamp" (stamp.h) */
	int stamp_auth;                /* authentication: 1 "hmac-sha256", 0 "none" */
	struct stamp_key key;          /* read from key_file when the file is loaded */
	bool stateful;                 /* the reflector numbers its replies */
	unsigned session_timeout;      /* seconds a stateful session may be idle */
	int line;                      /* line of its group in the file */
};

/* Measuring sessions (larsd.conf(5) sessions, session.h). */
#define CONF_MAX_SESSIONS 4096u
#define CONF_SESSION_NAME_MAX 64       /* with its NUL */
#define CONF_SESSION_PEER_MAX 254      /* a DNS name's 253, and a NUL */
#define CONF_DEFAULT_SESSION_PORT 862u /* RFC 8762's STAMP port */
#define CONF_DEFAULT_SESSION_RATE 1.0
#define CONF_MIN_SESSION_RATE 0.001
#define CONF_MAX_SESSION_RATE 1000.0
#define CONF_MAX_SESSION_SIZE 9000u
#define CONF_DEFAULT_SESSION_TIMEOUT_MS 3000u
#define CONF_MIN_SESSION_TIMEOUT_MS 10u
#define CONF_MAX_SESSION_TIMEOUT_MS 60000u

struct conf_session {
	char name[CONF_SESSION_NAME_MAX];
	char peer[CONF_SESSION_PEER_MAX]; /* an address, or a name resolved
	                                     by the measuring thread */
	uint16_t port;
	double rate;                   /* packets per second */
	unsigned size;                 /* bytes of each test packet */
	unsigned dscp;                 /* of the test packets, 0..63 */
	uint16_t ssid;                 /* RFC 8972 Session-Sender Identifier */
	unsigned timeout_ms;           /* a reply later than this is lost */
	int stamp_auth;                /* authentication: 1 "hmac-sha256" */
	struct stamp_key key;
	int line;                      /* line of its group in the file */
};

/* One allowed client network, e.g. "127.0.0.0/8" or "::1/128". */
struct conf_net {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network address, host bits zero */
	unsigned prefix;     /* prefix length in bits */
};

struct conf {
	char path[4096];               /* the file it came from */
	unsigned threads;              /* worker threads; default: CPUs online */
	int io_backend;                /* enum conf_io; read at start only */
	unsigned max_connections;      /* TCP connections, all listeners */
	unsigned idle_timeout;         /* seconds; 0: never close idle */
	uint32_t max_message;          /* lars frame body limit, bytes */
	int log_level;                 /* syslog priority: LOG_ERR .. LOG_DEBUG */
	unsigned shutdown_timeout_ms;  /* flush deadline on SIGTERM */
	char control[108];             /* control socket path (fits sun_path);
	                                  "": no control socket */
	unsigned stamp_sessions;       /* stateful STAMP sessions; read at start */

	struct conf_listener listeners[CONF_MAX_LISTENERS];
	size_t n_listeners;

	/* UDP reflection guard: datagrams from these source ports are dropped.
	 * Always holds 0, 7, 13, 17, 19, then the configured extra ports. */
	uint16_t blocked_ports[CONF_MAX_BLOCKED_PORTS];
	size_t n_blocked_ports;

	/* UDP datagrams per second per source address (all UDP listeners,
	 * ratelimit.h); 0: no limit.  The burst is the bucket's size; 0 in
	 * the file means one second's worth, and conf_load() stores that. */
	uint32_t udp_source_rate;
	uint32_t udp_source_burst;

	/* Allowed client networks; empty: every client is allowed. */
	struct conf_net allow[CONF_MAX_ALLOW];
	size_t n_allow;

	/* The buffer pool. */
	size_t mem_limit;
	unsigned prealloc[BUFPOOL_TIERS];

	/* The measuring sessions: allocated by conf_load(), freed by
	 * conf_release().  Whoever runs them takes the array (and sets these
	 * to NULL, 0), so copies of a struct conf never share it. */
	struct conf_session *sessions;
	size_t n_sessions;
};

/* Load and validate path into *out.  On failure returns -1 and writes the
 * one-line message (no newline) into err. */
int conf_load(const char *path, struct conf *out, char *err, size_t errlen);

/* Free what conf_load() allocated (the sessions); c stays usable. */
void conf_release(struct conf *c);

/* "echo", "lars" or "stamp". */
const char *conf_mode_name(enum conf_mode m);
/* "auto", "epoll" or "io_uring". */
const char *conf_io_name(enum conf_io io);

/* The defaults of every key, as if the file were empty. */
void conf_defaults(struct conf *c);

#endif /* LARSD_CONF_H */
