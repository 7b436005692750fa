/*
 * fuzz_pool.c - libFuzzer target: libbufpool and the io_buf operations.
 *
 * The input is a little program run against one pool and a model of it:
 *
 *   u8   thread cache on (bit 0)
 *   u16  MEM_LIMIT in KiB (0 .. 64M)
 *   u8   prealloc of the 4K tier (% 33),  u8  of the 16K tier (% 9)
 *   then opcodes with their operands (see the OP_ list below) until the
 *   input ends
 *
 * The model is what a caller can know on one thread: the live buffers with
 * their capacity, head, length and contents (filled with pseudo-random
 * bytes and compared after every operation), the MEM_LIMIT, and counters.
 * After every operation the pool's statistics must agree with it:
 *
 *  - per tier: in_use, allocs and failures exactly; owned = idle + in_use;
 *  - bytes: in_use exact, owned = sum of owned * capacity, and owned never
 *    above MEM_LIMIT unless the limit was lowered below the bytes in use
 *    (then never above those); buffers taken from the system minus those
 *    given back = buffers owned;
 *  - bufpool_alloc(n) succeeds exactly when the bytes in use plus the
 *    tier's size fit MEM_LIMIT (a single thread can always reclaim idle
 *    memory), fails with ENOMEM otherwise, with EINVAL above the largest
 *    tier; a buffer has the tier's capacity, usable to its last byte, data
 *    aligned to BUFPOOL_ALIGN;
 *  - io_buf operations change head, length and contents as documented and
 *    fail with ENOSPC, changing nothing, when the bytes do not fit;
 *  - a revert into the wrong pool is refused (EINVAL) and harms nothing.
 *
 * At the end every buffer is reverted and the pools destroyed, so
 * LeakSanitizer sees every byte given back.
 */
#include "config.h"

#include "fuzz.h"

#include <bufpool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LIVE 64
#define MAX_IO 65536 /* bytes moved through a pipe or socket at once */

enum {
	OP_ALLOC,        /* u8 size selector, u16 operand */
	OP_REVERT,       /* u8 buffer */
	OP_SET_LIMIT,    /* u16 KiB */
	OP_LIMIT_BELOW,  /* u8: lower the limit under the bytes in use */
	OP_TRIM,
	OP_APPEND,       /* u8 buffer, u16 length */
	OP_POP,          /* u8 buffer, u16 length */
	OP_ADJUST,       /* u8 buffer */
	OP_COPY,         /* u8 destination, u8 source */
	OP_CLEAR,        /* u8 buffer */
	OP_WRITE_TAIL,   /* u8 buffer, u16 length: fill the tail room by hand */
	OP_READ_FD,      /* u8 buffer, u16 length, u8 pipe or socket */
	OP_WRITE_FD,     /* u8 buffer, u8 pipe or socket */
	OP_REVERT_WRONG, /* u8 buffer: revert into another pool */
	N_OPS
};

struct live {
	struct io_buf *b;
	unsigned tier;
	size_t head;
	size_t len;
	uint8_t *bytes; /* the model's copy of data[head .. head+len) */
	size_t room;    /* allocated size of bytes */
};

struct model {
	bufpool_t *pool, *other;
	size_t limit;
	size_t in_use;  /* bytes */
	unsigned prealloc_bufs;
	struct live live[MAX_LIVE];
	unsigned n_live;
	uint64_t in_use_bufs[BUFPOOL_TIERS];
	uint64_t allocs[BUFPOOL_TIERS];
	uint64_t failures[BUFPOOL_TIERS];
	uint64_t too_large;
	uint64_t rng;
};

static int pipe_fd[2] = {-1, -1};
static int sock_fd[2] = {-1, -1};
static uint8_t io_scratch[MAX_IO];

/* ---- helpers ----------------------------------------------------------- */

static uint8_t next_byte(struct model *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint8_t)(m->rng >> 24);
}

static void fill(struct model *m, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = next_byte(m);
}

static void model_reserve(struct live *l, size_t n)
{
	if (l->bytes && n <= l->room)
		return;
	size_t room = l->room ? l->room : 256;
	while (room < n)
		room *= 2;
	l->bytes = realloc(l->bytes, room);
	FUZZ_CHECK(l->bytes != NULL, "out of memory");
	l->room = room;
}

/* The buffer is what the model says it is. */
static void check_live(const struct live *l, unsigned i)
{
	const struct io_buf *b = l->b;

	FUZZ_CHECK(b->capacity == bufpool_tier_size(l->tier), "buffer %u: capacity %zu", i,
		   b->capacity);
	FUZZ_CHECK(b->head == l->head && b->length == l->len,
		   "buffer %u: head %zu length %zu, model %zu %zu", i, b->head, b->length,
		   l->head, l->len);
	FUZZ_CHECK(b->head + b->length <= b->capacity, "buffer %u: past its capacity", i);
	FUZZ_CHECK(l->len == 0 || memcmp(b->data + b->head, l->bytes, l->len) == 0,
		   "buffer %u: contents differ from the model", i);
}

static void check_stats(struct model *m)
{
	struct bufpool_stats st;
	uint64_t owned_bufs = 0, fresh = 0;
	size_t owned_bytes = 0, idle_bytes = 0;

	memset(&st, 0xa5, sizeof(st));
	bufpool_stats(m->pool, &st);
	FUZZ_CHECK(st.mem_limit == m->limit && bufpool_mem_limit(m->pool) == m->limit,
		   "mem_limit %zu, model %zu", st.mem_limit, m->limit);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		const struct bufpool_tier_stats *ts = &st.tier[t];
		FUZZ_CHECK(ts->capacity == bufpool_tier_size(t), "tier %u capacity %zu", t,
			   ts->capacity);
		FUZZ_CHECK(ts->owned == ts->idle + ts->in_use, "tier %u: owned != idle + in_use",
			   t);
		FUZZ_CHECK(ts->in_use == m->in_use_bufs[t], "tier %u: in_use %llu, model %llu", t,
			   (unsigned long long)ts->in_use, (unsigned long long)m->in_use_bufs[t]);
		FUZZ_CHECK(ts->allocs == m->allocs[t], "tier %u: allocs %llu, model %llu", t,
			   (unsigned long long)ts->allocs, (unsigned long long)m->allocs[t]);
		FUZZ_CHECK(ts->failures == m->failures[t], "tier %u: failures %llu, model %llu",
			   t, (unsigned long long)ts->failures,
			   (unsigned long long)m->failures[t]);
		FUZZ_CHECK(ts->fresh <= ts->allocs, "tier %u: fresh > allocs", t);
		owned_bufs += ts->owned;
		fresh += ts->fresh;
		owned_bytes += ts->owned * ts->capacity;
		idle_bytes += ts->idle * ts->capacity;
	}
	FUZZ_CHECK(st.bytes_in_use == m->in_use, "bytes_in_use %zu, model %zu",
		   st.bytes_in_use, m->in_use);
	FUZZ_CHECK(st.bytes_owned == owned_bytes && st.bytes_idle == idle_bytes &&
			   st.bytes_owned == st.bytes_in_use + st.bytes_idle,
		   "byte totals disagree: owned %zu (tiers %zu) idle %zu (tiers %zu) in use %zu",
		   st.bytes_owned, owned_bytes, st.bytes_idle, idle_bytes, st.bytes_in_use);
	FUZZ_CHECK(st.bytes_owned <= (m->limit > m->in_use ? m->limit : m->in_use),
		   "bytes_owned %zu above MEM_LIMIT %zu (in use %zu)", st.bytes_owned, m->limit,
		   m->in_use);
	FUZZ_CHECK(st.too_large == m->too_large, "too_large %llu, model %llu",
		   (unsigned long long)st.too_large, (unsigned long long)m->too_large);
	FUZZ_CHECK(owned_bufs == m->prealloc_bufs + fresh - st.released,
		   "owned %llu != prealloc %u + fresh %llu - released %llu",
		   (unsigned long long)owned_bufs, m->prealloc_bufs, (unsigned long long)fresh,
		   (unsigned long long)st.released);
}

static struct live *pick(struct model *m, struct fuzz_in *in)
{
	uint8_t i = fuzz_u8(in);
	return m->n_live ? &m->live[i % m->n_live] : NULL;
}

/* A length near the interesting edge: raw, or around `edge`. */
static size_t length_near(uint16_t raw, size_t edge)
{
	if (raw < 0xff00)
		return raw;
	size_t d = raw & 0xff;
	return d >= 128 ? edge + (d - 128) : (edge > 128 - d ? edge - (128 - d) : 0);
}

/* ---- the operations ------------------------------------------------------ */

static void op_alloc(struct model *m, struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);
	uint16_t arg = fuzz_u16(in);
	unsigned t = sel % 8, kind = (sel / 8) % 4;
	size_t base = t < BUFPOOL_TIERS ? bufpool_tier_size(t) : BUFPOOL_MAX_SIZE;
	size_t n;

	switch (kind) {
	case 0: n = base; break;
	case 1: n = base + 1; break;
	case 2: n = base - arg % base; break;
	default: n = t == 7 ? SIZE_MAX - arg : arg; break;
	}
	if (m->n_live == MAX_LIVE)
		return;

	errno = 0;
	struct io_buf *b = bufpool_alloc(m->pool, n);
	if (n > BUFPOOL_MAX_SIZE) {
		FUZZ_CHECK(b == NULL && errno == EINVAL, "alloc(%zu) above the largest tier: %p, "
			   "errno %d", n, (void *)b, errno);
		m->too_large++;
		return;
	}
	int tier = bufpool_tier_index(n);
	FUZZ_CHECK(tier >= 0 && tier < BUFPOOL_TIERS && bufpool_tier_size((unsigned)tier) >= n &&
			   (tier == 0 || bufpool_tier_size((unsigned)tier - 1) < n),
		   "bufpool_tier_index(%zu) = %d", n, tier);
	size_t cap = bufpool_tier_size((unsigned)tier);
	bool fits = cap <= m->limit && m->in_use <= m->limit - cap;
	if (!b) {
		FUZZ_CHECK(errno == ENOMEM, "alloc(%zu) failed with errno %d", n, errno);
		FUZZ_CHECK(!fits, "alloc(%zu) refused though %zu in use + %zu fit MEM_LIMIT %zu",
			   n, m->in_use, cap, m->limit);
		m->failures[tier]++;
		return;
	}
	FUZZ_CHECK(fits, "alloc(%zu) granted though %zu in use + %zu exceed MEM_LIMIT %zu", n,
		   m->in_use, cap, m->limit);
	FUZZ_CHECK(b->capacity == cap && b->head == 0 && b->length == 0 && b->next == NULL,
		   "fresh buffer: capacity %zu head %zu length %zu", b->capacity, b->head,
		   b->length);
	FUZZ_CHECK((uintptr_t)b->data % BUFPOOL_ALIGN == 0, "data %p not aligned",
		   (void *)b->data);
	for (unsigned i = 0; i < m->n_live; i++)
		FUZZ_CHECK(m->live[i].b != b, "buffer handed out twice");
	b->data[0] = 1; /* every byte is usable */
	b->data[cap - 1] = 1;
	struct live *l = &m->live[m->n_live++];
	memset(l, 0, sizeof(*l));
	l->b = b;
	l->tier = (unsigned)tier;
	m->in_use += cap;
	m->in_use_bufs[tier]++;
	m->allocs[tier]++;
}

static void drop(struct model *m, struct live *l)
{
	free(l->bytes);
	*l = m->live[--m->n_live];
}

static void op_revert(struct model *m, struct live *l)
{
	check_live(l, (unsigned)(l - m->live));
	m->in_use -= l->b->capacity;
	m->in_use_bufs[l->tier]--;
	bufpool_revert(m->pool, l->b);
	drop(m, l);
}

static void set_limit(struct model *m, size_t limit)
{
	FUZZ_CHECK(bufpool_set_mem_limit(m->pool, limit) == 0, "set_mem_limit(%zu) failed",
		   limit);
	m->limit = limit;
}

static void op_trim(struct model *m)
{
	struct bufpool_stats st;

	bufpool_stats(m->pool, &st);
	size_t before = st.bytes_owned;
	size_t freed = bufpool_trim(m->pool);
	bufpool_stats(m->pool, &st);
	FUZZ_CHECK(st.bytes_owned == m->in_use, "after trim %zu bytes owned, %zu in use",
		   st.bytes_owned, m->in_use);
	FUZZ_CHECK(freed == before - st.bytes_owned, "trim says %zu, owned went %zu -> %zu",
		   freed, before, st.bytes_owned);
}

static void op_append(struct model *m, struct live *l, uint16_t raw)
{
	struct io_buf *b = l->b;
	size_t len = length_near(raw, b->capacity - b->length);
	uint8_t *src = malloc(len ? len : 1);

	FUZZ_CHECK(src != NULL, "out of memory");
	fill(m, src, len);
	errno = 0;
	int rc = io_buf_append(b, src, len);
	if (len > b->capacity - l->len) {
		FUZZ_CHECK(rc == -1 && errno == ENOSPC, "append %zu to %zu of %zu: rc %d errno %d",
			   len, l->len, b->capacity, rc, errno);
	} else {
		FUZZ_CHECK(rc == 0, "append %zu to %zu of %zu failed", len, l->len, b->capacity);
		if (len > b->capacity - l->head - l->len)
			l->head = 0; /* moved to the front to make room */
		model_reserve(l, l->len + len);
		memcpy(l->bytes + l->len, src, len);
		l->len += len;
	}
	free(src);
}

/* What io_buf_pop(want) does, want <= len. */
static void model_pop(struct live *l, size_t want)
{
	if (want == l->len) {
		l->head = 0;
		l->len = 0;
	} else {
		memmove(l->bytes, l->bytes + want, l->len - want);
		l->head += want;
		l->len -= want;
	}
}

static void op_pop(struct live *l, uint16_t raw)
{
	size_t len = length_near(raw, l->len);
	size_t want = len < l->len ? len : l->len;
	size_t got = io_buf_pop(l->b, len);

	FUZZ_CHECK(got == want, "pop %zu of %zu returned %zu", len, l->len, got);
	model_pop(l, want);
}

static void op_copy(struct live *dst, struct live *src)
{
	errno = 0;
	int rc = io_buf_copy(dst->b, src->b);
	if (dst == src) {
		FUZZ_CHECK(rc == 0, "copy onto itself failed");
		dst->head = 0;
		return;
	}
	if (src->len > dst->b->capacity) {
		FUZZ_CHECK(rc == -1 && errno == ENOSPC, "copy %zu into %zu: rc %d errno %d",
			   src->len, dst->b->capacity, rc, errno);
		return;
	}
	FUZZ_CHECK(rc == 0, "copy %zu into %zu failed", src->len, dst->b->capacity);
	model_reserve(dst, src->len);
	if (src->len)
		memcpy(dst->bytes, src->bytes, src->len);
	dst->head = 0;
	dst->len = src->len;
}

/* What a read into the tail does: io_buf_tail, io_buf_space, length. */
static void op_write_tail(struct model *m, struct live *l, uint16_t raw)
{
	struct io_buf *b = l->b;
	size_t space = io_buf_space(b);

	FUZZ_CHECK(space == b->capacity - l->head - l->len, "space %zu", space);
	FUZZ_CHECK(io_buf_tail(b) == b->data + l->head + l->len, "tail misplaced");
	size_t n = raw < space ? raw : space;
	model_reserve(l, l->len + n);
	fill(m, l->bytes + l->len, n);
	memcpy(io_buf_tail(b), l->bytes + l->len, n);
	b->length += n;
	l->len += n;
}

static void drain(int fd)
{
	while (read(fd, io_scratch, sizeof(io_scratch)) > 0)
		;
}

static void op_read_fd(struct model *m, struct live *l, uint16_t raw, uint8_t which)
{
	int *fds = which & 1 ? sock_fd : pipe_fd;
	size_t len = raw % (MAX_IO / 2);

	if (len == 0)
		return; /* nothing queued: the read would only block */
	fill(m, io_scratch, len);
	FUZZ_CHECK(write(fds[1], io_scratch, len) == (ssize_t)len, "could not queue %zu bytes",
		   len);
	/* The model of io_buf_read_fd: adjust if the tail is full, then read
	 * what fits. */
	size_t space = l->b->capacity - l->head - l->len;
	if (space == 0)
		l->head = 0;
	space = l->b->capacity - l->head - l->len;
	uint8_t *sent = malloc(len);
	FUZZ_CHECK(sent != NULL, "out of memory");
	memcpy(sent, io_scratch, len);

	errno = 0;
	ssize_t n = io_buf_read_fd(l->b, fds[0]);
	if (space == 0) {
		FUZZ_CHECK(n == -1 && errno == ENOSPC, "read_fd into a full buffer: %zd errno %d",
			   n, errno);
	} else {
		size_t want = len < space ? len : space;
		FUZZ_CHECK(n == (ssize_t)want, "read_fd returned %zd, %zu expected", n, want);
		model_reserve(l, l->len + want);
		memcpy(l->bytes + l->len, sent, want);
		l->len += want;
	}
	free(sent);
	drain(fds[0]);
}

static void op_write_fd(struct live *l, uint8_t which)
{
	int *fds = which & 1 ? sock_fd : pipe_fd;
	size_t before = l->len;

	ssize_t n = io_buf_write_fd(l->b, fds[1]);
	if (before == 0) {
		FUZZ_CHECK(n == 0, "write_fd of an empty buffer returned %zd", n);
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n <= before, "write_fd of %zu bytes returned %zd", before,
		   n);
	size_t got = 0;
	while (got < (size_t)n) {
		size_t want = (size_t)n - got;
		ssize_t r = read(fds[0], io_scratch, want < MAX_IO ? want : MAX_IO);
		FUZZ_CHECK(r > 0, "%zu of the %zd bytes written did not arrive", want, n);
		FUZZ_CHECK(memcmp(io_scratch, l->bytes + got, (size_t)r) == 0,
			   "write_fd sent other bytes than the buffer held");
		got += (size_t)r;
	}
	FUZZ_CHECK(read(fds[0], io_scratch, 1) < 0, "write_fd sent more than it said");
	model_pop(l, (size_t)n);
}

static void op_revert_wrong(struct model *m, struct live *l)
{
	if (!m->other) {
		struct bufpool_config cfg;
		bufpool_config_init(&cfg);
		memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
		cfg.mem_limit = (size_t)1 << 20;
		m->other = bufpool_new(&cfg);
		FUZZ_CHECK(m->other != NULL, "second pool: errno %d", errno);
	}
	errno = 0;
	bufpool_revert(m->other, l->b);
	FUZZ_CHECK(errno == EINVAL, "revert into the wrong pool: errno %d", errno);
	bufpool_revert(m->pool, NULL); /* a no-op */
}

/* ---- the target ----------------------------------------------------------- */

static void make_nonblocking(int fd)
{
	FUZZ_CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "fcntl failed");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(pipe(pipe_fd) == 0, "pipe failed");
	FUZZ_CHECK(fcntl(pipe_fd[1], F_SETPIPE_SZ, MAX_IO) >= MAX_IO, "pipe too small");
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock_fd) == 0, "socketpair failed");
	int sz = MAX_IO * 2;
	setsockopt(sock_fd[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sock_fd[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (int i = 0; i < 2; i++) {
		make_nonblocking(pipe_fd[i]);
		make_nonblocking(sock_fd[i]);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_in in = {data, size};
	struct bufpool_config cfg;

	memset(&m, 0, sizeof(m));
	m.rng = 0x9e3779b97f4a7c15ULL ^ size;
	bufpool_config_init(&cfg);
	cfg.thread_cache = fuzz_u8(&in) & 1;
	cfg.mem_limit = (size_t)fuzz_u16(&in) << 10;
	memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	cfg.prealloc[0] = fuzz_u8(&in) % 33;
	cfg.prealloc[1] = fuzz_u8(&in) % 9;
	size_t pre = cfg.prealloc[0] * bufpool_tier_size(0) + cfg.prealloc[1] * bufpool_tier_size(1);

	errno = 0;
	m.pool = bufpool_new(&cfg);
	if (pre > cfg.mem_limit) {
		FUZZ_CHECK(m.pool == NULL && errno == EINVAL,
			   "prealloc %zu over MEM_LIMIT %zu: pool %p errno %d", pre, cfg.mem_limit,
			   (void *)m.pool, errno);
		return 0;
	}
	FUZZ_CHECK(m.pool != NULL, "bufpool_new(limit %zu, prealloc %zu) failed: errno %d",
		   cfg.mem_limit, pre, errno);
	m.limit = cfg.mem_limit;
	m.prealloc_bufs = cfg.prealloc[0] + cfg.prealloc[1];
	check_stats(&m);

	while (in.n > 0) {
		unsigned op = fuzz_u8(&in) % N_OPS;
		struct live *l = NULL, *l2 = NULL;
		uint16_t raw;

		switch (op) {
		case OP_ALLOC:
			op_alloc(&m, &in);
			break;
		case OP_REVERT:
			if ((l = pick(&m, &in)))
				op_revert(&m, l);
			break;
		case OP_SET_LIMIT:
			set_limit(&m, (size_t)fuzz_u16(&in) << 10);
			break;
		case OP_LIMIT_BELOW:
			raw = fuzz_u8(&in);
			set_limit(&m, m.in_use > raw ? m.in_use - raw - 1 : 0);
			break;
		case OP_TRIM:
			op_trim(&m);
			break;
		case OP_APPEND:
			l = pick(&m, &in);
			raw = fuzz_u16(&in);
			if (l)
				op_append(&m, l, raw);
			break;
		case OP_POP:
			l = pick(&m, &in);
			raw = fuzz_u16(&in);
			if (l)
				op_pop(l, raw);
			break;
		case OP_ADJUST:
			if ((l = pick(&m, &in))) {
				io_buf_adjust(l->b);
				l->head = 0;
			}
			break;
		case OP_COPY:
			l = pick(&m, &in);
			l2 = pick(&m, &in);
			if (l && l2)
				op_copy(l, l2);
			break;
		case OP_CLEAR:
			if ((l = pick(&m, &in))) {
				io_buf_clear(l->b);
				l->head = l->len = 0;
			}
			break;
		case OP_WRITE_TAIL:
			l = pick(&m, &in);
			raw = fuzz_u16(&in);
			if (l)
				op_write_tail(&m, l, raw);
			break;
		case OP_READ_FD: {
			l = pick(&m, &in);
			raw = fuzz_u16(&in);
			uint8_t which = fuzz_u8(&in);
			if (l)
				op_read_fd(&m, l, raw, which);
			break;
		}
		case OP_WRITE_FD: {
			l = pick(&m, &in);
			uint8_t which = fuzz_u8(&in);
			if (l)
				op_write_fd(l, which);
			break;
		}
		case OP_REVERT_WRONG:
			if ((l = pick(&m, &in)))
				op_revert_wrong(&m, l);
			break;
		}
		/* The buffers an io_buf operation touched; all of them after
		 * what changes the pool itself. */
		if (op <= OP_TRIM || op == OP_REVERT_WRONG) {
			for (unsigned i = 0; i < m.n_live; i++)
				check_live(&m.live[i], i);
		} else {
			if (l)
				check_live(l, (unsigned)(l - m.live));
			if (op == OP_COPY && l2)
				check_live(l2, (unsigned)(l2 - m.live));
		}
		check_stats(&m);
	}

	while (m.n_live > 0)
		op_revert(&m, &m.live[m.n_live - 1]);
	check_stats(&m);
	bufpool_destroy(m.pool);
	bufpool_destroy(m.other);
	return 0;
}
