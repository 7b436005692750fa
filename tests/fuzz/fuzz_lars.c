/*
 * fuzz_lars.c - libFuzzer target: the lars frame decoder (src/lars/lars.c).
 *
 * The input is a TCP byte stream and the events that deliver it:
 *
 *   u32   max_message, taken modulo 8388601 (the config's range, plus 0)
 *   u8    number of events E, then E event bytes
 *   ...   the rest: the byte stream the client sends
 *
 * An event byte reads (bit 7 clear) or sends (bit 7 set) up to
 * (e & 0x3f) + 1 bytes, times 256 if bit 6 is set.  After the events the
 * connection reads and sends everything that is left.
 *
 * conn_* below re-enact what src/larsd/tcp.c does with one lars-mode
 * connection: read into an io_buf from the pool (16K, or a buffer of the
 * whole frame when a frame outgrows it, copying what is buffered), scan
 * with lars_scan() from the last ready offset, count the frames by their
 * headers, send only the ready prefix (partially, as a socket may), stop
 * reading on LARS_TOO_LONG.  What was "sent" must equal exactly the frames
 * a plain reference decoder finds in the whole stream, in order, and the
 * leftover (a partial frame, or the oversize one) must agree too.
 *
 * lars_scan() over the whole stream and lars_check_datagram() over the
 * stream and over every delivered chunk are compared with reference
 * implementations as well.
 */
#include "config.h"

#include "fuzz.h"
#include "lars.h"

#include <bufpool.h>
#include <stdbool.h>
#include <string.h>

#define READ_BUFFER ((size_t)16 << 10) /* TCP_READ_BUFFER in tcp.c */
#define MAX_MESSAGE_LIMIT 8388600u     /* larsd.conf: 8M minus the header */

static bufpool_t *pool;

/* ---- the reference decoder --------------------------------------------- */

struct ref {
	size_t n_frames;
	size_t *off, *len;     /* each whole frame: offset in stream, size */
	size_t end;            /* bytes taken by whole frames */
	bool too_long;         /* the frame at `end` announces a bad length */
	size_t next_frame;     /* size of the partial frame at end, if known */
};

static int64_t ref_msglen(const uint8_t *h)
{
	int64_t v = (int64_t)h[4] + 256 * ((int64_t)h[5] + 256 * ((int64_t)h[6] +
									256 * (int64_t)h[7]));
	return v >= 2147483648LL ? v - 4294967296LL : v; /* int32, two's complement */
}

static void ref_decode(const uint8_t *s, size_t n, uint32_t max, struct ref *r)
{
	memset(r, 0, sizeof(*r));
	r->off = calloc(n / LARS_HEADER_SIZE + 1, sizeof(size_t));
	r->len = calloc(n / LARS_HEADER_SIZE + 1, sizeof(size_t));
	FUZZ_CHECK(r->off && r->len, "out of memory");
	size_t at = 0;
	while (n - at >= LARS_HEADER_SIZE) {
		int64_t body = ref_msglen(s + at);
		if (body < 0 || body > (int64_t)max) {
			r->too_long = true;
			break;
		}
		if ((uint64_t)(n - at) < (uint64_t)body + LARS_HEADER_SIZE) {
			r->next_frame = (size_t)body + LARS_HEADER_SIZE;
			break;
		}
		r->off[r->n_frames] = at;
		r->len[r->n_frames] = (size_t)body + LARS_HEADER_SIZE;
		r->n_frames++;
		at += (size_t)body + LARS_HEADER_SIZE;
	}
	r->end = at;
}

static enum lars_status ref_datagram(const uint8_t *p, size_t n, uint32_t max)
{
	if (n < LARS_HEADER_SIZE)
		return LARS_MALFORMED;
	int64_t body = ref_msglen(p);
	if (body < 0 || body > (int64_t)max)
		return LARS_TOO_LONG;
	return (uint64_t)body + LARS_HEADER_SIZE == n ? LARS_OK : LARS_MALFORMED;
}

static void check_datagram(const uint8_t *p, size_t n, uint32_t max)
{
	enum lars_status got = lars_check_datagram(p, n, max);
	enum lars_status want = ref_datagram(p, n, max);
	FUZZ_CHECK(got == want, "lars_check_datagram(len %zu, max %u) = %d, reference %d",
		   n, max, (int)got, (int)want);
}

/* ---- one connection, as tcp.c handles it -------------------------------- */

struct conn {
	struct io_buf *buf;
	size_t ready;          /* bytes at buf->head that are whole frames */
	size_t next_frame;     /* size of the partial frame after them */
	bool closed;           /* LARS_TOO_LONG seen: read no more */
	uint32_t max_message;
	/* What it did, for the comparison. */
	uint8_t *out;          /* every byte "sent", in order */
	size_t n_out;
	size_t n_frames;       /* frames counted by their headers */
	size_t *frame_len;
};

/* conn_get_room() in tcp.c. */
static bool conn_get_room(struct conn *c)
{
	size_t need = READ_BUFFER;
	if (c->next_frame > need)
		need = c->next_frame;
	if (c->buf && c->buf->capacity >= need) {
		if (io_buf_space(c->buf) == 0)
			io_buf_adjust(c->buf);
		return true;
	}
	struct io_buf *nb = bufpool_alloc(pool, need);
	FUZZ_CHECK(nb != NULL, "bufpool_alloc(%zu) failed", need);
	FUZZ_CHECK(nb->capacity >= need, "buffer of %zu bytes for %zu", nb->capacity, need);
	if (c->buf) {
		FUZZ_CHECK(io_buf_copy(nb, c->buf) == 0, "io_buf_copy to a bigger buffer failed");
		bufpool_revert(pool, c->buf);
	}
	c->buf = nb;
	return true;
}

/* conn_frame() in tcp.c. */
static void conn_frame(struct conn *c)
{
	struct io_buf *b = c->buf;
	size_t complete, frames, next;
	const unsigned char *start = (const unsigned char *)b->data + b->head + c->ready;
	enum lars_status st = lars_scan(start, b->length - c->ready, c->max_message,
					&complete, &frames, &next);
	size_t frames_before = c->n_frames;

	FUZZ_CHECK(complete <= b->length - c->ready, "complete %zu of %zu", complete,
		   b->length - c->ready);
	size_t off = 0;
	while (off < complete) {
		const unsigned char *h = start + off + 4;
		size_t len = LARS_HEADER_SIZE + ((size_t)h[0] | (size_t)h[1] << 8 |
						 (size_t)h[2] << 16 | (size_t)h[3] << 24);
		c->frame_len[c->n_frames++] = len;
		off += len;
	}
	FUZZ_CHECK(off == complete, "frames overrun the complete prefix: %zu > %zu", off,
		   complete);
	FUZZ_CHECK(frames == c->n_frames - frames_before, "lars_scan counted %zu frames, "
		   "the headers say %zu", frames, c->n_frames - frames_before);
	c->ready += complete;
	c->next_frame = next;
	if (st == LARS_TOO_LONG) {
		c->next_frame = 0;
		c->closed = true;
	} else {
		FUZZ_CHECK(st == LARS_OK, "lars_scan returned %d", (int)st);
	}
}

/* Read up to max bytes of the stream; the bytes taken. */
static size_t conn_read(struct conn *c, const uint8_t *src, size_t max)
{
	if (c->closed || max == 0)
		return 0;
	conn_get_room(c);
	size_t room = io_buf_space(c->buf);
	if (room == 0)
		return 0; /* full of unsent output: back pressure */
	size_t n = max < room ? max : room;
	memcpy(io_buf_tail(c->buf), src, n);
	c->buf->length += n;
	conn_frame(c);
	return n;
}

/* Send up to max ready bytes; the bytes sent. */
static size_t conn_send(struct conn *c, size_t max)
{
	if (!c->buf || c->ready == 0)
		return 0;
	size_t n = c->ready < max ? c->ready : max;
	memcpy(c->out + c->n_out, c->buf->data + c->buf->head, n);
	c->n_out += n;
	FUZZ_CHECK(io_buf_pop(c->buf, n) == n, "io_buf_pop(%zu) popped less", n);
	c->ready -= n;
	if (c->buf->length == 0)
		c->next_frame = 0;
	return n;
}

/* The end of tcp_run(): an idle connection holds no buffer. */
static void conn_idle(struct conn *c)
{
	if (c->buf && c->buf->length == 0) {
		bufpool_revert(pool, c->buf);
		c->buf = NULL;
		c->ready = 0;
		c->next_frame = 0;
	}
}

static size_t event_size(uint8_t e)
{
	size_t n = (size_t)(e & 0x3f) + 1;
	return e & 0x40 ? n * 256 : n;
}

/* ---- the target ---------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bufpool_config cfg;

	(void)argc;
	(void)argv;
	bufpool_config_init(&cfg);
	cfg.mem_limit = (size_t)64 << 20;
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	pool = bufpool_new(&cfg);
	FUZZ_CHECK(pool != NULL, "bufpool_new failed");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint32_t max = fuzz_u32(&in) % (MAX_MESSAGE_LIMIT + 1);
	size_t n_events = fuzz_u8(&in);
	const uint8_t *events = in.p;
	if (n_events > in.n)
		n_events = in.n;
	in.p += n_events;
	in.n -= n_events;
	const uint8_t *stream = in.p;
	size_t len = in.n;

	/* The whole stream at once, against the reference. */
	struct ref ref;
	ref_decode(stream, len, max, &ref);
	size_t complete = 0, frames = 0, next = 0;
	enum lars_status st = lars_scan(stream, len, max, &complete, &frames, &next);
	FUZZ_CHECK(st == (ref.too_long ? LARS_TOO_LONG : LARS_OK) && complete == ref.end &&
			   frames == ref.n_frames &&
			   next == (ref.too_long ? 0 : ref.next_frame),
		   "lars_scan(len %zu, max %u) = %d complete %zu next %zu; reference "
		   "too_long %d end %zu next %zu",
		   len, max, (int)st, complete, next, (int)ref.too_long, ref.end,
		   ref.next_frame);
	check_datagram(stream, len, max);

	/* The same stream through a connection, in pieces. */
	struct conn c = {.max_message = max};
	c.out = malloc(len + 1);
	c.frame_len = calloc(len / LARS_HEADER_SIZE + 1, sizeof(size_t));
	FUZZ_CHECK(c.out && c.frame_len, "out of memory");
	size_t pos = 0;
	for (size_t i = 0; i < n_events; i++) {
		size_t want = event_size(events[i]);
		if (events[i] & 0x80) {
			conn_send(&c, want);
		} else {
			if (want > len - pos)
				want = len - pos;
			size_t got = conn_read(&c, stream + pos, want);
			check_datagram(stream + pos, want, max);
			pos += got;
		}
		conn_idle(&c);
	}
	/* Then everything that is left, as fast as it goes. */
	for (;;) {
		size_t sent = conn_send(&c, SIZE_MAX);
		size_t got = conn_read(&c, stream + pos, len - pos);
		pos += got;
		conn_idle(&c);
		if (sent == 0 && got == 0)
			break;
	}

	/* Exactly the reference's frames went out, and nothing else. */
	FUZZ_CHECK(c.n_frames == ref.n_frames, "%zu frames, reference %zu", c.n_frames,
		   ref.n_frames);
	for (size_t i = 0; i < ref.n_frames; i++)
		FUZZ_CHECK(c.frame_len[i] == ref.len[i], "frame %zu: %zu bytes, reference %zu", i,
			   c.frame_len[i], ref.len[i]);
	FUZZ_CHECK(c.n_out == ref.end && memcmp(c.out, stream, ref.end) == 0,
		   "sent %zu bytes, the reference's frames are %zu bytes", c.n_out, ref.end);
	FUZZ_CHECK(c.closed == ref.too_long, "oversize frame: %d, reference %d", (int)c.closed,
		   (int)ref.too_long);
	FUZZ_CHECK(c.ready == 0, "%zu ready bytes never sent", c.ready);
	if (c.closed) {
		/* Reading stopped somewhere after the oversize frame's header. */
		size_t held = c.buf ? c.buf->length : 0;
		FUZZ_CHECK(pos - ref.end == held && held >= LARS_HEADER_SIZE,
			   "oversize: %zu bytes held, %zu read past the frames", held,
			   pos - ref.end);
	} else {
		/* All read; the partial frame at the end is what stays buffered. */
		size_t held = c.buf ? c.buf->length : 0;
		FUZZ_CHECK(pos == len, "stalled: read %zu of %zu", pos, len);
		FUZZ_CHECK(held == len - ref.end &&
				   (held == 0 || memcmp(c.buf->data + c.buf->head, stream + ref.end,
							held) == 0),
			   "%zu bytes held, reference tail %zu", held, len - ref.end);
		FUZZ_CHECK(c.next_frame == ref.next_frame, "next_frame %zu, reference %zu",
			   c.next_frame, ref.next_frame);
	}

	if (c.buf)
		bufpool_revert(pool, c.buf);
	free(c.out);
	free(c.frame_len);
	free(ref.off);
	free(ref.len);
	return 0;
}
