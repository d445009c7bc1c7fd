/*
 * dirty.c - the dirty set: uncompressed pages that absorb small writes.
 *
 * A partial write loads its page into the file's dirty set once (one
 * decompress, dirty_load) and then only memcpys (fileio.c); the page's
 * entry becomes DIRTY, pointing to the copy.  The set is a circular list
 * threaded through the dirty pages themselves, most recently written
 * first (dirty_link, dirty_unlink, dirty_touch in store_internal.h), so a
 * file without dirty pages pays one pointer for it.
 *
 * Bounds.  Per file: ZSFS_DIRTY_PER_FILE pages; when the set is full the
 * least recently written page is compressed and stored (counted in
 * dirty_evictions).  Store-wide: dirty_max_bytes over all files (counted
 * in store->dirty_bytes by entry.c); past it the writing file flushes its
 * own set, and if that is not enough dirty_load() says -EAGAIN and the
 * write falls back to a read-modify-write of the stored page.  Storing a
 * dirty page can fail (ENOSPC): the page then stays dirty, nothing is
 * lost.  tests/pagestore_smallwrite measures it: appending 100-byte
 * records runs about as fast as 128 KiB writes with the dirty set, and
 * 10-15x slower when every record read-modifies-writes its page.
 *
 * Locking: none of its own; the caller holds the file's inode lock
 * exclusive.  store->dirty_bytes is an atomic, so the store-wide bound
 * is checked without a lock and may be passed by a few pages when files
 * load pages at once.  Called by: fileio.c (dirty_load), the filesystem
 * (zsfs_file_flush).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Store dirty page @d; it leaves the set.  On failure it stays dirty. */
static int dirty_store(struct zsfs_store *store, struct zsfs_file *file,
		       struct store_dirty *d)
{
	return page_store(store, file, d->idx, d->data);
}

int zsfs_file_flush(struct zsfs_store *store, struct zsfs_file *file)
{
	int rc;

	while (file->dirty) {
		rc = dirty_store(store, file, file->dirty->prev);
		if (rc)
			return rc;
	}
	return 0;
}

int dirty_load(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, struct store_dirty **dp)
{
	const struct zsfs_pentry *e;
	struct zsfs_pentry *slot, ne;
	struct store_dirty *d;
	int rc;

	if (store->dirty_max_bytes < ZSFS_PAGE_SIZE)
		return -EAGAIN;
	if (file_ndirty(file) == ZSFS_DIRTY_PER_FILE) {
		rc = dirty_store(store, file, file->dirty->prev);
		if (rc)
			return rc;
		CNT_ADD(store, dirty_evictions, 1);
	}
	if (atomic_load(&store->dirty_bytes) + ZSFS_PAGE_SIZE >
	    store->dirty_max_bytes) {
		rc = zsfs_file_flush(store, file);
		if (rc)
			return rc;
		if (atomic_load(&store->dirty_bytes) + ZSFS_PAGE_SIZE >
		    store->dirty_max_bytes)
			return -EAGAIN;
	}
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* Looked up only now: the flushes above may have changed it. */
	e = zsfs_pagemap_lookup(&file->map, idx);
	rc = page_load(store, e, d->data);
	if (rc)
		goto err_free;
	rc = file_slot(file, idx, &slot);
	if (rc)
		goto err_free;
	d->idx = idx;
	ne = zsfs_pentry_dirty_make(d);
	slot_replace(store, file, slot, &ne);
	dirty_link(file, d);
	*dp = d;
	return 0;

err_free:
	free(d);
	return rc;
}
