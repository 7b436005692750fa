/*
 * st_cpuwait.c - larsd notices when its workers wait for a CPU.
 *
 * Two workers pinned to one CPU that two busy loops also hold, and UDP
 * echo traffic from a client on another CPU: the workers are runnable
 * much of the time without running, and larsd must say so in its log
 * (src/larsd/cpuwait.c) within a window or two.  The same setup with one
 * worker must not: there is no worker to take away.
 */
#include "config.h"

#include "stress.h"
#include "stress_cases.h"

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CW_CLIENT_SOCKETS 32
#define CW_NOTICE "workers waited for a CPU"

static bool pin(pid_t tid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) == 0;
}

/* Pin every thread of a process to one CPU; the threads pinned. */
static unsigned pin_process(pid_t pid, int cpu)
{
	char path[64];
	unsigned n = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return 0;
	for (struct dirent *e; (e = readdir(dir));)
		if (e->d_name[0] != '.' && pin((pid_t)atol(e->d_name), cpu))
			n++;
	closedir(dir);
	return n;
}

static pid_t busy_loop_on(int cpu)
{
	pid_t pid = fork();
	if (pid == 0) {
		pin(0, cpu);
		alarm(60); /* whatever happens to the test */
		for (volatile unsigned long i = 0;; i++)
			;
	}
	return pid;
}

/* Closed-loop UDP echo on CW_CLIENT_SOCKETS sockets for ms; replies. */
static size_t udp_load(const struct lh_listen *l, unsigned ms)
{
	int fds[CW_CLIENT_SOCKETS];
	struct pollfd pfd[CW_CLIENT_SOCKETS];
	char msg[64] = "cpuwait", back[128];
	size_t replies = 0;

	for (int i = 0; i < CW_CLIENT_SOCKETS; i++) {
		fds[i] = lh_udp_socket(l->address, l->port, NULL, 0);
		ck_assert_int_ge(fds[i], 0);
		pfd[i] = (struct pollfd){fds[i], POLLIN, 0};
		ck_assert(send(fds[i], msg, sizeof(msg), 0) == (ssize_t)sizeof(msg));
	}
	for (uint64_t end = lh_now_ms() + ms; lh_now_ms() < end;) {
		if (poll(pfd, CW_CLIENT_SOCKETS, 100) <= 0) {
			for (int i = 0; i < CW_CLIENT_SOCKETS; i++) /* a loss: go on */
				send(fds[i], msg, sizeof(msg), 0);
			continue;
		}
		for (int i = 0; i < CW_CLIENT_SOCKETS; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (recv(fds[i], back, sizeof(back), MSG_DONTWAIT) == (ssize_t)sizeof(msg))
				replies++;
			send(fds[i], msg, sizeof(msg), 0);
		}
	}
	for (int i = 0; i < CW_CLIENT_SOCKETS; i++)
		close(fds[i]);
	return replies;
}

/* Run the crowded setup with this many workers; did larsd say it? */
static bool crowded(unsigned threads, size_t *replies)
{
	struct lh_daemon d;
	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = %u;\n  log_level = \"info\";\n",
		 threads);
	size_t l = lh_add(&d, "udp", "127.0.0.1", "echo", true);
	lh_start_ok(&d);
	ck_assert_uint_ge(pin_process(d.pid, 0), threads + 1);
	pid_t hogs[2] = {busy_loop_on(0), busy_loop_on(0)};
	ck_assert(hogs[0] > 0 && hogs[1] > 0);
	ck_assert(pin(0, 1)); /* the client: this thread, on the other CPU */
	*replies = udp_load(&d.ls[l], 8000);
	bool said = lh_wait_stderr(&d, CW_NOTICE, 100);
	for (int i = 0; i < 2; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
	}
	lh_stop_ok(&d);
	lh_cleanup(&d);
	return said;
}

START_TEST(test_cpuwait_notice)
{
	const char *sc = "cpuwait";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	ck_assert_msg(cpus >= 2, "this test needs 2 CPUs, %ld online", cpus);
	size_t r2, r1;
	bool two = crowded(2, &r2);
	bool one = crowded(1, &r1);
	st_figure(sc, "2 workers: notice=%s replies=%zu; 1 worker: notice=%s replies=%zu",
		  two ? "yes" : "no", r2, one ? "yes" : "no", r1);
	ck_assert_msg(r2 > 1000 && r1 > 1000, "too little traffic: %zu and %zu replies", r2, r1);
	ck_assert_msg(two, "2 workers crowded on one CPU: no \"" CW_NOTICE "\" in the log");
	ck_assert_msg(!one, "1 worker: \"" CW_NOTICE "\" logged, yet there is no worker to spare");
}
END_TEST

void stress_add_cpuwait(Suite *s)
{
	testutil_add(s, "cpuwait", test_cpuwait_notice, 60);
}
