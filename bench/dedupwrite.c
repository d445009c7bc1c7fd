/*
 * dedupwrite.c - what dedup= costs a sequential write, measured in
 * process (no FUSE, no other processes' noise): 512 MiB of compressible
 * data that never repeats (base64 of random bytes), written in 1 MiB
 * writes to a fresh store with dedup off and on, RUNS times each,
 * alternating; prints wall and CPU seconds and MiB/s of each run.
 *
 * Usage: bench/dedupwrite [RUNS [MIB]]
 * DW_THREADS=N: the store's threads (default: the online CPUs);
 * DW_ONLY=on|off: run that side only (for perf record / perf stat).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagestore.h"
#include "test_util.h"

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int runs = argc > 1 ? atoi(argv[1]) : 3;
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 512;
	size_t len = mib << 20, i, off, w;
	uint64_t rng = 42;
	unsigned char *buf = malloc(len);
	double sum[2] = { 0, 0 };
	int r, d;

	if (!buf)
		return 1;
	for (i = 0; i < len; i++)
		buf[i] = (i % 77 == 76) ? '\n' :
			 (unsigned char)b64[t_rand(&rng) & 63];
	for (r = 0; r < runs; r++) {
		for (d = 0; d < 2; d++) {
			const char *only = getenv("DW_ONLY");
			struct zsfs_store_params p = { .compress = "lz4",
						       .dedup = d,
						       .threads = (unsigned)atoi(getenv("DW_THREADS") ? getenv("DW_THREADS") : "0") };
			struct zsfs_store *s;
			struct zsfs_file *f;
			double t0, c0, t1, c1;
			char err[128];

			if (only && strcmp(only, d ? "on" : "off"))
				continue;
			if (zsfs_store_create(&p, &s, err, sizeof(err))) {
				fprintf(stderr, "store: %s\n", err);
				return 1;
			}
			zsfs_file_create(&f);
			t0 = now(CLOCK_MONOTONIC);
			c0 = now(CLOCK_PROCESS_CPUTIME_ID);
			for (off = 0; off < len; off += 1 << 20)
				if (zsfs_file_write(s, f, off, 1 << 20,
						    buf + off, &w))
					return 1;
			zsfs_file_flush(s, f);
			t1 = now(CLOCK_MONOTONIC);
			c1 = now(CLOCK_PROCESS_CPUTIME_ID);
			sum[d] += (double)mib / (t1 - t0);
			printf("run %d dedup=%s: %.2f s wall, %.2f s cpu, %.0f MiB/s\n",
			       r + 1, d ? "on " : "off", t1 - t0, c1 - c0,
			       (double)mib / (t1 - t0));
			zsfs_file_destroy(s, f);
			zsfs_store_destroy(s);
		}
	}
	printf("mean: dedup=off %.0f MiB/s, dedup=on %.0f MiB/s, on/off %.3f\n",
	       sum[0] / runs, sum[1] / runs, sum[1] / sum[0]);
	free(buf);
	return 0;
}
