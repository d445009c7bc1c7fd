/*
 * pagestore_threads.c - the store from several threads at once, as the
 * daemon uses it: each thread writes and reads its own file (the inode
 * lock held exclusive), all of them read one shared file at once (the
 * lock held shared: read must not modify the file nor share scratch
 * buffers), and one thread compacts the pool meanwhile.  Some writes and
 * reads are large, so the store's helper threads work on several
 * threads' requests at once.  Threads come and go, so per-thread codec
 * contexts are made and freed on the way.
 * Meant for --enable-tsan as much as for the plain build.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define NTHREADS 4
#define SHARED_PAGES 96
#define ROUNDS 300
/* Each thread's own file: big enough for writes of 31 pages at page 15. */
#define OWN_PAGES 48

struct th_arg {
	struct zsfs_store *s;
	const struct zsfs_file *shared;
	const unsigned char *shared_data;
	int id;
	int failed;
};

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)("the quick brown fox "[(i / 7 + seed) % 20] +
				       (i % 512 == 0 ? seed : 0));
}

static void *worker(void *argp)
{
	struct th_arg *a = argp;
	unsigned char *mine = calloc(1, OWN_PAGES * PG),
		      *buf = malloc(SHARED_PAGES * PG);
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1), x;
	struct zsfs_file *f;
	size_t w, off, len;
	int r;

	if (zsfs_file_create(&f)) {
		a->failed = 1;
		goto out;
	}
	for (r = 0; r < ROUNDS && !a->failed; r++) {
		x = t_rand(&seed);
		off = x % (15 * PG);
		len = 1 + (x >> 20) % PG;
		if (r % 8 == 0) { /* 16..31 whole pages: shared with helpers */
			off = (x >> 40) % 16 * PG;
			len = (16 + (x >> 50) % 16) * PG;
		}
		fill(buf, len, (unsigned)x);
		if (zsfs_file_write(a->s, f, off, len, buf, &w))
			a->failed = 1;
		memcpy(mine + off, buf, len);
		if (zsfs_file_read(a->s, f, 0, OWN_PAGES * PG, buf) ||
		    memcmp(buf, mine, OWN_PAGES * PG))
			a->failed = 2;
		len = r % 4 == 1 ? 70 * PG + 77 : 5000;
		off = (x >> 8) % (SHARED_PAGES * PG - len);
		if (zsfs_file_read(a->s, a->shared, off, len, buf) ||
		    memcmp(buf, a->shared_data + off, len))
			a->failed = 3;
		if (r % 50 == 0 && zsfs_file_flush(a->s, f))
			a->failed = 4;
	}
	zsfs_file_destroy(a->s, f);
out:
	free(mine);
	free(buf);
	return NULL;
}

struct compactor {
	struct zsfs_store *s;
	atomic_int stop;
};

static void *compact_loop(void *argp)
{
	struct compactor *c = argp;

	while (!atomic_load(&c->stop))
		zs_compact(zsfs_store_pool(c->s));
	return NULL;
}

int main(void)
{
	unsigned char *shared_data = malloc(SHARED_PAGES * PG);
	struct th_arg args[NTHREADS];
	pthread_t th[NTHREADS], ct;
	struct compactor comp;
	struct zsfs_store *s;
	struct zsfs_file *shared;
	struct zs_pool_stats ps;
	int i, gen, failed = 0;
	/* 3 threads to a large request: two helpers even on two cores. */
	struct zsfs_store_params sp = { .threads = 3 };
	size_t w;

	if (zsfs_store_create(&sp, &s, NULL, 0) || zsfs_file_create(&shared))
		return tap_ok(0, "setup"), tap_done();
	fill(shared_data, SHARED_PAGES * PG, 3);
	/* a mix of kinds: compressed, same-filled, raw */
	memset(shared_data + 5 * PG, 0, PG);
	for (i = 0; i < (int)PG; i++)
		shared_data[9 * PG + i] = (unsigned char)(i * 2654435761u >> 24);
	TAP_OK(!zsfs_file_write(s, shared, 0, SHARED_PAGES * PG, shared_data, &w) &&
	       !zsfs_file_write(s, shared, 100, 50, shared_data + 100, &w),
	       "shared file written (with a dirty page)");
	comp.s = s;
	atomic_init(&comp.stop, 0);
	pthread_create(&ct, NULL, compact_loop, &comp);
	for (gen = 0; gen < 3; gen++) {
		for (i = 0; i < NTHREADS; i++) {
			args[i] = (struct th_arg){ s, shared, shared_data,
						   gen * NTHREADS + i, 0 };
			pthread_create(&th[i], NULL, worker, &args[i]);
		}
		for (i = 0; i < NTHREADS; i++) {
			pthread_join(th[i], NULL);
			if (args[i].failed) {
				tap_diag("thread %d failed at step kind %d",
					 args[i].id, args[i].failed);
				failed = 1;
			}
		}
	}
	atomic_store(&comp.stop, 1);
	pthread_join(ct, NULL);
	TAP_OK(!failed, "%d threads x 3 generations: own files and the shared one read back",
	       NTHREADS);
	t_checks(s, shared, "after the run");
	zsfs_file_destroy(s, shared);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	TAP_OK(ps.objs == 0, "every object freed");
	zsfs_store_destroy(s);
	free(shared_data);
	return tap_done();
}
