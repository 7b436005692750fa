/*
 * measure.c - the measuring thread (see measure.h): schedule, sockets,
 * packets; session.c keeps the books.
 */
#include "config.h"

#include "measure.h"
#include "log.h"
#include "session.h"
#include "stamp_clock.h"
#include "stamp_hmac.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
/* A name that does not resolve is tried again this often. */
#define RESOLVE_RETRY_NS (10 * NS_PER_S)
/* Losses are counted, and the clock's state read, at least this often. */
#define SWEEP_NS (NS_PER_S / 4)
#define EVENTS_MAX 64

/* A session as the thread runs it. */
struct msession {
	struct session s;
	int fd;                 /* connected to the peer; -1 until resolved */
	uint64_t due_ns;        /* the next packet's time (CLOCK_MONOTONIC) */
	uint64_t interval_ns;
	size_t heap_at;         /* its place in the schedule */
	bool resolve_warned;
	struct stamp_hmac hmac;
	uint8_t *packet;        /* conf.size bytes */
	pthread_mutex_t lock;   /* its books (s): the thread writes them, the
	                           control thread copies them to report */
};

struct measure {
	pthread_t thread;
	bool running;
	int epfd, wakefd;
	/* The locks: `lock` guards the list (sessions, n) and the hand-over
	 * (pending); the thread takes it only to swap a reload's list in, so
	 * a "stats sessions" of many sessions never holds up a packet.  Each
	 * session's books have a lock of their own, held for an update or a
	 * copy; err_lock guards send_error the same way. */
	pthread_mutex_t lock, err_lock;
	pthread_cond_t taken;
	struct msession **sessions; /* in the configuration's order */
	size_t n;
	struct msession **heap;     /* the schedule: a min-heap by due_ns */
	struct conf_session *pending; /* a reload's list, not taken yet */
	size_t n_pending;
	atomic_bool has_pending, stop;
	struct session_hist send_error; /* how late packets went */
	uint16_t own_err;           /* this host's Error Estimate, read at each sweep */
	uint64_t next_sweep_ns;
};

/* CLOCK_MONOTONIC, precise: the clock of epoll_pwait2()'s timeout
 * (clock.h's coarse one lags it by up to a tick, so the wait would end
 * before its time came, and again, until the tick). */
static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* ---- the schedule: a binary min-heap by due time --------------------- */

static void heap_swap(struct measure *m, size_t a, size_t b)
{
	struct msession *t = m->heap[a];
	m->heap[a] = m->heap[b];
	m->heap[b] = t;
	m->heap[a]->heap_at = a;
	m->heap[b]->heap_at = b;
}

static void heap_down(struct measure *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, least = i;
		if (l < m->n && m->heap[l]->due_ns < m->heap[least]->due_ns)
			least = l;
		if (r < m->n && m->heap[r]->due_ns < m->heap[least]->due_ns)
			least = r;
		if (least == i)
			return;
		heap_swap(m, i, least);
		i = least;
	}
}

static void heap_build(struct measure *m)
{
	for (size_t i = 0; i < m->n; i++) {
		m->heap[i] = m->sessions[i];
		m->heap[i]->heap_at = i;
	}
	for (size_t i = m->n / 2; i-- > 0;)
		heap_down(m, i);
}

/* ---- one session ------------------------------------------------------ */

static uint64_t random_below(uint64_t n)
{
	uint64_t r = 0;

	if (n == 0 || getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		return 0;
	return r % n;
}

/* Resolve the peer and connect a socket to it.  0, or -1 (logged once). */
static int session_connect(struct msession *ms)
{
	const struct conf_session *c = &ms->s.conf;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	int rc = getaddrinfo(c->peer, port, &hints, &ai);
	if (rc != 0) {
		if (!ms->resolve_warned)
			log_warn("session %s: cannot resolve peer %s (%s): trying again every %llu s",
				 c->name, c->peer, gai_strerror(rc), RESOLVE_RETRY_NS / NS_PER_S);
		ms->resolve_warned = true;
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, tos = (int)c->dscp << 2;
	bool ok = fd >= 0 &&
		  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == 0 &&
		  (ai->ai_family == AF_INET6
			   ? setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos))
			   : setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos))) == 0 &&
		  connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	freeaddrinfo(ai);
	if (!ok) {
		log_warn("session %s: cannot make a socket to %s port %u (%s): trying again every %llu s",
			 c->name, c->peer, (unsigned)c->port, strerror(errno),
			 RESOLVE_RETRY_NS / NS_PER_S);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (ms->resolve_warned)
		log_notice("session %s: peer %s resolved", c->name, c->peer);
	ms->resolve_warned = false;
	ms->fd = fd;
	return 0;
}

static struct msession *session_new(const struct conf_session *c)
{
	struct msession *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->packet = calloc(1, c->size);
	if (!ms->packet || session_init(&ms->s, c) < 0) {
		free(ms->packet);
		free(ms);
		return NULL;
	}
	ms->fd = -1;
	pthread_mutex_init(&ms->lock, NULL);
	if (c->stamp_auth)
		stamp_hmac_init(&ms->hmac, &c->key);
	ms->interval_ns = (uint64_t)((double)NS_PER_S / c->rate);
	ms->due_ns = UINT64_MAX; /* take_pending() sets its start */
	return ms;
}

static void session_gone(struct measure *m, struct msession *ms)
{
	if (ms->fd >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, ms->fd, NULL);
		close(ms->fd);
	}
	session_free(&ms->s);
	pthread_mutex_destroy(&ms->lock);
	free(ms->packet);
	free(ms);
}

/* Same keys, so the same session (its line may move). */
static bool same_conf(const struct conf_session *a, const struct conf_session *b)
{
	struct conf_session x = *a, y = *b;

	x.line = y.line = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* ---- sending ----------------------------------------------------------- */

static void send_one(struct measure *m, struct msession *ms, uint64_t now)
{
	struct session *s = &ms->s;
	const struct conf_session *c = &s->conf;
	struct timespec rt;

	if (ms->fd < 0) {
		if (session_connect(ms) < 0) {
			ms->due_ns = now + RESOLVE_RETRY_NS;
			return;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ms};
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, ms->fd, &ev);
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	pthread_mutex_lock(&ms->lock);
	session_expire(s, now);
	uint64_t n = session_next(s, now, (int64_t)rt.tv_sec * (int64_t)NS_PER_S + rt.tv_nsec);
	pthread_mutex_unlock(&ms->lock);

	struct stamp_sender hdr = {(uint32_t)n, stamp_ts_from_timespec(&rt, false), m->own_err,
				   c->ssid};
	/* Zeroed when made (the padding, the MBZ fields): each packet
	 * rewrites only the header and, authenticated, its HMAC. */
	stamp_sender_encode(ms->packet, c->stamp_auth, &hdr);
	if (c->stamp_auth)
		stamp_packet_sign(&ms->hmac, ms->packet);
	bool ok = send(ms->fd, ms->packet, c->size, 0) == (ssize_t)c->size;

	pthread_mutex_lock(&ms->lock);
	session_sent(s, ok);
	pthread_mutex_unlock(&ms->lock);
	pthread_mutex_lock(&m->err_lock);
	session_hist_record(&m->send_error, now - ms->due_ns);
	pthread_mutex_unlock(&m->err_lock);

	/* The next on the fixed schedule; a turn late by more than one
	 * interval starts it again from now instead of catching up. */
	ms->due_ns += ms->interval_ns;
	if (ms->due_ns + ms->interval_ns < now)
		ms->due_ns = now + ms->interval_ns;
}

static void send_due(struct measure *m, uint64_t now)
{
	while (m->n > 0 && m->heap[0]->due_ns <= now) {
		send_one(m, m->heap[0], now);
		heap_down(m, 0);
		now = mono_ns();
	}
}

/* ---- receiving --------------------------------------------------------- */

static void read_replies(struct measure *m, struct msession *ms)
{
	struct session *s = &ms->s;
	uint8_t buf[CONF_MAX_SESSION_SIZE + 1];
	char control[CMSG_SPACE(sizeof(struct timespec))];
	bool own_synced = stamp_err_synced(m->own_err);

	/* One reply a readiness (level-triggered: another wakes the loop
	 * again), so a lone reply costs one recvmsg(), not a second that
	 * finds nothing; an error (ICMP) is read and the next one tried. */
	for (int i = 0; i < 8; i++) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = control, .msg_controllen = sizeof(control)};
		ssize_t len = recvmsg(ms->fd, &msg, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* an ICMP error: the packet is lost in its time */
		}
		struct timespec t4 = {0, 0};
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&t4, CMSG_DATA(cm), sizeof(t4));
		if (t4.tv_sec == 0)
			clock_gettime(CLOCK_REALTIME, &t4);
		struct stamp_reflector r;
		bool good = (size_t)len == s->conf.size &&
			    stamp_reflector_parse(buf, (size_t)len, s->conf.stamp_auth, &r) == 0 &&
			    (!s->conf.stamp_auth || stamp_packet_check(&ms->hmac, buf));
		pthread_mutex_lock(&ms->lock);
		if (good)
			session_reply(s, &r, (int64_t)t4.tv_sec * (int64_t)NS_PER_S + t4.tv_nsec,
				      own_synced);
		else
			session_corrupt(s);
		pthread_mutex_unlock(&ms->lock);
		return;
	}
}

/* ---- the thread ---------------------------------------------------------- */

/* Take a reload's list: keep the unchanged sessions, make the new. */
static void take_pending(struct measure *m)
{
	struct conf_session *list = m->pending;
	size_t n = m->n_pending;
	struct msession **next = calloc(n ? n : 1, sizeof(*next));
	struct msession **heap = calloc(n ? n : 1, sizeof(*heap));

	if (!next || !heap) {
		log_err("sessions: out of memory: keeping the running ones");
		free(next);
		free(heap);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < m->n && !next[i]; k++) {
			if (m->sessions[k] && same_conf(&m->sessions[k]->s.conf, &list[i])) {
				next[i] = m->sessions[k];
				m->sessions[k] = NULL;
			}
		}
		if (!next[i] && !(next[i] = session_new(&list[i]))) {
			log_err("session %s: out of memory: left out", list[i].name);
			continue;
		}
	}
	/* The new ones start at a random point of their first interval from
	 * now, once all are made (making many takes milliseconds). */
	uint64_t now = mono_ns();
	for (size_t i = 0; i < n; i++)
		if (next[i] && next[i]->due_ns == UINT64_MAX)
			next[i]->due_ns = now + random_below(next[i]->interval_ns);
	/* Those left out of memory are dropped from the list. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (next[i])
			next[kept++] = next[i];
	for (size_t k = 0; k < m->n; k++)
		if (m->sessions[k])
			session_gone(m, m->sessions[k]);
	free(m->sessions);
	free(m->heap);
	m->sessions = next;
	m->heap = heap;
	m->n = kept;
	heap_build(m);
}

/* How long to wait: until the next packet's time or the next sweep. */
static struct timespec wait_for(const struct measure *m, uint64_t now)
{
	uint64_t at = m->next_sweep_ns;

	if (m->n > 0 && m->heap[0]->due_ns < at)
		at = m->heap[0]->due_ns;
	uint64_t ns = at > now ? at - now : 0;
	return (struct timespec){(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
}

/* epoll_pwait2(): a timeout in nanoseconds, with no timer to set and read
 * again each turn (Linux 5.11); before that, epoll_wait()'s milliseconds,
 * rounded up. */
static int wait_events(struct measure *m, struct epoll_event *ev, const struct timespec *t)
{
	static bool coarse;

	if (!coarse) {
		int k = epoll_pwait2(m->epfd, ev, EVENTS_MAX, t, NULL);
		if (k >= 0 || errno != ENOSYS)
			return k;
		coarse = true;
	}
	return epoll_wait(m->epfd, ev, EVENTS_MAX,
			  (int)(t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000));
}

static void sweep(struct measure *m, uint64_t now)
{
	stamp_clock_error(false, &m->own_err);
	for (size_t i = 0; i < m->n; i++) {
		pthread_mutex_lock(&m->sessions[i]->lock);
		session_expire(&m->sessions[i]->s, now);
		pthread_mutex_unlock(&m->sessions[i]->lock);
	}
	m->next_sweep_ns = now + SWEEP_NS;
}

static void *measure_main(void *arg)
{
	struct measure *m = arg;
	struct epoll_event ev[EVENTS_MAX];

	prctl(PR_SET_NAME, "larsd-measure", 0, 0, 0);
	/* The kernel may fire a timer up to its slack late (50 us by
	 * default): a schedule precise to microseconds asks for 1 ns. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (;;) {
		uint64_t now = mono_ns();
		if (atomic_load(&m->stop))
			break;
		if (atomic_load(&m->has_pending)) {
			/* Under the lock: a "stats sessions" meanwhile waits
			 * for the new list (making a session is a few
			 * allocations; a name to resolve waits for its turn). */
			pthread_mutex_lock(&m->lock);
			take_pending(m);
			free(m->pending);
			m->pending = NULL;
			atomic_store(&m->has_pending, false);
			pthread_cond_broadcast(&m->taken);
			pthread_mutex_unlock(&m->lock);
		}
		if (now >= m->next_sweep_ns)
			sweep(m, now);
		send_due(m, now);
		struct timespec t = wait_for(m, mono_ns());
		int k = wait_events(m, ev, &t);
		for (int i = 0; i < k; i++) {
			if (ev[i].data.ptr == m) {
				uint64_t v;
				if (read(m->wakefd, &v, sizeof(v)) < 0) { /* counted: nothing */ }
			} else {
				read_replies(m, ev[i].data.ptr);
			}
		}
	}
	return NULL;
}

/* ---- stats sessions ------------------------------------------------------ */

/* p50,p90,p99,max,min,mean in microseconds, or "-". */
static void report_lat(struct ctl_out *o, size_t i, const char *name,
		       const struct session_hist *h)
{
	if (h->count == 0) {
		ctl_printf(o, "STAT session_%zu:%s_us -\n", i, name);
	} else {
		ctl_printf(o, "STAT session_%zu:%s_us %.1f,%.1f,%.1f,%.1f,%.1f,%.1f\n", i, name,
			   session_hist_percentile(h, 50) / 1e3, session_hist_percentile(h, 90) / 1e3,
			   session_hist_percentile(h, 99) / 1e3, h->max_ns / 1e3, h->min_ns / 1e3,
			   (double)h->sum_ns / (double)h->count / 1e3);
	}
	char line[SESSION_HIST_BUCKETS * 21 + 64];
	int len = snprintf(line, sizeof(line), "%llu,%llu", (unsigned long long)h->count,
			   (unsigned long long)h->sum_ns);
	for (unsigned b = 0; b < SESSION_HIST_BUCKETS && len > 0 && (size_t)len < sizeof(line); b++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, ",%llu",
				(unsigned long long)h->bucket[b]);
	ctl_printf(o, "STAT session_%zu:%s_hist %s\n", i, name, line);
}

static void report_one(struct ctl_out *o, size_t i, const struct session *s)
{
	const struct conf_session *c = &s->conf;
	const struct session_counts *k = &s->counts;
	uint64_t fwd, back;

	ctl_printf(o, "STAT session_%zu:name %s\n", i, c->name);
	ctl_printf(o, "STAT session_%zu:peer %s\n", i, c->peer);
	ctl_printf(o, "STAT session_%zu:port %u\n", i, (unsigned)c->port);
	ctl_printf(o, "STAT session_%zu:rate %g\n", i, c->rate);
#define COUNT(f) ctl_printf(o, "STAT session_%zu:" #f " %llu\n", i, (unsigned long long)k->f)
	COUNT(sent);
	COUNT(received);
	COUNT(lost);
	COUNT(late);
	COUNT(duplicates);
	COUNT(reordered);
	COUNT(corrupt);
	COUNT(send_errors);
#undef COUNT
	if (session_split(s, &fwd, &back)) {
		ctl_printf(o, "STAT session_%zu:forward_lost %llu\n", i, (unsigned long long)fwd);
		ctl_printf(o, "STAT session_%zu:backward_lost %llu\n", i, (unsigned long long)back);
	} else {
		ctl_printf(o, "STAT session_%zu:forward_lost -\n", i);
		ctl_printf(o, "STAT session_%zu:backward_lost -\n", i);
	}
	ctl_printf(o, "STAT session_%zu:synced %d\n", i, s->synced ? 1 : 0);
	for (int l = 0; l < SESSION_LATS; l++)
		report_lat(o, i, session_lat_name[l], &s->lat[l]);
}

void measure_report(struct measure *m, struct ctl_out *o)
{
	if (!m) {
		ctl_printf(o, "STAT sessions 0\nSTAT sessions_send_error_us -\nEND\n");
		return;
	}
	static struct session copy; /* the control thread's only */
	struct session_hist e_copy;
	pthread_mutex_lock(&m->err_lock);
	e_copy = m->send_error;
	pthread_mutex_unlock(&m->err_lock);
	const struct session_hist *e = &e_copy;
	pthread_mutex_lock(&m->lock);
	ctl_printf(o, "STAT sessions %zu\n", m->n);
	if (e->count == 0)
		ctl_printf(o, "STAT sessions_send_error_us -\n");
	else
		ctl_printf(o, "STAT sessions_send_error_us %.1f,%.1f,%.1f\n",
			   session_hist_percentile(e, 50) / 1e3, session_hist_percentile(e, 99) / 1e3,
			   e->max_ns / 1e3);
	for (size_t i = 0; i < m->n; i++) {
		/* A copy, so the session waits for a memcpy, not for the text. */
		pthread_mutex_lock(&m->sessions[i]->lock);
		copy = m->sessions[i]->s;
		pthread_mutex_unlock(&m->sessions[i]->lock);
		report_one(o, i, &copy);
	}
	pthread_mutex_unlock(&m->lock);
	ctl_printf(o, "END\n");
}

/* ---- the control thread's side --------------------------------------------- */

static void hand_over(struct measure *m, struct conf_session *list, size_t n)
{
	uint64_t one = 1;

	pthread_mutex_lock(&m->lock);
	free(m->pending);
	m->pending = list;
	m->n_pending = n;
	atomic_store(&m->has_pending, true);
	pthread_mutex_unlock(&m->lock);
	if (write(m->wakefd, &one, sizeof(one)) < 0) { /* the counter is full: awake anyway */ }
}

struct measure *measure_start(struct conf_session *list, size_t n, char *err, size_t errlen)
{
	struct measure *m = calloc(1, sizeof(*m));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!m) {
		snprintf(err, errlen, "sessions: out of memory");
		free(list);
		return NULL;
	}
	m->epfd = m->wakefd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->err_lock, NULL);
	pthread_cond_init(&m->taken, NULL);
	session_hist_init(&m->send_error);
	stamp_clock_error(false, &m->own_err);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.ptr = m;
	if (m->epfd < 0 || m->wakefd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wakefd, &ev) < 0) {
		snprintf(err, errlen, "sessions: cannot make the measuring thread's epoll set: %s",
			 strerror(errno));
		free(list);
		measure_stop(m);
		return NULL;
	}
	m->pending = list;
	m->n_pending = n;
	m->has_pending = true;
	int rc = pthread_create(&m->thread, NULL, measure_main, m);
	if (rc != 0) {
		snprintf(err, errlen, "sessions: cannot start the measuring thread: %s",
			 strerror(rc));
		measure_stop(m);
		return NULL;
	}
	m->running = true;
	return m;
}

void measure_apply(struct measure *m, struct conf_session *list, size_t n)
{
	hand_over(m, list, n);
	pthread_mutex_lock(&m->lock);
	while (atomic_load(&m->has_pending))
		pthread_cond_wait(&m->taken, &m->lock);
	pthread_mutex_unlock(&m->lock);
	log_info("sessions: %zu measuring", n);
}

void measure_stop(struct measure *m)
{
	if (!m)
		return;
	if (m->running) {
		uint64_t one = 1;
		atomic_store(&m->stop, true);
		if (write(m->wakefd, &one, sizeof(one)) < 0) { /* awake anyway */ }
		pthread_join(m->thread, NULL);
	}
	for (size_t i = 0; i < m->n; i++)
		session_gone(m, m->sessions[i]);
	free(m->sessions);
	free(m->heap);
	free(m->pending);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->wakefd >= 0)
		close(m->wakefd);
	pthread_cond_destroy(&m->taken);
	pthread_mutex_destroy(&m->err_lock);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
