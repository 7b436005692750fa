/*
 * worker.c - the event loop of one thread (see worker.h).
 */
#include "config.h"

#include "worker.h"
#include "clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WORKER_EVENTS 256
#define WORKER_POLL_MS 100         /* look at the stop flag at least this often */
#define WORKER_PUBLISH_NS (100 * NS_PER_MS)

/* Describe the first error of the run, only the first: a server that
 * breaks usually breaks every connection at once. */
static bool worker_first(struct worker *w)
{
	int no = 0;

	return atomic_compare_exchange_strong(&w->run->told, &no, 1);
}

static void worker_vtell(struct worker *w, const char *fmt, va_list ap)
{
	char text[256];

	if (!worker_first(w))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	/* On a new line if the progress line is showing. */
	fprintf(stderr, "%slarsd-bench: %s\n", w->run->progress ? "\r\n" : "", text);
}

void worker_tell(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	worker_vtell(w, fmt, ap);
	va_end(ap);
}

void worker_conn_error(struct worker *w, uint64_t lost, const char *fmt, ...)
{
	va_list ap;

	w->counts.conn_errors++;
	w->in_flight -= lost;
	w->live--;
	va_start(ap, fmt);
	worker_vtell(w, fmt, ap);
	va_end(ap);
}

int worker_watch(struct worker *w, int fd, void *c, uint32_t events, bool modify)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	return epoll_ctl(w->epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}

static void worker_publish(struct worker *w)
{
	pthread_mutex_lock(&w->snap_lock);
	w->snap_ns = w->now;
	w->snap_counts = w->counts;
	memcpy(&w->snap_hist, &w->hist, sizeof(w->hist));
	pthread_mutex_unlock(&w->snap_lock);
	w->next_publish = w->now + WORKER_PUBLISH_NS;
}

/* When a worker with messages in flight and nothing received gives up
 * on the replies it has in part: --timeout after the last bytes came, or
 * after sending ended if that was later. */
static uint64_t worker_stall_deadline(const struct worker *w)
{
	uint64_t from = w->rx_ns > w->drain_ns ? w->rx_ns : w->drain_ns;

	return from + (uint64_t)w->run->o->timeout_ms * NS_PER_MS;
}

/* Is this worker's part of the run over? */
static bool worker_over(struct worker *w)
{
	const struct run *r = w->run;

	if (atomic_load_explicit(&r->stop, memory_order_relaxed) || w->live == 0)
		return true;
	bool spent = w->limited && w->budget == 0 && w->now >= r->t_measure;
	bool sending = w->now < r->t_end && !spent;
	if (!sending && w->in_flight == 0)
		return true; /* everything answered (or lost) */
	if (!w->ops->stalled)
		return w->now >= r->t_end;
	if (!sending && w->drain_ns == 0)
		w->drain_ns = w->now;
	if (w->in_flight == 0 || w->now < worker_stall_deadline(w))
		return false;
	/* Silent for --timeout: replies begun will not be finished. */
	w->ops->stalled(w);
	w->rx_ns = w->now;
	return !sending || w->live == 0;
}

/* Nanoseconds epoll may sleep: until the next deadline, at most
 * WORKER_POLL_MS. */
static uint64_t worker_timeout(const struct worker *w)
{
	uint64_t until = w->now + (uint64_t)WORKER_POLL_MS * NS_PER_MS;

	if (w->now < w->run->t_end && w->run->t_end < until)
		until = w->run->t_end;
	if (w->ops->stalled && w->in_flight && worker_stall_deadline(w) < until)
		until = worker_stall_deadline(w);
	if (w->now < w->run->t_measure && w->run->t_measure < until)
		until = w->run->t_measure;
	if (w->wake && w->wake < until)
		until = w->wake;
	if (w->run->progress && w->next_publish < until)
		until = w->next_publish;
	return until > w->now ? until - w->now : 0;
}

/* epoll_pwait2() sleeps to the nanosecond (a paced STAMP sender needs
 * that); before Linux 5.11, epoll_wait() in milliseconds, rounded up so a
 * deadline is never spun on. */
static int worker_wait(struct worker *w, struct epoll_event *ev, int max)
{
	static atomic_bool no_pwait2;
	uint64_t ns = worker_timeout(w);

	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
		int n = epoll_pwait2(w->epfd, ev, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		atomic_store(&no_pwait2, true);
	}
	return epoll_wait(w->epfd, ev, max, (int)((ns + NS_PER_MS - 1) / NS_PER_MS));
}

static void worker_loop(struct worker *w)
{
	struct epoll_event ev[WORKER_EVENTS];

	while (!worker_over(w)) {
		int n = worker_wait(w, ev, WORKER_EVENTS);
		w->now = clock_ns();
		if (n < 0 && errno != EINTR) {
			worker_conn_error(w, w->in_flight, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			w->ops->event(w, ev[i].data.ptr, ev[i].events);
		if (w->wake && w->now >= w->wake)
			w->ops->tick(w);
		if (w->run->progress && w->now >= w->next_publish)
			worker_publish(w);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	bool ok;

	hist_init(&w->hist);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->buf = malloc(WORKER_BUFFER);
	w->live = w->n_conns;
	w->now = clock_ns();
	ok = w->epfd >= 0 && w->buf && w->ops->setup(w) == 0;
	if (!ok)
		worker_conn_error(w, 0, "thread %u: %s", w->index, strerror(errno));

	pthread_barrier_wait(&r->barrier); /* all connected */
	pthread_barrier_wait(&r->barrier); /* main() has set the clock */

	w->now = clock_ns();
	w->next_publish = w->now;
	w->rx_ns = w->now;
	if (ok) {
		w->ops->start(w);
		worker_loop(w);
	}
	w->t_finish = clock_ns();
	if (ok)
		w->ops->close(w);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->buf);
	w->buf = NULL;
	if (r->progress)
		worker_publish(w);

	pthread_mutex_lock(&r->lock);
	r->done++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int worker_start(struct worker *w)
{
	int rc;

	w->epfd = -1;
	pthread_mutex_init(&w->snap_lock, NULL);
	hist_init(&w->snap_hist);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}
