/*
 * fuzz_alloc.c - libFuzzer target for the allocator: the input is a
 * sequence of operations (malloc, free, write, read, map in each mode,
 * compact, limit) on a small pool; every read is checked against a model
 * of what was written, and zs_pool_check() runs at the end and every 64
 * operations.  Build: make fuzz-alloc (needs clang).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zsmalloc.h"

#define SLOTS 64

struct model {
	zs_handle h;
	size_t size;
	unsigned char seed;
};

static void pattern(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 31 + (i >> 8));
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_alloc: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct zs_pool_params params = { 0 };
	struct model m[SLOTS] = { { 0 } };
	unsigned char buf[ZS_MAX_ALLOC_SIZE], want[ZS_MAX_ALLOC_SIZE];
	zs_pool *pool;
	char msg[256];
	size_t i = 0, nops = 0;

	if (len < 1)
		return 0;
	params.max_pages_per_zspage = 4 + data[i++] % 13;
	if (zs_pool_create(&params, &pool))
		return 0;
	while (i + 3 <= len) {
		uint8_t op = data[i], arg = data[i + 1], arg2 = data[i + 2];
		struct model *x = &m[arg % SLOTS];
		struct zs_mapping mp;
		unsigned char *p;

		i += 3;
		switch (op % 9) {
		case 0: /* malloc */
			if (x->h)
				break;
			x->size = 1 + ((size_t)arg2 << 4 | (arg >> 4)) %
					      ZS_MAX_ALLOC_SIZE;
			if (zs_malloc(pool, x->size, &x->h)) {
				x->h = 0;
				break;
			}
			x->seed = arg2;
			pattern(buf, x->size, x->seed);
			zs_write(pool, x->h, buf, x->size);
			break;
		case 1: /* free */
			zs_free(pool, x->h);
			x->h = 0;
			break;
		case 2: /* write */
			if (!x->h)
				break;
			x->seed = arg2;
			pattern(buf, x->size, x->seed);
			zs_write(pool, x->h, buf, x->size);
			break;
		case 3: /* read, maybe partial */
			if (!x->h)
				break;
			{
				size_t n = arg2 % 2 ? x->size : x->size / 2;

				zs_read(pool, x->h, buf, n);
				pattern(want, x->size, x->seed);
				check(!memcmp(buf, want, n), "read mismatch");
			}
			break;
		case 4: /* map RO */
		case 5: /* map RW */
			if (!x->h)
				break;
			p = zs_map(pool, x->h,
				   op % 9 == 4 ? ZS_MM_RO : ZS_MM_RW, &mp);
			pattern(want, x->size, x->seed);
			check(!memcmp(p, want, x->size), "map mismatch");
			if (op % 9 == 5) {
				x->seed = arg2;
				pattern(p, x->size, x->seed);
			}
			zs_unmap(pool, &mp);
			break;
		case 6: /* map WO */
			if (!x->h)
				break;
			p = zs_map(pool, x->h, ZS_MM_WO, &mp);
			x->seed = arg2;
			pattern(p, x->size, x->seed);
			zs_unmap(pool, &mp);
			break;
		case 7:
			zs_compact(pool);
			break;
		case 8:
			zs_set_limit(pool, arg2 < 128 ? 0
					  : (size_t)(arg2 - 127) << 16);
			break;
		}
		if (++nops % 64 == 0)
			check(!zs_pool_check(pool, msg, sizeof(msg)), msg);
	}
	for (size_t k = 0; k < SLOTS; k++) {
		if (!m[k].h)
			continue;
		check(zs_obj_size(pool, m[k].h) == m[k].size, "size");
		zs_read(pool, m[k].h, buf, m[k].size);
		pattern(want, m[k].size, m[k].seed);
		check(!memcmp(buf, want, m[k].size), "final read mismatch");
	}
	check(!zs_pool_check(pool, msg, sizeof(msg)), msg);
	zs_pool_destroy(pool);
	return 0;
}
