/*
 * worker.h - one thread of larsd-bench: an epoll loop driving its share of
 * the connections (TCP) or sockets (UDP).
 *
 * main() makes a struct run shared by all workers and one struct worker
 * per thread.  A worker opens its connections, waits at the run's barrier
 * until every worker has, waits again while main() sets the clock (the
 * start, the end of the warm-up, the deadline), then drives its
 * connections until the deadline passes, its share of --count is done, or
 * the run is stopped (SIGINT).  Everything a worker counts is its own, so
 * the hot path takes no locks; for the live progress line it copies its
 * counters and histogram to a snapshot a few times a second under a mutex.
 *
 * The protocols live behind struct client_ops: client_tcp.c (echo, and
 * lars frames with client_tcp_frames.c), client_udp.c (echo and lars) and
 * client_stamp.c (the STAMP Session-Sender).  The worker_* calls below
 * are their bookkeeping: every message they send is taken with
 * worker_take() and ends in exactly one of worker_reply(),
 * worker_corrupt(), worker_changed(), worker_loss() or a connection
 * error.
 *
 * A client with a stalled() op (TCP) is watched for silence: when the
 * worker has messages in flight and nothing has come in for --timeout,
 * stalled() counts each reply that came back only in part as short (and
 * gives up its connection), so a server that answers with less than it
 * was sent cannot end a run without an error, nor hang one.  When no more
 * may be sent (the deadline, or --count's budget is spent) such a client
 * drains: the loop goes on while replies arrive, until all are in or the
 * server has been silent for --timeout.
 */
#ifndef LARSD_BENCH_WORKER_H
#define LARSD_BENCH_WORKER_H

#include "histogram.h"
#include "options.h"
#include "payload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define WORKER_BUFFER ((size_t)128 << 10) /* scratch for sends and TCP reads */
#define WORKER_CONNECT_MS 5000            /* TCP connect timeout */
#define WORKER_UDP_BATCH 64               /* datagrams per sendmmsg/recvmmsg */

struct bench_counts {
	uint64_t sent;        /* messages sent in the measured window */
	uint64_t replies;     /* good replies to those */
	uint64_t corrupt;     /* replies that differ from what was sent (any time) */
	uint64_t conn_errors; /* failed connects, resets, closes, ICMP errors */
	uint64_t losses;      /* UDP: no reply within --timeout (measured window) */
	uint64_t late;        /* UDP: good replies after their timeout, duplicates */
	uint64_t unsolicited; /* lars frames with another msgid, or none asked for */
	uint64_t changed;     /* --verify frames: a reply frame with another body */
};

/* Shared by the workers and main(). */
struct run {
	const struct bench_opts *o;
	const struct payload *pl;
	pthread_barrier_t barrier; /* workers + main, twice: connected, go */
	/* Set by main() between the two barrier waits, read-only after. */
	uint64_t t_start;          /* ns: traffic starts */
	uint64_t t_measure;        /* ns: the warm-up ends, measuring starts */
	uint64_t t_end;            /* ns: deadline, UINT64_MAX if none */
	bool progress;             /* publish snapshots for the progress line */
	atomic_int stop;           /* SIGINT/SIGTERM: stop now */
	atomic_int told;           /* the first error was described on stderr */
	pthread_mutex_t lock;      /* done, with cond */
	pthread_cond_t cond;
	unsigned done;             /* workers finished */
};

struct worker;

struct client_ops {
	/* Open this worker's sockets (TCP: connect, bounded); failures are
	 * connection errors.  -1 only if the worker cannot run at all. */
	int (*setup)(struct worker *w);
	/* Fill every connection's pipeline. */
	void (*start)(struct worker *w);
	/* An epoll event for connection c. */
	void (*event)(struct worker *w, void *c, uint32_t events);
	/* Called after each round of events: timeouts (UDP). */
	void (*tick)(struct worker *w);
	/* Nothing came for --timeout with messages in flight: count the
	 * replies that came back in part as short and close their
	 * connections (NULL: the client is not watched for silence). */
	void (*stalled)(struct worker *w);
	/* Close everything, free what setup made. */
	void (*close)(struct worker *w);
};

extern const struct client_ops tcp_client_ops;
extern const struct client_ops udp_client_ops;
extern const struct client_ops stamp_client_ops;

struct stamp_stats;

struct worker {
	struct run *run;
	const struct client_ops *ops;
	unsigned index;
	pthread_t thread;
	unsigned first_conn; /* connection ids first_conn .. first_conn + n_conns - 1 */
	unsigned n_conns;
	int epfd;
	uint64_t now;        /* ns, updated after every epoll_wait */
	uint64_t wake;       /* ns: the client wants tick() by then (UDP), or 0 */

	bool limited;        /* --count: budget is this worker's share */
	uint64_t budget;     /* messages still to send in the measured window */
	uint64_t in_flight;  /* sent, not yet answered, lost or dropped */
	unsigned live;       /* connections still usable */
	uint64_t rx_ns;      /* the last time bytes came in (for stalled()) */
	uint64_t drain_ns;   /* when sending ended, 0 before */

	struct bench_counts counts;
	struct histogram hist; /* latency of counted replies, ns */
	uint64_t t_finish;     /* ns: the loop ended */

	void *conns;           /* the client's per-connection state */
	unsigned char *buf;    /* WORKER_BUFFER bytes of scratch */
	void *client;          /* the client's other per-thread state */
	struct stamp_stats *stamp; /* stamp mode: made by main(), kept for the summary */

	/* Progress line: a copy main() may read under snap_lock. */
	uint64_t next_publish;
	pthread_mutex_t snap_lock;
	uint64_t snap_ns;      /* when it was taken */
	struct bench_counts snap_counts;
	struct histogram snap_hist;
	/* main() only: the snapshot of the last progress line. */
	uint64_t shown_ns;
	uint64_t shown_replies;
};

/* Start the thread; -1 with errno if it could not be. */
int worker_start(struct worker *w);

/* May another message be sent now?  Takes it from the budget and counts
 * it in flight when so. */
static inline bool worker_take(struct worker *w)
{
	if (w->now >= w->run->t_end || atomic_load_explicit(&w->run->stop, memory_order_relaxed))
		return false;
	if (w->now >= w->run->t_measure) {
		if (w->limited) {
			if (w->budget == 0)
				return false;
			w->budget--;
		}
		w->counts.sent++;
	}
	w->in_flight++;
	return true;
}

/* A good reply to the message sent at sent_ns, that took latency_ns;
 * counted if it was sent in the measured window. */
static inline void worker_reply_took(struct worker *w, uint64_t sent_ns, uint64_t latency_ns)
{
	w->in_flight--;
	if (sent_ns >= w->run->t_measure) {
		w->counts.replies++;
		hist_record(&w->hist, latency_ns);
	}
}

/* A good reply to the message sent at sent_ns, complete now. */
static inline void worker_reply(struct worker *w, uint64_t sent_ns)
{
	worker_reply_took(w, sent_ns, w->now - sent_ns);
}

/* A reply that came back different: always an error. */
static inline void worker_corrupt(struct worker *w)
{
	w->in_flight--;
	w->counts.corrupt++;
}

/* A reply frame matched to its request, with another body (--verify
 * frames): an error, counted apart from corrupt bytes. */
static inline void worker_changed(struct worker *w)
{
	w->in_flight--;
	w->counts.changed++;
}

/* UDP: no reply in time. */
static inline void worker_loss(struct worker *w, uint64_t sent_ns)
{
	w->in_flight--;
	if (sent_ns >= w->run->t_measure)
		w->counts.losses++;
}

/* A connection failed with `lost` messages in flight.  The first error of
 * the run is described on stderr (printf-style, no newline). */
void worker_conn_error(struct worker *w, uint64_t lost, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Describe a problem on stderr if it is the first of the run (one line,
 * printf-style, no newline). */
void worker_tell(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Register fd for events with c as its data; -1 with errno. */
int worker_watch(struct worker *w, int fd, void *c, uint32_t events, bool modify);

#endif /* LARSD_BENCH_WORKER_H */
