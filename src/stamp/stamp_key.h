/*
 * stamp_key.h - the shared key of STAMP's authenticated mode, read from a
 * file that holds it as hex on one line: 16 to 64 bytes (at least the 128
 * bits the HMAC keeps, at most SHA-256's block), the file not readable by
 * group or others.  Used by larsd's configuration (a listener's key_file)
 * and larsd-bench (--auth-key-file); stamp_hmac.h signs with it.
 */
#ifndef STAMP_KEY_H
#define STAMP_KEY_H

#include <stddef.h>
#include <stdint.h>

#define STAMP_KEY_MIN 16u
#define STAMP_KEY_MAX 64u

struct stamp_key {
	uint8_t bytes[STAMP_KEY_MAX];
	size_t len;
};

/* Read the key file at path.  0, or -1 with a one-line reason in err
 * (without the path: the caller says where). */
int stamp_key_read(const char *path, struct stamp_key *key, char *err, size_t errlen);

#endif /* STAMP_KEY_H */
