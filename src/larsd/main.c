/*
 * main.c - larsd: the command line, start-up and shutdown.
 *
 * Start-up is all or nothing: the configuration is loaded and checked, the
 * pool is set up, and every listener is bound before any worker starts or
 * systemd hears READY=1.  Any failure on the way is one line on stderr and
 * exit status 1 (2 for a bad command line), with nothing left running.
 */
#include "config.h"

#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "measure.h"
#include "memwatch.h"
#include "notify.h"
#include "ratelimit.h"
#include "stamp_sessions.h"
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
		"usage: larsd [-c FILE] [-t] [-V] [-h]\n"
		"  -c FILE  configuration file (default %s)\n"
		"  -t       check the configuration and exit\n"
		"  -V       print the version and exit\n"
		"  -h       print this help and exit\n",
		CONF_DEFAULT_PATH);
}

static int setup_pool(struct daemon *d, const struct conf *c)
{
	struct bufpool_config pc;

	bufpool_config_init(&pc);
	pc.mem_limit = c->mem_limit;
	memcpy(pc.prealloc, c->prealloc, sizeof(pc.prealloc));
	if (bufpool_instance_configure(&pc) < 0) {
		log_err("cannot configure the buffer pool: %s", strerror(errno));
		return -1;
	}
	d->pool = bufpool_instance();
	if (!d->pool) {
		log_err("cannot create the buffer pool: %s", strerror(errno));
		return -1;
	}
	if (memwatch_pool_start(d->pool) < 0) {
		log_err("cannot set the buffer pool's pressure marks: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void unprepare_workers(struct daemon *d, unsigned n, unsigned from)
{
	for (unsigned i = from; i < n; i++)
		worker_unprepare(&d->workers[i]);
}

/* Make every worker's loop, before anything is opened.  io_backend:
 * io_uring where asked and possible, every worker's ring made here (not a
 * probe: the rings themselves).  Under "auto", if one cannot be made, all
 * workers run on epoll, said in one notice with the reason; "io_uring"
 * that cannot be had is an error. */
static int prepare_workers(struct daemon *d, const struct conf *c)
{
	char why[160];
	bool uring = c->io_backend != CONF_IO_EPOLL;

	d->workers = calloc(c->threads, sizeof(*d->workers));
	if (!d->workers) {
		log_err("out of memory for %u workers", c->threads);
		return -1;
	}
	d->io_backend = c->io_backend;
	d->threads = c->threads;
	for (unsigned i = 0; i < c->threads; i++) {
		if (worker_prepare(&d->workers[i], d, i, uring, why, sizeof(why)) == 0)
			continue;
		unprepare_workers(d, i, 0);
		if (!uring) {
			log_err("cannot make worker %u's event loop: %s", i, why);
			return -1;
		}
		if (c->io_backend == CONF_IO_URING) {
			log_err("io_backend \"io_uring\" cannot run here: %s", why);
			return -1;
		}
		log_notice("io_backend \"auto\": using epoll, as io_uring cannot run here: %s", why);
		uring = false;
		i = (unsigned)-1; /* again from the first, on epoll */
	}
	d->io_uring = uring;
	return 0;
}

/* The per-source UDP limits' table (ratelimit.h): made whatever the
 * configuration says, so a reload can turn the limits on.  Its memory is
 * only touched by the sources it sees. */
static int setup_ratelimit(struct daemon *d, const struct conf *c)
{
	d->ratelimit = ratelimit_new();
	if (!d->ratelimit) {
		log_err("cannot make the UDP rate limit table: %s", strerror(errno));
		return -1;
	}
	/* Likewise the stateful STAMP sessions, sized at start. */
	d->stamp_sessions = stamp_sessions_new(c->stamp_sessions);
	d->stamp_sessions_max = c->stamp_sessions;
	if (!d->stamp_sessions) {
		log_err("cannot make the table of %u STAMP sessions: %s", c->stamp_sessions,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void free_tables(struct daemon *d)
{
	ratelimit_free(d->ratelimit);
	stamp_sessions_free(d->stamp_sessions);
}

static int setup_listeners(struct daemon *d, const struct conf *c)
{
	struct listener *set[CONF_MAX_LISTENERS];
	size_t n;
	char err[CONF_ERR_MAX];

	if (daemon_take_activated(err, sizeof(err)) < 0 ||
	    daemon_plan_listeners(d, c, set, &n, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return -1;
	}
	daemon_publish(d, c, set, n); /* no workers yet: takes effect at once */
	for (size_t i = 0; i < n; i++)
		log_info("listening on %s (%s)%s", set[i]->name,
			 conf_mode_name(set[i]->mode),
			 set[i]->activated ? " from systemd" : "");
	return 0;
}

/* Stop and join the first `started` workers, then close their loops.  All
 * are joined before any loop or eventfd goes: a worker still finishing a
 * turn may wake any other (dataplane_short_of_memory()). */
static void stop_workers(struct daemon *d, unsigned started)
{
	atomic_store(&d->stopping, true);
	for (unsigned i = 0; i < started; i++)
		worker_wake(&d->workers[i]);
	for (unsigned i = 0; i < started; i++)
		worker_join(&d->workers[i]);
	unprepare_workers(d, started, 0);
}

/* Start the n prepared workers; d->n_workers counts those running. */
static int start_workers(struct daemon *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (worker_start(&d->workers[i]) < 0) {
			log_err("cannot start worker %u: %s", i, strerror(errno));
			stop_workers(d, i);
			unprepare_workers(d, n, i);
			return -1;
		}
		d->n_workers = i + 1;
	}
	return 0;
}

static int run(struct conf *c)
{
	static struct daemon d;
	static struct ctlsock cs;
	sigset_t sigs;
	char err[CONF_ERR_MAX];
	char status[160];

	pthread_mutex_init(&d.lock, NULL);
	log_set_level(c->log_level);
	if (control_block_signals(&sigs) < 0)
		return EXIT_FAILURE;
	/* The workers' loops (and io_uring rings) before anything is opened. */
	if (setup_pool(&d, c) < 0 || prepare_workers(&d, c) < 0)
		return EXIT_FAILURE;
	/* Before the listeners: a second larsd on the same socket stops here. */
	if (ctlsock_open(&cs, c->control, err, sizeof(err)) < 0) {
		log_err("%s", err);
		unprepare_workers(&d, c->threads, 0);
		return EXIT_FAILURE;
	}
	if (setup_ratelimit(&d, c) < 0 || setup_listeners(&d, c) < 0) {
		unprepare_workers(&d, c->threads, 0);
		free_tables(&d);
		ctlsock_close(&cs);
		return EXIT_FAILURE;
	}
	if (start_workers(&d, c->threads) < 0) {
		daemon_close_listeners(&d);
		free_tables(&d);
		ctlsock_close(&cs);
		return EXIT_FAILURE;
	}
	if (daemon_measure(&d, c) < 0) {
		stop_workers(&d, d.n_workers);
		daemon_close_listeners(&d);
		free_tables(&d);
		ctlsock_close(&cs);
		return EXIT_FAILURE;
	}
	log_info("larsd %s started: %u workers on %s, MEM_LIMIT %zu bytes", PACKAGE_VERSION,
		 d.n_workers, d.io_uring ? "io_uring" : "epoll", c->mem_limit);
	memwatch_start_check(d.pool, c->mem_limit);
	daemon_status_line(&d, 0, status, sizeof(status));
	notify_ready(status);

	int rc = control_run(&d, &sigs, &cs);

	notify_stopping();
	measure_stop(d.measure);
	stop_workers(&d, d.n_workers);
	daemon_close_listeners(&d);
	free_tables(&d);
	ctlsock_close(&cs);
	log_info("stopped");
	free(d.workers);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_PATH;
	bool check_only = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check_only = true; break;
		case 'V': printf("larsd %s\n", PACKAGE_VERSION); return EXIT_SUCCESS;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "larsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	static struct conf c;
	char err[CONF_ERR_MAX];
	if (conf_load(path, &c, err, sizeof(err)) < 0) {
		if (check_only)
			fprintf(stderr, "%s\n", err);
		else
			log_err("%s", err);
		return EXIT_FAILURE;
	}
	if (check_only) {
		conf_release(&c);
		printf("%s: configuration OK\n", path);
		return EXIT_SUCCESS;
	}
	return run(&c);
}
