/*
 * alloc_threads.c - several threads malloc/write/read/map/verify/free
 * while another thread compacts in a loop and another reads the stats.
 * Every read must return exactly the bytes its owner wrote.  Meant to be
 * run under ThreadSanitizer (--enable-tsan) and ASan as well.
 * Usage: alloc_threads [SECONDS] (default 1; ZS_LONG=1 means 20).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

#define WORKERS 4
#define PER_WORKER 256

struct worker {
	zs_pool *pool;
	unsigned id;
	size_t ops, bad;
};

static atomic_int stop;

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	zs_handle h[PER_WORKER] = { 0 };
	size_t size[PER_WORKER];
	uint64_t key[PER_WORKER];
	uint64_t s = w->id * 7919 + 1;
	unsigned char buf[ZS_MAX_ALLOC_SIZE];

	while (!atomic_load(&stop)) {
		uint64_t r = t_rand(&s);
		unsigned i = (unsigned)((r >> 8) % PER_WORKER);
		struct zs_mapping m;
		unsigned char *p;

		w->ops++;
		if (!h[i]) {
			size[i] = 1 + (r >> 20) % ZS_MAX_ALLOC_SIZE;
			if (zs_malloc(w->pool, size[i], &h[i])) {
				h[i] = 0;
				continue;
			}
			key[i] = t_rand(&s);
			t_fill(buf, size[i], key[i]);
			zs_write(w->pool, h[i], buf, size[i]);
			continue;
		}
		switch (r % 6) {
		case 0:
			zs_free(w->pool, h[i]);
			h[i] = 0;
			break;
		case 1:
			p = zs_map(w->pool, h[i], ZS_MM_RO, &m);
			w->bad += !t_check(p, size[i], key[i]);
			zs_unmap(w->pool, &m);
			break;
		case 2:
			key[i] = t_rand(&s);
			p = zs_map(w->pool, h[i], ZS_MM_WO, &m);
			t_fill(p, size[i], key[i]);
			zs_unmap(w->pool, &m);
			break;
		case 3:
			key[i] = t_rand(&s);
			t_fill(buf, size[i], key[i]);
			zs_write(w->pool, h[i], buf, size[i]);
			break;
		default:
			zs_read(w->pool, h[i], buf, size[i]);
			w->bad += !t_check(buf, size[i], key[i]);
			break;
		}
	}
	for (unsigned i = 0; i < PER_WORKER; i++) {
		if (!h[i])
			continue;
		zs_read(w->pool, h[i], buf, size[i]);
		w->bad += !t_check(buf, size[i], key[i]);
		zs_free(w->pool, h[i]);
	}
	return NULL;
}

static void *compactor_run(void *arg)
{
	zs_pool *pool = arg;
	size_t *freed = malloc(sizeof(*freed));

	*freed = 0;
	while (!atomic_load(&stop))
		*freed += zs_compact(pool);
	return freed;
}

static void *stats_run(void *arg)
{
	zs_pool *pool = arg;

	while (!atomic_load(&stop)) {
		struct zs_pool_stats st;
		struct zs_class_stats cs;

		zs_pool_stats(pool, &st);
		(void)zs_can_compact(pool);
		for (unsigned i = 0; i < zs_class_count(pool); i += 7)
			zs_class_stats(pool, i, &cs);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *lg = getenv("ZS_LONG");
	double secs = argc > 1 ? atof(argv[1])
			       : (lg && *lg && *lg != '0') ? 20 : 1;
	zs_pool *pool = NULL;
	pthread_t wt[WORKERS], ct, stt;
	struct worker w[WORKERS];
	size_t ops = 0, bad = 0, *freed;
	struct zs_pool_stats st;

	TAP_OK(zs_pool_create(NULL, &pool) == 0, "create");
	for (unsigned i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ pool, i, 0, 0 };
		pthread_create(&wt[i], NULL, worker_run, &w[i]);
	}
	pthread_create(&ct, NULL, compactor_run, pool);
	pthread_create(&stt, NULL, stats_run, pool);
	struct timespec ts = { (time_t)secs,
			       (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < WORKERS; i++) {
		pthread_join(wt[i], NULL);
		ops += w[i].ops;
		bad += w[i].bad;
	}
	pthread_join(ct, (void **)&freed);
	pthread_join(stt, NULL);
	TAP_OK(bad == 0, "%u workers, %zu ops, %zu bad reads, compactor freed "
	       "%zu pages", WORKERS, ops, bad, *freed);
	free(freed);
	zs_pool_stats(pool, &st);
	TAP_OK(st.objs == 0 && st.bytes_stored == 0, "all freed");
	t_pool_check(pool, "check");
	zs_compact(pool);
	zs_pool_stats(pool, &st);
	TAP_OK(st.pages == 0, "no pages after a final compaction (%zu)",
	       st.pages);
	zs_pool_destroy(pool);
	return tap_done();
}
