/*
 * stress_util.c - figures, limits, the VmRSS sampler and the checked
 * pipelined TCP load of the stress scenarios (see stress.h).
 *
 * st_load: one thread drives every connection with poll().  Each
 * connection generates its stream on demand (echo: pattern bytes in chunks
 * of random size; lars: frames with a random body), keeps what it sent
 * and has not had back in `pend`, and compares every byte that arrives
 * against it.  Nothing is ever assumed about timing: the check is that the
 * bytes that come back are exactly a prefix of the bytes sent.
 */
#include "config.h"

#include "stress.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ST_NOFILE_WANT 8192

/* ---- figures, limits, numbers ------------------------------------------ */

void st_figure(const char *scenario, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("# %s: %s\n", scenario, text);
	fflush(stdout);
}

long st_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < ST_NOFILE_WANT) {
		/* Root may raise the hard limit too (CAP_SYS_RESOURCE). */
		struct rlimit up = {ST_NOFILE_WANT, ST_NOFILE_WANT};
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return st_nofile();
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return st_nofile();
}

long st_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t st_percentile(uint64_t *us, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(us, n, sizeof(*us), cmp_u64);
	size_t i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return us[i];
}

uint64_t st_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

long long st_cpu_ms(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which ends at the last ')'. */
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return (long long)((ut + st) * 1000ULL / (unsigned long long)(hz > 0 ? hz : 100));
}

uint64_t st_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

long long st_stat(struct lh_daemon *d, const char *name)
{
	long long v = lh_stat(d, name);
	ck_assert_msg(v >= 0, "larsd did not report the counter %s (alive: %d)", name,
		      lh_alive(d));
	return v;
}

void st_backlog(struct lh_daemon *d, size_t listener)
{
	ck_assert_int_eq(listen(d->ls[listener].fd, 4096), 0);
}

void st_expect(struct st_verdict *v, bool ok, const char *fmt, ...)
{
	va_list ap;
	size_t len = strlen(v->why);

	if (ok)
		return;
	v->failed++;
	if (len + 8 >= sizeof(v->why))
		return;
	if (len > 0) {
		snprintf(v->why + len, sizeof(v->why) - len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(v->why + len, sizeof(v->why) - len, fmt, ap);
	va_end(ap);
}

/* ---- VmRSS sampler ------------------------------------------------------- */

static void *rss_main(void *arg)
{
	struct st_rss *r = arg;

	while (!atomic_load(&r->stop)) {
		long kib = lh_rss_kib(r->pid);
		if (kib > 0) {
			atomic_store(&r->last_kib, kib);
			if (kib > atomic_load(&r->peak_kib))
				atomic_store(&r->peak_kib, kib);
			atomic_fetch_add(&r->samples, 1);
		}
		lh_sleep_ms(r->period_ms);
	}
	return NULL;
}

void st_rss_start(struct st_rss *r, pid_t pid, unsigned period_ms)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->period_ms = period_ms;
	ck_assert_int_eq(pthread_create(&r->thread, NULL, rss_main, r), 0);
}

void st_rss_stop(struct st_rss *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
}

/* ---- sockets ----------------------------------------------------------- */

long long st_udp_socket_drops(uint16_t port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	long long drops = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *tok[16], *save = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 16;
		     t = strtok_r(NULL, " \t\n", &save))
			tok[n++] = t;
		if (n < 13)
			continue;
		unsigned addr, p;
		if (sscanf(tok[1], "%8X:%4X", &addr, &p) != 2)
			continue;
		if (p == port && addr == 0x0100007Fu) /* 127.0.0.1 as printed on x86 */
			drops = strtoll(tok[12], NULL, 10);
	}
	fclose(f);
	return drops;
}

/* ---- the checked load ---------------------------------------------------- */

static void conn_setup(struct st_conn *c, int fd, bool lars, uint64_t seed, size_t window,
		       size_t max_chunk)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->lars = lars;
	c->seed = seed;
	c->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	c->pend_cap = window + max_chunk + 16;
	c->pend = malloc(c->pend_cap);
	c->ends_cap = window / 8 + 16;
	c->ends = malloc(c->ends_cap * sizeof(*c->ends));
	ck_assert(c->pend && c->ends);
}

void st_load_init(struct st_load *L, const struct lh_listen *echo_l,
		  const struct lh_listen *lars_l, size_t n_echo, size_t n_lars, size_t window,
		  uint64_t seed)
{
	memset(L, 0, sizeof(*L));
	L->n = n_echo + n_lars;
	L->window = window;
	L->max_chunk = window / 4 < 4096 ? window / 4 : 4096;
	if (L->max_chunk == 0)
		L->max_chunk = 1;
	L->c = calloc(L->n ? L->n : 1, sizeof(*L->c));
	ck_assert_ptr_nonnull(L->c);
	for (size_t i = 0; i < L->n; i++) {
		const struct lh_listen *l = i < n_echo ? echo_l : lars_l;
		int fd = lh_tcp_connect(l->address, l->port, NULL);
		ck_assert_msg(fd >= 0, "client %zu: connect to %s port %u: %s", i, l->address,
			      (unsigned)l->port, strerror(errno));
		lh_nonblock(fd);
		conn_setup(&L->c[i], fd, i >= n_echo, seed + i, window, L->max_chunk);
	}
}

/* Make sure there are bytes to send after c->sent. */
static void conn_generate(struct st_load *L, struct st_conn *c)
{
	if (c->base + c->pend_len > c->sent)
		return;
	uint64_t off = c->base + c->pend_len;
	unsigned char *p = c->pend + c->pend_len;
	size_t len;

	if (c->lars) {
		uint32_t body = (uint32_t)(st_rand(&c->rng) % (L->max_chunk + 1));
		lh_lars_header(p, c->next_id++, (int32_t)body);
		lh_pattern(p + 8, body, c->seed, off + 8);
		len = 8 + (size_t)body;
		if (c->ends_n < c->ends_cap) {
			c->ends[(c->ends_head + c->ends_n) % c->ends_cap] = off + len;
			c->ends_n++;
		}
	} else {
		len = 1 + (size_t)(st_rand(&c->rng) % L->max_chunk);
		lh_pattern(p, len, c->seed, off);
	}
	c->pend_len += len;
}

static bool conn_may_send(struct st_load *L, struct st_conn *c)
{
	return c->state == ST_OPEN && !c->send_closed && !atomic_load(&L->stop_sending) &&
	       c->sent - c->base < L->window && c->ends_n < c->ends_cap;
}

static void conn_send(struct st_load *L, struct st_conn *c)
{
	conn_generate(L, c);
	size_t at = (size_t)(c->sent - c->base);
	ssize_t n = send(c->fd, c->pend + at, c->pend_len - at, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		c->sent += (uint64_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		c->send_closed = true; /* reset or shut: what comes back still counts */
		c->error = errno;
	}
}

static void conn_shut(struct st_conn *c)
{
	if (!c->send_closed) {
		shutdown(c->fd, SHUT_WR);
		c->send_closed = true;
	}
}

static void conn_received(struct st_conn *c, const unsigned char *buf, size_t n)
{
	size_t expect = (size_t)(c->sent - c->base);
	size_t cmp = n < expect ? n : expect;

	if (memcmp(buf, c->pend, cmp) != 0)
		for (size_t i = 0; i < cmp; i++)
			c->wrong += buf[i] != c->pend[i];
	c->wrong += n - cmp; /* bytes never sent */
	memmove(c->pend, c->pend + cmp, c->pend_len - cmp);
	c->pend_len -= cmp;
	c->base += cmp;
	while (c->ends_n > 0 && c->ends[c->ends_head] <= c->base) {
		c->last_end = c->ends[c->ends_head];
		c->ends_head = (c->ends_head + 1) % c->ends_cap;
		c->ends_n--;
	}
}

static void conn_recv(struct st_conn *c)
{
	unsigned char buf[65536];

	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			conn_received(c, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			c->state = ST_EOF;
			conn_shut(c); /* as a client does: its turn to close */
		} else if (errno != EAGAIN && errno != EINTR) {
			c->state = ST_RESET;
			c->error = errno;
		}
		return;
	}
}

static bool load_settled(const struct st_load *L)
{
	for (size_t i = 0; i < L->n; i++)
		if (L->c[i].state == ST_OPEN && L->c[i].base != L->c[i].sent)
			return false;
	return true;
}

static void *load_main(void *arg)
{
	struct st_load *L = arg;
	struct pollfd *pf = calloc(L->n ? L->n : 1, sizeof(*pf));
	size_t *idx = calloc(L->n ? L->n : 1, sizeof(*idx));

	ck_assert(pf && idx);
	while (!atomic_load(&L->quit)) {
		size_t np = 0;
		bool stopping = atomic_load(&L->stop_sending);
		for (size_t i = 0; i < L->n; i++) {
			struct st_conn *c = &L->c[i];
			if (c->state != ST_OPEN)
				continue;
			if (stopping && atomic_load(&L->shut_on_stop))
				conn_shut(c);
			pf[np].fd = c->fd;
			pf[np].events = (short)(POLLIN | (conn_may_send(L, c) ? POLLOUT : 0));
			pf[np].revents = 0;
			idx[np++] = i;
		}
		if (stopping && load_settled(L))
			atomic_store(&L->settled, true);
		if (np == 0) {
			lh_sleep_ms(10);
			continue;
		}
		if (poll(pf, np, 20) <= 0)
			continue;
		for (size_t k = 0; k < np; k++) {
			struct st_conn *c = &L->c[idx[k]];
			if (pf[k].revents & POLLOUT)
				conn_send(L, c);
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
				conn_recv(c);
		}
		atomic_fetch_add(&L->rounds, 1);
	}
	free(pf);
	free(idx);
	return NULL;
}

void st_load_start(struct st_load *L)
{
	atomic_store(&L->settled, false);
	ck_assert_int_eq(pthread_create(&L->thread, NULL, load_main, L), 0);
	L->running = true;
}

void st_load_finish(struct st_load *L, int ms)
{
	uint64_t end = lh_now_ms() + (uint64_t)ms;

	atomic_store(&L->stop_sending, true);
	while (L->running && !atomic_load(&L->settled) && lh_now_ms() < end)
		lh_sleep_ms(10);
	atomic_store(&L->quit, true);
	if (L->running)
		pthread_join(L->thread, NULL);
	L->running = false;
}

void st_load_sum(const struct st_load *L, struct st_load_sum *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < L->n; i++) {
		const struct st_conn *c = &L->c[i];
		s->sent += c->sent;
		s->received += c->base;
		s->wrong += c->wrong;
		s->open += c->state == ST_OPEN;
		s->eof += c->state == ST_EOF;
		s->reset += c->state == ST_RESET;
		s->in_flight += c->base != c->sent;
		if (c->lars && c->base != c->last_end) {
			s->partial_eof += c->state == ST_EOF;
			s->partial_reset += c->state == ST_RESET;
		}
	}
}

void st_load_free(struct st_load *L)
{
	for (size_t i = 0; i < L->n; i++) {
		if (L->c[i].fd >= 0)
			close(L->c[i].fd);
		free(L->c[i].pend);
		free(L->c[i].ends);
	}
	free(L->c);
	L->c = NULL;
	L->n = 0;
}
