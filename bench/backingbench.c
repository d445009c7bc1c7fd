/*
 * backingbench.c - what the backing file's allocator and I/O cost, in
 * process: bench/backingbench [DIR [SIZE_MIB]] (default /var/tmp, 256).
 *
 * An unnamed backing file of SIZE_MIB in DIR is filled to 90% with
 * objects of compressed-page sizes (1-3.5 KiB, one in ten raw 4 KiB);
 * then every object is loaded in random order from the page cache, then
 * again after zsfs_backing_flush() (written out, dropped from the cache:
 * reads from the disk); then a random half is freed and the file filled again, so
 * every store searches a fragmented map.  Prints stores and loads per
 * second, MB/s of payload, the share of the file the objects take
 * (packing) and st_blocks before and after the frees (punching).
 * Not run by make check: timings belong here, not in tests.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t obj_len(uint64_t *s)
{
	return rnd(s) % 10 == 0 ? 4096 : 1024 + rnd(s) % 2560;
}

struct rec {
	uint64_t loc;
	size_t len;
};

/* Fill the empty places of @r[0..cap) until @want bytes of payload or
 * the file refuses; return the places walked, *@stored the objects. */
static size_t fill(struct zsfs_backing *b, struct rec *r, size_t cap,
		   uint64_t want, uint64_t *seed, uint64_t *bytes,
		   double *secs, size_t *stored)
{
	static unsigned char buf[4096];
	size_t n = 0;

	*stored = 0;
	double t0 = now();

	*bytes = 0;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rnd(seed);
	while (n < cap && *bytes < want) {
		size_t len = obj_len(seed);

		if (r[n].loc) {
			n++;
			continue;
		}
		buf[0]++;
		if (zsfs_backing_store(b, buf, len, &r[n].loc))
			break;
		r[n].len = len;
		*bytes += len;
		(*stored)++;
		n++;
	}
	*secs = now() - t0;
	return n;
}

static double load_all(struct zsfs_backing *b, struct rec *r, size_t n,
		       uint64_t *seed, size_t *bad)
{
	unsigned char in[4096];
	double t0 = now();

	*bad = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = rnd(seed) % n;

		if (r[i].loc && zsfs_backing_load(b, r[i].loc, in, sizeof(in)) != (int)r[i].len)
			(*bad)++;
	}
	return now() - t0;
}

static long long blocks(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 256;
	struct zsfs_backing_params p = { .size = mib << 20 };
	struct zsfs_backing_stats st;
	struct zsfs_backing *b;
	struct rec *r;
	uint64_t seed = 88172645463325252ull, bytes, bytes2;
	size_t cap = (size_t)(mib << 20) / 1024, n, bad, stored;
	double ts, tl, ts2;
	long long disk_full, disk_half;
	char err[256], path[4096];

	/* a named file (removed at close), so the cache can be dropped and
	 * st_blocks read from outside */
	snprintf(path, sizeof(path), "%s/backingbench.%d", dir, (int)getpid());
	p.path = path;
	if (zsfs_backing_open(&p, &b, err, sizeof(err))) {
		fprintf(stderr, "backingbench: %s\n", err);
		return 1;
	}
	r = calloc(cap, sizeof(*r));
	n = fill(b, r, cap, (mib << 20) / 10 * 9, &seed, &bytes, &ts, &stored);
	zsfs_backing_stats(b, &st);
	printf("file %llu MiB in %s: %zu objects, %.1f MiB payload, packing %.1f%% (payload / slots used)\n",
	       (unsigned long long)mib, dir, n, (double)bytes / (1 << 20),
	       100.0 * (double)bytes / (double)st.bd_used_bytes);
	printf("store:                %9.0f objects/s %7.1f MB/s\n", (double)n / ts,
	       (double)bytes / ts / 1e6);
	tl = load_all(b, r, n, &seed, &bad);
	printf("load, cached, random: %9.0f objects/s %7.1f MB/s (%zu bad)\n",
	       (double)n / tl, (double)bytes / tl / 1e6, bad);
	/* written out and dropped from the page cache: loads read the disk */
	if (zsfs_backing_flush(b) == 0) {
		tl = load_all(b, r, n, &seed, &bad);
		printf("load, disk, random:   %9.0f objects/s %7.1f MB/s (%zu bad)\n",
		       (double)n / tl, (double)bytes / tl / 1e6, bad);
	}
	disk_full = blocks(path);
	for (size_t i = 0; i < n; i++)
		if (rnd(&seed) % 2) {
			zsfs_backing_free(b, r[i].loc);
			r[i].loc = 0;
		}
	disk_half = blocks(path);
	zsfs_backing_stats(b, &st);
	printf("freed a random half: %zu blocks punched, disk %.1f -> %.1f MiB\n",
	       st.bd_punched, (double)disk_full / (1 << 20), (double)disk_half / (1 << 20));
	(void)fill(b, r, n, (mib << 20) / 10 * 9, &seed, &bytes2, &ts2, &stored);
	zsfs_backing_stats(b, &st);
	printf("store, fragmented:    %9.0f objects/s %7.1f MB/s (%zu objects into the holes, until full: bd_full %zu)\n",
	       (double)stored / ts2, (double)bytes2 / ts2 / 1e6, stored, st.bd_full);
	zsfs_backing_close(b);
	free(r);
	return 0;
}
