/*
 * larsd_harness.h - run the real larsd from a Check test and talk to it.
 *
 * A struct lh_daemon is one daemon under test: its listeners, a private
 * temporary directory (config, captured stdout and stderr), an abstract
 * AF_UNIX datagram socket passed as NOTIFY_SOCKET whose messages a
 * background thread collects (the daemon's sd_notify() blocks once the
 * socket's queue of 10 datagrams is full, so the queue must be drained
 * all the time), and the child process.
 *
 * Listeners get ports without races where possible: an "activated" one is
 * bound here and handed over as LISTEN_FDS (socket activation); another
 * gets a port found free by binding port 0, and lh_start() retries once
 * with new ports if the daemon reports "Address already in use".
 *
 * Every wait is bounded.  The daemon runs with PR_SET_PDEATHSIG, so a test
 * that fails (Check's forked test process exits) or times out takes its
 * daemon with it; lh_root_init()/lh_root_remove() in main() keep every
 * temporary file under one directory and remove it at the end.
 *
 * Helpers return a value for the test to ck_assert on; they ck_assert only
 * where noted, so each failure is reported where the test decided.
 */
#ifndef LARSD_HARNESS_H
#define LARSD_HARNESS_H

#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The daemon under test; $LARSD_TEST_PATH overrides it (another build,
 * an installed larsd). */
#ifndef LARSD_PATH
#define LARSD_PATH "src/larsd/larsd"
#endif

#define LH_MAX_LISTEN 16
#define LH_MAX_NOTES 2048
#define LH_READY_MS 5000  /* start-up to READY=1 */
#define LH_STOP_MS 5000   /* SIGTERM to exit */
#define LH_MAX_ENV 4

struct lh_listen {
	const char *proto;   /* "tcp" or "udp" */
	const char *address; /* "127.0.0.1", "::1", ... */
	const char *mode;    /* "echo", "lars" or "stamp" */
	const char *keys;    /* more keys of its group, written as is ("" or NULL: none) */
	bool activated;      /* bound here, passed through LISTEN_FDS */
	bool hidden;         /* passed if activated, but left out of the config */
	uint16_t port;
	int fd;              /* the socket to pass, or -1 */
};

struct lh_daemon {
	/* What the test sets before lh_start(). */
	char settings[4096];  /* lines of the larsd group, before listen */
	char bufpool[1024];   /* the inside of the bufpool group */
	char top[4096];       /* more top-level settings after it, e.g.
	                         "sessions = ( ... );" ("": none) */
	struct lh_listen ls[LH_MAX_LISTEN];
	size_t n_ls;
	const char *watchdog_usec; /* non-NULL: pass WATCHDOG_USEC=this */
	bool deny_io_uring;   /* a seccomp filter makes io_uring_setup() fail
	                         with EPERM, as systemd's SystemCallFilter,
	                         a container's profile or
	                         kernel.io_uring_disabled would */
	unsigned deny_io_uring_above; /* nonzero: io_uring_setup() of a ring
	                         of more entries fails with ENOMEM, as a
	                         memory cgroup would refuse a worker's ring */
	const char *env[LH_MAX_ENV]; /* more NAME=value for larsd, each in place
	                         of an inherited one of that name (NULL: the
	                         end), e.g. LD_PRELOAD of
	                         tests/harness/fault_uring.c */

	/* Files in the daemon's own temporary directory. */
	char dir[PATH_MAX / 2];
	char conf_path[PATH_MAX];
	char err_path[PATH_MAX];
	char out_path[PATH_MAX];

	/* The process. */
	pid_t pid;      /* 0: none */
	bool reaped;
	int status;     /* waitpid() status once reaped */

	/* sd_notify messages, in arrival order. */
	int notify_fd;
	char notify_name[108];
	pthread_t drainer;
	bool drainer_started;
	atomic_bool drainer_stop;
	pthread_mutex_t lock;
	char *notes[LH_MAX_NOTES];
	size_t n_notes;
};

/* ---- the whole run ---------------------------------------------------- */

/* Make the run's temporary directory (under $TMPDIR or /tmp) and export
 * it to the test processes; remove it with everything left in it. */
int lh_root_init(void);
void lh_root_remove(void);

/* For testutil_main(): SIGPIPE ignored (a test writes to sockets larsd
 * closes) and lh_root_init() before the run, lh_root_remove() after. */
int lh_run_setup(void);
extern const struct testutil_run lh_testutil_run;

/* Start larsd (lh_start) and ck_abort with its stderr if it did not become
 * ready; stop it (lh_stop) and ck_abort with the end of its stderr if it
 * did not exit 0 in LH_STOP_MS. */
void lh_start_ok(struct lh_daemon *d);
void lh_stop_ok(struct lh_daemon *d);

uint64_t lh_now_ms(void);
void lh_sleep_ms(unsigned ms);

/* ---- one daemon --------------------------------------------------------- */

/* Fresh state: temporary directory, notify socket and its reader thread,
 * settings "threads = 2;" and bufpool "mem_limit = "8M";".  ck_asserts. */
void lh_init(struct lh_daemon *d);

/* Add a listener; ports are chosen here.  Returns its index.  ck_asserts. */
size_t lh_add(struct lh_daemon *d, const char *proto, const char *address,
	      const char *mode, bool activated);

/* Write the config made of settings, listeners and bufpool. */
void lh_write_conf(struct lh_daemon *d);

/* Write text as is into path. */
void lh_write_file(const char *path, const char *text);

/* Start larsd -c conf_path (the config is written first) and wait for
 * READY=1.  True when ready; false if it exited or timed out (then
 * d->reaped/d->status tell which). */
bool lh_start(struct lh_daemon *d);

/* Start larsd with these arguments (NULL-terminated, after argv[0]) and
 * return at once; with pass_fds the activated listeners go along. */
void lh_spawn(struct lh_daemon *d, bool pass_fds, const char *const *args);

/* Run larsd with args to completion (bounded); its exit status (as an exit
 * code; 128 + signal if killed, -1 on timeout).  Output goes to out_path
 * and err_path. */
int lh_run(struct lh_daemon *d, const char *const *args, int timeout_ms);

/* Has it not exited yet?  Reaps it if it has. */
bool lh_alive(struct lh_daemon *d);

/* Wait for exit; the exit code (128 + signal if killed), -1 on timeout. */
int lh_wait_exit(struct lh_daemon *d, int timeout_ms);

/* SIGTERM, wait up to timeout_ms, then SIGKILL.  The exit code, or -1 if
 * it had to be killed. */
int lh_stop(struct lh_daemon *d, int timeout_ms);

/* Kill what is still running, stop the reader, remove the files. */
void lh_cleanup(struct lh_daemon *d);

/* ---- notify messages ---------------------------------------------------- */

size_t lh_note_count(struct lh_daemon *d);

/* The index of the first message at or after `from` with a line equal to
 * key, or starting with key when key ends in '='; wait up to timeout_ms
 * (less if the daemon exits).  -1 if none came. */
long lh_wait_note(struct lh_daemon *d, const char *key, size_t from, int timeout_ms);

/* Like lh_wait_note, but the message must also contain `also` somewhere
 * and must not contain `not` (either may be NULL). */
long lh_wait_note_with(struct lh_daemon *d, const char *key, const char *also,
		       const char *not, size_t from, int timeout_ms);

/* A copy of message i (caller frees), or NULL. */
char *lh_note(struct lh_daemon *d, size_t i);

/* ---- the daemon's output ------------------------------------------------ */

/* The whole file (caller frees); "" if missing. */
char *lh_read_file(const char *path);
bool lh_stderr_has(struct lh_daemon *d, const char *text);
/* How many times text is in the daemon's stderr so far. */
int lh_stderr_count(struct lh_daemon *d, const char *text);
bool lh_wait_stderr(struct lh_daemon *d, const char *text, int timeout_ms);

/* SIGUSR1, wait for the stats block, return counter `name` ("tcp_accepted",
 * "pool_bytes_owned", ...); -1 if it did not show up. */
long long lh_stat(struct lh_daemon *d, const char *name);
/* Counter name once it reaches want, or its value after 2 s: larsd counts
 * a reply just after sending it, so the client may have it first. */
long long lh_stat_reaching(struct lh_daemon *d, const char *name, long long want);

/* The pool's and the connections' counters in one line, for a failure
 * message (a static buffer). */
const char *lh_pool_state(struct lh_daemon *d);

/* VmRSS of a process in KiB, -1 if unknown. */
long lh_rss_kib(pid_t pid);

/* ---- sockets and clients ------------------------------------------------- */

/* Address and port into a sockaddr; false if address is not numeric. */
bool lh_sockaddr(const char *address, uint16_t port, struct sockaddr_storage *ss,
		 socklen_t *len);

/* Is this address usable here (e.g. ::1 without IPv6)? */
bool lh_address_usable(const char *address);

/* A socket bound to address:port (0: any free port; listening for tcp);
 * its port in *port_out.  -1 with errno on failure. */
int lh_bind(const char *proto, const char *address, uint16_t port, uint16_t *port_out);

/* A port free for proto on address right now (bind port 0, close). */
uint16_t lh_free_port(const char *proto, const char *address);

/* A blocking TCP connection to address:port, from source address src
 * (NULL: any), with 5 s send and receive timeouts.  -1 on failure. */
int lh_tcp_connect(const char *address, uint16_t port, const char *src);
int lh_tcp_connect_listener(const struct lh_listen *l);

/* A TCP connection to address:port with kernel buffers of buf bytes (0:
 * the kernel's), set before connecting; non-blocking once connected: a
 * client that can stop reading.  -1 on failure. */
int lh_tcp_connect_nb(const char *address, uint16_t port, int buf);

/* Make fd non-blocking.  ck_asserts. */
void lh_nonblock(int fd);

/* A UDP socket of address's family bound to src:src_port (NULL/0: any),
 * connected to address:port.  -1 on failure. */
int lh_udp_socket(const char *address, uint16_t port, const char *src, uint16_t src_port);

/* Send all of buf; false on error. */
bool lh_send_all(int fd, const void *buf, size_t len);

/* Send without reading, until the peers stop taking bytes: each of the n
 * non-blocking sockets in fds gets the len bytes at data, over and over,
 * up to cap bytes in all, until none has taken a byte for quiet_ms, or
 * max_ms have passed.  The bytes sent over all of them. */
size_t lh_push_until_stalled(const int *fds, size_t n, const void *data, size_t len,
			     size_t cap, int quiet_ms, int max_ms);

/* Receive exactly len bytes within timeout_ms; the bytes received. */
size_t lh_recv_exact(int fd, void *buf, size_t len, int timeout_ms);

/* Wait for the peer to close: 1 on EOF or reset, 0 on timeout, -1 if data
 * arrived instead (the data is discarded). */
int lh_wait_closed(int fd, int timeout_ms);

/* Does nothing arrive on fd within ms? */
bool lh_quiet(int fd, int ms);

/* Send msg on a TCP fd and expect it back byte for byte. */
bool lh_tcp_roundtrip(int fd, const void *msg, size_t len);

/* Send one datagram on a connected UDP fd and wait for one back; its length,
 * or -1 if none came within timeout_ms. */
ssize_t lh_udp_xchg(int fd, const void *msg, size_t len, void *reply, size_t cap,
		    int timeout_ms);

/* A lars frame: 8-byte header (msgid, body length; little-endian) then
 * body.  Writes 8 + body_len bytes into out; returns that size. */
size_t lh_lars_frame(void *out, int32_t msgid, const void *body, uint32_t body_len);

/* Just the 8-byte header, claiming any length (even a negative one). */
void lh_lars_header(void *out, int32_t msgid, int32_t body_len);

/* Deterministic bytes: fill / check len bytes at p that start at offset
 * `off` of the stream named by seed. */
void lh_pattern(void *p, size_t len, uint64_t seed, uint64_t off);

/* ---- running the project's programs (harness_exec.c) ------------------- */

#define LH_EXEC_OUT_MAX 65536

struct lh_exec {
	int code;                  /* exit status, 128 + signal, -1 on timeout */
	uint64_t ms;               /* how long it ran */
	char out[LH_EXEC_OUT_MAX]; /* stdout */
	char err[LH_EXEC_OUT_MAX]; /* stderr */
};

/* Run binary with args (NULL-terminated, after argv[0]), stdin from
 * /dev/null; killed after timeout_ms (code -1).  ck_asserts its setup. */
void lh_exec(struct lh_exec *r, const char *binary, const char *const *args, int timeout_ms);

#endif /* LARSD_HARNESS_H */
