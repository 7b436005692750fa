/*
 * test_conf.c - larsd's configuration loader, src/larsd/conf.c.
 *
 * Each test writes a config into a fresh mkstemp() file under $TMPDIR (so
 * parallel runs never meet), loads it and checks either the struct or the
 * exact "FILE:LINE: " prefix and the key words of the one-line error.
 * Covers: the shipped etc/larsd.conf, the defaults, every key, every
 * validation error, sizes with and without suffixes, 64-bit integers,
 * the allow-list and the blocked UDP ports, @include, and a STAMP
 * listener's keys (authentication, key_file: its mode, its folder or
 * $CREDENTIALS_DIRECTORY; stateful, session_timeout; stamp_sessions).
 */
#include "config.h"

#include "conf.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <fcntl.h>
#include <unistd.h>

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

/* A minimal valid larsd group body: one listener on line 3. */
#define LISTEN1 \
	"  listen = (\n" \
	"    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; }\n" \
	"  );\n"

static char tmp_path[4096];
static char err[CONF_ERR_MAX];
static struct conf conf;

/* Write text into a new temporary file; its name goes into tmp_path. */
static void write_tmp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	FILE *f;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(tmp_path, sizeof(tmp_path), "%s/test_conf.XXXXXX", dir);
	fd = mkstemp(tmp_path);
	ck_assert_msg(fd >= 0, "mkstemp %s", tmp_path);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static int load(const char *text)
{
	int rc;

	write_tmp(text);
	memset(err, 0, sizeof(err));
	conf_release(&conf); /* the last file's sessions */
	rc = conf_load(tmp_path, &conf, err, sizeof(err));
	unlink(tmp_path);
	return rc;
}

static void load_ok(const char *text)
{
	int rc = load(text);

	ck_assert_msg(rc == 0, "expected success, got: %s", err);
	ck_assert_str_eq(conf.path, tmp_path);
}

/* Expect failure at line (0: "FILE: ", no line) with words in the text. */
static void load_err(const char *text, int line, const char *words)
{
	char prefix[4200];
	int rc = load(text);

	ck_assert_msg(rc == -1, "expected an error with '%s', got success", words);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", tmp_path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", tmp_path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		      "error '%s' does not start with '%s'", err, prefix);
	ck_assert_msg(strstr(err, words) != NULL, "error '%s' lacks '%s'", err, words);
	ck_assert_msg(strchr(err, '\n') == NULL, "error '%s' has a newline", err);
}

/* A config whose larsd group holds extra (lines 2..) and then LISTEN1. */
static void larsd_err(const char *extra, int line, const char *words)
{
	char text[8192];

	snprintf(text, sizeof(text), "larsd: {\n%s" LISTEN1 "};\n", extra);
	load_err(text, line, words);
}

static void larsd_ok(const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "larsd: {\n%s" LISTEN1 "};\n", extra);
	load_ok(text);
}

/* larsd with LISTEN1 on lines 1-5, then bufpool from line 6. */
static void bufpool_load(const char *bufpool, int expect_ok, int line,
			 const char *words)
{
	char text[8192];

	snprintf(text, sizeof(text), "larsd: {\n" LISTEN1 "};\nbufpool: {\n%s};\n",
		 bufpool);
	if (expect_ok)
		load_ok(text);
	else
		load_err(text, line, words);
}

/* ---- good files ------------------------------------------------------ */

START_TEST(test_shipped_config)
{
	const char *path = TOP_SRCDIR "/etc/larsd.conf";
	const struct sockaddr_in *sin;

	ck_assert_msg(conf_load(path, &conf, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(conf.path, path);
	ck_assert_uint_ge(conf.n_listeners, 1);
	/* Loopback only. */
	for (size_t i = 0; i < conf.n_listeners; i++) {
		const struct conf_listener *l = &conf.listeners[i];
		if (l->addr.ss_family == AF_INET) {
			sin = (const struct sockaddr_in *)&l->addr;
			ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr) >> 24, 127);
		} else {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l->addr;
			ck_assert_int_eq(l->addr.ss_family, AF_INET6);
			ck_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
		}
	}
	ck_assert_uint_eq(conf.listeners[0].proto, CONF_PROTO_TCP);
	ck_assert_uint_eq(conf.listeners[0].port, 7777);
	ck_assert_uint_eq(conf.max_message, 65527);
	ck_assert_uint_eq(conf.mem_limit, (size_t)64 << 20);
	ck_assert_int_eq(conf.log_level, LOG_INFO);
}
END_TEST

START_TEST(test_defaults)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	conf_defaults(&conf);
	ck_assert_uint_eq(conf.threads, cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned)cpus);
	ck_assert_uint_eq(conf.max_connections, 10000);
	ck_assert_uint_eq(conf.idle_timeout, 60);
	ck_assert_uint_eq(conf.max_message, 65527);
	ck_assert_int_eq(conf.log_level, LOG_INFO);
	ck_assert_uint_eq(conf.shutdown_timeout_ms, 2000);
	ck_assert_str_eq(conf.control, "/run/larsd/control");
	ck_assert_uint_eq(conf.n_listeners, 0);
	ck_assert_uint_eq(conf.n_allow, 0);
	ck_assert_uint_eq(conf.n_blocked_ports, 5);
	ck_assert_uint_eq(conf.udp_source_rate, 0); /* no limit */
	ck_assert_uint_eq(conf.udp_source_burst, 0);
	ck_assert_uint_eq(conf.blocked_ports[0], 0);
	ck_assert_uint_eq(conf.blocked_ports[4], 19);
	ck_assert_uint_eq(conf.mem_limit, BUFPOOL_MEM_LIMIT);
	ck_assert_uint_eq(conf.prealloc[0], 16);
	ck_assert_uint_eq(conf.prealloc[1], 4);
	for (unsigned t = 2; t < BUFPOOL_TIERS; t++)
		ck_assert_uint_eq(conf.prealloc[t], 0);

	/* A file with only a listener gets the same. */
	larsd_ok("");
	ck_assert_uint_eq(conf.threads, cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned)cpus);
	ck_assert_uint_eq(conf.max_connections, 10000);
	ck_assert_uint_eq(conf.max_message, 65527);
	ck_assert_uint_eq(conf.mem_limit, BUFPOOL_MEM_LIMIT);
	ck_assert_uint_eq(conf.prealloc[0], 16);
	ck_assert_uint_eq(conf.n_listeners, 1);
	ck_assert_uint_eq(conf.listeners[0].mode, CONF_MODE_ECHO);
	ck_assert_int_eq(conf.listeners[0].line, 3);
}
END_TEST

/* udp_source_rate and udp_source_burst: ranges, and the burst that
 * defaults to one second's worth of the rate (at most the burst's top). */
START_TEST(test_source_rate)
{
	larsd_ok("  udp_source_rate = 100;\n  udp_source_burst = 7;\n");
	ck_assert_uint_eq(conf.udp_source_rate, 100);
	ck_assert_uint_eq(conf.udp_source_burst, 7);
	larsd_ok("  udp_source_rate = 250;\n");
	ck_assert_uint_eq(conf.udp_source_burst, 250);
	larsd_ok("  udp_source_rate = 10000000;\n  udp_source_burst = 0;\n");
	ck_assert_uint_eq(conf.udp_source_rate, 10000000);
	ck_assert_uint_eq(conf.udp_source_burst, 1000000);
	larsd_ok("  udp_source_burst = 5;\n"); /* no rate: no limit */
	ck_assert_uint_eq(conf.udp_source_rate, 0);
	larsd_err("  udp_source_rate = 10000001;\n", 2,
		  "'udp_source_rate' is 10000001, out of range 0..10000000");
	larsd_err("  udp_source_burst = 1000001;\n", 2,
		  "'udp_source_burst' is 1000001, out of range 0..1000000");
	larsd_err("  udp_source_rate = \"fast\";\n", 2, "'udp_source_rate' must be an integer");
	larsd_err("  udp_source_burst = -3;\n", 2, "out of range");

	/* mode "stamp" on UDP */
	load_ok("larsd: {\n  listen = (\n"
		"    { proto = \"udp\"; address = \"::1\"; port = 862; mode = \"stamp\"; }\n"
		"  );\n};\n");
	ck_assert_uint_eq(conf.listeners[0].mode, CONF_MODE_STAMP);
	ck_assert_str_eq(conf_mode_name(CONF_MODE_STAMP), "stamp");
}
END_TEST

START_TEST(test_every_key)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char a6[INET6_ADDRSTRLEN];

	load_ok("# comment\n"
		"larsd: {\n"
		"  threads = 3;\n"
		"  max_connections = 1000000;\n"
		"  idle_timeout = 0;\n"
		"  max_message = 100000L;\n"
		"  log_level = \"debug\";\n"
		"  shutdown_timeout_ms = 60000;\n"
		"  udp_blocked_ports = [ 9, 1900, 7 ];\n"
		"  allow = [ \"10.1.2.3/8\", \"::1\", \"192.168.1.7\", \"2001:db8::ff/32\" ];\n"
		"  listen = (\n"
		"    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; mode = \"echo\"; },\n"
		"    { proto = \"udp\"; address = \"127.0.0.1\"; port = 7777; },\n"
		"    {\n"
		"      proto = \"tcp\"; address = \"::1\"; port = 7778; mode = \"lars\";\n"
		"    }\n"
		"  );\n"
		"};\n"
		"bufpool: {\n"
		"  mem_limit = \"1G\";\n"
		"  prealloc = { tier_4K = 64; tier_64K = 4; tier_8M = 2; };\n"
		"};\n");
	ck_assert_uint_eq(conf.threads, 3);
	ck_assert_uint_eq(conf.max_connections, 1000000);
	ck_assert_uint_eq(conf.idle_timeout, 0);
	ck_assert_uint_eq(conf.max_message, 100000);
	ck_assert_int_eq(conf.log_level, LOG_DEBUG);
	ck_assert_uint_eq(conf.shutdown_timeout_ms, 60000);
	ck_assert_uint_eq(conf.mem_limit, (size_t)1 << 30);
	ck_assert_uint_eq(conf.prealloc[0], 64);
	ck_assert_uint_eq(conf.prealloc[1], 4); /* absent key: its default */
	ck_assert_uint_eq(conf.prealloc[2], 4);
	ck_assert_uint_eq(conf.prealloc[3], 0);
	ck_assert_uint_eq(conf.prealloc[6], 2);

	ck_assert_uint_eq(conf.n_listeners, 3);
	ck_assert_int_eq(conf.listeners[0].line, 12);
	ck_assert_int_eq(conf.listeners[1].line, 13);
	ck_assert_int_eq(conf.listeners[2].line, 14);
	ck_assert_uint_eq(conf.listeners[1].proto, CONF_PROTO_UDP);
	ck_assert_uint_eq(conf.listeners[1].mode, CONF_MODE_ECHO);
	ck_assert_uint_eq(conf.listeners[2].mode, CONF_MODE_LARS);
	ck_assert_str_eq(conf.listeners[2].address, "::1");
	sin = (const struct sockaddr_in *)&conf.listeners[0].addr;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(conf.listeners[0].addrlen, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(sin->sin_port), 7777);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	sin6 = (const struct sockaddr_in6 *)&conf.listeners[2].addr;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(conf.listeners[2].addrlen, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 7778);
	ck_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, a6, sizeof(a6)), "::1");
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct { const char *name; int level; } t[] = {
		{ "error", LOG_ERR }, { "err", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	char extra[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(extra, sizeof(extra), "  log_level = \"%s\";\n", t[i].name);
		larsd_ok(extra);
		ck_assert_int_eq(conf.log_level, t[i].level);
	}
	ck_assert_int_eq(LOG_ERR, 3);
	ck_assert_int_eq(LOG_DEBUG, 7);
}
END_TEST

/* io_backend: its three words, "auto" by default, and a FILE:LINE error
 * for anything else. */
START_TEST(test_io_backends)
{
	static const struct { const char *name; int io; } t[] = {
		{ "auto", CONF_IO_AUTO }, { "epoll", CONF_IO_EPOLL }, { "io_uring", CONF_IO_URING },
	};
	char extra[128];

	larsd_ok("");
	ck_assert_int_eq(conf.io_backend, CONF_IO_AUTO);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(extra, sizeof(extra), "  io_backend = \"%s\";\n", t[i].name);
		larsd_ok(extra);
		ck_assert_int_eq(conf.io_backend, t[i].io);
	}
	larsd_err("  io_backend = \"aio\";\n", 2,
		  "'io_backend' \"aio\" is unknown (use \"auto\", \"epoll\" or \"io_uring\")");
	larsd_err("  io_backend = 1;\n", 2, "'io_backend'");
}
END_TEST

START_TEST(test_sizes)
{
	bufpool_load("  mem_limit = \"64M\";\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)64 << 20);
	bufpool_load("  mem_limit = \"1G\";\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)1 << 30);
	bufpool_load("  mem_limit = \"512k\";\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)512 << 10);
	bufpool_load("  mem_limit = 1048576;\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)1 << 20);
	bufpool_load("  mem_limit = \"1048576\";\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)1 << 20);
	bufpool_load("  mem_limit = 8589934592L;\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.mem_limit, (size_t)8 << 30);

	bufpool_load("  mem_limit = \"12X\";\n", 0, 7, "'mem_limit' must be a size like \"64M\"");
	bufpool_load("  mem_limit = \"\";\n", 0, 7, "'mem_limit' must be a size like \"64M\"");
	bufpool_load("  mem_limit = \"64 M\";\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = \"-1M\";\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = \"99999999999999999999\";\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = \"17179869184G\";\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = -5;\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = 1.5;\n", 0, 7, "must be a size like");
	bufpool_load("  mem_limit = true;\n", 0, 7, "must be a size like");
	/* libconfig has no suffixes: 64M unquoted is a syntax error. */
	bufpool_load("  mem_limit = 64M;\n", 0, 7, "syntax error");
}
END_TEST

START_TEST(test_pool_limits)
{
	/* Default max_message: the 64K tier for reads is the floor. */
	bufpool_load("  mem_limit = \"64K\";\n  prealloc = { tier_4K = 0; tier_16K = 0; };\n",
		     1, 0, NULL);
	bufpool_load("  mem_limit = 65535;\n  prealloc = { tier_4K = 0; tier_16K = 0; };\n",
		     0, 7, "'mem_limit' 65535 is too small: larsd needs at least 65536");
	bufpool_load("  mem_limit = 0;\n", 0, 7, "'mem_limit' 0 is too small");

	/* max_message 65529 + 8 no longer fits 64K: the 256K tier. */
	load_err("larsd: {\n  max_message = 65529;\n" LISTEN1 "};\n"
		 "bufpool: { mem_limit = \"128K\"; };\n",
		 7, "'mem_limit' 131072 is too small: larsd needs at least 262144");
	load_ok("larsd: {\n  max_message = 65529;\n" LISTEN1 "};\n"
		"bufpool: { mem_limit = \"256K\"; };\n");
	ck_assert_uint_eq(conf.max_message, 65529);
	load_ok("larsd: {\n  max_message = 65528;\n" LISTEN1 "};\n"
		"bufpool: { mem_limit = \"128K\"; };\n");

	/* The largest frame the pool can hold. */
	load_ok("larsd: {\n  max_message = 8388600;\n" LISTEN1 "};\n"
		"bufpool: { mem_limit = \"8M\"; };\n");
	ck_assert_uint_eq(conf.max_message, 8388600);
	load_err("larsd: {\n  max_message = 8388600;\n" LISTEN1 "};\n"
		 "bufpool: { mem_limit = \"7M\"; };\n",
		 7, "'mem_limit' 7340032 is too small: larsd needs at least 8388608");
	larsd_err("  max_message = 8388601;\n", 2,
		  "'max_message' is 8388601, above what the pool can hold");
	larsd_err("  max_message = 0;\n", 2, "'max_message' is 0, out of range 1..");
	larsd_err("  max_message = 9000000000L;\n", 2, "above what the pool can hold");

	/* Preallocation must fit under the limit: 16 x 4K = 64K. */
	bufpool_load("  mem_limit = \"64K\";\n  prealloc = { tier_4K = 16; tier_16K = 0; };\n",
		     1, 0, NULL);
	bufpool_load("  mem_limit = \"64K\";\n  prealloc = { tier_4K = 16; };\n",
		     0, 8, "'prealloc' needs 131072 bytes, more than 'mem_limit' 65536");
	bufpool_load("  prealloc = { tier_8M = 9; };\n",
		     0, 7, "'prealloc' needs");
	bufpool_load("  prealloc = { tier_4K = 100000; };\n  mem_limit = \"1G\";\n", 1, 0, NULL);
	bufpool_load("  prealloc = { tier_4K = 100001; };\n",
		     0, 7, "'tier_4K' is 100001, out of range 0..100000");
	bufpool_load("  prealloc = { tier_4K = -1; };\n", 0, 7, "out of range 0..100000");
	bufpool_load("  prealloc = { tier_4K = \"1\"; };\n", 0, 7, "'tier_4K' must be an integer");
	bufpool_load("  prealloc = { 4K = 1; };\n", 0, 7, "syntax error");
	bufpool_load("  prealloc = { tier_2K = 1; };\n", 0, 7, "unknown key 'tier_2K' in 'prealloc'");
	bufpool_load("  prealloc = 5;\n", 0, 7, "'prealloc' must be a group");
}
END_TEST

START_TEST(test_int_ranges)
{
	larsd_ok("  threads = 1;\n");
	ck_assert_uint_eq(conf.threads, 1);
	larsd_ok("  threads = 256;\n");
	ck_assert_uint_eq(conf.threads, 256);
	larsd_err("  threads = 0;\n", 2, "'threads' is 0, out of range 1..256");
	larsd_err("  threads = 257;\n", 2, "'threads' is 257, out of range 1..256");
	larsd_err("  threads = -1;\n", 2, "'threads' is -1, out of range 1..256");
	/* 64-bit values are range checked, not wrapped or zeroed. */
	larsd_err("  threads = 5000000000L;\n", 2, "'threads' is 5000000000, out of range 1..256");
	larsd_err("  threads = 4294967297L;\n", 2, "'threads' is 4294967297, out of range");
	larsd_err("  threads = 9223372036854775807L;\n", 2, "out of range 1..256");
	larsd_err("  threads = \"2\";\n", 2, "'threads' must be an integer");
	larsd_err("  threads = 2.0;\n", 2, "'threads' must be an integer");
	larsd_err("  threads = true;\n", 2, "'threads' must be an integer");
	larsd_err("  threads = [ 2 ];\n", 2, "'threads' must be an integer");

	larsd_err("  max_connections = 0;\n", 2, "'max_connections' is 0, out of range 1..1000000");
	larsd_err("  max_connections = 1000001;\n", 2, "out of range 1..1000000");
	larsd_err("  idle_timeout = 86401;\n", 2, "'idle_timeout' is 86401, out of range 0..86400");
	larsd_err("  idle_timeout = -1;\n", 2, "out of range 0..86400");
	larsd_err("  shutdown_timeout_ms = 60001;\n", 2,
		  "'shutdown_timeout_ms' is 60001, out of range 0..60000");
	larsd_err("  log_level = \"verbose\";\n", 2, "'log_level' \"verbose\" is unknown");
	larsd_err("  log_level = \"INFO\";\n", 2, "'log_level' \"INFO\" is unknown");
	larsd_err("  log_level = 6;\n", 2, "'log_level' must be a string");
}
END_TEST

START_TEST(test_file_errors)
{
	char path[4200];
	int rc;

	snprintf(path, sizeof(path), "%s/test_conf.does-not-exist.%ld",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (long)getpid());
	rc = conf_load(path, &conf, err, sizeof(err));
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, ": cannot open: No such file or directory"));

	/* A directory opens but cannot be read as a config. */
	rc = conf_load("/", &conf, err, sizeof(err));
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, "/: cannot open: Is a directory");

	/* Unreadable (skip as root, who reads everything). */
	if (geteuid() != 0) {
		write_tmp("larsd: {\n" LISTEN1 "};\n");
		chmod(tmp_path, 0);
		rc = conf_load(tmp_path, &conf, err, sizeof(err));
		unlink(tmp_path);
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(strstr(err, ": cannot open: Permission denied"));
	}

	/* A failed load leaves *out alone; a tiny err buffer is still a string. */
	memset(&conf, 0xa5, sizeof(conf));
	rc = conf_load(path, &conf, err, 8);
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_eq(strlen(err), 7);
	ck_assert_uint_eq(((unsigned char *)&conf)[0], 0xa5);
	ck_assert_uint_eq(conf.threads, 0xa5a5a5a5u);
	/* Not a loaded conf: the next load() must not release its "sessions"
	 * (valgrind runs the cases in one process). */
	memset(&conf, 0, sizeof(conf));
}
END_TEST

START_TEST(test_syntax_errors)
{
	load_err("larsd: {\n  threads = ;\n};\n", 2, "syntax error: ");
	load_err("larsd: {\n  threads = 2;\n  max_connections = = 5;\n};\n", 3, "syntax error");
	load_err("larsd: {\n" LISTEN1 "};\n\n\nbufpool: {\n", 9, "syntax error");
	load_err("larsd: {\n  threads = 2;\n  threads = 3;\n" LISTEN1 "};\n", 3,
		 "syntax error: duplicate setting name");
}
END_TEST

START_TEST(test_structure_errors)
{
	larsd_err("  thread = 2;\n", 2, "unknown key 'thread' in 'larsd'");
	larsd_err("  mem_limit = \"64M\";\n", 2, "unknown key 'mem_limit' in 'larsd'");
	load_err("larsd: {\n" LISTEN1 "};\n\nlarsdd: { threads = 2; };\n", 7,
		 "unknown group 'larsdd' at top level");
	load_err("threads = 2;\nlarsd: {\n" LISTEN1 "};\n", 1, "unknown group 'threads'");
	bufpool_load("  memlimit = \"64M\";\n", 0, 7, "unknown key 'memlimit' in 'bufpool'");
	load_err("larsd = 5;\n", 1, "'larsd' must be a group");
	load_err("larsd: {\n" LISTEN1 "};\nbufpool = [ 1 ];\n", 6, "'bufpool' must be a group");

	/* No larsd group at all, or one without listeners. */
	load_err("", 0, "no 'larsd' group");
	load_err("# nothing\nbufpool: { mem_limit = \"64M\"; };\n", 0, "no 'larsd' group");
	load_err("larsd: {\n  threads = 2;\n};\n", 1, "'larsd' has no 'listen' list");
}
END_TEST

START_TEST(test_listener_errors)
{
	char text[16384];
	size_t off;

	load_err("larsd: {\n  listen = ();\n};\n", 2, "'listen' is empty");
	load_err("larsd: {\n  listen = [];\n};\n", 2, "'listen' is empty");
	load_err("larsd: {\n  listen = \"tcp\";\n};\n", 2, "'listen' must be a list");
	load_err("larsd: {\n  listen = { proto = \"tcp\"; };\n};\n", 2, "'listen' must be a list");
	load_err("larsd: {\n  listen = [ 1, 2 ];\n};\n", 2, "'listen' entries must be groups");
	load_err("larsd: {\n  listen = (\n    \"tcp\" );\n};\n", 3,
		 "'listen' entries must be groups");

	/* Missing required keys: the line of the listener's group. */
	load_err("larsd: {\n  listen = (\n"
		 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 1; },\n"
		 "    {\n      address = \"127.0.0.1\";\n      port = 7777;\n    }\n  );\n};\n",
		 4, "listener without 'proto'");
	load_err("larsd: {\n  listen = (\n    { proto = \"tcp\"; port = 7777; }\n  );\n};\n",
		 3, "listener without 'address'");
	load_err("larsd: {\n  listen = (\n    { proto = \"tcp\";\n      address = \"::1\"; }\n  );\n};\n",
		 3, "listener without 'port'");

#define L(body) "larsd: {\n  listen = (\n    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7;\n" \
		"      " body "\n    }\n  );\n};\n"
	load_err("larsd: {\n  listen = (\n    { proto = \"sctp\"; address = \"::1\"; port = 7; }\n  );\n};\n",
		 3, "'proto' \"sctp\" is unknown");
	load_err("larsd: {\n  listen = (\n    { proto = \"TCP\"; address = \"::1\"; port = 7; }\n  );\n};\n",
		 3, "'proto' \"TCP\" is unknown");
	load_err("larsd: {\n  listen = (\n    { proto = 6; address = \"::1\"; port = 7; }\n  );\n};\n",
		 3, "'proto' must be a string");
	load_err("larsd: {\n  listen = (\n    { proto = \"tcp\";\n address = \"localhost\"; port = 7; }\n  );\n};\n",
		 4, "'address' \"localhost\" is not an IPv4 or IPv6 address");
	load_err("larsd: {\n  listen = (\n    { address = \"127.0.0.256\"; proto = \"tcp\"; port = 7; }\n  );\n};\n",
		 3, "'address' \"127.0.0.256\" is not an IPv4 or IPv6 address");
	load_err("larsd: {\n  listen = (\n    { address = \"127.0.0.1/8\"; proto = \"tcp\"; port = 7; }\n  );\n};\n",
		 3, "is not an IPv4 or IPv6 address");
	load_err("larsd: {\n  listen = (\n    { address = \"\"; proto = \"tcp\"; port = 7; }\n  );\n};\n",
		 3, "is not an IPv4 or IPv6 address");
	load_err("larsd: {\n  listen = (\n    { address = \"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001\"; proto = \"tcp\"; port = 7; }\n  );\n};\n",
		 3, "is not an IPv4 or IPv6 address");
	load_err("larsd: {\n  listen = (\n    { address = 127; proto = \"tcp\"; port = 7; }\n  );\n};\n",
		 3, "'address' must be a string");
	load_err(L("port = 0;"), 4, "syntax error: duplicate setting name");
	load_err("larsd: {\n  listen = (\n    { proto = \"udp\"; address = \"::1\";\n      port = 0; }\n  );\n};\n",
		 4, "'port' is 0, out of range 1..65535");
	load_err("larsd: {\n  listen = (\n    { proto = \"udp\"; address = \"::1\";\n      port = 65536; }\n  );\n};\n",
		 4, "'port' is 65536, out of range 1..65535");
	load_err("larsd: {\n  listen = (\n    { proto = \"udp\"; address = \"::1\";\n      port = 4294975293L; }\n  );\n};\n",
		 4, "'port' is 4294975293, out of range 1..65535");
	load_err("larsd: {\n  listen = (\n    { proto = \"udp\"; address = \"::1\";\n      port = \"7777\"; }\n  );\n};\n",
		 4, "'port' must be an integer");
	load_err(L("mode = \"http\";"), 4, "'mode' \"http\" is unknown");
	load_err(L("mode = 1;"), 4, "'mode' must be a string");
	/* STAMP runs over UDP only: the line of 'mode' */
	load_err(L("reuseport = true;\n      mode = \"stamp\";"), 5,
		 "'mode' \"stamp\" needs proto = \"udp\"");
	load_err(L("backlog = 128;"), 4, "unknown key 'backlog' in 'listen'");
#undef L

	/* Duplicates: same proto, same parsed address, same port. */
	load_err("larsd: {\n  listen = (\n"
		 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; },\n"
		 "    { proto = \"udp\"; address = \"127.0.0.1\"; port = 7777; },\n"
		 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7778; },\n"
		 "    { proto = \"tcp\"; address = \"127.0.0.2\"; port = 7777; },\n"
		 "    { proto = \"tcp\"; address = \"::1\"; port = 7777; },\n"
		 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; mode = \"lars\"; }\n"
		 "  );\n};\n",
		 8, "duplicate listener: tcp 127.0.0.1 port 7777 is already at line 3");
	load_err("larsd: {\n  listen = (\n"
		 "    { proto = \"udp\"; address = \"::1\"; port = 9; },\n\n"
		 "    { proto = \"udp\"; address = \"0:0::0:1\"; port = 9; }\n"
		 "  );\n};\n",
		 5, "duplicate listener: udp 0:0::0:1 port 9 is already at line 3");

	/* At most CONF_MAX_LISTENERS. */
	off = (size_t)snprintf(text, sizeof(text), "larsd: {\n  listen = (\n");
	for (int i = 0; i < CONF_MAX_LISTENERS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
			"    { proto = \"tcp\"; address = \"127.0.0.1\"; port = %d; }%s\n",
			1000 + i, i + 1 < CONF_MAX_LISTENERS ? "," : "");
	snprintf(text + off, sizeof(text) - off, "  );\n};\n");
	load_ok(text);
	ck_assert_uint_eq(conf.n_listeners, CONF_MAX_LISTENERS);
	ck_assert_int_eq(conf.listeners[CONF_MAX_LISTENERS - 1].line, 2 + CONF_MAX_LISTENERS);
	ck_assert_uint_eq(conf.listeners[CONF_MAX_LISTENERS - 1].port, 1000 + CONF_MAX_LISTENERS - 1);

	off = (size_t)snprintf(text, sizeof(text), "larsd: {\n  listen = (\n");
	for (int i = 0; i <= CONF_MAX_LISTENERS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
			"    { proto = \"tcp\"; address = \"127.0.0.1\"; port = %d; }%s\n",
			1000 + i, i < CONF_MAX_LISTENERS ? "," : "");
	snprintf(text + off, sizeof(text) - off, "  );\n};\n");
	load_err(text, 2, "'listen' has 65 listeners, at most 64");
}
END_TEST

/* reuseport: a boolean per listener, default false. */
START_TEST(test_reuseport)
{
	load_ok("larsd: {\n  listen = (\n"
		"    { proto = \"udp\"; address = \"127.0.0.1\"; port = 7; reuseport = true; },\n"
		"    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7; }\n  );\n};\n");
	ck_assert(conf.listeners[0].reuseport);
	ck_assert(!conf.listeners[1].reuseport);
	load_err("larsd: {\n  listen = (\n"
		 "    { proto = \"udp\"; address = \"127.0.0.1\"; port = 7;\n"
		 "      reuseport = 1; }\n  );\n};\n",
		 4, "'reuseport' must be true or false");
}
END_TEST

START_TEST(test_allow)
{
	uint8_t want[16];

	larsd_ok("");
	ck_assert_uint_eq(conf.n_allow, 0);
	larsd_ok("  allow = [];\n");
	ck_assert_uint_eq(conf.n_allow, 0);
	larsd_ok("  allow = ( \"127.0.0.0/8\", \"::1\", \"10.9.8.7/12\", \"0.0.0.0/0\",\n"
		 "            \"192.0.2.1\", \"2001:db8:abcd:12ff::/56\", \"::/0\" );\n");
	ck_assert_uint_eq(conf.n_allow, 7);
	ck_assert_int_eq(conf.allow[0].family, AF_INET);
	ck_assert_uint_eq(conf.allow[0].prefix, 8);
	ck_assert_mem_eq(conf.allow[0].addr, "\x7f\0\0\0", 4);
	ck_assert_int_eq(conf.allow[1].family, AF_INET6);
	ck_assert_uint_eq(conf.allow[1].prefix, 128);
	inet_pton(AF_INET6, "::1", want);
	ck_assert_mem_eq(conf.allow[1].addr, want, 16);
	ck_assert_uint_eq(conf.allow[2].prefix, 12);
	ck_assert_mem_eq(conf.allow[2].addr, "\x0a\x00\x00\x00", 4); /* host bits cleared */
	ck_assert_uint_eq(conf.allow[3].prefix, 0);
	ck_assert_mem_eq(conf.allow[3].addr, "\0\0\0\0", 4);
	ck_assert_uint_eq(conf.allow[4].prefix, 32);
	ck_assert_mem_eq(conf.allow[4].addr, "\xc0\x00\x02\x01", 4);
	ck_assert_uint_eq(conf.allow[5].prefix, 56);
	inet_pton(AF_INET6, "2001:db8:abcd:1200::", want);
	ck_assert_mem_eq(conf.allow[5].addr, want, 16);
	ck_assert_uint_eq(conf.allow[6].prefix, 0);

	larsd_err("  allow = [ \"127.0.0.0/33\" ];\n", 2, "'allow' entry \"127.0.0.0/33\" is not an address or network");
	larsd_err("  allow = [ \"::1/129\" ];\n", 2, "'allow' entry \"::1/129\"");
	larsd_err("  allow = [ \"::1/\" ];\n", 2, "'allow' entry \"::1/\"");
	larsd_err("  allow = [ \"10.0.0.0/+8\" ];\n", 2, "'allow' entry \"10.0.0.0/+8\"");
	larsd_err("  allow = [ \"10.0.0.0/0008\" ];\n", 2, "'allow' entry");
	larsd_err("  allow = [ \"localhost\" ];\n", 2, "'allow' entry \"localhost\"");
	larsd_err("  allow = [ \"10.0.0.0/8/8\" ];\n", 2, "'allow' entry");
	larsd_err("  allow = (\n    \"10.0.0.0/8\",\n    \"bad\" );\n", 4, "'allow' entry \"bad\"");
	larsd_err("  allow = [ 10 ];\n", 2, "'allow' entries must be strings");
	larsd_err("  allow = \"127.0.0.1\";\n", 2, "'allow' must be an array");
}
END_TEST

/* control: an absolute path that fits sun_path, or "" for none. */
START_TEST(test_control)
{
	char text[512], path[200];

	larsd_ok("  control = \"/tmp/larsd.ctl\";\n");
	ck_assert_str_eq(conf.control, "/tmp/larsd.ctl");
	larsd_ok("  control = \"\";\n");
	ck_assert_str_eq(conf.control, "");
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	path[107] = '\0'; /* 107 bytes and the NUL: the most sun_path holds */
	snprintf(text, sizeof(text), "  control = \"%s\";\n", path);
	larsd_ok(text);
	ck_assert_str_eq(conf.control, path);
	path[107] = 'x';
	path[108] = '\0';
	snprintf(text, sizeof(text), "  control = \"%s\";\n", path);
	larsd_err(text, 2, "'control' is 108 bytes long, at most 107");
	larsd_err("  control = \"run/larsd/control\";\n", 2,
		  "'control' \"run/larsd/control\" must be an absolute path");
	larsd_err("  control = 1;\n", 2, "'control' must be a string");
	larsd_err("  control = [ \"/a\" ];\n", 2, "'control' must be a string");
}
END_TEST

START_TEST(test_blocked_ports)
{
	static const uint16_t builtin[] = { 0, 7, 13, 17, 19 };
	char text[4096];
	size_t off;

	larsd_ok("");
	ck_assert_uint_eq(conf.n_blocked_ports, 5);
	ck_assert_mem_eq(conf.blocked_ports, builtin, sizeof(builtin));

	larsd_ok("  udp_blocked_ports = [ 9, 1900, 7, 9, 65535, 1 ];\n");
	ck_assert_uint_eq(conf.n_blocked_ports, 9);
	ck_assert_mem_eq(conf.blocked_ports, builtin, sizeof(builtin));
	ck_assert_uint_eq(conf.blocked_ports[5], 9);
	ck_assert_uint_eq(conf.blocked_ports[6], 1900);
	ck_assert_uint_eq(conf.blocked_ports[7], 65535);
	ck_assert_uint_eq(conf.blocked_ports[8], 1);

	larsd_ok("  udp_blocked_ports = [];\n");
	ck_assert_uint_eq(conf.n_blocked_ports, 5);

	larsd_err("  udp_blocked_ports = [ 9, 0 ];\n", 2,
		  "'udp_blocked_ports' is 0, out of range 1..65535");
	larsd_err("  udp_blocked_ports = [ 65536 ];\n", 2, "out of range 1..65535");
	larsd_err("  udp_blocked_ports = [ 70000L ];\n", 2, "out of range 1..65535");
	larsd_err("  udp_blocked_ports = [ \"9\" ];\n", 2, "'udp_blocked_ports' must be an integer");
	larsd_err("  udp_blocked_ports = (\n 9,\n \"x\" );\n", 4, "must be an integer");
	larsd_err("  udp_blocked_ports = 9;\n", 2, "'udp_blocked_ports' must be an array");

	/* 59 extra ports fit beside the 5 built in, 60 do not. */
	off = (size_t)snprintf(text, sizeof(text), "  udp_blocked_ports = [ ");
	for (int i = 0; i < 59; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%d",
					i ? ", " : "", 2000 + i);
	snprintf(text + off, sizeof(text) - off, " ];\n");
	larsd_ok(text);
	ck_assert_uint_eq(conf.n_blocked_ports, 64);
	snprintf(text + off, sizeof(text) - off, ", 3000 ];\n");
	larsd_err(text, 2, "'udp_blocked_ports' holds more than 59 ports");
}
END_TEST

START_TEST(test_include)
{
	char main_text[8192], inc_text[256], *slash;
	char inc_path[4200];
	const char *base;
	FILE *f;
	int rc, cwd;

	/* The included file lives next to the main one; include it by its
	 * base name while the working directory is elsewhere. */
	write_tmp("bufpool: {\n  mem_limit = \"2M\";\n};\n");
	snprintf(inc_path, sizeof(inc_path), "%s", tmp_path);
	slash = strrchr(inc_path, '/');
	base = slash + 1;
	snprintf(main_text, sizeof(main_text), "larsd: {\n" LISTEN1 "};\n@include \"%s\"\n", base);
	write_tmp(main_text);
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(cwd, 0);
	if (tmp_path[0] == '/')
		ck_assert_int_eq(chdir("/"), 0);
	rc = conf_load(tmp_path, &conf, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(conf.mem_limit, (size_t)2 << 20);
	unlink(tmp_path);

	/* An error in the included file names that file and its line. */
	f = fopen(inc_path, "w");
	ck_assert_ptr_nonnull(f);
	snprintf(inc_text, sizeof(inc_text), "bufpool: {\n  mem_limit = \"2M\";\n  color = 1;\n};\n");
	fputs(inc_text, f);
	fclose(f);
	write_tmp(main_text);
	rc = conf_load(tmp_path, &conf, err, sizeof(err));
	unlink(tmp_path);
	ck_assert_int_eq(rc, -1);
	snprintf(main_text, sizeof(main_text), "%s:3: unknown key 'color' in 'bufpool'", inc_path);
	ck_assert_str_eq(err, main_text);

	/* A missing include file. */
	snprintf(main_text, sizeof(main_text), "larsd: {\n" LISTEN1 "};\n@include \"%s.nope\"\n", base);
	load_err(main_text, 6, "cannot open include file");
	unlink(inc_path);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
}
END_TEST

/* ---- STAMP listeners ------------------------------------------------- */

/* A 32-byte key as hex, and the bytes it stands for. */
#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_HEX2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

/* Write text as a key file of that mode: a new file in dir, or dir/name
 * when name is given; its path goes into path. */
static void write_key(char *path, size_t len, const char *dir, const char *name,
		      const char *text, mode_t mode)
{
	int fd;

	if (name) {
		snprintf(path, len, "%s/%s", dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	} else {
		snprintf(path, len, "%s/test_conf.key.XXXXXX", dir);
		fd = mkstemp(path);
	}
	ck_assert_msg(fd >= 0, "creating %s", path);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static const char *tmp_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

/* A config of one STAMP listener (line 3) whose further keys, body, start
 * on line 4. */
static const char *stamp_conf(const char *body)
{
	static char text[8192];

	snprintf(text, sizeof(text),
		 "larsd: {\n  listen = (\n"
		 "    { proto = \"udp\"; address = \"127.0.0.1\"; port = 862; mode = \"stamp\";\n"
		 "%s\n    }\n  );\n};\n", body);
	return text;
}

static void assert_key32(const struct conf_listener *l, bool second)
{
	ck_assert_uint_eq(l->key.len, 32);
	for (unsigned i = 0; i < 32; i++)
		ck_assert_uint_eq(l->key.bytes[i], second ? (uint8_t)(0xff - (i % 16) * 0x11) : i);
}

START_TEST(test_stamp_keys)
{
	char key[4200], body[4400];

	/* The defaults of a STAMP listener. */
	load_ok(stamp_conf(""));
	ck_assert_int_eq(conf.listeners[0].mode, CONF_MODE_STAMP);
	ck_assert_int_eq(conf.listeners[0].stamp_auth, 0);
	ck_assert(!conf.listeners[0].stateful);
	ck_assert_uint_eq(conf.listeners[0].session_timeout, 60);
	ck_assert_uint_eq(conf.listeners[0].key.len, 0);
	ck_assert_uint_eq(conf.stamp_sessions, 4096);

	/* Every key set. */
	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	snprintf(body, sizeof(body),
		 "      authentication = \"hmac-sha256\";\n      key_file = \"%s\";\n"
		 "      stateful = true;\n      session_timeout = 86400;", key);
	load_ok(stamp_conf(body));
	ck_assert_int_eq(conf.listeners[0].stamp_auth, 1);
	ck_assert(conf.listeners[0].stateful);
	ck_assert_uint_eq(conf.listeners[0].session_timeout, 86400);
	assert_key32(&conf.listeners[0], false);

	/* "none" is the default said out loud; a stateful session may idle 1 s. */
	load_ok(stamp_conf("      authentication = \"none\"; stateful = false; session_timeout = 1;"));
	ck_assert_int_eq(conf.listeners[0].stamp_auth, 0);
	ck_assert(!conf.listeners[0].stateful);
	ck_assert_uint_eq(conf.listeners[0].session_timeout, 1);

	/* stamp_sessions, in the larsd group: 64 .. 1048576 */
	larsd_ok("  stamp_sessions = 64;\n");
	ck_assert_uint_eq(conf.stamp_sessions, 64);
	larsd_ok("  stamp_sessions = 1048576;\n");
	ck_assert_uint_eq(conf.stamp_sessions, 1048576);
	unlink(key);
}
END_TEST

START_TEST(test_stamp_key_errors)
{
	char key[4200], body[4400], words[4600];

	/* A key file others can read: the line of key_file, the path, the mode. */
	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0644);
	snprintf(body, sizeof(body),
		 "      authentication = \"hmac-sha256\";\n      key_file = \"%s\";", key);
	snprintf(words, sizeof(words),
		 "'key_file' %s: the key file is open to group or others (mode 0644): chmod 600 it",
		 key);
	load_err(stamp_conf(body), 5, words);
	ck_assert_int_eq(chmod(key, 0640), 0);
	load_err(stamp_conf(body), 5, "(mode 0640)");

	/* Readable by its owner only, but not a key. */
	ck_assert_int_eq(chmod(key, 0600), 0);
	FILE *f = fopen(key, "w");
	ck_assert_ptr_nonnull(f);
	fputs("0011223344556677889900112233445\n", f);
	fclose(f);
	load_err(stamp_conf(body), 5, "not 31 digits");
	unlink(key);

	/* Gone. */
	snprintf(words, sizeof(words), "'key_file' %s: cannot open the key file: No such file", key);
	load_err(stamp_conf(body), 5, words);

	/* hmac-sha256 needs a key file: the line of 'authentication'. */
	load_err(stamp_conf("      stateful = true;\n      authentication = \"hmac-sha256\";"), 5,
		 "authentication = \"hmac-sha256\" needs a key_file");
	/* and a key file needs hmac-sha256 */
	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	snprintf(body, sizeof(body), "      key_file = \"%s\";", key);
	load_err(stamp_conf(body), 4,
		 "'key_file' is read only with authentication = \"hmac-sha256\"");
	snprintf(body, sizeof(body), "      authentication = \"none\";\n      key_file = \"%s\";", key);
	load_err(stamp_conf(body), 5,
		 "'key_file' is read only with authentication = \"hmac-sha256\"");

	load_err(stamp_conf("      authentication = \"md5\";"), 4,
		 "'authentication' \"md5\" is unknown (use \"none\" or \"hmac-sha256\")");
	load_err(stamp_conf("      authentication = \"HMAC-SHA256\";"), 4, "is unknown");
	load_err(stamp_conf("      authentication = true;"), 4, "'authentication' must be a string");
	load_err(stamp_conf("      authentication = \"hmac-sha256\"; key_file = \"\";"), 4,
		 "'key_file' is empty");
	load_err(stamp_conf("      authentication = \"hmac-sha256\"; key_file = 7;"), 4,
		 "'key_file' must be a string");
	load_err(stamp_conf("      stateful = 1;"), 4, "'stateful' must be true or false");
	load_err(stamp_conf("\n      session_timeout = 0;"), 5,
		 "'session_timeout' is 0, out of range 1..86400");
	load_err(stamp_conf("      session_timeout = 86401;"), 4,
		 "'session_timeout' is 86401, out of range 1..86400");
	load_err(stamp_conf("      session_timeout = \"60\";"), 4,
		 "'session_timeout' must be an integer");
	larsd_err("  stamp_sessions = 63;\n", 2, "'stamp_sessions' is 63, out of range 64..1048576");
	larsd_err("  stamp_sessions = 1048577;\n", 2,
		  "'stamp_sessions' is 1048577, out of range 64..1048576");
	larsd_err("  stamp_sessions = 4294967360L;\n", 2, "out of range 64..1048576");

	/* The STAMP keys on a listener of another mode: the line of the key.
	 * (The key file is good, so that it is the mode that fails.) */
	static const char *const keys[] = {
		"stateful = true;", "session_timeout = 5;", "authentication = \"none\";",
		"authentication = \"hmac-sha256\";", NULL,
	};
	static const char *const modes[] = {
		"proto = \"udp\"; mode = \"echo\";", "proto = \"udp\";",
		"proto = \"tcp\"; mode = \"lars\";", "proto = \"tcp\";",
	};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			char text[8192], kv[4400], name[64];

			if (keys[k])
				snprintf(kv, sizeof(kv), "%s", keys[k]);
			else
				snprintf(kv, sizeof(kv), "key_file = \"%s\";", key);
			snprintf(name, sizeof(name), "'%.*s' is for mode = \"stamp\" only",
				 (int)strcspn(kv, " "), kv);
			snprintf(text, sizeof(text),
				 "larsd: {\n  listen = (\n"
				 "    { address = \"127.0.0.1\"; port = 7; %s\n"
				 "      %s }\n  );\n};\n", modes[m], kv);
			load_err(text, 4, name);
		}
	}
	unlink(key);
}
END_TEST

/* A relative key_file is one of systemd's credentials when
 * $CREDENTIALS_DIRECTORY is set (LoadCredential=), else it is next to the
 * configuration file, whatever the working directory. */
START_TEST(test_stamp_key_relative)
{
	char key[4200], body[4400], creds[4200], in_creds[4300], words[4600];
	const char *name;
	int cwd, rc;

	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	name = strrchr(key, '/') + 1;
	snprintf(body, sizeof(body),
		 "      authentication = \"hmac-sha256\";\n      key_file = \"%s\";", name);
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cwd, 0);
	ck_assert_int_eq(chdir("/"), 0);
	unsetenv("CREDENTIALS_DIRECTORY");
	rc = load(stamp_conf(body));
	ck_assert_msg(rc == 0, "%s", err);
	assert_key32(&conf.listeners[0], false);

	/* The same name among the credentials, holding another key. */
	snprintf(creds, sizeof(creds), "%s/test_conf.creds.XXXXXX", tmp_dir());
	ck_assert_ptr_nonnull(mkdtemp(creds));
	write_key(in_creds, sizeof(in_creds), creds, name, KEY_HEX2 "\n", 0600);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	rc = load(stamp_conf(body));
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_msg(rc == 0, "%s", err);
	assert_key32(&conf.listeners[0], true);

	/* An empty $CREDENTIALS_DIRECTORY is none. */
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	rc = load(stamp_conf(body));
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_msg(rc == 0, "%s", err);
	assert_key32(&conf.listeners[0], false);

	/* An absolute path is itself, credentials or not. */
	snprintf(body, sizeof(body),
		 "      authentication = \"hmac-sha256\";\n      key_file = \"%s\";", key);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	rc = load(stamp_conf(body));
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_msg(rc == 0, "%s", err);
	assert_key32(&conf.listeners[0], false);

	/* A credential that is not there: the error names where it looked. */
	unlink(in_creds);
	snprintf(body, sizeof(body),
		 "      authentication = \"hmac-sha256\";\n      key_file = \"%s\";", name);
	snprintf(words, sizeof(words), "'key_file' %s: cannot open the key file", in_creds);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	rc = load(stamp_conf(body));
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, words) != NULL, "error '%s' lacks '%s'", err, words);

	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	rmdir(creds);
	unlink(key);
}
END_TEST

/* ---- sessions = ( ... ) --------------------------------------------------- */

/* larsd with LISTEN1 on lines 1-5, then sessions from line 6. */
static void sessions_load(const char *body, int expect_ok, int line, const char *words)
{
	char text[8192];

	snprintf(text, sizeof(text), "larsd: {\n" LISTEN1 "};\nsessions = (\n%s);\n", body);
	if (expect_ok)
		load_ok(text);
	else
		load_err(text, line, words);
}

START_TEST(test_sessions)
{
	char key[4200], body[4800];

	/* None: no list, or an empty one. */
	larsd_ok("");
	ck_assert_uint_eq(conf.n_sessions, 0);
	ck_assert_ptr_null(conf.sessions);
	sessions_load("", 1, 0, NULL);
	ck_assert_uint_eq(conf.n_sessions, 0);

	/* The defaults. */
	sessions_load("  { name = \"b\"; peer = \"192.0.2.7\"; }\n", 1, 0, NULL);
	ck_assert_uint_eq(conf.n_sessions, 1);
	const struct conf_session *cs = &conf.sessions[0];
	ck_assert_str_eq(cs->name, "b");
	ck_assert_str_eq(cs->peer, "192.0.2.7");
	ck_assert_uint_eq(cs->port, 862);
	ck_assert(cs->rate == 1.0);
	ck_assert_uint_eq(cs->size, 44);
	ck_assert_uint_eq(cs->dscp, 0);
	ck_assert_uint_eq(cs->ssid, 0);
	ck_assert_uint_eq(cs->timeout_ms, 3000);
	ck_assert_int_eq(cs->stamp_auth, 0);
	ck_assert_int_eq(cs->line, 7);

	/* Every key, a fractional rate, IPv6, a name; authenticated: 112 bytes. */
	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	snprintf(body, sizeof(body),
		 "  { name = \"v6\"; peer = \"::1\"; port = 8620; rate = 0.5; size = 1472;\n"
		 "    dscp = 46; ssid = 65535; timeout = 0.25; },\n"
		 "  { name = \"by-name\"; peer = \"reflector-2.example.org\"; rate = 1000; },\n"
		 "  { name = \"auth\"; peer = \"127.0.0.1\"; authentication = \"hmac-sha256\";\n"
		 "    key_file = \"%s\"; }\n", key);
	sessions_load(body, 1, 0, NULL);
	ck_assert_uint_eq(conf.n_sessions, 3);
	cs = &conf.sessions[0];
	ck_assert_str_eq(cs->peer, "::1");
	ck_assert_uint_eq(cs->port, 8620);
	ck_assert(cs->rate == 0.5);
	ck_assert_uint_eq(cs->size, 1472);
	ck_assert_uint_eq(cs->dscp, 46);
	ck_assert_uint_eq(cs->ssid, 65535);
	ck_assert_uint_eq(cs->timeout_ms, 250);
	ck_assert_str_eq(conf.sessions[1].peer, "reflector-2.example.org");
	ck_assert(conf.sessions[1].rate == 1000.0);
	ck_assert_int_eq(conf.sessions[2].stamp_auth, 1);
	ck_assert_uint_eq(conf.sessions[2].size, 112);
	ck_assert_uint_eq(conf.sessions[2].key.len, 32);
	unlink(key);
	conf_release(&conf);
	ck_assert_ptr_null(conf.sessions);
}
END_TEST

START_TEST(test_session_errors)
{
	sessions_load("  { peer = \"192.0.2.7\"; }\n", 0, 7, "session without 'name'");
	sessions_load("  { name = \"b\"; }\n", 0, 7, "session without 'peer'");
	sessions_load("  { name = \"a b\"; peer = \"::1\"; }\n", 0, 7, "'name' \"a b\" holds a space");
	sessions_load("  { name = \"\"; peer = \"::1\"; }\n", 0, 7, "'name' must be 1 to 63 characters");
	sessions_load("  { name = \"b\"; peer = \"not an address\"; }\n", 0, 7,
		      "'peer' \"not an address\" is not an IPv4 or IPv6 address or a host name");
	sessions_load("  { name = \"b\"; peer = \"::1\"; rate = 0.0001; }\n", 0, 7,
		      "'rate' is 0.0001, out of range 0.001..1000");
	sessions_load("  { name = \"b\"; peer = \"::1\"; rate = \"fast\"; }\n", 0, 7,
		      "'rate' must be a number");
	sessions_load("  { name = \"b\"; peer = \"::1\";\n    size = 43; }\n", 0, 8,
		      "'size' is 43, out of range 44..9000");
	sessions_load("  { name = \"b\"; peer = \"::1\"; size = 9001; }\n", 0, 7,
		      "'size' is 9001, out of range 44..9000");
	sessions_load("  { name = \"b\"; peer = \"::1\"; dscp = 64; }\n", 0, 7,
		      "'dscp' is 64, out of range 0..63");
	sessions_load("  { name = \"b\"; peer = \"::1\"; port = 0; }\n", 0, 7,
		      "'port' is 0, out of range 1..65535");
	sessions_load("  { name = \"b\"; peer = \"::1\"; timeout = 61; }\n", 0, 7,
		      "'timeout' is 61, out of range 0.01..60");
	sessions_load("  { name = \"b\"; peer = \"::1\"; colour = 1; }\n", 0, 7,
		      "unknown key 'colour' in 'sessions'");
	sessions_load("  { name = \"b\"; peer = \"::1\"; authentication = \"hmac-sha256\"; }\n", 0, 7,
		      "authentication = \"hmac-sha256\" needs a key_file");
	char key[4200], body[4800];
	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	snprintf(body, sizeof(body), "  { name = \"b\"; peer = \"::1\"; key_file = \"%s\"; }\n", key);
	sessions_load(body, 0, 7, "'key_file' is read only with authentication");
	unlink(key);
	sessions_load("  { name = \"b\"; peer = \"::1\"; },\n  { name = \"c\"; peer = \"::1\"; },\n"
		      "  { name = \"b\"; peer = \"::2\"; }\n", 0, 9,
		      "duplicate session name \"b\": already at line 7");
	/* libconfig gives a scalar in a list no line: the list's, where it ends */
	sessions_load("  \"b\"\n", 0, 8, "'sessions' entries must be groups");
	load_err("larsd: {\n" LISTEN1 "};\nsessions = { name = \"b\"; };\n", 6,
		 "'sessions' must be a list");
	load_err("larsd: {\n" LISTEN1 "};\nsession = ( );\n", 6,
		 "unknown group 'session' at top level (expected 'larsd', 'bufpool' or 'sessions')");
}
END_TEST

START_TEST(test_session_auth_size)
{
	char key[4200], body[4800];

	write_key(key, sizeof(key), tmp_dir(), NULL, KEY_HEX "\n", 0600);
	snprintf(body, sizeof(body),
		 "  { name = \"b\"; peer = \"::1\"; authentication = \"hmac-sha256\";\n"
		 "    key_file = \"%s\";\n    size = 100; }\n", key);
	sessions_load(body, 0, 9, "'size' is 100, out of range 112..9000 for an authenticated session");
	unlink(key);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, test_shipped_config);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_source_rate);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_io_backends);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_pool_limits);
	tcase_add_test(tc, test_int_ranges);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_structure_errors);
	tcase_add_test(tc, test_listener_errors);
	tcase_add_test(tc, test_reuseport);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_blocked_ports);
	tcase_add_test(tc, test_control);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_stamp_keys);
	tcase_add_test(tc, test_stamp_key_errors);
	tcase_add_test(tc, test_stamp_key_relative);
	tcase_add_test(tc, test_sessions);
	tcase_add_test(tc, test_session_errors);
	tcase_add_test(tc, test_session_auth_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_main(conf_suite(), NULL);
}
