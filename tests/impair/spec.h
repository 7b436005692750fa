/*
 * spec.h - which datagram indices an impairment hits: the SPECs of
 * impair-relay (every:K[+O], list:A,B,..., rand:P), parsed once, then
 * asked index by index.  Pure: the answer for index i depends on the SPEC,
 * the stream's seed and i alone, never on what was asked before, so a
 * test can compute a relay's schedule itself.  See relay.c for the rules.
 */
#ifndef IMPAIR_SPEC_H
#define IMPAIR_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_MAX_LIST 10000	/* indices a list: SPEC may name */

struct spec {
	enum { SPEC_NONE, SPEC_EVERY, SPEC_LIST, SPEC_RAND } kind;
	uint64_t k, o;		/* every */
	uint64_t *list;		/* list: sorted, no repeats */
	size_t nlist;
	double p;		/* rand */
	uint64_t stream;	/* rand: splitmix64 state before index 0 */
};

/* Parses text into sp (zeroed first, any old list freed); NULL, or a
 * static reason for the error line. */
const char *spec_parse(struct spec *sp, const char *text);

/* Gives a rand: SPEC its stream: one per (seed, stream id). */
void spec_seed(struct spec *sp, uint64_t seed, unsigned stream_id);

bool spec_chosen(const struct spec *sp, uint64_t i);

void spec_free(struct spec *sp);

/* A whole unsigned decimal number in [s, end), nothing else. */
bool spec_parse_u64(const char *s, const char *end, uint64_t *v);

#endif
