/*
 * pagestore_smallwrite.c - what the dirty set buys: append 100-byte
 * records vs 128 KiB writes through the API, with the dirty set on (the
 * default) and off (dirty_max_bytes below a page: every partial write is
 * a read-modify-write of the stored page).  Checks the data, prints the
 * timings (CPU time) as TAP comments, and checks that records with the dirty set cost
 * no more than a few times the big writes (a lenient bound, so a loaded
 * machine does not fail it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagestore.h"
#include "tap.h"

#define TOTAL ((size_t)4 << 20)
#define REC 100
#define BIG ((size_t)128 << 10)

static double now_sec(void)
{
	struct timespec ts;

	/* CPU time of this thread: the work is single threaded, and wall
	 * time on a loaded build machine says more about the load. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void make_data(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"GET ", "POST ", "/index.html ", "/api/v1/items ", "200 ",
		"404 ", "HTTP/1.1 ", "Mozilla/5.0 ", "2026-11-25T13:20:", "\n",
		"user=", "id=", "ms ", "bytes ",
	};
	uint64_t x = 88172645463325252ull;
	size_t i = 0;

	while (i < n) {
		const char *w;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w = words[x % 14];
		while (*w && i < n)
			p[i++] = (unsigned char)*w++;
		if (i < n)
			p[i++] = (unsigned char)('0' + (x >> 20) % 10);
	}
}

/* Append @data in @chunk-sized writes; flush; return seconds or -1. */
static double run(const unsigned char *data, size_t chunk, size_t dirty_max,
		  size_t *comprp)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .dirty_max_bytes = dirty_max };
	unsigned char *out = malloc(TOTAL);
	struct zsfs_store_stats st;
	struct zsfs_store *s;
	struct zsfs_file *f;
	double t0, t = -1;
	size_t off, n, w;

	if (zsfs_store_create(&p, &s, NULL, 0) || zsfs_file_create(&f))
		return -1;
	t0 = now_sec();
	for (off = 0; off < TOTAL; off += n) {
		n = TOTAL - off < chunk ? TOTAL - off : chunk;
		if (zsfs_file_write(s, f, off, n, data + off, &w))
			goto out;
	}
	if (zsfs_file_flush(s, f))
		goto out;
	t = now_sec() - t0;
	zsfs_store_stats(s, &st);
	*comprp = st.compr_data_size;
	if (zsfs_file_read(s, f, 0, TOTAL, out) || memcmp(out, data, TOTAL))
		t = -1;
out:
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(out);
	return t;
}

int main(void)
{
	unsigned char *data = malloc(TOTAL);
	double big, rec_dirty, rec_rmw;
	size_t c_big, c_dirty, c_rmw;

	make_data(data, TOTAL);
	big = run(data, BIG, 0, &c_big);
	rec_dirty = run(data, REC, 0, &c_dirty);
	rec_rmw = run(data, REC, 1, &c_rmw);
	TAP_OK(big > 0 && rec_dirty > 0 && rec_rmw > 0,
	       "4 MiB appended three ways, data reads back");
	TAP_OK(c_big == c_dirty && c_big == c_rmw,
	       "same compressed size each way (%zu bytes)", c_big);
	tap_diag("128 KiB writes:                  %7.1f MB/s (%.3f s)",
		 TOTAL / 1e6 / big, big);
	tap_diag("100 B records, dirty set:        %7.1f MB/s (%.3f s)",
		 TOTAL / 1e6 / rec_dirty, rec_dirty);
	tap_diag("100 B records, read-modify-write: %7.1f MB/s (%.3f s)",
		 TOTAL / 1e6 / rec_rmw, rec_rmw);
	TAP_OK(rec_dirty < 8 * big + 0.05,
	       "records with the dirty set cost at most ~8x big writes");
	TAP_OK(rec_dirty < rec_rmw, "the dirty set beats read-modify-write");
	free(data);
	return tap_done();
}
