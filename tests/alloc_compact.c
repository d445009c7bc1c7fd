/*
 * alloc_compact.c - compaction frees the pages zs_can_compact promised and
 * keeps every object's bytes; a mapped (pinned) zspage is not moved; page
 * migration empties sparse arenas so they are unmapped; zspages hold only
 * the pages their objects touch, and compaction packs the last one.
 */
#include "config.h"

#include <stdlib.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

/* Pages held by the zspages of every class. */
static size_t class_pages(zs_pool *pool)
{
	struct zs_class_stats cs;
	size_t n = 0;

	for (unsigned i = 0; i < zs_class_count(pool); i++) {
		zs_class_stats(pool, i, &cs);
		n += cs.pages_used;
	}
	return n;
}

static int verify(zs_pool *pool, const zs_handle *h, const size_t *sz,
		  size_t n)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];

	for (size_t i = 0; i < n; i++) {
		if (!h[i])
			continue;
		zs_read(pool, h[i], buf, sz[i]);
		if (!t_check(buf, sz[i], i))
			return 0;
	}
	return 1;
}

static size_t fill(zs_pool *pool, zs_handle *h, size_t *sz, size_t n,
		   size_t size)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	size_t i;

	for (i = 0; i < n; i++) {
		sz[i] = size ? size : 100 + (i * 7919) % 3900;
		if (zs_malloc(pool, sz[i], &h[i]))
			break;
		t_fill(buf, sz[i], i);
		zs_write(pool, h[i], buf, sz[i]);
	}
	return i;
}

int main(void)
{
	enum { N = 20000 };
	zs_pool *pool = NULL;
	zs_handle *h = calloc(N, sizeof(*h));
	size_t *sz = calloc(N, sizeof(*sz));
	struct zs_pool_stats st, st2;
	struct zs_mapping m;
	size_t est, freed, n;

	/* One class: the estimate is exact. */
	TAP_OK(zs_pool_create(NULL, &pool) == 0, "create");
	n = fill(pool, h, sz, N, 700);
	for (size_t i = 0; i < n; i++)
		if (i % 4) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	est = zs_can_compact(pool);
	zs_pool_stats(pool, &st);
	freed = zs_compact(pool);
	zs_pool_stats(pool, &st2);
	TAP_OK(est > 0 && freed == est,
	       "one class: zs_can_compact %zu, zs_compact freed %zu", est,
	       freed);
	TAP_OK(st.pages - st2.pages == freed, "pages went down by %zu",
	       st.pages - st2.pages);
	TAP_OK(zs_can_compact(pool) == 0, "nothing left to compact");
	TAP_OK(zs_compact(pool) == 0, "a second run frees nothing");
	TAP_OK(verify(pool, h, sz, n), "data intact");
	t_pool_check(pool, "check");
	zs_pool_destroy(pool);

	/* Many classes. */
	TAP_OK(zs_pool_create(NULL, &pool) == 0, "create");
	n = fill(pool, h, sz, N, 0);
	for (size_t i = 0; i < n; i++)
		if ((i * 2654435761u) % 3) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	est = zs_can_compact(pool);
	freed = zs_compact(pool);
	TAP_OK(freed >= est * 9 / 10 && freed > 0,
	       "many classes: estimate %zu, freed %zu", est, freed);
	TAP_OK(verify(pool, h, sz, n), "data intact");
	t_pool_check(pool, "check");

	/* A mapped object pins its zspage: compaction leaves it. */
	for (size_t i = 0; i < n; i++)
		if (h[i] && i % 2) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	size_t pinned = 0;
	while (!h[pinned])
		pinned++;
	void *p = zs_map(pool, h[pinned], ZS_MM_RO, &m);
	freed = zs_compact(pool);
	TAP_OK(t_check(p, sz[pinned], pinned),
	       "mapped object unchanged during compaction (freed %zu)", freed);
	zs_unmap(pool, &m);
	TAP_OK(verify(pool, h, sz, n), "data intact");
	t_pool_check(pool, "check");
	zs_pool_destroy(pool);

	/* Page migration: after object compaction has packed the 4 KiB
	 * objects, the sparse arenas are emptied page by page. */
	TAP_OK(zs_pool_create(NULL, &pool) == 0, "create");
	n = fill(pool, h, sz, 8 * 1024, 4096);
	zs_pool_stats(pool, &st);
	for (size_t i = 0; i < n; i++)
		if (i % 16) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	zs_compact(pool);
	zs_pool_stats(pool, &st2);
	TAP_OK(st2.os_bytes_mapped < st.os_bytes_mapped / 4,
	       "arenas unmapped: %zu -> %zu bytes mapped",
	       st.os_bytes_mapped, st2.os_bytes_mapped);
	TAP_OK(verify(pool, h, sz, n), "data intact after page migration");
	t_pool_check(pool, "check");
	zs_pool_destroy(pool);

	/* Lazy pages: a zspage holds only the pages its objects reach, and
	 * compaction gives back a page no object touches. */
	struct zs_pool_params one = { .shards = 1 };
	struct zs_class_stats cs;

	TAP_OK(zs_pool_create(&one, &pool) == 0, "create, one shard");
	n = fill(pool, h, sz, 3, 4096);
	zs_class_stats(pool, zs_class_count(pool) - 1, &cs);
	TAP_OK(n == 3 && cs.pages_per_zspage == 16 && cs.pages_used == 3,
	       "3 objects of 4 KiB hold 3 pages of a %u-page chain (%zu)",
	       cs.pages_per_zspage, cs.pages_used);
	zs_free(pool, h[1]);
	h[1] = 0;
	TAP_OK(zs_can_compact(pool) == 1, "freeing one: 1 page to compact");
	zs_compact(pool);
	zs_class_stats(pool, zs_class_count(pool) - 1, &cs);
	TAP_OK(cs.pages_used == 2, "compaction gives its page back (%zu)",
	       cs.pages_used);
	TAP_OK(verify(pool, h, sz, n), "data intact");
	zs_pool_destroy(pool);

	/* Compaction packs a class's last zspage to its front. */
	TAP_OK(zs_pool_create(&one, &pool) == 0, "create, one shard");
	n = fill(pool, h, sz, 40, 1000);
	for (size_t i = 0; i < n; i++)
		if (i != 0 && i != 20 && i != 39) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	est = class_pages(pool);
	zs_compact(pool);
	TAP_OK(est >= 3 && class_pages(pool) == 1,
	       "3 objects of 1000 B on %zu pages packed into %zu", est,
	       class_pages(pool));
	TAP_OK(verify(pool, h, sz, n), "data intact");
	t_pool_check(pool, "check");
	zs_pool_destroy(pool);
	free(h);
	free(sz);
	return tap_done();
}
