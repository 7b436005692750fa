/*
 * ctlparse.c - one control socket line to a command.
 *
 * A pure function of the bytes, in a file of its own so that a libFuzzer
 * target (tests/fuzz/fuzz_ctlcmd.c) can drive it without the daemon.
 * Commands are lowercase words, as memcached's text protocol: "stats",
 * "stats pool", ... Subcommands are folded into the enum, so the caller
 * gets a complete command and nothing to parse further.
 */
#include "config.h"

#include "ctlparse.h"

#include <stdbool.h>
#include <string.h>

#define CTL_MAX_WORDS 3

struct word {
	const char *at;
	size_t len;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Split into at most max words; -1 if there are more. */
static int ctl_split(const char *line, size_t len, struct word *w, int max)
{
	int n = 0;
	size_t i = 0;

	for (;;) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			return n;
		if (n == max)
			return -1;
		w[n].at = line + i;
		while (i < len && !is_blank(line[i]))
			i++;
		w[n].len = (size_t)(line + i - w[n].at);
		n++;
	}
}

static bool word_is(const struct word *w, const char *text)
{
	return w->len == strlen(text) && memcmp(w->at, text, w->len) == 0;
}

static const struct {
	const char *sub;
	enum ctl_cmd cmd;
} stats_subs[] = {
	{ "pool", CTL_STATS_POOL },
	{ "listeners", CTL_STATS_LISTENERS },
	{ "workers", CTL_STATS_WORKERS },
	{ "sessions", CTL_STATS_SESSIONS },
	{ "reset", CTL_STATS_RESET },
};

enum ctl_cmd ctl_parse(const char *line, size_t len)
{
	struct word w[CTL_MAX_WORDS];
	int n;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX)
		return CTL_UNKNOWN;
	n = ctl_split(line, len, w, CTL_MAX_WORDS);
	if (n < 1)
		return CTL_UNKNOWN;
	if (word_is(&w[0], "stats")) {
		if (n == 1)
			return CTL_STATS;
		if (n > 2)
			return CTL_UNKNOWN;
		for (size_t i = 0; i < sizeof(stats_subs) / sizeof(stats_subs[0]); i++)
			if (word_is(&w[1], stats_subs[i].sub))
				return stats_subs[i].cmd;
		return CTL_UNKNOWN;
	}
	if (n != 1)
		return CTL_UNKNOWN;
	if (word_is(&w[0], "reload"))
		return CTL_RELOAD;
	if (word_is(&w[0], "version"))
		return CTL_VERSION;
	if (word_is(&w[0], "help"))
		return CTL_HELP;
	return CTL_UNKNOWN;
}
