/*
 * arena.c - the set of arenas: the 4 MiB mappings the pool's pages come
 * from, sorted by address, each with its free-page bitmap.  os.c decides
 * which pages to hand out, keep in the reserve or give back; this file
 * only maps, finds, picks and unmaps arenas and flips their bitmaps, and
 * marks the arena page migration drains (compact.c).
 *
 * Every function here except zs_arena_map_anon() and zs_arena_unmap()
 * is called with os->lock held, or takes it itself (the drain helpers).
 * Nothing here calls back into os.c.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* An arena's bookkeeping: its descriptor with the two bitmaps, as
 * malloc holds it. */
static size_t arena_struct_cost(void)
{
	return (sizeof(struct zs_arena) + 8 + 15) & ~(size_t)15;
}

int zs_arena_map_anon(size_t len, void **p)
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

/* Caller must hold os->lock. */
int zs_arena_new(struct zs_os *os, struct zs_arena **ap)
{
	struct zs_arena *a;
	void *base;
	unsigned id;
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
	/* The lowest free id, so the base table stays dense. */
	for (id = 0; id < os->max_id; id++)
		if (!atomic_load_explicit(&os->base_of[id], memory_order_relaxed))
			break;
	if (id == ZS_MAX_ARENAS)
		return -ENOMEM;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	err = zs_arena_map_anon(ZS_ARENA_BYTES, &base);
	if (!err && os->mlock && mlock2(base, ZS_ARENA_BYTES, MLOCK_ONFAULT)) {
		munmap(base, ZS_ARENA_BYTES);
		err = -ENOMEM;
	}
	if (err) {
		free(a);
		return err;
	}
	a->base = base;
	a->id = id;
	atomic_store_explicit(&os->base_of[id], a->base, memory_order_relaxed);
	if (id == os->max_id) {
		if (id % ZS_BASES_PER_PAGE == 0)
			atomic_fetch_add(&os->meta, ZS_PAGE_SIZE);
		os->max_id++;
	}
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
struct zs_arena *zs_arena_of(struct zs_os *os, const unsigned char *p)
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

zs_pno zs_arena_pno(const struct zs_arena *a, const unsigned char *page)
{
	return ZS_PNO(a->id, zs_arena_idx(a, page));
}

/* Caller must hold os->lock.  Densest arena with a free page. */
struct zs_arena *zs_arena_pick(struct zs_os *os,
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
unsigned char *zs_arena_take(struct zs_arena *a)
{
	for (unsigned w = 0; w < ZS_ARENA_PAGES / 64; w++) {
		if (!a->bitmap[w])
			continue;
		unsigned b = (unsigned)__builtin_ctzll(a->bitmap[w]);

		a->bitmap[w] &= ~(1ull << b);
		a->nfree--;
		return a->base + (size_t)(w * 64 + b) * ZS_PAGE_SIZE;
	}
	ZS_ASSERT(!"zs_arena_take on a full arena");
	return NULL;
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
	/* No page of it is handed out: its id may go to a new arena. */
	atomic_store_explicit(&os->base_of[a->id], NULL, memory_order_relaxed);
}

void zs_arena_unmap(struct zs_os *os, struct zs_arena *a)
{
	munmap(a->base, ZS_ARENA_BYTES);
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
struct zs_arena *zs_arena_page_release(struct zs_os *os, unsigned char *page)
{
	struct zs_arena *a = zs_arena_of(os, page);
	unsigned idx;

	ZS_ASSERT(a);
	idx = zs_arena_idx(a, page);
	ZS_ASSERT(!(a->bitmap[idx / 64] & (1ull << (idx % 64))));
	a->bitmap[idx / 64] |= 1ull << (idx % 64);
	a->nfree++;
	if (a->nfree == ZS_ARENA_PAGES && !a->draining && other_empty(os, a)) {
		arena_remove(os, a);
		return a;
	}
	return NULL;
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
 * *@pos, and its index there.  Return: 0, or -ENOENT when there is none.
 */
int zs_os_next_used(struct zs_os *os, struct zs_arena *a, unsigned *pos,
		    zs_pno *pagep)
{
	int err = -ENOENT;

	pthread_mutex_lock(&os->lock);
	for (unsigned p = *pos; p < ZS_ARENA_PAGES; p++) {
		if (a->bitmap[p / 64] & (1ull << (p % 64)))
			continue;
		*pos = p;
		*pagep = ZS_PNO(a->id, p);
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
		zs_arena_unmap(os, a);
}
