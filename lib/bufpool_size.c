/*
 * bufpool_size.c - tier sizes and the "64M" size notation.
 *
 * bufpool_parse_size() is the one parser of sizes in lars: the singleton's
 * BUFPOOL_MEM_LIMIT variable and larsd's config file both go through it.
 */
#include "config.h"

#include "bufpool_internal.h"

#include <errno.h>

#define TIER_SIZE(t, shift) [t] = (size_t)1 << (shift),
static const size_t tier_sizes[BUFPOOL_TIERS] = { BUFPOOL_TIER_LIST(TIER_SIZE) };
#undef TIER_SIZE

BUFPOOL_API size_t bufpool_tier_size(unsigned tier)
{
	return tier < BUFPOOL_TIERS ? tier_sizes[tier] : 0;
}

BUFPOOL_API int bufpool_tier_index(size_t n)
{
	return tier_of_size(n);
}

BUFPOOL_API int bufpool_parse_size(const char *text, size_t *out)
{
	size_t value = 0;
	const char *p = text;

	if (!text || !out || *p < '0' || *p > '9') {
		errno = EINVAL;
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (value > (SIZE_MAX - digit) / 10) {
			errno = ERANGE;
			return -1;
		}
		value = value * 10 + digit;
	}

	unsigned shift = 0;
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (*p != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (shift && value > (SIZE_MAX >> shift)) {
		errno = ERANGE;
		return -1;
	}
	*out = value << shift;
	return 0;
}
