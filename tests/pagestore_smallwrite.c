/*
 * pagestore_smallwrite.c - the dirty set, functionally: append 100-byte
 * records vs 128 KiB writes through the API, with the dirty set on (the
 * default) and off (dirty_max_bytes below a page: every partial write is
 * a read-modify-write of the stored page).  Each way must read back the
 * data and store the same compressed bytes.  What each way costs is a
 * bench question: bench/smallwrite times the same three runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define TOTAL ((size_t)4 << 20)
#define REC 100
#define BIG ((size_t)128 << 10)

static void make_data(unsigned char *p, size_t n)
{
	t_fill_weblog(p, n); /* the same data in the test and the bench */
}

/* Append @data in @chunk-sized writes, flush, read back.  Return: 0 and
 * the compressed size in *@comprp, or -1 (with a TAP diagnostic). */
static int run(const unsigned char *data, size_t chunk, size_t dirty_max,
	       size_t *comprp)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .dirty_max_bytes = dirty_max };
	unsigned char *out = malloc(TOTAL);
	struct zsfs_store_stats st;
	struct zsfs_store *s;
	struct zsfs_file *f;
	char msg[256];
	size_t off, n, w;
	int rc = -1;

	if (zsfs_store_create(&p, &s, NULL, 0) || zsfs_file_create(&f)) {
		free(out);
		return -1;
	}
	for (off = 0; off < TOTAL; off += n) {
		n = TOTAL - off < chunk ? TOTAL - off : chunk;
		if (zsfs_file_write(s, f, off, n, data + off, &w) || w != n) {
			tap_diag("chunk %zu: write at %zu failed", chunk, off);
			goto out;
		}
	}
	if (zsfs_file_flush(s, f))
		goto out;
	zsfs_store_stats(s, &st);
	*comprp = st.compr_data_size;
	if (zsfs_file_read(s, f, 0, TOTAL, out) || memcmp(out, data, TOTAL)) {
		tap_diag("chunk %zu dirty_max %zu: data differs", chunk,
			 dirty_max);
		goto out;
	}
	rc = t_store_check(s, f, msg, sizeof(msg));
	if (rc)
		tap_diag("chunk %zu: check: %s", chunk, msg);
out:
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(out);
	return rc;
}

int main(void)
{
	unsigned char *data = malloc(TOTAL);
	size_t c_big = 0, c_dirty = 0, c_rmw = 0;
	int big, rec_dirty, rec_rmw;

	make_data(data, TOTAL);
	big = run(data, BIG, 0, &c_big);
	rec_dirty = run(data, REC, 0, &c_dirty);
	rec_rmw = run(data, REC, 1, &c_rmw);
	TAP_OK(big == 0, "4 MiB in 128 KiB writes reads back, checks ok");
	TAP_OK(rec_dirty == 0,
	       "4 MiB in 100-byte records, dirty set: reads back, checks ok");
	TAP_OK(rec_rmw == 0,
	       "4 MiB in 100-byte records, read-modify-write: reads back, checks ok");
	TAP_OK(c_big > 0 && c_big < TOTAL / 2,
	       "compressed: %zu bytes of %zu", c_big, TOTAL);
	TAP_OK(c_big == c_dirty && c_big == c_rmw,
	       "same compressed size each way (%zu, %zu, %zu bytes)", c_big,
	       c_dirty, c_rmw);
	free(data);
	return tap_done();
}
