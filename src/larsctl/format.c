/*
 * format.c - aligned text, JSON and Prometheus output (see format.h).
 *
 * The measuring sessions' items have a shape of their own (distributions,
 * histograms): sessions.c prints them, and every loop here passes them by.
 */
#include "config.h"

#include "format.h"
#include "sessions.h"
#include "../larsd/stats.h" /* the counters' descriptions: one home */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX 32

bool stat_split(const char *name, char *group, size_t glen, unsigned *index,
		const char **field)
{
	const char *colon = strchr(name, ':'), *us = colon;
	if (!colon)
		return false;
	while (us > name && isdigit((unsigned char)us[-1]))
		us--;
	if (us == colon || us == name || us[-1] != '_' || (size_t)(us - 1 - name) >= glen)
		return false;
	memcpy(group, name, (size_t)(us - 1 - name));
	group[us - 1 - name] = '\0';
	*index = (unsigned)strtoul(us, NULL, 10);
	*field = colon + 1;
	return true;
}

bool format_is_number(const char *v)
{
	if (*v == '-')
		v++;
	if (!isdigit((unsigned char)*v))
		return false;
	while (isdigit((unsigned char)*v))
		v++;
	if (*v == '.' && isdigit((unsigned char)v[1]))
		for (v++; isdigit((unsigned char)*v);)
			v++;
	return *v == '\0';
}

/* The groups of a reply, in their order of appearance. */
struct groups {
	char name[8][GROUP_MAX];
	size_t n;
};

static void groups_of(const struct reply *r, struct groups *g)
{
	char group[GROUP_MAX];
	unsigned idx;
	const char *field;

	g->n = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (sessions_owns(r->items[i].name) ||
		    !stat_split(r->items[i].name, group, sizeof(group), &idx, &field))
			continue;
		size_t k = 0;
		while (k < g->n && strcmp(g->name[k], group) != 0)
			k++;
		if (k == g->n && g->n < 8)
			strcpy(g->name[g->n++], group);
	}
}

/* ---- text ------------------------------------------------------------- */

static void text_table(FILE *out, const struct reply *r, const char *gname)
{
	const char *fields[32];
	size_t nf = 0, width[32];
	unsigned rows = 0, idx;
	char group[GROUP_MAX];
	const char *field;

	for (size_t i = 0; i < r->n; i++) {
		if (!stat_split(r->items[i].name, group, sizeof(group), &idx, &field) ||
		    strcmp(group, gname) != 0)
			continue;
		if (idx + 1 > rows)
			rows = idx + 1;
		size_t k = 0;
		while (k < nf && strcmp(fields[k], field) != 0)
			k++;
		if (k == nf && nf < 32) {
			fields[nf] = field;
			width[nf++] = strlen(field);
		}
		size_t vl = strlen(r->items[i].value);
		if (k < nf && vl > width[k])
			width[k] = vl;
	}
	fprintf(out, "%-8s", gname);
	for (size_t k = 0; k < nf; k++)
		fprintf(out, " %*s", (int)width[k], fields[k]);
	fputc('\n', out);
	for (unsigned row = 0; row < rows; row++) {
		fprintf(out, "%-8u", row);
		for (size_t k = 0; k < nf; k++) {
			char name[GROUP_MAX + 80];
			snprintf(name, sizeof(name), "%s_%u:%s", gname, row, fields[k]);
			const char *v = reply_get(r, name);
			fprintf(out, " %*s", (int)width[k], v ? v : "-");
		}
		fputc('\n', out);
	}
}

int format_text(FILE *out, const struct reply *r)
{
	struct groups g;
	char group[GROUP_MAX];
	unsigned idx;
	const char *field;
	size_t w = 0;

	groups_of(r, &g);
	for (size_t k = 0; k < g.n; k++) {
		text_table(out, r, g.name[k]);
		fputc('\n', out);
	}
	for (size_t i = 0; i < r->n; i++)
		if (!sessions_owns(r->items[i].name) &&
		    !stat_split(r->items[i].name, group, sizeof(group), &idx, &field) &&
		    strlen(r->items[i].name) > w)
			w = strlen(r->items[i].name);
	for (size_t i = 0; i < r->n; i++)
		if (!sessions_owns(r->items[i].name) &&
		    !stat_split(r->items[i].name, group, sizeof(group), &idx, &field))
			fprintf(out, "%-*s  %s\n", (int)w, r->items[i].name, r->items[i].value);
	return reply_get(r, "sessions") ? sessions_text(out, r) : 0;
}

/* ---- JSON ------------------------------------------------------------- */

void format_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_value(FILE *out, const char *v)
{
	if (format_is_number(v))
		fputs(v, out);
	else
		format_json_string(out, v);
}

int format_json(FILE *out, const struct reply *r)
{
	struct groups g;
	char group[GROUP_MAX];
	unsigned idx, row;
	const char *field;
	const char *sep = "";

	groups_of(r, &g);
	fputc('{', out);
	for (size_t i = 0; i < r->n; i++) {
		if (sessions_owns(r->items[i].name) ||
		    stat_split(r->items[i].name, group, sizeof(group), &idx, &field))
			continue;
		fputs(sep, out);
		format_json_string(out, r->items[i].name);
		fputc(':', out);
		json_value(out, r->items[i].value);
		sep = ",";
	}
	for (size_t k = 0; k < g.n; k++) {
		fprintf(out, "%s\"%ss\":[", sep, g.name[k]);
		sep = ",";
		for (row = 0;; row++) {
			bool any = false;
			for (size_t i = 0; i < r->n; i++) {
				if (!stat_split(r->items[i].name, group, sizeof(group), &idx, &field) ||
				    strcmp(group, g.name[k]) != 0 || idx != row)
					continue;
				fprintf(out, "%s", any ? "," : row ? ",{" : "{");
				if (!any)
					fprintf(out, "\"%s\":%u,", g.name[k], row);
				format_json_string(out, field);
				fputc(':', out);
				json_value(out, r->items[i].value);
				any = true;
			}
			if (!any)
				break;
			fputc('}', out);
		}
		fputc(']', out);
	}
	if (reply_get(r, "sessions") && sessions_json(out, r, sep) < 0)
		return -1;
	fputs("}\n", out);
	return 0;
}

/* ---- Prometheus ------------------------------------------------------- */

/* What each value is: a gauge (it goes up and down) or a counter (it only
 * grows, and its metric name ends in _total), and what it means.  A name
 * this table does not know is a counter described by its name. */
struct metric {
	const char *name; /* as larsd says it; "group:field" for table rows */
	bool gauge;
	const char *help;
};

static const struct metric metrics[] = {
	{"uptime_s", true, "Seconds since larsd started"},
	{"threads", true, "Worker threads"},
	{"connections_current", true, "TCP connections open now"},
	{"connections_total", false, "TCP connections accepted"},
	{"reloads_ok", false, "Configuration reloads that took effect"},
	{"reloads_failed", false, "Configuration reloads refused (the old one stays)"},
	{"pool_mem_limit", true, "The buffer pool's MEM_LIMIT, bytes"},
	{"pool_bytes_owned", true, "Buffer bytes the pool holds"},
	{"pool_bytes_in_use", true, "Buffer bytes handed out"},
	{"pool_bytes_idle", true, "Buffer bytes ready for reuse"},
	{"pool_bytes_ring", true, "Buffer bytes the io_uring rings hold for idle connections (part of in use)"},
	{"pool_allocs", false, "Buffers handed out"},
	{"pool_fresh", false, "Buffers newly taken from the system"},
	{"pool_failures", false, "Buffer requests refused at MEM_LIMIT"},
	{"pool_too_large", false, "Buffer requests above the largest tier"},
	{"pool_released", false, "Buffers given back to the system"},
	{"bytes_owned", true, "Buffer bytes the pool holds"},
	{"peak_bytes_owned", true, "Most buffer bytes the pool held at once since larsd started"},
	{"mem_limit", true, "The buffer pool's MEM_LIMIT, bytes"},
	{"pressure_high_mark", true, "Pool bytes at which larsd warns of memory pressure"},
	{"pressure_low_mark", true, "Pool bytes below which the pressure episode ends"},
	{"pressure_above", true, "1 while the pool is past its high mark"},
	{"pressure_high_events", false, "Times the pool reached its high mark since larsd started"},
	{"pressure_low_events", false, "Times the pool fell back to its low mark since larsd started"},
	{"pressure_refusals", false, "Buffer requests refused at MEM_LIMIT since larsd started"},
	{"tier:capacity", true, "Buffer size of the tier, bytes"},
	{"tier:owned", true, "Buffers of the tier the pool holds"},
	{"tier:idle", true, "Buffers of the tier ready for reuse"},
	{"tier:in_use", true, "Buffers of the tier handed out"},
	{"tier:peak_owned", true, "Most buffers of the tier held at once since larsd started"},
	{"tier:allocs", false, "Buffers of the tier handed out"},
	{"tier:fresh", false, "Buffers of the tier newly taken from the system"},
	{"tier:failures", false, "Requests for the tier refused at MEM_LIMIT"},
	{"listener:accepted", false, "TCP connections the listener accepted"},
	{"listener:replies", false, "Replies sent on the listener"},
	{"listener:bytes_in", false, "Bytes received on the listener"},
	{"listener:bytes_out", false, "Bytes sent on the listener"},
	{"worker:connections", true, "TCP connections the worker holds"},
	{"worker:loop_turns", false, "Turns of the worker's event loop"},
	{"worker:replies", false, "Replies the worker sent"},
#define X(name, text) {#name, false, text},
	STATS_FIELDS(X)
#undef X
};

static const struct metric *metric_of(const char *key)
{
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strcmp(metrics[i].name, key) == 0)
			return &metrics[i];
	return NULL;
}

/* A field of a table row that no metric names is a label: a listener's
 * proto, address, port, mode and origin. */
static bool row_is_label(const char *group, const char *field)
{
	char key[GROUP_MAX + 64];
	snprintf(key, sizeof(key), "%s:%s", group, field);
	return !metric_of(key);
}

/* A label value, escaped as the exposition format wants. */
void format_prom_label(FILE *out, const char *name, const char *v, bool *first)
{
	fprintf(out, "%s%s=\"", *first ? "{" : ",", name);
	*first = false;
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
	fputc('"', out);
}

/* One sample; header: it is the first of its metric, so HELP and TYPE go first. */
static void prom_sample(FILE *out, const char *key, const char *metric_base, const char *group,
			unsigned row, const struct reply *r, const char *value,
			bool header)
{
	const struct metric *m = metric_of(key);
	bool gauge = m && m->gauge;
	char name[96];
	size_t bl = strlen(metric_base);
	bool has_total = bl > 6 && strcmp(metric_base + bl - 6, "_total") == 0;
	snprintf(name, sizeof(name), "larsd_%s%s", metric_base,
		 gauge || has_total ? "" : "_total");
	if (header) /* the first sample of its block */
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, m ? m->help : key, name,
			gauge ? "gauge" : "counter");
	fputs(name, out);
	bool first = true;
	if (group) {
		char idx[16];
		snprintf(idx, sizeof(idx), "%u", row);
		format_prom_label(out, group, idx, &first);
		/* the row's words are labels: a listener's proto, address... */
		for (size_t i = 0; i < r->n; i++) {
			char g[GROUP_MAX];
			unsigned ri;
			const char *f;
			if (stat_split(r->items[i].name, g, sizeof(g), &ri, &f) &&
			    strcmp(g, group) == 0 && ri == row && row_is_label(g, f))
				format_prom_label(out, f, r->items[i].value, &first);
		}
	}
	fprintf(out, "%s %s\n", first ? "" : "}", value);
}

/* The exposition format wants every sample of a metric in one block: the
 * plain values first, then each table's fields, all rows of one field
 * together. */
int format_prometheus(FILE *out, const struct reply *r)
{
	char group[GROUP_MAX], g2[GROUP_MAX], key[GROUP_MAX + 64], base[GROUP_MAX + 64];
	unsigned row, row2;
	const char *field, *f2;

	for (size_t i = 0; i < r->n; i++) {
		const char *name = r->items[i].name, *value = r->items[i].value;
		if (sessions_owns(name) || stat_split(name, group, sizeof(group), &row, &field))
			continue;
		if (strcmp(name, "version") == 0) {
			bool first = true;
			fputs("# HELP larsd_build_info larsd's version, as a label\n"
			      "# TYPE larsd_build_info gauge\nlarsd_build_info", out);
			format_prom_label(out, "version", value, &first);
			fputs("} 1\n", out);
		} else if (format_is_number(value)) {
			prom_sample(out, name, strcmp(name, "uptime_s") == 0 ? "uptime_seconds" : name,
				    NULL, 0, r, value, true);
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		if (sessions_owns(r->items[i].name) ||
		    !stat_split(r->items[i].name, group, sizeof(group), &row, &field) ||
		    row_is_label(group, field))
			continue;
		/* the first row of this field: print every row of it now */
		bool earlier = false;
		for (size_t j = 0; j < i && !earlier; j++)
			earlier = stat_split(r->items[j].name, g2, sizeof(g2), &row2, &f2) &&
				  strcmp(g2, group) == 0 && strcmp(f2, field) == 0;
		if (earlier)
			continue;
		snprintf(key, sizeof(key), "%s:%s", group, field);
		snprintf(base, sizeof(base), "%s_%s", group, field);
		bool first = true;
		for (size_t j = i; j < r->n; j++)
			if (stat_split(r->items[j].name, g2, sizeof(g2), &row2, &f2) &&
			    strcmp(g2, group) == 0 && strcmp(f2, field) == 0) {
				prom_sample(out, key, base, group, row2, r, r->items[j].value, first);
				first = false;
			}
	}
	return reply_get(r, "sessions") ? sessions_prometheus(out, r) : 0;
}
