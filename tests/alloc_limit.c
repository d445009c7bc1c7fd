/*
 * alloc_limit.c - limit_bytes: zs_malloc fails with -ENOSPC past it,
 * compaction makes room, zs_set_limit changes it at run time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

#define MAXN 100000

int main(void)
{
	struct zs_pool_params params = { .limit_bytes = 4u << 20 };
	zs_pool *pool = NULL;
	struct zs_pool_stats st;
	zs_handle *h = calloc(MAXN, sizeof(*h));
	unsigned n = 0;
	int err = 0;
	char msg[256];

	TAP_OK(zs_pool_create(&params, &pool) == 0, "create with 4 MiB limit");
	while (n < MAXN && !(err = zs_malloc(pool, 1000, &h[n])))
		n++;
	zs_pool_stats(pool, &st);
	TAP_OK(err == -ENOSPC, "malloc fails with -ENOSPC (%d) after %u", err,
	       n);
	TAP_OK(st.mem_bytes <= params.limit_bytes && st.limit_bytes ==
	       params.limit_bytes, "mem_bytes %zu within the limit",
	       st.mem_bytes);
	TAP_OK(st.mem_bytes > params.limit_bytes * 9 / 10,
	       "the limit is used (mem_bytes %zu)", st.mem_bytes);

	/* Free every other object: no page is freed, so still ENOSPC for a
	 * size whose class has no free slot... */
	for (unsigned i = 0; i < n; i += 2) {
		zs_free(pool, h[i]);
		h[i] = 0;
	}
	TAP_OK(zs_malloc(pool, 3000, &(zs_handle){ 0 }) == -ENOSPC,
	       "other class still hits the limit");
	/* ... until compaction frees pages. */
	TAP_OK(zs_compact(pool) > 0, "compaction frees pages");
	zs_handle x = 0;
	TAP_OK(zs_malloc(pool, 3000, &x) == 0, "room after compaction");
	zs_free(pool, x);

	zs_set_limit(pool, 0);
	err = 0;
	for (unsigned i = 0; i < 2000 && !err; i++)
		err = zs_malloc(pool, 4000, &(zs_handle){ 0 });
	TAP_OK(err == 0, "no limit after zs_set_limit(0)");
	zs_pool_stats(pool, &st);
	TAP_OK(st.mem_bytes > params.limit_bytes, "pool grew past the old cap");
	zs_set_limit(pool, st.mem_bytes);
	TAP_OK(zs_malloc(pool, 4000, &x) == -ENOSPC,
	       "ENOSPC again at a new limit");
	TAP_OK(zs_pool_check(pool, msg, sizeof(msg)) == 0, "pool check");
	zs_pool_destroy(pool);
	free(h);
	return tap_done();
}
