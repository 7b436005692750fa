/*
 * lars.c - find frame boundaries in a byte stream (see lars.h).
 */
#include "config.h"

#include "lars.h"

enum lars_status lars_scan(const unsigned char *p, size_t len, uint32_t max_message,
			   size_t *complete, size_t *frames, size_t *next_frame)
{
	size_t off = 0;

	*frames = 0;
	*next_frame = 0;
	while (len - off >= LARS_HEADER_SIZE) {
		int32_t msglen = lars_get32(p + off + 4);
		if (msglen < 0 || (uint32_t)msglen > max_message) {
			*complete = off;
			return LARS_TOO_LONG;
		}
		size_t frame = LARS_HEADER_SIZE + (size_t)msglen;
		if (len - off < frame) {
			*next_frame = frame;
			break;
		}
		off += frame;
		(*frames)++;
	}
	*complete = off;
	return LARS_OK;
}

enum lars_status lars_check_datagram(const unsigned char *p, size_t len,
				     uint32_t max_message)
{
	if (len < LARS_HEADER_SIZE)
		return LARS_MALFORMED;
	int32_t msglen = lars_get32(p + 4);
	if (msglen < 0 || (uint32_t)msglen > max_message)
		return LARS_TOO_LONG;
	if ((size_t)msglen != len - LARS_HEADER_SIZE)
		return LARS_MALFORMED;
	return LARS_OK;
}
