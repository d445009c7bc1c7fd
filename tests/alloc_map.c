/*
 * alloc_map.c - zs_map/zs_unmap in every mode, for objects within a page
 * and objects spanning two pages; zs_read/zs_write; zs_obj_size.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

#define N 600

int main(void)
{
	struct zs_pool_params params = { 0 };
	zs_pool *pool = NULL;
	zs_handle h[N];
	size_t size[N];
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	int ok_ro = 1, ok_rw = 1, ok_wo = 1, ok_rd = 1, ok_sz = 1, direct = 0,
	    copied = 0;
	char msg[256];

	TAP_OK(zs_pool_create(&params, &pool) == 0, "create");
	params.max_pages_per_zspage = 3;
	TAP_OK(zs_pool_create(&params, &(zs_pool *){ NULL }) == -EINVAL,
	       "max_pages_per_zspage 3 is rejected");
	params.max_pages_per_zspage = 17;
	TAP_OK(zs_pool_create(&params, &(zs_pool *){ NULL }) == -EINVAL,
	       "max_pages_per_zspage 17 is rejected");
	TAP_OK(zs_malloc(pool, 0, &h[0]) == -EINVAL, "size 0 is rejected");
	TAP_OK(zs_malloc(pool, ZS_MAX_ALLOC_SIZE + 1, &h[0]) == -EINVAL,
	       "size 4097 is rejected");

	/* Sizes that make many objects straddle page boundaries. */
	for (unsigned i = 0; i < N; i++) {
		size[i] = 1 + (i * 997) % ZS_MAX_ALLOC_SIZE;
		if (zs_malloc(pool, size[i], &h[i]) || !h[i])
			break;
		t_fill(buf, size[i], i);
		zs_write(pool, h[i], buf, size[i]);
	}
	for (unsigned i = 0; i < N; i++) {
		struct zs_mapping m;
		unsigned char *p;

		ok_sz &= zs_obj_size(pool, h[i]) == size[i];
		p = zs_map(pool, h[i], ZS_MM_RO, &m);
		ok_ro &= p && t_check(p, size[i], i);
		zs_unmap(pool, &m);

		/* RW: flip the bytes in place; they must stick. */
		p = zs_map(pool, h[i], ZS_MM_RW, &m);
		for (size_t j = 0; j < size[i]; j++)
			p[j] ^= 0xff;
		zs_unmap(pool, &m);
		zs_read(pool, h[i], buf, size[i]);
		for (size_t j = 0; j < size[i]; j++)
			buf[j] ^= 0xff;
		ok_rw &= t_check(buf, size[i], i);

		/* WO: write it all; check through zs_read. */
		p = zs_map(pool, h[i], ZS_MM_WO, &m);
		if (m.priv[1])
			copied++;
		else
			direct++;
		t_fill(p, size[i], i + N);
		zs_unmap(pool, &m);
		zs_read(pool, h[i], buf, size[i]);
		ok_wo &= t_check(buf, size[i], i + N);

		/* Partial read and write. */
		zs_read(pool, h[i], buf, size[i] / 2);
		ok_rd &= t_check(buf, size[i] / 2, i + N);
	}
	TAP_OK(ok_sz, "zs_obj_size returns the requested sizes");
	TAP_OK(ok_ro, "RO mapping shows the written bytes");
	TAP_OK(ok_rw, "RW mapping writes back");
	TAP_OK(ok_wo, "WO mapping writes back");
	TAP_OK(ok_rd, "partial zs_read");
	TAP_OK(direct > 0 && copied > 0,
	       "both direct (%d) and copied spanning (%d) mappings seen",
	       direct, copied);
	t_pool_check(pool, "pool check");
	for (unsigned i = 0; i < N; i++)
		zs_free(pool, h[i]);
	zs_free(pool, 0);
	{
		struct zs_pool_stats st;

		zs_pool_stats(pool, &st);
		TAP_OK(st.objs == 0 && st.bytes_stored == 0 &&
		       st.pages <= 8 * zs_class_count(pool),
		       "after freeing all: objs %zu, pages %zu in reserve",
		       st.objs, st.pages);
		TAP_OK(zs_can_compact(pool) == st.pages,
		       "zs_can_compact counts the reserve");
		TAP_OK(zs_compact(pool) == st.pages, "compaction frees it");
		zs_pool_stats(pool, &st);
		TAP_OK(st.pages == 0 && st.mem_bytes == st.meta_bytes,
		       "no pages left");
	}
	TAP_OK(zs_pool_check(pool, msg, sizeof(msg)) == 0, "pool check empty");
	zs_pool_destroy(pool);
	zs_pool_destroy(NULL);
	return tap_done();
}
