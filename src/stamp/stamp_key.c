/*
 * stamp_key.c - reading the key file of STAMP's authenticated mode (see
 * stamp_key.h).
 */
#include "config.h"

#include "stamp_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The key file's n bytes of text (longer: there was more) into key. */
static int parse_hex(char *text, size_t len, bool longer, struct stamp_key *key, char *err,
		     size_t errlen)
{
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	text[len] = '\0';
	if (strpbrk(text, "\r\n")) {
		snprintf(err, errlen, "the key file must hold the key as hex on one line");
		return -1;
	}
	if (longer || len % 2 || len / 2 < STAMP_KEY_MIN || len / 2 > STAMP_KEY_MAX) {
		if (longer)
			snprintf(err, errlen, "the key must be %u to %u bytes in hex (%u to %u digits), and the file is longer",
				 STAMP_KEY_MIN, STAMP_KEY_MAX, 2 * STAMP_KEY_MIN, 2 * STAMP_KEY_MAX);
		else
			snprintf(err, errlen, "the key must be %u to %u bytes in hex (%u to %u digits), not %zu digits",
				 STAMP_KEY_MIN, STAMP_KEY_MAX, 2 * STAMP_KEY_MIN, 2 * STAMP_KEY_MAX, len);
		return -1;
	}
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "the key has a character that is not a hex digit");
			explicit_bzero(key, sizeof(*key));
			return -1;
		}
		key->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	key->len = len / 2;
	return 0;
}

int stamp_key_read(const char *path, struct stamp_key *key, char *err, size_t errlen)
{
	char text[2 * STAMP_KEY_MAX + 4];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	memset(key, 0, sizeof(*key));
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the key file: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the key file is not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "the key file is open to group or others (mode %04o): chmod 600 it",
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, text, sizeof(text) - 1);
	char more;
	bool longer = n == (ssize_t)sizeof(text) - 1 && read(fd, &more, 1) == 1;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the key file: %s", strerror(errno));
		return -1;
	}
	int rc = parse_hex(text, (size_t)n, longer, key, err, errlen);
	explicit_bzero(text, sizeof(text)); /* the key's text, whatever became of it */
	return rc;
}
