/*
 * format.h - larsctl's three ways of printing a reply: aligned text,
 * JSON, and the Prometheus text exposition format.
 *
 * Names of the form "group_N:field" (tier_0:owned, listener_2:replies,
 * worker_1:loop_turns) are rows of a table: in text one table per group,
 * in JSON an array "<group>s" of objects, in Prometheus labels.
 */
#ifndef LARSCTL_FORMAT_H
#define LARSCTL_FORMAT_H

#include "reply.h"

#include <stdio.h>

void format_text(FILE *out, const struct reply *r);
void format_json(FILE *out, const struct reply *r);
void format_prometheus(FILE *out, const struct reply *r);

/* Split "group_N:field"; false for a plain name.  group gets at most
 * glen - 1 bytes. */
bool stat_split(const char *name, char *group, size_t glen, unsigned *index,
		const char **field);

#endif /* LARSCTL_FORMAT_H */
