/*
 * pool.c - the pool: create/destroy, zs_malloc/zs_free.  And the design.
 *
 * DESIGN
 *
 * zsfs stores compressed 4 KiB pages, i.e. objects of 1..4096 bytes whose
 * sizes are spread all over that range.  A general-purpose malloc rounds
 * them up to a few size bins and keeps freed holes it cannot reuse; this
 * pool follows the kernel's zsmalloc instead, so that memory held tracks
 * bytes stored closely, and adds compaction that can hand whole pages and
 * arenas back to the OS.
 *
 * Size classes (class.c).  Requests are rounded up to a multiple of 16
 * (at least 32), giving 255 sizes from 32 to 4096.  Each size gets a
 * zspage chain length of 1..max_pages_per_zspage (default 16) pages
 * chosen for the least tail waste plus descriptor cost per page (so the
 * longer of two equally tight chains: the 4096-byte class of raw pages
 * puts 16 objects under one descriptor), which fixes its objects per
 * zspage.  Adjacent sizes with the same (pages, objects) pair are merged
 * into one class.
 *
 * zspages (zspage.c).  A zspage is a chain of ordinary 4 KiB pages, not
 * contiguous, holding objects back to back: object s starts at byte
 * s * size of the chain, and may straddle two pages.  There is no header
 * in the pages: a zspage's descriptor (id, in-use count, fullness, list
 * links as zspage ids, the page numbers and a slot table) lives outside,
 * so the pages hold only object bytes.  The slot table has one 32-bit word per slot:
 * the id of the owning handle (the back-reference compaction needs), or
 * for a free slot the index of the next free slot.
 *
 * A zspage takes its pages lazily: a new zspage has none, and a page is
 * taken when the first slot on it is about to be used (a slot's pages are
 * all present before its handle is published, so readers never see a
 * missing page).  Fresh slots are handed out in ascending order, so the
 * newest, partly filled zspage of a class holds only the pages its
 * objects reach: long chains cost no partly filled zspage per class.
 * zs_free does not give pages back (only an emptied zspage goes):
 * doing so on every free that empties a page cost 25-60% of the
 * malloc+free throughput in allocbench, through the OS lock, for memory
 * that the background compactor returns anyway (zs_can_compact counts
 * it exactly).
 *
 * Handles (handle.c).  A handle carries, beside the id of its entry in a
 * two-level table, what never changes while the object lives: the
 * requested size and the shard (the owner keeps 64 bits anyway; zram and
 * our page store both also keep the length).  The entry, one atomic
 * 32-bit word, holds where the object is: zspage id and slot.  Moving an
 * object rewrites that word only (compaction, which knows no sizes, moves
 * whole slots).  Metadata per live object: 4 bytes of entry + 4 of slot
 * table, plus a zspage descriptor (40 bytes) and page array (4 bytes a
 * page: an arena id and index, not an address) per zspage.  Nothing maps
 * a page back to its zspage: page migration, the only one who asks,
 * builds that map for the arena it drains.
 *
 * Shards (class.c).  The whole set of classes exists once per shard
 * (default: one per CPU, at most 4).  Each thread allocates from its own
 * shard, dealt out round robin at its first zs_malloc, so concurrent
 * threads rarely contend for class locks or bounce zspage cache lines,
 * and a thread the scheduler moves between CPUs keeps filling the same
 * zspages; zspage descriptors and handle ids come from per-shard free
 * lists, a whole chunk at a time, so two threads' descriptors (which
 * every read pins with an atomic add) and handle entries (written at
 * every malloc and free) never share a cache line.  An object stays in its
 * shard (the handle records it), so zs_free goes to the right lock
 * from any thread.  The price is up to one partly filled zspage per class
 * per shard, which compaction treats like any other.
 *
 * Fullness groups (class.c).  A class keeps its zspages in lists by the
 * fraction of slots in use: [0,1/4), [1/4,1/2), [1/2,3/4), [3/4,1), full.
 * zs_malloc takes a slot from the fullest non-full zspage, so sparse
 * zspages are left to empty out.  An empty zspage is freed at once,
 * except that each class keeps one empty zspage in reserve, and the OS
 * layer keeps freed pages for reuse by any class (2 MiB, or up to 32 MiB
 * until a free a second later trims them), so that a workload hovering at a zspage
 * boundary, or whose mix of sizes drifts, does not pay a page fault and
 * a MADV_DONTNEED -- a TLB-shootdown IPI once two threads run -- every few
 * calls.  Both reserves are counted in pages (so in mem_bytes) and in
 * zs_can_compact, and zs_compact gives them back.
 *
 * Access (map.c).  zs_map returns a direct pointer for an object within
 * one page and a per-thread copy for one that spans two; zs_read/zs_write
 * copy straight from/to the pages.  Readers do not lock: they pin the
 * zspage in its atomic state word; compaction isolates a zspage only by
 * a compare-and-swap of that word from zero, so a pinned zspage is never
 * moved (it is skipped), and a reader never sees a half-moved object.
 *
 * Compaction (compact.c).  Per class, while the class holds pages its
 * live objects would not need if packed: take the emptiest zspage that
 * nobody has pinned, move each of its objects into the fullest zspage,
 * update the handle entries, free it.  When the other zspages are full
 * before it is empty, pack its remaining objects into its lowest slots
 * and give back the pages behind them, so a class ends with at most one
 * partly used page instead of up to a zspage of free slots.  The class
 * lock is held for one source zspage at a time and dropped in between,
 * so other threads wait at most one zspage's copy.  Then page
 * migration: pages of a sparsely used arena are copied into free pages of
 * denser arenas (each move under the owner's class lock, with the zspage
 * isolated) until the arena is empty and can be unmapped.  The page
 * arrays and slot tables of the zspages compaction freed were malloc'd:
 * the caller trims the C heap afterwards if it wants their pages back
 * (zsfs does, at its one compaction entry point); the allocator does not
 * touch process-wide state.
 *
 * Memory from the OS (os.c).  All pages are ordinary private anonymous
 * memory in 4 MiB arenas, without transparent huge pages; a page freed by
 * the pool is returned with MADV_DONTNEED at once (beyond the small
 * reserve above, which stays counted), so process RSS follows the pool
 * down as well as up, and mem_bytes (pages * 4096 + metadata) is what
 * the process really pays.  Pages are touched when a zspage is built, so
 * a counted page is a resident page.
 *
 * Why zram's "non-LRU page migration" problem does not arise here: in the
 * kernel, zsmalloc's pages are kernel pages that the memory-compaction
 * code cannot move unless zsmalloc registers movable_operations to
 * migrate them itself (isolate, copy, fix up zspage links, putback).  Our
 * pages are user anonymous pages: the kernel may migrate or compact their
 * physical frames at any time (NUMA balancing, khugepaged, compaction)
 * by rewriting our page-table entries, invisibly to us, because virtual
 * addresses do not change.  So we never migrate physical memory; "page
 * migration" here only moves zspage pages between our own arenas, to free
 * address space and arena metadata, not to help the kernel.
 *
 * Limit.  limit_bytes caps mem_bytes: taking a page that would exceed it
 * fails and zs_malloc returns -ENOSPC.  Free slots on pages the pool
 * holds can still be used.
 *
 * lock ordering: see internal.h.  zs_malloc/zs_free take one class lock
 * and, inside it, the handle, descriptor and OS locks.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int zs_pool_create(const struct zs_pool_params *params, zs_pool **poolp)
{
	unsigned maxp = ZS_DEFAULT_PAGES_PER_ZSPAGE;
	size_t limit = 0;
	zs_pool *pool;
	int err;

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned shards = ncpu < 1 ? 1
			  : ncpu > ZS_DEFAULT_MAX_SHARDS ? ZS_DEFAULT_MAX_SHARDS
							 : (unsigned)ncpu;

	if (params) {
		if (params->max_pages_per_zspage)
			maxp = params->max_pages_per_zspage;
		if (params->shards)
			shards = params->shards;
		limit = params->limit_bytes;
	}
	if (maxp < ZS_MIN_PAGES_PER_ZSPAGE || maxp > ZS_MAX_PAGES_PER_ZSPAGE ||
	    shards > ZS_MAX_SHARDS)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->max_pages_per_zspage = maxp;
	pool->nshards = shards;
	atomic_store(&pool->limit_bytes, limit);
	if (params) {
		pool->may_grow = params->may_grow;
		pool->may_grow_arg = params->may_grow_arg;
	}
	err = zs_os_init(&pool->os);
	if (err)
		goto fail_pool;
	if (params && params->lock_bytes) {
		err = zs_os_lock_check(params->lock_bytes);
		if (err)
			goto fail_os;
		pool->os.mlock = true;
	}
	err = -pthread_key_create(&pool->shard_key, NULL);
	if (err)
		goto fail_os;
	err = zs_classes_init(pool);
	if (err)
		goto fail_key;
	err = zs_handles_init(pool);
	if (err)
		goto fail_classes;
	err = zs_zspages_init(pool);
	if (err)
		goto fail_handles;
	err = zs_tbufs_init(pool);
	if (err)
		goto fail_zspages;
	*poolp = pool;
	return 0;

fail_zspages:
	zs_zspages_fini(pool);
fail_handles:
	zs_handles_fini(pool);
fail_classes:
	zs_classes_fini(pool);
fail_key:
	pthread_key_delete(pool->shard_key);
fail_os:
	zs_os_fini(&pool->os);
fail_pool:
	free(pool);
	return err;
}

void zs_pool_destroy(zs_pool *pool)
{
	if (!pool)
		return;
	zs_tbufs_fini(pool);
	zs_zspages_fini(pool);
	zs_handles_fini(pool);
	zs_classes_fini(pool);
	pthread_key_delete(pool->shard_key);
	zs_os_fini(&pool->os);
	free(pool);
}

int zs_malloc(zs_pool *pool, size_t size, zs_handle *hp)
{
	struct zs_class *c;
	struct zs_zspage *zp;
	uint32_t hid;
	unsigned slot;
	int err;

	if (size == 0 || size > ZS_MAX_ALLOC_SIZE)
		return -EINVAL;
	c = zs_class_in(pool, zs_shard_pick(pool), size);
	pthread_mutex_lock(&c->lock);
	err = zs_handle_get(pool, c, &hid);
	if (err)
		goto out_unlock;
	zp = zs_class_fullest(c);
	if (!zp && c->empty) {
		zp = c->empty;
		c->empty = zs_zp(pool, zp->next);
		c->nr_empty--;
		zs_class_link(c, zp);
	}
	if (!zp) {
		err = zs_zspage_create(pool, c, &zp);
		if (err)
			goto out_handle;
	}
	err = zs_zspage_populate(pool, c, zp, zp->freelist, true, NULL);
	if (err) {
		/* Only an empty zspage has no page to spare: drop it. */
		if (zp->inuse == 0) {
			zs_class_unlink(c, zp);
			zs_zspage_destroy(pool, c, zp, true);
		}
		goto out_handle;
	}
	slot = zs_zspage_slot_alloc(c, zp, hid);
	zs_class_refile(c, zp);
	c->objs_used++;
	c->bytes_stored += size;
	atomic_store_explicit(zs_handle_entry(pool, hid), ZS_ENT(zp->id, slot),
			      memory_order_release);
	pthread_mutex_unlock(&c->lock);
	*hp = ZS_H(hid, size, c->shard);
	ZS_ASSERT(ZS_H_VALID(*hp)); /* the ZS_HANDLE_BITS promise */
	return 0;

out_handle:
	zs_handle_put(pool, c, hid);
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return err;
}

void zs_free(zs_pool *pool, zs_handle h)
{
	_Atomic uint32_t *ent;
	struct zs_class *c;
	struct zs_zspage *zp;
	uint32_t e;

	if (!h)
		return;
	ZS_ASSERT(ZS_H_VALID(h) && ZS_H_SHARD(h) < pool->nshards);
	ent = zs_handle_entry(pool, ZS_H_ID(h));
	/* The location may change, but only under the class lock. */
	c = zs_class_in(pool, ZS_H_SHARD(h), ZS_H_SIZE(h));
	pthread_mutex_lock(&c->lock);
	e = atomic_load_explicit(ent, memory_order_relaxed);
	ZS_ASSERT(ZS_ENT_ZID(e) != 0); /* freed, or never allocated */
	zp = zs_zspage_get(pool, ZS_ENT_ZID(e));
	ZS_DASSERT(zs_slots(zp)[ZS_ENT_SLOT(e)] == ZS_H_ID(h));
	zs_zspage_slot_free(c, zp, ZS_ENT_SLOT(e));
	c->objs_used--;
	c->bytes_stored -= ZS_H_SIZE(h);
	zs_handle_put(pool, c, ZS_H_ID(h));
	/* Compaction isolates zspages only while it holds the class lock,
	 * so every zspage seen here is on its fullness list. */
	if (zp->inuse == 0) {
		zs_class_unlink(c, zp);
		if (!c->nr_empty) {
			zp->next = zs_zp_id(c->empty);
			c->empty = zp;
			c->nr_empty++;
		} else {
			zs_zspage_destroy(pool, c, zp, true);
		}
	} else {
		zs_class_refile(c, zp);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Free @c's reserve of empty zspages.  Caller must hold c->lock.
 * Return: pages freed. */
size_t zs_reserve_drop(zs_pool *pool, struct zs_class *c)
{
	size_t freed = 0;

	while (c->empty) {
		struct zs_zspage *zp = c->empty;

		c->empty = zs_zp(pool, zp->next);
		c->nr_empty--;
		freed += zp->npop;
		zs_zspage_destroy(pool, c, zp, false);
	}
	return freed;
}

void zs_set_limit(zs_pool *pool, size_t limit_bytes)
{
	atomic_store(&pool->limit_bytes, limit_bytes);
}
