/*
 * pagestore_inline.c - a file's two representations and the moves between
 * them: the first ZSFS_PAGEMAP_DIRECT pages live in the file struct (no
 * heap of their own), later ones in the tree.  Grows a file from one page
 * past the direct slots, dirties pages on both sides, truncates and
 * punches back down (the tree's heap goes back to zero), stores a page at a
 * far sparse index, and copies between direct and tree pages both ways,
 * aligned (object copies) and not; every step is compared with a plain
 * buffer and followed by zsfs_file_check + zs_pool_check, and
 * zsfs_file_meta_bytes is checked to follow the tree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagemap.h"
#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define D ZSFS_PAGEMAP_DIRECT
#define MPAGES 128u /* model size in pages */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void fill_text(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"alpha ", "beta ", "gamma ", "delta ", "page ", "\n",
	};

	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), p, n);
}

/* A file and the bytes it should hold. */
struct mfile {
	struct zsfs_file *f;
	unsigned char *data; /* MPAGES pages */
	uint64_t size;
};

static struct zsfs_store *s;
static unsigned char *buf, *out;

static int ok_file(struct mfile *m, const char *what)
{
	char msg[256];
	int rc = t_store_check(s, m->f, msg, sizeof(msg));

	if (!rc && m->size) {
		memset(out, 0x5a, (size_t)m->size);
		rc = zsfs_file_read(s, m->f, 0, (size_t)m->size, out);
		if (!rc && memcmp(out, m->data, (size_t)m->size)) {
			snprintf(msg, sizeof(msg), "data differs");
			rc = -1;
		} else if (rc) {
			snprintf(msg, sizeof(msg), "read: %d", rc);
		}
	}
	return tap_ok(rc == 0, "%s: %s", what, rc ? msg : "check and data ok");
}

static int mwrite(struct mfile *m, uint64_t off, size_t len)
{
	size_t w;
	int rc;

	fill_text(buf, len);
	rc = zsfs_file_write(s, m->f, off, len, buf, &w);
	if (rc || w != len)
		return rc ? rc : -EIO;
	memcpy(m->data + off, buf, len);
	if (off + len > m->size)
		m->size = off + len;
	return 0;
}

static int mtruncate(struct mfile *m, uint64_t ns)
{
	int rc = zsfs_file_truncate(s, m->f, m->size, ns);

	if (rc)
		return rc;
	if (ns < m->size)
		memset(m->data + ns, 0, (size_t)(m->size - ns));
	m->size = ns;
	return 0;
}

static int mpunch(struct mfile *m, uint64_t off, uint64_t len)
{
	int rc = zsfs_file_punch(s, m->f, off, len);

	if (rc)
		return rc;
	if (off < m->size)
		memset(m->data + off, 0,
		       (size_t)(len < m->size - off ? len : m->size - off));
	return 0;
}

static int mcopy(struct mfile *dst, uint64_t doff, struct mfile *src,
		 uint64_t soff, size_t len)
{
	size_t c;
	int rc = zsfs_file_copy(s, dst->f, doff, src->f, soff, len, &c);

	if (rc || c != len)
		return rc ? rc : -EIO;
	memmove(dst->data + doff, src->data + soff, len);
	if (doff + len > dst->size)
		dst->size = doff + len;
	return 0;
}

static size_t tree_bytes(const struct mfile *m, size_t base)
{
	return zsfs_file_meta_bytes(m->f) - base;
}

static void mfile_init(struct mfile *m)
{
	TAP_OK(zsfs_file_create(&m->f) == 0, "file");
	m->data = calloc(MPAGES, PG);
	m->size = 0;
}

static void mfile_fini(struct mfile *m)
{
	zsfs_file_destroy(s, m->f);
	free(m->data);
}

static void test_grow_shrink(void)
{
	struct zsfs_file_stats fst;
	struct mfile a;
	size_t base, t;
	uint64_t res;

	mfile_init(&a);
	base = zsfs_file_meta_bytes(a.f);
	TAP_OK(base >= D * 8 && base <= 128, "an empty file takes %zu bytes",
	       base);

	TAP_OK(mwrite(&a, 0, PG) == 0 && tree_bytes(&a, base) == 0,
	       "1 page: direct, no tree (%zu)", tree_bytes(&a, base));
	TAP_OK(mwrite(&a, PG, (D - 1) * PG) == 0 && tree_bytes(&a, base) == 0,
	       "%u pages: all direct, no tree", D);
	ok_file(&a, "direct only");
	TAP_OK(mwrite(&a, D * PG, PG) == 0, "page %u: first tree page", D);
	t = tree_bytes(&a, base);
	TAP_OK(t > 0 && t <= 64, "one 1-slot leaf: %zu bytes", t);
	ok_file(&a, "direct + one tree page");

	/* 100 pages: a root and two leaves. */
	TAP_OK(mwrite(&a, (D + 1) * PG, (100 - D - 1) * PG) == 0,
	       "grown to 100 pages");
	t = tree_bytes(&a, base);
	TAP_OK(t > (100 - D) * 8 && t < 2 * 1024, "100 pages: tree of %zu bytes",
	       t);
	ok_file(&a, "100 pages");

	/* Dirty pages on both sides of the boundary. */
	TAP_OK(mwrite(&a, PG + 10, 100) == 0 && mwrite(&a, 50 * PG + 7, 300) == 0,
	       "partial writes into a direct and a tree page");
	zsfs_file_stats(a.f, &fst);
	TAP_OK(fst.pages_dirty == 2, "two dirty pages (%zu)", fst.pages_dirty);
	ok_file(&a, "dirty in both");

	/* Truncate back into the direct slots: the tree goes entirely. */
	TAP_OK(mtruncate(&a, 2 * PG + 100) == 0, "truncate to 2 pages + 100");
	TAP_OK(tree_bytes(&a, base) == 0, "tree freed (%zu bytes left)",
	       tree_bytes(&a, base));
	zsfs_file_stats(a.f, &fst);
	/* page 1 stays dirty; zeroing page 2's tail may dirty it too */
	TAP_OK(fst.last_page_plus1 == 3 && fst.pages_dirty >= 1,
	       "3 pages left, %zu dirty", fst.pages_dirty);
	ok_file(&a, "truncated down");

	/* Regrow sparsely: a hole from page 3 to page 69. */
	TAP_OK(mwrite(&a, 70 * PG, PG) == 0, "page 70 alone");
	TAP_OK(!zsfs_file_seek(a.f, 3 * PG, a.size, SEEK_DATA, &res) &&
	       res == 70 * PG, "SEEK_DATA across the boundary -> page 70");
	TAP_OK(!zsfs_file_seek(a.f, 0, a.size, SEEK_HOLE, &res) &&
	       res == 3 * PG, "SEEK_HOLE from 0 -> page 3");
	TAP_OK(!zsfs_file_seek(a.f, 70 * PG, a.size, SEEK_HOLE, &res) &&
	       res == a.size, "SEEK_HOLE at the last page -> EOF");
	ok_file(&a, "sparse regrow");

	/* Punch from inside page 0 to past page 70. */
	TAP_OK(mpunch(&a, PG / 2, 80 * PG) == 0, "punch [2 KiB, 80 pages)");
	TAP_OK(tree_bytes(&a, base) == 0, "punch freed the tree");
	zsfs_file_stats(a.f, &fst);
	TAP_OK(fst.last_page_plus1 == 1, "only page 0 (its first half) left");
	ok_file(&a, "punched");
	mfile_fini(&a);
}

static void test_far(void)
{
	const uint64_t TiB = UINT64_C(1) << 40;
	struct zsfs_file_stats fst;
	struct mfile a;
	size_t base, t, w;
	uint64_t res;
	int rc;

	mfile_init(&a);
	base = zsfs_file_meta_bytes(a.f);
	TAP_OK(mwrite(&a, (D - 1) * PG, PG) == 0, "direct page %u", D - 1);
	fill_text(buf, PG);
	rc = zsfs_file_write(s, a.f, TiB - PG, PG, buf, &w);
	t = tree_bytes(&a, base);
	TAP_OK(rc == 0 && t < 4 * 1024, "last page of 1 TiB: %zu bytes of tree",
	       t);
	zsfs_file_stats(a.f, &fst);
	TAP_OK(fst.last_page_plus1 == TiB / PG, "last page is 2^28 - 1");
	TAP_OK(!zsfs_file_seek(a.f, D * PG, TiB, SEEK_DATA, &res) &&
	       res == TiB - PG, "SEEK_DATA from page %u -> the far page", D);
	TAP_OK(!zsfs_file_seek(a.f, (D - 1) * PG, TiB, SEEK_HOLE, &res) &&
	       res == D * PG, "SEEK_HOLE from page %u -> page %u", D - 1, D);
	rc = zsfs_file_read(s, a.f, TiB - PG, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, PG), "far page reads back");
	a.size = D * PG; /* the model holds the first pages only */
	ok_file(&a, "far sparse");
	rc = zsfs_file_truncate(s, a.f, TiB, D * PG);
	TAP_OK(rc == 0 && tree_bytes(&a, base) == 0,
	       "truncate to %u pages frees the whole path", D);
	ok_file(&a, "far truncated");
	mfile_fini(&a);
}

static void test_copy(void)
{
	struct mfile big, small, c;
	size_t base;

	mfile_init(&big);
	mfile_init(&small);
	mfile_init(&c);
	base = zsfs_file_meta_bytes(small.f);
	TAP_OK(mwrite(&big, 0, 40 * PG + 123) == 0 && mwrite(&small, 0, 2 * PG) == 0,
	       "a 41-page file and a 2-page one");
	TAP_OK(mwrite(&big, 33 * PG + 5, 10) == 0, "a dirty page in the big one");

	/* tree -> direct, aligned: objects copied into the direct slots */
	TAP_OK(mcopy(&small, PG, &big, 30 * PG, 4 * PG) == 0,
	       "copy pages 30..33 (tree, one dirty) to 1..4");
	ok_file(&small, "tree -> direct");
	TAP_OK(tree_bytes(&small, base) > 0, "page 4 grew a tree");

	/* direct -> tree, aligned */
	TAP_OK(mcopy(&c, 20 * PG, &small, 0, 5 * PG) == 0,
	       "copy pages 0..4 (direct + tree) to 20..24");
	ok_file(&c, "direct -> tree");

	/* unaligned, across the boundary both ways */
	TAP_OK(mcopy(&c, 100, &big, 2 * PG + 7, 6 * PG) == 0,
	       "unaligned copy into the direct slots and past");
	ok_file(&c, "unaligned across");

	/* tree -> tree inside one file, ranges apart */
	TAP_OK(mcopy(&big, 60 * PG, &big, 10 * PG, 20 * PG) == 0,
	       "copy inside one file: pages 10..29 to 60..79");
	ok_file(&big, "self copy");

	/* inside one file, where making the destination's slot grows the
	 * leaf that holds the source entry (the node moves) */
	TAP_OK(mcopy(&small, (D + 6) * PG, &small, D * PG, PG) == 0,
	       "copy page %u to %u of the same file", D, D + 6);
	ok_file(&small, "self copy growing the source's leaf");

	/* holes copied over data make holes */
	TAP_OK(mcopy(&small, 0, &c, 8 * PG, (D + 7) * PG) == 0,
	       "copy a hole range over the small file");
	ok_file(&small, "holes copied");
	TAP_OK(tree_bytes(&small, base) == 0, "copied holes freed its tree");

	mfile_fini(&big);
	mfile_fini(&small);
	mfile_fini(&c);
}

int main(void)
{
	struct zs_pool_stats ps;
	char err[128];

	buf = malloc(MPAGES * PG);
	out = malloc(MPAGES * PG);
	if (!buf || !out || zsfs_store_create(NULL, &s, err, sizeof(err)))
		tap_skip_all("no memory for the test");
	test_grow_shrink();
	test_far();
	test_copy();
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(ps.objs == 0 && ps.bytes_stored == 0,
	       "every object freed (%zu left)", ps.objs);
	zsfs_store_destroy(s);
	free(buf);
	free(out);
	return tap_done();
}
