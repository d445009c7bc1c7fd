/*
 * alloc_class.c - size-class math: chain lengths with least tail waste,
 * the kernel-style merge of classes, and the per-class stats table.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"
#include "tap.h"

int main(void)
{
	struct zs_pool_params params = { .max_pages_per_zspage = 8 };
	zs_pool *pool = NULL;
	struct zs_class_stats st, prev = { 0 };
	unsigned pages, objs, n;
	int ok_order = 1, ok_distinct = 1, ok_waste = 1, ok_map = 1;

	zs_pick_chain(32, 8, &pages, &objs);
	TAP_OK(pages == 8 && objs == 1024,
	       "32 B: no waste anywhere, the longest chain: %u pages", pages);
	zs_pick_chain(4096, 8, &pages, &objs);
	TAP_OK(pages == 8 && objs == 8,
	       "4096 B: 8 objects share one descriptor: %u pages", pages);
	zs_pick_chain(4096, 16, &pages, &objs);
	TAP_OK(pages == 16 && objs == 16, "4096 B, max 16: %u pages", pages);
	zs_pick_chain(3072, 8, &pages, &objs);
	TAP_OK(pages == 6 && objs == 8, "3072 B: %u pages, %u objects", pages,
	       objs);
	zs_pick_chain(2720, 16, &pages, &objs);
	TAP_OK((size_t)pages * 4096 % 2720 <= 4096 % 2720,
	       "2720 B, max 16: %u pages waste %u B", pages,
	       (unsigned)((size_t)pages * 4096 % 2720));

	TAP_OK(zs_pool_create(&params, &pool) == 0, "create");
	n = zs_class_count(pool);
	TAP_OK(n > 16 && n < ZS_NR_SIZES, "classes merged: %u of %u", n,
	       (unsigned)ZS_NR_SIZES);
	TAP_OK(zs_class_stats(pool, n, &st) == -ENOENT, "stats past the end");
	for (unsigned i = 0; i < n; i++) {
		zs_class_stats(pool, i, &st);
		if (i && st.size <= prev.size)
			ok_order = 0;
		if (i && st.pages_per_zspage == prev.pages_per_zspage &&
		    st.objs_per_zspage == prev.objs_per_zspage)
			ok_distinct = 0;
		/* Its chain costs the least (tail waste plus a descriptor)
		 * per page among 1..8 pages, the longest of equal ones. */
		for (unsigned p = 1; p <= 8; p++) {
			size_t b = (size_t)p * 4096;
			size_t cb = (size_t)st.pages_per_zspage * 4096;
			size_t w = b % st.size + ZS_ZSPAGE_COST;
			size_t cw = cb % st.size + ZS_ZSPAGE_COST;

			if (w * cb < cw * b ||
			    (w * cb == cw * b && p > st.pages_per_zspage))
				ok_waste = 0;
		}
		if (st.objs_per_zspage !=
		    st.pages_per_zspage * 4096 / st.size)
			ok_waste = 0;
		prev = st;
	}
	TAP_OK(ok_order, "classes ascend by size");
	TAP_OK(ok_distinct, "neighbouring classes differ in (pages, objs)");
	TAP_OK(ok_waste, "each class has a least-cost chain");
	TAP_OK(st.size == 4096, "largest class is 4096");
	/* Every request size maps to the smallest class that holds it. */
	for (size_t s = 1; s <= 4096; s++) {
		struct zs_class *c = zs_class_for(pool, s);

		if (c->size < s || (c->index > 0 &&
				    pool->classes[c->index - 1].size >= s))
			ok_map = 0;
	}
	TAP_OK(ok_map, "size -> class picks the smallest fitting class");
	zs_pool_destroy(pool);

	params.max_pages_per_zspage = 16;
	TAP_OK(zs_pool_create(&params, &pool) == 0, "create with 16 pages");
	tap_diag("classes with max 16 pages: %u", zs_class_count(pool));
	zs_pool_destroy(pool);
	params.max_pages_per_zspage = 4;
	TAP_OK(zs_pool_create(&params, &pool) == 0, "create with 4 pages");
	tap_diag("classes with max 4 pages: %u", zs_class_count(pool));
	zs_pool_destroy(pool);
	return tap_done();
}
