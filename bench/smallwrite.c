/*
 * smallwrite: what the page store's dirty set buys, in CPU time.
 *
 * Appends 4 MiB of log-like text through the store's API three ways:
 * 128 KiB writes; 100-byte records with the dirty set on (the default);
 * 100-byte records with it off (dirty_max_bytes below a page, so every
 * partial write is a read-modify-write of the stored page).  Each run is
 * flushed and read back.  Prints one "name value" line per figure: the
 * CPU seconds and MB/s of each way, and the two ratios
 *
 *   records_dirty_over_big   dirty-set records / big writes (lower: better)
 *   rmw_over_records_dirty   read-modify-write / dirty-set records
 *
 * CPU time of the thread (CLOCK_THREAD_CPUTIME_ID): the work is single
 * threaded, and wall time on a shared machine says more about the load.
 * tests/pagestore_smallwrite checks the same runs' data; this only times.
 *
 *	bench/smallwrite [RUNS]     (default 3; each figure is the best run)
 *
 * Exit status: 0, or 1 when a run fails or its data does not read back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagestore.h"
#include "test_util.h"

#define TOTAL ((size_t)4 << 20)
#define REC 100
#define BIG ((size_t)128 << 10)

static double cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void make_data(unsigned char *p, size_t n)
{
	t_fill_weblog(p, n); /* the same data in the test and the bench */
}

/* Append @data in @chunk-sized writes and flush: CPU seconds, or -1. */
static double run(const unsigned char *data, unsigned char *out,
		  size_t chunk, size_t dirty_max)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .dirty_max_bytes = dirty_max };
	struct zsfs_store *s;
	struct zsfs_file *f;
	double t0, t = -1;
	size_t off, n, w;

	if (zsfs_store_create(&p, &s, NULL, 0))
		return -1;
	if (zsfs_file_create(&f)) {
		zsfs_store_destroy(s);
		return -1;
	}
	t0 = cpu_sec();
	for (off = 0; off < TOTAL; off += n) {
		n = TOTAL - off < chunk ? TOTAL - off : chunk;
		if (zsfs_file_write(s, f, off, n, data + off, &w) || w != n)
			goto out;
	}
	if (zsfs_file_flush(s, f))
		goto out;
	t = cpu_sec() - t0;
	if (zsfs_file_read(s, f, 0, TOTAL, out) || memcmp(out, data, TOTAL))
		t = -1;
out:
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	return t;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t chunk, dirty_max;
	} ways[] = {
		{ "big", BIG, 0 },
		{ "records_dirty", REC, 0 },
		{ "records_rmw", REC, 1 },
	};
	unsigned char *data = malloc(TOTAL), *out = malloc(TOTAL);
	double best[3] = { 0, 0, 0 };
	int runs = argc > 1 ? atoi(argv[1]) : 3, r, i, rc = 0;

	if (runs < 1 || !data || !out) {
		fprintf(stderr, "usage: smallwrite [RUNS >= 1]\n");
		return 2;
	}
	make_data(data, TOTAL);
	for (r = 0; r < runs; r++) {
		for (i = 0; i < 3; i++) {
			double t = run(data, out, ways[i].chunk,
				       ways[i].dirty_max);

			if (t < 0) {
				fprintf(stderr, "smallwrite: %s failed\n",
					ways[i].name);
				rc = 1;
				goto done;
			}
			if (r == 0 || t < best[i])
				best[i] = t;
		}
	}
	for (i = 0; i < 3; i++) {
		printf("%s_s %.4f\n", ways[i].name, best[i]);
		printf("%s_mb_per_s %.1f\n", ways[i].name,
		       best[i] > 0 ? TOTAL / 1e6 / best[i] : 0);
	}
	printf("records_dirty_over_big %.2f\n",
	       best[0] > 0 ? best[1] / best[0] : 0);
	printf("rmw_over_records_dirty %.2f\n",
	       best[1] > 0 ? best[2] / best[1] : 0);
done:
	free(data);
	free(out);
	return rc;
}
