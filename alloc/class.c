/*
 * class.c - size classes: their math, merging, and fullness groups.
 *
 * A size class serves every request size that rounds up to the same slot.
 * Sizes step by 16 bytes from 32 to 4096.  Each class chooses the length
 * of its zspage chain (1..max_pages_per_zspage pages) that costs the
 * smallest fraction of the chain: the bytes wasted at its tail plus
 * ZS_ZSPAGE_COST for the zspage's descriptor.  So of two chains that
 * waste the same fraction the longer one wins, since one descriptor then
 * covers more pages (the 4096-byte class of incompressible pages takes
 * the longest chain instead of one descriptor per page).  Long chains
 * used to cost a partly filled zspage per class; they no longer do,
 * because a zspage gets its pages only as its slots are used and
 * compaction gives back the pages behind the last object (zspage.c).
 * Neighbouring sizes that end up with the same chain length and the same
 * number of objects per zspage would use memory identically apart from
 * the slot size, so they are merged into one class whose slot is the
 * largest of them (as the kernel does): fewer classes mean fewer
 * half-empty zspages.
 *
 * Shards (see internal.h) repeat the whole set of classes; shard 0's
 * classes also serve as the geometry of a size for any shard.
 *
 * lock ordering: see internal.h.  Every list function here requires the
 * caller to hold c->lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "internal.h"

void zs_pick_chain(size_t size, unsigned max_pages, unsigned *pagesp,
		   unsigned *objsp)
{
	unsigned best = 1;
	size_t best_cost = ZS_PAGE_SIZE % size + ZS_ZSPAGE_COST;

	for (unsigned i = 2; i <= max_pages; i++) {
		size_t cost = (size_t)i * ZS_PAGE_SIZE % size + ZS_ZSPAGE_COST;

		/* cost/i <= best_cost/best, without division */
		if (cost * best <= best_cost * i) {
			best = i;
			best_cost = cost;
		}
	}
	*pagesp = best;
	*objsp = (unsigned)((size_t)best * ZS_PAGE_SIZE / size);
}

static void shard_setup(zs_pool *pool, unsigned sh);

int zs_classes_init(zs_pool *pool)
{
	struct zs_class *classes;
	unsigned n = 0;
	unsigned pages[ZS_NR_SIZES], objs[ZS_NR_SIZES];
	void *p;
	int err;

	/* Count merged classes first, walking from the largest size down. */
	for (int i = ZS_NR_SIZES - 1; i >= 0; i--) {
		size_t size = ZS_MIN_ALLOC_SIZE + (size_t)i * ZS_SIZE_CLASS_DELTA;

		zs_pick_chain(size, pool->max_pages_per_zspage, &pages[i],
			      &objs[i]);
		if (i == ZS_NR_SIZES - 1 || pages[i] != pages[i + 1] ||
		    objs[i] != objs[i + 1])
			n++;
	}
	/* One mapping for every shard's classes: untouched pages cost
	 * nothing, and a shard's are touched when a thread first uses it
	 * (meta_bytes counts the classes of the shards set up). */
	pool->classes_bytes = (size_t)n * pool->nshards * sizeof(*classes);
	err = zs_os_map_untracked(pool->classes_bytes, &p);
	if (err)
		return err;
	classes = p;

	/* Classes are numbered by ascending size; fill from the top. */
	unsigned idx = n;
	for (int i = ZS_NR_SIZES - 1; i >= 0; i--) {
		size_t size = ZS_MIN_ALLOC_SIZE + (size_t)i * ZS_SIZE_CLASS_DELTA;

		if (i == ZS_NR_SIZES - 1 || pages[i] != pages[i + 1] ||
		    objs[i] != objs[i + 1]) {
			struct zs_class *c = &classes[--idx];

			c->index = idx;
			c->size = size;
			c->pages_per_zspage = pages[i];
			c->objs_per_zspage = objs[i];
		}
		pool->size_class[i] = &classes[idx];
	}
	pool->classes = classes;
	pool->nr_classes = n;
	pthread_mutex_init(&pool->shard_lock, NULL);
	shard_setup(pool, 0);
	atomic_store_explicit(&pool->nr_all, n, memory_order_release);
	return 0;
}

/* Set up shard @sh's classes (for sh > 0 as copies of shard 0's). */
static void shard_setup(zs_pool *pool, unsigned sh)
{
	unsigned n = pool->nr_classes;

	for (unsigned i = 0; i < n; i++) {
		struct zs_class *c = &pool->classes[sh * n + i];

		zs_mutex_init(&c->lock);
		c->pool = pool;
		c->index = i;
		c->shard = sh;
		c->size = pool->classes[i].size;
		c->pages_per_zspage = pool->classes[i].pages_per_zspage;
		c->objs_per_zspage = pool->classes[i].objs_per_zspage;
	}
}

void zs_classes_fini(zs_pool *pool)
{
	unsigned all = zs_nr_all(pool);

	for (unsigned i = 0; i < all; i++)
		pthread_mutex_destroy(&pool->classes[i].lock);
	pthread_mutex_destroy(&pool->shard_lock);
	zs_os_unmap_untracked(pool->classes, pool->classes_bytes);
	pool->classes = NULL;
}

struct zs_class *zs_class_for(zs_pool *pool, size_t size)
{
	if (size < ZS_MIN_ALLOC_SIZE)
		size = ZS_MIN_ALLOC_SIZE;
	return pool->size_class[(size - ZS_MIN_ALLOC_SIZE +
				 ZS_SIZE_CLASS_DELTA - 1) / ZS_SIZE_CLASS_DELTA];
}

/* The class for @size in @shard. */
struct zs_class *zs_class_in(zs_pool *pool, unsigned shard, size_t size)
{
	return &pool->classes[shard * pool->nr_classes +
			      zs_class_for(pool, size)->index];
}

/*
 * The shard the calling thread allocates from.  Threads are dealt out
 * round robin on their first allocation and keep their shard: a thread
 * that the scheduler moves between CPUs does not spread its objects (and
 * partly filled zspages) over every shard, and two busy threads on a
 * two-CPU machine get different shards.
 */
unsigned zs_shard_pick(zs_pool *pool)
{
	uintptr_t v;

	if (pool->nshards == 1)
		return 0;
	v = (uintptr_t)pthread_getspecific(pool->shard_key);
	if (!v) {
		v = atomic_fetch_add(&pool->shard_next, 1) % pool->nshards + 1;
		/* Set up every shard up to this one, in order. */
		if (v * pool->nr_classes > zs_nr_all(pool)) {
			pthread_mutex_lock(&pool->shard_lock);
			for (unsigned sh = zs_nr_all(pool) / pool->nr_classes;
			     sh < v; sh++) {
				shard_setup(pool, sh);
				atomic_store_explicit(&pool->nr_all,
						      (sh + 1) * pool->nr_classes,
						      memory_order_release);
			}
			pthread_mutex_unlock(&pool->shard_lock);
		}
		pthread_setspecific(pool->shard_key, (void *)v);
	}
	return (unsigned)(v - 1);
}

/* Fullness group of a zspage with @inuse live objects (inuse > 0). */
unsigned zs_fullness_of(const struct zs_class *c, unsigned inuse)
{
	if (inuse >= c->objs_per_zspage)
		return ZS_FULL;
	return inuse * ZS_NR_FULLNESS / c->objs_per_zspage;
}

/* Caller must hold c->lock.  Insert at the head of its group's list. */
void zs_class_link(struct zs_class *c, struct zs_zspage *zp)
{
	unsigned g = zs_fullness_of(c, zp->inuse);

	zp->fullness = (uint8_t)g;
	zp->prev = 0;
	zp->next = zs_zp_id(c->lists[g]);
	if (c->lists[g])
		c->lists[g]->prev = zp->id;
	c->lists[g] = zp;
	c->nr_zspages[g]++;
}

/* Caller must hold c->lock. */
void zs_class_unlink(struct zs_class *c, struct zs_zspage *zp)
{
	unsigned g = zp->fullness;
	struct zs_zspage *prev = zs_zp(c->pool, zp->prev);
	struct zs_zspage *next = zs_zp(c->pool, zp->next);

	if (prev)
		prev->next = zp->next;
	else
		c->lists[g] = next;
	if (next)
		next->prev = zp->prev;
	zp->prev = zp->next = 0;
	c->nr_zspages[g]--;
}

/* Caller must hold c->lock.  Move @zp if its inuse changed its group. */
void zs_class_refile(struct zs_class *c, struct zs_zspage *zp)
{
	if (zs_fullness_of(c, zp->inuse) == zp->fullness)
		return;
	zs_class_unlink(c, zp);
	zs_class_link(c, zp);
}

/* Caller must hold c->lock.  The fullest zspage that has a free slot. */
struct zs_zspage *zs_class_fullest(struct zs_class *c)
{
	for (int g = ZS_NR_FULLNESS - 1; g >= 0; g--)
		if (c->lists[g])
			return c->lists[g];
	return NULL;
}

/* Caller must hold c->lock.  Pages compaction would free: those held
 * beyond what the live objects need when packed into full zspages plus
 * one zspage holding the rest at its front (see compact.c).  Exact when
 * no zspage is pinned. */
size_t zs_class_freeable(const struct zs_class *c)
{
	size_t full = c->objs_used / c->objs_per_zspage;
	size_t rest = c->objs_used % c->objs_per_zspage;
	size_t need = full * c->pages_per_zspage +
		      (rest * c->size + ZS_PAGE_SIZE - 1) / ZS_PAGE_SIZE;

	return c->pages > need ? c->pages - need : 0;
}
