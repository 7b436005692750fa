/*
 * worker.c - the event loop of one worker thread (see worker.h).
 *
 * Each iteration: wait for events (at most a second, less while some
 * connection waits for memory), handle them, retry starved connections,
 * close idle ones, then pick up a new configuration generation if the main
 * thread published one.  Stopping: stop watching the listeners, flush and
 * half-close every connection, and leave when all are closed or the
 * shutdown deadline has passed.
 */
#include "config.h"

#include "worker.h"
#include "clock.h"
#include "log.h"
#include "tcp.h"
#include "udp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKER_EVENTS 256
#define STARVED_RETRY_MS 10

int worker_watch(struct worker *w, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void worker_unwatch(struct worker *w, int fd)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static bool worker_watching(struct worker *w, const struct listener *l)
{
	for (size_t i = 0; i < w->n_watched; i++)
		if (w->watched[i] == l)
			return true;
	return false;
}

/* Copy the configuration and follow the listener set of the newest
 * generation.  Called between event batches, so no event of a listener
 * that goes away is still in hand. */
static void worker_sync(struct worker *w)
{
	struct daemon *d = w->d;
	unsigned gen = atomic_load(&d->generation);

	if (gen == w->seen_generation)
		return;
	pthread_mutex_lock(&d->lock);
	gen = atomic_load(&d->generation);
	memcpy(&w->conf, &d->conf, sizeof(w->conf));
	for (size_t i = 0; i < w->n_watched;) { /* drop listeners that went away */
		bool kept = false;
		for (size_t j = 0; j < d->n_listeners; j++)
			kept = kept || d->listeners[j] == w->watched[i];
		if (kept) {
			i++;
			continue;
		}
		worker_unwatch(w, listener_fd(w->watched[i], w->index));
		w->watched[i] = w->watched[--w->n_watched];
	}
	for (size_t j = 0; j < d->n_listeners; j++) {
		struct listener *l = d->listeners[j];
		if (worker_watching(w, l))
			continue;
		/* A socket of its own needs no EPOLLEXCLUSIVE; a shared one does. */
		uint32_t ev = l->n_group > 1 ? EPOLLIN : EPOLLIN | EPOLLEXCLUSIVE;
		if (worker_watch(w, listener_fd(l, w->index), ev, l) < 0)
			log_err("worker %u: cannot watch %s: %s", w->index, l->name,
				strerror(errno));
		else
			w->watched[w->n_watched++] = l;
	}
	pthread_mutex_unlock(&d->lock);
	w->seen_generation = gen;
	atomic_store(&w->acked_generation, gen);
}

static void worker_dispatch(struct worker *w, struct epoll_event *ev)
{
	enum ev_kind kind = *(enum ev_kind *)ev->data.ptr;

	if (kind == EV_CONN) {
		tcp_on_event(w, ev->data.ptr, ev->events);
	} else if (kind == EV_LISTENER) {
		struct listener *l = ev->data.ptr;
		if (l->proto == CONF_PROTO_TCP)
			tcp_accept(w, l);
		else
			udp_on_readable(w, l);
	} else { /* EV_WAKE */
		uint64_t v;
		ssize_t r = read(w->wakefd, &v, sizeof(v));
		(void)r; /* EAGAIN: another wake already consumed it */
	}
}

static int worker_wait(struct worker *w, struct epoll_event *evs, int timeout)
{
	int n = epoll_wait(w->epfd, evs, WORKER_EVENTS, timeout);
	w->now_ms = clock_ms();
	if (n < 0 && errno != EINTR)
		log_err("worker %u: epoll_wait: %s", w->index, strerror(errno));
	return n < 0 ? 0 : n;
}

static void worker_stop(struct worker *w)
{
	struct epoll_event evs[WORKER_EVENTS];
	uint64_t deadline = clock_ms() + w->conf.shutdown_timeout_ms;

	for (size_t i = 0; i < w->n_watched; i++)
		worker_unwatch(w, listener_fd(w->watched[i], w->index));
	w->n_watched = 0;
	while (!tcp_drain_all(w) && clock_ms() < deadline) {
		int n = worker_wait(w, evs, 50);
		for (int i = 0; i < n; i++)
			worker_dispatch(w, &evs[i]);
	}
	tcp_close_all(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[WORKER_EVENTS];

	while (!atomic_load_explicit(&w->d->stopping, memory_order_relaxed)) {
		int timeout = w->starved ? STARVED_RETRY_MS : 1000;
		int n = worker_wait(w, evs, timeout);
		for (int i = 0; i < n; i++)
			worker_dispatch(w, &evs[i]);
		if (atomic_load_explicit(&w->trim_requested, memory_order_relaxed)) {
			atomic_store(&w->trim_requested, false);
			bufpool_trim(w->d->pool);
			tcp_evict_stuck(w);
		}
		if (w->starved)
			tcp_retry_starved(w);
		if (w->now_ms >= w->next_idle_check_ms) {
			tcp_close_idle(w);
			w->next_idle_check_ms = w->now_ms + 1000;
		}
		worker_sync(w);
		atomic_store_explicit(&w->heartbeat_ms, w->now_ms, memory_order_relaxed);
	}
	worker_sync(w); /* the last generation's shutdown deadline */
	worker_stop(w);
	atomic_store(&w->finished, true);
	return NULL;
}

int worker_start(struct worker *w, struct daemon *d, unsigned index)
{
	w->d = d;
	w->index = index;
	w->wake_kind = EV_WAKE;
	w->now_ms = clock_ms();
	TAILQ_INIT(&w->lru);
	TAILQ_INIT(&w->stuck);
	atomic_store(&w->heartbeat_ms, w->now_ms);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->epfd < 0 || w->wakefd < 0 ||
	    worker_watch(w, w->wakefd, EPOLLIN, &w->wake_kind) < 0)
		return -1;
	worker_sync(w); /* the configuration and listeners before the first event */
	int err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

void worker_request_memory(struct worker *w)
{
	struct daemon *d = w->d;

	/* At most once per retry period: the others' answers wake starved
	 * connections here, which would ask again at once. */
	if (w->now_ms - w->memory_request_ms < STARVED_RETRY_MS)
		return;
	w->memory_request_ms = w->now_ms;
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *o = &d->workers[i];
		if (o != w && !atomic_exchange(&o->trim_requested, true))
			worker_wake(o);
	}
}

bool workers_alive(struct daemon *d, uint64_t now_ms, uint64_t max_age_ms)
{
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		uint64_t beat = atomic_load_explicit(&w->heartbeat_ms, memory_order_relaxed);
		if (!atomic_load(&w->finished) && beat + max_age_ms < now_ms)
			return false;
	}
	return true;
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->wakefd, &one, sizeof(one));
	(void)r; /* the counter cannot overflow in practice; EAGAIN is fine */
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
	close(w->epfd);
	close(w->wakefd);
	if (w->reserve_fd >= 0)
		close(w->reserve_fd);
}
