/*
 * log.c - priority-prefixed lines on stderr, with rate limits.
 *
 * One write(2) per line, so lines from several threads never interleave.
 */
#include "config.h"

#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static _Atomic int current_level = LOG_INFO;

void log_set_level(int level)
{
	atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

int log_level(void)
{
	return atomic_load_explicit(&current_level, memory_order_relaxed);
}

static void log_write(int prio, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "<%d>", prio);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);

	if (len > sizeof(line) - 64)
		len = sizeof(line) - 64; /* truncated; keep room for the suffix */
	len += (size_t)snprintf(line + len, sizeof(line) - len, "%s\n", suffix);
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w; /* nowhere to report a failing stderr */
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > log_level())
		return;
	va_start(ap, fmt);
	log_write(prio, "", fmt, ap);
	va_end(ap);
}

void log_always(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(prio, "", fmt, ap);
	va_end(ap);
}

void log_limited(struct log_limit *lim, int prio, const char *fmt, ...)
{
	va_list ap;
	char suffix[64] = "";

	if (prio > log_level())
		return;
	uint64_t now = clock_ms();
	uint64_t next = atomic_load_explicit(&lim->next_ms, memory_order_relaxed);
	if (now < next || !atomic_compare_exchange_strong(&lim->next_ms, &next,
							  now + lim->interval_ms)) {
		atomic_fetch_add_explicit(&lim->suppressed, 1, memory_order_relaxed);
		return;
	}
	uint64_t held = atomic_exchange(&lim->suppressed, 0);
	if (held)
		snprintf(suffix, sizeof(suffix), " (%llu similar suppressed)",
			 (unsigned long long)held);
	va_start(ap, fmt);
	log_write(prio, suffix, fmt, ap);
	va_end(ap);
}
