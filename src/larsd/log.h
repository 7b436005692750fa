/*
 * log.h - the daemon's one logging module.
 *
 * Lines go to stderr with an sd-daemon(3) priority prefix ("<3>" error ..
 * "<7>" debug), so journald keeps their levels.  Messages a client can
 * trigger go through a log_limit, which lets one line through per interval
 * and says how many it held back.
 */
#ifndef LARSD_LOG_H
#define LARSD_LOG_H

#include <stdatomic.h>
#include <stdint.h>
#include <syslog.h>

void log_set_level(int level);
int log_level(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whatever log_level says: for output that was asked for (SIGUSR1). */
void log_always(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Rate limit: at most one line per interval_ms; shared between threads. */
struct log_limit {
	_Atomic uint64_t next_ms;    /* earliest time of the next line */
	_Atomic uint64_t suppressed; /* lines held back since the last one */
	unsigned interval_ms;
};
#define LOG_LIMIT_INIT(ms) { 0, 0, (ms) }

void log_limited(struct log_limit *lim, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* LARSD_LOG_H */
