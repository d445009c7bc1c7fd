/*
 * pagestore_writeback.c - idle marks and writeback (src/writeback.c) at
 * the store's level: "idle" marks every stored page and a read clears
 * it; writeback without a backing file is -ENODEV; with one, a limit is
 * kept, written-back pages (compressed, raw, with a dictionary) read back
 * their bytes and pass the check, the pool gives their bytes back; a
 * store that fails (-ENOSPC) or a flush that fails (-EIO) moves nothing
 * and loses nothing; shared objects stay in RAM; copies, overwrites,
 * truncates, punches and destroys of written-back pages free their
 * slots, and the backing file ends empty.  Four threads reading the same
 * idle pages at once clear each mark once (a check-threaded test: the
 * marks are cleared under the file's shared lock).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backing.h"
#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define NP 48u

static uint64_t rng_state;

static const char *const words[] = {
	"the ", "page ", "store ", "backing ", "file ", "idle ", "write ",
	"back ", "zsfs ", "compressed ", "object ", "slot ", "\n",
};

/* Page @i of a file: text (i % 3 == 0, 1), random (2), zeros (i % 16 == 5). */
static void page_of(unsigned char *p, uint64_t i)
{
	uint64_t st = 0x9e3779b97f4a7c15ull * (i + 1); /* threads: local */

	if (i % 16 == 5)
		memset(p, 0, PG);
	else if (i % 3 == 2)
		t_fill_bytes(&st, p, PG);
	else
		t_fill_words(&st, words, sizeof(words) / sizeof(words[0]),
			     p, PG);
}

static struct zsfs_file *file_make(struct zsfs_store *s, uint64_t first)
{
	unsigned char buf[PG];
	struct zsfs_file *f;
	uint64_t i;

	if (zsfs_file_create(&f))
		abort();
	for (i = 0; i < NP; i++) {
		page_of(buf, first + i);
		if (zsfs_file_write(s, f, i * PG, PG, buf, NULL))
			abort();
	}
	return f;
}

/* Pages [0, @n) of @f hold page_of(first + i), except those in
 * [@zfrom, @zto) which read as zeros. */
static int reads(struct zsfs_store *s, const struct zsfs_file *f, uint64_t n,
		 uint64_t first, uint64_t zfrom, uint64_t zto)
{
	unsigned char want[PG], got[PG];
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (i >= zfrom && i < zto)
			memset(want, 0, PG);
		else
			page_of(want, first + i);
		if (zsfs_file_read(s, f, i * PG, PG, got) || memcmp(want, got, PG)) {
			tap_diag("page %llu differs", (unsigned long long)i);
			return 0;
		}
	}
	return 1;
}

static int checks(struct zsfs_store *s, struct zsfs_file **files, int n)
{
	char msg[256];
	int i;

	for (i = 0; i < n; i++) {
		if (zsfs_file_check(s, files[i], msg, sizeof(msg))) {
			tap_diag("file %d: %s", i, msg);
			return 0;
		}
	}
	if (zsfs_store_check(s, msg, sizeof(msg))) {
		tap_diag("store: %s", msg);
		return 0;
	}
	return 1;
}

static size_t bd_count(struct zsfs_backing *b)
{
	struct zsfs_backing_stats bs;

	zsfs_backing_stats(b, &bs);
	return bs.bd_count;
}

struct reader {
	struct zsfs_store *s;
	const struct zsfs_file *f;
	uint64_t first;
	int ok;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	int i;

	r->ok = 1;
	for (i = 0; i < 5; i++)
		r->ok &= reads(r->s, r->f, NP, r->first, 1, 0);
	return NULL;
}

/* Four threads read all of @f at once (as under a shared lock). */
static int read_together(struct zsfs_store *s, const struct zsfs_file *f,
			 uint64_t first)
{
	struct reader r[4];
	pthread_t th[4];
	int i, ok = 1;

	for (i = 0; i < 4; i++) {
		r[i] = (struct reader){ .s = s, .f = f, .first = first };
		if (pthread_create(&th[i], NULL, reader_run, &r[i]))
			abort();
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok &= r[i].ok;
	}
	return ok;
}

int main(void)
{
	struct zsfs_store_params p = { .compress = "lz4", .dict = "auto" };
	struct zsfs_backing_params bp = { .size = 1u << 20 };
	struct zsfs_file *f, *g, *h, *k, *files[4];
	struct zsfs_store_stats st, st0;
	struct zsfs_backing *b;
	struct zsfs_store *s;
	unsigned char dict[16384], buf[PG];
	char dir[] = "/tmp/zsfs-wbtest.XXXXXX", err[256];
	size_t done, bd0, n, settled;
	uint64_t cursor;
	int rc;

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	if (zsfs_store_create(&p, &s, err, sizeof(err)))
		abort();
	bp.path = dir;
	bp.budget = zsfs_store_budget(s);
	if (zsfs_backing_open(&bp, &b, err, sizeof(err))) {
		tap_diag("%s", err);
		abort();
	}

	f = file_make(s, 0);
	n = zsfs_file_idle(s, f);
	zsfs_store_stats(s, &st);
	TAP_OK(n == NP && st.idle_pages == NP,
	       "idle marks every stored page (%zu, idle_pages %zu)", n,
	       st.idle_pages);
	TAP_OK(zsfs_file_idle(s, f) == 0, "marking again marks none");
	zsfs_file_read(s, f, 0, 100, buf);
	zsfs_store_stats(s, &st);
	TAP_OK(st.idle_pages == NP - 1, "a read clears the page's mark (%zu)",
	       st.idle_pages);
	rc = zsfs_file_writeback(s, f, ZSFS_WB_IDLE, SIZE_MAX, &done);
	TAP_OK(rc == -ENODEV && done == 0, "no backing file: -ENODEV (%d)", rc);

	zsfs_store_set_backing(s, b);
	rc = zsfs_file_writeback(s, f, ZSFS_WB_IDLE, 5, &done);
	TAP_OK(rc == 0 && done == 5 && bd_count(b) == 5,
	       "limit 5: 5 pages written back (rc %d done %zu bd_count %zu)",
	       rc, done, bd_count(b));
	zsfs_store_stats(s, &st0);
	rc = zsfs_file_writeback(s, f, ZSFS_WB_IDLE, SIZE_MAX, &done);
	zsfs_store_stats(s, &st);
	/* NP less page 0 (read) less the 3 zero pages (same-filled) */
	TAP_OK(rc == 0 && done + 5 == NP - 1 - 3,
	       "the rest of the idle pages: %zu", done + 5);
	TAP_OK(st.backed_pages == bd_count(b) && st.backed_pages == NP - 4,
	       "backed_pages %zu = bd_count %zu", st.backed_pages, bd_count(b));
	TAP_OK(st.compr_data_size < st0.compr_data_size / 4 &&
	       st.pages_stored == st0.pages_stored,
	       "pool bytes go (%zu -> %zu), the pages stay stored",
	       st0.compr_data_size, st.compr_data_size);
	TAP_OK(reads(s, f, NP, 0, 1, 0), "written-back pages read back");
	files[0] = f;
	TAP_OK(checks(s, files, 1), "check passes");
	rc = zsfs_file_writeback(s, f, ZSFS_WB_HUGE, SIZE_MAX, &done);
	TAP_OK(rc == 0 && done == 0, "nothing raw left in RAM: %zu", done);

	/* failures: nothing moves, nothing is lost */
	g = file_make(s, 1000);
	zsfs_file_idle(s, g);
	bd0 = bd_count(b);
	zsfs_backing_debug_fail(b, 0, 1);
	rc = zsfs_file_writeback(s, g, ZSFS_WB_IDLE, SIZE_MAX, &done);
	TAP_OK(rc == -ENOSPC && done == 0 && bd_count(b) == bd0,
	       "a failed store: -ENOSPC, nothing moved (rc %d done %zu)", rc,
	       done);
	zsfs_backing_debug_fail_flush(b, 1);
	rc = zsfs_file_writeback(s, g, ZSFS_WB_IDLE, SIZE_MAX, &done);
	TAP_OK(rc == -EIO && done == 0 && bd_count(b) == bd0,
	       "a failed flush: -EIO, the batch's slots freed (rc %d bd %zu)",
	       rc, bd_count(b));
	zsfs_store_stats(s, &st0);
	TAP_OK(read_together(s, g, 1000), "after both failures g reads back, 4 threads at once");
	zsfs_store_stats(s, &st);
	TAP_OK(st0.idle_pages == NP, "g's %u marks were there (%zu)", NP,
	       st0.idle_pages);
	/* f's were all read back above: none is left */
	TAP_OK(st.idle_pages == 0,
	       "concurrent reads cleared g's marks once each: idle_pages %zu",
	       st.idle_pages);
	files[1] = g;
	TAP_OK(checks(s, files, 2), "check passes after the failures");

	/* shared objects stay; copies of written-back pages are RAM pages */
	if (zsfs_file_create(&h) || zsfs_file_create(&k))
		abort();
	TAP_OK(zsfs_file_copy(s, h, 0, g, 0, NP * PG, NULL) == 0, "h shares g");
	rc = zsfs_file_writeback(s, g, ZSFS_WB_IDLE, SIZE_MAX, &done);
	TAP_OK(rc == 0 && done == 0, "shared objects are not written back (%zu)",
	       done);
	bd0 = bd_count(b);
	TAP_OK(zsfs_file_copy(s, k, 0, f, 0, NP * PG, NULL) == 0 &&
	       bd_count(b) == bd0, "copying written-back pages");
	TAP_OK(reads(s, k, NP, 0, 1, 0), "the copy reads back");
	files[2] = h;
	files[3] = k;
	TAP_OK(checks(s, files, 4), "check passes with copies");

	/* overwrite, punch, truncate free slots */
	page_of(buf, 7);
	bd0 = bd_count(b);
	zsfs_file_write(s, f, 1 * PG + 10, 100, buf + 10, NULL); /* partial */
	zsfs_file_flush(s, f);
	TAP_OK(bd_count(b) == bd0 - 1, "a partial write frees its page's slots");
	page_of(buf, 1);
	zsfs_file_write(s, f, 1 * PG, PG, buf, NULL);
	zsfs_file_punch(s, f, 3 * PG, 2 * PG);
	zsfs_file_truncate(s, f, NP * PG, 40 * PG);
	TAP_OK(bd_count(b) < bd0 - 4, "punch and truncate free slots (%zu -> %zu)",
	       bd0, bd_count(b));
	TAP_OK(reads(s, f, 40, 0, 3, 5), "f reads back after the changes");
	TAP_OK(checks(s, files, 4), "check passes after the changes");

	/* dictionary pages: written back with their id, decoded with it */
	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), dict,
		     sizeof(dict));
	TAP_OK(zsfs_store_dict_set(s, dict, sizeof(dict)) == 0, "a dictionary");
	zsfs_file_unsettle(s, k);
	cursor = 0;
	do {
		if (zsfs_file_recompress(s, k, &cursor, 1000, &settled))
			abort();
	} while (cursor != UINT64_MAX);
	n = zsfs_file_dict_pages(k);
	zsfs_file_idle(s, k);
	rc = zsfs_file_writeback(s, k, ZSFS_WB_IDLE, SIZE_MAX, &done);
	TAP_OK(n > 0 && rc == 0 && done >= n,
	       "%zu dictionary pages among %zu written back", n, done);
	TAP_OK(reads(s, k, NP, 0, 1, 0), "they read back with their dictionary");
	TAP_OK(checks(s, files, 4), "check passes with dictionary pages");

	zsfs_file_destroy(s, f);
	zsfs_file_destroy(s, g);
	zsfs_file_destroy(s, h);
	zsfs_file_destroy(s, k);
	zsfs_store_stats(s, &st);
	TAP_OK(bd_count(b) == 0 && st.backed_pages == 0 && st.idle_pages == 0,
	       "destroying the files empties the backing file (%zu, %zu, %zu)",
	       bd_count(b), st.backed_pages, st.idle_pages);
	TAP_OK(zsfs_backing_check(b, err, sizeof(err)) == 0, "backing check");
	zsfs_store_set_backing(s, NULL);
	zsfs_backing_close(b);
	zsfs_store_destroy(s);
	rmdir(dir);
	return tap_done();
}
