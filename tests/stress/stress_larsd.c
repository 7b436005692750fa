/*
 * stress_larsd.c - fault and load tests of larsd: the Check suite.
 *
 * Each case starts its own larsd on loopback (tests/harness/larsd_harness.c,
 * the same harness as tests/e2e/test_larsd.c), pushes it past one of its
 * limits or feeds it hostile input, prints what it measured as TAP
 * comments ("# case: key=value ..."), and fails with the reason and the
 * daemon's counters.  Bounded: every case has a timeout of its own and
 * every wait in it is bounded.
 *
 * Not part of `make check` (too heavy for a package build): `make
 * check-stress` or tests/stress/run.  One case: CK_RUN_CASE=name.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void stress_netns_names(char *srv, char *cli, size_t len)
{
	/* The forked test process and main() agree on the run's pid. */
	const char *run = getenv("LARSD_STRESS_RUN");
	snprintf(srv, len, "lars-stress-%s-srv", run ? run : "0");
	snprintf(cli, len, "lars-stress-%s-cli", run ? run : "0");
}

static void netns_cleanup(void)
{
	char srv[64], cli[64], cmd[256];

	stress_netns_names(srv, cli, sizeof(srv));
	snprintf(cmd, sizeof(cmd),
		 "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", srv, cli);
	if (access("/run/netns", F_OK) == 0 && system(cmd) != 0)
		fprintf(stderr, "stress: could not remove network namespaces %s %s\n", srv, cli);
}

/* Before the run: stdout line-buffered (the figures are TAP comments), a
 * pid for the run's names, the descriptor limit raised, then the
 * harness's own setup. */
static int stress_setup(void)
{
	char run[32];

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(run, sizeof(run), "%ld", (long)getpid());
	setenv("LARSD_STRESS_RUN", run, 1);
	long nofile = st_raise_nofile();
	printf("# stress: RLIMIT_NOFILE=%ld (raised to the hard limit; larsd inherits it)\n",
	       nofile);
	return lh_run_setup();
}

static void stress_teardown(void)
{
	netns_cleanup();
	lh_root_remove();
}

static Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");

	stress_add_memory(s);
	stress_add_flood(s);
	stress_add_malformed(s);
	stress_add_signals(s);
	stress_add_guard(s);
	stress_add_cpuwait(s);
	stress_add_control(s);
	stress_add_ratelimit(s);
	return s;
}

int main(void)
{
	static const struct testutil_run run = {stress_setup, stress_teardown};

	return testutil_main(stress_suite(), &run);
}
