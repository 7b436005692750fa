/*
 * format.h - larsctl's three ways of printing a reply: aligned text,
 * JSON, and the Prometheus text exposition format.
 *
 * Names of the form "group_N:field" (tier_0:owned, listener_2:replies,
 * worker_1:loop_turns) are rows of a table: in text one table per group,
 * in JSON an array "<group>s" of objects, in Prometheus labels.  The
 * measuring sessions' rows (session_N:field) are sessions.c's.
 */
#ifndef LARSCTL_FORMAT_H
#define LARSCTL_FORMAT_H

#include "reply.h"

#include <stdio.h>

/* 0, or -1 (ENOMEM, from indexing the measuring sessions: sessions.h). */
int format_text(FILE *out, const struct reply *r);
int format_json(FILE *out, const struct reply *r);
int format_prometheus(FILE *out, const struct reply *r);

/* Split "group_N:field"; false for a plain name.  group gets at most
 * glen - 1 bytes. */
bool stat_split(const char *name, char *group, size_t glen, unsigned *index,
		const char **field);

/* For sessions.c: is v a number as JSON and Prometheus write one; v as a
 * JSON string; the label name="v" escaped, opening the braces if *first. */
bool format_is_number(const char *v);
void format_json_string(FILE *out, const char *s);
void format_prom_label(FILE *out, const char *name, const char *v, bool *first);

#endif /* LARSCTL_FORMAT_H */
