/*
 * zsmalloc.h - the public contract of zsfs's userspace zsmalloc.
 *
 * A pool stores many small objects (32 B .. 4 KiB; compressed pages) in
 * "zspages": chains of ordinary 4 KiB pages, sorted into size classes.
 * Callers get opaque handles, never pointers, so the pool may move an
 * object (compaction) without the owner noticing.  See alloc/pool.c for
 * the design note.
 *
 * Thread safety: every function may be called from any thread at once,
 * unless its comment says otherwise.  A thread may hold at most one
 * mapping (zs_map) per pool at a time and must not block while it does.
 * Freeing, reading or writing the same handle from two threads at once is
 * the caller's bug (zsfs serialises per inode).
 *
 * Errors are returned as negative errno values; nothing touches errno.
 */
#ifndef ZSFS_ZSMALLOC_H
#define ZSFS_ZSMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The allocation unit the pool gets from the OS, and the largest object. */
#define ZS_PAGE_SIZE 4096u
#define ZS_MAX_ALLOC_SIZE ZS_PAGE_SIZE

typedef struct zs_pool zs_pool;

/*
 * An opaque object handle.  0 is never a valid handle.  Every handle is
 * below 2^ZS_HANDLE_BITS, so a user may keep one in that many bits beside
 * bits of its own (zsfs's page table packs one with a kind, a dictionary
 * id and flags in a 64-bit word).  The pool asserts the bound.
 */
typedef uint64_t zs_handle;
#define ZS_HANDLE_BITS 43u

struct zs_pool_params {
	/* Longest zspage chain, in pages: 4..16; 0 means the default, 16. */
	unsigned max_pages_per_zspage;
	/* Cap on mem_bytes (see zs_pool_stats); 0 means no cap. */
	size_t limit_bytes;
	/*
	 * Optional growth check, for an owner that caps the pool together
	 * with memory of its own: before the pool takes a page from the OS
	 * it calls may_grow(may_grow_arg, mem_bytes once it has the page);
	 * 0 refuses it, as the limit does (zs_malloc answers -ENOSPC).
	 * Called with a class lock held: it must not call into the pool
	 * (except zs_pool_mem_bytes) and must not block.  NULL: none.
	 */
	int (*may_grow)(void *arg, size_t mem_bytes_after);
	void *may_grow_arg;
	/* Sets of size classes, 1..8: each thread allocates from one set
	 * (dealt out round robin), so threads scale; each set costs up to
	 * one partly filled zspage per class.  0 means the number of CPUs,
	 * at most 4. */
	unsigned shards;
	/* Keep the pool's pages out of swap (tmpfs's noswap): 0 = no.  Else
	 * every arena is mlocked as its pages are touched (MLOCK_ONFAULT) and
	 * freed pages still go back to the kernel; zs_pool_create() first
	 * checks that this many bytes may be locked (RLIMIT_MEMLOCK, or
	 * CAP_IPC_LOCK) and fails with -EPERM if not.  Later, an arena that
	 * cannot be locked is not used: zs_malloc answers -ENOMEM. */
	size_t lock_bytes;
};

/*
 * zs_pool_create() - make an empty pool.
 * @params: may be NULL for the defaults.
 * @poolp: receives the pool.
 * Return: 0, -EINVAL for a parameter out of range, -ENOMEM.
 */
int zs_pool_create(const struct zs_pool_params *params, zs_pool **poolp);

/* zs_pool_destroy() - free the pool and every object in it.  NULL is fine.
 * Not thread safe: no other call on the pool may be running. */
void zs_pool_destroy(zs_pool *pool);

/*
 * zs_malloc() - allocate an object of @size bytes (1..ZS_MAX_ALLOC_SIZE).
 * Return: 0 and *@hp set; -EINVAL for a bad size; -ENOSPC when the pool
 * would grow past its limit (the caller may zs_compact() and retry);
 * -ENOMEM when the OS refused memory.  The contents start undefined.
 */
int zs_malloc(zs_pool *pool, size_t size, zs_handle *hp);

/* zs_free() - release an object.  Handle 0 is ignored. */
void zs_free(zs_pool *pool, zs_handle h);

/* Size the object was allocated with (what zs_malloc was asked for).
 * The handle carries it: O(1), takes no lock, reads nothing of @pool,
 * so callers may treat it as part of the handle (0 for handle 0). */
size_t zs_obj_size(zs_pool *pool, zs_handle h);

/*
 * zs_write() / zs_read() - copy @len bytes (at most the object's size) to
 * or from the start of the object.  Objects that span two pages are handled
 * without an intermediate copy.
 */
void zs_write(zs_pool *pool, zs_handle h, const void *src, size_t len);
void zs_read(zs_pool *pool, zs_handle h, void *dst, size_t len);

enum zs_mapmode {
	ZS_MM_RO, /* caller only reads: a spanning object is copied in */
	ZS_MM_WO, /* caller only writes all of it: copied out on unmap */
	ZS_MM_RW, /* both */
};

/* Filled by zs_map, passed back to zs_unmap.  Fields are private. */
struct zs_mapping {
	void *priv[4];
	size_t priv_len;
	int priv_mode;
};

/*
 * zs_map() - get a pointer to the object's bytes for direct access.
 * The object cannot move (compaction waits for it) until zs_unmap().
 * A spanning object is presented through a per-thread buffer of the pool.
 * Return: the pointer; never NULL for a valid handle.
 */
void *zs_map(zs_pool *pool, zs_handle h, enum zs_mapmode mode,
	     struct zs_mapping *m);
void zs_unmap(zs_pool *pool, struct zs_mapping *m);

/*
 * zs_compact() - move objects out of sparse zspages into dense ones in
 * every class, free the emptied zspages and give their pages back to the
 * OS.  Runs beside other threads' calls; never holds a pool-wide lock for
 * the whole run.  Return: the number of pages freed.
 *
 * It does not trim the C heap: the small malloc'd blocks of the zspages
 * it freed (page arrays, slot tables) go back to malloc, whose free pages
 * among them stay in the process until the caller runs malloc_trim(0) or
 * the like.  Earlier versions trimmed here (glibc only, when the return
 * value was not 0); a caller that wants the process's RSS to follow the
 * pool down does that itself, after this call returns.
 */
size_t zs_compact(zs_pool *pool);

/* zs_can_compact() - cheap estimate of the pages zs_compact() would free. */
size_t zs_can_compact(zs_pool *pool);

/* Change the cap (0 = none).  Objects already stored stay. */
void zs_set_limit(zs_pool *pool, size_t limit_bytes);

/*
 * The pool's counters, one list for struct zs_pool_stats and its text
 * form (zs_pool_stats_format), in this order: X(name, what it counts).
 * Every field is a size_t.  "pages" counts the 4 KiB pages held now: in
 * zspages, plus freed pages kept for reuse (2 MiB, or up to 32 MiB until
 * a free a second later trims them); zs_compact gives those all back.
 */
#define ZS_POOL_STATS(X)                                                      \
	X(pages, "4 KiB pages held: in zspages, plus the reserve of freed ones") \
	X(pages_max, "high-water mark of pages")                              \
	X(objs, "live objects")                                               \
	X(bytes_stored, "sum of live objects' requested sizes")               \
	X(meta_bytes, "metadata: handle table, zspage headers, ...")          \
	X(mem_bytes, "pages * 4096 + meta_bytes: all the pool holds")         \
	X(limit_bytes, "the cap on mem_bytes, 0 = none")                      \
	X(pages_compacted, "pages freed by compaction, ever")                 \
	X(compactions, "zs_compact calls, ever")                              \
	X(os_bytes_mapped, "address space mapped from the OS")

struct zs_pool_stats {
#define ZS_POOL_STATS_FIELD(name, help) size_t name;
	ZS_POOL_STATS(ZS_POOL_STATS_FIELD)
#undef ZS_POOL_STATS_FIELD
};
void zs_pool_stats(zs_pool *pool, struct zs_pool_stats *st);

/*
 * zs_pool_mem_bytes() - what the pool holds now, in bytes: the mem_bytes
 * of zs_pool_stats (pages * 4096 + metadata), without the rest of its
 * cost.
 * @pool: the pool; not NULL.
 * Return: the byte count.  Cannot fail.
 * Thread safety: reads a few atomics and takes no lock (zs_pool_stats
 * takes every class lock), so any thread may call it at any time, on hot
 * paths too.  While other threads allocate or free it is a snapshot of
 * terms read one after another; on a quiet pool it equals
 * zs_pool_stats()'s mem_bytes exactly.
 */
size_t zs_pool_mem_bytes(zs_pool *pool);

/*
 * zs_pool_stats_format() - @st as text, one "name value" line per field,
 * into @buf (at most @cap bytes, NUL-terminated when cap > 0).
 * Return: the length the full text needs (like snprintf), or -EINVAL.
 */
int zs_pool_stats_format(const struct zs_pool_stats *st, char *buf,
			 size_t cap);

/* Fullness groups of a class, emptiest first. */
enum { ZS_NR_FULLNESS = 4 };

struct zs_class_stats {
	size_t size;                 /* object slot size in bytes */
	unsigned objs_per_zspage;
	unsigned pages_per_zspage;
	size_t zspages[ZS_NR_FULLNESS + 1]; /* by fullness, then totally full */
	size_t objs_allocated;       /* slots in this class's zspages */
	size_t objs_used;            /* live objects */
	size_t pages_used;
	size_t pages_freeable;       /* what compaction could free here */
};
/* Number of (merged) classes; stats for class @idx.  Return 0 or -ENOENT. */
unsigned zs_class_count(zs_pool *pool);
int zs_class_stats(zs_pool *pool, unsigned idx, struct zs_class_stats *st);

/*
 * zs_pool_check() - walk every class, zspage, object and handle and check
 * the pool's invariants.  Expensive; for tests and the consistency check.
 * Per-class invariants are checked under each class lock and hold at any
 * time; the pool-wide totals (pages, live handles) are exact only while
 * no other thread changes the pool, so call it on a quiet pool.
 * Return: 0, or -EUCLEAN with a description of the first broken invariant
 * written to @msg (at most @msg_cap bytes, NUL-terminated).
 */
int zs_pool_check(zs_pool *pool, char *msg, size_t msg_cap);

/* ---- test hooks ------------------------------------------------------
 * For tests only: they change no behaviour until called, and cost a
 * relaxed atomic load per request to the OS layer. */

/*
 * zs_debug_fail_os() - make the pool's OS layer refuse its next @n
 * requests for memory as if the kernel had refused them: taking pages
 * (for a zspage, or a page to migrate into) and mapping metadata (handle
 * table and zspage descriptor chunks).  Each call into the OS layer
 * counts as one request, whether its pages would come from the reserve
 * or from a new mapping.  @n = 0 turns the hook off; SIZE_MAX refuses
 * until then.  A later call replaces the count.
 * While it refuses, zs_malloc returns -ENOMEM when it needs new memory
 * (it still succeeds into free slots on pages the pool holds), and no
 * object, handle or page is lost or leaked (a page taken for an object
 * whose second page was refused stays with its zspage, counted, for the
 * next allocation); zs_compact frees what it can without new pages.  The
 * pool is whole and works normally once the hook is off.
 * Thread safe; the count is shared by all threads.
 */
void zs_debug_fail_os(zs_pool *pool, size_t n);

#ifdef __cplusplus
}
#endif

#endif
