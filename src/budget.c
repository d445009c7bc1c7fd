/*
 * budget.c - the mount's memory budget: caps, holders, reclaim.
 *
 * Numbers.  The pool's memory is read from the pool (zs_pool_mem_bytes,
 * a few atomic loads); every other holder's bytes are an atomic counter
 * here, and `foreign` is their sum, kept beside them so that the pool's
 * growth check and a charge read one value.  A charge adds to `foreign`
 * with a compare-and-swap against the size= cap, so two charges racing
 * for the last bytes cannot both pass; the pool's check and a charge can
 * race each other by at most one page, as the pool's own limit always
 * could.
 *
 * Reclaim.  Compaction is the one way to give memory back short of
 * deleting data, and every caller comes through here: the compact
 * command and xattr (manual), the background compactor (auto, which
 * skips when another compaction runs), and the paths that found a cap in
 * the way (space): the store before it answers ENOSPC to a write, the
 * metadata charge, and fallocate.  reclaim_lock serialises them, so at
 * most one zs_compact runs; each is counted by its reason.
 *
 * lock ordering:
 *	b->reclaim_lock      (one compaction at a time; held across
 *	                      zs_compact, which takes the pool's locks)
 *	  b->lock            (counters and the high-water mark; a leaf)
 * Callers may hold filesystem locks (the metadata charge holds ns_lock
 * exclusive): the budget never calls back into the filesystem.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"

/*
 * Heap trimming: malloc_trim(0) walks glibc's arenas and madvises their
 * free pages away, a few ms for a big heap, so it runs after
 * ZSFS_TRIM_BYTES of holders' bytes were freed, at most once per
 * ZSFS_TRIM_INTERVAL_NS; or, when the filesystem became empty, after
 * ZSFS_TRIM_EMPTY_BYTES, so that creating and removing one file over and
 * over does not trim each time.  After rm -rf of a big tree glibc's
 * arenas kept 14-15 MiB above an empty mount's RSS without it.
 */
#define ZSFS_TRIM_BYTES ((size_t)16 << 20)
#define ZSFS_TRIM_EMPTY_BYTES ((size_t)64 << 10)
#define ZSFS_TRIM_INTERVAL_NS INT64_C(1000000000)

struct zsfs_budget {
	/* constant after attach */
	zs_pool *pool;

	_Atomic size_t size;            /* size= cap, 0 = none */
	_Atomic size_t ceiling;         /* the machine's cap, 0 = none */
	_Atomic size_t room;            /* more it may take, SIZE_MAX = any */
	_Atomic size_t room_base;       /* used() when room was set */
	_Atomic size_t mem_limit;       /* the pool alone, 0 = none */
	_Atomic size_t held[ZSFS_HOLDERS_NR];
	_Atomic size_t foreign;         /* sum of held[] */

	_Atomic size_t trim_freed;      /* holders' bytes freed since a trim */
	_Atomic int64_t trim_at;        /* CLOCK_MONOTONIC ns of the last */
	_Atomic unsigned running;       /* compactions inside zs_compact */
	_Atomic unsigned max_running;   /* the most at once, for tests */

	pthread_mutex_t reclaim_lock;   /* serialises compactions */
	pthread_mutex_t lock;           /* leaf */
	struct zsfs_budget_stats st;    /* protected by lock */
	char ceiling_source[256];       /* protected by lock */
	size_t mem_used_max;            /* protected by lock */
	size_t pages_max_at_reset;      /* protected by lock */
};

static int64_t mono_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int zsfs_budget_create(size_t size_bytes, struct zsfs_budget **bp)
{
	struct zsfs_budget *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	atomic_init(&b->size, size_bytes);
	atomic_init(&b->room, SIZE_MAX);
	atomic_init(&b->trim_at, INT64_MIN / 2);
	if (pthread_mutex_init(&b->reclaim_lock, NULL))
		goto err_free;
	if (pthread_mutex_init(&b->lock, NULL))
		goto err_reclaim;
	*bp = b;
	return 0;

err_reclaim:
	pthread_mutex_destroy(&b->reclaim_lock);
err_free:
	free(b);
	return -ENOMEM;
}

void zsfs_budget_destroy(struct zsfs_budget *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->reclaim_lock);
	free(b);
}

void zsfs_budget_attach_pool(struct zsfs_budget *b, zs_pool *pool)
{
	b->pool = pool;
	zsfs_budget_reset_max(b);
}

static size_t pool_mem(const struct zsfs_budget *b)
{
	return b->pool ? zs_pool_mem_bytes(b->pool) : 0;
}

static size_t eff_size(const struct zsfs_budget *b)
{
	size_t size = atomic_load_explicit(&b->size, memory_order_relaxed);
	size_t ceil = atomic_load_explicit(&b->ceiling, memory_order_relaxed);

	return ceil && (!size || ceil < size) ? ceil : size;
}

/* May pool + holders grow to @used_after?  size=, the ceiling, the room. */
static int fits(const struct zsfs_budget *b, size_t used_after)
{
	size_t size = eff_size(b);
	size_t room = atomic_load_explicit(&b->room, memory_order_relaxed);

	if (size && used_after > size)
		return 0;
	if (room != SIZE_MAX) {
		size_t base = atomic_load_explicit(&b->room_base,
						   memory_order_relaxed);

		if (used_after > base && used_after - base > room)
			return 0;
	}
	return 1;
}

int zsfs_budget_pool_may_grow(void *arg, size_t mem_bytes_after)
{
	struct zsfs_budget *b = arg;
	size_t lim = atomic_load_explicit(&b->mem_limit, memory_order_relaxed);

	if (lim && mem_bytes_after > lim)
		return 0;
	return fits(b, mem_bytes_after +
			       atomic_load_explicit(&b->foreign,
						    memory_order_relaxed));
}

/* Add @bytes to foreign if the caps have room for them.  1 if added. */
static int foreign_try_add(struct zsfs_budget *b, size_t bytes)
{
	size_t cur = atomic_load(&b->foreign);

	do {
		if (cur + bytes < cur || !fits(b, pool_mem(b) + cur + bytes))
			return 0;
	} while (!atomic_compare_exchange_weak(&b->foreign, &cur, cur + bytes));
	return 1;
}

int zsfs_budget_charge(struct zsfs_budget *b, enum zsfs_holder h,
		       size_t bytes)
{
	if (!foreign_try_add(b, bytes)) {
		zsfs_budget_reclaim(b, ZSFS_RECLAIM_SPACE);
		if (!foreign_try_add(b, bytes))
			return -ENOSPC;
	}
	atomic_fetch_add(&b->held[h], bytes);
	return 0;
}

void zsfs_budget_add(struct zsfs_budget *b, enum zsfs_holder h, size_t bytes)
{
	atomic_fetch_add(&b->foreign, bytes);
	atomic_fetch_add(&b->held[h], bytes);
}

void zsfs_budget_sub(struct zsfs_budget *b, enum zsfs_holder h, size_t bytes)
{
	atomic_fetch_sub(&b->held[h], bytes);
	atomic_fetch_sub(&b->foreign, bytes);
	atomic_fetch_add(&b->trim_freed, bytes);
}

size_t zsfs_budget_held(const struct zsfs_budget *b, enum zsfs_holder h)
{
	return atomic_load(&b->held[h]);
}

size_t zsfs_budget_used(const struct zsfs_budget *b)
{
	return pool_mem(b) + atomic_load(&b->foreign);
}

size_t zsfs_budget_size(const struct zsfs_budget *b)
{
	return eff_size(b);
}

void zsfs_budget_size_source(struct zsfs_budget *b, char *buf, size_t cap)
{
	size_t size = atomic_load(&b->size);
	size_t ceil = atomic_load(&b->ceiling);

	if (!cap)
		return;
	if (ceil && (!size || ceil < size)) {
		pthread_mutex_lock(&b->lock);
		snprintf(buf, cap, "%s", b->ceiling_source);
		pthread_mutex_unlock(&b->lock);
	} else {
		snprintf(buf, cap, "%s", size ? "size=" : "none");
	}
}

void zsfs_budget_set_ceiling(struct zsfs_budget *b, size_t bytes,
			     const char *source)
{
	pthread_mutex_lock(&b->lock);
	snprintf(b->ceiling_source, sizeof(b->ceiling_source), "%s",
		 source ? source : "");
	pthread_mutex_unlock(&b->lock);
	atomic_store(&b->ceiling, bytes);
}

void zsfs_budget_set_room(struct zsfs_budget *b, size_t bytes)
{
	atomic_store(&b->room_base, zsfs_budget_used(b));
	atomic_store(&b->room, bytes);
}

size_t zsfs_budget_pool_cap(const struct zsfs_budget *b)
{
	size_t lim = atomic_load(&b->mem_limit);
	size_t size = eff_size(b);
	size_t foreign = atomic_load(&b->foreign);
	size_t cap;

	if (!size)
		return lim;
	/* size= less the holders, never below one page: a cap of 0 would
	 * read as "none" */
	cap = foreign + 4096 <= size ? size - foreign : 4096;
	return lim && lim < cap ? lim : cap;
}

void zsfs_budget_set_mem_limit(struct zsfs_budget *b, size_t bytes)
{
	atomic_store(&b->mem_limit, bytes);
}

int zsfs_budget_room(struct zsfs_budget *b, uint64_t bytes)
{
	uint64_t used = zsfs_budget_used(b);

	if (used + bytes >= used && fits(b, used + bytes))
		return 0;
	zsfs_budget_reclaim(b, ZSFS_RECLAIM_SPACE);
	used = zsfs_budget_used(b);
	return used + bytes >= used && fits(b, used + bytes) ? 0 : -ENOSPC;
}

/* ---- reclaim ---- */

/* Count compactions in zs_compact, for the tests' overlap check. */
static void note_running(struct zsfs_budget *b, int delta)
{
	unsigned now, max;

	if (delta < 0) {
		atomic_fetch_sub(&b->running, 1);
		return;
	}
	now = atomic_fetch_add(&b->running, 1) + 1;
	max = atomic_load(&b->max_running);
	while (now > max &&
	       !atomic_compare_exchange_weak(&b->max_running, &max, now))
		;
}

/* Caller holds reclaim_lock. */
static size_t reclaim_locked(struct zsfs_budget *b, enum zsfs_reclaim_why why)
{
	int64_t t0, t1;
	size_t freed;

	zsfs_budget_sample_max(b); /* the peak is before compaction frees */
	t0 = mono_ns(CLOCK_MONOTONIC);
	note_running(b, 1);
	freed = zs_compact(b->pool);
	note_running(b, -1);
	t1 = mono_ns(CLOCK_MONOTONIC);
#ifdef __GLIBC__
	/*
	 * The pool gives its pages back itself; the daemon's malloc heap
	 * (per-thread arenas holding freed inodes, names, request buffers)
	 * keeps what it freed until trimmed.  Trim it after every
	 * compaction a user or the compactor asked for, and after one for
	 * space that freed something, so they bring the process's real
	 * memory down too (~20 MiB on a churned 100 MiB mount).  (The
	 * allocator used to trim when it freed pages; that is the caller's
	 * business, so it is done here, once.)  Not counted in
	 * last_compact_usec.
	 */
	if (why != ZSFS_RECLAIM_SPACE || freed)
		malloc_trim(0);
#endif
	pthread_mutex_lock(&b->lock);
	switch (why) {
	case ZSFS_RECLAIM_MANUAL: b->st.compactions_manual++; break;
	case ZSFS_RECLAIM_AUTO: b->st.compactions_auto++; break;
	case ZSFS_RECLAIM_SPACE: b->st.compactions_enospc++; break;
	}
	b->st.last_compact_usec = (size_t)((t1 - t0) / 1000);
	b->st.last_compact_pages = freed;
	pthread_mutex_unlock(&b->lock);
	return freed;
}

size_t zsfs_budget_reclaim(struct zsfs_budget *b, enum zsfs_reclaim_why why)
{
	size_t freed;

	if (pthread_mutex_trylock(&b->reclaim_lock)) {
		pthread_mutex_lock(&b->lock);
		b->st.compactions_waited++;
		pthread_mutex_unlock(&b->lock);
		pthread_mutex_lock(&b->reclaim_lock);
	}
	freed = reclaim_locked(b, why);
	pthread_mutex_unlock(&b->reclaim_lock);
	return freed;
}

int zsfs_budget_reclaim_try(struct zsfs_budget *b, size_t *freed)
{
	if (pthread_mutex_trylock(&b->reclaim_lock))
		return 0;
	*freed = reclaim_locked(b, ZSFS_RECLAIM_AUTO);
	pthread_mutex_unlock(&b->reclaim_lock);
	return 1;
}

/* ---- high-water mark and counters ---- */

size_t zsfs_budget_sample_max(struct zsfs_budget *b)
{
	struct zs_pool_stats ps;
	size_t v, max;

	zs_pool_stats(b->pool, &ps);
	v = ps.mem_bytes;
	pthread_mutex_lock(&b->lock);
	if (ps.pages_max > b->pages_max_at_reset) {
		size_t peak = ps.pages_max * (size_t)ZS_PAGE_SIZE + ps.meta_bytes;

		if (peak > v)
			v = peak;
	}
	if (v > b->mem_used_max)
		b->mem_used_max = v;
	max = b->mem_used_max;
	pthread_mutex_unlock(&b->lock);
	return max;
}

void zsfs_budget_reset_max(struct zsfs_budget *b)
{
	struct zs_pool_stats ps;

	zs_pool_stats(b->pool, &ps);
	pthread_mutex_lock(&b->lock);
	b->mem_used_max = ps.mem_bytes;
	b->pages_max_at_reset = ps.pages_max;
	pthread_mutex_unlock(&b->lock);
}

void zsfs_budget_stats(struct zsfs_budget *b, struct zsfs_budget_stats *st)
{
	pthread_mutex_lock(&b->lock);
	*st = b->st;
	pthread_mutex_unlock(&b->lock);
}

unsigned zsfs_budget_debug_max_running(const struct zsfs_budget *b)
{
	return atomic_load(&b->max_running);
}

void zsfs_budget_trim_maybe(struct zsfs_budget *b, int empty)
{
	size_t freed = atomic_load(&b->trim_freed);
	int64_t now, last;

	if (freed < (empty ? ZSFS_TRIM_EMPTY_BYTES : ZSFS_TRIM_BYTES))
		return;
	now = mono_ns(CLOCK_MONOTONIC_COARSE);
	last = atomic_load(&b->trim_at);
	if (!empty && now - last < ZSFS_TRIM_INTERVAL_NS)
		return;
	/* One thread wins; the others go on without waiting. */
	if (!atomic_compare_exchange_strong(&b->trim_at, &last, now))
		return;
	atomic_store(&b->trim_freed, 0);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
