/*
 * writeback.c - idle pages and their writeback to the backing file
 * (issue 16; zram's idle marking and writeback, backing.h's design note).
 *
 * Idle: "idle all" sets the IDLE bit (pagemap.h) of every stored page of
 * every file (zsfs_file_idle, under each file's lock in turn); a read of
 * the page clears it (entry_touch, in the read path's own lookup: no new
 * lock), and a write replaces the entry, so the new one is not idle.
 * The store counts the entries that carry the bit (idle_pages,
 * entry.c's entry_account).
 *
 * Writeback of a file (zsfs_file_writeback), with the file held
 * exclusive from start to end, in batches of WB_BATCH pages:
 *	1. each chosen page's pool object is copied out and stored in the
 *	   backing file (zsfs_backing_store: allocation and pwrite);
 *	2. zsfs_backing_flush (fdatasync): until it returns 0 the bytes may
 *	   only be in the kernel's page cache, and a write-out error there
 *	   would lose them;
 *	3. only then each entry becomes BACKED (its location, dictionary and
 *	   idle bit) through slot_replace, which frees the pool object.
 * A failure in 1 (-ENOSPC: no room, or the write failed) ends the walk
 * after the pages stored so far went through 2 and 3; a failure in 2
 * frees the batch's locations and leaves its pages as they were.  So a
 * page is never in neither place.  The file is held throughout, so no
 * write can change an entry between 1 and 3 (the only change under a
 * shared lock is entry_touch's, and readers are kept out).
 *
 * What is taken: COMP and RAW pages (same-filled pages hold no object
 * worth a disk read, dirty pages are about to change), whose object has
 * one reference: a shared object (share.c) would need a location with a
 * reference count; it stays in RAM.  An object that a dedup hit shares
 * between the check and step 3 is simply not freed (the other entry
 * holds it).  Dictionary pages keep their dictionary id and reference.
 *
 * Reading a BACKED page (pagecodec.c) preads and decodes it each time; it
 * stays in the file until the page is written, punched, truncated or
 * its file freed (entry.c frees the location).
 *
 * Locking: none of its own; the caller's inode lock, exclusive.  The
 * backing file has its own (a leaf, backing.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

/* Pages per flush: 64 pages of text are ~100 KiB, one fdatasync per
 * batch, and the batch's locations sit on the stack (1 KiB). */
#define WB_BATCH 64u

size_t zsfs_file_idle(struct zsfs_store *store, struct zsfs_file *file)
{
	const struct zsfs_pentry *e;
	struct zsfs_pentry *slot;
	uint64_t idx, from = 0;
	size_t n = 0;

	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		if (zsfs_pentry_kind(e) == ZSFS_PK_DIRTY ||
		    (e->w & ZSFS_PE_IDLE))
			continue;
		/* An existing entry: the slot is found, never made. */
		if (zsfs_pagemap_slot(&file->map, idx, &slot))
			continue;
		slot->w |= ZSFS_PE_IDLE;
		n++;
	}
	CNT_ADD(store, idle_pages, n);
	return n;
}

/* Is the page of @e one that writeback of @type takes? */
static bool wb_wanted(struct zsfs_store *store, const struct zsfs_pentry *e,
		      enum zsfs_wb_type type)
{
	enum zsfs_pkind k = zsfs_pentry_kind(e);
	bool idle = (e->w & ZSFS_PE_IDLE) != 0;

	if (k != ZSFS_PK_COMP && k != ZSFS_PK_RAW)
		return false;
	switch (type) {
	case ZSFS_WB_IDLE:
		if (!idle)
			return false;
		break;
	case ZSFS_WB_HUGE:
		if (k != ZSFS_PK_RAW)
			return false;
		break;
	case ZSFS_WB_HUGE_IDLE:
		if (k != ZSFS_PK_RAW || !idle)
			return false;
		break;
	case ZSFS_WB_INCOMPRESSIBLE:
		if (k != ZSFS_PK_RAW || !zsfs_pentry_settled(e))
			return false;
		break;
	default:
		return false;
	}
	return share_refs(store, zsfs_pentry_handle(e)) == 1;
}

struct wb_item {
	uint64_t idx;
	uint64_t loc;
};

/* Steps 2 and 3 for the @n pages of @batch.  Return 0 or the flush's
 * -EIO (the locations are freed, the pages stay in RAM). */
static int wb_commit(struct zsfs_store *store, struct zsfs_file *file,
		     const struct wb_item *batch, size_t n)
{
	struct zsfs_pentry *slot, ne;
	size_t i;
	int rc;

	rc = zsfs_backing_flush(store->backing);
	if (rc) {
		for (i = 0; i < n; i++)
			zsfs_backing_free(store->backing, batch[i].loc);
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (zsfs_pagemap_slot(&file->map, batch[i].idx, &slot)) {
			/* Cannot happen for an existing entry; keep it. */
			zsfs_backing_free(store->backing, batch[i].loc);
			continue;
		}
		ne = zsfs_pentry_backed(slot, batch[i].loc);
		slot_replace(store, file, slot, &ne);
	}
	return 0;
}

int zsfs_file_writeback(struct zsfs_store *store, struct zsfs_file *file,
			enum zsfs_wb_type type, size_t max_pages, size_t *done)
{
	unsigned char buf[ZSFS_PAGE_SIZE];
	struct wb_item batch[WB_BATCH];
	const struct zsfs_pentry *e;
	uint64_t idx, from = 0;
	bool end = false;
	size_t n, len;
	int rc = 0, crc;

	*done = 0;
	if (!store->backing)
		return -ENODEV;
	while (!end && rc == 0 && *done < max_pages) {
		n = 0;
		while (n < WB_BATCH && *done + n < max_pages) {
			if (zsfs_pagemap_next(&file->map, from, &idx, &e)) {
				end = true;
				break;
			}
			from = idx + 1;
			if (!wb_wanted(store, e, type))
				continue;
			len = entry_bytes(store, e);
			zs_read(store->pool, zsfs_pentry_handle(e), buf, len);
			rc = zsfs_backing_store(store->backing, buf, len,
						&batch[n].loc);
			if (rc)
				break;
			batch[n++].idx = idx;
		}
		if (!n)
			break;
		crc = wb_commit(store, file, batch, n);
		if (crc)
			return crc;
		*done += n;
	}
	return rc;
}
