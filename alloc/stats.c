/*
 * stats.c - counters and the per-class table.
 *
 * Hot counters live where their lock already is: objects, bytes and slots
 * per class under the class lock; pages and the compaction counters are
 * pool-wide atomics.  zs_pool_stats() sums them; the sum is a snapshot,
 * exact only when the pool is quiet.  One X-macro (ZS_POOL_STATS, in
 * zsmalloc.h) lists the pool counters and generates their struct and
 * their text form.
 *
 * The figures they are summed with (pages, metadata, mem_bytes) are the
 * pool's memory account (account.c).  The invariant walker is check.c.
 *
 * lock ordering: see internal.h.  Stats take each class lock in turn, one
 * at a time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void zs_pool_stats(zs_pool *pool, struct zs_pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0, all = zs_nr_all(pool); i < all; i++) {
		struct zs_class *c = &pool->classes[i];

		pthread_mutex_lock(&c->lock);
		st->objs += c->objs_used;
		st->bytes_stored += c->bytes_stored;
		pthread_mutex_unlock(&c->lock);
	}
	st->pages = atomic_load(&pool->pages);
	st->pages_max = atomic_load(&pool->pages_max);
	st->meta_bytes = zs_meta_bytes(pool);
	st->mem_bytes = st->pages * ZS_PAGE_SIZE + st->meta_bytes;
	st->limit_bytes = atomic_load(&pool->limit_bytes);
	st->pages_compacted = atomic_load(&pool->pages_compacted);
	st->compactions = atomic_load(&pool->compactions);
	st->os_bytes_mapped = atomic_load(&pool->os.mapped);
}

int zs_pool_stats_format(const struct zs_pool_stats *st, char *buf,
			 size_t cap)
{
	size_t len = 0;
	int n;

#define X(name, help)                                                     \
	n = snprintf(cap > len ? buf + len : NULL,                         \
		     cap > len ? cap - len : 0, "%-16s %zu\n", #name,      \
		     st->name);                                            \
	if (n < 0)                                                        \
		return -EINVAL;                                           \
	len += (size_t)n;
	ZS_POOL_STATS(X)
#undef X
	return (int)len;
}

unsigned zs_class_count(zs_pool *pool)
{
	return pool->nr_classes;
}

/* Stats of class @idx summed over the shards. */
int zs_class_stats(zs_pool *pool, unsigned idx, struct zs_class_stats *st)
{
	struct zs_class *c;

	if (idx >= pool->nr_classes)
		return -ENOENT;
	c = &pool->classes[idx];
	memset(st, 0, sizeof(*st));
	st->size = c->size;
	st->objs_per_zspage = c->objs_per_zspage;
	st->pages_per_zspage = c->pages_per_zspage;
	for (unsigned sh = 0, n = zs_nr_all(pool) / pool->nr_classes; sh < n;
	     sh++) {
		c = &pool->classes[sh * pool->nr_classes + idx];
		pthread_mutex_lock(&c->lock);
		for (unsigned g = 0; g <= ZS_NR_FULLNESS; g++)
			st->zspages[g] += c->nr_zspages[g];
		st->zspages[0] += c->nr_empty;
		st->pages_used += c->pages;
		st->objs_allocated += c->objs_allocated;
		st->objs_used += c->objs_used;
		st->pages_freeable += zs_class_freeable(c);
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
}
