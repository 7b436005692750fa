/*
 * daemon.c - the listener set and the configuration the workers follow.
 *
 * daemon_plan_listeners() works out the listeners a configuration needs,
 * reusing the sockets already open (so a reload keeps them, and the
 * connections and datagrams on them), adopting sockets from systemd, and
 * binding the rest.  It changes nothing until every socket is in hand:
 * on failure it closes what it opened and the running set stays.
 */
#include "config.h"

#include "daemon.h"
#include "measure.h"
#include "log.h"
#include "notify.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

/* Activated sockets not claimed yet (fd numbers; -1 once taken). */
static int activated_fds[CONF_MAX_LISTENERS];
static int n_activated;

int daemon_take_activated(char *err, size_t errlen)
{
	int n = notify_listen_fds();
	if (n > CONF_MAX_LISTENERS) {
		snprintf(err, errlen, "systemd passed %d sockets, more than %d", n,
			 CONF_MAX_LISTENERS);
		return -1;
	}
	for (int i = 0; i < n; i++)
		activated_fds[i] = SD_LISTEN_FDS_START + i;
	n_activated = n;
	return n;
}

static struct listener *find_open(struct daemon *d, const struct conf_listener *cl)
{
	for (size_t i = 0; i < d->n_listeners; i++)
		if (listener_same(d->listeners[i], cl))
			return d->listeners[i];
	return NULL;
}

static struct listener *adopt_activated(const struct conf_listener *cl)
{
	for (int i = 0; i < n_activated; i++) {
		if (activated_fds[i] >= 0 && listener_matches_fd(cl, activated_fds[i])) {
			struct listener *l = listener_adopt(cl, activated_fds[i]);
			if (l)
				activated_fds[i] = -1;
			return l;
		}
	}
	return NULL;
}

static bool in_set(struct listener *const *set, size_t n, const struct listener *l)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == l)
			return true;
	return false;
}

/* A plan failed: close the sockets opened for it, and free (without
 * closing their sockets) the listeners adopted from systemd for it. */
static void plan_undo(struct daemon *d, struct listener **out, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (in_set(d->listeners, d->n_listeners, out[j]))
			continue;
		if (out[j]->activated)
			free(out[j]);
		else
			listener_close(out[j]);
	}
}

int daemon_plan_listeners(struct daemon *d, const struct conf *c,
			  struct listener **out, size_t *n_out, char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *cl = &c->listeners[i];
		struct listener *l = find_open(d, cl);
		if (!l)
			l = adopt_activated(cl);
		if (!l)
			l = listener_open(cl, d->n_workers ? d->n_workers : c->threads,
					  err, errlen);
		if (!l) {
			plan_undo(d, out, n);
			return -1;
		}
		out[n++] = l;
	}
	for (int i = 0; i < n_activated; i++) {
		if (activated_fds[i] >= 0) {
			snprintf(err, errlen,
				 "socket-activated fd %d matches no listener in %s",
				 activated_fds[i], c->path);
			plan_undo(d, out, n);
			return -1;
		}
	}
	*n_out = n;
	return 0;
}

/* Wait until every worker runs on generation gen, or time runs out. */
static void daemon_wait_generation(struct daemon *d, unsigned gen)
{
	for (int tries = 0; tries < 500; tries++) {
		bool all = true;
		for (unsigned i = 0; i < d->n_workers; i++) {
			struct worker *w = &d->workers[i];
			all = all && (atomic_load(&w->acked_generation) == gen ||
				      atomic_load(&w->finished));
		}
		if (all)
			return;
		usleep(2000);
	}
	log_warn("workers slow to take the new configuration");
}

int daemon_measure(struct daemon *d, struct conf *c)
{
	struct conf_session *list = c->sessions;
	size_t n = c->n_sessions;
	char err[CONF_ERR_MAX];

	c->sessions = NULL;
	c->n_sessions = 0;
	if (d->measure) {
		measure_apply(d->measure, list, n);
		return 0;
	}
	if (n == 0)
		return 0;
	d->measure = measure_start(list, n, err, sizeof(err));
	if (!d->measure) {
		log_err("%s", err);
		return -1;
	}
	log_info("sessions: %zu measuring", n);
	return 0;
}

void daemon_publish(struct daemon *d, const struct conf *c, struct listener **set,
		    size_t n)
{
	struct listener *old[CONF_MAX_LISTENERS];
	size_t n_old = d->n_listeners;

	pthread_mutex_lock(&d->lock);
	memcpy(old, d->listeners, sizeof(old[0]) * n_old);
	memcpy(&d->conf, c, sizeof(*c));
	memcpy(d->listeners, set, sizeof(set[0]) * n);
	d->n_listeners = n;
	for (size_t i = 0; i < n; i++) /* set[] follows c->listeners */
		if (listener_set_mode(set[i], c->listeners[i].mode) < 0)
			log_warn("%s: cannot get receive timestamps and TTLs for STAMP (%s): keeping mode %s",
				 set[i]->name, strerror(errno),
				 conf_mode_name(atomic_load(&set[i]->mode)));
	unsigned gen = atomic_fetch_add(&d->generation, 1) + 1;
	pthread_mutex_unlock(&d->lock);

	for (unsigned i = 0; i < d->n_workers; i++)
		worker_wake(&d->workers[i]);
	daemon_wait_generation(d, gen);
	for (size_t i = 0; i < n_old; i++) {
		if (in_set(set, n, old[i]))
			continue;
		log_info("closed %s", old[i]->name);
		listener_close(old[i]);
	}
}

void daemon_close_listeners(struct daemon *d)
{
	for (size_t i = 0; i < d->n_listeners; i++)
		listener_close(d->listeners[i]);
	d->n_listeners = 0;
}

void daemon_stats(struct daemon *d, struct stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < d->n_workers; i++)
		stats_sum(sum, &d->workers[i].stats);
}

uint64_t daemon_replies(struct stats *s)
{
	return stats_get(&s->tcp_replies) + stats_get(&s->udp_replies);
}

void daemon_status_line(struct daemon *d, double rate, char *out, size_t len)
{
	struct bufpool_stats ps;

	bufpool_stats(d->pool, &ps);
	snprintf(out, len, "%u connections, %.0f replies/s, pool %zu/%zu KiB",
		 atomic_load(&d->connections), rate, ps.bytes_owned >> 10,
		 ps.mem_limit >> 10);
}
