/*
 * conf.c - load larsd.conf (libconfig) into a struct conf.
 *
 * The only libconfig user in larsd.  conf_load() reads the file, walks
 * every setting in file order and checks it against the tables below:
 * unknown keys, wrong types and out-of-range values all fail with one line
 * "FILE:LINE: message".  The result goes into a private struct and is
 * copied to the caller only when the whole file is valid, so a failed
 * reload leaves the old configuration untouched.
 *
 * libconfig 1.5 quirks handled here: integers are read as int64 and range
 * checked by us (an "L" value fetched as int would silently become 0); a
 * size like 64M is a string, parsed by bufpool_parse_size(); @include is
 * resolved against the directory of the file, not the working directory.
 */
#include "config.h"

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#ifndef BUFPOOL_MEM_LIMIT
#define BUFPOOL_MEM_LIMIT ((size_t)64 << 20)
#endif

#define CONF_MAX_PREALLOC 100000
/* The daemon reads UDP datagrams into buffers of this tier (TCP into 16K). */
#define CONF_IO_BUF_SIZE ((size_t)64 << 10)

static const uint16_t always_blocked[] = { 0, 7, 13, 17, 19 };
#define N_ALWAYS_BLOCKED (sizeof(always_blocked) / sizeof(always_blocked[0]))

/* Keys of bufpool.prealloc, in tier order. */
static const char *const prealloc_keys[BUFPOOL_TIERS] = {
	"tier_4K", "tier_16K", "tier_64K", "tier_256K",
	"tier_1M", "tier_4M",  "tier_8M",
};

struct load {
	const char *path;              /* the file as named by the caller */
	char incdir[4096];             /* its directory, for @include */
	char *err;
	size_t errlen;
	struct conf c;                 /* filled here, copied out on success */
	const config_setting_t *mem_limit_at;  /* settings seen, for the */
	const config_setting_t *max_message_at; /* cross checks at the end */
	const config_setting_t *prealloc_at;
};

/* ---- errors ---------------------------------------------------------- */

/* libconfig names the main file NULL (it was read from a stream) and an
 * @include file as written, relative to the include directory; show the
 * latter as INCDIR/NAME. */
static const char *file_name(const struct load *ld, const char *file)
{
	return file ? file : ld->path;
}

static int file_joined(const struct load *ld, const char *file)
{
	return file && file[0] != '/' && strcmp(ld->incdir, ".") != 0;
}

static const char *file_dir(const struct load *ld, const char *file)
{
	return file_joined(ld, file) ? ld->incdir : "";
}

static const char *file_sep(const struct load *ld, const char *file)
{
	return file_joined(ld, file) && strcmp(ld->incdir, "/") != 0 ? "/" : "";
}

/* Write "FILE:LINE: message" for setting s (or "FILE: message" when s is
 * NULL or has no line).  Settings from an @include file carry its name. */
static int fail(struct load *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct load *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->errlen == 0)
		return -1;
	if (s && config_setting_source_line(s) > 0)
		snprintf(ld->err, ld->errlen, "%s%s%s:%u: %s",
			 file_dir(ld, config_setting_source_file(s)),
			 file_sep(ld, config_setting_source_file(s)),
			 file_name(ld, config_setting_source_file(s)),
			 (unsigned)config_setting_source_line(s), msg);
	else
		snprintf(ld->err, ld->errlen, "%s: %s", ld->path, msg);
	return -1;
}

/* ---- scalar values --------------------------------------------------- */

static int get_int(struct load *ld, const config_setting_t *s, const char *name,
		   long long lo, long long hi, long long *out)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(ld, s, "'%s' must be an integer", name);
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail(ld, s, "'%s' is %lld, out of range %lld..%lld",
			    name, v, lo, hi);
	*out = v;
	return 0;
}

static int get_string(struct load *ld, const config_setting_t *s,
		      const char *name, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "'%s' must be a string", name);
	*out = config_setting_get_string(s);
	return 0;
}

static int get_unsigned(struct load *ld, const config_setting_t *s,
			long long lo, long long hi, unsigned *out)
{
	long long v;

	if (get_int(ld, s, config_setting_name(s), lo, hi, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* An aggregate of scalars: an array [ ... ] or a list ( ... ). */
static int get_sequence(struct load *ld, const config_setting_t *s,
			const char *example)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail(ld, s, "'%s' must be an array like %s",
			    config_setting_name(s), example);
	return 0;
}

/* The line of an element, or of its parent where libconfig has none. */
static const config_setting_t *located(const config_setting_t *e,
				       const config_setting_t *parent)
{
	return config_setting_source_line(e) > 0 ? e : parent;
}

/* ---- addresses ------------------------------------------------------- */

/* "a.b.c.d", "x::y", optionally "/prefix".  Host bits are cleared. */
static int parse_net(const char *text, struct conf_net *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max, prefix;

	if (alen >= sizeof(buf))
		return -1;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	prefix = max;
	if (slash) {
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return -1;
		for (prefix = 0; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return -1;
	}
	net->prefix = prefix;
	for (unsigned bit = prefix; bit < max; bit++)
		net->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

static int parse_allow(struct load *ld, const config_setting_t *s)
{
	int n = config_setting_length(s);

	if (get_sequence(ld, s, "[ \"127.0.0.0/8\", \"::1\" ]") < 0)
		return -1;
	if (n > (int)(sizeof(ld->c.allow) / sizeof(ld->c.allow[0])))
		return fail(ld, s, "'allow' has %d entries, at most %zu", n,
			    sizeof(ld->c.allow) / sizeof(ld->c.allow[0]));
	ld->c.n_allow = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const config_setting_t *at = located(e, s);
		const char *text = NULL;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(ld, at, "'allow' entries must be strings like \"127.0.0.0/8\"");
		text = config_setting_get_string(e);
		if (parse_net(text, &ld->c.allow[ld->c.n_allow]) < 0)
			return fail(ld, at, "'allow' entry \"%s\" is not an address or network like \"127.0.0.0/8\" or \"::1\"",
				    text);
		ld->c.n_allow++;
	}
	return 0;
}

static int parse_blocked_ports(struct load *ld, const config_setting_t *s)
{
	const size_t cap = sizeof(ld->c.blocked_ports) / sizeof(ld->c.blocked_ports[0]);
	int n = config_setting_length(s);

	if (get_sequence(ld, s, "[ 9, 1900 ]") < 0)
		return -1;
	ld->c.n_blocked_ports = N_ALWAYS_BLOCKED;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long port;
		size_t k;

		if (get_int(ld, located(e, s), "udp_blocked_ports", 1, 65535, &port) < 0)
			return -1;
		for (k = 0; k < ld->c.n_blocked_ports; k++)
			if (ld->c.blocked_ports[k] == port)
				break;
		if (k < ld->c.n_blocked_ports)
			continue; /* already blocked */
		if (ld->c.n_blocked_ports == cap)
			return fail(ld, s, "'udp_blocked_ports' holds more than %zu ports",
				    cap - N_ALWAYS_BLOCKED);
		ld->c.blocked_ports[ld->c.n_blocked_ports++] = (uint16_t)port;
	}
	return 0;
}

/* ---- listeners ------------------------------------------------------- */

static int same_listener(const struct conf_listener *a,
			 const struct conf_listener *b)
{
	if (a->proto != b->proto || a->port != b->port ||
	    a->addr.ss_family != b->addr.ss_family)
		return 0;
	if (a->addr.ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->addr)->sin_addr,
			      &((const struct sockaddr_in *)&b->addr)->sin_addr,
			      sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
		      &((const struct sockaddr_in6 *)&b->addr)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

static int set_address(struct conf_listener *l, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;

	if (strlen(text) >= sizeof(l->address))
		return -1;
	memset(&l->addr, 0, sizeof(l->addr));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		l->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		l->addrlen = sizeof(*sin6);
	} else {
		return -1;
	}
	strcpy(l->address, text);
	return 0;
}

static int parse_listener(struct load *ld, const config_setting_t *g,
			  struct conf_listener *l)
{
	const config_setting_t *proto = NULL, *address = NULL, *port = NULL;
	const char *text = NULL;
	long long v;

	memset(l, 0, sizeof(*l));
	l->line = config_setting_source_line(g);
	l->mode = CONF_MODE_ECHO;
	if (!config_setting_is_group(g))
		return fail(ld, located(g, config_setting_parent(g)),
			    "'listen' entries must be groups like { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; }");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);

		if (strcmp(name, "proto") == 0) {
			if (get_string(ld, s, name, &text) < 0)
				return -1;
			if (strcmp(text, "tcp") == 0)
				l->proto = CONF_PROTO_TCP;
			else if (strcmp(text, "udp") == 0)
				l->proto = CONF_PROTO_UDP;
			else
				return fail(ld, s, "'proto' \"%s\" is unknown (use \"tcp\" or \"udp\")",
					    text);
			proto = s;
		} else if (strcmp(name, "address") == 0) {
			if (get_string(ld, s, name, &text) < 0)
				return -1;
			if (set_address(l, text) < 0)
				return fail(ld, s, "'address' \"%s\" is not an IPv4 or IPv6 address",
					    text);
			address = s;
		} else if (strcmp(name, "port") == 0) {
			if (get_int(ld, s, name, 1, 65535, &v) < 0)
				return -1;
			l->port = (uint16_t)v;
			port = s;
		} else if (strcmp(name, "mode") == 0) {
			if (get_string(ld, s, name, &text) < 0)
				return -1;
			if (strcmp(text, "echo") == 0)
				l->mode = CONF_MODE_ECHO;
			else if (strcmp(text, "lars") == 0)
				l->mode = CONF_MODE_LARS;
			else
				return fail(ld, s, "'mode' \"%s\" is unknown (use \"echo\" or \"lars\")",
					    text);
		} else if (strcmp(name, "reuseport") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				return fail(ld, s, "'reuseport' must be true or false");
			l->reuseport = config_setting_get_bool(s) != 0;
		} else {
			return fail(ld, s, "unknown key '%s' in 'listen'", name);
		}
	}
	if (!proto)
		return fail(ld, g, "listener without 'proto' (\"tcp\" or \"udp\")");
	if (!address)
		return fail(ld, g, "listener without 'address'");
	if (!port)
		return fail(ld, g, "listener without 'port'");
	if (l->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&l->addr)->sin_port = htons(l->port);
	else
		((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(l->port);
	return 0;
}

static int parse_listen(struct load *ld, const config_setting_t *s)
{
	int n;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail(ld, s, "'listen' must be a list like ( { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; } )");
	n = config_setting_length(s);
	if (n == 0)
		return fail(ld, s, "'listen' is empty: larsd needs at least one listener");
	if (n > CONF_MAX_LISTENERS)
		return fail(ld, s, "'listen' has %d listeners, at most %d", n,
			    CONF_MAX_LISTENERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, i);
		struct conf_listener *l = &ld->c.listeners[i];

		if (parse_listener(ld, g, l) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (same_listener(&ld->c.listeners[k], l))
				return fail(ld, g, "duplicate listener: %s %s port %u is already at line %d",
					    l->proto == CONF_PROTO_TCP ? "tcp" : "udp",
					    l->address, (unsigned)l->port,
					    ld->c.listeners[k].line);
	}
	ld->c.n_listeners = (size_t)n;
	return 0;
}

/* ---- the groups ------------------------------------------------------ */

static int parse_log_level(struct load *ld, const config_setting_t *s)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", LOG_ERR },     { "err", LOG_ERR },
		{ "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO },     { "debug", LOG_DEBUG },
	};
	const char *text = NULL;

	if (get_string(ld, s, "log_level", &text) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(text, levels[i].name) == 0) {
			ld->c.log_level = levels[i].level;
			return 0;
		}
	}
	return fail(ld, s, "'log_level' \"%s\" is unknown (use \"error\", \"warning\", \"notice\", \"info\" or \"debug\")",
		    text);
}

static int parse_larsd(struct load *ld, const config_setting_t *g)
{
	const long long max_body = (long long)(BUFPOOL_MAX_SIZE - CONF_LARS_HEADER);
	const config_setting_t *listen = NULL;
	long long v;

	if (!config_setting_is_group(g))
		return fail(ld, g, "'larsd' must be a group like larsd: { ... };");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		int rc;

		if (strcmp(name, "threads") == 0) {
			rc = get_unsigned(ld, s, 1, CONF_MAX_THREADS, &ld->c.threads);
		} else if (strcmp(name, "max_connections") == 0) {
			rc = get_unsigned(ld, s, 1, 1000000, &ld->c.max_connections);
		} else if (strcmp(name, "idle_timeout") == 0) {
			rc = get_unsigned(ld, s, 0, 86400, &ld->c.idle_timeout);
		} else if (strcmp(name, "shutdown_timeout_ms") == 0) {
			rc = get_unsigned(ld, s, 0, 60000, &ld->c.shutdown_timeout_ms);
		} else if (strcmp(name, "max_message") == 0) {
			rc = get_int(ld, s, name, 1, LLONG_MAX, &v);
			if (rc == 0 && v > max_body)
				rc = fail(ld, s, "'max_message' is %lld, above what the pool can hold: its largest buffer is %zu bytes, so at most %lld plus the %d-byte header",
					  v, BUFPOOL_MAX_SIZE, max_body, CONF_LARS_HEADER);
			if (rc == 0) {
				ld->c.max_message = (uint32_t)v;
				ld->max_message_at = s;
			}
		} else if (strcmp(name, "log_level") == 0) {
			rc = parse_log_level(ld, s);
		} else if (strcmp(name, "udp_blocked_ports") == 0) {
			rc = parse_blocked_ports(ld, s);
		} else if (strcmp(name, "allow") == 0) {
			rc = parse_allow(ld, s);
		} else if (strcmp(name, "listen") == 0) {
			rc = parse_listen(ld, s);
			listen = s;
		} else {
			rc = fail(ld, s, "unknown key '%s' in 'larsd'", name);
		}
		if (rc < 0)
			return -1;
	}
	if (!listen)
		return fail(ld, g, "'larsd' has no 'listen' list: larsd needs at least one listener");
	return 0;
}

static int parse_mem_limit(struct load *ld, const config_setting_t *s)
{
	size_t size;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		if (bufpool_parse_size(config_setting_get_string(s), &size) < 0)
			return fail(ld, s, "'mem_limit' must be a size like \"64M\", not \"%s\"",
				    config_setting_get_string(s));
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: {
		long long v = config_setting_get_int64(s);
		if (v < 0 || (unsigned long long)v > SIZE_MAX)
			return fail(ld, s, "'mem_limit' must be a size like \"64M\", not %lld", v);
		size = (size_t)v;
		break;
	}
	default:
		return fail(ld, s, "'mem_limit' must be a size like \"64M\"");
	}
	ld->c.mem_limit = size;
	ld->mem_limit_at = s;
	return 0;
}

static int parse_prealloc(struct load *ld, const config_setting_t *g)
{
	if (!config_setting_is_group(g))
		return fail(ld, g, "'prealloc' must be a group like { tier_4K = 16; tier_16K = 4; }");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		unsigned t;

		for (t = 0; t < BUFPOOL_TIERS; t++)
			if (strcmp(name, prealloc_keys[t]) == 0)
				break;
		if (t == BUFPOOL_TIERS)
			return fail(ld, s, "unknown key '%s' in 'prealloc' (tiers: tier_4K tier_16K tier_64K tier_256K tier_1M tier_4M tier_8M)",
				    name);
		if (get_unsigned(ld, s, 0, CONF_MAX_PREALLOC, &ld->c.prealloc[t]) < 0)
			return -1;
	}
	ld->prealloc_at = g;
	return 0;
}

static int parse_bufpool(struct load *ld, const config_setting_t *g)
{
	if (!config_setting_is_group(g))
		return fail(ld, g, "'bufpool' must be a group like bufpool: { ... };");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		int rc;

		if (strcmp(name, "mem_limit") == 0)
			rc = parse_mem_limit(ld, s);
		else if (strcmp(name, "prealloc") == 0)
			rc = parse_prealloc(ld, s);
		else
			rc = fail(ld, s, "unknown key '%s' in 'bufpool'", name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The pool must hold one buffer of the largest tier the daemon asks for,
 * and everything it preallocates. */
static int check_pool(struct load *ld)
{
	size_t frame = (size_t)ld->c.max_message + CONF_LARS_HEADER;
	size_t need = bufpool_tier_size((unsigned)bufpool_tier_index(frame));
	uint64_t bytes = 0;

	if (need < CONF_IO_BUF_SIZE) {
		need = CONF_IO_BUF_SIZE;
		if (ld->c.mem_limit < need)
			return fail(ld, ld->mem_limit_at,
				    "'mem_limit' %zu is too small: larsd needs at least %zu, one 64K buffer for UDP datagrams",
				    ld->c.mem_limit, need);
	} else if (ld->c.mem_limit < need) {
		return fail(ld, ld->mem_limit_at ? ld->mem_limit_at : ld->max_message_at,
			    "'mem_limit' %zu is too small: larsd needs at least %zu, one buffer for a lars frame of max_message %u plus its %d-byte header",
			    ld->c.mem_limit, need, (unsigned)ld->c.max_message,
			    CONF_LARS_HEADER);
	}
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		bytes += (uint64_t)ld->c.prealloc[t] * bufpool_tier_size(t);
	if (bytes > ld->c.mem_limit)
		return fail(ld, ld->prealloc_at ? ld->prealloc_at : ld->mem_limit_at,
			    "'prealloc' needs %llu bytes, more than 'mem_limit' %zu",
			    (unsigned long long)bytes, ld->c.mem_limit);
	return 0;
}

/* ---- entry points ---------------------------------------------------- */

void conf_defaults(struct conf *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	if (cpus < 1)
		cpus = 1;
	if (cpus > CONF_MAX_THREADS)
		cpus = CONF_MAX_THREADS;
	c->threads = (unsigned)cpus;
	c->max_connections = 10000;
	c->idle_timeout = 60;
	c->max_message = CONF_DEFAULT_MAX_MESSAGE;
	c->log_level = LOG_INFO;
	c->shutdown_timeout_ms = 2000;
	memcpy(c->blocked_ports, always_blocked, sizeof(always_blocked));
	c->n_blocked_ports = N_ALWAYS_BLOCKED;
	c->mem_limit = BUFPOOL_MEM_LIMIT;
	c->prealloc[0] = 16;
	c->prealloc[1] = 4;
}

static void set_incdir(struct load *ld)
{
	const char *slash = strrchr(ld->path, '/');
	size_t n;

	if (!slash) {
		strcpy(ld->incdir, ".");
		return;
	}
	n = (size_t)(slash - ld->path);
	if (n == 0)
		n = 1; /* "/larsd.conf" */
	memcpy(ld->incdir, ld->path, n);
	ld->incdir[n] = '\0';
}

static int load_root(struct load *ld, config_t *cf)
{
	const config_setting_t *root = config_root_setting(cf);
	const config_setting_t *larsd = NULL;

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);
		int rc;

		if (strcmp(name, "larsd") == 0) {
			larsd = s;
			rc = parse_larsd(ld, s);
		} else if (strcmp(name, "bufpool") == 0) {
			rc = parse_bufpool(ld, s);
		} else {
			rc = fail(ld, s, "unknown group '%s' at top level (expected 'larsd' or 'bufpool')",
				  name);
		}
		if (rc < 0)
			return -1;
	}
	if (!larsd)
		return fail(ld, NULL, "no 'larsd' group: larsd needs at least one listener in larsd.listen");
	return check_pool(ld);
}

int conf_load(const char *path, struct conf *out, char *err, size_t errlen)
{
	struct load *ld;
	struct stat st;
	config_t cf;
	FILE *f;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ld->path = path;
	ld->err = err;
	ld->errlen = errlen;
	conf_defaults(&ld->c);
	if (strlen(path) >= sizeof(ld->c.path) || strlen(path) >= sizeof(ld->incdir)) {
		fail(ld, NULL, "file name too long");
		free(ld);
		return -1;
	}
	strcpy(ld->c.path, path);
	set_incdir(ld);

	f = fopen(path, "r");
	if (!f) {
		fail(ld, NULL, "cannot open: %s", strerror(errno));
		free(ld);
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fail(ld, NULL, "cannot open: %s", strerror(EISDIR));
		fclose(f);
		free(ld);
		return -1;
	}

	config_init(&cf);
	config_set_include_dir(&cf, ld->incdir);
	if (config_read(&cf, f) != CONFIG_TRUE) {
		const char *file = config_error_file(&cf);
		const char *text = config_error_text(&cf);
		const char *what = "syntax error: ";

		if (!text)
			text = "unknown error";
		if (strncmp(text, "cannot open include", 19) == 0)
			what = "";
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s%s%s: cannot read: %s",
				 file_dir(ld, file), file_sep(ld, file),
				 file_name(ld, file), text);
		else
			snprintf(err, errlen, "%s%s%s:%d: %s%s",
				 file_dir(ld, file), file_sep(ld, file),
				 file_name(ld, file), config_error_line(&cf),
				 what, text);
		rc = -1;
	} else {
		rc = load_root(ld, &cf);
	}
	config_destroy(&cf);
	fclose(f);
	if (rc == 0)
		*out = ld->c;
	else /* values quoted from the file may hold newlines: keep one line */
		for (char *p = err; errlen > 0 && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	free(ld);
	return rc;
}
