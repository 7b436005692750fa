/*
 * options.c - parse and check the command line (see options.h).
 *
 * Values are parsed as they come; limits that depend on other options
 * (the size range depends on --proto and --mode, threads are capped by
 * connections) are checked once everything is read.  Every error is one
 * line naming the option and the value, like
 *     --size: 'x' is not a number
 */
#include "config.h"

#include "options.h"
#include "payload.h"
#include "stamp_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_SIZE 64
#define DEFAULT_SSID 1
#define DEFAULT_DURATION 5.0
#define DEFAULT_TIMEOUT_MS 200u
#define MAX_SECONDS 1e6

enum {
	OPT_TIMEOUT = 256,
	OPT_MSGID,
	OPT_JSON,
	OPT_SERVER_PID,
	OPT_WARMUP,
	OPT_VERIFY,
	OPT_STAMP,
	OPT_RATE,
	OPT_SSID,
	OPT_PTP,
	OPT_TWAMP_LIGHT,
	OPT_AUTH_KEY_FILE,
	OPT_TLV,
	OPT_DSCP,
};

static const struct option long_options[] = {
	{"proto", required_argument, NULL, 'p'},
	{"mode", required_argument, NULL, 'm'},
	{"host", required_argument, NULL, 'H'},
	{"port", required_argument, NULL, 'P'},
	{"connections", required_argument, NULL, 'c'},
	{"size", required_argument, NULL, 's'},
	{"depth", required_argument, NULL, 'd'},
	{"duration", required_argument, NULL, 't'},
	{"count", required_argument, NULL, 'n'},
	{"threads", required_argument, NULL, 'T'},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"msgid", required_argument, NULL, OPT_MSGID},
	{"json", no_argument, NULL, OPT_JSON},
	{"server-pid", required_argument, NULL, OPT_SERVER_PID},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"verify", required_argument, NULL, OPT_VERIFY},
	{"stamp", no_argument, NULL, OPT_STAMP},
	{"rate", required_argument, NULL, OPT_RATE},
	{"ssid", required_argument, NULL, OPT_SSID},
	{"ptp", no_argument, NULL, OPT_PTP},
	{"twamp-light", no_argument, NULL, OPT_TWAMP_LIGHT},
	{"auth-key-file", required_argument, NULL, OPT_AUTH_KEY_FILE},
	{"tlv", required_argument, NULL, OPT_TLV},
	{"dscp", required_argument, NULL, OPT_DSCP},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

void opts_usage(FILE *out)
{
	fprintf(out,
		"usage: larsd-bench -P PORT [options]\n"
		"Closed-loop load generator and latency meter for echo services.\n"
		"  -p, --proto tcp|udp        protocol (default tcp)\n"
		"  -m, --mode echo|lars|stamp RFC 862 echo, Lars frames, or an RFC 8762\n"
		"                             STAMP Session-Sender (default echo)\n"
		"  -H, --host ADDRESS         server address or name (default " DEFAULT_HOST ")\n"
		"  -P, --port PORT            server port (required)\n"
		"  -c, --connections N        TCP connections or UDP sockets (default 1)\n"
		"  -s, --size BYTES           payload, the body in lars mode (default %d)\n"
		"  -d, --depth N              messages in flight per connection (default 1)\n"
		"  -t, --duration SECONDS     measure this long (default 5 without -n)\n"
		"  -n, --count N              stop after N replies (UDP: replies + losses)\n"
		"  -T, --threads N            threads, each with its event loop (default 1)\n"
		"      --timeout MS           UDP: a reply is lost after MS; TCP: a reply\n"
		"                             stalled MS at the end is short (default %u)\n"
		"      --verify bytes|frames|none  compare replies byte for byte, frame by\n"
		"                             frame (lars mode, its default), or not\n"
		"      --msgid N              lars mode: the frames' msgid (default 1)\n"
		"      --stamp                the same as --mode stamp (UDP)\n"
		"      --rate PPS             stamp mode: send at this rate, all sockets\n"
		"                             together (default: closed loop, --depth)\n"
		"      --ssid N               stamp mode: Session-Sender Identifier (default %d)\n"
		"      --ptp                  stamp mode: PTPv2 timestamps instead of NTP\n"
		"      --twamp-light          stamp mode: 14-byte TWAMP-Light requests\n"
		"      --auth-key-file FILE   stamp mode: authenticated (HMAC-SHA-256), the\n"
		"                             key as hex on one line, mode 600\n"
		"      --tlv LIST             stamp mode: RFC 8972 TLVs, comma separated:\n"
		"                             ssid, padding, cos, timestamp\n"
		"      --dscp N               stamp mode: the packets' DSCP, and the one a\n"
		"                             Class of Service TLV asks for the replies\n"
		"      --warmup SECONDS       run this long before measuring (default 0)\n"
		"      --server-pid PID       report the server's CPU time and memory\n"
		"      --json                 print the summary as one JSON object\n"
		"  -q, --quiet                no progress line\n"
		"  -h, --help                 print this help and exit\n"
		"  -V, --version              print the version and exit\n"
		"Exit status: 0 no errors, 1 corrupt, short or changed replies or\n"
		"connection errors,\n"
		"2 bad arguments.\n",
		DEFAULT_SIZE, DEFAULT_TIMEOUT_MS, DEFAULT_SSID);
}

const char *opts_proto_name(enum bench_proto p)
{
	return p == BENCH_UDP ? "udp" : "tcp";
}

const char *opts_mode_name(enum bench_mode m)
{
	return m == BENCH_LARS ? "lars" : m == BENCH_STAMP ? "stamp" : "echo";
}

const char *opts_verify_name(enum bench_verify v)
{
	return v == VERIFY_FRAMES ? "frames" : v == VERIFY_NONE ? "none" : "bytes";
}

static enum opts_result bad(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum opts_result bad(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return OPTS_BAD;
}

/* A decimal integer in [min, max]; false with err set otherwise. */
static bool parse_int(const char *name, const char *s, long long min, long long max,
		      long long *out, char *err, size_t err_len)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '+' || *end != '\0') {
		bad(err, err_len, "%s: '%s' is not a number", name, s);
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		bad(err, err_len, "%s: '%s' is out of range (%lld..%lld)", name, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* Seconds as a decimal fraction in [min, MAX_SECONDS]; min_open: > min. */
static bool parse_seconds(const char *name, const char *s, double min, bool min_open,
			  double *out, char *err, size_t err_len)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *s == ' ' || *s == '\t' || *end != '\0' || errno == ERANGE ||
	    !isfinite(v)) {
		bad(err, err_len, "%s: '%s' is not a number of seconds", name, s);
		return false;
	}
	if (v < min || (min_open && v == min) || v > MAX_SECONDS) {
		bad(err, err_len, "%s: '%s' is out of range (%s%g..%g seconds)", name, s,
		    min_open ? "more than " : "", min, MAX_SECONDS);
		return false;
	}
	*out = v;
	return true;
}

/* --tlv: a comma-separated list of choices. */
static bool parse_tlvs(const char *s, unsigned *out, char *err, size_t err_len)
{
	static const struct { const char *name; unsigned bit; } choices[] = {
		{"ssid", OPTS_TLV_SSID}, {"padding", OPTS_TLV_PADDING},
		{"cos", OPTS_TLV_COS}, {"timestamp", OPTS_TLV_TIMESTAMP},
	};
	const char *p = s;

	*out = 0;
	while (*p) {
		size_t n = strcspn(p, ","), i = 0;
		while (i < sizeof(choices) / sizeof(choices[0]) &&
		       !(strlen(choices[i].name) == n && strncmp(p, choices[i].name, n) == 0))
			i++;
		if (i == sizeof(choices) / sizeof(choices[0])) {
			bad(err, err_len, "--tlv: '%.*s' is not ssid, padding, cos or timestamp",
			    (int)n, p);
			return false;
		}
		*out |= choices[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*out) {
		bad(err, err_len, "--tlv: name at least one of ssid, padding, cos, timestamp");
		return false;
	}
	return true;
}

/* Host (an IPv4 or IPv6 literal, [v6] too, or a name) and port. */
static bool resolve(struct bench_opts *o, char *err, size_t err_len)
{
	char host[256];
	size_t len = strlen(o->host);
	const char *h = o->host;
	struct addrinfo hints, *res;

	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host)) {
		bad(err, err_len, "--host: '%s' is not an address", o->host);
		return false;
	}
	memcpy(host, h, len);
	host[len] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = o->proto == BENCH_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		bad(err, err_len, "--host: cannot resolve '%s': %s", o->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return false;
	}
	memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
	o->addr_len = res->ai_addrlen;
	freeaddrinfo(res);

	char text[INET6_ADDRSTRLEN];
	if (o->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&o->addr;
		a->sin6_port = htons(o->port);
		inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
		snprintf(o->addr_text, sizeof(o->addr_text), "[%s]:%u", text, (unsigned)o->port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&o->addr;
		a->sin_port = htons(o->port);
		inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
		snprintf(o->addr_text, sizeof(o->addr_text), "%s:%u", text, (unsigned)o->port);
	}
	return true;
}

/* What depends on several options. */
static enum opts_result check(struct bench_opts *o, bool have_port, bool have_duration,
			      bool have_proto, bool have_size, int verify, char *err,
			      size_t err_len)
{
	size_t min_size, max_size;

	if (!have_port)
		return bad(err, err_len, "--port is required");
	if (o->mode == BENCH_STAMP) {
		if (have_proto && o->proto != BENCH_UDP)
			return bad(err, err_len, "--stamp: STAMP runs over UDP, not %s",
				   opts_proto_name(o->proto));
		o->proto = BENCH_UDP;
		if (verify == VERIFY_FRAMES)
			return bad(err, err_len, "--verify: 'frames' needs --mode lars");
		if (o->twamp_light && (o->auth || o->tlvs))
			return bad(err, err_len,
				   "--twamp-light: a TWAMP-Light packet has no room for --tlv or --auth-key-file");
		if ((o->tlvs & OPTS_TLV_COS) && o->dscp < 0)
			return bad(err, err_len, "--tlv cos needs --dscp");
		if (o->twamp_light && have_size && o->size != STAMP_TWAMP_LIGHT_MIN)
			return bad(err, err_len, "--twamp-light sends %u-byte packets: no --size",
				   STAMP_TWAMP_LIGHT_MIN);
		if (o->twamp_light)
			o->size = STAMP_TWAMP_LIGHT_MIN;
		else if (!have_size)
			o->size = stamp_request_min(o);
		size_t extra = o->size > stamp_request_min(o) ? o->size - stamp_request_min(o) : 0;
		if ((o->tlvs & ~OPTS_TLV_SSID) && !(o->tlvs & OPTS_TLV_PADDING) && extra > 0 &&
		    extra < STAMP_TLV_HDR)
			return bad(err, err_len,
				   "--size: %zu leaves %zu bytes after the TLVs, too few for an Extra Padding TLV (4 or more)",
				   o->size, extra);
	} else if (o->rate > 0 || o->ssid != DEFAULT_SSID || o->ptp || o->twamp_light ||
		   o->auth || o->tlvs || o->dscp >= 0) {
		return bad(err, err_len,
			   "--rate, --ssid, --ptp, --twamp-light, --auth-key-file, --tlv and --dscp need --stamp");
	}
	if (verify < 0)
		o->verify = o->mode == BENCH_LARS ? VERIFY_FRAMES : VERIFY_BYTES;
	else
		o->verify = (enum bench_verify)verify;
	if (o->verify == VERIFY_FRAMES && o->mode != BENCH_LARS)
		return bad(err, err_len, "--verify: 'frames' needs --mode lars");
	if (o->mode == BENCH_STAMP) {
		min_size = o->twamp_light ? STAMP_TWAMP_LIGHT_MIN : stamp_request_min(o);
		max_size = OPTS_MAX_UDP_DATAGRAM;
	} else if (o->proto == BENCH_UDP) {
		min_size = OPTS_UDP_MIN_SIZE;
		max_size = OPTS_MAX_UDP_DATAGRAM - (o->mode == BENCH_LARS ? LARS_HEADER_SIZE : 0);
	} else {
		min_size = o->mode == BENCH_LARS ? 0 : 1;
		max_size = OPTS_MAX_TCP_SIZE;
	}
	if (o->size < min_size || o->size > max_size)
		return bad(err, err_len, "--size: %zu is out of range for %s %s (%zu..%zu)",
			   o->size, opts_proto_name(o->proto), opts_mode_name(o->mode),
			   min_size, max_size);
	if (!have_duration)
		o->duration = o->count ? 0.0 : DEFAULT_DURATION;
	if (o->threads > o->connections)
		o->threads = o->connections;
	return resolve(o, err, err_len) ? OPTS_RUN : OPTS_BAD;
}

enum opts_result opts_parse(struct bench_opts *o, int argc, char **argv, char *err,
			    size_t err_len)
{
	bool have_port = false, have_duration = false, have_proto = false, have_size = false;
	int verify = -1; /* not given */
	long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->proto = BENCH_TCP;
	o->mode = BENCH_ECHO;
	o->host = DEFAULT_HOST;
	o->connections = 1;
	o->threads = 1;
	o->depth = 1;
	o->size = DEFAULT_SIZE;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->msgid = 1;
	o->ssid = DEFAULT_SSID;
	o->dscp = -1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:m:H:P:c:s:d:t:n:T:qhV", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (strcmp(optarg, "tcp") == 0)
				o->proto = BENCH_TCP;
			else if (strcmp(optarg, "udp") == 0)
				o->proto = BENCH_UDP;
			else
				return bad(err, err_len, "--proto: '%s' is not tcp or udp", optarg);
			have_proto = true;
			break;
		case 'm':
			if (strcmp(optarg, "echo") == 0)
				o->mode = BENCH_ECHO;
			else if (strcmp(optarg, "lars") == 0)
				o->mode = BENCH_LARS;
			else if (strcmp(optarg, "stamp") == 0)
				o->mode = BENCH_STAMP;
			else
				return bad(err, err_len, "--mode: '%s' is not echo, lars or stamp",
					   optarg);
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'P':
			if (!parse_int("--port", optarg, 1, 65535, &v, err, err_len))
				return OPTS_BAD;
			o->port = (uint16_t)v;
			have_port = true;
			break;
		case 'c':
			if (!parse_int("--connections", optarg, 1, OPTS_MAX_CONNECTIONS, &v, err,
				       err_len))
				return OPTS_BAD;
			o->connections = (unsigned)v;
			break;
		case 's':
			if (!parse_int("--size", optarg, 0, (long long)OPTS_MAX_TCP_SIZE, &v, err,
				       err_len))
				return OPTS_BAD;
			o->size = (size_t)v;
			have_size = true;
			break;
		case 'd':
			if (!parse_int("--depth", optarg, 1, OPTS_MAX_DEPTH, &v, err, err_len))
				return OPTS_BAD;
			o->depth = (unsigned)v;
			break;
		case 't':
			if (!parse_seconds("--duration", optarg, 0.0, true, &o->duration, err,
					   err_len))
				return OPTS_BAD;
			have_duration = true;
			break;
		case 'n':
			if (!parse_int("--count", optarg, 1, (long long)1e15, &v, err, err_len))
				return OPTS_BAD;
			o->count = (uint64_t)v;
			break;
		case 'T':
			if (!parse_int("--threads", optarg, 1, OPTS_MAX_THREADS, &v, err, err_len))
				return OPTS_BAD;
			o->threads = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (!parse_int("--timeout", optarg, 1, 3600000, &v, err, err_len))
				return OPTS_BAD;
			o->timeout_ms = (unsigned)v;
			break;
		case OPT_MSGID:
			if (!parse_int("--msgid", optarg, INT32_MIN, INT32_MAX, &v, err, err_len))
				return OPTS_BAD;
			o->msgid = (int32_t)v;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SERVER_PID:
			if (!parse_int("--server-pid", optarg, 1, INT32_MAX, &v, err, err_len))
				return OPTS_BAD;
			o->server_pid = (pid_t)v;
			break;
		case OPT_WARMUP:
			if (!parse_seconds("--warmup", optarg, 0.0, false, &o->warmup, err,
					   err_len))
				return OPTS_BAD;
			break;
		case OPT_VERIFY:
			if (strcmp(optarg, "bytes") == 0)
				verify = VERIFY_BYTES;
			else if (strcmp(optarg, "frames") == 0)
				verify = VERIFY_FRAMES;
			else if (strcmp(optarg, "none") == 0)
				verify = VERIFY_NONE;
			else
				return bad(err, err_len,
					   "--verify: '%s' is not bytes, frames or none", optarg);
			break;
		case OPT_STAMP:
			o->mode = BENCH_STAMP;
			break;
		case OPT_RATE:
			if (!parse_int("--rate", optarg, 1, OPTS_MAX_RATE, &v, err, err_len))
				return OPTS_BAD;
			o->rate = (double)v;
			break;
		case OPT_SSID:
			if (!parse_int("--ssid", optarg, 1, 65535, &v, err, err_len))
				return OPTS_BAD;
			o->ssid = (uint16_t)v;
			break;
		case OPT_PTP:
			o->ptp = true;
			break;
		case OPT_TWAMP_LIGHT:
			o->twamp_light = true;
			break;
		case OPT_AUTH_KEY_FILE: {
			char why[160];
			if (stamp_key_read(optarg, &o->key, why, sizeof(why)) < 0)
				return bad(err, err_len, "--auth-key-file %s: %s", optarg, why);
			o->auth = true;
			break;
		}
		case OPT_TLV:
			if (!parse_tlvs(optarg, &o->tlvs, err, err_len))
				return OPTS_BAD;
			break;
		case OPT_DSCP:
			if (!parse_int("--dscp", optarg, 0, 63, &v, err, err_len))
				return OPTS_BAD;
			o->dscp = (int)v;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			opts_usage(stdout);
			return OPTS_DONE;
		case 'V':
			printf("larsd-bench (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return OPTS_DONE;
		case ':':
			return bad(err, err_len, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return bad(err, err_len, "unknown option '-%c'", optopt);
			return bad(err, err_len, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad(err, err_len, "unexpected argument '%s'", argv[optind]);
	return check(o, have_port, have_duration, have_proto, have_size, verify, err, err_len);
}
