/*
 * fuzz_conf.c - libFuzzer target: larsd's config loader (src/larsd/conf.c).
 *
 * The input is the text of a larsd.conf.  It is written to a file in a
 * private temporary directory and loaded with conf_load().  Either:
 *
 *  - conf_load() returns 0 and the struct conf obeys every documented
 *    range and invariant (threads 1..256, 1..64 listeners with ports
 *    1..65535 and parsed addresses that match the text, no duplicate
 *    listener, the always-blocked UDP ports first, allow-list networks
 *    with their host bits clear, a mem_limit that holds a 64K buffer, the
 *    largest frame and the preallocation, sessions with unique names and
 *    every key in range, ...).  The config is then
 *    written back as libconfig text and loaded again: the second load must
 *    give the same values (every accepted value survives a round trip);
 *  - or it returns -1, leaves the caller's struct untouched, and err is one
 *    non-empty line (no '\n' or '\r') that starts with the file name (or
 *    with the directory, for an error inside an @include file).
 *
 * The error buffer is sometimes short (from the input's size), a heap
 * block of exactly that size, so AddressSanitizer sees any overflow.
 *
 * @include: libconfig resolves it against the file's directory, where this
 * target puts two include files of its own (inc.conf, listen.conf).  An
 * input that would include anything else (a path with '/', a name with
 * unusual characters, which could be a device that never ends) is
 * skipped: reading other files is not what is being tested.
 *
 * libconfig itself is not instrumented for coverage (it comes from the
 * system); conf.c is, and that is where larsd's own checks live.
 */
#include "config.h"

#include "conf.h"
#include "fuzz.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char dir[PATH_MAX / 2];
static char path[PATH_MAX];       /* the file under test */
static char again_path[PATH_MAX]; /* the round trip's file */

static void remove_files(void)
{
	static const char *const names[] = {"larsd.conf", "again.conf", "inc.conf",
					    "listen.conf"};
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0, "cannot write %s", p);
	const char *s = data;
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		FUZZ_CHECK(n > 0, "write %s failed", p);
		s += n;
		len -= (size_t)n;
	}
	FUZZ_CHECK(close(fd) == 0, "close %s failed", p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
	atexit(remove_files);
	snprintf(path, sizeof(path), "%s/larsd.conf", dir);
	snprintf(again_path, sizeof(again_path), "%s/again.conf", dir);
	snprintf(p, sizeof(p), "%s/inc.conf", dir);
	write_file(p, "max_connections = 100;\n", 23);
	snprintf(p, sizeof(p), "%s/listen.conf", dir);
	static const char listen[] =
		"{ proto = \"udp\"; address = \"::1\"; port = 7001; mode = \"lars\"; }\n";
	write_file(p, listen, sizeof(listen) - 1);
	return 0;
}

/* Would libconfig open something other than our own include files?
 * Conservative: any "@include" followed by a quoted name counts, wherever
 * it is (libconfig only honours it at the start of a line). */
static bool includes_elsewhere(const uint8_t *data, size_t size)
{
	static const char kw[] = "@include";
	const size_t kwlen = sizeof(kw) - 1;

	for (size_t i = 0; i + kwlen <= size; i++) {
		if (memcmp(data + i, kw, kwlen) != 0)
			continue;
		size_t j = i + kwlen;
		while (j < size && (data[j] == ' ' || data[j] == '\t'))
			j++;
		if (j == size || data[j] != '"')
			continue;
		size_t start = ++j;
		while (j < size && data[j] != '"') {
			uint8_t ch = data[j];
			bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
				    (ch == '.' && j > start);
			if (!safe)
				return true;
			j++;
		}
		if (j == size || j == start)
			return true;
	}
	return false;
}

/* ---- the invariants of a loaded config ---------------------------------- */

static bool is_log_level(int l)
{
	return l == LOG_ERR || l == LOG_WARNING || l == LOG_NOTICE || l == LOG_INFO ||
	       l == LOG_DEBUG;
}

static bool same_addr(const struct conf_listener *a, const struct conf_listener *b)
{
	return a->proto == b->proto && a->port == b->port &&
	       a->addr.ss_family == b->addr.ss_family && a->addrlen == b->addrlen &&
	       memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

static void check_listener(const struct conf_listener *l, size_t i)
{
	unsigned char bin[16];

	FUZZ_CHECK(l->proto == CONF_PROTO_TCP || l->proto == CONF_PROTO_UDP,
		   "listener %zu: proto %d", i, (int)l->proto);
	FUZZ_CHECK(l->mode == CONF_MODE_ECHO || l->mode == CONF_MODE_LARS ||
			   (l->mode == CONF_MODE_STAMP && l->proto == CONF_PROTO_UDP),
		   "listener %zu: mode %d", i, (int)l->mode);
	FUZZ_CHECK(l->port >= 1, "listener %zu: port 0", i);
	FUZZ_CHECK(memchr(l->address, '\0', sizeof(l->address)) != NULL && l->address[0],
		   "listener %zu: address not a string", i);
	if (l->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
		FUZZ_CHECK(l->addrlen == sizeof(*sin), "listener %zu: addrlen %u", i,
			   (unsigned)l->addrlen);
		FUZZ_CHECK(ntohs(sin->sin_port) == l->port, "listener %zu: port mismatch", i);
		FUZZ_CHECK(inet_pton(AF_INET, l->address, bin) == 1 &&
				   memcmp(bin, &sin->sin_addr, 4) == 0,
			   "listener %zu: \"%s\" does not match its sockaddr", i, l->address);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
		FUZZ_CHECK(l->addr.ss_family == AF_INET6, "listener %zu: family %d", i,
			   (int)l->addr.ss_family);
		FUZZ_CHECK(l->addrlen == sizeof(*sin6), "listener %zu: addrlen %u", i,
			   (unsigned)l->addrlen);
		FUZZ_CHECK(ntohs(sin6->sin6_port) == l->port, "listener %zu: port mismatch", i);
		FUZZ_CHECK(inet_pton(AF_INET6, l->address, bin) == 1 &&
				   memcmp(bin, &sin6->sin6_addr, 16) == 0,
			   "listener %zu: \"%s\" does not match its sockaddr", i, l->address);
	}
}

static void check_conf(const struct conf *c, const char *file)
{
	static const uint16_t always[] = {0, 7, 13, 17, 19};

	FUZZ_CHECK(strcmp(c->path, file) == 0, "path \"%s\"", c->path);
	FUZZ_CHECK(c->threads >= 1 && c->threads <= CONF_MAX_THREADS, "threads %u", c->threads);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 1000000,
		   "max_connections %u", c->max_connections);
	FUZZ_CHECK(c->idle_timeout <= 86400, "idle_timeout %u", c->idle_timeout);
	FUZZ_CHECK(c->shutdown_timeout_ms <= 60000, "shutdown_timeout_ms %u",
		   c->shutdown_timeout_ms);
	FUZZ_CHECK(c->udp_source_rate <= CONF_MAX_SOURCE_RATE &&
			   c->udp_source_burst <= CONF_MAX_SOURCE_BURST &&
			   (c->udp_source_rate == 0 || c->udp_source_burst >= 1),
		   "udp_source_rate %u udp_source_burst %u", c->udp_source_rate,
		   c->udp_source_burst);
	FUZZ_CHECK(c->max_message >= 1 && c->max_message <= BUFPOOL_MAX_SIZE - LARS_HEADER_SIZE,
		   "max_message %u", (unsigned)c->max_message);
	FUZZ_CHECK(is_log_level(c->log_level), "log_level %d", c->log_level);

	FUZZ_CHECK(c->n_listeners >= 1 && c->n_listeners <= CONF_MAX_LISTENERS,
		   "%zu listeners", c->n_listeners);
	for (size_t i = 0; i < c->n_listeners; i++) {
		check_listener(&c->listeners[i], i);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(!same_addr(&c->listeners[i], &c->listeners[k]),
				   "listeners %zu and %zu are the same socket", k, i);
	}

	FUZZ_CHECK(c->n_blocked_ports >= 5 && c->n_blocked_ports <= 64, "%zu blocked ports",
		   c->n_blocked_ports);
	FUZZ_CHECK(memcmp(c->blocked_ports, always, sizeof(always)) == 0,
		   "the always-blocked ports are not first");
	for (size_t i = 0; i < c->n_blocked_ports; i++)
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(c->blocked_ports[i] != c->blocked_ports[k],
				   "blocked port %u twice", (unsigned)c->blocked_ports[i]);

	FUZZ_CHECK(c->n_allow <= 64, "%zu allow entries", c->n_allow);
	for (size_t i = 0; i < c->n_allow; i++) {
		const struct conf_net *n = &c->allow[i];
		unsigned max = n->family == AF_INET ? 32 : 128;
		FUZZ_CHECK(n->family == AF_INET || n->family == AF_INET6, "allow %zu: family %d",
			   i, n->family);
		FUZZ_CHECK(n->prefix <= max, "allow %zu: prefix %u", i, n->prefix);
		for (unsigned bit = n->prefix; bit < 128; bit++)
			FUZZ_CHECK(!(n->addr[bit / 8] & (0x80u >> (bit % 8))),
				   "allow %zu: host bit %u set", i, bit);
	}

	/* The measuring sessions: unique names, every key in its range. */
	FUZZ_CHECK(c->n_sessions <= CONF_MAX_SESSIONS && (c->n_sessions == 0) == !c->sessions,
		   "%zu sessions at %p", c->n_sessions, (const void *)c->sessions);
	for (size_t i = 0; i < c->n_sessions; i++) {
		const struct conf_session *s = &c->sessions[i];
		FUZZ_CHECK(s->name[0] && memchr(s->name, '\0', sizeof(s->name)) &&
				   s->peer[0] && memchr(s->peer, '\0', sizeof(s->peer)),
			   "session %zu: name or peer not a string", i);
		FUZZ_CHECK(s->port >= 1 && s->rate >= CONF_MIN_SESSION_RATE &&
				   s->rate <= CONF_MAX_SESSION_RATE && s->dscp <= 63 &&
				   s->size >= (s->stamp_auth ? 112u : 44u) &&
				   s->size <= CONF_MAX_SESSION_SIZE &&
				   s->timeout_ms >= CONF_MIN_SESSION_TIMEOUT_MS &&
				   s->timeout_ms <= CONF_MAX_SESSION_TIMEOUT_MS,
			   "session %zu: a key out of range", i);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(s->name, c->sessions[k].name) != 0, "sessions %zu and %zu: one name",
				   k, i);
	}

	/* The pool: a 64K buffer for UDP, the largest frame, the prealloc. */
	size_t frame = bufpool_tier_size((unsigned)bufpool_tier_index(
		(size_t)c->max_message + LARS_HEADER_SIZE));
	FUZZ_CHECK(c->mem_limit >= ((size_t)64 << 10) && c->mem_limit >= frame,
		   "mem_limit %zu below 64K or the largest frame's %zu", c->mem_limit, frame);
	uint64_t bytes = 0;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		FUZZ_CHECK(c->prealloc[t] <= 100000, "prealloc[%u] = %u", t, c->prealloc[t]);
		bytes += (uint64_t)c->prealloc[t] * bufpool_tier_size(t);
	}
	FUZZ_CHECK(bytes <= c->mem_limit, "prealloc %llu bytes > mem_limit %zu",
		   (unsigned long long)bytes, c->mem_limit);
}

static void check_error(const char *err, size_t errlen)
{
	size_t len = strnlen(err, errlen);

	if (errlen == 0) {
		FUZZ_CHECK(err[0] == 'Z', "wrote into an error buffer of size 0");
		return;
	}
	FUZZ_CHECK(len < errlen, "err is not terminated");
	if (errlen == 1)
		return; /* no room for any text */
	FUZZ_CHECK(len > 0, "failed without a message");
	FUZZ_CHECK(!strchr(err, '\n') && !strchr(err, '\r'), "not one line: \"%s\"", err);
	/* "FILE:LINE: ..." or "FILE: ...", FILE being ours or an included one. */
	size_t want = strlen(dir) + 1; /* "DIR/" */
	if (want > len)
		want = len;
	FUZZ_CHECK(strncmp(err, path, want) == 0, "does not start with the file name: \"%s\"",
		   err);
}

/* ---- the round trip ------------------------------------------------------ */

static const char *level_name(int l)
{
	switch (l) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_DEBUG: return "debug";
	default: return "info";
	}
}

static void append(char **p, size_t *left, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char **p, size_t *left, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(*p, *left, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0 && (size_t)n < *left, "round-trip text too long");
	*p += n;
	*left -= (size_t)n;
}

/* libconfig text for c, with every value explicit. */
static size_t write_conf(const struct conf *c, char *text, size_t cap)
{
	static const char *const tiers[BUFPOOL_TIERS] = {
		"tier_4K", "tier_16K", "tier_64K", "tier_256K", "tier_1M", "tier_4M", "tier_8M"};
	char *p = text, addr[INET6_ADDRSTRLEN];
	size_t left = cap;

	append(&p, &left,
	       "larsd: {\n threads = %u;\n max_connections = %u;\n idle_timeout = %u;\n"
	       " shutdown_timeout_ms = %u;\n max_message = %u;\n log_level = \"%s\";\n"
	       " udp_source_rate = %u;\n udp_source_burst = %u;\n"
	       " udp_blocked_ports = [",
	       c->threads, c->max_connections, c->idle_timeout, c->shutdown_timeout_ms,
	       (unsigned)c->max_message, level_name(c->log_level), c->udp_source_rate,
	       c->udp_source_burst);
	for (size_t i = 5; i < c->n_blocked_ports; i++)
		append(&p, &left, "%s%u", i > 5 ? ", " : " ", (unsigned)c->blocked_ports[i]);
	append(&p, &left, " ];\n allow = [");
	for (size_t i = 0; i < c->n_allow; i++) {
		FUZZ_CHECK(inet_ntop(c->allow[i].family, c->allow[i].addr, addr, sizeof(addr)),
			   "inet_ntop failed");
		append(&p, &left, "%s\"%s/%u\"", i ? ", " : " ", addr, c->allow[i].prefix);
	}
	append(&p, &left, " ];\n listen = (\n");
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *l = &c->listeners[i];
		append(&p, &left,
		       "  { proto = \"%s\"; address = \"%s\"; port = %u; mode = \"%s\";"
		       " reuseport = %s; }%s\n",
		       l->proto == CONF_PROTO_TCP ? "tcp" : "udp", l->address, (unsigned)l->port,
		       conf_mode_name(l->mode), l->reuseport ? "true" : "false",
		       i + 1 < c->n_listeners ? "," : "");
	}
	append(&p, &left, " );\n};\nbufpool: {\n mem_limit = \"%zu\";\n prealloc = {",
	       c->mem_limit);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		append(&p, &left, " %s = %u;", tiers[t], c->prealloc[t]);
	append(&p, &left, " };\n};\nsessions = (\n");
	for (size_t i = 0; i < c->n_sessions; i++) { /* authentication left out */
		const struct conf_session *s = &c->sessions[i];
		append(&p, &left,
		       "  { name = \"%s\"; peer = \"%s\"; port = %u; rate = %.17g; size = %u;"
		       " dscp = %u; ssid = %u; timeout = %.3f; }%s\n",
		       s->name, s->peer, (unsigned)s->port, s->rate, s->size, s->dscp,
		       (unsigned)s->ssid, s->timeout_ms / 1000.0, i + 1 < c->n_sessions ? "," : "");
	}
	append(&p, &left, ");\n");
	return cap - left;
}

static void check_same(const struct conf *a, const struct conf *b)
{
	FUZZ_CHECK(a->n_sessions == b->n_sessions, "round trip changed the sessions");
	for (size_t i = 0; i < a->n_sessions; i++) {
		const struct conf_session *x = &a->sessions[i], *y = &b->sessions[i];
		FUZZ_CHECK(!strcmp(x->name, y->name) && !strcmp(x->peer, y->peer) &&
				   x->port == y->port && x->rate == y->rate && x->size == y->size &&
				   x->dscp == y->dscp && x->ssid == y->ssid &&
				   x->timeout_ms == y->timeout_ms,
			   "round trip changed session %zu", i);
	}
	FUZZ_CHECK(a->threads == b->threads && a->max_connections == b->max_connections &&
			   a->idle_timeout == b->idle_timeout &&
			   a->shutdown_timeout_ms == b->shutdown_timeout_ms &&
			   a->max_message == b->max_message && a->log_level == b->log_level &&
			   a->udp_source_rate == b->udp_source_rate &&
			   a->udp_source_burst == b->udp_source_burst,
		   "round trip changed a scalar of the larsd group");
	FUZZ_CHECK(a->mem_limit == b->mem_limit &&
			   memcmp(a->prealloc, b->prealloc, sizeof(a->prealloc)) == 0,
		   "round trip changed the bufpool group");
	FUZZ_CHECK(a->n_blocked_ports == b->n_blocked_ports &&
			   memcmp(a->blocked_ports, b->blocked_ports,
				  a->n_blocked_ports * sizeof(a->blocked_ports[0])) == 0,
		   "round trip changed udp_blocked_ports");
	FUZZ_CHECK(a->n_allow == b->n_allow, "round trip changed allow");
	for (size_t i = 0; i < a->n_allow; i++)
		FUZZ_CHECK(a->allow[i].family == b->allow[i].family &&
				   a->allow[i].prefix == b->allow[i].prefix &&
				   memcmp(a->allow[i].addr, b->allow[i].addr, 16) == 0,
			   "round trip changed allow entry %zu", i);
	FUZZ_CHECK(a->n_listeners == b->n_listeners, "round trip changed the listeners");
	for (size_t i = 0; i < a->n_listeners; i++) {
		const struct conf_listener *x = &a->listeners[i], *y = &b->listeners[i];
		FUZZ_CHECK(same_addr(x, y) && x->mode == y->mode && x->reuseport == y->reuseport &&
				   strcmp(x->address, y->address) == 0,
			   "round trip changed listener %zu", i);
	}
}

/* ---- the target ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, before, again;
	size_t errlen = size % 7 == 3 ? size % 41 : CONF_ERR_MAX;

	if (includes_elsewhere(data, size))
		return -1; /* not added to the corpus */
	write_file(path, data, size);

	char *err = malloc(errlen ? errlen : 1);
	FUZZ_CHECK(err != NULL, "out of memory");
	err[0] = 'Z'; /* must stay when errlen is 0 */
	memset(&c, 0xa5, sizeof(c));
	before = c;
	if (conf_load(path, &c, err, errlen) == 0) {
		check_conf(&c, path);
		if (errlen > 0)
			FUZZ_CHECK(err[0] == '\0', "succeeded with a message: \"%s\"", err);

		static char text[64 << 10];
		size_t len = write_conf(&c, text, sizeof(text));
		write_file(again_path, text, len);
		char again_err[CONF_ERR_MAX];
		FUZZ_CHECK(conf_load(again_path, &again, again_err, sizeof(again_err)) == 0,
			   "the written-back config does not load: %s\n%s", again_err, text);
		check_same(&c, &again);
		conf_release(&again);
		conf_release(&c);
	} else {
		check_error(err, errlen);
		FUZZ_CHECK(memcmp(&c, &before, sizeof(c)) == 0, "failed but changed *out");
	}
	free(err);
	return 0;
}
