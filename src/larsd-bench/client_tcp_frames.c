/*
 * client_tcp_frames.c - lars mode over TCP, reply by reply: the stream
 * that comes back is cut into Lars frames by their headers, not compared
 * with the stream that went out, so a server that sends frames of its own
 * or answers with another body does not make every later reply look
 * corrupt.
 *
 * A frame with the run's msgid, while a request is outstanding, answers
 * the oldest one (message recv_seq): replies come back in order on a
 * connection.  Under --verify frames its header and body are compared
 * with that request: equal is a reply, different is a changed reply (an
 * error, counted apart from corrupt bytes).  Under --verify none it is a
 * reply whatever its body.  Any other frame is unsolicited: counted, not an
 * error.  A header whose body length is negative or over 16 MiB is not a
 * Lars frame: the stream cannot be followed past it, so the reply is
 * corrupt and the connection is closed.
 *
 * Called by client_tcp.c's tcp_read() for each chunk received.
 */
#include "config.h"

#include "client_tcp.h"

#include <string.h>

/* The header is in: what frame is this? false if c had to be closed. */
static bool frames_header(struct worker *w, struct tcp_conn *c)
{
	const struct bench_opts *o = w->run->o;
	const struct payload *pl = w->run->pl;
	int32_t msgid, size;
	lars_header_get(c->fhdr, &msgid, &size);
	/* Sent, at least in part, and not yet answered. */
	bool outstanding = c->recv_seq < c->send_seq || (c->recv_seq == c->send_seq && c->send_off);

	if (size < 0 || (size_t)size > OPTS_MAX_TCP_SIZE) {
		w->counts.corrupt++;
		tcp_fail(w, c, "not a Lars frame (body length out of range)", 0);
		return false;
	}
	c->flen = LARS_HEADER_SIZE + (size_t)size;
	c->fmatch = msgid == o->msgid && outstanding;
	c->bad = false;
	if (c->fmatch && o->verify == VERIFY_FRAMES && (size_t)size != pl->size) {
		worker_tell(w, "changed reply: connection %u, message %llu: %ld-byte body instead of %zu",
			    c->id, (unsigned long long)c->recv_seq, (long)size, pl->size);
		c->bad = true;
	}
	return true;
}

/* The body bytes [recv_off, recv_off + n) of a reply frame, against its request. */
static void frames_check(struct worker *w, struct tcp_conn *c, const unsigned char *p, size_t n)
{
	const struct payload *pl = w->run->pl;
	size_t at = payload_check(pl, c->id, c->recv_seq, c->recv_off, c->recv_off + n, p);

	if (at == PAYLOAD_NONE)
		return;
	unsigned char want;
	payload_fill(pl, c->id, c->recv_seq, at, at + 1, &want);
	worker_tell(w, "changed reply: connection %u, message %llu, byte %zu: 0x%02x instead of 0x%02x",
		    c->id, (unsigned long long)c->recv_seq, at, p[at - c->recv_off], want);
	c->bad = true;
}

/* The frame is complete. */
static void frames_done(struct worker *w, struct tcp_conn *c)
{
	if (c->fmatch) {
		if (c->bad)
			worker_changed(w);
		else
			worker_reply(w, c->sent_ns[c->recv_seq % w->run->o->depth]);
		c->recv_seq++;
	} else {
		w->counts.unsolicited++;
	}
	c->recv_off = 0;
	c->flen = 0;
	c->bad = false;
	c->fmatch = false;
}

bool tcp_absorb_frames(struct worker *w, struct tcp_conn *c, const unsigned char *p, size_t n)
{
	bool verify = w->run->o->verify == VERIFY_FRAMES;

	while (n > 0) {
		size_t part;
		if (c->flen == 0) {
			part = LARS_HEADER_SIZE - c->recv_off;
			if (part > n)
				part = n;
			memcpy(c->fhdr + c->recv_off, p, part);
			c->recv_off += part;
			if (c->recv_off == LARS_HEADER_SIZE && !frames_header(w, c))
				return false;
		} else {
			part = c->flen - c->recv_off;
			if (part > n)
				part = n;
			if (c->fmatch && verify && !c->bad)
				frames_check(w, c, p, part);
			c->recv_off += part;
		}
		p += part;
		n -= part;
		if (c->flen && c->recv_off == c->flen)
			frames_done(w, c);
	}
	return true;
}
