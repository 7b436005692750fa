/*
 * larsd_harness.c - spawning larsd, its notify socket and its files (see
 * larsd_harness.h); the clients are in harness_sockets.c.
 *
 * The child between fork() and execve() only calls async-signal-safe
 * functions: the notify reader thread may hold a lock at the fork, so the
 * environment and every path are prepared in the parent.
 */
#include "config.h"

#include "larsd_harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LH_ROOT_ENV "LARSD_TEST_ROOT"

static char root_dir[PATH_MAX];
static unsigned notify_serial;

/* ---- time and files ---------------------------------------------------- */

uint64_t lh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void lh_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int lh_root_init(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(root_dir, sizeof(root_dir), "%s/larsd-e2e.XXXXXX", tmp);
	if (!mkdtemp(root_dir))
		return -1;
	return setenv(LH_ROOT_ENV, root_dir, 1);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void lh_root_remove(void)
{
	if (root_dir[0])
		nftw(root_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int lh_run_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (lh_root_init() < 0) {
		fprintf(stderr, "%s: temporary directory: %s\n", program_invocation_short_name,
			strerror(errno));
		return -1;
	}
	return 0;
}

const struct testutil_run lh_testutil_run = {lh_run_setup, lh_root_remove};

void lh_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

char *lh_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	if (f) {
		size_t n;
		while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
			len += n;
			if (cap - len < 2) {
				cap *= 2;
				buf = realloc(buf, cap);
				ck_assert_ptr_nonnull(buf);
			}
		}
		fclose(f);
	}
	buf[len] = '\0';
	return buf;
}

bool lh_stderr_has(struct lh_daemon *d, const char *text)
{
	char *all = lh_read_file(d->err_path);
	bool has = strstr(all, text) != NULL;

	free(all);
	return has;
}

int lh_stderr_count(struct lh_daemon *d, const char *text)
{
	char *all = lh_read_file(d->err_path);
	int n = 0;

	for (const char *at = all; (at = strstr(at, text)); at += strlen(text))
		n++;
	free(all);
	return n;
}

bool lh_wait_stderr(struct lh_daemon *d, const char *text, int timeout_ms)
{
	uint64_t end = lh_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		if (lh_stderr_has(d, text))
			return true;
		if (lh_now_ms() >= end)
			return false;
		lh_sleep_ms(10);
	}
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

const char *lh_pool_state(struct lh_daemon *d)
{
	static char text[320];

	snprintf(text, sizeof(text),
		 "connections=%lld pool_bytes_owned=%lld pool_bytes_in_use=%lld pool_bytes_ring=%lld "
		 "tcp_stalled_nomem=%lld tcp_closed_stuck=%lld tcp_closed_idle=%lld",
		 lh_stat(d, "connections"), lh_stat(d, "pool_bytes_owned"),
		 lh_stat(d, "pool_bytes_in_use"), lh_stat(d, "pool_bytes_ring"),
		 lh_stat(d, "tcp_stalled_nomem"), lh_stat(d, "tcp_closed_stuck"),
		 lh_stat(d, "tcp_closed_idle"));
	return text;
}

long long lh_stat(struct lh_daemon *d, const char *name)
{
	const char *end_mark = "stats: connections=";
	char *all = lh_read_file(d->err_path);
	size_t before = count_of(all, end_mark);
	uint64_t end = lh_now_ms() + 3000;
	char key[128];
	long long v = -1;

	free(all);
	if (kill(d->pid, SIGUSR1) < 0)
		return -1;
	for (;;) {
		all = lh_read_file(d->err_path);
		if (count_of(all, end_mark) > before)
			break;
		free(all);
		if (lh_now_ms() >= end)
			return -1;
		lh_sleep_ms(10);
	}
	snprintf(key, sizeof(key), " %s=", name);
	const char *last = NULL;
	for (const char *p = all; (p = strstr(p, key)) != NULL; p += strlen(key))
		last = p;
	if (last)
		v = strtoll(last + strlen(key), NULL, 10);
	free(all);
	return v;
}

long long lh_stat_reaching(struct lh_daemon *d, const char *name, long long want)
{
	long long v = lh_stat(d, name);

	for (uint64_t end = lh_now_ms() + 2000; v != want && lh_now_ms() < end;) {
		lh_sleep_ms(20);
		v = lh_stat(d, name);
	}
	return v;
}

long lh_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* ---- notify messages ------------------------------------------------------ */

static void *drain_notes(void *arg)
{
	struct lh_daemon *d = arg;
	char buf[4096];

	while (!atomic_load(&d->drainer_stop)) {
		struct pollfd p = {d->notify_fd, POLLIN, 0};
		if (poll(&p, 1, 20) <= 0)
			continue;
		for (;;) {
			ssize_t n = recv(d->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
			if (n < 0)
				break;
			buf[n] = '\0';
			pthread_mutex_lock(&d->lock);
			if (d->n_notes < LH_MAX_NOTES)
				d->notes[d->n_notes++] = strdup(buf);
			pthread_mutex_unlock(&d->lock);
		}
	}
	return NULL;
}

size_t lh_note_count(struct lh_daemon *d)
{
	pthread_mutex_lock(&d->lock);
	size_t n = d->n_notes;
	pthread_mutex_unlock(&d->lock);
	return n;
}

char *lh_note(struct lh_daemon *d, size_t i)
{
	char *copy = NULL;

	pthread_mutex_lock(&d->lock);
	if (i < d->n_notes && d->notes[i])
		copy = strdup(d->notes[i]);
	pthread_mutex_unlock(&d->lock);
	return copy;
}

static bool note_has(const char *msg, const char *key)
{
	size_t klen = strlen(key);
	bool prefix = klen > 0 && key[klen - 1] == '=';

	for (const char *line = msg; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (prefix ? len >= klen && strncmp(line, key, klen) == 0
			   : len == klen && strncmp(line, key, klen) == 0)
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static long find_note(struct lh_daemon *d, const char *key, const char *also,
		      const char *not, size_t from)
{
	long found = -1;

	pthread_mutex_lock(&d->lock);
	for (size_t i = from; i < d->n_notes && found < 0; i++) {
		const char *m = d->notes[i];
		if (m && note_has(m, key) && (!also || strstr(m, also)) &&
		    (!not || !strstr(m, not)))
			found = (long)i;
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

long lh_wait_note_with(struct lh_daemon *d, const char *key, const char *also,
		       const char *not, size_t from, int timeout_ms)
{
	uint64_t end = lh_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		long i = find_note(d, key, also, not, from);
		if (i >= 0)
			return i;
		if (lh_now_ms() >= end)
			return -1;
		if (!lh_alive(d)) { /* what it sent before exiting may still be queued */
			lh_sleep_ms(50);
			return find_note(d, key, also, not, from);
		}
		lh_sleep_ms(5);
	}
}

long lh_wait_note(struct lh_daemon *d, const char *key, size_t from, int timeout_ms)
{
	return lh_wait_note_with(d, key, NULL, NULL, from, timeout_ms);
}

/* ---- the daemon --------------------------------------------------------------- */

void lh_init(struct lh_daemon *d)
{
	const char *root = getenv(LH_ROOT_ENV);
	struct sockaddr_un sun;
	socklen_t len;
	int big = 1 << 20;

	memset(d, 0, sizeof(*d));
	d->notify_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	snprintf(d->settings, sizeof(d->settings), "  threads = 2;\n");
	snprintf(d->bufpool, sizeof(d->bufpool), "mem_limit = \"8M\";");

	snprintf(d->dir, sizeof(d->dir), "%s/d.XXXXXX", root && *root ? root : "/tmp");
	ck_assert_msg(mkdtemp(d->dir) != NULL, "mkdtemp %s: %s", d->dir, strerror(errno));
	snprintf(d->conf_path, sizeof(d->conf_path), "%s/larsd.conf", d->dir);
	snprintf(d->err_path, sizeof(d->err_path), "%s/stderr", d->dir);
	snprintf(d->out_path, sizeof(d->out_path), "%s/stdout", d->dir);

	/* Abstract name: no file to clean up, unique per test process. */
	snprintf(d->notify_name, sizeof(d->notify_name), "@larsd-test-%ld-%u", (long)getpid(),
		 notify_serial++);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, d->notify_name + 1, strlen(d->notify_name) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(d->notify_name));
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(d->notify_fd, 0);
	setsockopt(d->notify_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	ck_assert_msg(bind(d->notify_fd, (struct sockaddr *)&sun, len) == 0,
		      "bind %s: %s", d->notify_name, strerror(errno));
	ck_assert_int_eq(pthread_create(&d->drainer, NULL, drain_notes, d), 0);
	d->drainer_started = true;
}

size_t lh_add(struct lh_daemon *d, const char *proto, const char *address,
	      const char *mode, bool activated)
{
	struct lh_listen *l;

	ck_assert_uint_lt(d->n_ls, LH_MAX_LISTEN);
	l = &d->ls[d->n_ls];
	l->proto = proto;
	l->address = address;
	l->mode = mode;
	l->keys = NULL;
	l->activated = activated;
	l->fd = -1;
	if (activated) {
		l->fd = lh_bind(proto, address, 0, &l->port);
		ck_assert_msg(l->fd >= 0, "bind %s %s: %s", proto, address, strerror(errno));
	} else {
		l->port = lh_free_port(proto, address);
	}
	return d->n_ls++;
}

void lh_write_conf(struct lh_daemon *d)
{
	FILE *f = fopen(d->conf_path, "w");

	ck_assert_msg(f != NULL, "cannot write %s: %s", d->conf_path, strerror(errno));
	/* The default control socket, /run/larsd/control, is the host's: a
	 * larsd running there, or test daemons running side by side, would
	 * collide on it.  Each daemon gets its own unless the test sets one,
	 * on the first line so that the line numbers of the rest stay. */
	fprintf(f, "larsd: {");
	/* make check runs twice in tests/run-all: on the default io_backend
	 * and with LARSD_TEST_IO_BACKEND=epoll, so both data paths pass. */
	const char *io = getenv("LARSD_TEST_IO_BACKEND");
	if (io && *io && !strstr(d->settings, "io_backend"))
		fprintf(f, " io_backend = \"%s\";", io);
	if (!strstr(d->settings, "control")) {
		char path[sizeof(d->dir) + 16];
		int n = snprintf(path, sizeof(path), "%s/control", d->dir);
		fprintf(f, " control = \"%s\";", n > 0 && n < 108 ? path : "");
	}
	fprintf(f, "\n%s  listen = (\n", d->settings);
	size_t last = d->n_ls;
	for (size_t i = 0; i < d->n_ls; i++)
		if (!d->ls[i].hidden)
			last = i;
	for (size_t i = 0; i < d->n_ls; i++)
		if (!d->ls[i].hidden)
			fprintf(f, "    { proto = \"%s\"; address = \"%s\"; port = %u; mode = \"%s\"; %s%s}%s\n",
				d->ls[i].proto, d->ls[i].address, (unsigned)d->ls[i].port,
				d->ls[i].mode, d->ls[i].keys ? d->ls[i].keys : "",
				d->ls[i].keys && *d->ls[i].keys ? " " : "", i < last ? "," : "");
	fprintf(f, "  );\n};\nbufpool: { %s };\n%s", d->bufpool, d->top);
	ck_assert_int_eq(fclose(f), 0);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Is this variable one we set (or must not pass on)? */
static bool env_ours(const char *e)
{
	static const char *const names[] = {
		"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
		"WATCHDOG_USEC=", "WATCHDOG_PID=",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* Does the test give variable e a value of its own (d->env)? */
static bool env_given(const struct lh_daemon *d, const char *e)
{
	size_t len = strcspn(e, "=");

	for (size_t i = 0; i < LH_MAX_ENV && d->env[i]; i++)
		if (strncmp(e, d->env[i], len + 1) == 0)
			return true;
	return false;
}

/* Write n as decimal at p (async-signal-safe); p has room for 21 bytes. */
static void put_decimal(char *p, long n)
{
	char tmp[21];
	int k = 0;

	do {
		tmp[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && k < 20);
	while (k > 0)
		*p++ = tmp[--k];
	*p = '\0';
}

/* In the child: io_uring_setup() fails with EPERM from now on (above 0),
 * or with ENOMEM for rings of more than `above` entries (the other
 * io_uring calls need its descriptor).  False if the filter is refused. */
static bool deny_io_uring(unsigned above)
{
	struct sock_filter all[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter larger[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 3),
		/* the low half of the first argument, the entries (x86-64) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, above, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(all) / sizeof(all[0]), .filter = all};

	if (above > 0)
		prog = (struct sock_fprog){.len = sizeof(larger) / sizeof(larger[0]), .filter = larger};
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

void lh_spawn(struct lh_daemon *d, bool pass_fds, const char *const *args)
{
	const char *argv[16];
	size_t n_env = 0, argc = 0;
	char **envp;
	char notify_env[160], fds_env[32], pid_env[48], watchdog_env[48];
	int pass[LH_MAX_LISTEN], n_pass = 0;
	pid_t parent = getpid();

	const char *binary = getenv("LARSD_TEST_PATH");
	argv[argc++] = binary && *binary ? binary : LARSD_PATH;
	for (size_t i = 0; args[i] && argc < 15; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	if (pass_fds)
		for (size_t i = 0; i < d->n_ls; i++)
			if (d->ls[i].activated && d->ls[i].fd >= 0)
				pass[n_pass++] = d->ls[i].fd;

	while (environ[n_env])
		n_env++;
	envp = calloc(n_env + 5 + LH_MAX_ENV, sizeof(*envp));
	ck_assert_ptr_nonnull(envp);
	n_env = 0;
	for (char **e = environ; *e; e++)
		if (!env_ours(*e) && !env_given(d, *e))
			envp[n_env++] = *e;
	for (size_t i = 0; i < LH_MAX_ENV && d->env[i]; i++)
		envp[n_env++] = (char *)d->env[i];
	snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", d->notify_name);
	envp[n_env++] = notify_env;
	if (d->watchdog_usec) {
		snprintf(watchdog_env, sizeof(watchdog_env), "WATCHDOG_USEC=%s",
			 d->watchdog_usec);
		envp[n_env++] = watchdog_env;
	}
	if (n_pass > 0) {
		snprintf(fds_env, sizeof(fds_env), "LISTEN_FDS=%d", n_pass);
		strcpy(pid_env, "LISTEN_PID=");
		envp[n_env++] = fds_env;
		envp[n_env++] = pid_env; /* the number is filled in by the child */
	}
	envp[n_env] = NULL;

	int out = open(d->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int err = open(d->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert(out >= 0 && err >= 0 && null >= 0);

	d->reaped = false;
	d->status = 0;
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int moved[LH_MAX_LISTEN];

		/* Die with the test, even when it fails or times out. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		/* Out of the way of 3.. first, then into place. */
		for (int i = 0; i < n_pass; i++)
			if ((moved[i] = fcntl(pass[i], F_DUPFD_CLOEXEC, 64)) < 0)
				_exit(127);
		for (int i = 0; i < n_pass; i++)
			if (dup2(moved[i], 3 + i) < 0)
				_exit(127);
		close_range((unsigned)(3 + n_pass), ~0U, 0);
		if (n_pass > 0)
			put_decimal(pid_env + strlen("LISTEN_PID="), (long)getpid());
		if ((d->deny_io_uring || d->deny_io_uring_above) &&
		    !deny_io_uring(d->deny_io_uring ? 0 : d->deny_io_uring_above))
			_exit(126);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	close(out);
	close(err);
	close(null);
	free(envp);
}

bool lh_alive(struct lh_daemon *d)
{
	int st;

	if (d->pid <= 0 || d->reaped)
		return false;
	pid_t r = waitpid(d->pid, &st, WNOHANG);
	if (r == d->pid || (r < 0 && errno == ECHILD)) {
		d->reaped = true;
		d->status = r == d->pid ? st : 0;
		return false;
	}
	return true;
}

int lh_wait_exit(struct lh_daemon *d, int timeout_ms)
{
	uint64_t end = lh_now_ms() + (uint64_t)timeout_ms;

	while (lh_alive(d)) {
		if (lh_now_ms() >= end)
			return -1;
		lh_sleep_ms(5);
	}
	return d->pid > 0 ? exit_code(d->status) : -1;
}

int lh_stop(struct lh_daemon *d, int timeout_ms)
{
	if (!lh_alive(d))
		return d->pid > 0 ? exit_code(d->status) : -1;
	kill(d->pid, SIGTERM);
	int code = lh_wait_exit(d, timeout_ms);
	if (code >= 0)
		return code;
	kill(d->pid, SIGKILL);
	lh_wait_exit(d, 5000);
	return -1;
}

int lh_run(struct lh_daemon *d, const char *const *args, int timeout_ms)
{
	lh_spawn(d, false, args);
	int code = lh_wait_exit(d, timeout_ms);
	if (code < 0) {
		kill(d->pid, SIGKILL);
		lh_wait_exit(d, 5000);
	}
	return code;
}

bool lh_start(struct lh_daemon *d)
{
	const char *args[] = {"-c", d->conf_path, NULL};

	for (int attempt = 0; attempt < 2; attempt++) {
		size_t from = lh_note_count(d);
		bool retry_ports = false;

		lh_write_conf(d);
		lh_spawn(d, true, args);
		if (lh_wait_note(d, "READY=1", from, LH_READY_MS) >= 0)
			return true;
		if (lh_alive(d))
			return false; /* no READY in time: the caller stops it */
		/* The tiny race of a port found free, then taken: once more. */
		for (size_t i = 0; i < d->n_ls; i++)
			retry_ports = retry_ports || !d->ls[i].activated;
		if (attempt > 0 || !retry_ports || !lh_stderr_has(d, "Address already in use"))
			return false;
		for (size_t i = 0; i < d->n_ls; i++)
			if (!d->ls[i].activated)
				d->ls[i].port = lh_free_port(d->ls[i].proto, d->ls[i].address);
		int rc = truncate(d->err_path, 0);
		(void)rc; /* only the retry's own messages matter */
	}
	return false;
}

void lh_start_ok(struct lh_daemon *d)
{
	if (!lh_start(d)) {
		char *err = lh_read_file(d->err_path);
		int code = d->reaped ? lh_wait_exit(d, 0) : -1;
		ck_abort_msg("larsd did not become ready (exit code %d); stderr:\n%s", code, err);
	}
}

void lh_stop_ok(struct lh_daemon *d)
{
	int code = lh_stop(d, LH_STOP_MS);
	if (code != 0) {
		char *err = lh_read_file(d->err_path);
		size_t len = strlen(err);
		ck_abort_msg("larsd stopped with %d (-1: had to be killed); end of stderr:\n%s",
			     code, len > 2000 ? err + len - 2000 : err);
	}
}

void lh_cleanup(struct lh_daemon *d)
{
	if (lh_alive(d)) {
		kill(d->pid, SIGKILL);
		lh_wait_exit(d, 5000);
	}
	if (d->drainer_started) {
		atomic_store(&d->drainer_stop, true);
		pthread_join(d->drainer, NULL);
		d->drainer_started = false;
	}
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
	for (size_t i = 0; i < d->n_ls; i++)
		if (d->ls[i].fd >= 0) {
			close(d->ls[i].fd);
			d->ls[i].fd = -1;
		}
	for (size_t i = 0; i < d->n_notes; i++)
		free(d->notes[i]);
	d->n_notes = 0;
	pthread_mutex_destroy(&d->lock);
	if (d->dir[0]) {
		unlink(d->conf_path);
		unlink(d->err_path);
		unlink(d->out_path);
		rmdir(d->dir);
	}
}
