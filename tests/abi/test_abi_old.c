/*
 * test_abi_old.c - a program built against libbufpool 0.1.0's header
 * (tests/abi/0.1.0/bufpool.h, lib/bufpool.h as released in 0.1.0), run
 * against the library of this tree: libbufpool1's ABI only grows.
 *
 * It uses the structures an old caller allocates (bufpool_config,
 * bufpool_stats, io_buf) and checks that every field still means what it
 * meant: a config with the old size is accepted, stats land where the old
 * layout puts them, buffers of every tier come and go.  A plain program:
 * exit 0 pass, 1 fail (tests/local.mk).
 */
#include "config.h"

#include <bufpool.h> /* the 0.1.0 header: -I tests/abi/0.1.0 comes first */

#include <stdio.h>
#include <string.h>

static int failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failed = 1;                                            \
		}                                                              \
	} while (0)

int main(void)
{
	struct bufpool_config cfg;
	struct bufpool_stats st;
	struct io_buf *b[BUFPOOL_TIERS];

	bufpool_config_init(&cfg);
	CHECK(cfg.size == sizeof(cfg));
	cfg.mem_limit = 64u << 20;
	cfg.thread_cache = 0; /* every count in the shared lists: exact stats */
	bufpool_t *pool = bufpool_new(&cfg);
	CHECK(pool != NULL);
	if (!pool)
		return 1;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		b[t] = bufpool_alloc(pool, bufpool_tier_size(t));
		CHECK(b[t] != NULL && b[t]->capacity == bufpool_tier_size(t));
		if (b[t])
			CHECK(io_buf_append(b[t], "abi", 3) == 0 && b[t]->length == 3 &&
			      memcmp(b[t]->data + b[t]->head, "abi", 3) == 0);
	}
	memset(&st, 0xee, sizeof(st));
	bufpool_stats(pool, &st);
	CHECK(st.mem_limit == 64u << 20);
	CHECK(st.allocs == BUFPOOL_TIERS);
	CHECK(st.failures == 0 && st.too_large == 0);
	size_t in_use = 0;
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++) {
		CHECK(st.tier[t].capacity == bufpool_tier_size(t));
		CHECK(st.tier[t].in_use == 1 && st.tier[t].allocs == 1);
		in_use += st.tier[t].capacity;
	}
	CHECK(st.bytes_in_use == in_use);
	CHECK(st.bytes_owned >= in_use && st.bytes_owned <= st.mem_limit);
	for (unsigned t = 0; t < BUFPOOL_TIERS; t++)
		if (b[t])
			bufpool_revert(pool, b[t]);
	bufpool_stats(pool, &st);
	CHECK(st.bytes_in_use == 0);
	bufpool_destroy(pool);
	if (!failed)
		printf("abi: a 0.1.0 caller works against libbufpool " PACKAGE_VERSION "\n");
	return failed;
}
