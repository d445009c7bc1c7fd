/*
 * alloc_random.c - seeded randomized test: allocate, free, write, read,
 * map, compact and change the limit at random; after every step check
 * every live object's bytes and zs_pool_check().
 *
 * Usage: alloc_random [SEED [OPS]]; the seed is printed and the run is
 * reproducible from it.  Default: a time-derived seed, about 1 second.
 * ZS_LONG=1 (or OPS given) runs millions of operations, checking all
 * objects every 1000 steps and a sample after each.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

#define MAXOBJ 512

struct obj {
	zs_handle h;
	size_t size;
	uint64_t key;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t rand_size(uint64_t *s)
{
	uint64_t r = t_rand(s);

	switch (r % 5) {
	case 0:
		return 1 + (r >> 8) % 64;          /* tiny */
	case 1:
		return ZS_MAX_ALLOC_SIZE - (r >> 8) % 64; /* near a page */
	default:
		return 1 + (r >> 8) % ZS_MAX_ALLOC_SIZE;
	}
}

int main(int argc, char **argv)
{
	struct obj o[MAXOBJ] = { { 0 } };
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
				 : (uint64_t)time(NULL) ^ (uint64_t)clock();
	const char *lg = getenv("ZS_LONG");
	int long_mode = (lg && *lg && *lg != '0') || argc > 2;
	size_t ops = argc > 2 ? strtoull(argv[2], NULL, 0)
			      : long_mode ? 5000000 : (size_t)-1;
	double deadline = now() + (long_mode ? 1e9 : 1.0);
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	struct zs_pool_params params = { 0 };
	zs_pool *pool = NULL;
	uint64_t s = seed;
	size_t step, nlive = 0, bad = 0, enospc = 0, compacted = 0;
	char msg[256];

	printf("# seed %llu (rerun: %s %llu%s)\n", (unsigned long long)seed,
	       argv[0], (unsigned long long)seed, long_mode ? " OPS" : "");
	params.max_pages_per_zspage = 4 + (unsigned)(t_rand(&s) % 13);
	TAP_OK(zs_pool_create(&params, &pool) == 0,
	       "create, max_pages_per_zspage %u", params.max_pages_per_zspage);
	for (step = 0; step < ops && !bad; step++) {
		uint64_t r = t_rand(&s);
		struct obj *x = &o[(r >> 16) % MAXOBJ];
		struct zs_mapping m;
		unsigned char *p;
		int err;

		switch (r % 16) {
		case 0: case 1: case 2: case 3: case 4: /* malloc */
			if (x->h)
				break;
			x->size = rand_size(&s);
			err = zs_malloc(pool, x->size, &x->h);
			if (err == -ENOSPC) {
				enospc++;
				x->h = 0;
				break;
			}
			if (err) {
				bad++;
				break;
			}
			x->key = t_rand(&s);
			t_fill(buf, x->size, x->key);
			zs_write(pool, x->h, buf, x->size);
			nlive++;
			break;
		case 5: case 6: case 7: /* free */
			if (!x->h)
				break;
			zs_free(pool, x->h);
			x->h = 0;
			nlive--;
			break;
		case 8: case 9: /* overwrite */
			if (!x->h)
				break;
			x->key = t_rand(&s);
			t_fill(buf, x->size, x->key);
			zs_write(pool, x->h, buf, x->size);
			break;
		case 10: /* map WO, rewrite */
			if (!x->h)
				break;
			x->key = t_rand(&s);
			p = zs_map(pool, x->h, ZS_MM_WO, &m);
			t_fill(p, x->size, x->key);
			zs_unmap(pool, &m);
			break;
		case 11: /* map RO, check */
			if (!x->h)
				break;
			p = zs_map(pool, x->h, ZS_MM_RO, &m);
			if (!t_check(p, x->size, x->key))
				bad++;
			zs_unmap(pool, &m);
			break;
		case 12: /* map RW: read, then rewrite */
			if (!x->h)
				break;
			p = zs_map(pool, x->h, ZS_MM_RW, &m);
			if (!t_check(p, x->size, x->key))
				bad++;
			x->key = t_rand(&s);
			t_fill(p, x->size, x->key);
			zs_unmap(pool, &m);
			break;
		case 13: /* compact */
			if (r & 0x10000000)
				break;
			compacted += zs_compact(pool);
			break;
		case 14: /* limit */
			if ((r >> 32) % 8 == 0)
				zs_set_limit(pool, (r >> 40) % 2
						   ? 0 : (size_t)(1 + (r >> 41) % 8) << 20);
			break;
		default: /* size and stats */
			if (x->h && zs_obj_size(pool, x->h) != x->size)
				bad++;
			break;
		}
		if (bad)
			break;
		/* Verify: everything (short mode, or every 1000 steps), else
		 * the touched object. */
		for (size_t i = 0; i < MAXOBJ && !bad; i++) {
			struct obj *y = &o[i];

			if (!y->h || (long_mode && step % 1000 && y != x))
				continue;
			zs_read(pool, y->h, buf, y->size);
			if (!t_check(buf, y->size, y->key))
				bad++;
		}
		if (!bad && (!long_mode || step % 1000 == 0) &&
		    zs_pool_check(pool, msg, sizeof(msg)))
			bad++;
		if (step % 256 == 0 && now() > deadline)
			break;
	}
	TAP_OK(!bad, "%zu steps, %zu live, %zu ENOSPC, %zu pages compacted%s%s",
	       step, nlive, enospc, compacted, bad ? ": failed at step " : "",
	       bad ? "(see seed)" : "");
	if (bad)
		tap_diag("failed at step %zu: %s", step, msg);
	{
		struct zs_pool_stats st;

		zs_pool_stats(pool, &st);
		TAP_OK(st.objs == nlive, "objs %zu == live %zu", st.objs, nlive);
	}
	TAP_OK(zs_pool_check(pool, msg, sizeof(msg)) == 0, "final check");
	zs_pool_destroy(pool);
	return tap_done();
}
