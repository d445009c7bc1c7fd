/*
 * pagestore_basic.c - the page store's kinds of page and its accounting:
 * same-filled pages cost no pool memory, incompressible pages are stored
 * raw, compressed pages are counted honestly, a 1 TiB sparse file costs
 * almost nothing, seek finds data and holes, copy moves objects without
 * recompressing, -EFBIG past the limit, and destroy frees every pool page.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE

static uint64_t rng_state = 0x1234567887654321ull;

static void fill_text(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"alpha ", "beta ", "gamma ", "delta ", "page ", "\n",
	};

	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), p, n);
}

static void fill_random(unsigned char *p, size_t n)
{
	t_fill_bytes(&rng_state, p, n);
}

static size_t pool_objs(struct zsfs_store *s)
{
	struct zs_pool_stats ps;

	zs_pool_stats(zsfs_store_pool(s), &ps);
	return ps.objs + ps.bytes_stored;
}

/* The file's own check: entries, objects, counts. */
static int same_check(struct zsfs_store *s, struct zsfs_file *f)
{
	char msg[256] = "";
	int rc = zsfs_file_check(s, f, msg, sizeof(msg));

	if (rc)
		tap_diag("%s", msg);
	return rc == 0;
}

/* No object left, and every page back once the pool lets go of the
 * freed pages it keeps in reserve (zs_compact returns them). */
static int pool_drained(struct zsfs_store *s)
{
	struct zs_pool_stats ps;

	zs_pool_stats(zsfs_store_pool(s), &ps);
	if (ps.objs || ps.bytes_stored)
		return 0;
	zs_compact(zsfs_store_pool(s));
	zs_pool_stats(zsfs_store_pool(s), &ps);
	if (ps.pages)
		tap_diag("pool keeps %zu pages after compaction", ps.pages);
	return ps.pages == 0;
}

static void test_kinds(const char *codec)
{
	struct zsfs_store_params p = { .compress = codec };
	unsigned char *buf = malloc(4 * PG), *out = malloc(4 * PG);
	struct zsfs_store_stats st;
	struct zsfs_file_stats fs;
	struct zsfs_store *s;
	struct zsfs_file *f;
	char err[128];
	size_t w, i;
	int rc;

	rc = zsfs_store_create(&p, &s, err, sizeof(err));
	TAP_OK(rc == 0, "%s: store", codec);
	TAP_OK(zsfs_file_create(&f) == 0, "%s: file", codec);

	/* Same-filled: zeros and a repeated 32-bit word, no pool memory
	 * (the word sits in the entry, pagemap.h). */
	memset(buf, 0, PG);
	for (i = 0; i < PG / 4; i++)
		memcpy(buf + PG + i * 4, "ABCD", 4);
	rc = zsfs_file_write(s, f, 0, 2 * PG, buf, &w);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && w == 2 * PG && st.same_pages == 2 &&
	       st.pages_stored == 2 && st.compr_data_size == 0 &&
	       pool_objs(s) == 0,
	       "%s: same-filled pages cost no pool memory", codec);
	/* A 64-bit word whose halves differ: one 8-byte object (pool_objs:
	 * objects + bytes). */
	for (i = 0; i < PG / 8; i++)
		memcpy(buf + PG + i * 8, "ABCDEFGH", 8);
	rc = zsfs_file_write(s, f, PG, PG, buf + PG, &w);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && st.same_pages == 2 && st.compr_data_size == 0 &&
	       pool_objs(s) == 1 + sizeof(uint64_t) && same_check(s, f),
	       "%s: a 64-bit same-filled word: one object, no compressed bytes",
	       codec);
	rc = zsfs_file_read(s, f, 3, 2 * PG - 6, out);
	TAP_OK(rc == 0 && !memcmp(out, buf + 3, 2 * PG - 6),
	       "%s: same-filled pages read back at odd offsets", codec);

	/* Incompressible: raw. */
	fill_random(buf, PG);
	rc = zsfs_file_write(s, f, 2 * PG, PG, buf, &w);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && st.huge_pages == 1 && st.huge_pages_since == 1 &&
	       st.compr_data_size == PG, "%s: random page stored raw", codec);
	rc = zsfs_file_read(s, f, 2 * PG + 100, 1000, out);
	TAP_OK(rc == 0 && !memcmp(out, buf + 100, 1000),
	       "%s: raw page partial read", codec);

	/* Compressible text. */
	fill_text(buf, PG);
	rc = zsfs_file_write(s, f, 3 * PG, PG, buf, &w);
	zsfs_store_stats(s, &st);
	zsfs_file_stats(f, &fs);
	if (!strcmp(codec, "none")) {
		TAP_OK(rc == 0 && st.huge_pages == 2,
		       "none: text page stored raw too");
	} else {
		TAP_OK(rc == 0 && st.huge_pages == 1 && fs.pages_compressed == 1 &&
		       st.compr_data_size > PG && st.compr_data_size < PG + PG / 2,
		       "%s: text compressed to %zu bytes", codec,
		       st.compr_data_size - PG);
	}
	TAP_OK(st.orig_data_size == 4 * PG && st.pages_stored == 4 &&
	       fs.stored_bytes == st.compr_data_size &&
	       fs.last_page_plus1 == 4, "%s: counters add up", codec);
	rc = zsfs_file_read(s, f, 3 * PG, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, PG), "%s: text reads back", codec);
	t_checks(s, f, codec);

	/* A small write makes a dirty page; flush stores it. */
	rc = zsfs_file_write(s, f, 3 * PG + 10, 5, "hello", &w);
	zsfs_store_stats(s, &st);
	zsfs_file_stats(f, &fs);
	TAP_OK(rc == 0 && st.dirty_pages == 1 && fs.pages_dirty == 1 &&
	       st.pages_stored == 3, "%s: small write -> one dirty page", codec);
	memcpy(buf + 10, "hello", 5);
	rc = zsfs_file_read(s, f, 3 * PG, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, PG), "%s: dirty page reads", codec);
	t_checks(s, f, codec);
	rc = zsfs_file_flush(s, f);
	zsfs_store_stats(s, &st);
	TAP_OK(rc == 0 && st.dirty_pages == 0 && st.pages_stored == 4,
	       "%s: flush stores it", codec);
	rc = zsfs_file_read(s, f, 3 * PG, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, PG), "%s: flushed page reads",
	       codec);

	/* Destroy frees every pool page. */
	zsfs_file_destroy(s, f);
	zsfs_store_stats(s, &st);
	TAP_OK(pool_drained(s) && st.pages_stored == 0 &&
	       st.compr_data_size == 0 && st.orig_data_size == 0 &&
	       st.same_pages == 0 && st.huge_pages == 0 && st.dirty_pages == 0,
	       "%s: destroy frees everything", codec);
	zsfs_store_destroy(s);
	free(buf);
	free(out);
}

static void test_sparse_seek_copy(void)
{
	const uint64_t TiB = UINT64_C(1) << 40;
	unsigned char *buf = malloc(8 * PG), *out = malloc(8 * PG);
	struct zsfs_store_stats st, st2;
	struct zsfs_file_stats fs;
	struct zsfs_store *s;
	struct zsfs_file *f, *g;
	size_t w, tail_bytes;
	uint64_t res;
	int rc;

	zsfs_store_create(NULL, &s, NULL, 0);
	zsfs_file_create(&f);
	zsfs_file_create(&g);
	fill_text(buf, 8 * PG);
	rc = zsfs_file_write(s, f, 0, PG, buf, &w);
	zsfs_store_stats(s, &st);
	rc |= zsfs_file_write(s, f, TiB - 2 * PG, 2 * PG, buf, &w);
	zsfs_store_stats(s, &st2);
	tail_bytes = st2.compr_data_size - st.compr_data_size;
	zsfs_file_stats(f, &fs);
	TAP_OK(rc == 0 && fs.pages_compressed == 3 &&
	       fs.last_page_plus1 == TiB / PG, "1 TiB sparse file with 3 pages");
	TAP_OK(zsfs_file_meta_bytes(f) < 16 * 1024,
	       "its page table takes %zu bytes", zsfs_file_meta_bytes(f));
	rc = zsfs_file_read(s, f, TiB / 2, PG, out);
	TAP_OK(rc == 0 && out[0] == 0 && out[PG - 1] == 0,
	       "middle of it reads zeros");
	TAP_OK(!zsfs_file_seek(f, 0, TiB, SEEK_DATA, &res) && res == 0,
	       "SEEK_DATA 0 -> 0");
	TAP_OK(!zsfs_file_seek(f, 0, TiB, SEEK_HOLE, &res) && res == PG,
	       "SEEK_HOLE 0 -> 4096");
	TAP_OK(!zsfs_file_seek(f, 5, TiB, SEEK_DATA, &res) && res == 5,
	       "SEEK_DATA 5 -> 5");
	TAP_OK(!zsfs_file_seek(f, PG, TiB, SEEK_DATA, &res) &&
	       res == TiB - 2 * PG, "SEEK_DATA 4096 -> the tail pages");
	TAP_OK(!zsfs_file_seek(f, TiB - PG, TiB, SEEK_HOLE, &res) && res == TiB,
	       "SEEK_HOLE in the last page -> EOF");
	TAP_OK(zsfs_file_seek(f, TiB, TiB, SEEK_DATA, &res) == -ENXIO,
	       "SEEK_DATA at EOF -> ENXIO");
	TAP_OK(zsfs_file_seek(f, PG, 10 * PG, SEEK_DATA, &res) == -ENXIO,
	       "SEEK_DATA past the last data -> ENXIO");
	TAP_OK(zsfs_file_seek(f, 0, TiB, 7, &res) == -EINVAL, "bad whence");

	/* Aligned copy: objects, same bytes in the pool, no recompression. */
	zsfs_store_stats(s, &st);
	rc = zsfs_file_copy(s, g, 0, f, TiB - 2 * PG, 2 * PG, &w);
	zsfs_store_stats(s, &st2);
	TAP_OK(rc == 0 && w == 2 * PG &&
	       st2.compr_data_size - st.compr_data_size == tail_bytes &&
	       st2.pages_stored == st.pages_stored + 2,
	       "aligned copy duplicates the compressed objects (%zu bytes)",
	       tail_bytes);
	rc = zsfs_file_read(s, g, 0, 2 * PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, 2 * PG), "copied pages read");
	/* Unaligned copy: read + write. */
	rc = zsfs_file_copy(s, g, 3 * PG + 7, f, 100, PG, &w);
	TAP_OK(rc == 0 && w == PG, "unaligned copy");
	rc = zsfs_file_read(s, g, 3 * PG + 7, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf + 100, PG - 100) &&
	       out[PG - 100] == 0, "unaligned copy reads (and the hole after)");
	t_checks(s, g, "copy");

	/* Limits. */
	rc = zsfs_file_write(s, g, ZSFS_MAX_FILE_SIZE, 1, buf, &w);
	TAP_OK(rc == -EFBIG && w == 0, "write at the max size -> EFBIG");
	rc = zsfs_file_write(s, g, ZSFS_MAX_FILE_SIZE - 10, 20, buf, &w);
	TAP_OK(rc == -EFBIG && w == 10, "write across the max size: prefix");
	rc = zsfs_file_read(s, g, ZSFS_MAX_FILE_SIZE - 10, 10, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, 10), "last bytes of a 2^60 file");
	TAP_OK(zsfs_file_truncate(s, g, 0, ZSFS_MAX_FILE_SIZE + 1) == -EFBIG,
	       "truncate past the max -> EFBIG");

	/* Punch a whole page away at once; truncate frees the tail. */
	zsfs_file_punch(s, f, TiB - 2 * PG, PG);
	zsfs_file_stats(f, &fs);
	TAP_OK(fs.pages_compressed == 2, "punch frees the page");
	zsfs_file_truncate(s, f, TiB, PG / 2);
	zsfs_file_stats(f, &fs);
	TAP_OK(fs.pages_compressed + fs.pages_dirty == 1 &&
	       fs.last_page_plus1 == 1, "truncate frees the tail");
	rc = zsfs_file_read(s, f, 0, PG, out);
	TAP_OK(rc == 0 && !memcmp(out, buf, PG / 2) && out[PG / 2] == 0 &&
	       out[PG - 1] == 0, "truncated page: tail zeroed");
	t_checks(s, f, "truncate");
	zsfs_file_destroy(s, f);
	zsfs_file_destroy(s, g);
	TAP_OK(pool_drained(s), "every pool page freed");
	zsfs_store_destroy(s);
	free(buf);
	free(out);
}

static void test_params(void)
{
	struct zsfs_store_params p = { .compress = "zstd:30" };
	struct zsfs_store *s = NULL;
	char err[128] = "";

	TAP_OK(zsfs_store_create(&p, &s, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "zstd:30"), "bad codec refused: %s", err);
	TAP_OK(zsfs_codec_check("zstd:9", err, sizeof(err)) == 0,
	       "zsfs_codec_check zstd:9");
	p.compress = "zstd:9";
	TAP_OK(zsfs_store_create(&p, &s, err, sizeof(err)) == 0 &&
	       !strcmp(zsfs_store_codec(s), "zstd:9"), "codec name zstd:9");
	zsfs_budget_set_mem_limit(zsfs_store_budget(s), 1 << 20);
	TAP_OK(zsfs_budget_pool_cap(zsfs_store_budget(s)) == 1 << 20, "limit set");
	zsfs_store_destroy(s);
	zsfs_store_destroy(NULL);
	zsfs_file_destroy(NULL, NULL);
}

int main(void)
{
	test_kinds("lz4");
	test_kinds("zstd");
	test_kinds("none");
	test_sparse_seek_copy();
	test_params();
	return tap_done();
}
