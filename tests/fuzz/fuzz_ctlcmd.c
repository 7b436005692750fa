/*
 * fuzz_ctlcmd.c - libFuzzer target: the control socket's command parser
 * (src/larsd/ctlparse.c).
 *
 * The input is what a client sends: it is cut into lines at "\n" as
 * ctlsock.c does, and each line goes through ctl_parse().  A reference
 * parser (collapse runs of spaces and tabs, trim, drop one trailing "\r",
 * look the result up in the table of commands) must agree on every line:
 * a command is recognised exactly when its words, and nothing else, are
 * on the line.  The whole input, NULs included, is parsed as one line too.
 */
#include "config.h"

#include "ctlparse.h"
#include "fuzz.h"

#include <string.h>

static const struct {
	const char *text;
	enum ctl_cmd cmd;
} commands[] = {
	{ "stats", CTL_STATS },
	{ "stats pool", CTL_STATS_POOL },
	{ "stats listeners", CTL_STATS_LISTENERS },
	{ "stats workers", CTL_STATS_WORKERS },
	{ "stats sessions", CTL_STATS_SESSIONS },
	{ "stats reset", CTL_STATS_RESET },
	{ "reload", CTL_RELOAD },
	{ "version", CTL_VERSION },
	{ "help", CTL_HELP },
};

static enum ctl_cmd reference(const uint8_t *line, size_t len)
{
	char norm[CTL_LINE_MAX + 1];
	size_t n = 0;
	int pending_blank = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX)
		return CTL_UNKNOWN;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == ' ' || line[i] == '\t') {
			pending_blank = n > 0;
			continue;
		}
		if (pending_blank)
			norm[n++] = ' ';
		pending_blank = 0;
		norm[n++] = (char)line[i];
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strlen(commands[k].text) == n && memcmp(commands[k].text, norm, n) == 0)
			return commands[k].cmd;
	return CTL_UNKNOWN;
}

static void check_line(const uint8_t *line, size_t len)
{
	enum ctl_cmd got = ctl_parse((const char *)line, len);
	enum ctl_cmd want = reference(line, len);

	FUZZ_CHECK(got == want, "line of %zu bytes: parser %d, reference %d", len, (int)got,
		   (int)want);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			check_line(data + start, i - start);
			start = i + 1;
		}
	}
	check_line(data, size);
	return 0;
}
