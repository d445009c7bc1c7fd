/*
 * compact_latency.c - does compaction stall foreground reads?
 *
 * Builds a large pool in-process through the page store (real data: the
 * regular files under a directory, /usr/lib by default, until MiB of it
 * are stored), deletes every other file so the pool is fragmented, then
 * one thread reads random 4 KiB pages in a loop, timing each read, first
 * with no compaction for a while, then while the main thread compacts
 * (through the ctl, as the command does).  Prints p50/p99/max of both and
 * the compaction's duration and pages freed.
 *
 *	bench/compact_latency [MiB [DIR]]     (default 1024 /usr/lib)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "test_util.h"

struct bfile {
	struct zsfs_file *f;
	uint64_t size;
};

struct bench {
	struct zsfs_store *store;
	struct bfile *files;
	size_t nfiles, cap;
	size_t target, stored;
	unsigned char *buf;
	size_t buf_cap;
};

static struct bench B; /* nftw has no user argument */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int add_file(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	struct zsfs_file *f;
	size_t written;
	ssize_t n;
	int fd;

	if (B.stored >= B.target)
		return 1;
	if (type != FTW_F || !S_ISREG(st->st_mode) || st->st_size == 0 ||
	    st->st_size > (64 << 20))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if ((size_t)st->st_size > B.buf_cap) {
		B.buf_cap = (size_t)st->st_size;
		B.buf = realloc(B.buf, B.buf_cap);
	}
	n = read(fd, B.buf, (size_t)st->st_size);
	close(fd);
	if (n <= 0)
		return 0;
	if (zsfs_file_create(&f))
		return 1;
	if (zsfs_file_write(B.store, f, 0, (size_t)n, B.buf, &written) ||
	    zsfs_file_flush(B.store, f)) {
		zsfs_file_destroy(B.store, f);
		return 1;
	}
	if (B.nfiles == B.cap) {
		B.cap = B.cap ? 2 * B.cap : 1024;
		B.files = realloc(B.files, B.cap * sizeof(*B.files));
	}
	B.files[B.nfiles].f = f;
	B.files[B.nfiles].size = (uint64_t)n;
	B.nfiles++;
	B.stored += (size_t)n;
	return 0;
}

struct lat {
	double *v;
	size_t n, cap;
};

static void lat_add(struct lat *l, double ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1 << 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void lat_print(const char *what, struct lat *l)
{
	if (!l->n) {
		printf("%-22s no reads\n", what);
		return;
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_double);
	printf("%-22s reads %8zu  p50 %7.2f us  p99 %7.2f us  p99.9 %8.2f us  "
	       "max %9.2f us\n", what, l->n, l->v[l->n / 2] / 1e3,
	       l->v[(size_t)(l->n * 0.99)] / 1e3,
	       l->v[(size_t)(l->n * 0.999)] / 1e3, l->v[l->n - 1] / 1e3);
}

/* the reader: 0 = idle, 1 = record into base, 2 = record into during */
static _Atomic int phase;
static _Atomic int stop;
static struct lat base, during;

static void *reader(void *arg)
{
	unsigned char page[4096];
	uint64_t seed = 88172645463325252ull, x;

	while (!atomic_load(&stop)) {
		struct bfile *bf;
		uint64_t pages, off;
		double t0, t1;
		int ph;

		x = t_rand(&seed);
		bf = &B.files[(x % (B.nfiles / 2)) * 2 + 1];
		pages = (bf->size + 4095) / 4096;
		off = ((x >> 20) % pages) * 4096;
		ph = atomic_load(&phase);
		t0 = now_ns();
		if (zsfs_file_read(B.store, bf->f, off, 4096, page)) {
			fprintf(stderr, "read failed\n");
			exit(1);
		}
		t1 = now_ns();
		if (ph == 1)
			lat_add(&base, t1 - t0);
		else if (ph == 2 && atomic_load(&phase) == 2)
			lat_add(&during, t1 - t0);
	}
	return NULL;
}

static void print_pool(const char *when)
{
	struct zs_pool_stats ps;
	struct zsfs_store_stats st;

	zs_pool_stats(zsfs_store_pool(B.store), &ps);
	zsfs_store_stats(B.store, &st);
	printf("%-18s mem_used_total %7.1f MiB  compr_data_size %7.1f MiB  "
	       "ratio %.3f  freeable %zu pages\n", when, ps.mem_bytes / 1048576.0,
	       st.compr_data_size / 1048576.0,
	       ps.mem_bytes ? (double)st.compr_data_size / ps.mem_bytes : 0,
	       zs_can_compact(zsfs_store_pool(B.store)));
}

int main(int argc, char **argv)
{
	struct zsfs_store_params sp = { .compress = "lz4" };
	struct zsfs_ctl_params cp = { .owner = 0 };
	const char *dir = argc > 2 ? argv[2] : "/usr/lib";
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	struct zsfs_ctl *ctl;
	pthread_t th;
	double t0, t1;
	size_t freed;
	char err[128];

	if (!mib)
		mib = 1024;
	if (zsfs_store_create(&sp, &B.store, err, sizeof(err))) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	cp.store = B.store;
	if (zsfs_ctl_create(&cp, &ctl)) /* no start: no auto compaction */
		return 1;
	B.target = mib << 20;
	t0 = now_ns();
	for (int pass = 0; pass < 8 && B.stored < B.target; pass++)
		nftw(dir, add_file, 64, FTW_PHYS);
	t1 = now_ns();
	printf("stored %zu files, %.1f MiB from %s in %.1f s\n", B.nfiles,
	       B.stored / 1048576.0, dir, (t1 - t0) / 1e9);
	if (B.nfiles < 4)
		return 1;
	print_pool("filled:");
	for (size_t i = 0; i < B.nfiles; i += 2) {
		zsfs_file_destroy(B.store, B.files[i].f);
		B.files[i].f = NULL;
	}
	print_pool("every other gone:");

	pthread_create(&th, NULL, reader, NULL);
	usleep(200 * 1000); /* warm up */
	atomic_store(&phase, 1);
	usleep(2000 * 1000);
	atomic_store(&phase, 2);
	t0 = now_ns();
	freed = zsfs_budget_reclaim(zsfs_store_budget(B.store), ZSFS_RECLAIM_MANUAL);
	t1 = now_ns();
	atomic_store(&phase, 0);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);

	printf("compaction: %.1f ms, %zu pages freed (%.1f MiB)\n",
	       (t1 - t0) / 1e6, freed, freed * 4096 / 1048576.0);
	print_pool("compacted:");
	lat_print("4 KiB reads, idle:", &base);
	lat_print("during compaction:", &during);

	for (size_t i = 1; i < B.nfiles; i += 2)
		zsfs_file_destroy(B.store, B.files[i].f);
	zsfs_ctl_destroy(ctl);
	zsfs_store_destroy(B.store);
	free(B.files);
	free(B.buf);
	free(base.v);
	free(during.v);
	return 0;
}
