/*
 * harness_exec.c - run one of the project's programs (larsd-bench,
 * larsctl) from a Check test, capturing its output (see larsd_harness.h).
 */
#include "config.h"

#include "larsd_harness.h"

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void append(char *buf, size_t *len, int fd, bool *open)
{
	ssize_t n = read(fd, buf + *len, LH_EXEC_OUT_MAX - 1 - *len);

	if (n <= 0) {
		*open = false;
		return;
	}
	*len += (size_t)n;
	buf[*len] = '\0';
	if (*len == LH_EXEC_OUT_MAX - 1)
		*open = false;
}

void lh_exec(struct lh_exec *r, const char *binary, const char *const *args, int timeout_ms)
{
	const char *argv[40];
	size_t argc = 0, n_out = 0, n_err = 0;
	int out[2], err[2];
	pid_t parent = getpid();
	uint64_t start = lh_now_ms();

	memset(r, 0, sizeof(*r));
	argv[argc++] = binary;
	for (size_t i = 0; args[i]; i++) {
		ck_assert_uint_lt(argc, 39);
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	bool out_open = true, err_open = true;
	uint64_t deadline = start + (uint64_t)timeout_ms;
	while ((out_open || err_open) && lh_now_ms() < deadline) {
		struct pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0},
				      {err_open ? err[0] : -1, POLLIN, 0}};
		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[0].revents)
			append(r->out, &n_out, out[0], &out_open);
		if (p[1].revents)
			append(r->err, &n_err, err[0], &err_open);
	}
	close(out[0]);
	close(err[0]);

	int st = 0;
	r->code = -1;
	while (lh_now_ms() < deadline) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		lh_sleep_ms(2);
	}
	if (r->code == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	r->ms = lh_now_ms() - start;
}
