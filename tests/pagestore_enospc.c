/*
 * pagestore_enospc.c - a full pool: writes fail with -ENOSPC after one
 * compaction, everything stored before reads back intact (replaced pages
 * and dirty pages included), and after truncating or destroying a file
 * writes succeed again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define MAXPAGES 4096

static uint64_t rng_state = 0xdeadbeefcafef00dull;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

/* Incompressible page @i: stored raw, 4096 pool bytes each. */
static void page_of(unsigned char *p, uint64_t i)
{
	size_t k;

	rng_state = 0x9e3779b97f4a7c15ull * (i + 1);
	for (k = 0; k < PG; k++)
		p[k] = (unsigned char)rnd();
}

static int file_matches(struct zsfs_store *s, struct zsfs_file *f,
			uint64_t npages, uint64_t skew)
{
	unsigned char want[PG], got[PG];
	uint64_t i;

	for (i = 0; i < npages; i++) {
		page_of(want, i + skew);
		if (zsfs_file_read(s, f, i * PG, PG, got) || memcmp(want, got, PG))
			return 0;
	}
	return 1;
}

int main(void)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .limit_bytes = 2u << 20 };
	unsigned char buf[3 * PG], rec[100], out[PG];
	struct zsfs_store_stats st;
	struct zsfs_budget_stats bs;
	struct zs_pool_stats ps;
	struct zsfs_file *a, *b;
	struct zsfs_store *s;
	uint64_t n, i;
	size_t w;
	int rc = 0;

	if (zsfs_store_create(&p, &s, NULL, 0))
		return tap_ok(0, "store"), tap_done();
	zsfs_file_create(&a);
	zsfs_file_create(&b);

	/* Fill the pool with raw pages until it refuses. */
	for (n = 0; n < MAXPAGES; n++) {
		page_of(buf, n);
		rc = zsfs_file_write(s, a, n * PG, PG, buf, &w);
		if (rc)
			break;
	}
	zsfs_store_stats(s, &st);
	zsfs_budget_stats(zsfs_store_budget(s), &bs);
	TAP_OK(rc == -ENOSPC && w == 0 && n >= 16,
	       "pool full after %llu raw pages: -ENOSPC", (unsigned long long)n);
	TAP_OK(bs.compactions_enospc >= 1 && st.enospc_errors >= 1,
	       "compacted %zu times, %zu refusals", bs.compactions_enospc,
	       st.enospc_errors);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(ps.mem_bytes <= p.limit_bytes, "pool within its limit: %zu <= %zu",
	       ps.mem_bytes, p.limit_bytes);
	TAP_OK(file_matches(s, a, n, 0), "all %llu pages read back",
	       (unsigned long long)n);
	t_checks(s, a, "full");

	/* A multi-page write stops at the first page that does not fit. */
	page_of(buf, 1000);
	page_of(buf + PG, 1001);
	memset(buf + 2 * PG, 0, PG);
	rc = zsfs_file_write(s, b, 0, 3 * PG, buf, &w);
	TAP_OK(rc == -ENOSPC && w == 0, "3-page write into a full pool: %d, %zu",
	       rc, w);
	/* Same-filled pages need no pool memory: they still go in. */
	rc = zsfs_file_write(s, b, 0, PG, buf + 2 * PG, &w);
	TAP_OK(rc == 0 && w == PG, "a zero page still fits");

	/* Replacing a stored page fails and keeps the old data. */
	page_of(buf, 5000);
	rc = zsfs_file_write(s, a, 3 * PG, PG, buf, &w);
	TAP_OK(rc == -ENOSPC && file_matches(s, a, n, 0),
	       "replacing a page: -ENOSPC, old data intact");

	/* Small writes fill dirty pages (no pool memory) until the set must
	 * evict; then -ENOSPC, and the dirty data is still there. */
	memset(rec, 'r', sizeof(rec));
	for (i = 0; i < 64 * ZSFS_DIRTY_PER_FILE; i++) {
		rc = zsfs_file_write(s, b, PG + i * (PG / 2), sizeof(rec), rec, &w);
		if (rc)
			break;
	}
	zsfs_store_stats(s, &st);
	TAP_OK(rc == -ENOSPC && st.dirty_pages == ZSFS_DIRTY_PER_FILE,
	       "small writes: -ENOSPC after %llu records, %zu dirty pages kept",
	       (unsigned long long)i, st.dirty_pages);
	rc = zsfs_file_read(s, b, PG + (i - 1) * (PG / 2), sizeof(rec), out);
	TAP_OK(rc == 0 && !memcmp(out, rec, sizeof(rec)),
	       "last stored record reads back from the dirty set");
	TAP_OK(zsfs_file_flush(s, b) == -ENOSPC, "flush: -ENOSPC");
	zsfs_store_stats(s, &st);
	TAP_OK(st.dirty_pages > 0, "dirty pages stay after a failed flush");
	t_checks(s, b, "dirty while full");

	/* Truncating frees memory: flush and writes succeed again. */
	rc = zsfs_file_truncate(s, a, n * PG, (n / 2) * PG);
	TAP_OK(rc == 0, "truncate the big file to half");
	TAP_OK(zsfs_file_flush(s, b) == 0, "flush succeeds now");
	rc = zsfs_file_read(s, b, PG + (i - 1) * (PG / 2), sizeof(rec), out);
	TAP_OK(rc == 0 && !memcmp(out, rec, sizeof(rec)),
	       "the records survived the full pool");
	page_of(buf, 7);
	rc = zsfs_file_write(s, b, 100 * PG, PG, buf, &w);
	TAP_OK(rc == 0, "writes succeed after truncate");
	TAP_OK(file_matches(s, a, n / 2, 0), "the kept half reads back");
	t_checks(s, a, "after truncate");
	t_checks(s, b, "after truncate");

	/* Fill again, then destroy: room again. */
	for (i = 0; i < MAXPAGES; i++) {
		page_of(buf, i);
		rc = zsfs_file_write(s, b, (200 + i) * PG, PG, buf, &w);
		if (rc)
			break;
	}
	TAP_OK(rc == -ENOSPC, "full again");
	zsfs_file_destroy(s, a);
	rc = zsfs_file_write(s, b, (200 + i) * PG, PG, buf, &w);
	TAP_OK(rc == 0, "writes succeed after destroying a file");
	zsfs_file_destroy(s, b);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(ps.objs == 0 && ps.bytes_stored == 0, "destroy frees every object");
	zs_compact(zsfs_store_pool(s)); /* returns the pool's reserve pages */
	zs_pool_stats(zsfs_store_pool(s), &ps);
	zsfs_store_stats(s, &st);
	TAP_OK(ps.pages == 0 && st.pages_stored == 0 && st.dirty_pages == 0,
	       "destroy frees every pool page");
	zsfs_store_destroy(s);
	return tap_done();
}
