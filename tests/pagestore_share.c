/*
 * pagestore_share.c - shared objects: a copy shares the source's pages
 * (no new pool memory), the reference audit passes on a sound store and
 * fails when a file's references are missing, a write to a shared page
 * with the pool full fails with -ENOSPC and both sides still read their
 * data, writes after that are copies on write, and destroying the files
 * frees every object.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define NP 8u

static uint64_t rng_state;

/* Incompressible page @i (stored raw). */
static void page_of(unsigned char *p, uint64_t i)
{
	size_t k;

	rng_state = 0x9e3779b97f4a7c15ull * (i + 1);
	for (k = 0; k < PG; k++)
		p[k] = (unsigned char)t_rand(&rng_state);
}

/* Pages [0, n) of @f hold page_of(first + i), except page @odd (if < n)
 * which holds page_of(@oddval). */
static int reads(struct zsfs_store *s, struct zsfs_file *f, uint64_t off,
		 uint64_t n, uint64_t first, uint64_t odd, uint64_t oddval)
{
	unsigned char want[PG], got[PG];
	uint64_t i;

	for (i = 0; i < n; i++) {
		page_of(want, i == odd ? oddval : first + i);
		if (zsfs_file_read(s, f, (off + i) * PG, PG, got) ||
		    memcmp(want, got, PG))
			return 0;
	}
	return 1;
}

static int audit(struct zsfs_store *s, struct zsfs_file **files, int n)
{
	char msg[256];
	int i, rc;

	zsfs_store_audit_begin(s);
	for (i = 0; i < n; i++) {
		rc = zsfs_file_check(s, files[i], msg, sizeof(msg));
		if (rc) {
			zsfs_store_audit_end(s, NULL, 0);
			tap_diag("file %d: %s", i, msg);
			return rc;
		}
	}
	msg[0] = 0;
	rc = zsfs_store_audit_end(s, msg, sizeof(msg));
	if (rc)
		tap_diag("audit: %s", msg);
	return rc;
}

int main(void)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .limit_bytes = 2u << 20 };
	struct zsfs_file *a, *b, *c, *files[2];
	struct zsfs_store_stats st, st0;
	struct zs_pool_stats ps;
	size_t objs0;
	unsigned char buf[PG];
	struct zsfs_store *s;
	size_t w, copied;
	uint64_t i, n;
	int rc = 0;

	if (zsfs_store_create(&p, &s, NULL, 0))
		return tap_ok(0, "store"), tap_done();
	zsfs_file_create(&a);
	zsfs_file_create(&b);
	zsfs_file_create(&c);
	for (i = 0; i < NP; i++) {
		page_of(buf, i);
		rc |= zsfs_file_write(s, a, i * PG, PG, buf, &w);
	}
	rc |= zsfs_file_flush(s, a);
	TAP_OK(rc == 0, "wrote %u raw pages", NP);
	zsfs_store_stats(s, &st0);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	objs0 = ps.objs;
	rc = zsfs_file_copy(s, b, 0, a, 0, NP * PG, &copied);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && copied == NP * PG && st0.shared_objects == 0,
	       "copy a -> b");
	TAP_OK(st.shared_objects == NP && st.shared_pages == 2 * NP &&
	       st.shared_saved_bytes == NP * PG,
	       "%zu shared objects, %zu pages, %zu bytes saved",
	       st.shared_objects, st.shared_pages, st.shared_saved_bytes);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(ps.objs == objs0 && st.huge_pages == 2 * NP,
	       "no new object (%zu), pages counted per reference", ps.objs);
	TAP_OK(reads(s, b, 0, NP, 0, UINT64_MAX, 0), "b reads a's data");
	TAP_OK(zsfs_file_shared_bytes(s, b) == NP * PG,
	       "b's shared bytes: %zu", zsfs_file_shared_bytes(s, b));
	files[0] = a;
	files[1] = b;
	TAP_OK(audit(s, files, 2) == 0, "audit of a and b passes");
	TAP_OK(audit(s, files, 1) == -EUCLEAN,
	       "audit without b's references fails");

	/* A copy inside one file: page 0..NP-1 -> NP..2NP-1 of b. */
	rc = zsfs_file_copy(s, b, NP * PG, b, 0, NP * PG, &copied);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && st.shared_pages == 3 * NP &&
	       reads(s, b, NP, NP, 0, UINT64_MAX, 0),
	       "copy inside one file shares too");
	TAP_OK(audit(s, files, 2) == 0, "audit passes");

	/* Fill the pool; a copy on write then fails cleanly. */
	for (n = 0; n < 4096; n++) {
		page_of(buf, 1000 + n);
		rc = zsfs_file_write(s, c, n * PG, PG, buf, &w);
		if (rc == 0)
			rc = zsfs_file_flush(s, c);
		if (rc)
			break;
	}
	TAP_OK(rc == -ENOSPC, "pool full after %llu more pages",
	       (unsigned long long)n);
	page_of(buf, 777);
	rc = zsfs_file_write(s, b, 3 * PG, PG, buf, &w);
	if (rc == 0)
		rc = zsfs_file_flush(s, b);
	TAP_OK(rc == -ENOSPC, "write to a shared page: -ENOSPC (%d)", rc);
	TAP_OK(reads(s, a, 0, NP, 0, UINT64_MAX, 0), "a intact");
	TAP_OK(reads(s, b, 0, NP, 0, UINT64_MAX, 0) ||
	       reads(s, b, 0, NP, 0, 3, 777),
	       "b reads its old page or the new one, nothing else");
	zsfs_file_destroy(s, c);
	c = NULL;
	rc = zsfs_file_write(s, b, 3 * PG, PG, buf, &w);
	if (rc == 0)
		rc = zsfs_file_flush(s, b);
	TAP_OK(rc == 0, "after freeing room the write succeeds");
	TAP_OK(reads(s, b, 0, NP, 0, 3, 777), "b has its own page 3");
	TAP_OK(reads(s, a, 0, NP, 0, UINT64_MAX, 0), "a still reads its page 3");
	TAP_OK(audit(s, files, 2) == 0, "audit passes after copy on write");

	zsfs_file_destroy(s, a);
	TAP_OK(reads(s, b, 0, NP, 0, 3, 777) &&
	       reads(s, b, NP, NP, 0, UINT64_MAX, 0),
	       "b intact after a is destroyed");
	files[0] = b;
	TAP_OK(audit(s, files, 1) == 0, "audit passes");
	zsfs_file_destroy(s, b);
	zsfs_store_stats(s, &st);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(st.shared_objects == 0 && st.shared_pages == 0 &&
	       st.shared_saved_bytes == 0 && st.pages_stored == 0 &&
	       ps.objs == 0,
	       "everything freed");
	zsfs_store_destroy(s);
	return tap_done();
}
