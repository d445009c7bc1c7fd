/*
 * check.c - the invariant walker: zs_pool_check() walks every class,
 * zspage, slot, handle entry and the OS reserve of a pool and reports the
 * first broken invariant.  Tests call it after every randomised step; the
 * filesystem's consistency check (`echo check > .zsctl`) calls it too.
 *
 * Per-class invariants are checked under each class lock and hold at any
 * time; the pool-wide totals (pages, live handles) are exact only on a
 * quiet pool, as zsmalloc.h says.
 *
 * lock ordering: see internal.h.  The walker takes each class lock in
 * turn, one at a time, and inside it os.lock (page ownership); it takes
 * handles.lock alone, after the classes.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static int fail(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

/* Caller must hold os->lock.  Page @pno is in use, not in the reserve. */
static bool page_in_use(struct zs_os *os, zs_pno pno)
{
	unsigned idx = ZS_PNO_IDX(pno);
	uint64_t bit = 1ull << (idx % 64);

	for (size_t i = 0; i < os->narenas; i++) {
		struct zs_arena *a = os->arenas[i];

		if (a->id == ZS_PNO_ARENA(pno))
			return !(a->bitmap[idx / 64] & bit) &&
			       !(a->rbitmap[idx / 64] & bit);
	}
	return false;
}

/* Caller must hold c->lock. */
static int check_zspage(zs_pool *pool, struct zs_class *c,
			struct zs_zspage *zp, unsigned g, size_t *objs,
			size_t *bytes, size_t *pages, char *msg, size_t cap)
{
	unsigned used = 0, nfree = 0, npop = 0;
	int err = 0;

	if (zs_zspage_class(pool, zp) != c)
		return fail(msg, cap, "class %zu: zspage %u not live in it",
			    c->size, zp->id);
	if (g == ZS_NR_FULLNESS + 1 ? zp->inuse != 0 :
	    (zp->fullness != g || zs_fullness_of(c, zp->inuse) != g ||
	     zp->inuse == 0))
		return fail(msg, cap,
			    "class %zu: zspage %u inuse %u in group %u",
			    c->size, zp->id, zp->inuse, g);
	if (zp->npages != c->pages_per_zspage)
		return fail(msg, cap, "zspage %u: %u pages", zp->id,
			    zp->npages);
	for (unsigned s = 0; s < c->objs_per_zspage; s++) {
		uint32_t v = zs_slots(zp)[s];
		uint32_t e;

		if (v & ZS_SLOT_FREE)
			continue;
		used++;
		size_t off = (size_t)s * c->size;

		for (size_t i = off / ZS_PAGE_SIZE;
		     i <= (off + c->size - 1) / ZS_PAGE_SIZE; i++)
			if (!zs_pages(zp)[i])
				return fail(msg, cap, "zspage %u slot %u: "
					    "page %zu missing", zp->id, s, i);
		if (v == 0 || (v >> ZS_HCHUNK_SHIFT) >= ZS_HCHUNK_MAX ||
		    !atomic_load(&pool->handles.chunks[v >> ZS_HCHUNK_SHIFT]))
			return fail(msg, cap, "zspage %u slot %u: bad handle %u",
				    zp->id, s, v);
		e = atomic_load(zs_handle_entry(pool, v));
		if (ZS_ENT_ZID(e) != zp->id || ZS_ENT_SLOT(e) != s)
			return fail(msg, cap,
				    "handle %u: entry %#x, back-reference "
				    "from zspage %u slot %u",
				    v, (unsigned)e, zp->id, s);
		(*objs)++;
		*bytes += c->size;
	}
	if (used != zp->inuse)
		return fail(msg, cap, "zspage %u: inuse %u, %u slots used",
			    zp->id, zp->inuse, used);
	for (unsigned s = zp->freelist; s != ZS_SLOT_END;) {
		if (s >= c->objs_per_zspage || !(zs_slots(zp)[s] & ZS_SLOT_FREE) ||
		    ++nfree > c->objs_per_zspage)
			return fail(msg, cap, "zspage %u: broken free list",
				    zp->id);
		s = zs_slots(zp)[s] & ~ZS_SLOT_FREE;
	}
	if (nfree != c->objs_per_zspage - used)
		return fail(msg, cap, "zspage %u: %u on free list, %u free",
			    zp->id, nfree, c->objs_per_zspage - used);
	pthread_mutex_lock(&pool->os.lock);
	for (unsigned i = 0; i < zp->npages && !err; i++) {
		if (!zs_pages(zp)[i])
			continue;
		npop++;
		if (!page_in_use(&pool->os, zs_pages(zp)[i]))
			err = fail(msg, cap, "zspage %u: page %u not owned",
				   zp->id, i);
	}
	pthread_mutex_unlock(&pool->os.lock);
	if (!err && npop != zp->npop)
		err = fail(msg, cap, "zspage %u: %u pages present, counted %u",
			   zp->id, npop, zp->npop);
	*pages += npop;
	return err;
}

int zs_pool_check(zs_pool *pool, char *msg, size_t msg_cap)
{
	size_t total_objs = 0, total_pages = 0, live, nfree;
	unsigned nchunks;
	int err = 0;

	for (unsigned i = 0, all = zs_nr_all(pool); i < all && !err; i++) {
		struct zs_class *c = &pool->classes[i];
		size_t objs = 0, bytes = 0, nzs = 0, pages = 0;

		pthread_mutex_lock(&c->lock);
		for (unsigned g = 0; g <= ZS_NR_FULLNESS && !err; g++) {
			size_t n = 0;

			for (struct zs_zspage *zp = c->lists[g]; zp && !err;
			     zp = zs_zp(pool, zp->next)) {
				struct zs_zspage *nx = zs_zp(pool, zp->next);

				if (nx && nx->prev != zp->id)
					err = fail(msg, msg_cap,
						   "class %zu: broken list",
						   c->size);
				else
					err = check_zspage(pool, c, zp, g,
							   &objs, &bytes,
							   &pages, msg,
							   msg_cap);
				n++;
			}
			if (!err && n != c->nr_zspages[g])
				err = fail(msg, msg_cap,
					   "class %zu group %u: %zu zspages, "
					   "counted %zu",
					   c->size, g, n, c->nr_zspages[g]);
			nzs += n;
		}
		/* The reserve: empty zspages, "group" ZS_NR_FULLNESS + 1. */
		size_t ne = 0;

		for (struct zs_zspage *zp = c->empty; zp && !err;
		     zp = zs_zp(pool, zp->next), ne++)
			err = check_zspage(pool, c, zp, ZS_NR_FULLNESS + 1,
					   &objs, &bytes, &pages, msg,
					   msg_cap);
		if (!err && ne != c->nr_empty)
			err = fail(msg, msg_cap, "class %zu: %zu in reserve, "
				   "counted %zu", c->size, ne, c->nr_empty);
		nzs += ne;
		/* Sizes live in the handles, not here: @bytes is the slot
		 * bytes in use, which bound the bytes stored. */
		if (!err && (objs != c->objs_used || bytes < c->bytes_stored ||
			     (objs == 0) != (c->bytes_stored == 0) ||
			     nzs * c->objs_per_zspage != c->objs_allocated))
			err = fail(msg, msg_cap,
				   "class %zu: objs %zu/%zu bytes %zu/%zu "
				   "allocated %zu/%zu",
				   c->size, objs, c->objs_used, bytes,
				   c->bytes_stored,
				   nzs * c->objs_per_zspage, c->objs_allocated);
		if (!err && pages != c->pages)
			err = fail(msg, msg_cap, "class %zu: %zu pages present, "
				   "counted %zu", c->size, pages, c->pages);
		total_objs += objs;
		total_pages += pages;
		pthread_mutex_unlock(&c->lock);
	}
	if (err)
		return err;
	if (zs_os_reserve_verify(&pool->os))
		return fail(msg, msg_cap, "the OS reserve's list is broken");
	total_pages += atomic_load(&pool->os.nreserve);
	if (total_pages != atomic_load(&pool->pages))
		return fail(msg, msg_cap, "pages %zu, zspages and reserve "
			    "hold %zu", atomic_load(&pool->pages), total_pages);

	/* Every used slot above reached its own handle entry (the
	 * back-reference matched), so if the ids that are not free number
	 * the objects, no other entry claims to be live. */
	pthread_mutex_lock(&pool->handles.lock);
	nchunks = pool->handles.nchunks;
	pthread_mutex_unlock(&pool->handles.lock);
	nfree = zs_handles_free(pool, &err);
	if (err)
		return fail(msg, msg_cap, "the free handle list is broken");
	/* id 0 is never handed out */
	live = nchunks ? (size_t)nchunks * ZS_HCHUNK_ENTRIES - 1 - nfree : 0;
	if (live != total_objs)
		return fail(msg, msg_cap, "%zu live handles, %zu objects",
			    live, total_objs);
	return 0;
}
