/*
 * os.c - the OS layer: the only file that calls mmap, munmap and madvise.
 *
 * Contract:
 *  - Memory comes in arenas of ZS_ARENA_BYTES (4 MiB) of private anonymous
 *    memory, mapped with MAP_NORESERVE and MADV_NOHUGEPAGE so that the
 *    kernel backs it with 4 KiB pages only as they are touched and the
 *    process RSS moves page by page with the pool.  Nothing is mlocked,
 *    unless the pool asks (os->mlock, zs_pool_params.lock_bytes): then
 *    each arena is mlocked with MLOCK_ONFAULT when mapped, so its pages
 *    are locked as they are touched, and a page given back is unlocked,
 *    MADV_DONTNEED'ed and locked again (madvise refuses locked pages).
 *  - zs_os_pages_alloc() hands out single 4 KiB pages (a zspage's pages
 *    need not be contiguous), taken from the densest arena that has room,
 *    so sparse arenas drain on their own and page migration has less to do.
 *  - zs_os_pages_free() gives a page's memory back to the kernel with
 *    MADV_DONTNEED, before the page can be handed out again, except that
 *    freed pages may be kept as they are in a reserve and handed out
 *    first: up to ZS_RESERVE_MAX pages, of which what has stood above
 *    ZS_RESERVE_SOFT for ZS_RESERVE_DECAY_MS goes back in one batch at
 *    the next free (see internal.h for why).  The caller counts reserve
 *    pages as held (the pool's pages figure includes them), and
 *    zs_os_reserve_flush() returns them all.
 *    An arena that becomes empty is unmapped, except that one empty arena
 *    is kept mapped (it costs no RSS) to avoid mmap churn at the boundary.
 *  - Each arena has a free-page bitmap and a bitmap of the pages in the
 *    reserve.  Which zspage owns a page is not recorded (4 bytes a page,
 *    0.1% of the pool): page migration (compact.c), the only one who
 *    asks, maps the arena it drains from the zspages' page arrays.
 *  - zs_os_meta_map() maps metadata (handle table, descriptor chunks),
 *    counted in mapped and meta; zs_os_map_untracked() maps a structure
 *    that its owner accounts itself (the class array).
 *  - Failure: zs_os_pages_alloc() and zs_os_meta_map() return -ENOMEM
 *    when the kernel refuses, having taken nothing.  The test hook
 *    zs_debug_fail_os() makes them refuse in the same way, a whole call
 *    at a time, so that tests can reach every caller's -ENOMEM path.
 *
 * The arena set itself (mapping an arena, finding a page's arena, the
 * bitmaps, picking the densest, draining one for page migration) is
 * arena.c, which this file calls and which calls nothing here.
 *
 * lock ordering: see internal.h.  os->lock is a leaf; madvise and munmap
 * are called without it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "internal.h"

/* The reserve's links, kept at the start of each reserve page. */
struct zs_rlink {
	unsigned char *prev, *next;
};

static struct zs_rlink *rlink(unsigned char *page)
{
	return (struct zs_rlink *)(void *)page;
}

#define ZS_BASE_OF_BYTES ((size_t)ZS_MAX_ARENAS * sizeof(unsigned char *))

int zs_os_init(struct zs_os *os)
{
	void *m;

	memset(os, 0, sizeof(*os));
	/* Untouched pages of the table cost nothing; one is counted in the
	 * metadata for every ZS_BASES_PER_PAGE ids used (zs_arena_new). */
	m = mmap(NULL, ZS_BASE_OF_BYTES, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	os->base_of = m;
	zs_mutex_init(&os->lock);
	return 0;
}

void zs_os_fini(struct zs_os *os)
{
	for (size_t i = 0; i < os->narenas; i++) {
		munmap(os->arenas[i]->base, ZS_ARENA_BYTES);
		free(os->arenas[i]);
	}
	free(os->arenas);
	os->arenas = NULL;
	os->narenas = os->cap = 0;
	munmap((void *)os->base_of, ZS_BASE_OF_BYTES);
	os->base_of = NULL;
	pthread_mutex_destroy(&os->lock);
}

/*
 * zs_os_map_untracked() - map @len bytes of zeroed, private anonymous
 * memory for a pool structure sized once at create (the class array,
 * class.c), whose untouched pages cost nothing.  Unlike zs_os_meta_map
 * it is not counted in mapped or meta: its owner counts the part in use
 * (meta_bytes counts the classes of the shards set up).  Plain mmap
 * flags: no MAP_NORESERVE, no madvise.  Never refused by the test hook
 * (zs_debug_fail_os).  Return: 0 or -ENOMEM.
 */
int zs_os_map_untracked(size_t len, void **p)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -ENOMEM;
	*p = m;
	return 0;
}

/* zs_os_unmap_untracked() - unmap what zs_os_map_untracked() gave.
 * NULL is fine. */
void zs_os_unmap_untracked(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/*
 * The test hook: whether to refuse this request (then one fewer is left
 * to refuse).  A relaxed load when the hook is off.
 */
static bool hook_refuses(struct zs_os *os)
{
	size_t n = atomic_load_explicit(&os->fail_next, memory_order_relaxed);

	while (n)
		if (atomic_compare_exchange_weak_explicit(
			    &os->fail_next, &n, n - 1, memory_order_relaxed,
			    memory_order_relaxed))
			return true;
	return false;
}

void zs_debug_fail_os(zs_pool *pool, size_t n)
{
	atomic_store(&pool->os.fail_next, n);
}

int zs_os_meta_map(struct zs_os *os, size_t len, void **p)
{
	int err = hook_refuses(os) ? -ENOMEM : zs_arena_map_anon(len, p);

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

/* Caller must hold os->lock; @page is in arena @a and not free. */
static void reserve_push(struct zs_os *os, struct zs_arena *a,
			 unsigned char *page)
{
	struct zs_rlink *l = rlink(page);
	unsigned idx = zs_arena_idx(a, page);

	a->rbitmap[idx / 64] |= 1ull << (idx % 64);
	l->prev = NULL;
	l->next = os->reserve;
	if (os->reserve)
		rlink(os->reserve)->prev = page;
	os->reserve = page;
	atomic_store_explicit(&os->nreserve, os->nreserve + 1,
			      memory_order_relaxed);
}

/* Caller must hold os->lock; @page is in the reserve, in arena @a. */
static void reserve_unlink(struct zs_os *os, struct zs_arena *a,
			   unsigned char *page)
{
	struct zs_rlink *l = rlink(page);
	unsigned idx = zs_arena_idx(a, page);

	if (l->prev)
		rlink(l->prev)->next = l->next;
	else
		os->reserve = l->next;
	if (l->next)
		rlink(l->next)->prev = l->prev;
	a->rbitmap[idx / 64] &= ~(1ull << (idx % 64));
	atomic_store_explicit(&os->nreserve, os->nreserve - 1,
			      memory_order_relaxed);
	if (os->nreserve <= ZS_RESERVE_SOFT)
		os->over_since_ns = 0;
}

/* Caller must hold os->lock; the reserve is not empty.  *@ap: its arena. */
static unsigned char *reserve_pop(struct zs_os *os, struct zs_arena **ap)
{
	unsigned char *page = os->reserve;
	struct zs_arena *a = zs_arena_of(os, page);

	reserve_unlink(os, a, page);
	if (ap)
		*ap = a;
	return page;
}

static unsigned pages_free(struct zs_os *os, unsigned char *const *pages,
			   unsigned n, bool keep);

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Caller must hold os->lock, after adding to the reserve.  Return: how
 * many reserve pages have stood above ZS_RESERVE_SOFT long enough to go.
 */
static size_t reserve_decay(struct zs_os *os)
{
	uint64_t now;

	if (os->nreserve <= ZS_RESERVE_SOFT)
		return 0;
	now = coarse_ns();
	if (!os->over_since_ns) {
		os->over_since_ns = now;
		return 0;
	}
	if (now - os->over_since_ns < ZS_RESERVE_DECAY_MS * 1000000ull)
		return 0;
	os->over_since_ns = 0;
	return os->nreserve - ZS_RESERVE_SOFT;
}

/* Give up to @n reserve pages back to the kernel.  Return: how many. */
static size_t reserve_release(struct zs_os *os, size_t n)
{
	unsigned char *batch[ZS_MAX_PAGES_PER_ZSPAGE];
	size_t total = 0;
	unsigned k;

	do {
		k = 0;
		pthread_mutex_lock(&os->lock);
		while (k < ZS_MAX_PAGES_PER_ZSPAGE && total + k < n &&
		       os->nreserve)
			batch[k++] = reserve_pop(os, NULL);
		pthread_mutex_unlock(&os->lock);
		if (k)
			total += pages_free(os, batch, k, false);
	} while (k);
	return total;
}

/*
 * zs_os_pages_alloc() - get @n pages (not necessarily contiguous) into
 * @pages, never from @avoid (may be NULL).  Return: 0 or -ENOMEM.
 */
int zs_os_pages_alloc(struct zs_os *os, unsigned n, zs_pno *pages,
		      const struct zs_arena *avoid, unsigned *reusedp)
{
	unsigned got = 0, reused = 0;
	int err = 0;

	*reusedp = 0;
	if (hook_refuses(os))
		return -ENOMEM;
	pthread_mutex_lock(&os->lock);
	/* Reserve pages first; page migration (avoid set) wants fresh ones
	 * in dense arenas instead. */
	while (!avoid && got < n && os->nreserve) {
		struct zs_arena *ra;
		unsigned char *page = reserve_pop(os, &ra);

		pages[got++] = zs_arena_pno(ra, page);
		reused++;
	}
	while (got < n) {
		struct zs_arena *a = zs_arena_pick(os, avoid, false);

		if (!a) {
			err = zs_arena_new(os, &a);
			if (err) {
				a = zs_arena_pick(os, avoid, true);
				if (!a)
					break;
				err = 0;
			}
		}
		while (got < n && a->nfree)
			pages[got++] = zs_arena_pno(a, zs_arena_take(a));
	}
	pthread_mutex_unlock(&os->lock);
	if (err && got)
		zs_os_pages_free(os, pages, got, false);
	*reusedp = reused;
	return err;
}

static void madvise_pages(struct zs_os *os, unsigned char *const *pages,
			  unsigned n)
{
	/* Coalesce runs of adjacent pages into one madvise each. */
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;
		size_t len;

		while (j < n && pages[j] == pages[j - 1] + ZS_PAGE_SIZE)
			j++;
		len = (size_t)(j - i) * ZS_PAGE_SIZE;
		/* The raw system call: sanitizer runtimes turn munlock()
		 * into a no-op (their shadow cannot be unlocked), and a
		 * locked page refuses MADV_DONTNEED. */
		if (os->mlock)
			(void)syscall(SYS_munlock, pages[i], len);
		(void)madvise(pages[i], len, MADV_DONTNEED);
		if (os->mlock) /* the lock came off: RLIMIT_MEMLOCK allows it */
			(void)mlock2(pages[i], len, MLOCK_ONFAULT);
		i = j;
	}
}

int zs_os_lock_check(size_t bytes)
{
	void *m;
	int err = 0;

	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	/* ONFAULT: the limit is checked for all of it, nothing is touched */
	if (mlock2(m, bytes, MLOCK_ONFAULT))
		err = -EPERM;
	munmap(m, bytes);
	return err;
}

/*
 * zs_os_pages_free() - give @n pages (n <= ZS_MAX_PAGES_PER_ZSPAGE)
 * back.  With @keep, pages go to the reserve while it has room (not in a
 * draining arena); the others' memory returns to the kernel
 * (MADV_DONTNEED) before they are marked free.
 * Return: the number of pages given back (not kept).
 */
unsigned zs_os_pages_free(struct zs_os *os, const zs_pno *pnos, unsigned n,
			  bool keep)
{
	unsigned char *pages[ZS_MAX_PAGES_PER_ZSPAGE];

	ZS_ASSERT(n <= ZS_MAX_PAGES_PER_ZSPAGE);
	for (unsigned i = 0; i < n; i++)
		pages[i] = zs_page_ptr(os, pnos[i]);
	return pages_free(os, pages, n, keep);
}

static unsigned pages_free(struct zs_os *os, unsigned char *const *pages,
			   unsigned n, bool keep)
{
	struct zs_arena *dead[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned char *rel[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned ndead = 0, nrel = 0;
	size_t decay = 0, decayed = 0;

	pthread_mutex_lock(&os->lock);
	for (unsigned i = 0; i < n; i++) {
		struct zs_arena *a = zs_arena_of(os, pages[i]);

		if (keep && os->nreserve < ZS_RESERVE_MAX && a &&
		    !a->draining)
			reserve_push(os, a, pages[i]);
		else
			rel[nrel++] = pages[i];
	}
	if (keep)
		decay = reserve_decay(os);
	pthread_mutex_unlock(&os->lock);
	if (decay)
		decayed = reserve_release(os, decay);
	if (!nrel)
		return (unsigned)decayed;
	madvise_pages(os, rel, nrel);
	pthread_mutex_lock(&os->lock);
	for (unsigned i = 0; i < nrel; i++) {
		struct zs_arena *a = zs_arena_page_release(os, rel[i]);

		if (a)
			dead[ndead++] = a;
	}
	pthread_mutex_unlock(&os->lock);
	for (unsigned i = 0; i < ndead; i++)
		zs_arena_unmap(os, dead[i]);
	return nrel + (unsigned)decayed;
}

/* zs_os_reserve_evict() - if @page is in the reserve, give it back to the
 * kernel.  Return: true if it was. */
bool zs_os_reserve_evict(struct zs_os *os, zs_pno pno)
{
	unsigned char *page = zs_page_ptr(os, pno);
	struct zs_arena *a;
	bool found = false;

	pthread_mutex_lock(&os->lock);
	a = zs_arena_of(os, page);
	if (a && zs_arena_in_reserve(a, page)) {
		reserve_unlink(os, a, page);
		found = true;
	}
	pthread_mutex_unlock(&os->lock);
	if (found)
		pages_free(os, &page, 1, false);
	return found;
}

/* zs_os_reserve_flush() - give every reserve page back to the kernel.
 * Return: the number of pages. */
size_t zs_os_reserve_flush(struct zs_os *os)
{
	return reserve_release(os, SIZE_MAX);
}

/* zs_os_reserve_verify() - walk the reserve: every page is marked as a
 * reserve page and the links agree with the count.  Return: 0 or -EINVAL. */
int zs_os_reserve_verify(struct zs_os *os)
{
	unsigned char *prev = NULL;
	size_t n = 0;
	int err = 0;

	pthread_mutex_lock(&os->lock);
	for (unsigned char *p = os->reserve; p; p = rlink(p)->next) {
		struct zs_arena *a = zs_arena_of(os, p);

		if (!a || n >= os->nreserve || rlink(p)->prev != prev ||
		    !zs_arena_in_reserve(a, p)) {
			err = -EINVAL;
			break;
		}
		prev = p;
		n++;
	}
	if (n != os->nreserve)
		err = -EINVAL;
	pthread_mutex_unlock(&os->lock);
	return err;
}
