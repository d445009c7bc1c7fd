/*
 * imeta.c - the small pieces every inode shares: timestamps as
 * nanoseconds, the striped inode locks taken two at a time, and the heap
 * of the metadata charged to the budget as malloc really holds it.
 *
 * lock ordering: the inode locks (fs->ilocks) come after fs->ns_lock and
 * before fs->life_lock (fs.h); two of them are taken in table order.
 * Budget calls take the budget's own locks, after all of these.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "budget.h"
#include "fs.h"
#include "pagemap.h"

#define NS 1000000000LL
/* Whole seconds a timestamp keeps: the int64 ns range, less one second
 * each side so the nanoseconds always fit. */
#define TS_MAX_SEC (INT64_MAX / NS - 1)

int64_t zsfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return zsfs_ts_to_ns(&ts);
}

int64_t zsfs_ts_to_ns(const struct timespec *ts)
{
	/* Like a kernel filesystem's s_time_min/max: clamp, not fail. */
	if (ts->tv_sec > TS_MAX_SEC)
		return TS_MAX_SEC * NS;
	if (ts->tv_sec < -TS_MAX_SEC)
		return -TS_MAX_SEC * NS;
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

struct timespec zsfs_ns_to_ts(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / NS);
	ts.tv_nsec = (long)(ns % NS);
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += NS;
		ts.tv_sec--;
	}
	return ts;
}

void zsfs_inode_lock2(struct zsfs *fs, const struct zsfs_inode *src,
		      const struct zsfs_inode *dst)
{
	pthread_rwlock_t *ls = zsfs_ilock(fs, src), *ld = zsfs_ilock(fs, dst);

	if (ls == ld) {
		/* One lock (a rwlock taken twice by one thread, once
		 * exclusive, would deadlock). */
		pthread_rwlock_wrlock(ld);
	} else if ((uintptr_t)ls < (uintptr_t)ld) {
		pthread_rwlock_rdlock(ls);
		pthread_rwlock_wrlock(ld);
	} else {
		pthread_rwlock_wrlock(ld);
		pthread_rwlock_rdlock(ls);
	}
}

void zsfs_inode_unlock2(struct zsfs *fs, const struct zsfs_inode *src,
			const struct zsfs_inode *dst)
{
	pthread_rwlock_t *ls = zsfs_ilock(fs, src), *ld = zsfs_ilock(fs, dst);

	pthread_rwlock_unlock(ld);
	if (ls != ld)
		pthread_rwlock_unlock(ls);
}

/* What malloc will hold for @size bytes: glibc's chunk (the request and
 * its size word, in 16-byte steps, 32 at least).  The charge made before
 * the allocation; meta_settle corrects it to the real figure after. */
static size_t chunk_estimate(size_t size)
{
#ifdef __GLIBC__
	size_t c = (size + sizeof(size_t) + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
#else
	return size;
#endif
}

/* @p holds zsfs_malloc_size() bytes, @est were charged: charge or give
 * back the difference (only mmapped chunks differ, by their page
 * rounding; the allocation happened, so the charge cannot fail). */
static void meta_settle(struct zsfs *fs, void *p, size_t size, size_t est)
{
	size_t real = zsfs_malloc_size(p, size);

	if (real > est)
		zsfs_budget_add(fs->budget, ZSFS_HOLD_META, real - est);
	else if (real < est)
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, est - real);
}

void *zsfs_meta_alloc(struct zsfs *fs, size_t size, int zero, int *rc)
{
	size_t est = chunk_estimate(size);
	void *p;

	*rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, est);
	if (*rc < 0)
		return NULL;
	p = zero ? calloc(1, size) : malloc(size);
	if (!p) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, est);
		*rc = -ENOMEM;
		return NULL;
	}
	meta_settle(fs, p, size, est);
	return p;
}

void *zsfs_meta_realloc(struct zsfs *fs, void *p, size_t size, int *rc)
{
	size_t old = zsfs_malloc_size(p, 0), est = chunk_estimate(size);
	void *np;

	/* Both are held while realloc copies: charge the new one first. */
	*rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, est);
	if (*rc < 0)
		return NULL;
	np = realloc(p, size);
	if (!np) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, est);
		*rc = -ENOMEM;
		return NULL;
	}
	meta_settle(fs, np, size, est);
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, old);
	return np;
}

void zsfs_meta_free(struct zsfs *fs, void *p)
{
	if (!p)
		return;
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, zsfs_malloc_size(p, 0));
	free(p);
}
