/*
 * watch.h - larsctl watch: a live view of a running larsd, refreshed in
 * place like top or varnishstat, or printed count times for scripts.
 */
#ifndef LARSCTL_WATCH_H
#define LARSCTL_WATCH_H

/* Show a frame every interval_ms; count frames (0: until interrupted).
 * Returns larsctl's exit status. */
int watch_run(const char *socket_path, unsigned interval_ms, unsigned count, int timeout_ms);

#endif /* LARSCTL_WATCH_H */
