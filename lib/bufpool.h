/*
 * bufpool.h - libbufpool, a tiered pool of I/O buffers.
 *
 * Buffers come in seven size tiers (4K, 16K, 64K, 256K, 1M, 4M, 8M).
 * bufpool_alloc(pool, n) hands out a buffer of the smallest tier that holds
 * n bytes; bufpool_revert() gives it back for reuse.  Every byte of buffer
 * memory the pool owns (buffers in use, idle buffers in the shared lists and
 * in the per-thread caches) counts against a hard cap, MEM_LIMIT.  At the cap
 * bufpool_alloc() returns NULL with errno ENOMEM; it never exits or aborts.
 *
 * All functions are thread safe unless their page says otherwise.
 * See bufpool(3).
 */
#ifndef BUFPOOL_H
#define BUFPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of size tiers, and the smallest and largest tier's capacity. */
#define BUFPOOL_TIERS 7
#define BUFPOOL_MIN_SIZE ((size_t)4 << 10)
#define BUFPOOL_MAX_SIZE ((size_t)8 << 20)

/* Byte alignment of io_buf.data, at least. */
#define BUFPOOL_ALIGN 64

/* One buffer.  The fields are public: read them, and update head and length
 * as data is consumed and produced (or use the io_buf_* helpers).  Never
 * change capacity or data. */
struct io_buf {
	struct io_buf *next; /* free for the caller while it owns the buffer */
	size_t capacity;     /* usable bytes at data: the tier's size */
	size_t head;         /* offset of the first unprocessed byte */
	size_t length;       /* number of unprocessed bytes */
	char *data;          /* BUFPOOL_ALIGN-aligned storage */
};

typedef struct bufpool bufpool_t; /* opaque */

/* Pool settings.  Always fill with bufpool_config_init() first, then change
 * what you need: the size field lets later versions add fields. */
struct bufpool_config {
	size_t size;                       /* sizeof(struct bufpool_config) */
	size_t mem_limit;                  /* MEM_LIMIT: cap on buffer bytes */
	unsigned prealloc[BUFPOOL_TIERS];  /* buffers made up front, per tier */
	int thread_cache;                  /* nonzero: per-thread caches (default 1) */
};

/* Statistics of one tier.  Counts of buffers unless named bytes. */
struct bufpool_tier_stats {
	size_t capacity;   /* the tier's buffer size */
	uint64_t owned;    /* buffers the pool holds: idle + in use */
	uint64_t idle;     /* buffers ready for reuse (shared lists and caches) */
	uint64_t in_use;   /* buffers handed out and not yet reverted */
	uint64_t allocs;   /* successful bufpool_alloc() calls */
	uint64_t fresh;    /* of those, buffers newly taken from the system */
	uint64_t failures; /* bufpool_alloc() calls refused at MEM_LIMIT */
};

struct bufpool_stats {
	size_t mem_limit;     /* the current MEM_LIMIT */
	size_t bytes_owned;   /* buffer bytes the pool holds; never > mem_limit
	                         except after the limit was lowered below use */
	size_t bytes_in_use;  /* buffer bytes handed out */
	size_t bytes_idle;    /* buffer bytes ready for reuse */
	uint64_t allocs;      /* totals of the per-tier counters */
	uint64_t fresh;
	uint64_t failures;
	uint64_t too_large;   /* requests above BUFPOOL_MAX_SIZE (EINVAL) */
	uint64_t released;    /* buffers given back to the system */
	struct bufpool_tier_stats tier[BUFPOOL_TIERS];
};

/* High-water marks since the pool was made (bufpool_peaks, 0.2.0).  Set
 * size to sizeof(struct bufpool_peaks) before the call: later versions may
 * add fields at the end, and fill only what the caller's size holds. */
struct bufpool_peaks {
	size_t size;                   /* sizeof(struct bufpool_peaks), set by the caller */
	size_t bytes_owned;            /* most buffer bytes the pool held at once */
	uint64_t owned[BUFPOOL_TIERS]; /* most buffers of each tier held at once */
};

/* Memory pressure (0.3.0).  The pool calls fn when the bytes it owns
 * reach the high mark, when they fall back to the low mark or below after
 * that, and on every allocation refused at MEM_LIMIT.  Marks are fractions
 * of MEM_LIMIT and follow it when the limit changes.  See
 * bufpool_set_pressure(3). */
enum bufpool_pressure_event {
	BUFPOOL_PRESSURE_HIGH = 1,    /* bytes owned reached the high mark */
	BUFPOOL_PRESSURE_LOW = 2,     /* back at or below the low mark */
	BUFPOOL_PRESSURE_REFUSED = 3  /* an allocation was refused at the cap */
};

typedef void (*bufpool_pressure_fn)(bufpool_t *pool, enum bufpool_pressure_event event,
				    size_t bytes_owned, void *arg);

struct bufpool_pressure {
	size_t size;             /* sizeof(struct bufpool_pressure), set by the caller */
	double high;             /* high mark, fraction of MEM_LIMIT in (0, 1] */
	double low;              /* low mark, fraction of MEM_LIMIT in [0, high) */
	bufpool_pressure_fn fn;  /* NULL: no calls (the statistics still count) */
	void *arg;               /* passed to fn */
};

/* The pressure figures (bufpool_pressure_stats, 0.3.0); size as for
 * struct bufpool_peaks. */
struct bufpool_pressure_stats {
	size_t size;          /* sizeof(struct bufpool_pressure_stats), set by the caller */
	size_t high_mark;     /* the high mark in bytes now; 0: no marks set */
	size_t low_mark;      /* the low mark in bytes now */
	int above;            /* nonzero from a HIGH event until the next LOW */
	uint64_t high_events; /* times bytes owned reached the high mark */
	uint64_t low_events;  /* times they fell back to the low mark */
	uint64_t refusals;    /* allocations refused at MEM_LIMIT */
};

/* Configuration and life cycle. */
void bufpool_config_init(struct bufpool_config *cfg);
bufpool_t *bufpool_new(const struct bufpool_config *cfg);
void bufpool_destroy(bufpool_t *pool);

/* The process-wide pool, made on first use (pthread_once).  Its settings
 * come from bufpool_instance_configure() if called before first use, else
 * the defaults with MEM_LIMIT taken from the BUFPOOL_MEM_LIMIT environment
 * variable when that parses. */
bufpool_t *bufpool_instance(void);
int bufpool_instance_configure(const struct bufpool_config *cfg);

/* Buffers. */
struct io_buf *bufpool_alloc(bufpool_t *pool, size_t n);
void bufpool_revert(bufpool_t *pool, struct io_buf *buf);
int bufpool_ref(bufpool_t *pool, struct io_buf *buf); /* 0.3.0 */

/* Limits, memory and statistics. */
int bufpool_set_mem_limit(bufpool_t *pool, size_t mem_limit);
size_t bufpool_mem_limit(const bufpool_t *pool);
size_t bufpool_trim(bufpool_t *pool);
void bufpool_stats(bufpool_t *pool, struct bufpool_stats *st);
int bufpool_peaks(bufpool_t *pool, struct bufpool_peaks *peaks); /* 0.2.0 */
int bufpool_set_pressure(bufpool_t *pool, const struct bufpool_pressure *pr); /* 0.3.0 */
int bufpool_pressure_stats(bufpool_t *pool, struct bufpool_pressure_stats *st); /* 0.3.0 */

/* Tiers and sizes. */
size_t bufpool_tier_size(unsigned tier);
int bufpool_tier_index(size_t n);
int bufpool_parse_size(const char *text, size_t *out);

/* Operations on one buffer. */
void io_buf_clear(struct io_buf *buf);
size_t io_buf_pop(struct io_buf *buf, size_t len);
void io_buf_adjust(struct io_buf *buf);
int io_buf_copy(struct io_buf *dst, const struct io_buf *src);
int io_buf_append(struct io_buf *buf, const void *src, size_t len);
size_t io_buf_space(const struct io_buf *buf);
char *io_buf_tail(struct io_buf *buf);
ssize_t io_buf_read_fd(struct io_buf *buf, int fd);
ssize_t io_buf_write_fd(struct io_buf *buf, int fd);

/* Chains of buffers linked through next, for scatter/gather I/O (0.3.0). */
int io_buf_chain_iov(const struct io_buf *chain, struct iovec *iov, int iovcnt);
int io_buf_chain_iov_space(struct io_buf *chain, struct iovec *iov, int iovcnt);
size_t io_buf_chain_produce(struct io_buf *chain, size_t len);
size_t io_buf_chain_consume(struct io_buf **chain, size_t len, bufpool_t *pool);
size_t io_buf_chain_length(const struct io_buf *chain);

#ifdef __cplusplus
}
#endif

#endif /* BUFPOOL_H */
