/*
 * alloc_reserve.c - the OS layer's reserve of freed pages: it keeps pages
 * for reuse up to its cap, hands them out before new ones, gives what
 * stood above the soft cap back after the decay time, and zs_compact
 * returns the rest.  The pool's page count includes the reserve.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "tap.h"
#include "test_util.h"

/* Raw 4096-byte objects: one per page, so pages follow objects. */
#define OBJ 4096u
#define NOBJ (ZS_RESERVE_MAX + 2048u)
#define REUSE 256u

static size_t pages_now(zs_pool *pool, size_t *maxp)
{
	struct zs_pool_stats st;

	zs_pool_stats(pool, &st);
	if (maxp)
		*maxp = st.pages_max;
	return st.pages;
}

int main(void)
{
	zs_handle *h = calloc(NOBJ, sizeof(*h));
	unsigned char buf[OBJ] = { 1 };
	struct timespec pause = { 1, 200 * 1000 * 1000 };
	size_t pages, max, max2, freed;
	zs_pool *pool = NULL;
	char msg[256];
	int ok = 1;

	TAP_OK(h && zs_pool_create(NULL, &pool) == 0, "pool created");
	for (unsigned i = 0; i < NOBJ; i++) {
		ok &= zs_malloc(pool, OBJ, &h[i]) == 0;
		if (ok)
			zs_write(pool, h[i], buf, OBJ);
	}
	TAP_OK(ok, "%u objects of %u bytes stored", NOBJ, OBJ);
	for (unsigned i = 0; i < NOBJ; i++)
		zs_free(pool, h[i]);
	pages = pages_now(pool, &max);
	TAP_OK(pages >= ZS_RESERVE_MAX && pages <= ZS_RESERVE_MAX + 16,
	       "after freeing all, the reserve holds up to its cap: %zu "
	       "pages (cap %u)", pages, ZS_RESERVE_MAX);
	TAP_OK(zs_can_compact(pool) == pages,
	       "zs_can_compact counts the reserve (%zu)", zs_can_compact(pool));
	t_pool_check(pool, "pool check");

	/* Reuse: new objects take reserve pages; the pool does not grow. */
	for (unsigned i = 0; i < REUSE; i++) {
		ok &= zs_malloc(pool, OBJ, &h[i]) == 0;
		if (ok)
			zs_write(pool, h[i], buf, OBJ);
	}
	pages_now(pool, &max2);
	TAP_OK(ok && max2 == max && pages_now(pool, NULL) <= pages,
	       "%u new objects reuse reserve pages: high-water %zu -> %zu",
	       REUSE, max, max2);

	/* Decay: after ZS_RESERVE_DECAY_MS, the next free trims the
	 * reserve back to its soft cap. */
	nanosleep(&pause, NULL);
	for (unsigned i = 0; i < REUSE; i++)
		zs_free(pool, h[i]);
	pages = pages_now(pool, NULL);
	TAP_OK(pages <= ZS_RESERVE_SOFT + REUSE + 16,
	       "a free %u ms later trims the reserve to about its soft cap: "
	       "%zu pages (soft cap %u)", ZS_RESERVE_DECAY_MS + 200, pages,
	       ZS_RESERVE_SOFT);
	TAP_OK(pages >= ZS_RESERVE_SOFT,
	       "but keeps the soft cap's worth: %zu pages", pages);
	t_pool_check(pool, "after the trim");

	freed = zs_compact(pool);
	TAP_OK(freed == pages && pages_now(pool, NULL) == 0,
	       "zs_compact returns the rest: %zu of %zu pages", freed, pages);
	TAP_OK(zs_pool_check(pool, msg, sizeof(msg)) == 0, "pool check empty");
	zs_pool_destroy(pool);
	free(h);
	return tap_done();
}
