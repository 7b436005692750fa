/*
 * worker.c - the life of one worker thread (see worker.h).
 *
 * Each turn: wait for events (at most a second, less while some connection
 * waits for memory) and let their handlers run, give idle cache memory
 * back if another worker asked, retry starved connections, close idle
 * ones, then pick up a new configuration generation if the main thread
 * published one.  Stopping: stop watching the listeners, flush and
 * half-close every connection, and leave when all are closed or the
 * shutdown deadline has passed.
 */
#include "config.h"

#include "worker.h"
#include "clock.h"
#include "log.h"
#ifdef HAVE_LIBURING
#include "loop_uring.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define STARVED_RETRY_MS 10
#define IDLE_CHECK_MS 1000
#define DRAIN_MS 1000 /* io_uring: the most to wait for cancelled requests */

static void worker_conf_from(struct worker_conf *wc, const struct conf *c)
{
	wc->max_connections = c->max_connections;
	wc->idle_timeout = c->idle_timeout;
	wc->max_message = c->max_message;
	wc->shutdown_timeout_ms = c->shutdown_timeout_ms;
	wc->udp_source_rate = c->udp_source_rate;
	wc->udp_source_burst = c->udp_source_burst;
	memcpy(wc->allow, c->allow, sizeof(wc->allow));
	wc->n_allow = c->n_allow;
	memcpy(wc->blocked_ports, c->blocked_ports, sizeof(wc->blocked_ports));
	wc->n_blocked_ports = c->n_blocked_ports;
}

static struct port *worker_port_of(struct worker *w, const struct listener *l)
{
	for (size_t i = 0; i < CONF_MAX_LISTENERS; i++)
		if (w->ports[i].listener == l)
			return &w->ports[i];
	return NULL;
}

static void worker_unwatch_port(struct worker *w, struct port *p)
{
	loop_unwatch(&w->dp.loop, p->fd);
	p->listener = NULL;
}

static void worker_watch_listener(struct worker *w, struct listener *l)
{
	struct port *p = worker_port_of(w, NULL);

	if (!p)
		return; /* cannot happen: as many slots as listeners */
	p->listener = l;
	p->fd = listener_fd(l, w->index);
	p->udp_want = UDP_BATCH;
	/* A connection of the slot's previous listener may still add to
	 * these; rare (a reload dropped the listener), and only a count. */
	atomic_store(&p->stats.accepted, 0);
	atomic_store(&p->stats.replies, 0);
	atomic_store(&p->stats.bytes_in, 0);
	atomic_store(&p->stats.bytes_out, 0);
	p->handler.fn = l->proto == CONF_PROTO_TCP ? tcp_on_listener : udp_on_listener;
	/* A socket of its own needs no LOOP_EXCLUSIVE; a shared one does. */
	if (loop_watch(&w->dp.loop, p->fd, l->n_group > 1 ? LOOP_READ : LOOP_READ | LOOP_EXCLUSIVE,
		       &p->handler) < 0) {
		log_err("worker %u: cannot watch %s: %s", w->index, l->name, strerror(errno));
		p->listener = NULL;
	}
}

static bool daemon_has_listener(const struct daemon *d, const struct listener *l)
{
	for (size_t j = 0; j < d->n_listeners; j++)
		if (d->listeners[j] == l)
			return true;
	return false;
}

/* What mode "stamp" needs of listener cl, served at p. */
static void worker_stamp_port(struct worker *w, struct port *p, const struct conf_listener *cl)
{
	struct stamp_port *sp = &p->stamp;

	sp->auth = cl->stamp_auth != 0;
	if (sp->auth)
		stamp_hmac_init(&sp->hmac, &cl->key);
	sp->stateful = cl->stateful;
	sp->timeout_ns = (uint64_t)cl->session_timeout * 1000000000u;
	sp->sessions = w->d->stamp_sessions;
	memcpy(&sp->local, &cl->addr, sizeof(sp->local));
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
	worker_conf_from(&w->dp.conf, &d->conf);
	for (size_t i = 0; i < CONF_MAX_LISTENERS; i++) /* drop the ones gone */
		if (w->ports[i].listener && !daemon_has_listener(d, w->ports[i].listener))
			worker_unwatch_port(w, &w->ports[i]);
	for (size_t j = 0; j < d->n_listeners; j++) {
		struct port *p = worker_port_of(w, d->listeners[j]);
		if (!p) {
			worker_watch_listener(w, d->listeners[j]);
			p = worker_port_of(w, d->listeners[j]);
		}
		if (p) /* the listeners are in the order of the configuration's */
			worker_stamp_port(w, p, &d->conf.listeners[j]);
	}
	pthread_mutex_unlock(&d->lock);
	w->seen_generation = gen;
	atomic_store(&w->acked_generation, gen);
}

static void worker_on_wake(struct loop *loop, struct loop_handler *h, unsigned events)
{
	struct worker *w = worker_of(loop);
	uint64_t v;
	ssize_t r = read(w->wakefd, &v, sizeof(v));

	(void)h;
	(void)events;
	(void)r; /* EAGAIN: another wake already consumed it */
}

static void worker_turn(struct worker *w, int timeout_ms)
{
	if (loop_wait(&w->dp.loop, timeout_ms) < 0)
		log_err("worker %u: waiting for events: %s", w->index, strerror(errno));
	tcp_reap(&w->dp.tcp);
}

static void worker_stop(struct worker *w)
{
	uint64_t deadline = clock_ms() + w->dp.conf.shutdown_timeout_ms;

	/* Under the lock, as in worker_sync(): "stats listeners" reads which
	 * listener a slot serves. */
	pthread_mutex_lock(&w->d->lock);
	for (size_t i = 0; i < CONF_MAX_LISTENERS; i++)
		if (w->ports[i].listener)
			worker_unwatch_port(w, &w->ports[i]);
	pthread_mutex_unlock(&w->d->lock);
	while (!tcp_drain_all(&w->dp) && clock_ms() < deadline)
		worker_turn(w, 50);
	tcp_close_all(&w->dp);
	if (!loop_drain(&w->dp.loop, DRAIN_MS))
		log_warn("worker %u: %s requests still in flight %d ms after stopping; "
			 "%zu connections not freed", w->index, w->dp.loop.ops->name, DRAIN_MS,
			 w->dp.tcp.closing);
	tcp_reap(&w->dp.tcp);
}

/* Another worker was refused a buffer.  Evict first, so the evicted
 * output goes back too, but only one connection in all the workers for one
 * ask (point 4 of tcp.h): the first that has one to evict takes the ask.
 * Then the idle memory of the thread caches and of the ring. */
static void answer_memory_request(struct worker *w)
{
	uint64_t asked = atomic_load(&w->d->evict_asked_ms);

	/* An ask older than two retries is stale: its worker asks again
	 * while it still starves. */
	if (asked && asked + 2 * STARVED_RETRY_MS >= w->dp.loop.now_ms && tcp_can_evict(&w->dp) &&
	    atomic_compare_exchange_strong(&w->d->evict_asked_ms, &asked, 0))
		tcp_evict_stuck(&w->dp);
	bufpool_trim(w->d->pool);
	tcp_reclaim(&w->dp);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->tid, gettid());
	/* An io_uring made with SINGLE_ISSUER belongs to the thread that
	 * enables it: this one. */
	if (loop_start(&w->dp.loop) < 0) {
		w->start_errno = errno;
		log_err("worker %u: cannot enable its %s: %s", w->index, w->dp.loop.ops->name,
			strerror(errno));
		atomic_store(&w->finished, true);
		sem_post(&w->started);
		return NULL;
	}
	sem_post(&w->started);
	while (!atomic_load_explicit(&w->d->stopping, memory_order_relaxed)) {
		worker_turn(w, tcp_waiting(&w->dp.tcp) ? STARVED_RETRY_MS : IDLE_CHECK_MS);
		if (atomic_load_explicit(&w->trim_requested, memory_order_relaxed)) {
			atomic_store(&w->trim_requested, false);
			answer_memory_request(w);
		}
		if (tcp_waiting(&w->dp.tcp))
			tcp_retry_starved(&w->dp);
		bool second = w->dp.loop.now_ms >= w->next_idle_check_ms;
		if (second) {
			tcp_close_idle(&w->dp);
			w->next_idle_check_ms = w->dp.loop.now_ms + IDLE_CHECK_MS;
		}
		tcp_reap(&w->dp.tcp);
		worker_sync(w);
		tcp_after_turn(&w->dp, second);
		stats_add(&w->loop_turns, 1);
		atomic_store_explicit(&w->conns_open, w->dp.tcp.n, memory_order_relaxed);
		atomic_store_explicit(&w->heartbeat_ms, w->dp.loop.now_ms, memory_order_relaxed);
	}
	worker_sync(w); /* the last generation's shutdown deadline */
	worker_stop(w);
	atomic_store(&w->finished, true);
	return NULL;
}

int worker_prepare(struct worker *w, struct daemon *d, unsigned index, bool uring,
		   char *why, size_t whylen)
{
	const struct tcp_path *path = &tcp_epoll_path;

	w->d = d;
	w->index = index;
	w->wakefd = -1;
	w->dp.loop.fd = -1;
	w->dp.loop.ops = NULL;
	w->dp.pool = d->pool;
	w->dp.stats = &w->stats;
	w->dp.ring_bytes = &w->ring_bytes;
	w->dp.connections = &d->connections;
	w->dp.stopping = &d->stopping;
	w->dp.workers = d->threads;
#ifdef HAVE_LIBURING
	if (uring) {
		if (loop_uring_open(&w->dp.loop, d->pool, why, whylen) < 0)
			return -1;
		path = &tcp_uring_path;
	}
#else
	if (uring) {
		snprintf(why, whylen, "larsd was built without liburing");
		return -1;
	}
#endif
	if (!uring && loop_open_epoll(&w->dp.loop) < 0) {
		snprintf(why, whylen, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	w->wake.fn = worker_on_wake;
	w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wakefd < 0 || loop_watch(&w->dp.loop, w->wakefd, LOOP_READ, &w->wake) < 0) {
		snprintf(why, whylen, "eventfd: %s", strerror(errno));
		if (w->wakefd >= 0)
			close(w->wakefd);
		loop_close(&w->dp.loop);
		return -1;
	}
	tcp_init(&w->dp.tcp, path);
	return 0;
}

void worker_unprepare(struct worker *w)
{
	loop_close(&w->dp.loop);
	close(w->wakefd);
	tcp_fini(&w->dp.tcp);
}

int worker_start(struct worker *w)
{
	w->dp.ratelimit = w->d->ratelimit; /* made after the loops (main.c) */
	atomic_store(&w->heartbeat_ms, w->dp.loop.now_ms);
	worker_sync(w); /* the configuration and listeners before the first event */
	w->start_errno = 0;
	if (sem_init(&w->started, 0, 0) < 0)
		return -1;
	int err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err) {
		sem_destroy(&w->started);
		errno = err;
		return -1;
	}
	/* Not started until it can serve: a worker that cannot is joined
	 * here, so larsd never says it started with a worker missing. */
	while (sem_wait(&w->started) < 0 && errno == EINTR)
		;
	sem_destroy(&w->started);
	if (w->start_errno) {
		pthread_join(w->thread, NULL);
		errno = w->start_errno;
		return -1;
	}
	return 0;
}

void dataplane_short_of_memory(struct dataplane *dp)
{
	struct worker *w = loop_container_of(dp, struct worker, dp);
	struct daemon *d = w->d;

	/* At most once per retry period: the others' answers wake starved
	 * connections here, which would ask again at once. */
	if (dp->loop.now_ms - w->memory_request_ms < STARVED_RETRY_MS)
		return;
	w->memory_request_ms = dp->loop.now_ms;
	atomic_store(&d->evict_asked_ms, dp->loop.now_ms ? dp->loop.now_ms : 1);
	/* All d->threads workers exist (and their wakefd) before any runs. */
	for (unsigned i = 0; i < d->threads; i++) {
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
}
