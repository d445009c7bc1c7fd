/*
 * entry.c - a file's page table: its entries, what each one owns, and the
 * counts kept of them.
 *
 * A zsfs_file is a pagemap (pagemap.h) from page index to an 8-byte
 * entry; the first ZSFS_PAGEMAP_DIRECT entries sit in the file struct
 * itself, so a small file is one malloc'ed block of 80 bytes.  An entry
 * is a hole (no entry), SAME, COMP or RAW (made by pagecodec.c; COMP and
 * RAW own a pool object, and so does the rare SAME whose word is out of
 * line), or DIRTY (owns a malloc'ed uncompressed copy in
 * the file's dirty set, dirty.c; no pool object: the stored one is freed
 * when the page is loaded, since the copy holds all of its data).
 *
 * Every change of an entry goes through slot_replace() (fill or replace)
 * or entry_release() (empty), which keep the file's counters and the
 * store's in step, and release what the old entry owned.  Storing a page
 * always allocates the new object before it frees the old one, so a
 * failure (ENOSPC) leaves the old data - or the dirty copy - in place.
 *
 * An object may be shared (share.c): several entries, of this file or
 * others, hold one reference each, and releasing an entry drops its
 * reference; the last one frees the object.  A file's counts
 * (stored_bytes, pages_compressed, ...) and the store's compr_data_size
 * count every entry's object in full, shared or not: what the file
 * would hold alone.  What sharing saves is the store's
 * shared_saved_bytes.
 *
 * Also here: the file's life (create, destroy) and what can be asked of
 * its table as a whole (stats, meta_bytes, check).
 *
 * Locking: none of its own.  The caller's inode lock: exclusive for
 * every function that changes the file, shared for stats, meta_bytes and
 * check.  Called by: dirty.c, pagejob.c, fileio.c, range.c, and the
 * filesystem (zsfs_file_create, _destroy, _stats, _meta_bytes, _check).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

_Static_assert(ZSFS_MAX_FILE_SIZE ==
	       (ZSFS_PAGEMAP_MAX_INDEX + 1) << ZSFS_PAGE_SHIFT,
	       "file size limit and page table height disagree");

/* ---- entries -------------------------------------------------------- */

/* The entry's reference on its dictionary, if it names one (COMP and
 * BACKED): taken here when it comes; the one going away is dropped by
 * entry_release. */
static void entry_account_dict(struct zsfs_store *store,
			       const struct zsfs_pentry *e, int sign)
{
	if (!zsfs_pentry_dict(e))
		return;
	if (sign > 0) {
		dict_get(store, zsfs_pentry_dict(e));
		CNT_ADD(store, dict_pages, 1);
	} else {
		CNT_SUB(store, dict_pages, 1);
	}
}

/* Add (@sign = 1) or remove (-1) @e from the file's and store's counts. */
static void entry_account(struct zsfs_store *store, struct zsfs_file *file,
			  const struct zsfs_pentry *e, int sign)
{
	size_t bytes = 0;

	if (e->w & ZSFS_PE_IDLE && zsfs_pentry_kind(e) != ZSFS_PK_DIRTY) {
		if (sign > 0)
			CNT_ADD(store, idle_pages, 1);
		else
			CNT_SUB(store, idle_pages, 1);
	}
	switch (zsfs_pentry_kind(e)) {
	case ZSFS_PK_BACKED:
		/* Still a compressed or raw page of the file, holding no
		 * pool bytes; always settled. */
		if (e->w & ZSFS_PE_BRAW) {
			if (sign > 0)
				file->pages_raw++;
			else
				file->pages_raw--;
		} else {
			if (sign > 0)
				file->pages_compressed++;
			else
				file->pages_compressed--;
		}
		if (sign > 0)
			CNT_ADD(store, backed_pages, 1);
		else
			CNT_SUB(store, backed_pages, 1);
		entry_account_dict(store, e, sign);
		break;
	case ZSFS_PK_SAME:
		if (sign > 0) {
			file->pages_same++;
			CNT_ADD(store, same_pages, 1);
		} else {
			file->pages_same--;
			CNT_SUB(store, same_pages, 1);
		}
		break;
	case ZSFS_PK_COMP:
		bytes = entry_bytes(store, e);
		if (sign > 0)
			file->pages_compressed++;
		else
			file->pages_compressed--;
		entry_account_dict(store, e, sign);
		break;
	case ZSFS_PK_RAW:
		bytes = ZSFS_PAGE_SIZE;
		if (sign > 0) {
			file->pages_raw++;
			CNT_ADD(store, huge_pages, 1);
			CNT_ADD(store, huge_pages_since, 1);
		} else {
			file->pages_raw--;
			CNT_SUB(store, huge_pages, 1);
		}
		break;
	case ZSFS_PK_DIRTY:
		if (sign > 0) {
			CNT_ADD(store, dirty_pages, 1);
			atomic_fetch_add(&store->dirty_bytes, ZSFS_PAGE_SIZE);
		} else {
			CNT_SUB(store, dirty_pages, 1);
			atomic_fetch_sub(&store->dirty_bytes, ZSFS_PAGE_SIZE);
		}
		return;
	default:
		return;
	}
	if (store->settle_on && zsfs_pentry_kind(e) != ZSFS_PK_SAME &&
	    zsfs_pentry_kind(e) != ZSFS_PK_BACKED && !zsfs_pentry_settled(e)) {
		if (sign > 0) {
			file->unsettled++;
			CNT_ADD(store, recompress_pending, 1);
			if (atomic_load_explicit(&store->hook_armed,
						 memory_order_relaxed) &&
			    atomic_exchange(&store->hook_armed, false) &&
			    store->work_hook)
				store->work_hook(store->work_arg);
		} else {
			file->unsettled--;
			CNT_SUB(store, recompress_pending, 1);
		}
	}
	if (sign > 0) {
		file->stored_ndirty += (uint64_t)bytes << 8;
		CNT_ADD(store, compr_data_size, bytes);
		CNT_ADD(store, pages_stored, 1);
		CNT_ADD(store, orig_data_size, ZSFS_PAGE_SIZE);
	} else {
		file->stored_ndirty -= (uint64_t)bytes << 8;
		CNT_SUB(store, compr_data_size, bytes);
		CNT_SUB(store, pages_stored, 1);
		CNT_SUB(store, orig_data_size, ZSFS_PAGE_SIZE);
	}
}

/* Free what @e refers to and take it out of the counts. */
static void entry_release(struct zsfs_store *store, struct zsfs_file *file,
			  const struct zsfs_pentry *e)
{
	switch (zsfs_pentry_kind(e)) {
	case ZSFS_PK_SAME:
	case ZSFS_PK_COMP:
	case ZSFS_PK_RAW:
		/* The entry's reference; the object goes with the last. */
		entry_discard(store, e);
		if (zsfs_pentry_dict(e)) {
			entry_account(store, file, e, -1);
			dict_put(store, zsfs_pentry_dict(e));
			return;
		}
		break;
	case ZSFS_PK_BACKED:
		/* Its slots go back to the file (double frees are refused
		 * there, and the check finds the entry that caused it). */
		zsfs_backing_free(store->backing, zsfs_pentry_loc(e));
		if (zsfs_pentry_dict(e)) {
			entry_account(store, file, e, -1);
			dict_put(store, zsfs_pentry_dict(e));
			return;
		}
		break;
	case ZSFS_PK_DIRTY: {
		struct store_dirty *d = zsfs_pentry_dirty(e);

		dirty_unlink(file, d);
		free(d);
		break;
	}
	default:
		break;
	}
	entry_account(store, file, e, -1);
}

/* Put @ne into @slot: the new entry first, then the old one is freed. */
void slot_replace(struct zsfs_store *store, struct zsfs_file *file,
		  struct zsfs_pentry *slot, const struct zsfs_pentry *ne)
{
	struct zsfs_pentry old = *slot;

	*slot = *ne;
	entry_account(store, file, ne, 1);
	if (old.w)
		entry_release(store, file, &old);
}

int file_slot(struct zsfs_file *file, uint64_t idx,
	      struct zsfs_pentry **slotp)
{
	int rc = zsfs_pagemap_slot(&file->map, idx, slotp);

	if (rc == 0 && !(*slotp)->w &&
	    file_pages(file) >= STORE_FILE_MAX_PAGES) {
		zsfs_pagemap_clear(&file->map, idx);
		rc = -EFBIG;
	}
	return rc;
}

/* Make the hole at @idx: free its page at once. */
void page_drop(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (!e)
		return;
	entry_release(store, file, e);
	zsfs_pagemap_clear(&file->map, idx);
}

/* Store the 4096 bytes at @data as page @idx, replacing what was there
 * (a dirty copy included).  On failure the old entry is untouched. */
int page_store(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, const void *data)
{
	struct zsfs_pentry *slot, ne;
	struct store_tctx *t;
	int rc;

	rc = file_slot(file, idx, &slot);
	if (rc)
		return rc;
	rc = tctx_get(store, &t);
	if (rc == 0) {
		rc = page_encode(store, t, data, true, &ne);
		tctx_put(store, t);
	}
	if (rc) {
		if (!slot->w)
			zsfs_pagemap_clear(&file->map, idx);
		return rc;
	}
	slot_replace(store, file, slot, &ne);
	return 0;
}

/* Drop @ne's reference on its pool object, if any. */
void entry_discard(struct zsfs_store *store, const struct zsfs_pentry *ne)
{
	zs_handle h = zsfs_pentry_handle(ne);

	if (h && obj_put(store, ne))
		zs_free(store->pool, h);
}

/* Mark the COMP or RAW entry in @slot settled, as it is. */
void entry_settle(struct zsfs_store *store, struct zsfs_file *file,
		  struct zsfs_pentry *slot)
{
	if (zsfs_pentry_settled(slot))
		return;
	slot->w |= ZSFS_PE_SETTLED;
	if (store->settle_on) {
		file->unsettled--;
		CNT_SUB(store, recompress_pending, 1);
	}
}

/* Free every page at index >= @from and < @to. */
void range_drop(struct zsfs_store *store, struct zsfs_file *file,
		uint64_t from, uint64_t to)
{
	const struct zsfs_pentry *e;
	uint64_t idx;

	while (from < to && !zsfs_pagemap_next(&file->map, from, &idx, &e) &&
	       idx < to) {
		entry_release(store, file, e);
		zsfs_pagemap_clear(&file->map, idx);
		from = idx + 1;
	}
}

/* ---- files ---------------------------------------------------------- */

int zsfs_file_create(struct zsfs_file **filep)
{
	struct zsfs_file *file = calloc(1, sizeof(*file));

	if (!file)
		return -ENOMEM;
	zsfs_pagemap_init(&file->map);
	*filep = file;
	return 0;
}

void zsfs_file_destroy(struct zsfs_store *store, struct zsfs_file *file)
{
	if (!file)
		return;
	zsfs_file_fini(store, file);
	free(file);
}

/* Files kept in the caller's memory (the inode's allocation). */

_Static_assert(_Alignof(struct zsfs_file) <= ZSFS_FILE_ALIGN,
	       "ZSFS_FILE_ALIGN is enough for struct zsfs_file");

size_t zsfs_file_struct_size(void)
{
	return (sizeof(struct zsfs_file) + ZSFS_FILE_ALIGN - 1) &
	       ~(size_t)(ZSFS_FILE_ALIGN - 1);
}

void zsfs_file_init(struct zsfs_file *file)
{
	memset(file, 0, sizeof(*file));
	zsfs_pagemap_init(&file->map);
}

void zsfs_file_fini(struct zsfs_store *store, struct zsfs_file *file)
{
	range_drop(store, file, 0, ZSFS_PAGEMAP_MAX_INDEX + 1);
	zsfs_pagemap_fini(&file->map);
}

size_t zsfs_file_table_bytes(const struct zsfs_file *file)
{
	return zsfs_pagemap_bytes(&file->map);
}

void zsfs_file_stats(const struct zsfs_file *file, struct zsfs_file_stats *st)
{
	uint64_t last;

	st->stored_bytes = file_stored_bytes(file);
	st->shared_bytes = 0;
	st->pages_compressed = file->pages_compressed;
	st->pages_raw = file->pages_raw;
	st->pages_same = file->pages_same;
	st->pages_dirty = file_ndirty(file);
	st->pages_dict = 0; /* zsfs_file_dict_pages() counts them */
	st->last_page_plus1 = zsfs_pagemap_last(&file->map, &last) ? 0 :
								     last + 1;
}

size_t zsfs_file_meta_bytes(const struct zsfs_file *file)
{
	return zsfs_malloc_size(file, sizeof(*file)) +
	       zsfs_pagemap_bytes(&file->map);
}

static int check_fail(char *msg, size_t msg_cap, uint64_t idx,
		      const char *what)
{
	snprintf(msg, msg_cap, "page %llu: %s", (unsigned long long)idx, what);
	return -EUCLEAN;
}

/* A BACKED entry: its location is one of the backing file's, all its
 * slots are in use, its length fits its kind, its dictionary exists, and
 * it reads back and decodes (into @scratch).  0 or a reason code. */
static int backed_check(struct zsfs_store *store, const struct zsfs_pentry *e,
			void *scratch)
{
	uint64_t loc = zsfs_pentry_loc(e);
	unsigned dict = zsfs_pentry_dict(e);

	if (!store->backing)
		return 1;
	if (zsfs_backing_loc_check(store->backing, loc))
		return 2;
	if (!zsfs_pentry_settled(e) || (e->w & ZSFS_PE_BRAW ?
	    dict || zsfs_backing_loc_len(loc) != ZSFS_PAGE_SIZE :
	    zsfs_backing_loc_len(loc) > ZSFS_HUGE_THRESHOLD))
		return 3;
	if (dict && (!dict_of(store, dict) ||
		     !atomic_load(&dict_of(store, dict)->refs)))
		return 4;
	if (page_load(store, e, scratch))
		return 5;
	return 0;
}

static const char *backed_why(int rc)
{
	switch (rc) {
	case 1:
		return "backed entry but no backing file";
	case 2:
		return "backed entry: its slots are not in use in the backing file";
	case 3:
		return "backed entry: bad length or flags";
	case 4:
		return "backed entry names a dictionary that does not exist";
	default:
		return "backed entry does not read back or decode";
	}
}

int zsfs_file_check(struct zsfs_store *store, const struct zsfs_file *file,
		    char *msg, size_t msg_cap)
{
	size_t comp = 0, raw = 0, same = 0, dirty = 0, bytes = 0, pend = 0;
	const struct store_dirty *d;
	const struct zsfs_pentry *e;
	unsigned char scratch[ZSFS_PAGE_SIZE];
	uint64_t idx, from = 0;
	zs_handle h;
	unsigned i;
	int rc;

	rc = zsfs_pagemap_check(&file->map, msg, msg_cap);
	if (rc)
		return rc;
	/* The dirty list: well linked, each page's entry points back. */
	i = 0;
	d = file->dirty;
	while (d) {
		if (++i > ZSFS_DIRTY_PER_FILE)
			return check_fail(msg, msg_cap, d->idx,
					  "dirty set: too long or not a ring");
		e = zsfs_pagemap_lookup(&file->map, d->idx);
		if (!e || zsfs_pentry_kind(e) != ZSFS_PK_DIRTY ||
		    zsfs_pentry_dirty(e) != d || d->next->prev != d)
			return check_fail(msg, msg_cap, d->idx,
					  "dirty set: bad link or entry");
		d = d->next;
		if (d == file->dirty)
			break;
	}
	if (i != file_ndirty(file)) {
		snprintf(msg, msg_cap, "dirty set: %u pages linked, %u counted",
			 i, file_ndirty(file));
		return -EUCLEAN;
	}
	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		h = zsfs_pentry_handle(e);
		/* Bits no kind uses, and the age (nobody sets it yet).  A
		 * BACKED entry's location covers the free bits. */
		if (zsfs_pentry_kind(e) != ZSFS_PK_DIRTY &&
		    (e->w & (ZSFS_PE_AGE_MASK << ZSFS_PE_AGE_SHIFT |
			     (zsfs_pentry_kind(e) == ZSFS_PK_BACKED ? 0 :
			      ZSFS_PE_FREE_BITS))))
			return check_fail(msg, msg_cap, idx,
					  "entry with unused bits set");
		switch (zsfs_pentry_kind(e)) {
		case ZSFS_PK_SAME:
			if (e->w & (ZSFS_PE_SETTLED |
				    ZSFS_PE_DICT_MASK << ZSFS_PE_DICT_SHIFT))
				return check_fail(msg, msg_cap, idx,
						  "same-filled entry with flags");
			if (e->w & ZSFS_PE_OBJ) {
				if (zs_obj_size(store->pool, h) !=
				    sizeof(uint64_t) ||
				    page_load(store, e, scratch))
					return check_fail(msg, msg_cap, idx,
							  "same-filled entry: bad object");
				share_audit_ref(store, h);
			} else if (e->w & ((UINT64_C(1) << ZSFS_PE_SAME_SHIFT) -
					   (UINT64_C(1) << ZSFS_PE_HANDLE_SHIFT))) {
				return check_fail(msg, msg_cap, idx,
						  "same-filled entry: bits under its word");
			}
			same++;
			break;
		case ZSFS_PK_COMP:
			if (!h || !entry_bytes(store, e) ||
			    entry_bytes(store, e) > ZSFS_HUGE_THRESHOLD ||
			    (e->w & ZSFS_PE_OBJ))
				return check_fail(msg, msg_cap, idx,
						  "compressed entry: bad handle or length");
			if (zsfs_pentry_dict(e) &&
			    (!dict_of(store, zsfs_pentry_dict(e)) ||
			     !atomic_load(&dict_of(store,
						   zsfs_pentry_dict(e))->refs)))
				return check_fail(msg, msg_cap, idx,
						  "names a dictionary that does not exist");
			/* Its length is its object's (the handle carries
			 * it): decoding it to a whole page checks both. */
			if (page_load(store, e, scratch))
				return check_fail(msg, msg_cap, idx,
						  zsfs_pentry_dict(e) ?
						  "does not decompress with its dictionary" :
						  "does not decompress");
			share_audit_ref(store, h);
			comp++;
			bytes += entry_bytes(store, e);
			pend += store->settle_on && !zsfs_pentry_settled(e);
			break;
		case ZSFS_PK_RAW:
			if (e->w & (ZSFS_PE_OBJ |
				    ZSFS_PE_DICT_MASK << ZSFS_PE_DICT_SHIFT))
				return check_fail(msg, msg_cap, idx,
						  "raw entry names a dictionary");
			pend += store->settle_on && !zsfs_pentry_settled(e);
			if (!h || zs_obj_size(store->pool, h) != ZSFS_PAGE_SIZE)
				return check_fail(msg, msg_cap, idx,
						  "raw entry: object is not a page");
			share_audit_ref(store, h);
			raw++;
			bytes += ZSFS_PAGE_SIZE;
			break;
		case ZSFS_PK_BACKED:
			rc = backed_check(store, e, scratch);
			if (rc)
				return check_fail(msg, msg_cap, idx,
						  backed_why(rc));
			if (e->w & ZSFS_PE_BRAW)
				raw++;
			else
				comp++;
			break;
		case ZSFS_PK_DIRTY:
			d = zsfs_pentry_dirty(e);
			/* With the list walk above: it is in the set. */
			if (d->idx != idx)
				return check_fail(msg, msg_cap, idx,
						  "dirty entry not in the dirty set");
			dirty++;
			break;
		default:
			return check_fail(msg, msg_cap, idx, "bad kind");
		}
	}
	if (file_ndirty(file) > ZSFS_DIRTY_PER_FILE ||
	    dirty != file_ndirty(file) || comp != file->pages_compressed ||
	    raw != file->pages_raw || same != file->pages_same ||
	    bytes != file_stored_bytes(file) || pend != file->unsettled) {
		snprintf(msg, msg_cap,
			 "file counters: found %zu comp %zu raw %zu same %zu dirty %zu bytes %zu pending, recorded %u %u %u %u %zu %u",
			 comp, raw, same, dirty, bytes, pend,
			 file->pages_compressed, file->pages_raw,
			 file->pages_same, file_ndirty(file),
			 file_stored_bytes(file), file->unsettled);
		return -EUCLEAN;
	}
	return 0;
}
