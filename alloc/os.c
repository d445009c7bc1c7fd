/*
 * os.c - the OS layer: the only file that calls mmap, munmap and madvise.
 *
 * Contract:
 *  - Memory comes in arenas of ZS_ARENA_BYTES (4 MiB) of private anonymous
 *    memory, mapped with MAP_NORESERVE and MADV_NOHUGEPAGE so that the
 *    kernel backs it with 4 KiB pages only as they are touched and the
 *    process RSS moves page by page with the pool.  Nothing is mlocked.
 *  - zs_os_pages_alloc() hands out single 4 KiB pages (a zspage's pages
 *    need not be contiguous), taken from the densest arena that has room,
 *    so sparse arenas drain on their own and page migration has less to do.
 *  - zs_os_pages_free() gives a page's memory back to the kernel at once
 *    with MADV_DONTNEED, before the page can be handed out again, except
 *    that up to ZS_RESERVE_PAGES freed pages (2 MiB) are kept as they are
 *    and handed out first: the caller counts them as held (the pool's
 *    pages figure includes them), and zs_os_reserve_flush() returns them.
 *    An arena that becomes empty is unmapped, except that one empty arena
 *    is kept mapped (it costs no RSS) to avoid mmap churn at the boundary.
 *  - Each arena has a free-page bitmap and, per page, the id of the
 *    zspage that owns it and the page's index in that zspage: page
 *    migration (compact.c) walks an arena with these to empty it.
 *  - zs_os_meta_map() maps metadata (handle table, descriptor chunks).
 *
 * lock ordering: see internal.h.  os->lock is a leaf; madvise and munmap
 * are called without it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* The malloc'd part of an arena's bookkeeping (its owner table is
 * mapped, and counted, by zs_os_meta_map). */
static size_t arena_struct_cost(void)
{
	return (sizeof(struct zs_arena) + 8 + 15) & ~(size_t)15;
}

#define ZS_OWNER_BYTES (ZS_ARENA_PAGES * sizeof(uint32_t))

int zs_os_init(struct zs_os *os)
{
	memset(os, 0, sizeof(*os));
	pthread_mutex_init(&os->lock, NULL);
	return 0;
}

void zs_os_fini(struct zs_os *os)
{
	for (size_t i = 0; i < os->narenas; i++) {
		munmap(os->arenas[i]->base, ZS_ARENA_BYTES);
		zs_os_meta_unmap(os, os->arenas[i]->owner, ZS_OWNER_BYTES);
		free(os->arenas[i]);
	}
	free(os->arenas);
	os->arenas = NULL;
	os->narenas = os->cap = 0;
	pthread_mutex_destroy(&os->lock);
}

static int map_anon(size_t len, void **p)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return -ENOMEM;
	/* Best effort: without THP every page is 4 KiB, so RSS is exact. */
	(void)madvise(m, len, MADV_NOHUGEPAGE);
	*p = m;
	return 0;
}

int zs_os_meta_map(struct zs_os *os, size_t len, void **p)
{
	int err = map_anon(len, p);

	if (!err) {
		atomic_fetch_add(&os->mapped, len);
		atomic_fetch_add(&os->meta, len);
	}
	return err;
}

void zs_os_meta_unmap(struct zs_os *os, void *p, size_t len)
{
	if (!p)
		return;
	munmap(p, len);
	atomic_fetch_sub(&os->mapped, len);
	atomic_fetch_sub(&os->meta, len);
}

/* Metadata the OS layer itself holds (arena descriptors). */
size_t zs_os_meta_struct_bytes(struct zs_os *os)
{
	return atomic_load_explicit(&os->meta, memory_order_relaxed);
}

/* Caller must hold os->lock. */
static int arena_new(struct zs_os *os, struct zs_arena **ap)
{
	struct zs_arena *a;
	void *base;
	size_t i;
	int err;

	if (os->narenas == os->cap) {
		size_t cap = os->cap ? os->cap * 2 : 16;
		struct zs_arena **v = realloc(os->arenas, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		os->arenas = v;
		os->cap = cap;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	err = zs_os_meta_map(os, ZS_OWNER_BYTES, &base);
	if (err) {
		free(a);
		return err;
	}
	a->owner = base;
	err = map_anon(ZS_ARENA_BYTES, &base);
	if (err) {
		zs_os_meta_unmap(os, a->owner, ZS_OWNER_BYTES);
		free(a);
		return err;
	}
	a->base = base;
	a->nfree = ZS_ARENA_PAGES;
	memset(a->bitmap, 0xff, sizeof(a->bitmap));
	for (i = os->narenas; i > 0 && os->arenas[i - 1]->base > a->base; i--)
		os->arenas[i] = os->arenas[i - 1];
	os->arenas[i] = a;
	os->narenas++;
	atomic_fetch_add(&os->mapped, ZS_ARENA_BYTES);
	atomic_fetch_add(&os->meta, arena_struct_cost());
	*ap = a;
	return 0;
}

/* Caller must hold os->lock. */
static struct zs_arena *arena_of(struct zs_os *os, const unsigned char *p)
{
	size_t lo = 0, hi = os->narenas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct zs_arena *a = os->arenas[mid];

		if (p < a->base)
			hi = mid;
		else if (p >= a->base + ZS_ARENA_BYTES)
			lo = mid + 1;
		else
			return a;
	}
	return NULL;
}

/* Caller must hold os->lock.  Densest arena with a free page. */
static struct zs_arena *arena_pick(struct zs_os *os,
				   const struct zs_arena *avoid,
				   bool allow_draining)
{
	struct zs_arena *best = NULL;

	for (size_t i = 0; i < os->narenas; i++) {
		struct zs_arena *a = os->arenas[i];

		if (a == avoid || a->nfree == 0 ||
		    (a->draining && !allow_draining))
			continue;
		if (!best || a->nfree < best->nfree)
			best = a;
	}
	return best;
}

/* Caller must hold os->lock; @a has a free page. */
static unsigned char *arena_take(struct zs_arena *a)
{
	for (unsigned w = 0; w < ZS_ARENA_PAGES / 64; w++) {
		if (!a->bitmap[w])
			continue;
		unsigned b = (unsigned)__builtin_ctzll(a->bitmap[w]);

		a->bitmap[w] &= ~(1ull << b);
		a->nfree--;
		return a->base + (size_t)(w * 64 + b) * ZS_PAGE_SIZE;
	}
	ZS_ASSERT(!"arena_take on a full arena");
	return NULL;
}

/*
 * zs_os_pages_alloc() - get @n pages (not necessarily contiguous) into
 * @pages, never from @avoid (may be NULL).  Return: 0 or -ENOMEM.
 */
int zs_os_pages_alloc(struct zs_os *os, unsigned n, unsigned char **pages,
		      const struct zs_arena *avoid, unsigned *reusedp)
{
	unsigned got = 0, reused = 0;
	int err = 0;

	pthread_mutex_lock(&os->lock);
	/* Reserve pages first; page migration (avoid set) wants fresh ones
	 * in dense arenas instead. */
	while (!avoid && got < n && os->nreserve) {
		pages[got++] = os->reserve[os->nreserve - 1];
		atomic_store_explicit(&os->nreserve, os->nreserve - 1,
				      memory_order_relaxed);
		reused++;
	}
	while (got < n) {
		struct zs_arena *a = arena_pick(os, avoid, false);

		if (!a) {
			err = arena_new(os, &a);
			if (err) {
				a = arena_pick(os, avoid, true);
				if (!a)
					break;
				err = 0;
			}
		}
		while (got < n && a->nfree)
			pages[got++] = arena_take(a);
	}
	pthread_mutex_unlock(&os->lock);
	if (err && got)
		zs_os_pages_free(os, pages, got, false);
	*reusedp = reused;
	return err;
}

void zs_os_set_owner(struct zs_os *os, unsigned char *page, uint32_t zid,
		     unsigned idx)
{
	struct zs_arena *a;
	size_t pno;

	pthread_mutex_lock(&os->lock);
	a = arena_of(os, page);
	ZS_ASSERT(a);
	pno = (size_t)(page - a->base) / ZS_PAGE_SIZE;
	a->owner[pno] = ZS_OWNER(zid, idx);
	pthread_mutex_unlock(&os->lock);
}

/* Caller must hold os->lock.  Remove @a from the array (not unmapped). */
static void arena_remove(struct zs_os *os, struct zs_arena *a)
{
	size_t i = 0;

	while (os->arenas[i] != a)
		i++;
	memmove(&os->arenas[i], &os->arenas[i + 1],
		(os->narenas - i - 1) * sizeof(*os->arenas));
	os->narenas--;
}

static void arena_unmap(struct zs_os *os, struct zs_arena *a)
{
	munmap(a->base, ZS_ARENA_BYTES);
	zs_os_meta_unmap(os, a->owner, ZS_OWNER_BYTES);
	free(a);
	atomic_fetch_sub(&os->mapped, ZS_ARENA_BYTES);
	atomic_fetch_sub(&os->meta, arena_struct_cost());
	atomic_fetch_add(&os->arenas_unmapped, 1);
}

/* Caller must hold os->lock.  Whether an empty arena other than @a exists. */
static bool other_empty(struct zs_os *os, const struct zs_arena *a)
{
	for (size_t i = 0; i < os->narenas; i++)
		if (os->arenas[i] != a && os->arenas[i]->nfree == ZS_ARENA_PAGES)
			return true;
	return false;
}

/* Caller must hold os->lock.  Mark a page free (its memory is already
 * given back); returns the arena if it became empty and should go. */
static struct zs_arena *page_release(struct zs_os *os, unsigned char *page)
{
	struct zs_arena *a = arena_of(os, page);
	size_t pno;

	ZS_ASSERT(a);
	pno = (size_t)(page - a->base) / ZS_PAGE_SIZE;
	ZS_ASSERT(!(a->bitmap[pno / 64] & (1ull << (pno % 64))));
	a->bitmap[pno / 64] |= 1ull << (pno % 64);
	a->owner[pno] = 0;
	a->nfree++;
	if (a->nfree == ZS_ARENA_PAGES && !a->draining && other_empty(os, a)) {
		arena_remove(os, a);
		return a;
	}
	return NULL;
}

static void madvise_pages(unsigned char *const *pages, unsigned n)
{
	/* Coalesce runs of adjacent pages into one madvise each. */
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;

		while (j < n && pages[j] == pages[j - 1] + ZS_PAGE_SIZE)
			j++;
		(void)madvise(pages[i], (size_t)(j - i) * ZS_PAGE_SIZE,
			      MADV_DONTNEED);
		i = j;
	}
}

/*
 * zs_os_pages_free() - give @n pages (n <= ZS_MAX_PAGES_PER_ZSPAGE)
 * back.  With @keep, pages go to the reserve while it has room (not in a
 * draining arena); the others' memory returns to the kernel
 * (MADV_DONTNEED) before they are marked free.
 * Return: the number of pages given back (not kept).
 */
unsigned zs_os_pages_free(struct zs_os *os, unsigned char *const *pages,
			  unsigned n, bool keep)
{
	struct zs_arena *dead[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned char *rel[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned ndead = 0, nrel = 0;

	pthread_mutex_lock(&os->lock);
	for (unsigned i = 0; i < n; i++) {
		struct zs_arena *a = arena_of(os, pages[i]);

		if (keep && os->nreserve < ZS_RESERVE_PAGES && a &&
		    !a->draining) {
			a->owner[(size_t)(pages[i] - a->base) / ZS_PAGE_SIZE] = 0;
			os->reserve[os->nreserve] = pages[i];
			atomic_store_explicit(&os->nreserve, os->nreserve + 1,
					      memory_order_relaxed);
		} else {
			rel[nrel++] = pages[i];
		}
	}
	pthread_mutex_unlock(&os->lock);
	if (!nrel)
		return 0;
	madvise_pages(rel, nrel);
	pthread_mutex_lock(&os->lock);
	for (unsigned i = 0; i < nrel; i++) {
		struct zs_arena *a = page_release(os, rel[i]);

		if (a)
			dead[ndead++] = a;
	}
	pthread_mutex_unlock(&os->lock);
	for (unsigned i = 0; i < ndead; i++)
		arena_unmap(os, dead[i]);
	return nrel;
}

/* zs_os_reserve_evict() - if @page is in the reserve, give it back to the
 * kernel.  Return: true if it was. */
bool zs_os_reserve_evict(struct zs_os *os, unsigned char *page)
{
	bool found = false;

	pthread_mutex_lock(&os->lock);
	for (size_t i = 0; i < os->nreserve; i++) {
		if (os->reserve[i] != page)
			continue;
		os->reserve[i] = os->reserve[os->nreserve - 1];
		atomic_store_explicit(&os->nreserve, os->nreserve - 1,
				      memory_order_relaxed);
		found = true;
		break;
	}
	pthread_mutex_unlock(&os->lock);
	if (found)
		zs_os_pages_free(os, &page, 1, false);
	return found;
}

/* zs_os_reserve_flush() - give every reserve page back to the kernel.
 * Return: the number of pages. */
size_t zs_os_reserve_flush(struct zs_os *os)
{
	unsigned char *batch[ZS_MAX_PAGES_PER_ZSPAGE];
	size_t total = 0;
	unsigned n;

	do {
		n = 0;
		pthread_mutex_lock(&os->lock);
		while (n < ZS_MAX_PAGES_PER_ZSPAGE && os->nreserve) {
			batch[n++] = os->reserve[os->nreserve - 1];
			atomic_store_explicit(&os->nreserve, os->nreserve - 1,
					      memory_order_relaxed);
		}
		pthread_mutex_unlock(&os->lock);
		if (n)
			total += zs_os_pages_free(os, batch, n, false);
	} while (n);
	return total;
}

/*
 * zs_os_pick_drain() - choose an arena worth emptying by page migration:
 * the least used one that is at most half used and whose pages fit in
 * the free pages of the other arenas.  It is marked draining (no new
 * pages come from it, and it is not unmapped behind the caller's back)
 * until zs_os_drain_done().  Return: the arena or NULL.
 */
struct zs_arena *zs_os_pick_drain(struct zs_os *os)
{
	struct zs_arena *best = NULL;
	size_t total_free = 0;

	pthread_mutex_lock(&os->lock);
	for (size_t i = 0; i < os->narenas; i++)
		if (!os->arenas[i]->draining)
			total_free += os->arenas[i]->nfree;
	for (size_t i = 0; i < os->narenas; i++) {
		struct zs_arena *a = os->arenas[i];
		unsigned used = ZS_ARENA_PAGES - a->nfree;

		if (a->draining || used == 0 || used > ZS_ARENA_PAGES / 2 ||
		    used > total_free - a->nfree)
			continue;
		if (!best || used < ZS_ARENA_PAGES - best->nfree)
			best = a;
	}
	if (best)
		best->draining = true;
	pthread_mutex_unlock(&os->lock);
	return best;
}

/*
 * zs_os_next_used() - the next used page of draining arena @a at or after
 * *@pos, with its owner.  Return: 0, or -ENOENT when there is none.
 */
int zs_os_next_used(struct zs_os *os, struct zs_arena *a, unsigned *pos,
		    unsigned char **pagep, uint32_t *zidp, unsigned *idxp)
{
	int err = -ENOENT;

	pthread_mutex_lock(&os->lock);
	for (unsigned p = *pos; p < ZS_ARENA_PAGES; p++) {
		if (a->bitmap[p / 64] & (1ull << (p % 64)))
			continue;
		*pos = p;
		*pagep = a->base + (size_t)p * ZS_PAGE_SIZE;
		*zidp = ZS_OWNER_ZID(a->owner[p]);
		*idxp = ZS_OWNER_IDX(a->owner[p]);
		err = 0;
		break;
	}
	pthread_mutex_unlock(&os->lock);
	return err;
}

/* zs_os_drain_done() - end draining @a; unmap it if it is empty now. */
void zs_os_drain_done(struct zs_os *os, struct zs_arena *a)
{
	bool dead = false;

	pthread_mutex_lock(&os->lock);
	a->draining = false;
	if (a->nfree == ZS_ARENA_PAGES) {
		arena_remove(os, a);
		dead = true;
	}
	pthread_mutex_unlock(&os->lock);
	if (dead)
		arena_unmap(os, a);
}
