/*
 * control.c - the main thread's loop: signals, reloads, status, watchdog.
 *
 * Signals arrive through a signalfd (they are blocked in every thread), a
 * timerfd ticks the STATUS= line and the watchdog.  SIGHUP loads the
 * configuration anew and swaps it in only if it is valid; SIGTERM and
 * SIGINT stop the workers, which flush within shutdown_timeout_ms.
 * The control socket's listener and clients (ctlsock.c) share the poll;
 * its "reload" command runs the same reload as SIGHUP.
 */
#include "config.h"

#include "control.h"
#include "clock.h"
#include "cpuwait.h"
#include "ctlsock.h"
#include "log.h"
#include "notify.h"
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define WORKER_HANG_MS 10000

static struct log_limit hang_limit = LOG_LIMIT_INIT(10000);

struct control {
	struct daemon *d;
	int sigfd;
	int timerfd;
	uint64_t watchdog_ms;    /* send WATCHDOG=1 this often; 0: never */
	uint64_t next_status_ms;
	uint64_t last_replies;
	uint64_t last_ms;
	struct cpuwait cpuwait;
	struct ctlsock *ctlsock;
	struct ctl_state state;  /* what the control socket's commands read */
};

int control_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	return pthread_sigmask(SIG_BLOCK, set, NULL) == 0 ? 0 : -1;
}

static void control_status(struct control *ctl)
{
	struct stats s;
	char line[160];

	daemon_stats(ctl->d, &s);
	uint64_t now = clock_ms(), replies = daemon_replies(&s);
	double secs = (double)(now - ctl->last_ms) / 1000.0;
	double rate = secs > 0 ? (double)(replies - ctl->last_replies) / secs : 0;
	ctl->last_ms = now;
	ctl->last_replies = replies;
	daemon_status_line(ctl->d, rate, line, sizeof(line));
	notify_status(line);
}

/* Load the configuration anew and swap it in if it is valid.  0, or -1
 * with the one-line reason in err (also logged). */
static int control_reload(struct control *ctl, char *err, size_t errlen)
{
	struct daemon *d = ctl->d;
	struct conf *c = malloc(sizeof(*c));
	struct listener *set[CONF_MAX_LISTENERS];
	size_t n;
	int rc = -1;

	notify_reloading();
	if (!c) {
		snprintf(err, errlen, "reload: out of memory");
	} else if (conf_load(d->conf.path, c, err, errlen) < 0) {
		/* err is already "FILE:LINE: message" */
	} else if (daemon_plan_listeners(d, c, set, &n, err, errlen) < 0) {
		/* err names the listener */
	} else {
		if (c->threads != d->n_workers)
			log_notice("reload: threads = %u takes effect at the next start",
				   c->threads);
		if (c->stamp_sessions != d->stamp_sessions_max)
			log_notice("reload: stamp_sessions = %u takes effect at the next start",
				   c->stamp_sessions);
		/* Against what runs, not against the last reload's file. */
		if (c->io_backend != d->io_backend)
			log_notice("reload: io_backend = \"%s\" takes effect at the next start "
				   "(running on %s)", conf_io_name(c->io_backend),
				   d->io_uring ? "io_uring" : "epoll");
		if (strcmp(c->control, ctl->ctlsock->path) != 0)
			log_notice("reload: control = \"%s\" takes effect at the next start",
				   c->control);
		log_set_level(c->log_level);
		bufpool_set_mem_limit(d->pool, c->mem_limit);
		daemon_measure(d, c); /* a thread that cannot start is logged */
		daemon_publish(d, c, set, n);
		log_info("reloaded %s: %zu listeners", c->path, n);
		rc = 0;
	}
	if (rc < 0)
		log_err("%s; keeping the running configuration", err);
	if (c)
		conf_release(c);
	free(c);
	if (rc == 0)
		ctl->state.reloads_ok++;
	else
		ctl->state.reloads_failed++;
	char line[160];
	daemon_status_line(d, 0, line, sizeof(line));
	notify_ready(line);
	return rc;
}

static int control_reload_cmd(void *arg, char *err, size_t errlen)
{
	return control_reload(arg, err, errlen);
}

/* SIGUSR1: the reply of the control socket's "stats", a log line per STAT
 * line, then a summary line (its "stats: connections=" ends the report). */
static void control_log_stats(struct control *ctl)
{
	struct ctl_out out = {.max = 1u << 20};
	struct bufpool_stats ps;

	ctl_run(&ctl->state, CTL_STATS, &out);
	for (char *line = out.buf, *end = out.buf + out.len; line && line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		*nl = '\0';
		char *value = strncmp(line, "STAT ", 5) == 0 ? strchr(line + 5, ' ') : NULL;
		if (value) {
			*value++ = '\0';
			log_always(LOG_NOTICE, "stats: %s=%s", line + 5, value);
		}
		line = nl + 1;
	}
	free(out.buf);
	bufpool_stats(ctl->d->pool, &ps);
	log_always(LOG_NOTICE, "stats: connections=%u pool_bytes_owned=%zu pool_bytes_in_use=%zu "
		 "mem_limit=%zu pool_failures=%llu workers_cpu_wait_pct=%u",
		 atomic_load(&ctl->d->connections), ps.bytes_owned, ps.bytes_in_use,
		 ps.mem_limit, (unsigned long long)ps.failures, ctl->cpuwait.last_wait_pct);
}

/* One signal.  Returns false when it is time to stop. */
static bool control_signal(struct control *ctl)
{
	struct signalfd_siginfo si;

	if (read(ctl->sigfd, &si, sizeof(si)) != sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGHUP: {
		char err[CONF_ERR_MAX];
		control_reload(ctl, err, sizeof(err));
		return true;
	}
	case SIGUSR1:
		control_log_stats(ctl);
		return true;
	default:
		log_info("signal %u: stopping", si.ssi_signo);
		return false;
	}
}

static void control_tick(struct control *ctl)
{
	uint64_t expirations;
	ssize_t r = read(ctl->timerfd, &expirations, sizeof(expirations));
	(void)r;
	uint64_t now = clock_ms();
	/* Pet the watchdog only while every worker loop still turns: a worker
	 * wakes at least once a second, so 10 s of silence is a hang. */
	if (ctl->watchdog_ms) {
		if (workers_alive(ctl->d, now, WORKER_HANG_MS))
			notify_watchdog();
		else
			log_limited(&hang_limit, LOG_ERR, "a worker loop is stuck: "
				    "withholding the watchdog keep-alive");
	}
	if (now >= ctl->next_status_ms) {
		control_status(ctl);
		cpuwait_tick(&ctl->cpuwait, ctl->d, now);
		ctl->next_status_ms = now + 1000;
	}
	ctlsock_tick(ctl->ctlsock, now);
}

static int control_setup(struct control *ctl, struct daemon *d, const sigset_t *set,
			 struct ctlsock *cs)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->d = d;
	ctl->ctlsock = cs;
	ctl->state.d = d;
	ctl->state.start_ms = clock_ms();
	ctl->state.reload = control_reload_cmd;
	ctl->state.reload_arg = ctl;
	cs->state = &ctl->state;
	ctl->last_ms = clock_ms();
	ctl->watchdog_ms = notify_watchdog_usec() / 2000; /* half the interval */
	uint64_t tick_ms = 1000;
	if (ctl->watchdog_ms && ctl->watchdog_ms < tick_ms)
		tick_ms = ctl->watchdog_ms;
	ctl->sigfd = signalfd(-1, set, SFD_CLOEXEC);
	ctl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (ctl->sigfd < 0 || ctl->timerfd < 0)
		return -1;
	struct itimerspec its = {
		.it_interval = {(time_t)(tick_ms / 1000), (long)(tick_ms % 1000) * 1000000L},
		.it_value = {(time_t)(tick_ms / 1000), (long)(tick_ms % 1000) * 1000000L},
	};
	return timerfd_settime(ctl->timerfd, 0, &its, NULL);
}

int control_run(struct daemon *d, const sigset_t *set, struct ctlsock *cs)
{
	static struct control ctl; /* its baseline is large for a stack */
	int rc = 0;

	if (control_setup(&ctl, d, set, cs) < 0) {
		log_err("cannot set up signal and timer handling: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd pfd[2 + CTLSOCK_NFDS] = {{ctl.sigfd, POLLIN, 0},
						       {ctl.timerfd, POLLIN, 0}};
		size_t n = 2 + ctlsock_pollfds(cs, pfd + 2);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if ((pfd[0].revents & POLLIN) && !control_signal(&ctl))
			break;
		if (pfd[1].revents & POLLIN)
			control_tick(&ctl);
		ctlsock_serve(cs, pfd + 2);
	}
	close(ctl.sigfd);
	close(ctl.timerfd);
	return rc;
}
