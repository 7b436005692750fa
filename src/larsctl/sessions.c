/*
 * sessions.c - larsd's measuring sessions as larsctl prints them (see
 * sessions.h).
 *
 * The reply is indexed once (sessions_index), so that each form is one
 * pass over the sessions however many there are.  Text and JSON print
 * larsd's own figures (microseconds, one decimal) as they came; only
 * Prometheus converts, because it wants seconds and cumulative buckets.
 * The buckets' bounds come from larsd's header, so both sides agree.
 */
#include "config.h"

#include "sessions.h"
#include "format.h"
#include "../larsd/session_hist.h" /* the buckets' bounds: one home */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum session_kind { SK_LABEL, SK_VALUE, SK_COUNTER, SK_FLAG, SK_US, SK_HIST };

static const struct {
	const char *name;
	enum session_kind kind;
	const char *metric, *help;
} fields[SESSION_NFIELDS] = {
#define X(field, kind, metric, help) {#field, kind, metric, help},
	SESSION_FIELDS(X)
#undef X
};

/* The array larsd uses lives in its session_hist.c, which larsctl does
 * not link: the macro is the one truth both arrays come from. */
static const unsigned long bounds_us[] = {SESSION_HIST_BOUNDS_US};
_Static_assert(sizeof(bounds_us) / sizeof(bounds_us[0]) == SESSION_HIST_BOUNDS,
	       "SESSION_HIST_BOUNDS_US and SESSION_HIST_BOUNDS disagree");

/* The items of a distribution, in larsd's order. */
static const char *const us_names[] = {"p50", "p90", "p99", "max", "min", "mean"};
static const char *const send_error_names[] = {"p50", "p99", "max"};

static bool is_session_row(const char *name, unsigned *idx, const char **field)
{
	char group[16];
	return stat_split(name, group, sizeof(group), idx, field) && strcmp(group, "session") == 0;
}

bool sessions_owns(const char *name)
{
	unsigned idx;
	const char *field;
	return strcmp(name, "sessions") == 0 || strcmp(name, "sessions_send_error_us") == 0 ||
	       is_session_row(name, &idx, &field);
}

int sessions_index(const struct reply *r, struct sessions *s)
{
	unsigned idx;
	const char *field;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	/* A reply of m items holds at most m rows: a larger index or count
	 * is garbage, and must not size an allocation. */
	for (size_t i = 0; i < r->n; i++) {
		const char *name = r->items[i].name, *value = r->items[i].value;
		if (strcmp(name, "sessions") == 0 && format_is_number(value)) {
			unsigned long long c = strtoull(value, NULL, 10);
			if (c <= r->n && c > n)
				n = (size_t)c; /* rows announced but not sent show as unknown */
		} else if (strcmp(name, "sessions_send_error_us") == 0) {
			s->send_error_us = value;
		} else if (is_session_row(name, &idx, &field) && idx < r->n && idx + 1 > n) {
			n = idx + 1;
		}
	}
	if (n == 0)
		return 0;
	s->row = calloc(n, sizeof(*s->row));
	if (!s->row)
		return -1;
	s->n = n;
	for (size_t i = 0; i < r->n; i++) {
		if (!is_session_row(r->items[i].name, &idx, &field) || idx >= n)
			continue;
		for (size_t f = 0; f < SESSION_NFIELDS; f++)
			if (strcmp(fields[f].name, field) == 0)
				s->row[idx][f] = r->items[i].value;
	}
	return 0;
}

void sessions_free(struct sessions *s)
{
	free(s->row);
	memset(s, 0, sizeof(*s));
}

bool sessions_item(const char *v, unsigned k, char *buf, size_t len)
{
	for (; v && k > 0; k--)
		if ((v = strchr(v, ',')) != NULL)
			v++;
	if (!v)
		return false;
	size_t l = strcspn(v, ",");
	if (l == 0 || l >= len)
		return false;
	memcpy(buf, v, l);
	buf[l] = '\0';
	return format_is_number(buf);
}

/* A value larsd sent and knows ("-" is unknown), or NULL. */
static const char *known(const char *v)
{
	return v && strcmp(v, "-") != 0 ? v : NULL;
}

/* ---- text ------------------------------------------------------------- */

enum col {
	C_NAME, C_PEER, C_SENT, C_RECEIVED, C_LOST, C_LOSS, C_LATE, C_DUP, C_REORD,
	C_RTT_P50, C_RTT_P90, C_RTT_P99, C_RTT_MAX, C_RES_P99, NCOLS
};

static const char *const heads[NCOLS] = {
	"name", "peer", "sent", "received", "lost", "loss%", "late", "dup", "reord",
	"rtt_p50", "rtt_p90", "rtt_p99", "rtt_max", "res_p99",
};

struct cells {
	const char *c[NCOLS];
	char buf[NCOLS][32];
};

static void cell_number(struct cells *t, enum col c, const char *v)
{
	t->c[c] = v && format_is_number(v) ? v : "-";
}

static void cell_item(struct cells *t, enum col c, const char *v, unsigned k)
{
	t->c[c] = sessions_item(v, k, t->buf[c], sizeof(t->buf[c])) ? t->buf[c] : "-";
}

static void row_cells(const char *const *row, struct cells *t)
{
	const char *sent = row[SESSION_sent], *lost = row[SESSION_lost];

	t->c[C_NAME] = known(row[SESSION_name]) ? row[SESSION_name] : "-";
	t->c[C_PEER] = known(row[SESSION_peer]) ? row[SESSION_peer] : "-";
	cell_number(t, C_SENT, sent);
	cell_number(t, C_RECEIVED, row[SESSION_received]);
	cell_number(t, C_LOST, lost);
	cell_number(t, C_LATE, row[SESSION_late]);
	cell_number(t, C_DUP, row[SESSION_duplicates]);
	cell_number(t, C_REORD, row[SESSION_reordered]);
	t->c[C_LOSS] = "-";
	if (sent && lost && format_is_number(sent) && format_is_number(lost) &&
	    strtod(sent, NULL) > 0) {
		snprintf(t->buf[C_LOSS], sizeof(t->buf[C_LOSS]), "%.2f",
			 strtod(lost, NULL) * 100 / strtod(sent, NULL));
		t->c[C_LOSS] = t->buf[C_LOSS];
	}
	for (unsigned k = 0; k < 4; k++) /* p50, p90, p99, max */
		cell_item(t, (enum col)(C_RTT_P50 + k), row[SESSION_rtt_us], k);
	cell_item(t, C_RES_P99, row[SESSION_residence_us], 2);
}

int sessions_text(FILE *out, const struct reply *r)
{
	struct sessions s;
	struct cells t;
	size_t width[NCOLS];
	char item[32];

	if (sessions_index(r, &s) < 0)
		return -1;
	if (s.n == 0) {
		fputs("no measuring sessions (sessions in larsd.conf(5))\n", out);
		return 0;
	}
	for (size_t c = 0; c < NCOLS; c++)
		width[c] = strlen(heads[c]);
	for (size_t i = 0; i < s.n; i++) {
		row_cells(s.row[i], &t);
		for (size_t c = 0; c < NCOLS; c++)
			if (strlen(t.c[c]) > width[c])
				width[c] = strlen(t.c[c]);
	}
	/* name and peer flush left, figures right; two spaces apart */
	for (size_t c = 0; c < NCOLS; c++)
		fprintf(out, c == 0 ? "%-*s" : c == C_PEER ? "  %-*s" : "  %*s", (int)width[c],
			heads[c]);
	fputc('\n', out);
	for (size_t i = 0; i < s.n; i++) {
		row_cells(s.row[i], &t);
		for (size_t c = 0; c < NCOLS; c++)
			fprintf(out, c == 0 ? "%-*s" : c == C_PEER ? "  %-*s" : "  %*s",
				(int)width[c], t.c[c]);
		fputc('\n', out);
	}
	fputs("send error (us behind schedule):", out);
	if (!sessions_item(s.send_error_us, 0, item, sizeof(item)))
		fputs(" -", out);
	for (unsigned k = 0; k < 3 && sessions_item(s.send_error_us, k, item, sizeof(item)); k++)
		fprintf(out, "%s %s %s", k ? "," : "", send_error_names[k], item);
	fputc('\n', out);
	sessions_free(&s);
	return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* A distribution as an object of numbers; null when larsd has none. */
static void json_dist(FILE *out, const char *v, const char *const *names, unsigned n)
{
	char item[32];

	if (!known(v)) {
		fputs("null", out);
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		fprintf(out, "%s\"%s\":", k ? "," : "{", names[k]);
		fputs(sessions_item(v, k, item, sizeof(item)) ? item : "null", out);
	}
	fputc('}', out);
}

static void json_field(FILE *out, size_t f, const char *v)
{
	switch (fields[f].kind) {
	case SK_LABEL:
		if (known(v))
			format_json_string(out, v);
		else
			fputs("null", out);
		break;
	case SK_VALUE:
	case SK_COUNTER:
		fputs(v && format_is_number(v) ? v : "null", out);
		break;
	case SK_FLAG:
		fputs(!v ? "null" : !strcmp(v, "1") ? "true" : !strcmp(v, "0") ? "false" : "null", out);
		break;
	case SK_US:
		json_dist(out, v, us_names, 6);
		break;
	case SK_HIST: /* for Prometheus; JSON has the distribution */
		break;
	}
}

int sessions_json(FILE *out, const struct reply *r, const char *sep)
{
	struct sessions s;

	if (sessions_index(r, &s) < 0)
		return -1;
	fprintf(out, "%s\"sessions\":[", sep);
	for (size_t i = 0; i < s.n; i++) {
		const char *fsep = "";
		fputs(i ? ",{" : "{", out);
		for (size_t f = 0; f < SESSION_NFIELDS; f++) {
			if (fields[f].kind == SK_HIST)
				continue;
			fprintf(out, "%s\"%s\":", fsep, fields[f].name);
			json_field(out, f, s.row[i][f]);
			fsep = ",";
		}
		fputc('}', out);
	}
	fputs("],\"send_error_us\":", out);
	json_dist(out, s.send_error_us, send_error_names, 3);
	sessions_free(&s);
	return 0;
}

/* ---- Prometheus ------------------------------------------------------- */

/* Every sample of a session carries its name and peer. */
static void prom_labels(FILE *out, const struct sessions *s, size_t i, bool *first)
{
	char idx[32];
	const char *name = known(s->row[i][SESSION_name]);
	if (!name) { /* larsd names every session; an index rather than nothing */
		snprintf(idx, sizeof(idx), "session_%zu", i);
		name = idx;
	}
	format_prom_label(out, "session", name, first);
	format_prom_label(out, "peer", known(s->row[i][SESSION_peer]) ? s->row[i][SESSION_peer] : "",
			  first);
}

/* "count,sum_ns,n_0,...,n_19": all integers, and the buckets add up to
 * the count (else +Inf and _count would disagree). */
static bool hist_parse(const char *v, unsigned long long *count, unsigned long long *sum_ns,
		       unsigned long long bucket[SESSION_HIST_BUCKETS])
{
	unsigned long long x[2 + SESSION_HIST_BUCKETS], total = 0;
	const size_t nx = sizeof(x) / sizeof(x[0]);

	for (size_t k = 0; k < nx; k++) {
		char *end;
		if (!v || !isdigit((unsigned char)*v))
			return false;
		errno = 0;
		x[k] = strtoull(v, &end, 10);
		if (errno || *end != (k + 1 < nx ? ',' : '\0'))
			return false;
		v = end + 1;
	}
	for (size_t b = 0; b < SESSION_HIST_BUCKETS; b++) {
		bucket[b] = x[2 + b];
		if ((total += bucket[b]) < bucket[b])
			return false;
	}
	*count = x[0];
	*sum_ns = x[1];
	return total == *count;
}

/* Nanoseconds as seconds, exactly: no rounding through a double. */
static void prom_seconds(FILE *out, unsigned long long ns)
{
	char frac[16];
	snprintf(frac, sizeof(frac), "%09llu", ns % 1000000000ull);
	size_t l = strlen(frac);
	while (l > 0 && frac[l - 1] == '0')
		frac[--l] = '\0';
	fprintf(out, "%llu%s%s", ns / 1000000000ull, l ? "." : "", frac);
}

static void prom_header(FILE *out, const char *name, const char *help, const char *type)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter or flag family: one sample per session that knows it. */
static void prom_values(FILE *out, const struct sessions *s, size_t f)
{
	bool counter = fields[f].kind == SK_COUNTER, header = true;
	char name[96];

	snprintf(name, sizeof(name), "larsd_session_%s%s", fields[f].metric,
		 counter ? "_total" : "");
	for (size_t i = 0; i < s->n; i++) {
		const char *v = s->row[i][f];
		bool first = true;
		if (!v || !format_is_number(v)) /* "-": forward_lost of a stateless peer */
			continue;
		if (header)
			prom_header(out, name, fields[f].help, counter ? "counter" : "gauge");
		header = false;
		fputs(name, out);
		prom_labels(out, s, i, &first);
		fprintf(out, "} %s\n", v);
	}
}

/* A histogram family: cumulative buckets up to +Inf, _sum, _count. */
static void prom_hist(FILE *out, const struct sessions *s, size_t f)
{
	unsigned long long count, sum_ns, bucket[SESSION_HIST_BUCKETS];
	bool header = true;
	char name[96];

	snprintf(name, sizeof(name), "larsd_session_%s", fields[f].metric);
	for (size_t i = 0; i < s->n; i++) {
		unsigned long long cum = 0;
		bool first;
		if (!s->row[i][f])
			continue;
		if (!hist_parse(s->row[i][f], &count, &sum_ns, bucket)) {
			fprintf(out, "# session_%zu:%s is not count,sum_ns and %d buckets adding up "
				"to count: left out\n", i, fields[f].name, SESSION_HIST_BUCKETS);
			continue;
		}
		if (header)
			prom_header(out, name, fields[f].help, "histogram");
		header = false;
		for (size_t b = 0; b < SESSION_HIST_BUCKETS; b++) {
			char le[32];
			/* %g writes bounds as Prometheus' own clients do: 1e-05, 0.0001, 0.5, 10 */
			if (b < SESSION_HIST_BOUNDS)
				snprintf(le, sizeof(le), "%g", (double)bounds_us[b] / 1e6);
			else
				strcpy(le, "+Inf");
			cum += bucket[b];
			first = true;
			fprintf(out, "%s_bucket", name);
			prom_labels(out, s, i, &first);
			format_prom_label(out, "le", le, &first);
			fprintf(out, "} %llu\n", cum);
		}
		first = true;
		fprintf(out, "%s_sum", name);
		prom_labels(out, s, i, &first);
		fputs("} ", out);
		prom_seconds(out, sum_ns);
		first = true;
		fprintf(out, "\n%s_count", name);
		prom_labels(out, s, i, &first);
		fprintf(out, "} %llu\n", count);
	}
}

/* The exposition format wants each family in one block: the loop runs
 * over the fields, and inside over the sessions. */
int sessions_prometheus(FILE *out, const struct reply *r)
{
	struct sessions s;

	if (sessions_index(r, &s) < 0)
		return -1;
	prom_header(out, "larsd_sessions", "Measuring sessions configured", "gauge");
	fprintf(out, "larsd_sessions %zu\n", s.n);
	for (size_t f = 0; f < SESSION_NFIELDS; f++) {
		if (fields[f].kind == SK_COUNTER || fields[f].kind == SK_FLAG)
			prom_values(out, &s, f);
		else if (fields[f].kind == SK_HIST)
			prom_hist(out, &s, f);
	}
	sessions_free(&s);
	return 0;
}
