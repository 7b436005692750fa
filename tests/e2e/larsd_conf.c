/*
 * larsd_conf.c - larsd end to end: the configuration and the command line.
 *
 * `larsd -t` with bad and good configs, every error as FILE:LINE; start-up
 * errors (a bad config, a port in use) and the exit status they give.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- configuration errors -------------------------------------------------- */

#define L4 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 7777; }\n"

static const struct bad_conf {
	const char *text;
	int line;
	const char *words;
} bad_confs[] = {
	{"larsd: {\n  threads = ;\n  listen = (\n" L4 "  );\n};\n", 2, "syntax error"},
	{"larsd: {\n  threads = 2;\n  colour = \"blue\";\n  listen = (\n" L4 "  );\n};\n", 3,
	 "unknown key 'colour'"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 0; }\n  );\n};\n",
	 4, "'port' is 0"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"udp\"; address = \"127.0.0.256\"; port = 7; }\n  );\n};\n",
	 4, "127.0.0.256"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"tcp\"; address = \"::1\"; port = 7777; },\n"
	 "    { proto = \"tcp\"; address = \"::1\"; port = 7777; }\n  );\n};\n",
	 5, "duplicate listener"},
	{"larsd: {\n  threads = 0;\n  listen = (\n" L4 "  );\n};\n", 2, "'threads' is 0"},
	{"larsd: {\n  threads = 2;\n  listen = (\n" L4 "  );\n};\n"
	 "bufpool: {\n  mem_limit = \"32K\";\n};\n",
	 8, "too small"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"sctp\"; address = \"127.0.0.1\"; port = 7777; }\n  );\n};\n",
	 4, "'proto' \"sctp\""},
	{"larsd: {\n  allow = [ \"10.0.0.0/33\" ];\n  listen = (\n" L4 "  );\n};\n", 2,
	 "10.0.0.0/33"},
	{"larsd: {\n  threads = 2;\n  listen = (\n"
	 "    { proto = \"tcp\"; address = \"127.0.0.1\"; port = 862;\n"
	 "      mode = \"stamp\"; }\n  );\n};\n",
	 5, "'mode' \"stamp\" needs proto = \"udp\""},
	{"larsd: {\n  udp_source_rate = -1;\n  listen = (\n" L4 "  );\n};\n", 2,
	 "'udp_source_rate' is -1, out of range 0..10000000"},
};

/* larsd -t: each bad config fails with "FILE:LINE: message" at the right
 * line; nothing on stdout. */
START_TEST(test_check_bad_configs)
{
	struct lh_daemon d;
	const char *args[] = {"-t", "-c", NULL, NULL};
	char prefix[PATH_MAX + 32];

	lh_init(&d);
	args[2] = d.conf_path;
	for (size_t i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
		unlink(d.err_path);
		unlink(d.out_path);
		lh_write_file(d.conf_path, bad_confs[i].text);
		int code = lh_run(&d, args, 5000);
		char *err = lh_read_file(d.err_path), *out = lh_read_file(d.out_path);
		snprintf(prefix, sizeof(prefix), "%s:%d: ", d.conf_path, bad_confs[i].line);
		ck_assert_msg(code > 0 && code < 128, "case %zu: exit code %d", i, code);
		ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
			      "case %zu: expected \"%s...\", got \"%s\"", i, prefix, err);
		ck_assert_msg(strstr(err, bad_confs[i].words) != NULL,
			      "case %zu: expected \"%s\" in \"%s\"", i, bad_confs[i].words, err);
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
			      "case %zu: not one line: \"%s\"", i, err);
		ck_assert_msg(out[0] == '\0', "case %zu: stdout \"%s\"", i, out);
		free(err);
		free(out);
	}
	lh_cleanup(&d);
}
END_TEST

/* larsd -t: a good config says OK and exits 0; a missing file and a bad
 * option fail. */
START_TEST(test_check_good_and_missing)
{
	struct lh_daemon d;
	const char *args[] = {"-t", "-c", NULL, NULL};
	const char *bad_opt[] = {"-x", NULL};
	char expect[PATH_MAX + 64], missing[PATH_MAX + 16];

	lh_init(&d);
	lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	lh_add(&d, "udp", "127.0.0.1", "lars", false);
	lh_write_conf(&d);
	args[2] = d.conf_path;
	ck_assert_int_eq(lh_run(&d, args, 5000), 0);
	char *out = lh_read_file(d.out_path);
	snprintf(expect, sizeof(expect), "%s: configuration OK\n", d.conf_path);
	ck_assert_str_eq(out, expect);
	free(out);

	snprintf(missing, sizeof(missing), "%s/nope.conf", d.dir);
	args[2] = missing;
	unlink(d.err_path);
	int code = lh_run(&d, args, 5000);
	char *err = lh_read_file(d.err_path);
	snprintf(expect, sizeof(expect), "%s: cannot open", missing);
	ck_assert_msg(code > 0 && code < 128, "missing file: exit code %d", code);
	ck_assert_msg(strncmp(err, expect, strlen(expect)) == 0, "missing file: \"%s\"", err);
	free(err);

	ck_assert_int_eq(lh_run(&d, bad_opt, 5000), 2);

	const char *version[] = {"-V", NULL}, *help[] = {"-h", NULL};
	unlink(d.out_path);
	ck_assert_int_eq(lh_run(&d, version, 5000), 0);
	out = lh_read_file(d.out_path);
	ck_assert_msg(strncmp(out, "larsd ", 6) == 0, "-V printed \"%s\"", out);
	free(out);
	unlink(d.out_path);
	ck_assert_int_eq(lh_run(&d, help, 5000), 0);
	out = lh_read_file(d.out_path);
	ck_assert_msg(strstr(out, "usage: larsd") != NULL, "-h printed \"%s\"", out);
	free(out);
	lh_cleanup(&d);
}
END_TEST

/* Starting on a bad config: non-zero exit, FILE:LINE on stderr, no READY. */
START_TEST(test_start_bad_config)
{
	struct lh_daemon d;
	const char *args[] = {"-c", NULL, NULL};
	char prefix[PATH_MAX + 16];

	lh_init(&d);
	args[1] = d.conf_path;
	lh_write_file(d.conf_path, bad_confs[1].text);
	lh_spawn(&d, false, args);
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(prefix, sizeof(prefix), "%s:3: ", d.conf_path);
	ck_assert_msg(lh_stderr_has(&d, prefix), "no \"%s\" on stderr", prefix);
	lh_cleanup(&d);
}
END_TEST

/* A port already in use: non-zero exit naming address:port, no READY. */
START_TEST(test_start_port_in_use)
{
	struct lh_daemon d;
	const char *args[] = {"-c", NULL, NULL};
	char name[128];
	uint16_t port;

	/* TCP on 127.0.0.1, after a listener that binds fine. */
	lh_init(&d);
	args[1] = d.conf_path;
	int busy = lh_bind("tcp", "127.0.0.1", 0, &port);
	ck_assert_int_ge(busy, 0);
	lh_add(&d, "udp", "127.0.0.1", "echo", false);
	size_t l = lh_add(&d, "tcp", "127.0.0.1", "echo", false);
	d.ls[l].port = port;
	lh_write_conf(&d);
	lh_spawn(&d, false, args);
	int code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(name, sizeof(name), "127.0.0.1:%u", (unsigned)port);
	ck_assert_msg(lh_stderr_has(&d, name), "stderr does not name %s", name);
	ck_assert(lh_stderr_has(&d, "Address already in use"));
	close(busy);
	lh_cleanup(&d);

	/* UDP on ::1. */
	if (!lt_have_v6())
		return;
	lh_init(&d);
	args[1] = d.conf_path;
	busy = lh_bind("udp", "::1", 0, &port);
	ck_assert_int_ge(busy, 0);
	l = lh_add(&d, "udp", "::1", "lars", false);
	d.ls[l].port = port;
	lh_write_conf(&d);
	lh_spawn(&d, false, args);
	code = lh_wait_exit(&d, 5000);
	ck_assert_msg(code > 0 && code < 128, "exit code %d", code);
	ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
	snprintf(name, sizeof(name), "[::1]:%u", (unsigned)port);
	ck_assert_msg(lh_stderr_has(&d, name), "stderr does not name %s", name);
	close(busy);
	lh_cleanup(&d);
}
END_TEST

/* ---- the cases of this file ---------------------------------------------- */

void lt_add_conf(Suite *s)
{
	testutil_add(s, "check_bad", test_check_bad_configs, 20);
	testutil_add(s, "check_good", test_check_good_and_missing, 10);
	testutil_add(s, "start_bad", test_start_bad_config, 10);
	testutil_add(s, "port_in_use", test_start_port_in_use, 10);
}
