/*
 * budget.h - the one owner of the mount's memory: the size= cap, the
 * user's mem_limit, what the pool holds, what every other holder of
 * memory holds (the filesystem's metadata today; dictionaries, indexes
 * and buffers as they come), and the one door to reclaim (compaction).
 *
 * The budget owns the cap.  The pool asks it before taking a page
 * (zsfs_budget_pool_may_grow, installed by the store as the pool's growth
 * check), the metadata paths charge through it, statfs and fallocate ask
 * it, and every compaction, whoever wants it, goes through
 * zsfs_budget_reclaim(), which serialises them and counts each.  Nobody
 * else writes a cap or calls zs_compact().
 *
 * Two caps, as before:
 *   size=      pool memory + every holder's bytes <= size (0 = none)
 *   mem_limit  pool memory alone <= mem_limit (0 = none), zram's meaning;
 *              the .zsctl command changes it at run time
 * The pool's effective cap (what .zsctl's mem_limit line shows) is the
 * smaller of the two: mem_limit, and size= less the holders' bytes.
 *
 * What the machine allows, beside size=: the control plane polls the
 * daemon's memory cgroup and the machine's MemAvailable and sets a
 * ceiling (the cgroup's room for the mount: it lowers size= while it is
 * the smaller) and a room (how much more may be taken before
 * MemAvailable falls under min_free).  Both refuse growth as size= does:
 * the writer gets ENOSPC, not the OOM killer.
 *
 * Adding a holder of memory is one line in ZSFS_BUDGET_HOLDERS: it gets an
 * enum value, a counter that size= covers, and a "<name>_bytes" line in
 * .zsctl.
 *
 * Thread safety: every function may be called from any thread at once.
 * Charges and the growth check are lock-free (atomics); reclaim takes the
 * budget's reclaim lock, then the pool's locks (see budget.c).  Callers
 * may hold any filesystem lock: the budget never calls back.
 */
#ifndef ZSFS_BUDGET_H
#define ZSFS_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "zsmalloc.h"

/* Holders of memory outside the pool: X(ENUM, name, description). */
#define ZSFS_BUDGET_HOLDERS(X)                                               \
	X(META, meta, "inodes, names, xattrs, directory and page tables")   \
	X(DICT, dict, "compression dictionaries")                           \
	X(SETTLE, settle, "background recompression: codec state, training samples") \
	X(SHARE, share, "reference counts of shared objects")              \
	X(DEDUP, dedup, "the dedup index: content hash -> stored object") \
	X(BACKING, backing, "the backing file's slot map (backing.h)")

enum zsfs_holder {
#define ZSFS_BUDGET_HOLDER_ENUM(e, name, desc) ZSFS_HOLD_##e,
	ZSFS_BUDGET_HOLDERS(ZSFS_BUDGET_HOLDER_ENUM)
#undef ZSFS_BUDGET_HOLDER_ENUM
	ZSFS_HOLDERS_NR
};

/* Who asked for a compaction: each is counted apart. */
enum zsfs_reclaim_why {
	ZSFS_RECLAIM_MANUAL, /* the compact command or xattr */
	ZSFS_RECLAIM_AUTO,   /* the background compactor */
	ZSFS_RECLAIM_SPACE,  /* size= or mem_limit is in the way: data,
			      * metadata or fallocate */
};

/* The budget's counters: one list for the struct and the .zsctl text. */
#define ZSFS_BUDGET_STATS(X)                                                 \
	X(compactions_manual, "compactions asked for (command, xattr)")     \
	X(compactions_auto, "compactions run by the background compactor")  \
	X(compactions_enospc, "compactions run because the cap was in the way") \
	X(compactions_waited, "compactions that waited for another to end") \
	X(last_compact_usec, "duration of the last compaction, microseconds") \
	X(last_compact_pages, "pages the last compaction freed")

struct zsfs_budget_stats {
#define ZSFS_BUDGET_STATS_FIELD(name, desc) size_t name;
	ZSFS_BUDGET_STATS(ZSFS_BUDGET_STATS_FIELD)
#undef ZSFS_BUDGET_STATS_FIELD
};

struct zsfs_budget;

/*
 * zsfs_budget_create() - a budget with the size= cap @size_bytes (0 =
 * none) and no mem_limit.  The pool is attached later (the store makes
 * the pool with the budget's growth check, then attaches it).
 * Return: 0, -ENOMEM.
 */
int zsfs_budget_create(size_t size_bytes, struct zsfs_budget **bp);
/* NULL ok.  The pool is not the budget's: the store destroys it. */
void zsfs_budget_destroy(struct zsfs_budget *b);
/* Once, before any other call but create/destroy/pool_may_grow. */
void zsfs_budget_attach_pool(struct zsfs_budget *b, zs_pool *pool);

/*
 * zsfs_budget_pool_may_grow() - the pool's growth check (@arg is the
 * budget): may the pool hold @mem_bytes_after?  1 yes, 0 no.  Lock-free.
 */
int zsfs_budget_pool_may_grow(void *arg, size_t mem_bytes_after);

/*
 * zsfs_budget_charge() - @bytes more for holder @h, if size= has room,
 * after one reclaim when it has not.  Return: 0, -ENOSPC (nothing
 * charged).
 */
int zsfs_budget_charge(struct zsfs_budget *b, enum zsfs_holder h,
		       size_t bytes);
/* @bytes more for @h whatever the cap says (what is already stored must
 * be accounted for: a page table that grew with a write). */
void zsfs_budget_add(struct zsfs_budget *b, enum zsfs_holder h, size_t bytes);
/* @bytes fewer for @h. */
void zsfs_budget_sub(struct zsfs_budget *b, enum zsfs_holder h, size_t bytes);
size_t zsfs_budget_held(const struct zsfs_budget *b, enum zsfs_holder h);

/* Everything counted: the pool's memory and every holder's bytes. */
size_t zsfs_budget_used(const struct zsfs_budget *b);
/* The effective size= cap: size=, or the ceiling when that is lower; 0 =
 * none.  What df shows as the filesystem's size. */
size_t zsfs_budget_size(const struct zsfs_budget *b);
/* Where the effective cap comes from: "size=" or the ceiling's source
 * ("cgroup v1 /sys/fs/...").  Copied into @buf (NUL-terminated). */
void zsfs_budget_size_source(struct zsfs_budget *b, char *buf, size_t cap);

/*
 * zsfs_budget_set_ceiling() - the most the mount may hold because of what
 * the machine allows (@bytes, 0 = no ceiling), and why (@source, copied).
 * zsfs_budget_set_room() - @bytes more may be taken from now on
 * (SIZE_MAX: no such check); measured against what is used at the call.
 * Lock-free for the growth check; the control plane calls them each poll.
 */
void zsfs_budget_set_ceiling(struct zsfs_budget *b, size_t bytes,
			     const char *source);
void zsfs_budget_set_room(struct zsfs_budget *b, size_t bytes);
/* The pool's effective cap now (.zsctl's mem_limit), 0 = none. */
size_t zsfs_budget_pool_cap(const struct zsfs_budget *b);
/* mem_limit: cap the pool alone at @bytes; 0 removes it. */
void zsfs_budget_set_mem_limit(struct zsfs_budget *b, size_t bytes);

/*
 * zsfs_budget_room() - is there room for @bytes more (a plausibility check
 * for fallocate: data is compressed later, so nothing is reserved)?
 * Reclaims once before saying no.  Return: 0, -ENOSPC.
 */
int zsfs_budget_room(struct zsfs_budget *b, uint64_t bytes);

/*
 * zsfs_budget_reclaim() - compact the pool now, for @why, after any
 * compaction already running (counted in compactions_waited).  Manual
 * and automatic compactions also give the malloc heap's free pages back.
 * Return: pages freed.
 */
size_t zsfs_budget_reclaim(struct zsfs_budget *b, enum zsfs_reclaim_why why);
/* The background compactor's door: compact (counted as automatic) unless
 * a compaction is running.  Return 1 and *@freed when it ran, else 0. */
int zsfs_budget_reclaim_try(struct zsfs_budget *b, size_t *freed);

/*
 * The high-water mark of the pool's memory since start or the last reset
 * (zram's mem_used_max).  It is sampled (every compactor poll, before
 * every compaction, every read of .zsctl); a peak between samples is
 * still caught through the pool's monotonic pages_max.
 */
size_t zsfs_budget_sample_max(struct zsfs_budget *b);
void zsfs_budget_reset_max(struct zsfs_budget *b);

void zsfs_budget_stats(struct zsfs_budget *b, struct zsfs_budget_stats *st);
/* For tests: the most compactions ever seen running at once (1 while
 * reclaim serialises them; a second door that bypassed it would show). */
unsigned zsfs_budget_debug_max_running(const struct zsfs_budget *b);

/*
 * Giving the malloc heap back.  Holders' bytes freed are counted; after
 * ZSFS_TRIM_BYTES of them (or far fewer once the filesystem is @empty)
 * and at most once a second, malloc_trim(0) returns the heap's free pages
 * to the kernel.  Lock-free; one caller trims, the others go on.
 */
void zsfs_budget_trim_maybe(struct zsfs_budget *b, int empty);

#endif
