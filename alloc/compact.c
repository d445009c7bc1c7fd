/*
 * compact.c - compaction (moving objects out of sparse zspages) and page
 * migration (moving zspage pages out of sparse arenas).
 *
 * Object compaction, per class: while the class holds more pages than
 * its live objects need (zs_class_freeable), isolate the emptiest zspage
 * that no reader has pinned, move each of its objects into the fullest
 * zspage of the class, rewrite the handle entries, and free it.  If every
 * candidate is pinned the class is left alone: nothing more can be freed
 * there now.  When the other zspages fill up before the source is empty,
 * the source's remaining objects move down into its lowest free slots,
 * the pages behind them are given back (pack_zspage), and the class is
 * done: it now holds full zspages and one zspage whose objects sit at
 * the front, which is what zs_class_freeable counts as needed.
 *
 * Page migration: then, while some arena is at most half used and its
 * used pages fit in the other arenas' free pages, copy each of its pages
 * into a page of another arena and point the owning zspage at the copy;
 * the emptied arena is unmapped.  A page whose zspage is pinned ends the
 * step (it will be retried by the next zs_compact).
 *
 * Isolation is the ZS_ISOLATED bit of the zspage's state word, set under
 * the class lock only when the pin count is zero, as map.c explains.  It is set and
 * cleared within one hold of the class lock, so zs_malloc/zs_free never
 * see an isolated zspage.
 *
 * lock ordering: see internal.h.  The class lock is held for one source
 * zspage (or one page) at a time and dropped between them, so other
 * threads' latency is bounded by one zspage copy; no pool-wide lock is
 * held across the run.  Page migration reads arena data under os.lock,
 * drops it, then takes the owner's class lock and re-validates.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Caller must hold the zspage's class lock.  Return: false if pinned.
 * The compare-and-swap from 0 orders against readers' increments of the
 * same word: either a reader's pin came first and this fails, or the
 * reader sees ZS_ISOLATED and backs off (map.c). */
bool zs_zspage_try_isolate(struct zs_zspage *zp)
{
	unsigned expect = 0;

	return atomic_compare_exchange_strong(&zp->state, &expect,
					      ZS_ISOLATED);
}

/* Caller must hold the zspage's class lock.  Stale readers may have
 * bumped the count meanwhile; only the flag goes. */
void zs_zspage_release(struct zs_zspage *zp)
{
	atomic_fetch_sub(&zp->state, ZS_ISOLATED);
}

/* Caller must hold c->lock.  Emptiest unpinned zspage, isolated. */
static struct zs_zspage *pick_source(struct zs_class *c)
{
	for (unsigned g = 0; g < ZS_NR_FULLNESS; g++)
		for (struct zs_zspage *zp = c->lists[g]; zp;
		     zp = zs_zp(c->pool, zp->next))
			if (zs_zspage_try_isolate(zp))
				return zp;
	return NULL;
}

/* Caller must hold c->lock; @src and @dst (!= src) are locked for
 * moving: @src isolated and unlinked, @dst a linked zspage with a free
 * slot.  Move the object in @src's slot @s into @dst; *@grownp counts
 * the pages the pool grew by for it.
 * Return: 0, or -ENOMEM when @dst could not get the page it needs. */
static int move_one(zs_pool *pool, struct zs_class *c, struct zs_zspage *src,
		    unsigned s, struct zs_zspage *dst, size_t *grownp)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	uint32_t hid = zs_slots(src)[s];
	_Atomic uint32_t *ent = zs_handle_entry(pool, hid);
	unsigned ds;
	int err;

	err = zs_zspage_populate(pool, c, dst, dst->freelist, false, grownp);
	if (err)
		return err;
	ds = zs_zspage_slot_alloc(c, dst, hid);
	zs_class_refile(c, dst);
	/* The entry does not know the object's size: move the whole slot. */
	zs_obj_copy_out(c, src, s, buf, c->size);
	zs_obj_copy_in(c, dst, ds, buf, c->size);
	atomic_store_explicit(ent, ZS_ENT(dst->id, ds), memory_order_release);
	zs_zspage_slot_free(c, src, s);
	return 0;
}

/* Caller must hold c->lock; @src is isolated and unlinked.  Move its
 * objects into the fullest other zspages while they have room. */
static void move_objects(zs_pool *pool, struct zs_class *c,
			 struct zs_zspage *src, size_t *grownp)
{
	for (unsigned s = 0; s < c->objs_per_zspage && src->inuse; s++) {
		struct zs_zspage *dst;

		if (zs_slots(src)[s] & ZS_SLOT_FREE)
			continue;
		dst = zs_class_fullest(c);
		if (!dst || move_one(pool, c, src, s, dst, grownp))
			return;
	}
}

/*
 * Caller must hold c->lock; @zp is isolated and unlinked.  Move the
 * objects in its highest slots into its lowest free ones, so that its
 * objects sit at the front and its free slots (on pages that can go) at
 * the back; rebuild the free list in ascending order, so that new
 * objects fill the front first.  *@grownp counts pages taken meanwhile.
 * Return: pages given back.
 */
static size_t pack_zspage(zs_pool *pool, struct zs_class *c,
			  struct zs_zspage *zp, size_t *grownp)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	uint32_t *slots = zs_slots(zp);
	unsigned lo = 0, hi = c->objs_per_zspage;

	for (;;) {
		while (lo < hi && !(slots[lo] & ZS_SLOT_FREE))
			lo++;
		while (hi > lo && (slots[hi - 1] & ZS_SLOT_FREE))
			hi--;
		if (lo >= hi)
			break;
		/* slot lo is free, slot hi - 1 is used, so lo < hi - 1 */
		uint32_t hid = slots[hi - 1];
		_Atomic uint32_t *ent = zs_handle_entry(pool, hid);

		if (zs_zspage_populate(pool, c, zp, lo, false, grownp))
			break;
		zs_obj_copy_out(c, zp, hi - 1, buf, c->size);
		zs_obj_copy_in(c, zp, lo, buf, c->size);
		atomic_store_explicit(ent, ZS_ENT(zp->id, lo),
				      memory_order_release);
		slots[lo++] = hid;
		slots[--hi] = ZS_SLOT_FREE;
	}
	/* The free list, ascending. */
	unsigned head = ZS_SLOT_END;

	for (unsigned s = c->objs_per_zspage; s-- > 0;)
		if (slots[s] & ZS_SLOT_FREE) {
			slots[s] = ZS_SLOT_FREE | head;
			head = s;
		}
	zp->freelist = (uint16_t)head;
	return zs_zspage_trim(pool, c, zp);
}

/* Compact class @c.  Return: pages freed, less the pages taken to move
 * objects into (which is what the pool's page count went down by). */
static size_t compact_class(zs_pool *pool, struct zs_class *c)
{
	size_t freed = 0, grown = 0;

	for (;;) {
		struct zs_zspage *src;

		pthread_mutex_lock(&c->lock);
		/* The reserve counts in freeable but takes no objects: drop
		 * it (again: zs_free may refill it while the lock is out). */
		freed += zs_reserve_drop(pool, c);
		if (zs_class_freeable(c) == 0)
			goto out_unlock;
		src = pick_source(c);
		if (!src)
			goto out_unlock;
		zs_class_unlink(c, src);
		move_objects(pool, c, src, &grown);
		if (src->inuse == 0) {
			/* Entries point away from src now; a stale reader
			 * that pins it after the release sees its entry
			 * changed and retries. */
			zs_zspage_release(src);
			freed += src->npop;
			zs_zspage_destroy(pool, c, src, false);
		} else {
			/* The other zspages are full (or a page could not
			 * be had): less than a zspage's worth of slots is
			 * free in the class.  Pack the objects left at the
			 * front of src and give back the pages behind
			 * them; then stop. */
			freed += pack_zspage(pool, c, src, &grown);
			zs_zspage_release(src);
			zs_class_link(c, src);
			goto out_unlock;
		}
		pthread_mutex_unlock(&c->lock);
	}
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return freed > grown ? freed - grown : 0;
}

/* Move one page of draining arena @a.  Return: 0 moved, -EAGAIN the page
 * changed owner meanwhile (look again), -EBUSY its zspage is pinned,
 * -ENOMEM no page elsewhere. */
static int move_page(zs_pool *pool, struct zs_arena *a, zs_pno page,
		     uint32_t zid, unsigned idx)
{
	struct zs_zspage *zp;
	struct zs_class *c;
	zs_pno np;
	unsigned reused;
	int err;

	if (zid == 0) {
		/* In the OS reserve (freed since the flush), or being built
		 * or torn down right now. */
		if (!zs_os_reserve_evict(&pool->os, page))
			return -EAGAIN;
		zs_pages_sub(pool, 1);
		return 0;
	}
	zp = zs_zspage_get(pool, zid);
	c = zs_zspage_class(pool, zp);
	if (!c)
		return -EAGAIN;
	pthread_mutex_lock(&c->lock);
	/* A descriptor changes class only through destroy (cls = 0, under
	 * the old class lock) and create (under the new one), so once it
	 * reads as @c under c->lock it is a live zspage of @c. */
	if (zs_zspage_class(pool, zp) != c || idx >= zp->npages ||
	    zs_pages(zp)[idx] != page) {
		err = -EAGAIN;
		goto out_unlock;
	}
	if (!zs_zspage_try_isolate(zp)) {
		err = -EBUSY;
		goto out_unlock;
	}
	err = zs_os_pages_alloc(&pool->os, 1, &np, a, &reused);
	if (err)
		goto out_release;
	memcpy(zs_page_ptr(&pool->os, np), zs_page_ptr(&pool->os, page),
	       ZS_PAGE_SIZE);
	zs_pages(zp)[idx] = np;
	zs_os_pages_free(&pool->os, &page, 1, false);
	atomic_fetch_add(&pool->os.pages_moved, 1);
out_release:
	zs_zspage_release(zp);
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return err;
}

/*
 * Which zspage owns each page of draining arena @a: @map[page index] =
 * ZS_OWNER(zid, index in the zspage), 0 for none.  Walks every zspage,
 * one class lock at a time, so it is a snapshot: move_page checks an
 * entry again under the owner's class lock before it trusts it.  No page
 * of a draining arena is handed out meanwhile unless every other arena
 * is full, and such a page just stays (it reads as owned by nobody).
 */
static void map_owners(zs_pool *pool, const struct zs_arena *a,
		       uint32_t *map)
{
	memset(map, 0, ZS_ARENA_PAGES * sizeof(*map));
	for (unsigned i = 0, all = zs_nr_all(pool); i < all; i++) {
		struct zs_class *c = &pool->classes[i];

		pthread_mutex_lock(&c->lock);
		for (unsigned g = 0; g <= ZS_NR_FULLNESS + 1; g++) {
			struct zs_zspage *zp = g <= ZS_NR_FULLNESS ? c->lists[g]
								  : c->empty;

			for (; zp; zp = zs_zp(pool, zp->next)) {
				zs_pno *pages = zs_pages(zp);

				for (unsigned j = 0; j < zp->npages; j++)
					if (pages[j] &&
					    ZS_PNO_ARENA(pages[j]) == a->id)
						map[ZS_PNO_IDX(pages[j])] =
							ZS_OWNER(zp->id, j);
			}
		}
		pthread_mutex_unlock(&c->lock);
	}
}

static void migrate_pages(zs_pool *pool)
{
	struct zs_arena *a;
	uint32_t *map = malloc(ZS_ARENA_PAGES * sizeof(*map));

	if (!map)
		return;
	while ((a = zs_os_pick_drain(&pool->os))) {
		unsigned pos = 0, again = 0, remapped_at = ZS_ARENA_PAGES;
		zs_pno page;
		int err = 0;

		map_owners(pool, a, map);
		while (!err && !zs_os_next_used(&pool->os, a, &pos, &page)) {
			uint32_t o = map[pos];

			err = move_page(pool, a, page, ZS_OWNER_ZID(o),
					ZS_OWNER_IDX(o));
			if (err == -EAGAIN && ++again < 64) {
				err = 0;
				/* The page changed hands since the map: map
				 * again and look once more; then go on. */
				if (remapped_at == pos) {
					pos++;
				} else {
					remapped_at = pos;
					map_owners(pool, a, map);
				}
			}
		}
		zs_os_drain_done(&pool->os, a);
		if (err)
			break;
	}
	free(map);
}

size_t zs_compact(zs_pool *pool)
{
	size_t freed = 0, n;

	for (unsigned i = 0, all = zs_nr_all(pool); i < all; i++)
		freed += compact_class(pool, &pool->classes[i]);
	/* Last, so that pages freed by the classes above are returned too. */
	n = zs_os_reserve_flush(&pool->os);
	zs_pages_sub(pool, n);
	freed += n;
	migrate_pages(pool);
	/* The page arrays and slot tables of the zspages freed above were
	 * malloc'd; giving the C heap's free pages back (malloc_trim) is
	 * the caller's business, see zsmalloc.h. */
	atomic_fetch_add(&pool->pages_compacted, freed);
	atomic_fetch_add(&pool->compactions, 1);
	return freed;
}

size_t zs_can_compact(zs_pool *pool)
{
	size_t n = 0;

	for (unsigned i = 0, all = zs_nr_all(pool); i < all; i++) {
		struct zs_class *c = &pool->classes[i];

		pthread_mutex_lock(&c->lock);
		n += zs_class_freeable(c);
		pthread_mutex_unlock(&c->lock);
	}
	return n + atomic_load(&pool->os.nreserve);
}
