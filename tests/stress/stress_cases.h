/*
 * stress_cases.h - the scenarios of the larsd stress suite, one file per
 * family, each adding its test cases to the suite (stress_larsd.c) with
 * testutil_add().
 */
#ifndef STRESS_CASES_H
#define STRESS_CASES_H

#include <check.h>

void stress_add_memory(Suite *s);    /* st_memory.c: never-reading clients, UDP flood */
void stress_add_flood(Suite *s);     /* st_flood.c: connections past max_connections */
void stress_add_malformed(Suite *s); /* st_malformed.c: random and hostile input */
void stress_add_signals(Suite *s);   /* st_signals.c: 100 reloads, SIGTERM under load */
void stress_add_guard(Suite *s);     /* st_guard.c: reflection guard, allow-list */
void stress_add_cpuwait(Suite *s);   /* st_cpuwait.c: workers crowded off their CPU */
void stress_add_control(Suite *s);   /* st_control.c: the control socket's idle timeout */
void stress_add_ratelimit(Suite *s); /* st_ratelimit.c: a flooding source vs a polite one */

/* Network namespace names the allow-list case may create, removed by
 * main() at the end whatever happened ("" if none). */
void stress_netns_names(char *srv, char *cli, size_t len);

#endif /* STRESS_CASES_H */
