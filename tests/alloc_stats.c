/*
 * alloc_stats.c - the stats are honest: mem_bytes agrees with the RSS the
 * process really gains (within 2%), and after freeing half and compacting
 * RSS drops by at least 90% of the pages compaction freed; the lock-free
 * zs_pool_mem_bytes() agrees with zs_pool_stats() on a quiet pool.
 * Set ZS_STATS_MIB to change the fill (default 200 MiB).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

/* The TAP driver takes "1..0 # SKIP" as the skip; a non-zero exit
 * status would make it an error. */
static int skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}

int main(void)
{
	size_t target = (size_t)200 << 20;
	const char *env = getenv("ZS_STATS_MIB");
	zs_pool *pool = NULL;
	struct zs_pool_stats st, st2;
	size_t maxn, n = 0, stored = 0, base, rss, rss2, freed;
	zs_handle *h;
	uint16_t *sz;
	uint64_t seed = 42;
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	int ok = 1;
	char text[1024];
	double ratio;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return skip_all("sanitizer shadow memory makes RSS meaningless");
#endif
	if (env && atoi(env) > 0)
		target = (size_t)atoi(env) << 20;
	if (!t_rss_anon())
		return skip_all("/proc/self/smaps_rollup is not readable");
	maxn = target / 64;
	h = malloc(maxn * sizeof(*h));
	sz = malloc(maxn * sizeof(*sz));
	/* Touch the test's own arrays before the baseline. */
	memset(h, 0xff, maxn * sizeof(*h));
	memset(sz, 0xff, maxn * sizeof(*sz));
	TAP_OK(zs_pool_create(NULL, &pool) == 0, "create");
	base = t_rss_anon();

	/* Sizes like compressed pages: mostly 300..3000, some tiny, some 4 KiB. */
	while (stored < target && n < maxn) {
		uint64_t r = t_rand(&seed);
		size_t s = r % 8 == 0 ? 4096 : 32 + (r >> 8) % 3000;

		if (zs_malloc(pool, s, &h[n]))
			break;
		t_fill(buf, s, n);
		zs_write(pool, h[n], buf, s);
		sz[n] = (uint16_t)s;
		stored += s;
		n++;
	}
	rss = t_rss_anon() - base;
	zs_pool_stats(pool, &st);
	TAP_OK(st.bytes_stored == stored && st.objs == n,
	       "objs %zu, bytes_stored %zu", st.objs, st.bytes_stored);
	TAP_OK(st.mem_bytes == st.pages * ZS_PAGE_SIZE + st.meta_bytes,
	       "mem_bytes = pages * 4096 + meta_bytes");
	TAP_OK(st.pages_max >= st.pages, "pages_max %zu", st.pages_max);
	TAP_OK(zs_pool_mem_bytes(pool) == st.mem_bytes,
	       "zs_pool_mem_bytes %zu = stats mem_bytes %zu on a quiet pool",
	       zs_pool_mem_bytes(pool), st.mem_bytes);
	ratio = (double)rss / (double)st.mem_bytes;
	TAP_OK(ratio > 0.98 && ratio < 1.02,
	       "RSS growth %zu vs mem_bytes %zu: %.4f", rss, st.mem_bytes,
	       ratio);
	tap_diag("mem_bytes / bytes_stored = %.4f, meta %zu",
		 (double)st.mem_bytes / (double)stored, st.meta_bytes);

	/* Free a random half, then compact. */
	for (size_t i = 0; i < n; i++)
		if (t_rand(&seed) & 1) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	rss = t_rss_anon();
	zs_pool_stats(pool, &st);
	freed = zs_compact(pool);
	rss2 = t_rss_anon();
	zs_pool_stats(pool, &st2);
	TAP_OK(freed > 0 && st2.pages + freed == st.pages,
	       "compaction freed %zu pages (%zu -> %zu)", freed, st.pages,
	       st2.pages);
	TAP_OK(st2.pages_compacted == freed && st2.compactions == 1,
	       "pages_compacted and compactions count it");
	TAP_OK(zs_pool_mem_bytes(pool) == st2.mem_bytes &&
	       st2.mem_bytes < st.mem_bytes,
	       "zs_pool_mem_bytes follows compaction down (%zu)",
	       zs_pool_mem_bytes(pool));
	TAP_OK(rss > rss2 && rss - rss2 >= freed * ZS_PAGE_SIZE / 10 * 9,
	       "RSS dropped %zu of %zu bytes freed", rss - rss2,
	       freed * ZS_PAGE_SIZE);
	ratio = (double)(rss2 - base) / (double)st2.mem_bytes;
	TAP_OK(ratio > 0.98 && ratio < 1.02,
	       "after compaction RSS growth %zu vs mem_bytes %zu: %.4f",
	       rss2 - base, st2.mem_bytes, ratio);
	tap_diag("after compaction mem_bytes / bytes_stored = %.4f",
		 (double)st2.mem_bytes / (double)st2.bytes_stored);
	for (size_t i = 0; i < n; i++) {
		if (!h[i])
			continue;
		zs_read(pool, h[i], buf, sz[i]);
		ok &= t_check(buf, sz[i], i);
	}
	TAP_OK(ok, "every live object kept its bytes");
	t_pool_check(pool, "pool check");
	TAP_OK(zs_pool_stats_format(&st2, text, sizeof(text)) > 0 &&
	       strstr(text, "pages_compacted"), "stats text form");
	for (unsigned i = 0; i < zs_class_count(pool); i++) {
		struct zs_class_stats cs;

		zs_class_stats(pool, i, &cs);
		if (cs.objs_used && i % 16 == 0)
			tap_diag("class %4zu: %2u pages %3u objs, zspages "
				 "%zu/%zu/%zu/%zu/%zu, used %zu/%zu, "
				 "freeable %zu",
				 cs.size, cs.pages_per_zspage,
				 cs.objs_per_zspage, cs.zspages[0],
				 cs.zspages[1], cs.zspages[2], cs.zspages[3],
				 cs.zspages[4], cs.objs_used,
				 cs.objs_allocated, cs.pages_freeable);
	}
	zs_pool_destroy(pool);
	free(h);
	free(sz);
	return tap_done();
}
