/*
 * spec.c - the impairment schedule (see spec.h).  rand: is counter-based,
 * splitmix64 at position i of the stream, so index i's answer costs one
 * mix and needs no state: the same seed gives the same indices whatever
 * the traffic, and streams never consume each other's draws.
 */
#include "config.h"

#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

bool spec_parse_u64(const char *s, const char *end, uint64_t *v)
{
	char *stop;

	if (s == end || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &stop, 10);
	return errno == 0 && stop == end;
}

static const char *parse_every(struct spec *sp, const char *s, const char *end)
{
	const char *plus = strchr(s, '+');

	sp->kind = SPEC_EVERY;
	if (!spec_parse_u64(s, plus ? plus : end, &sp->k) || sp->k == 0)
		return "K must be a number >= 1";
	if (plus && (!spec_parse_u64(plus + 1, end, &sp->o) || sp->o >= sp->k))
		return "O must be a number below K";
	return NULL;
}

static const char *parse_list(struct spec *sp, const char *s, const char *end)
{
	size_t n = 0;

	sp->kind = SPEC_LIST;
	sp->list = malloc(SPEC_MAX_LIST * sizeof(*sp->list));
	if (sp->list == NULL)
		return "out of memory";
	for (;;) {
		const char *comma = strchr(s, ',');

		if (n == SPEC_MAX_LIST)
			return "more than 10000 indices";
		if (!spec_parse_u64(s, comma ? comma : end, &sp->list[n++]))
			return "indices must be numbers separated by commas";
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	/* Sorted without repeats, for bsearch(). */
	qsort(sp->list, n, sizeof(*sp->list), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (sp->nlist == 0 || sp->list[sp->nlist - 1] != sp->list[i])
			sp->list[sp->nlist++] = sp->list[i];
	return NULL;
}

static const char *parse_rand(struct spec *sp, const char *s)
{
	char *stop;

	sp->kind = SPEC_RAND;
	errno = 0;
	sp->p = strtod(s, &stop);
	/* The negated test also refuses NaN. */
	if (*s == '\0' || *stop != '\0' || errno != 0 || !(sp->p >= 0.0 && sp->p <= 1.0))
		return "P must be a probability in [0,1]";
	return NULL;
}

const char *spec_parse(struct spec *sp, const char *text)
{
	const char *end = text + strlen(text);

	spec_free(sp);
	memset(sp, 0, sizeof(*sp));
	if (strncmp(text, "every:", 6) == 0)
		return parse_every(sp, text + 6, end);
	if (strncmp(text, "list:", 5) == 0)
		return parse_list(sp, text + 5, end);
	if (strncmp(text, "rand:", 5) == 0)
		return parse_rand(sp, text + 5);
	return "not every:K[+O], list:A,B,... or rand:P";
}

void spec_seed(struct spec *sp, uint64_t seed, unsigned stream_id)
{
	sp->stream = mix64(seed ^ mix64((uint64_t)stream_id * GOLDEN));
}

bool spec_chosen(const struct spec *sp, uint64_t i)
{
	switch (sp->kind) {
	case SPEC_EVERY:
		return i % sp->k == sp->o;
	case SPEC_LIST:
		return bsearch(&i, sp->list, sp->nlist, sizeof(i), cmp_u64) != NULL;
	case SPEC_RAND:
		/* The top 53 bits of the draw as a double in [0,1). */
		return (double)(mix64(sp->stream + (i + 1) * GOLDEN) >> 11) * 0x1p-53 < sp->p;
	case SPEC_NONE:
		break;
	}
	return false;
}

void spec_free(struct spec *sp)
{
	free(sp->list);
	sp->list = NULL;
	sp->nlist = 0;
}
