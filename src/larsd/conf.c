/*
 * conf.c - load larsd.conf (libconfig) into a struct conf.
 *
 * The only libconfig user in larsd.  The file's shape is written down once,
 * in the key tables below (as nginx's ngx_command_t: name, kind, range,
 * where the value goes); one walker checks every setting against them in
 * file order: unknown keys, wrong types and out-of-range values all fail
 * with one line "FILE:LINE: message".  Keys that need more than a range
 * (addresses, lists, sizes) name a parser of their own.  The result goes
 * into a private struct and is copied to the caller only when the whole
 * file is valid, so a failed reload leaves the old configuration untouched.
 *
 * libconfig 1.5 quirks handled here: integers are read as int64 and range
 * checked by us (an "L" value fetched as int would silently become 0); a
 * size like 64M is a string, parsed by bufpool_parse_size(); @include is
 * resolved against the directory of the file, not the working directory.
 */
#include "config.h"

#include "conf.h"
#include "sockaddr.h"
#include "stamp_wire.h"
#include "udp.h"

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

#define CONF_MAX_PREALLOC 100000

static const uint16_t always_blocked[] = { 0, 7, 13, 17, 19 };
#define N_ALWAYS_BLOCKED (sizeof(always_blocked) / sizeof(always_blocked[0]))

struct load {
	const char *path;              /* the file as named by the caller */
	char incdir[4096];             /* its directory, for @include */
	char *err;
	size_t errlen;
	struct conf c;                 /* filled here, copied out on success */
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

/* The line of an element, or of its parent where libconfig has none. */
static const config_setting_t *located(const config_setting_t *e,
				       const config_setting_t *parent)
{
	return config_setting_source_line(e) > 0 ? e : parent;
}

/* ---- scalar values --------------------------------------------------- */

static int get_int(struct load *ld, const config_setting_t *s, const char *name,
		   long long lo, long long hi, long long *out)
{
	long long v = 0;

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

/* An aggregate of scalars: an array [ ... ] or a list ( ... ). */
static int get_sequence(struct load *ld, const config_setting_t *s,
			const char *example)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail(ld, s, "'%s' must be an array like %s",
			    config_setting_name(s), example);
	return 0;
}

/* ---- the key tables -------------------------------------------------- */

enum key_kind {
	KEY_UINT,   /* an integer in lo..hi, stored in `width` bytes */
	KEY_BOOL,   /* true or false, stored as bool */
	KEY_WORD,   /* one of `words`, its value stored as int */
	KEY_PARSE,  /* anything else: `parse` checks and stores it */
	KEY_GROUP,  /* a group of keys of its own, `section` */
};

struct word {
	const char *name;
	int value;
};

struct section;

struct key {
	const char *name;
	enum key_kind kind;
	size_t offset;                /* of the value in the section's struct */
	size_t width;                 /* KEY_UINT: sizeof the value */
	long long lo, hi;             /* KEY_UINT */
	const struct word *words;     /* KEY_WORD: ends with a NULL name */
	const char *choices;          /* KEY_WORD: the words, for messages */
	int (*parse)(struct load *ld, const config_setting_t *s, void *base);
	const struct section *section; /* KEY_GROUP */
	const char *missing;          /* required: the message when absent */
};

struct section {
	const char *name;
	const char *not_group;        /* the setting is not a group */
	const char *item;             /* "key", or "group" at the top level */
	const char *unknown;          /* what follows "unknown key 'x' " */
	const char *list_keys_as;     /* name the keys in that message, e.g. "tiers" */
	const struct key *keys;
	size_t n_keys;
};

#define UINT_KEY(name, type, field, lo, hi) UINT_KEY_REQUIRED(name, type, field, lo, hi, NULL)
#define UINT_KEY_REQUIRED(name, type, field, lo, hi, missing) \
	{ name, KEY_UINT, offsetof(type, field), sizeof(((type *)0)->field), lo, hi, \
	  NULL, NULL, NULL, NULL, missing }
#define WORD_KEY(name, type, field, words, choices) \
	WORD_KEY_REQUIRED(name, type, field, words, choices, NULL)
#define WORD_KEY_REQUIRED(name, type, field, words, choices, missing) \
	{ name, KEY_WORD, offsetof(type, field), 0, 0, 0, words, choices, NULL, NULL, missing }
#define BOOL_KEY(name, type, field) \
	{ name, KEY_BOOL, offsetof(type, field), 0, 0, 0, NULL, NULL, NULL, NULL, NULL }
#define PARSE_KEY(name, fn, missing) \
	{ name, KEY_PARSE, 0, 0, 0, 0, NULL, NULL, fn, NULL, missing }
#define GROUP_KEY(name, sec, missing) \
	{ name, KEY_GROUP, 0, 0, 0, 0, NULL, NULL, NULL, sec, missing }
#define N_KEYS(keys) (sizeof(keys) / sizeof(keys[0]))
#define SECTION_MAX_KEYS 16

static int parse_section(struct load *ld, const config_setting_t *g,
			 const struct section *sec, void *base);

static int parse_word(struct load *ld, const config_setting_t *s, const struct key *k,
		      int *out)
{
	const char *text = NULL;

	if (get_string(ld, s, k->name, &text) < 0)
		return -1;
	for (const struct word *w = k->words; w->name; w++) {
		if (strcmp(text, w->name) == 0) {
			*out = w->value;
			return 0;
		}
	}
	return fail(ld, s, "'%s' \"%s\" is unknown (use %s)", k->name, text, k->choices);
}

static int parse_key(struct load *ld, const config_setting_t *s, const struct key *k,
		     void *base)
{
	char *at = (char *)base + k->offset;
	long long v = 0;

	switch (k->kind) {
	case KEY_UINT:
		if (get_int(ld, s, k->name, k->lo, k->hi, &v) < 0)
			return -1;
		if (k->width == sizeof(uint16_t))
			*(uint16_t *)(void *)at = (uint16_t)v;
		else
			*(unsigned *)(void *)at = (unsigned)v;
		return 0;
	case KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(ld, s, "'%s' must be true or false", k->name);
		*(bool *)(void *)at = config_setting_get_bool(s) != 0;
		return 0;
	case KEY_WORD:
		return parse_word(ld, s, k, (int *)(void *)at);
	case KEY_PARSE:
		return k->parse(ld, s, base);
	case KEY_GROUP:
		return parse_section(ld, s, k->section, base);
	}
	return -1;
}

static int fail_unknown(struct load *ld, const config_setting_t *s,
			const struct section *sec)
{
	char names[256] = "";

	if (sec->list_keys_as) {
		size_t len = (size_t)snprintf(names, sizeof(names), " (%s:", sec->list_keys_as);
		for (size_t i = 0; i < sec->n_keys && len < sizeof(names); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, " %s",
						sec->keys[i].name);
		if (len < sizeof(names))
			snprintf(names + len, sizeof(names) - len, ")");
	}
	return fail(ld, s, "unknown %s '%s' %s%s", sec->item, config_setting_name(s),
		    sec->unknown, names);
}

/* Check every setting of group g against sec and store it into base, then
 * make sure the required keys were there. */
static int parse_section(struct load *ld, const config_setting_t *g,
			 const struct section *sec, void *base)
{
	bool seen[SECTION_MAX_KEYS] = { false };

	if (!config_setting_is_group(g))
		return fail(ld, located(g, config_setting_parent(g)), "%s", sec->not_group);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		size_t k = 0;

		while (k < sec->n_keys && strcmp(config_setting_name(s), sec->keys[k].name) != 0)
			k++;
		if (k == sec->n_keys)
			return fail_unknown(ld, s, sec);
		if (parse_key(ld, s, &sec->keys[k], base) < 0)
			return -1;
		seen[k] = true;
	}
	for (size_t k = 0; k < sec->n_keys; k++)
		if (sec->keys[k].missing && !seen[k])
			return fail(ld, g, "%s", sec->keys[k].missing);
	return 0;
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

static int parse_allow(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
	int n = config_setting_length(s);

	if (get_sequence(ld, s, "[ \"127.0.0.0/8\", \"::1\" ]") < 0)
		return -1;
	if (n > (int)(sizeof(c->allow) / sizeof(c->allow[0])))
		return fail(ld, s, "'allow' has %d entries, at most %zu", n,
			    sizeof(c->allow) / sizeof(c->allow[0]));
	c->n_allow = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const config_setting_t *at = located(e, s);
		const char *text = NULL;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(ld, at, "'allow' entries must be strings like \"127.0.0.0/8\"");
		text = config_setting_get_string(e);
		if (parse_net(text, &c->allow[c->n_allow]) < 0)
			return fail(ld, at, "'allow' entry \"%s\" is not an address or network like \"127.0.0.0/8\" or \"::1\"",
				    text);
		c->n_allow++;
	}
	return 0;
}

static int parse_blocked_ports(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
	const size_t cap = sizeof(c->blocked_ports) / sizeof(c->blocked_ports[0]);
	int n = config_setting_length(s);

	if (get_sequence(ld, s, "[ 9, 1900 ]") < 0)
		return -1;
	c->n_blocked_ports = N_ALWAYS_BLOCKED;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long port;
		size_t k;

		if (get_int(ld, located(e, s), "udp_blocked_ports", 1, 65535, &port) < 0)
			return -1;
		for (k = 0; k < c->n_blocked_ports; k++)
			if (c->blocked_ports[k] == port)
				break;
		if (k < c->n_blocked_ports)
			continue; /* already blocked */
		if (c->n_blocked_ports == cap)
			return fail(ld, s, "'udp_blocked_ports' holds more than %zu ports",
				    cap - N_ALWAYS_BLOCKED);
		c->blocked_ports[c->n_blocked_ports++] = (uint16_t)port;
	}
	return 0;
}

/* ---- listeners ------------------------------------------------------- */

static int parse_address(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf_listener *l = base;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	const char *text = NULL;

	if (get_string(ld, s, "address", &text) < 0)
		return -1;
	memset(&l->addr, 0, sizeof(l->addr));
	if (strlen(text) < sizeof(l->address) && inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		l->addrlen = sizeof(*sin);
	} else if (strlen(text) < sizeof(l->address) &&
		   inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		l->addrlen = sizeof(*sin6);
	} else {
		return fail(ld, s, "'address' \"%s\" is not an IPv4 or IPv6 address", text);
	}
	strcpy(l->address, text);
	return 0;
}

static const struct word protos[] = {
	{ "tcp", CONF_PROTO_TCP }, { "udp", CONF_PROTO_UDP }, { NULL, 0 },
};

static const struct word modes[] = {
	{ "echo", CONF_MODE_ECHO }, { "lars", CONF_MODE_LARS }, { "stamp", CONF_MODE_STAMP },
	{ NULL, 0 },
};

const char *conf_mode_name(enum conf_mode m)
{
	return m == CONF_MODE_STAMP ? "stamp" : m == CONF_MODE_LARS ? "lars" : "echo";
}

static const struct word io_backends[] = {
	{ "auto", CONF_IO_AUTO }, { "epoll", CONF_IO_EPOLL }, { "io_uring", CONF_IO_URING },
	{ NULL, 0 },
};

const char *conf_io_name(enum conf_io io)
{
	for (const struct word *w = io_backends; w->name; w++)
		if (w->value == (int)io)
			return w->name;
	return "?";
}

static const struct word authentications[] = {
	{ "none", 0 }, { "hmac-sha256", 1 }, { NULL, 0 },
};

/* key_file: read now (so a reload reads it again).  A relative path is
 * one of systemd's credentials (LoadCredential=) when larsd has them,
 * else relative to the configuration's folder. */
static int read_key_file(struct load *ld, const config_setting_t *s, struct stamp_key *key)
{
	const char *text = NULL, *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[4096], why[160];

	if (get_string(ld, s, "key_file", &text) < 0)
		return -1;
	if (text[0] == '\0')
		return fail(ld, s, "'key_file' is empty");
	int n = text[0] == '/'    ? snprintf(path, sizeof(path), "%s", text)
		: creds && *creds ? snprintf(path, sizeof(path), "%s/%s", creds, text)
				  : snprintf(path, sizeof(path), "%s/%s", ld->incdir, text);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fail(ld, s, "'key_file' \"%s\" is too long", text);
	if (stamp_key_read(path, key, why, sizeof(why)) < 0)
		return fail(ld, s, "'key_file' %s: %s", path, why);
	return 0;
}

static int parse_key_file(struct load *ld, const config_setting_t *s, void *base)
{
	return read_key_file(ld, s, &((struct conf_listener *)base)->key);
}

/* authentication and key_file come together, in a listener or a session. */
static int check_auth(struct load *ld, const config_setting_t *g, int auth)
{
	config_setting_t *key_file = config_setting_lookup((config_setting_t *)g, "key_file");

	if (auth && !key_file)
		return fail(ld, config_setting_lookup((config_setting_t *)g, "authentication"),
			    "authentication = \"hmac-sha256\" needs a key_file");
	if (!auth && key_file)
		return fail(ld, key_file,
			    "'key_file' is read only with authentication = \"hmac-sha256\"");
	return 0;
}

static const struct key listener_keys[] = {
	WORD_KEY_REQUIRED("proto", struct conf_listener, proto, protos, "\"tcp\" or \"udp\"",
			  "listener without 'proto' (\"tcp\" or \"udp\")"),
	PARSE_KEY("address", parse_address, "listener without 'address'"),
	UINT_KEY_REQUIRED("port", struct conf_listener, port, 1, 65535, "listener without 'port'"),
	WORD_KEY("mode", struct conf_listener, mode, modes,
		 "\"echo\", \"lars\" or \"stamp\""),
	BOOL_KEY("reuseport", struct conf_listener, reuseport),
	WORD_KEY("authentication", struct conf_listener, stamp_auth, authentications,
		 "\"none\" or \"hmac-sha256\""),
	PARSE_KEY("key_file", parse_key_file, NULL),
	BOOL_KEY("stateful", struct conf_listener, stateful),
	UINT_KEY("session_timeout", struct conf_listener, session_timeout, 1, 86400),
};

static const struct section listener_section = {
	"listen",
	"'listen' entries must be groups like { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; }",
	"key", "in 'listen'", NULL, listener_keys, N_KEYS(listener_keys),
};

static int parse_listener(struct load *ld, const config_setting_t *g,
			  struct conf_listener *l)
{
	memset(l, 0, sizeof(*l));
	l->line = config_setting_source_line(g);
	l->mode = CONF_MODE_ECHO;
	l->session_timeout = CONF_DEFAULT_SESSION_TIMEOUT;
	if (parse_section(ld, g, &listener_section, l) < 0)
		return -1;
	if (l->mode == CONF_MODE_STAMP && l->proto != CONF_PROTO_UDP)
		return fail(ld, config_setting_lookup((config_setting_t *)g, "mode"),
			    "'mode' \"stamp\" needs proto = \"udp\": STAMP (RFC 8762) runs over UDP only");
	static const char *const stamp_only[] = {"authentication", "key_file", "stateful",
						 "session_timeout"};
	for (size_t i = 0; i < sizeof(stamp_only) / sizeof(stamp_only[0]); i++) {
		config_setting_t *k = config_setting_lookup((config_setting_t *)g, stamp_only[i]);
		if (k && l->mode != CONF_MODE_STAMP)
			return fail(ld, k, "'%s' is for mode = \"stamp\" only", stamp_only[i]);
	}
	if (check_auth(ld, g, l->stamp_auth) < 0)
		return -1;
	if (l->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&l->addr)->sin_port = htons(l->port);
	else
		((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(l->port);
	return 0;
}

static int parse_listen(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
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
		struct conf_listener *l = &c->listeners[i];

		if (parse_listener(ld, g, l) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (c->listeners[k].proto == l->proto &&
			    sockaddr_equal(&c->listeners[k].addr, &l->addr))
				return fail(ld, g, "duplicate listener: %s %s port %u is already at line %d",
					    l->proto == CONF_PROTO_TCP ? "tcp" : "udp",
					    l->address, (unsigned)l->port,
					    c->listeners[k].line);
	}
	c->n_listeners = (size_t)n;
	return 0;
}

/* ---- larsd: { ... } -------------------------------------------------- */

static int parse_max_message(struct load *ld, const config_setting_t *s, void *base)
{
	const long long max_body = (long long)(BUFPOOL_MAX_SIZE - LARS_HEADER_SIZE);
	struct conf *c = base;
	long long v = 0;

	if (get_int(ld, s, "max_message", 1, LLONG_MAX, &v) < 0)
		return -1;
	if (v > max_body)
		return fail(ld, s, "'max_message' is %lld, above what the pool can hold: its largest buffer is %zu bytes, so at most %lld plus the %d-byte header",
			    v, BUFPOOL_MAX_SIZE, max_body, LARS_HEADER_SIZE);
	c->max_message = (uint32_t)v;
	return 0;
}

/* An absolute path that fits sun_path, or "" for none. */
static int parse_control(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
	const char *text = NULL;

	if (get_string(ld, s, "control", &text) < 0)
		return -1;
	if (text[0] != '\0' && text[0] != '/')
		return fail(ld, s, "'control' \"%s\" must be an absolute path (or \"\" for none)",
			    text);
	if (strlen(text) >= sizeof(c->control))
		return fail(ld, s, "'control' is %zu bytes long, at most %zu for a Unix socket",
			    strlen(text), sizeof(c->control) - 1);
	strcpy(c->control, text);
	return 0;
}

static const struct word log_levels[] = {
	{ "error", LOG_ERR },     { "err", LOG_ERR },
	{ "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO },     { "debug", LOG_DEBUG },
	{ NULL, 0 },
};

static const struct key larsd_keys[] = {
	UINT_KEY("threads", struct conf, threads, 1, CONF_MAX_THREADS),
	WORD_KEY("io_backend", struct conf, io_backend, io_backends,
		 "\"auto\", \"epoll\" or \"io_uring\""),
	UINT_KEY("max_connections", struct conf, max_connections, 1, 1000000),
	UINT_KEY("idle_timeout", struct conf, idle_timeout, 0, 86400),
	UINT_KEY("shutdown_timeout_ms", struct conf, shutdown_timeout_ms, 0, 60000),
	PARSE_KEY("max_message", parse_max_message, NULL),
	WORD_KEY("log_level", struct conf, log_level, log_levels,
		 "\"error\", \"warning\", \"notice\", \"info\" or \"debug\""),
	PARSE_KEY("udp_blocked_ports", parse_blocked_ports, NULL),
	UINT_KEY("udp_source_rate", struct conf, udp_source_rate, 0, CONF_MAX_SOURCE_RATE),
	UINT_KEY("udp_source_burst", struct conf, udp_source_burst, 0, CONF_MAX_SOURCE_BURST),
	PARSE_KEY("allow", parse_allow, NULL),
	PARSE_KEY("control", parse_control, NULL),
	UINT_KEY("stamp_sessions", struct conf, stamp_sessions, 64, CONF_MAX_STAMP_SESSIONS),
	PARSE_KEY("listen", parse_listen,
		  "'larsd' has no 'listen' list: larsd needs at least one listener"),
};

_Static_assert(N_KEYS(larsd_keys) <= SECTION_MAX_KEYS, "the largest section fits");

static const struct section larsd_section = {
	"larsd", "'larsd' must be a group like larsd: { ... };", "key", "in 'larsd'", NULL,
	larsd_keys, N_KEYS(larsd_keys),
};

/* ---- bufpool: { ... } ------------------------------------------------ */

static int parse_mem_limit(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
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
	c->mem_limit = size;
	return 0;
}

/* libconfig names cannot start with a digit: tier_4K, not 4K. */
#define PREALLOC_KEY(name, t) UINT_KEY(name, struct conf, prealloc[t], 0, CONF_MAX_PREALLOC)
static const struct key prealloc_keys[] = {
	PREALLOC_KEY("tier_4K", 0),  PREALLOC_KEY("tier_16K", 1), PREALLOC_KEY("tier_64K", 2),
	PREALLOC_KEY("tier_256K", 3), PREALLOC_KEY("tier_1M", 4), PREALLOC_KEY("tier_4M", 5),
	PREALLOC_KEY("tier_8M", 6),
};
_Static_assert(N_KEYS(prealloc_keys) == BUFPOOL_TIERS, "a prealloc key per tier");

static const struct section prealloc_section = {
	"prealloc", "'prealloc' must be a group like { tier_4K = 16; tier_16K = 4; }",
	"key", "in 'prealloc'", "tiers", prealloc_keys, N_KEYS(prealloc_keys),
};

static const struct key bufpool_keys[] = {
	PARSE_KEY("mem_limit", parse_mem_limit, NULL),
	GROUP_KEY("prealloc", &prealloc_section, NULL),
};

static const struct section bufpool_section = {
	"bufpool", "'bufpool' must be a group like bufpool: { ... };", "key", "in 'bufpool'", NULL,
	bufpool_keys, N_KEYS(bufpool_keys),
};

/* ---- sessions = ( { ... } ) ------------------------------------------- */

/* A number that may be fractional (libconfig: float or integer). */
static int get_number(struct load *ld, const config_setting_t *s, const char *name,
		      double lo, double hi, double *out)
{
	double v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT ||
		 config_setting_type(s) == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else
		return fail(ld, s, "'%s' must be a number", name);
	if (!(v >= lo && v <= hi))
		return fail(ld, s, "'%s' is %g, out of range %g..%g", name, v, lo, hi);
	*out = v;
	return 0;
}

static int parse_session_name(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf_session *cs = base;
	const char *text = NULL;

	if (get_string(ld, s, "name", &text) < 0)
		return -1;
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof(cs->name))
		return fail(ld, s, "'name' must be 1 to %zu characters", sizeof(cs->name) - 1);
	/* It becomes a Prometheus label and a table cell: printable, no spaces. */
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			return fail(ld, s, "'name' \"%s\" holds a space, a quote or a control character", text);
	strcpy(cs->name, text);
	return 0;
}

/* An IPv4 or IPv6 address, or a host name (resolved when the session
 * starts, not here: a name may not resolve yet at boot). */
static int parse_session_peer(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf_session *cs = base;
	const char *text = NULL;
	unsigned char a[16];

	if (get_string(ld, s, "peer", &text) < 0)
		return -1;
	size_t n = strlen(text);
	bool literal = inet_pton(AF_INET, text, a) == 1 || inet_pton(AF_INET6, text, a) == 1;
	bool name = n > 0 && n < sizeof(cs->peer) && text[0] != '-' && text[0] != '.';
	for (const char *p = text; name && *p; p++)
		name = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		       (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
	if (!literal && !name)
		return fail(ld, s, "'peer' \"%s\" is not an IPv4 or IPv6 address or a host name", text);
	strcpy(cs->peer, text);
	return 0;
}

static int parse_session_rate(struct load *ld, const config_setting_t *s, void *base)
{
	return get_number(ld, s, "rate", CONF_MIN_SESSION_RATE, CONF_MAX_SESSION_RATE,
			  &((struct conf_session *)base)->rate);
}

static int parse_session_timeout(struct load *ld, const config_setting_t *s, void *base)
{
	double v = 0;

	if (get_number(ld, s, "timeout", CONF_MIN_SESSION_TIMEOUT_MS / 1000.0,
		       CONF_MAX_SESSION_TIMEOUT_MS / 1000.0, &v) < 0)
		return -1;
	((struct conf_session *)base)->timeout_ms = (unsigned)(v * 1000.0 + 0.5);
	return 0;
}

static int parse_session_key_file(struct load *ld, const config_setting_t *s, void *base)
{
	return read_key_file(ld, s, &((struct conf_session *)base)->key);
}

static const struct key session_keys[] = {
	PARSE_KEY("name", parse_session_name, "session without 'name'"),
	PARSE_KEY("peer", parse_session_peer, "session without 'peer'"),
	UINT_KEY("port", struct conf_session, port, 1, 65535),
	PARSE_KEY("rate", parse_session_rate, NULL),
	UINT_KEY("size", struct conf_session, size, STAMP_BASE_LEN, CONF_MAX_SESSION_SIZE),
	UINT_KEY("dscp", struct conf_session, dscp, 0, 63),
	UINT_KEY("ssid", struct conf_session, ssid, 0, 65535),
	PARSE_KEY("timeout", parse_session_timeout, NULL),
	WORD_KEY("authentication", struct conf_session, stamp_auth, authentications,
		 "\"none\" or \"hmac-sha256\""),
	PARSE_KEY("key_file", parse_session_key_file, NULL),
};

static const struct section session_section = {
	"sessions",
	"'sessions' entries must be groups like { name = \"b\"; peer = \"192.0.2.7\"; }",
	"key", "in 'sessions'", NULL, session_keys, N_KEYS(session_keys),
};

static int parse_session(struct load *ld, const config_setting_t *g, struct conf_session *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->line = config_setting_source_line(g);
	cs->port = CONF_DEFAULT_SESSION_PORT;
	cs->rate = CONF_DEFAULT_SESSION_RATE;
	cs->timeout_ms = CONF_DEFAULT_SESSION_TIMEOUT_MS;
	if (parse_section(ld, g, &session_section, cs) < 0 || check_auth(ld, g, cs->stamp_auth) < 0)
		return -1;
	unsigned least = cs->stamp_auth ? STAMP_AUTH_LEN : STAMP_BASE_LEN;
	config_setting_t *size = config_setting_lookup((config_setting_t *)g, "size");
	if (!size)
		cs->size = least;
	else if (cs->size < least)
		return fail(ld, size, "'size' is %u, out of range %u..%u for an authenticated session",
			    cs->size, least, CONF_MAX_SESSION_SIZE);
	return 0;
}

static int parse_sessions(struct load *ld, const config_setting_t *s, void *base)
{
	struct conf *c = base;
	int n;

	if (!config_setting_is_list(s))
		return fail(ld, s, "'sessions' must be a list like ( { name = \"b\"; peer = \"192.0.2.7\"; } )");
	n = config_setting_length(s);
	if ((unsigned)n > CONF_MAX_SESSIONS)
		return fail(ld, s, "'sessions' has %d sessions, at most %u", n, CONF_MAX_SESSIONS);
	if (n == 0)
		return 0;
	c->sessions = calloc((size_t)n, sizeof(c->sessions[0]));
	if (!c->sessions)
		return fail(ld, s, "'sessions': out of memory");
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, i);
		struct conf_session *cs = &c->sessions[i];

		if (parse_session(ld, g, cs) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (strcmp(c->sessions[k].name, cs->name) == 0)
				return fail(ld, config_setting_lookup((config_setting_t *)g, "name"),
					    "duplicate session name \"%s\": already at line %d",
					    cs->name, c->sessions[k].line);
		c->n_sessions = (size_t)i + 1;
	}
	return 0;
}

void conf_release(struct conf *c)
{
	free(c->sessions);
	c->sessions = NULL;
	c->n_sessions = 0;
}

/* ---- the file -------------------------------------------------------- */

static const struct key root_keys[] = {
	GROUP_KEY("larsd", &larsd_section,
		  "no 'larsd' group: larsd needs at least one listener in larsd.listen"),
	GROUP_KEY("bufpool", &bufpool_section, NULL),
	PARSE_KEY("sessions", parse_sessions, NULL),
};

static const struct section root_section = {
	"", "", "group", "at top level (expected 'larsd', 'bufpool' or 'sessions')", NULL,
	root_keys, N_KEYS(root_keys),
};

/* The pool must hold one buffer of the largest tier the daemon asks for,
 * and everything it preallocates. */
static int check_pool(struct load *ld, config_t *cf)
{
	const config_setting_t *mem_limit_at = config_lookup(cf, "bufpool.mem_limit");
	const config_setting_t *prealloc_at = config_lookup(cf, "bufpool.prealloc");
	size_t frame = (size_t)ld->c.max_message + LARS_HEADER_SIZE;
	size_t need = bufpool_tier_size((unsigned)bufpool_tier_index(frame));
	uint64_t bytes = 0;

	if (need < UDP_BUFFER_SIZE) {
		need = UDP_BUFFER_SIZE;
		if (ld->c.mem_limit < need)
			return fail(ld, mem_limit_at,
				    "'mem_limit' %zu is too small: larsd needs at least %zu, one %zuK buffer for UDP datagrams",
				    ld->c.mem_limit, need, need >> 10);
	} else if (ld->c.mem_limit < need) {
		return fail(ld, mem_limit_at ? mem_limit_at : config_lookup(cf, "larsd.max_message"),
			    "'mem_limit' %zu is too small: larsd needs at least %zu, one buffer for a lars frame of max_message %u plus its %d-byte header",
			    ld->c.mem_limit, need, (unsigned)ld->c.max_message,
			    LARS_HEADER_SIZE);
	}
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		bytes += (uint64_t)ld->c.prealloc[t] * bufpool_tier_size(t);
	if (bytes > ld->c.mem_limit)
		return fail(ld, prealloc_at ? prealloc_at : mem_limit_at,
			    "'prealloc' needs %llu bytes, more than 'mem_limit' %zu",
			    (unsigned long long)bytes, ld->c.mem_limit);
	return 0;
}

void conf_defaults(struct conf *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct bufpool_config pool;

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
	strcpy(c->control, CONF_DEFAULT_CONTROL);
	c->stamp_sessions = CONF_DEFAULT_STAMP_SESSIONS;
	memcpy(c->blocked_ports, always_blocked, sizeof(always_blocked));
	c->n_blocked_ports = N_ALWAYS_BLOCKED;
	bufpool_config_init(&pool); /* the library's defaults are the daemon's */
	c->mem_limit = pool.mem_limit;
	memcpy(c->prealloc, pool.prealloc, sizeof(c->prealloc));
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

/* libconfig's own error: a syntax error, or an @include it cannot read. */
static int fail_read(struct load *ld, config_t *cf)
{
	const char *file = config_error_file(cf);
	const char *text = config_error_text(cf);
	const char *what = "syntax error: ";

	if (!text)
		text = "unknown error";
	if (strncmp(text, "cannot open include", 19) == 0)
		what = "";
	if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
		snprintf(ld->err, ld->errlen, "%s%s%s: cannot read: %s",
			 file_dir(ld, file), file_sep(ld, file), file_name(ld, file), text);
	else
		snprintf(ld->err, ld->errlen, "%s%s%s:%d: %s%s",
			 file_dir(ld, file), file_sep(ld, file), file_name(ld, file),
			 config_error_line(cf), what, text);
	return -1;
}

/* Parse the open file f into ld->c. */
static int load_stream(struct load *ld, FILE *f)
{
	config_t cf;
	int rc;

	config_init(&cf);
	config_set_include_dir(&cf, ld->incdir);
	if (config_read(&cf, f) != CONFIG_TRUE)
		rc = fail_read(ld, &cf);
	else if (parse_section(ld, config_root_setting(&cf), &root_section, &ld->c) < 0)
		rc = -1;
	else
		rc = check_pool(ld, &cf);
	if (rc == 0 && ld->c.udp_source_burst == 0) /* one second's worth */
		ld->c.udp_source_burst = ld->c.udp_source_rate < CONF_MAX_SOURCE_BURST
						 ? ld->c.udp_source_rate : CONF_MAX_SOURCE_BURST;
	config_destroy(&cf);
	return rc;
}

static int load_file(struct load *ld)
{
	struct stat st;
	FILE *f;
	int rc;

	if (strlen(ld->path) >= sizeof(ld->c.path) || strlen(ld->path) >= sizeof(ld->incdir))
		return fail(ld, NULL, "file name too long");
	strcpy(ld->c.path, ld->path);
	set_incdir(ld);
	f = fopen(ld->path, "r");
	if (!f)
		return fail(ld, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
		rc = fail(ld, NULL, "cannot open: %s", strerror(EISDIR));
	else
		rc = load_stream(ld, f);
	fclose(f);
	return rc;
}

int conf_load(const char *path, struct conf *out, char *err, size_t errlen)
{
	struct load *ld = calloc(1, sizeof(*ld));
	int rc = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (!ld) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else {
		ld->path = path;
		ld->err = err;
		ld->errlen = errlen;
		conf_defaults(&ld->c);
		rc = load_file(ld);
		if (rc == 0)
			*out = ld->c;
		else
			conf_release(&ld->c);
		free(ld);
	}
	/* Values quoted from the file may hold newlines: keep one line. */
	for (char *p = err; rc < 0 && errlen > 0 && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return rc;
}
