/*
 * stress.h - shared pieces of the fault and load tests (tests/stress/).
 *
 * The scenarios run the real larsd through tests/harness/larsd_harness.c
 * and talk to it over loopback.  This header gives them: figures printed as TAP
 * comments ("# scenario: key=value ..."), the descriptor limit, latency
 * percentiles, a VmRSS sampler thread, a pipelined TCP client load that
 * checks every byte that comes back (st_load), and the kernel's UDP drop
 * counter.  Starting and stopping larsd and the socket clients are the
 * harness's (lh_start_ok, lh_tcp_connect_nb, lh_push_until_stalled...).
 *
 * Every wait is bounded; every helper returns what the test asserts on.
 */
#ifndef STRESS_H
#define STRESS_H

#include "larsd_harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- figures, limits, numbers ------------------------------------------ */

/* Print "# scenario: text" on stdout (a TAP comment), flushed at once so
 * a test that fails or times out keeps what it measured. */
void st_figure(const char *scenario, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Raise RLIMIT_NOFILE's soft limit to the hard limit, and as root the hard
 * limit to 8192 if it is lower (children, larsd among them, inherit it);
 * the soft limit now in force. */
long st_raise_nofile(void);

/* The soft RLIMIT_NOFILE in force. */
long st_nofile(void);

/* The p-th percentile (0..100) of n microsecond samples (sorted in place). */
uint64_t st_percentile(uint64_t *us, size_t n, double p);

uint64_t st_now_us(void);

/* CPU time (user + system) a process used so far, in ms; -1 if unknown. */
long long st_cpu_ms(pid_t pid);

/* A small fast random generator (xorshift64*); *state must not be 0. */
uint64_t st_rand(uint64_t *state);

/* A larsd counter that must be there: ck_asserts it was read. */
long long st_stat(struct lh_daemon *d, const char *name);

/* Give an activated TCP listener a long accept queue (listen() again). */
void st_backlog(struct lh_daemon *d, size_t listener);

/* Several conditions checked, all failures reported at once. */
struct st_verdict {
	char why[2048];
	unsigned failed;
};
void st_expect(struct st_verdict *v, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fail the test (at the caller's line) with every failed condition. */
#define st_verdict_assert(v) \
	ck_assert_msg((v)->failed == 0, "%u failed: %s", (v)->failed, (v)->why)

/* ---- VmRSS sampler ------------------------------------------------------- */

struct st_rss {
	pid_t pid;
	unsigned period_ms;
	atomic_bool stop;
	atomic_long peak_kib; /* largest VmRSS seen */
	atomic_long last_kib;
	atomic_ulong samples;
	pthread_t thread;
};

void st_rss_start(struct st_rss *r, pid_t pid, unsigned period_ms);
void st_rss_stop(struct st_rss *r);

/* ---- pipelined TCP clients that check every byte ------------------------ */

enum st_conn_state { ST_OPEN, ST_EOF, ST_RESET };

struct st_conn {
	int fd;
	bool lars;            /* send lars frames (else any bytes) */
	uint64_t seed, rng;
	enum st_conn_state state;
	bool send_closed;     /* we stopped sending and shut down our side */

	/* Bytes generated, from stream offset base (== bytes received) up. */
	unsigned char *pend;
	size_t pend_cap, pend_len;
	uint64_t base;        /* stream offset of pend[0] */
	uint64_t sent;        /* stream offset sent so far */
	int32_t next_id;

	/* lars: ends of the frames not yet fully received, in order. */
	uint64_t *ends;
	size_t ends_cap, ends_head, ends_n;
	uint64_t last_end;    /* the last frame end received (0 at start) */

	uint64_t wrong;       /* bytes received that differ, or more than sent */
	int error;            /* errno of a reset, if any */
};

struct st_load {
	struct st_conn *c;
	size_t n;
	size_t window;        /* bytes in flight per connection, at most */
	size_t max_chunk;     /* echo: largest write; lars: largest body */
	atomic_bool stop_sending; /* no new bytes (drain what is in flight) */
	atomic_bool shut_on_stop; /* with stop_sending: also shutdown(SHUT_WR) */
	atomic_bool quit;     /* leave the loop */
	atomic_bool settled;  /* stopped sending and nothing in flight */
	pthread_t thread;
	bool running;
	atomic_ullong rounds;
};

/* Open n_echo connections to echo_l (any bytes) and n_lars to lars_l
 * (lars frames); each keeps up to window bytes in flight.  ck_asserts the
 * connections open. */
void st_load_init(struct st_load *L, const struct lh_listen *echo_l,
		  const struct lh_listen *lars_l, size_t n_echo, size_t n_lars, size_t window,
		  uint64_t seed);

/* Run the clients in a thread until st_load_finish(). */
void st_load_start(struct st_load *L);

/* Stop sending, wait up to ms for every byte in flight to come back (or
 * for every connection to end), then stop the thread. */
void st_load_finish(struct st_load *L, int ms);

/* Totals over the connections. */
struct st_load_sum {
	uint64_t sent, received, wrong;
	size_t open, eof, reset;
	size_t in_flight;     /* connections with sent != received */
	size_t partial_eof;   /* lars conns whose clean EOF came mid-frame */
	size_t partial_reset; /* lars conns reset mid-frame */
};
void st_load_sum(const struct st_load *L, struct st_load_sum *s);

void st_load_free(struct st_load *L);

/* ---- sockets ----------------------------------------------------------- */

/* Drops counted by the kernel on a UDP socket bound to 127.0.0.1:port
 * (the "drops" column of /proc/net/udp); -1 if not found. */
long long st_udp_socket_drops(uint16_t port);

#endif /* STRESS_H */
