/*
 * pagestore.c - the store's bottom: what every page layer uses, the pool
 * allocation (store_alloc, store_pool_malloc in store_internal.h), the
 * store-wide counters and the accessors.  One store per mount holds the
 * pool, the codec choice, the memory budget (budget.c: size=, mem_limit,
 * compaction), the idle codec states and helper threads every file
 * shares; storelife.c makes it and takes it apart.
 *
 * The data layer is split by concept (store_internal.h draws the map):
 * files are a page table each (entry.c) whose pages are encoded and
 * decoded by pagecodec.c, with a dirty set (dirty.c), large requests
 * shared with the helper threads (pagejob.c, workers.c), the read/write
 * path (fileio.c) and range operations (range.c).  This file is the
 * bottom of the page layers: they all allocate pool objects through
 * store_alloc(), and nothing here calls up into them.
 *
 * ENOSPC.  The pool asks the budget before it grows (may_grow).  When
 * zs_malloc() is refused, store_alloc() has the budget compact once
 * (zsfs_budget_reclaim, counted in compactions_enospc) and retries; if
 * that fails too the caller gets -ENOSPC (counted in enospc_errors).
 *
 * Counters: atomics (relaxed; each one is exact, a snapshot of several
 * is not a consistent cut), updated with CNT_ADD/CNT_SUB from every file
 * of the data layer.  A file's counters are plain fields, changed only
 * under the caller's exclusive inode lock (entry.c).
 *
 * Called by: the filesystem (budget, stats; ctl.c, ops_*.c) and the page
 * layers (store_alloc).
 *
 * lock ordering: this file takes no lock of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "budget.h"
#include "store_internal.h"

/* ---- store ---------------------------------------------------------- */

zs_pool *zsfs_store_pool(struct zsfs_store *store)
{
	return store->pool;
}

const char *zsfs_store_codec(const struct zsfs_store *store)
{
	return store->codec_name;
}

struct zsfs_budget *zsfs_store_budget(struct zsfs_store *store)
{
	return store->budget;
}

int zsfs_store_check(struct zsfs_store *store, char *msg, size_t msg_cap)
{
	/* Every object in the backing file is one BACKED entry's (the
	 * file checks found each entry's slots in use). */
	if (store->backing) {
		struct zsfs_backing_stats bs;
		size_t backed = atomic_load(&store->cnt.backed_pages);

		zsfs_backing_stats(store->backing, &bs);
		if (bs.bd_count != backed) {
			snprintf(msg, msg_cap,
				 "backing file holds %zu objects, %zu pages point there",
				 bs.bd_count, backed);
			return -EUCLEAN;
		}
	}
	return zs_pool_check(store->pool, msg, msg_cap);
}

void zsfs_store_set_backing(struct zsfs_store *store,
			    struct zsfs_backing *backing)
{
	store->backing = backing;
}

void zsfs_store_stats(struct zsfs_store *store, struct zsfs_store_stats *st)
{
#define STORE_COUNTER_READ(name, desc) \
	st->name = atomic_load_explicit(&store->cnt.name, memory_order_relaxed);
	ZSFS_STORE_STATS(STORE_COUNTER_READ)
#undef STORE_COUNTER_READ
}

/* zs_malloc, with one compaction and retry when the pool is full or the
 * OS refused memory; both end as -ENOSPC. */
int store_alloc(struct zsfs_store *store, size_t size, zs_handle *hp)
{
	int rc = store_pool_malloc(store, size, hp);

	if (rc != -ENOSPC && rc != -ENOMEM)
		return rc;
	zsfs_budget_reclaim(store->budget, ZSFS_RECLAIM_SPACE);
	rc = store_pool_malloc(store, size, hp);
	if (rc == -ENOMEM) {
		/* The OS refused memory: the writer gets ENOSPC, as at the
		 * cap, and what is stored stays as it is. */
		CNT_ADD(store, os_refusals, 1);
		rc = -ENOSPC;
	}
	if (rc == -ENOSPC)
		CNT_ADD(store, enospc_errors, 1);
	return rc;
}
