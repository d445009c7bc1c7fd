/*
 * zspage.c - zspages: building and tearing down a chain of pages, slot
 * allocation inside it, and copying object bytes in and out.
 *
 * A zspage's descriptor lives in a two-level table indexed by a 32-bit id
 * (the id is what handle entries store).  Descriptors are never freed
 * while the pool lives, only recycled, because a lock-free reader holding
 * a stale handle-entry value may still touch the descriptor's pin counter
 * (map.c); its page and slot arrays are freed with the zspage.
 *
 * Objects are laid out back to back: slot s starts at byte s * class->size
 * of the chain, so an object may cross from one page into the next.
 * Pages are taken when a slot on them is first needed
 * (zs_zspage_populate) and compaction gives back the ones no object
 * touches (zs_zspage_trim); a missing page's address is NULL.  The
 * slot table (outside the pages, so building a zspage writes nothing into
 * it but one byte per page) holds the owning handle id of a used slot or
 * the next free slot of a free one.
 *
 * lock ordering: see internal.h.  Functions that take a class require the
 * caller to hold c->lock; they take pool->zspages.lock and pool->os.lock
 * inside it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int zs_zspages_init(zs_pool *pool)
{
	zs_mutex_init(&pool->zspages.lock);
	return 0;
}

void zs_zspages_fini(zs_pool *pool)
{
	struct zs_zspages *t = &pool->zspages;

	for (unsigned i = 0; i < t->nchunks; i++) {
		struct zs_zspage *chunk = atomic_load(&t->chunks[i]);

		for (unsigned j = 0; j < ZS_ZCHUNK_ENTRIES; j++)
			if (!(chunk[j].flags & ZS_ZP_INLINE))
				free(chunk[j].u.block);
		zs_os_meta_unmap(&pool->os, chunk,
				 ZS_ZCHUNK_ENTRIES * sizeof(*chunk));
	}
	pthread_mutex_destroy(&t->lock);
}

/* Caller must hold t->lock.  A new chunk for @shard's free list. */
static int descriptors_grow(zs_pool *pool, unsigned shard)
{
	struct zs_zspages *t = &pool->zspages;
	struct zs_zspage *chunk;
	void *p;
	int err;

	if (t->nchunks >= ZS_ZCHUNK_MAX)
		return -ENOMEM;
	err = zs_os_meta_map(&pool->os, ZS_ZCHUNK_ENTRIES * sizeof(*chunk), &p);
	if (err)
		return err;
	chunk = p;
	atomic_store_explicit(&t->chunks[t->nchunks], chunk,
			      memory_order_release);
	/* Push in reverse so ids come out ascending; id 0 is never used. */
	for (unsigned j = ZS_ZCHUNK_ENTRIES; j-- > 0;) {
		uint32_t id = (t->nchunks << ZS_ZCHUNK_SHIFT) | j;

		chunk[j].id = id;
		if (id == 0)
			continue;
		chunk[j].next = zs_zp_id(t->free[shard]);
		t->free[shard] = &chunk[j];
	}
	t->nchunks++;
	return 0;
}

static int descriptor_get(zs_pool *pool, unsigned shard,
			  struct zs_zspage **zpp)
{
	struct zs_zspages *t = &pool->zspages;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->free[shard])
		err = descriptors_grow(pool, shard);
	if (!err) {
		*zpp = t->free[shard];
		t->free[shard] = zs_zp(pool, (*zpp)->next);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

static void descriptor_put(zs_pool *pool, unsigned shard,
			   struct zs_zspage *zp)
{
	struct zs_zspages *t = &pool->zspages;

	pthread_mutex_lock(&t->lock);
	zp->next = zs_zp_id(t->free[shard]);
	t->free[shard] = zp;
	pthread_mutex_unlock(&t->lock);
}

/* Whether a zspage of @c keeps its page and slot in the descriptor. */
static bool class_inline(const struct zs_class *c)
{
	return c->pages_per_zspage == 1 && c->objs_per_zspage == 1;
}

static size_t block_bytes(const struct zs_class *c)
{
	if (class_inline(c))
		return 0;
	return c->pages_per_zspage * sizeof(zs_pno) +
	       c->objs_per_zspage * sizeof(uint32_t);
}

/* What glibc really holds for a malloc(n): n plus an 8-byte header,
 * rounded to 16, at least 32. */
static size_t malloc_cost(size_t n)
{
	size_t m = (n + 8 + 15) & ~(size_t)15;

	if (n == 0)
		return 0;
	return m < 32 ? 32 : m;
}

/* The class of a live zspage, or NULL. */
struct zs_class *zs_zspage_class(zs_pool *pool, struct zs_zspage *zp)
{
	unsigned idx = atomic_load_explicit(&zp->cls, memory_order_acquire);

	return idx ? &pool->classes[idx - 1] : NULL;
}

/*
 * zs_zspage_create() - build an empty zspage for @c and link it into the
 * class's lists.  Its pages are not taken yet: zs_zspage_populate() gets
 * each one when the first slot on it is about to be used, so the newest
 * zspage of a class holds only the pages its objects need (see pool.c).
 * Caller must hold c->lock.
 * Return: 0, -ENOMEM.
 */
int zs_zspage_create(zs_pool *pool, struct zs_class *c,
		     struct zs_zspage **zpp)
{
	unsigned n = c->pages_per_zspage;
	struct zs_zspage *zp = NULL;
	zs_pno *pages;
	uint32_t *slots;
	int err;

	err = descriptor_get(pool, c->shard, &zp);
	if (err)
		goto fail;
	zp->npages = (uint8_t)n;
	zp->npop = 0;
	zp->flags = class_inline(c) ? ZS_ZP_INLINE : 0;
	if (!class_inline(c)) {
		zp->u.block = malloc(block_bytes(c));
		if (!zp->u.block) {
			err = -ENOMEM;
			goto fail_descriptor;
		}
	}
	pages = zs_pages(zp);
	slots = zs_slots(zp);
	for (unsigned i = 0; i < n; i++)
		pages[i] = 0;
	for (unsigned s = 0; s < c->objs_per_zspage; s++)
		slots[s] = ZS_SLOT_FREE |
			   (s + 1 < c->objs_per_zspage ? s + 1 : ZS_SLOT_END);
	zp->freelist = 0;
	zp->inuse = 0;
	/* Last: page migration trusts a descriptor whose class it has
	 * locked only once this is set (compact.c, move_page). */
	atomic_store_explicit(&zp->cls, (unsigned short)(c->shard *
							 pool->nr_classes +
							 c->index + 1),
			      memory_order_release);
	atomic_fetch_add(&pool->zspages.meta_bytes,
			 malloc_cost(block_bytes(c)));
	c->objs_allocated += c->objs_per_zspage;
	zs_class_link(c, zp);
	*zpp = zp;
	return 0;

fail_descriptor:
	zp->u.block = NULL;
	zp->flags = 0;
	descriptor_put(pool, c->shard, zp);
fail:
	return err;
}

/* First and last page index of slot @slot. */
static void slot_pages(const struct zs_class *c, unsigned slot,
		       unsigned *firstp, unsigned *lastp)
{
	size_t off = (size_t)slot * c->size;

	*firstp = (unsigned)(off / ZS_PAGE_SIZE);
	*lastp = (unsigned)((off + c->size - 1) / ZS_PAGE_SIZE);
}

/*
 * zs_zspage_populate() - make sure the pages under slot @slot are there:
 * take the missing ones from the OS layer.  @check_limit: fail with
 * -ENOSPC rather than grow mem_bytes past the pool's limit (compaction,
 * which frees more than it takes, passes false).  @grownp (may be NULL)
 * is increased by the pages that grew the pool's page count (pages from
 * the OS reserve were counted already).  Caller must hold c->lock.
 * Return: 0, -ENOSPC, -ENOMEM.
 */
int zs_zspage_populate(zs_pool *pool, struct zs_class *c,
		       struct zs_zspage *zp, unsigned slot, bool check_limit,
		       size_t *grownp)
{
	zs_pno *pages = zs_pages(zp);
	unsigned first, last;

	slot_pages(c, slot, &first, &last);
	for (unsigned i = first; i <= last; i++) {
		unsigned reused;
		int err;

		if (pages[i])
			continue;
		if (check_limit) {
			size_t limit = atomic_load_explicit(
				&pool->limit_bytes, memory_order_relaxed);

			/* Pages from the OS reserve are counted already. */
			if ((limit || pool->may_grow) &&
			    !atomic_load_explicit(&pool->os.nreserve,
						  memory_order_relaxed)) {
				size_t after = zs_mem_bytes(pool) + ZS_PAGE_SIZE;

				if ((limit && after > limit) ||
				    (pool->may_grow &&
				     !pool->may_grow(pool->may_grow_arg, after)))
					return -ENOSPC;
			}
		}
		err = zs_os_pages_alloc(&pool->os, 1, &pages[i], NULL,
					&reused);
		if (err) {
			pages[i] = 0;
			return err;
		}
		/* Touch the page now so RSS matches the pages we count. */
		zs_page_ptr(&pool->os, pages[i])[0] = 0;
		zp->npop++;
		c->pages++;
		zs_pages_add(pool, 1 - reused);
		if (grownp)
			*grownp += 1 - reused;
	}
	return 0;
}

/*
 * zs_zspage_trim() - give back every page of @zp that no used slot
 * touches.  Caller must hold c->lock, and @zp must be isolated or have no
 * object: no reader may be looking at it.  Return: pages freed.
 */
unsigned zs_zspage_trim(zs_pool *pool, struct zs_class *c,
			struct zs_zspage *zp)
{
	zs_pno *pages = zs_pages(zp);
	zs_pno rel[ZS_MAX_PAGES_PER_ZSPAGE];
	bool used[ZS_MAX_PAGES_PER_ZSPAGE] = { false };
	uint32_t *slots = zs_slots(zp);
	unsigned n = 0, released;

	for (unsigned s = 0; s < c->objs_per_zspage; s++) {
		unsigned first, last;

		if (slots[s] & ZS_SLOT_FREE)
			continue;
		slot_pages(c, s, &first, &last);
		for (unsigned i = first; i <= last; i++)
			used[i] = true;
	}
	for (unsigned i = 0; i < zp->npages; i++)
		if (pages[i] && !used[i]) {
			rel[n++] = pages[i];
			pages[i] = 0;
		}
	if (!n)
		return 0;
	released = zs_os_pages_free(&pool->os, rel, n, false);
	zp->npop = (uint8_t)(zp->npop - n);
	c->pages -= n;
	zs_pages_sub(pool, released);
	return released;
}

/*
 * zs_zspage_destroy() - free an empty zspage: give its pages back to the
 * OS (@keep: the OS layer may keep them in its reserve) and recycle the
 * descriptor.  The zspage must be unlinked from the
 * class lists already.  Caller must hold c->lock.
 */
void zs_zspage_destroy(zs_pool *pool, struct zs_class *c,
		       struct zs_zspage *zp, bool keep)
{
	zs_pno *pages = zs_pages(zp);
	zs_pno rel[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned n = 0, released;

	ZS_ASSERT(zp->inuse == 0);
	atomic_store_explicit(&zp->cls, 0, memory_order_relaxed);
	for (unsigned i = 0; i < zp->npages; i++)
		if (pages[i])
			rel[n++] = pages[i];
	ZS_ASSERT(n == zp->npop);
	released = n ? zs_os_pages_free(&pool->os, rel, n, keep) : 0;
	atomic_fetch_sub(&pool->zspages.meta_bytes,
			 malloc_cost(block_bytes(c)));
	if (!(zp->flags & ZS_ZP_INLINE))
		free(zp->u.block);
	zp->u.block = NULL;
	zp->flags = 0;
	zp->npages = 0;
	zp->npop = 0;
	c->pages -= n;
	c->objs_allocated -= c->objs_per_zspage;
	zs_pages_sub(pool, released);
	descriptor_put(pool, c->shard, zp);
}

/*
 * zs_zspage_verify() - expensive check of one zspage (ZS_DEBUG builds call
 * it after every change): the in-use count matches the slot table, the
 * free list holds exactly the free slots.  Caller must hold c->lock.
 */
void zs_zspage_verify(const struct zs_class *c, struct zs_zspage *zp)
{
	uint32_t *slots = zs_slots(zp);
	unsigned used = 0, nfree = 0;

	for (unsigned s = 0; s < c->objs_per_zspage; s++)
		used += !(slots[s] & ZS_SLOT_FREE);
	for (unsigned s = zp->freelist; s != ZS_SLOT_END;
	     s = slots[s] & ~ZS_SLOT_FREE) {
		ZS_ASSERT(s < c->objs_per_zspage && (slots[s] & ZS_SLOT_FREE));
		ZS_ASSERT(++nfree <= c->objs_per_zspage);
	}
	ZS_ASSERT(used == zp->inuse);
	ZS_ASSERT(nfree == c->objs_per_zspage - used);
}

/* Caller must hold c->lock; @zp has a free slot.  Does not refile. */
unsigned zs_zspage_slot_alloc(struct zs_class *c, struct zs_zspage *zp,
			      uint32_t hid)
{
	unsigned slot = zp->freelist;

	ZS_ASSERT(slot != ZS_SLOT_END && (zs_slots(zp)[slot] & ZS_SLOT_FREE));
	zp->freelist = (uint16_t)(zs_slots(zp)[slot] & ~ZS_SLOT_FREE);
	zs_slots(zp)[slot] = hid;
	zp->inuse++;
#ifdef ZS_DEBUG
	zs_zspage_verify(c, zp);
#endif
	return slot;
}

/* Caller must hold c->lock.  Does not refile. */
void zs_zspage_slot_free(struct zs_class *c, struct zs_zspage *zp,
			 unsigned slot)
{
	ZS_ASSERT(slot < c->objs_per_zspage && !(zs_slots(zp)[slot] & ZS_SLOT_FREE));
	zs_slots(zp)[slot] = ZS_SLOT_FREE | zp->freelist;
	zp->freelist = (uint16_t)slot;
	zp->inuse--;
#ifdef ZS_DEBUG
	zs_zspage_verify(c, zp);
#endif
}

/*
 * Address of slot @slot; *@spansp tells whether @len bytes from there
 * cross into the next page of the chain (then the address is only good
 * for the first part).
 */
unsigned char *zs_obj_addr(const struct zs_class *c,
			   struct zs_zspage *zp, unsigned slot,
			   size_t len, bool *spansp)
{
	size_t off = (size_t)slot * c->size;
	size_t in = off % ZS_PAGE_SIZE;

	*spansp = in + len > ZS_PAGE_SIZE;
	return zs_page_ptr(&c->pool->os, zs_pages(zp)[off / ZS_PAGE_SIZE]) + in;
}

/* The object's bytes may be read by the caller: it pinned the zspage or
 * holds c->lock with the zspage isolated. */
void zs_obj_copy_out(const struct zs_class *c, struct zs_zspage *zp,
		     unsigned slot, void *dst, size_t len)
{
	size_t off = (size_t)slot * c->size;
	size_t pg = off / ZS_PAGE_SIZE, in = off % ZS_PAGE_SIZE;
	size_t first = len < ZS_PAGE_SIZE - in ? len : ZS_PAGE_SIZE - in;
	struct zs_os *os = &c->pool->os;

	memcpy(dst, zs_page_ptr(os, zs_pages(zp)[pg]) + in, first);
	if (first < len)
		memcpy((unsigned char *)dst + first,
		       zs_page_ptr(os, zs_pages(zp)[pg + 1]), len - first);
}

void zs_obj_copy_in(const struct zs_class *c, struct zs_zspage *zp,
		    unsigned slot, const void *src, size_t len)
{
	size_t off = (size_t)slot * c->size;
	size_t pg = off / ZS_PAGE_SIZE, in = off % ZS_PAGE_SIZE;
	size_t first = len < ZS_PAGE_SIZE - in ? len : ZS_PAGE_SIZE - in;
	struct zs_os *os = &c->pool->os;

	memcpy(zs_page_ptr(os, zs_pages(zp)[pg]) + in, src, first);
	if (first < len)
		memcpy(zs_page_ptr(os, zs_pages(zp)[pg + 1]),
		       (const unsigned char *)src + first, len - first);
}
