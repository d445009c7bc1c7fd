/*
 * internal.h - types and cross-file declarations of the allocator.
 *
 * Nothing here is part of the public contract (zsmalloc.h).  Declarations
 * are grouped by the file that defines them.  The design is described at
 * the top of pool.c.
 *
 * lock ordering:
 *	pool->shard_lock            (setting up a shard; taken with no other
 *	                             lock held, takes none)
 *	class->lock                 (one size class of one shard)
 *	  pool->handles.lock        (handle free lists, chunk growth)
 *	  pool->zspages.lock        (zspage descriptor free list, growth)
 *	  pool->os.lock             (arenas, free-page bitmaps)
 *	pool->tbuf_lock             (leaf: per-thread map buffers)
 *
 * A thread holds at most one class lock at a time.  The three pool locks
 * under it are leaves: none is held while another is taken.  Page
 * migration (compact.c) reads arena data under os.lock, drops it, and only
 * then takes the class lock of the page's owner.
 *
 * Readers (zs_map, zs_read, zs_write) take no lock at all: they pin the
 * zspage in its atomic state word, which compaction respects, see map.c.
 */
#ifndef ZSFS_ALLOC_INTERNAL_H
#define ZSFS_ALLOC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zsmalloc.h"

/* ---- constants ------------------------------------------------------ */

/* Smallest slot: objects below it are rounded up; a class per 16 bytes
 * keeps the rounding loss of a compressed page under 16 bytes. */
#define ZS_MIN_ALLOC_SIZE 32u
#define ZS_SIZE_CLASS_DELTA 16u
/* Size classes before merging: 32, 48, ..., 4096. */
#define ZS_NR_SIZES \
	((ZS_MAX_ALLOC_SIZE - ZS_MIN_ALLOC_SIZE) / ZS_SIZE_CLASS_DELTA + 1)

/* Free pages the OS layer keeps for reuse instead of returning them at
 * once (os.c).  Returning a page costs an madvise, and with two threads
 * running every madvise is a TLB-shootdown IPI; taking it again costs a
 * page fault.  A workload whose mix of sizes drifts (pages leave one
 * class's zspages and are wanted by another's) would pay both on every
 * few calls.  So the reserve may grow to ZS_RESERVE_MAX pages (32 MiB),
 * but what lies above ZS_RESERVE_SOFT (2 MiB) for ZS_RESERVE_DECAY_MS is
 * returned in one batch.  Reserve pages are counted in the pool's pages
 * (so in mem_bytes) and in zs_can_compact, and zs_compact returns them
 * all. */
#define ZS_RESERVE_SOFT 512u
#define ZS_RESERVE_MAX 8192u
#define ZS_RESERVE_DECAY_MS 1000u

/* What a zspage costs beside its pages, for choosing chain lengths
 * (class.c): its descriptor and the malloc header of its page/slot
 * block, rounded up. */
#define ZS_ZSPAGE_COST 64u

/* Chain lengths.  The default is the longest allowed: a longer chain
 * wastes less at its tail and shares a descriptor among more pages, and
 * since zspages take their pages lazily and compaction trims them, it no
 * longer costs a partly filled zspage per class.  16 keeps a chain's
 * page index in a byte and its slot index under ZS_SLOT_END. */
#define ZS_DEFAULT_PAGES_PER_ZSPAGE 16u
#define ZS_MIN_PAGES_PER_ZSPAGE 4u
#define ZS_MAX_PAGES_PER_ZSPAGE 16u

/* Fullness groups: group g holds zspages with g/4 <= inuse/objs < (g+1)/4;
 * ZS_FULL holds the totally full ones.  Empty zspages are freed at once. */
#define ZS_FULL ZS_NR_FULLNESS

/* Arena: the unit of address space asked from the OS.  4 MiB keeps the
 * number of mmaps small and lets page migration empty whole arenas. */
#define ZS_ARENA_PAGES 1024u
#define ZS_ARENA_BYTES ((size_t)ZS_ARENA_PAGES * ZS_PAGE_SIZE)

/* Handle table: two levels, so entries never move and readers need no
 * lock.  A chunk holds 4096 entries of 4 bytes (16 KiB, mmapped): small,
 * since a chunk is touched whole when it is added. */
#define ZS_HCHUNK_SHIFT 12u
#define ZS_HCHUNK_ENTRIES (1u << ZS_HCHUNK_SHIFT)
#define ZS_HCHUNK_MAX 32768u /* 128 Mi handles */
/* Per-class cache of free handle ids, refilled in batches: one trip to
 * the shard's list per 16 allocations.  Every class of every shard has
 * one, so it is kept small (128 ids made a class 1 KiB, 0.3% of a
 * 100 MiB pool's memory). */
#define ZS_HCACHE_MAX 32u
#define ZS_HCACHE_BATCH 16u

/* zspage descriptors: two levels as well, never freed while the pool
 * lives (a lock-free reader may still look at a stale one).  At most
 * 2 Mi zspages, so that an id fits its 21 bits of a handle-table entry:
 * 128 GiB of pool at the default chain length, 32 GiB at the shortest. */
/* 512 descriptors of 40 bytes: a chunk is 5 whole pages. */
#define ZS_ZCHUNK_SHIFT 9u
#define ZS_ZCHUNK_ENTRIES (1u << ZS_ZCHUNK_SHIFT)
#define ZS_ZCHUNK_MAX 4096u

/* Slot table entries: a used slot holds its handle id; a free slot holds
 * ZS_SLOT_FREE | next free slot (ZS_SLOT_END ends the list). */
#define ZS_SLOT_FREE 0x80000000u
#define ZS_SLOT_END 0xffffu

/* Class shards: each shard is a full set of size classes; each thread
 * allocates from its own shard (dealt out round robin), so concurrent
 * threads rarely share a class lock, a zspage or their cache lines.
 * Objects stay in their shard; free, compaction and stats handle every
 * shard. */
#define ZS_MAX_SHARDS 8u
#define ZS_DEFAULT_MAX_SHARDS 4u

/*
 * A handle (zs_handle) carries what never changes while its object lives,
 * so that the table need not store it, in ZS_HANDLE_BITS (43) bits:
 *	bits  0..26 handle id: its entry in the handle table (never 0; the
 *	            table holds at most ZS_HCHUNK_MAX * ZS_HCHUNK_ENTRIES,
 *	            2^27, entries)
 *	bits 27..39 requested size (1..4096)
 *	bits 40..42 class shard
 * The 4-byte handle-table entry holds where the object is now, which
 * compaction changes:
 *	bits  0..10 slot index in the zspage (below 2048)
 *	bits 11..31 zspage id (never 0, below 2^21)
 * A free entry holds the next free handle id (0 while in a class cache).
 */
#define ZS_H_ID_BITS 27u
#define ZS_H_SIZE_SHIFT ZS_H_ID_BITS
#define ZS_H_SHARD_SHIFT (ZS_H_SIZE_SHIFT + 13u)
#define ZS_H(hid, size, shard)                                          \
	((uint64_t)(hid) | ((uint64_t)(size) << ZS_H_SIZE_SHIFT) |      \
	 ((uint64_t)(shard) << ZS_H_SHARD_SHIFT))
#define ZS_H_ID(h) ((uint32_t)((h) & ((UINT64_C(1) << ZS_H_ID_BITS) - 1)))
#define ZS_H_SIZE(h) ((size_t)(((h) >> ZS_H_SIZE_SHIFT) & 0x1fffu))
#define ZS_H_SHARD(h) ((unsigned)(((h) >> ZS_H_SHARD_SHIFT) & 0x7u))
#define ZS_H_VALID(h)                                                   \
	(ZS_H_ID(h) != 0 && ZS_H_SIZE(h) != 0 &&                        \
	 ZS_H_SIZE(h) <= ZS_MAX_ALLOC_SIZE && ((h) >> ZS_HANDLE_BITS) == 0)
_Static_assert((uint64_t)ZS_HCHUNK_MAX * ZS_HCHUNK_ENTRIES <=
			       (UINT64_C(1) << ZS_H_ID_BITS) &&
		       ZS_MAX_ALLOC_SIZE < (1u << 13) &&
		       ZS_H_SHARD_SHIFT + 3u == ZS_HANDLE_BITS,
	       "handle ids, sizes and shards must fit ZS_HANDLE_BITS");
#define ZS_ENT_SLOT_BITS 11u
#define ZS_ENT(zid, slot)                                               \
	(((uint32_t)(zid) << ZS_ENT_SLOT_BITS) | (uint32_t)(slot))
#define ZS_ENT_ZID(e) ((uint32_t)(e) >> ZS_ENT_SLOT_BITS)
#define ZS_ENT_SLOT(e) ((unsigned)((e) & ((1u << ZS_ENT_SLOT_BITS) - 1u)))
_Static_assert(ZS_MAX_PAGES_PER_ZSPAGE * ZS_PAGE_SIZE / ZS_MIN_ALLOC_SIZE <=
			       (1u << ZS_ENT_SLOT_BITS) &&
		       (uint64_t)ZS_ZCHUNK_MAX * ZS_ZCHUNK_ENTRIES <=
			       (1u << (32 - ZS_ENT_SLOT_BITS)) &&
		       ZS_MAX_SHARDS <= 8,
	       "slot indexes, zspage ids and shards must fit their bits");

/* ---- assertions ----------------------------------------------------- */

/* Every file's assertions end here; inline, so that the failure path
 * does not make each file a user of another. */
static inline __attribute__((cold, noreturn)) void
zs_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "zsmalloc: assertion failed: %s (%s:%d)\n", expr,
		file, line);
	abort();
}
#define ZS_ASSERT(x) \
	((x) ? (void)0 : zs_assert_fail(#x, __FILE__, __LINE__))
#ifdef ZS_DEBUG
#define ZS_DASSERT(x) ZS_ASSERT(x)
#else
#define ZS_DASSERT(x) ((void)0)
#endif

/* ---- types ---------------------------------------------------------- */

/*
 * Page numbers.  A zspage names its pages by number, not address: 4 bytes
 * instead of 8 in every page array.  The number is the arena's id times
 * ZS_ARENA_PAGES plus the page's index in the arena, plus 1 (0 = no
 * page); zs_page_ptr() turns it into an address through the table of
 * arena bases (os.c), which a page's arena stays in while the page is
 * handed out, so readers need no lock.
 */
typedef uint32_t zs_pno;
#define ZS_MAX_ARENAS 65536u /* 256 GiB of pool */
#define ZS_PNO(aid, idx) ((((zs_pno)(aid)) * ZS_ARENA_PAGES | (idx)) + 1)
#define ZS_PNO_ARENA(p) (((p) - 1) / ZS_ARENA_PAGES)
#define ZS_PNO_IDX(p) (((p) - 1) % ZS_ARENA_PAGES)

struct zs_class;

/* zspage state word: pins in the low bits, ZS_ISOLATED while compaction
 * moves objects or pages out of it (see map.c). */
#define ZS_ISOLATED 0x80000000u
/* zspage flags */
#define ZS_ZP_INLINE 0x1u /* one page, one slot: both kept in the descriptor */

struct zs_zspage {
	atomic_uint state;        /* pins | ZS_ISOLATED */
	uint32_t id;              /* constant */
	/* Fullness list, or the descriptor free list when not live: ids
	 * (0 = none), 4 bytes each instead of 8.  protected by class->lock
	 * (zspages.lock on the free list) */
	uint32_t prev, next;
	uint16_t inuse;           /* protected by class->lock */
	uint16_t freelist;        /* protected by class->lock */
	/* Owner class (index in pool->classes) + 1, 0 when not live.
	 * Written under the class lock; read unlocked by page migration to
	 * find which lock to take. */
	atomic_ushort cls;
	uint8_t fullness;         /* protected by class->lock */
	uint8_t npages;           /* protected by class->lock */
	uint8_t flags;            /* protected by class->lock */
	uint8_t npop;             /* pages present; protected by class->lock */
	uint32_t slot0;           /* the slot table when ZS_ZP_INLINE */
	/* ZS_ZP_INLINE: the page; else a malloc'd block of npages page
	 * numbers followed by the slot table.  A page number is 0 while no
	 * used slot has needed the page (zs_zspage_populate) or after
	 * compaction gave it back (zs_zspage_trim).  protected by
	 * class->lock; pinned readers may read the page numbers of their
	 * own object, which are present (page migration and trimming
	 * isolate the zspage before changing one). */
	union {
		zs_pno page0;
		void *block;
	} u;
};

_Static_assert(sizeof(struct zs_zspage) == 40 &&
		       ZS_ZCHUNK_ENTRIES * sizeof(struct zs_zspage) %
				       ZS_PAGE_SIZE == 0,
	       "a descriptor chunk is whole pages");

/* The zspage's page numbers (npages of them). */
static inline zs_pno *zs_pages(struct zs_zspage *zp)
{
	return (zp->flags & ZS_ZP_INLINE) ? &zp->u.page0
					  : (zs_pno *)zp->u.block;
}

/* The slot table: a used slot holds its handle id, a free one
 * ZS_SLOT_FREE | next free slot. */
static inline uint32_t *zs_slots(struct zs_zspage *zp)
{
	return (zp->flags & ZS_ZP_INLINE) ? &zp->slot0
					  : (uint32_t *)zp->u.block + zp->npages;
}

struct zs_class {
	/* Constant after create, and read by every thread (shard 0's serve
	 * as the geometry of a size): kept on a cache line of their own, away
	 * from the lock and the counters that the owner thread writes. */
	zs_pool *pool;            /* for zs_zp and zs_page_ptr */
	unsigned index;           /* position in its shard, by size */
	unsigned shard;
	size_t size;              /* slot size (largest merged size) */
	unsigned objs_per_zspage;
	unsigned pages_per_zspage;

	pthread_mutex_t lock __attribute__((aligned(64)));
	/* protected by lock */
	struct zs_zspage *lists[ZS_NR_FULLNESS + 1];
	/* Empty zspages kept against create/destroy churn (linked by next;
	 * at most one); counted in pages and objs_allocated like any other;
	 * compaction frees them. */
	struct zs_zspage *empty;
	size_t nr_empty;
	size_t nr_zspages[ZS_NR_FULLNESS + 1];
	size_t objs_allocated;    /* slots in this class's zspages */
	size_t pages;             /* pages present in them */
	size_t objs_used;
	size_t bytes_stored;
	uint32_t hcache[ZS_HCACHE_MAX]; /* free handle ids */
	unsigned hcache_n;
} __attribute__((aligned(64)));

struct zs_handles {
	pthread_mutex_t lock;
	/* Chunk pointers: set once under lock (release), read without. */
	_Atomic(_Atomic uint32_t *) chunks[ZS_HCHUNK_MAX];
	unsigned nchunks;         /* protected by lock */
	/* Free ids, a list per class shard (0 = empty): a chunk goes whole
	 * to the shard that grows it, so two threads' entries (16 to a cache
	 * line, written at every malloc and free) do not share lines.
	 * protected by lock */
	uint32_t free_head[ZS_MAX_SHARDS];
	size_t nfree;             /* on all the lists; protected by lock */
};

struct zs_zspages {
	pthread_mutex_t lock;
	_Atomic(struct zs_zspage *) chunks[ZS_ZCHUNK_MAX];
	unsigned nchunks;         /* protected by lock */
	/* Free descriptors, a list per class shard: a chunk goes whole to
	 * the shard that grows it, so two threads' zspages never share a
	 * cache line (each read pins its zspage with an atomic add on the
	 * descriptor).  protected by lock */
	struct zs_zspage *free[ZS_MAX_SHARDS];
	atomic_size_t meta_bytes; /* descriptors' page arrays and slot tables */
};

/* A page's owner, as page migration maps a draining arena (compact.c):
 * zspage id (below 2^21) and the page's index in that zspage (below 16).
 * 0 = none. */
#define ZS_OWNER(zid, idx) ((uint32_t)(zid) | ((uint32_t)(idx) << 24))
#define ZS_OWNER_ZID(o) ((o) & 0xffffffu)
#define ZS_OWNER_IDX(o) ((unsigned)((o) >> 24))
_Static_assert((uint64_t)ZS_ZCHUNK_MAX * ZS_ZCHUNK_ENTRIES <= (1u << 24) &&
		       ZS_MAX_PAGES_PER_ZSPAGE <= 256,
	       "zspage ids and page indexes must fit ZS_OWNER");

struct zs_arena {
	unsigned char *base;
	unsigned id;                          /* constant; see zs_pno */
	unsigned nfree;                       /* protected by os.lock */
	bool draining;                        /* protected by os.lock */
	uint64_t bitmap[ZS_ARENA_PAGES / 64]; /* 1 = free; protected by os.lock */
	/* 1 = in the OS reserve (used in bitmap); protected by os.lock.
	 * Nothing records which zspage owns a page: page migration, the
	 * only one who asks, maps the arena it drains itself. */
	uint64_t rbitmap[ZS_ARENA_PAGES / 64];
};

struct zs_os {
	pthread_mutex_t lock;
	/* Arena base by arena id (ZS_MAX_ARENAS entries, one mapping whose
	 * pages are touched as ids are used); NULL = id free.  Written under
	 * lock before any page of the arena is handed out, cleared when the
	 * arena is unmapped; read without lock by zs_page_ptr. */
	_Atomic(unsigned char *) *base_of;
	unsigned max_id;          /* ids below it were used; protected by lock */
	struct zs_arena **arenas; /* sorted by base; protected by lock */
	size_t narenas, cap;      /* protected by lock */
	atomic_size_t mapped;     /* bytes mapped (arenas and metadata) */
	atomic_size_t meta;       /* of which metadata */
	atomic_size_t arenas_unmapped;
	atomic_size_t pages_moved;
	/* Free pages kept for reuse, not yet given back to the kernel: a
	 * list threaded through the pages themselves (struct zs_rlink at
	 * the start of each; marked in its arena's rbitmap), so the
	 * reserve costs no metadata. */
	unsigned char *reserve;   /* protected by lock */
	uint64_t over_since_ns;   /* reserve above SOFT since; 0 = not; lock */
	atomic_size_t nreserve;   /* written under lock, read without */
	/* Test hook (zs_debug_fail_os): requests still to refuse. */
	atomic_size_t fail_next;
	bool mlock;               /* arenas are mlocked; set before use */
};

struct zs_tbuf {
	struct zs_tbuf *next;        /* protected by pool->tbuf_lock */
	/* a thread holds it (its key points here); cleared by the thread's
	 * destructor, set again by tbuf_get under tbuf_lock */
	atomic_bool in_use;
	unsigned char data[ZS_MAX_ALLOC_SIZE];
};

struct zs_pool {
	unsigned max_pages_per_zspage;
	atomic_size_t limit_bytes;
	int (*may_grow)(void *arg, size_t mem_bytes_after); /* immutable */
	void *may_grow_arg;                                  /* immutable */
	atomic_size_t pages;
	atomic_size_t pages_max;
	atomic_size_t pages_compacted;
	atomic_size_t compactions;

	unsigned nr_classes;                      /* per shard */
	unsigned nshards;
	/* Classes of the shards in use (nr_classes each): shards are set up
	 * when a thread first gets one, in order, so a single-threaded user
	 * pays for one.  Grows under shard_lock; read with acquire. */
	atomic_uint nr_all;
	pthread_mutex_t shard_lock;               /* setting up a shard */
	pthread_key_t shard_key;                  /* thread's shard + 1 */
	atomic_uint shard_next;
	/* nshards * nr_classes classes, shard by shard, in one mapping whose
	 * pages are touched only when their shard is set up */
	struct zs_class *classes;
	size_t classes_bytes;                     /* the mapping's length */
	struct zs_class *size_class[ZS_NR_SIZES]; /* into shard 0 */

	struct zs_handles handles;
	struct zs_zspages zspages;
	struct zs_os os;

	pthread_key_t tbuf_key;
	pthread_mutex_t tbuf_lock;
	struct zs_tbuf *tbufs;                    /* protected by tbuf_lock */
};

/* The pool's own locks (class, handles, zspages, os) guard a few list
 * moves each, so a waiter spins a little before it sleeps: with two busy
 * threads, sleeping on the os lock for every page taken made two threads
 * slower than one. */
static inline void zs_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

/* ---- class.c -------------------------------------------------------- */

int zs_classes_init(zs_pool *pool);
void zs_classes_fini(zs_pool *pool);
struct zs_class *zs_class_for(zs_pool *pool, size_t size);
struct zs_class *zs_class_in(zs_pool *pool, unsigned shard, size_t size);
unsigned zs_shard_pick(zs_pool *pool);
/* Classes of the shards set up so far (acquire: their classes are ready). */
static inline unsigned zs_nr_all(zs_pool *pool)
{
	return atomic_load_explicit(&pool->nr_all, memory_order_acquire);
}
unsigned zs_fullness_of(const struct zs_class *c, unsigned inuse);
void zs_class_link(struct zs_class *c, struct zs_zspage *zp);
void zs_class_unlink(struct zs_class *c, struct zs_zspage *zp);
void zs_class_refile(struct zs_class *c, struct zs_zspage *zp);
struct zs_zspage *zs_class_fullest(struct zs_class *c);
size_t zs_class_freeable(const struct zs_class *c);
/* Exposed for the unit test of the class math. */
void zs_pick_chain(size_t size, unsigned max_pages, unsigned *pagesp,
		   unsigned *objsp);

/* ---- pool.c --------------------------------------------------------- */

size_t zs_reserve_drop(zs_pool *pool, struct zs_class *c);

/* ---- zspage.c ------------------------------------------------------- */

int zs_zspages_init(zs_pool *pool);
void zs_zspages_fini(zs_pool *pool);
/* The descriptor of zspage @id (chunks never move or go). */
static inline struct zs_zspage *zs_zspage_get(zs_pool *pool, uint32_t id)
{
	struct zs_zspage *chunk;

	chunk = atomic_load_explicit(&pool->zspages.chunks[id >> ZS_ZCHUNK_SHIFT],
				     memory_order_acquire);
	return &chunk[id & (ZS_ZCHUNK_ENTRIES - 1)];
}

/* The descriptor of a list link (0 = none). */
static inline struct zs_zspage *zs_zp(zs_pool *pool, uint32_t id)
{
	return id ? zs_zspage_get(pool, id) : NULL;
}

/* The list link naming @zp (NULL = 0): zs_zp's inverse. */
static inline uint32_t zs_zp_id(const struct zs_zspage *zp)
{
	return zp ? zp->id : 0;
}
struct zs_class *zs_zspage_class(zs_pool *pool, struct zs_zspage *zp);
int zs_zspage_create(zs_pool *pool, struct zs_class *c,
		     struct zs_zspage **zpp);
void zs_zspage_destroy(zs_pool *pool, struct zs_class *c,
		       struct zs_zspage *zp, bool keep);
int zs_zspage_populate(zs_pool *pool, struct zs_class *c,
		       struct zs_zspage *zp, unsigned slot, bool check_limit,
		       size_t *grownp);
unsigned zs_zspage_trim(zs_pool *pool, struct zs_class *c,
			struct zs_zspage *zp);
void zs_zspage_verify(const struct zs_class *c, struct zs_zspage *zp);
unsigned zs_zspage_slot_alloc(struct zs_class *c, struct zs_zspage *zp,
			      uint32_t hid);
void zs_zspage_slot_free(struct zs_class *c, struct zs_zspage *zp,
			 unsigned slot);
void zs_obj_copy_out(const struct zs_class *c, struct zs_zspage *zp,
		     unsigned slot, void *dst, size_t len);
void zs_obj_copy_in(const struct zs_class *c, struct zs_zspage *zp,
		    unsigned slot, const void *src, size_t len);
unsigned char *zs_obj_addr(const struct zs_class *c,
			   struct zs_zspage *zp, unsigned slot,
			   size_t len, bool *spansp);

/* ---- handle.c ------------------------------------------------------- */

int zs_handles_init(zs_pool *pool);
void zs_handles_fini(zs_pool *pool);
_Atomic uint32_t *zs_handle_entry(zs_pool *pool, uint32_t hid);
int zs_handle_get(zs_pool *pool, struct zs_class *c, uint32_t *hidp);
void zs_handle_put(zs_pool *pool, struct zs_class *c, uint32_t hid);
size_t zs_handles_meta(zs_pool *pool);
size_t zs_handles_capacity(zs_pool *pool);
size_t zs_handles_free(zs_pool *pool, int *errp);

/* ---- map.c ---------------------------------------------------------- */

int zs_tbufs_init(zs_pool *pool);
void zs_tbufs_fini(zs_pool *pool);

/* ---- compact.c ------------------------------------------------------ */

bool zs_zspage_try_isolate(struct zs_zspage *zp);
void zs_zspage_release(struct zs_zspage *zp);

/* ---- os.c ----------------------------------------------------------- */

int zs_os_init(struct zs_os *os);
/* Can @bytes of memory be mlocked (RLIMIT_MEMLOCK or CAP_IPC_LOCK)?
 * Maps, locks on fault and unmaps; touches nothing.  0 or -EPERM. */
int zs_os_lock_check(size_t bytes);
void zs_os_fini(struct zs_os *os);
/* The address of page @pno (not 0). */
static inline unsigned char *zs_page_ptr(struct zs_os *os, zs_pno pno)
{
	return atomic_load_explicit(&os->base_of[ZS_PNO_ARENA(pno)],
				    memory_order_relaxed) +
	       (size_t)ZS_PNO_IDX(pno) * ZS_PAGE_SIZE;
}
int zs_os_pages_alloc(struct zs_os *os, unsigned n, zs_pno *pages,
		      const struct zs_arena *avoid, unsigned *reusedp);
unsigned zs_os_pages_free(struct zs_os *os, const zs_pno *pages,
			  unsigned n, bool keep);
size_t zs_os_reserve_flush(struct zs_os *os);
bool zs_os_reserve_evict(struct zs_os *os, zs_pno page);
int zs_os_reserve_verify(struct zs_os *os);
int zs_os_map_untracked(size_t len, void **p);
void zs_os_unmap_untracked(void *p, size_t len);
int zs_os_meta_map(struct zs_os *os, size_t len, void **p);
void zs_os_meta_unmap(struct zs_os *os, void *p, size_t len);
size_t zs_os_meta_struct_bytes(struct zs_os *os);
/* The index in @a of its page @page. */
static inline unsigned zs_arena_idx(const struct zs_arena *a,
				    const unsigned char *page)
{
	return (unsigned)((size_t)(page - a->base) / ZS_PAGE_SIZE);
}
/* Caller must hold os->lock; @page is in @a. */
static inline bool zs_arena_in_reserve(const struct zs_arena *a,
				       const unsigned char *page)
{
	unsigned idx = zs_arena_idx(a, page);

	return a->rbitmap[idx / 64] & (1ull << (idx % 64));
}

/* ---- arena.c -------------------------------------------------------- */

/* Entries of the arena-base table (os->base_of) per page of it. */
#define ZS_BASES_PER_PAGE (ZS_PAGE_SIZE / sizeof(unsigned char *))

/* Map @len bytes of private anonymous memory, no huge pages.  0 or
 * -ENOMEM.  No lock needed. */
int zs_arena_map_anon(size_t len, void **p);
/* The rest until the drain helpers: caller must hold os->lock. */
/* Map a new arena and add it to the set.  0 or -ENOMEM. */
int zs_arena_new(struct zs_os *os, struct zs_arena **ap);
/* The arena holding @p, or NULL. */
struct zs_arena *zs_arena_of(struct zs_os *os, const unsigned char *p);
zs_pno zs_arena_pno(const struct zs_arena *a, const unsigned char *page);
/* The densest arena with a free page, never @avoid; a draining one only
 * with @allow_draining.  NULL when none. */
struct zs_arena *zs_arena_pick(struct zs_os *os, const struct zs_arena *avoid,
			       bool allow_draining);
/* Take a free page of @a (it has one). */
unsigned char *zs_arena_take(struct zs_arena *a);
/* Mark @page free (its memory already given back).  Return: its arena
 * if that became empty and left the set (the caller unmaps it, without
 * the lock), else NULL. */
struct zs_arena *zs_arena_page_release(struct zs_os *os, unsigned char *page);
/* Unmap an arena that left the set.  Without os->lock. */
void zs_arena_unmap(struct zs_os *os, struct zs_arena *a);
/* Page migration helpers (compact.c), taking os->lock themselves; see
 * arena.c for the contract. */
struct zs_arena *zs_os_pick_drain(struct zs_os *os);
int zs_os_next_used(struct zs_os *os, struct zs_arena *a, unsigned *pos,
		    zs_pno *pagep);
void zs_os_drain_done(struct zs_os *os, struct zs_arena *a);

/* ---- account.c ------------------------------------------------------ */

size_t zs_meta_bytes(zs_pool *pool);
size_t zs_mem_bytes(zs_pool *pool);
void zs_pages_add(zs_pool *pool, size_t n);
void zs_pages_sub(zs_pool *pool, size_t n);

#endif
