/*
 * opts.c - impair-relay's command line (see opts.h).  Addresses are
 * numeric only, IPv4 as ADDR:PORT and IPv6 as [ADDR]:PORT, so a test
 * never depends on a resolver or on which family "localhost" means.
 */
#include "config.h"

#include "opts.h"

#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *const opts_dir_name[NDIR] = {"fwd", "back"};
static const char *const imp_name[NIMP] = {"drop", "dup", "reorder"};

/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric only; NULL or a reason. */
static const char *parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			      bool port0_ok)
{
	char host[INET6_ADDRSTRLEN + 32];
	const char *port, *h = s, *hend;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai;
	uint64_t pnum;

	if (*s == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (hend == NULL || hend[1] != ':')
			return "not [IPV6]:PORT";
		port = hend + 2;
		hints.ai_family = AF_INET6;
	} else {
		hend = strrchr(s, ':');
		if (hend == NULL)
			return "no :PORT";
		if (memchr(s, ':', (size_t)(hend - s)) != NULL)
			return "an IPv6 address needs brackets: [ADDR]:PORT";
		port = hend + 1;
		hints.ai_family = AF_INET;
	}
	if (!spec_parse_u64(port, port + strlen(port), &pnum) || pnum > 65535 ||
	    (pnum == 0 && !port0_ok))
		return port0_ok ? "PORT must be 0..65535" : "PORT must be 1..65535";
	if ((size_t)(hend - h) >= sizeof(host))
		return "address too long";
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return "not a numeric IPv4 address or [IPv6] address";
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return NULL;
}

void opts_format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static void usage(FILE *f)
{
	fputs("usage: impair-relay --listen ADDR:PORT --to ADDR:PORT [--seed N]\n"
	      "         [--drop-fwd SPEC] [--drop-back SPEC] [--dup-fwd SPEC] [--dup-back SPEC]\n"
	      "         [--reorder-fwd SPEC] [--reorder-back SPEC] [--reorder-hold-ms MS]\n"
	      "         [--delay-ms MS] [--report FILE] [--duration S]\n"
	      "SPEC: every:K[+O] | list:A,B,... | rand:P.  ADDR: IPv4 or [IPv6]; --listen port 0\n"
	      "picks one.  Prints \"listening ADDR:PORT\" when ready.  See the top of relay.c.\n",
	      f);
}

/* A number in [lo, hi] into *v, or an error line naming the option. */
static bool arg_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (spec_parse_u64(s, s + strlen(s), v) && *v >= lo && *v <= hi)
		return true;
	fprintf(stderr, "impair-relay: %s \"%s\": not a number in %" PRIu64 "..%" PRIu64 "\n", opt, s,
		lo, hi);
	return false;
}

enum { OPT_LISTEN = 256, OPT_TO, OPT_SEED, OPT_DELAY, OPT_HOLD, OPT_REPORT, OPT_DURATION,
       OPT_HELP, OPT_SPEC /* + dir * NIMP + imp */ };

static const struct option options[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"to", required_argument, NULL, OPT_TO},
	{"seed", required_argument, NULL, OPT_SEED},
	{"delay-ms", required_argument, NULL, OPT_DELAY},
	{"reorder-hold-ms", required_argument, NULL, OPT_HOLD},
	{"report", required_argument, NULL, OPT_REPORT},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"help", no_argument, NULL, OPT_HELP},
	{"drop-fwd", required_argument, NULL, OPT_SPEC + FWD * NIMP + DROP},
	{"drop-back", required_argument, NULL, OPT_SPEC + BACK * NIMP + DROP},
	{"dup-fwd", required_argument, NULL, OPT_SPEC + FWD * NIMP + DUP},
	{"dup-back", required_argument, NULL, OPT_SPEC + BACK * NIMP + DUP},
	{"reorder-fwd", required_argument, NULL, OPT_SPEC + FWD * NIMP + REORDER},
	{"reorder-back", required_argument, NULL, OPT_SPEC + BACK * NIMP + REORDER},
	{NULL, 0, NULL, 0},
};

enum opts_result opts_parse(struct opts *o, int argc, char **argv)
{
	const char *listen_arg = NULL, *to_arg = NULL, *why;
	bool ok = true;
	uint64_t v;
	int opt;

	o->seed = 1;
	o->hold_ms = 200;
	o->duration_s = 600;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			listen_arg = optarg;
			break;
		case OPT_TO:
			to_arg = optarg;
			break;
		case OPT_SEED:
			ok &= arg_uint("--seed", optarg, 0, UINT64_MAX, &o->seed);
			break;
		case OPT_DELAY:
			if (arg_uint("--delay-ms", optarg, 0, 60000, &v))
				o->delay_ms = (unsigned)v;
			else
				ok = false;
			break;
		case OPT_HOLD:
			if (arg_uint("--reorder-hold-ms", optarg, 1, 60000, &v))
				o->hold_ms = (unsigned)v;
			else
				ok = false;
			break;
		case OPT_DURATION:
			if (arg_uint("--duration", optarg, 1, 86400, &v))
				o->duration_s = (unsigned)v;
			else
				ok = false;
			break;
		case OPT_REPORT:
			o->report = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return OPTS_HELP;
		case ':':
			fprintf(stderr, "impair-relay: %s needs a value\n", argv[optind - 1]);
			ok = false;
			break;
		case '?':
			fprintf(stderr, "impair-relay: unknown option %s\n", argv[optind - 1]);
			ok = false;
			break;
		default: {
			int d = (opt - OPT_SPEC) / NIMP, k = (opt - OPT_SPEC) % NIMP;
			struct spec *sp = &o->spec[d][k];

			why = spec_parse(sp, optarg);
			if (why != NULL) {
				fprintf(stderr, "impair-relay: --%s-%s \"%s\": %s\n", imp_name[k],
					opts_dir_name[d], optarg, why);
				ok = false;
			}
		}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "impair-relay: unexpected argument \"%s\"\n", argv[optind]);
		ok = false;
	}
	if (listen_arg == NULL) {
		fprintf(stderr, "impair-relay: --listen ADDR:PORT is required\n");
		ok = false;
	} else if ((why = parse_addr(listen_arg, &o->listen_addr, &o->listen_len, true)) != NULL) {
		fprintf(stderr, "impair-relay: --listen \"%s\": %s\n", listen_arg, why);
		ok = false;
	}
	if (to_arg == NULL) {
		fprintf(stderr, "impair-relay: --to ADDR:PORT is required\n");
		ok = false;
	} else if ((why = parse_addr(to_arg, &o->to_addr, &o->to_len, false)) != NULL) {
		fprintf(stderr, "impair-relay: --to \"%s\": %s\n", to_arg, why);
		ok = false;
	}
	/* Each rand stream from the seed and its (direction, impairment). */
	for (int d = 0; d < NDIR; d++)
		for (int k = 0; k < NIMP; k++)
			spec_seed(&o->spec[d][k], o->seed, (unsigned)(d * NIMP + k + 1));
	return ok ? OPTS_OK : OPTS_BAD;
}

void opts_free(struct opts *o)
{
	for (int d = 0; d < NDIR; d++)
		for (int k = 0; k < NIMP; k++)
			spec_free(&o->spec[d][k]);
}
