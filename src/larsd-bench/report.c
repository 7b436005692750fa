/*
 * report.c - print the summary of a run (see report.h).
 *
 * Rates are over the measured window: from the end of the warm-up until
 * the last thread stopped.  MB/s counts the bytes of the replies that were
 * counted, whole frames (lars header included), one way: the requests
 * carried the same.  1 MB = 10^6 bytes.  Latencies are in microseconds.
 */
#include "config.h"

#include "report.h"

#include <inttypes.h>

static const double report_pcts[] = {50.0, 90.0, 99.0, 99.9};
static const char *const report_pct_names[] = {"p50", "p90", "p99", "p99.9"};
static const char *const report_pct_keys[] = {"p50", "p90", "p99", "p99_9"};
#define REPORT_NPCT (sizeof(report_pcts) / sizeof(report_pcts[0]))

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static double per_second(uint64_t n, double seconds)
{
	return seconds > 0.0 ? (double)n / seconds : 0.0;
}

static double mb_per_second(const struct report *r)
{
	return per_second(r->c.replies, r->elapsed) * (double)r->pl->frame / 1e6;
}

static double loss_pct(const struct report *r)
{
	uint64_t answered = r->c.replies + r->c.losses;
	return answered ? 100.0 * (double)r->c.losses / (double)answered : 0.0;
}

static double cpu_per_100k(const struct report *r)
{
	return r->c.replies ? r->server_cpu * 100000.0 / (double)r->c.replies : 0.0;
}

uint64_t report_errors(const struct report *r)
{
	return r->c.corrupt + r->c.changed + r->c.conn_errors;
}

/* The first line of the text summary in stamp mode. */
static void report_stamp_head(FILE *f, const struct report *r)
{
	const struct bench_opts *o = r->o;

	fprintf(f, "larsd-bench: STAMP to %s, %u %s, ", o->addr_text, o->connections,
		o->connections == 1 ? "socket" : "sockets");
	if (o->rate > 0)
		fprintf(f, "%.0f packets/s", o->rate);
	else
		fprintf(f, "closed loop, depth %u", o->depth);
	fprintf(f, ", %zu-byte %s%spackets, SSID %u, %s timestamps", o->size,
		o->twamp_light ? "TWAMP-Light " : "", o->auth ? "authenticated " : "",
		(unsigned)o->ssid, o->ptp ? "PTPv2" : "NTP");
	if (o->tlvs & ~OPTS_TLV_SSID)
		fprintf(f, ", TLVs%s%s%s", o->tlvs & OPTS_TLV_COS ? " cos" : "",
			o->tlvs & OPTS_TLV_TIMESTAMP ? " timestamp" : "",
			o->tlvs & OPTS_TLV_PADDING ? " padding" : "");
	if (o->dscp >= 0)
		fprintf(f, ", DSCP %d", o->dscp);
	if (o->verify == VERIFY_NONE)
		fprintf(f, ", replies not read (--verify none)");
	fprintf(f, ", %u thread%s\n", o->threads, o->threads == 1 ? "" : "s");
}

void report_text(FILE *f, const struct report *r)
{
	const struct bench_opts *o = r->o;

	if (o->mode == BENCH_STAMP)
		report_stamp_head(f, r);
	else
	fprintf(f, "larsd-bench: %s %s to %s, %u %s, depth %u, %zu-byte %s (%zu-byte frames), "
		   "%u thread%s\n",
		opts_proto_name(o->proto), opts_mode_name(o->mode), o->addr_text, o->connections,
		o->proto == BENCH_UDP ? (o->connections == 1 ? "socket" : "sockets")
				      : (o->connections == 1 ? "connection" : "connections"),
		o->depth, o->size, o->mode == BENCH_LARS ? "body" : "payload", r->pl->frame,
		o->threads, o->threads == 1 ? "" : "s");
	fprintf(f, "duration    %.3f s", r->elapsed);
	if (o->warmup > 0)
		fprintf(f, " after %.3f s of warm-up", o->warmup);
	fprintf(f, "%s\n", r->interrupted ? " (interrupted)" : "");
	fprintf(f, "replies     %" PRIu64 " (%.0f/s)\n", r->c.replies,
		per_second(r->c.replies, r->elapsed));
	fprintf(f, "throughput  %.2f MB/s each way (reply frames; 1 MB = 10^6 bytes)\n",
		mb_per_second(r));
	fprintf(f, o->mode == BENCH_STAMP ? "rtt T4-T1 us:" : "latency us ");
	for (size_t i = 0; i < REPORT_NPCT; i++)
		fprintf(f, " %s %.1f", report_pct_names[i],
			us(hist_percentile(r->h, report_pcts[i])));
	fprintf(f, "  max %.1f  mean %.1f\n", us(r->h->max), hist_mean(r->h) / 1000.0);
	fprintf(f, "errors      %" PRIu64 ": %" PRIu64 " corrupt replies, %" PRIu64
		   " connection errors",
		report_errors(r), r->c.corrupt, r->c.conn_errors);
	if (o->mode == BENCH_LARS)
		fprintf(f, ", %" PRIu64 " changed replies (verify %s)", r->c.changed,
			opts_verify_name(o->verify));
	fprintf(f, "\n");
	if (r->c.unsolicited)
		fprintf(f, "unsolicited %" PRIu64 " frames with another msgid (not errors)\n",
			r->c.unsolicited);
	if (o->proto == BENCH_UDP)
		fprintf(f, "losses      %" PRIu64 " (%.2f %%) after %u ms, %" PRIu64
			   " late replies\n",
			r->c.losses, loss_pct(r), o->timeout_ms, r->c.late);
	if (r->stamp)
		stamp_stats_text(f, r->stamp);
	if (r->server) {
		fprintf(f, "server      pid %ld: ", (long)o->server_pid);
		if (r->server_cpu >= 0.0)
			fprintf(f, "%.2f CPU s, %.3f CPU s per 100k replies", r->server_cpu,
				cpu_per_100k(r));
		else
			fprintf(f, "CPU time unknown");
		if (r->server_rss_kib >= 0)
			fprintf(f, ", RSS %ld KiB\n", r->server_rss_kib);
		else
			fprintf(f, ", RSS unknown\n");
	}
}

void report_json(FILE *f, const struct report *r)
{
	const struct bench_opts *o = r->o;

	fprintf(f, "{\"proto\":\"%s\",\"mode\":\"%s\",\"target\":\"%s\",", opts_proto_name(o->proto),
		opts_mode_name(o->mode), o->addr_text);
	fprintf(f, "\"connections\":%u,\"threads\":%u,\"depth\":%u,\"size\":%zu,"
		   "\"frame_bytes\":%zu,",
		o->connections, o->threads, o->depth, o->size, r->pl->frame);
	if (o->mode == BENCH_LARS)
		fprintf(f, "\"msgid\":%ld,", (long)o->msgid);
	if (o->mode != BENCH_STAMP)
		fprintf(f, "\"verify\":\"%s\",", opts_verify_name(o->verify));
	else
		fprintf(f, "\"rate_pps\":%.0f,\"ssid\":%u,\"timestamps\":\"%s\",", o->rate,
			(unsigned)o->ssid, o->ptp ? "ptp" : "ntp");
	if (o->proto == BENCH_UDP)
		fprintf(f, "\"timeout_ms\":%u,", o->timeout_ms);
	fprintf(f, "\"warmup_s\":%.3f,\"duration_s\":%.6f,\"interrupted\":%s,", o->warmup,
		r->elapsed, r->interrupted ? "true" : "false");
	fprintf(f, "\"sent\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"replies_per_s\":%.1f,"
		   "\"mb_per_s\":%.3f,",
		r->c.sent, r->c.replies, per_second(r->c.replies, r->elapsed), mb_per_second(r));
	fprintf(f, "\"latency_us\":{\"min\":%.3f,\"mean\":%.3f,", r->h->count ? us(r->h->min) : 0.0,
		hist_mean(r->h) / 1000.0);
	for (size_t i = 0; i < REPORT_NPCT; i++)
		fprintf(f, "\"%s\":%.3f,", report_pct_keys[i],
			us(hist_percentile(r->h, report_pcts[i])));
	fprintf(f, "\"max\":%.3f},", us(r->h->max));
	fprintf(f, "\"errors\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"connection_errors\":%" PRIu64
		   ",",
		report_errors(r), r->c.corrupt, r->c.conn_errors);
	fprintf(f, "\"changed\":%" PRIu64 ",\"unsolicited\":%" PRIu64 ",", r->c.changed,
		r->c.unsolicited);
	if (r->stamp) {
		stamp_stats_json(f, r->stamp);
		fprintf(f, ",");
	}
	fprintf(f, "\"losses\":%" PRIu64 ",\"loss_pct\":%.3f,\"late\":%" PRIu64 ",", r->c.losses,
		loss_pct(r), r->c.late);
	if (r->server) {
		fprintf(f, "\"server\":{\"pid\":%ld,", (long)o->server_pid);
		if (r->server_cpu >= 0.0)
			fprintf(f, "\"cpu_s\":%.3f,\"cpu_s_per_100k\":%.4f,", r->server_cpu,
				cpu_per_100k(r));
		else
			fprintf(f, "\"cpu_s\":null,\"cpu_s_per_100k\":null,");
		if (r->server_rss_kib >= 0)
			fprintf(f, "\"rss_kib\":%ld}", r->server_rss_kib);
		else
			fprintf(f, "\"rss_kib\":null}");
	} else {
		fprintf(f, "\"server\":null");
	}
	fprintf(f, "}\n");
}
