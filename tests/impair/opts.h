/*
 * opts.h - impair-relay's command line, parsed once into a plain struct
 * and checked completely (one error line per wrong value) before the relay
 * touches a socket.  Also the relay's vocabulary: the two directions and
 * the three impairments a SPEC can name.
 */
#ifndef IMPAIR_OPTS_H
#define IMPAIR_OPTS_H

#include "spec.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum dir { FWD, BACK, NDIR };		/* client -> --to, --to -> client */
enum imp { DROP, DUP, REORDER, NIMP };

extern const char *const opts_dir_name[NDIR];	/* "fwd", "back" */

struct opts {
	struct sockaddr_storage listen_addr, to_addr;
	socklen_t listen_len, to_len;
	uint64_t seed;			/* default 1 */
	unsigned delay_ms;		/* default 0 */
	unsigned hold_ms;		/* --reorder-hold-ms, default 200 */
	unsigned duration_s;		/* default 600 */
	const char *report;		/* NULL: none */
	struct spec spec[NDIR][NIMP];	/* rand: ones seeded */
};

enum opts_result { OPTS_OK, OPTS_HELP, OPTS_BAD };

/* Fills o from argv.  OPTS_BAD after an "impair-relay: ..." line on
 * stderr for each wrong or missing argument; OPTS_HELP after the usage
 * on stdout. */
enum opts_result opts_parse(struct opts *o, int argc, char **argv);

void opts_free(struct opts *o);

/* "1.2.3.4:5" or "[fe80::1%eth0]:5", for messages and the "listening"
 * line; OPTS_ADDR_MAX holds any. */
#define OPTS_ADDR_MAX 96
void opts_format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out,
		      size_t size);

#endif
