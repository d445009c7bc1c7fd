/*
 * range.c - operations on ranges of a file: punch a hole, truncate, find
 * data or a hole (SEEK_DATA/SEEK_HOLE), copy a range (copy_file_range).
 *
 * Whole pages of a range are handled as entries: dropped at once
 * (range_drop, entry.c), or, for a copy, shared: the destination's
 * entry references the source's stored object (share.c), so a copy costs
 * no pool memory and no recompress (a dirty source page is stored
 * compressed for the copy).  Partial pages at the ends go through the write path
 * (write_page, fileio.c): zeroed, or read and written for a copy, except
 * a copy's last page when the copy runs to the end of both files
 * (zsfs_file_copy_sized): that one is shared too, so copying a small file
 * (one partial page) costs no pool memory either.
 *
 * Locking: none of its own.  The caller holds the file's inode lock:
 * exclusive for punch, truncate and the destination of a copy, shared
 * (at least) for the source of a copy and for seek.  Called by: the FUSE
 * handlers (ops_file.c, ops_entry.c for truncate).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

static const unsigned char zero_page[ZSFS_PAGE_SIZE];

/* Zero @n bytes at @pgoff of page @idx; holes and zero pages stay. */
static int zero_partial(struct zsfs_store *store, struct zsfs_file *file,
			uint64_t idx, size_t pgoff, size_t n)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (!e || (zsfs_pentry_kind(e) == ZSFS_PK_SAME &&
		   !(e->w & ZSFS_PE_OBJ) && zsfs_pentry_same_word(e) == 0))
		return 0;
	return write_page(store, file, idx, pgoff, n, zero_page);
}

/* Zero the partial head and tail pages of [@off, @end). */
static int punch_partials(struct zsfs_store *store, struct zsfs_file *file,
			  uint64_t off, uint64_t end)
{
	size_t pgoff = off & (ZSFS_PAGE_SIZE - 1);
	int rc;

	if (pgoff) {
		uint64_t n = ZSFS_PAGE_SIZE - pgoff;

		if (n > end - off)
			n = end - off;
		rc = zero_partial(store, file, off >> ZSFS_PAGE_SHIFT, pgoff,
				  (size_t)n);
		if (rc)
			return rc;
	}
	/* The partial last page, unless it was the first one too. */
	if ((end & (ZSFS_PAGE_SIZE - 1)) &&
	    !(pgoff && (end >> ZSFS_PAGE_SHIFT) == (off >> ZSFS_PAGE_SHIFT)))
		return zero_partial(store, file, end >> ZSFS_PAGE_SHIFT, 0,
				    end & (ZSFS_PAGE_SIZE - 1));
	return 0;
}

/*
 * Punch and truncate zero their partial pages first and free whole pages
 * after, so that a failure changes nothing.  Zeroing part of a stored page
 * may need pool memory, though, and freeing is what a user does when the
 * pool is full: on -ENOSPC we free the whole pages first and try once
 * more.  Only if that fails too the whole pages are gone (they read as
 * zeros, as asked) while a partial page keeps its old bytes.
 */
int zsfs_file_punch(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t off, uint64_t len)
{
	uint64_t end, first, last;
	int rc;

	if (len == 0 || off >= ZSFS_MAX_FILE_SIZE)
		return 0;
	end = len > ZSFS_MAX_FILE_SIZE - off ? ZSFS_MAX_FILE_SIZE : off + len;
	first = (off + ZSFS_PAGE_SIZE - 1) >> ZSFS_PAGE_SHIFT;
	last = end >> ZSFS_PAGE_SHIFT; /* whole pages are [first, last) */
	rc = punch_partials(store, file, off, end);
	if (rc == -ENOSPC) {
		range_drop(store, file, first, last);
		rc = punch_partials(store, file, off, end);
	}
	if (rc)
		return rc;
	range_drop(store, file, first, last);
	return 0;
}

int zsfs_file_truncate(struct zsfs_store *store, struct zsfs_file *file,
		       uint64_t old_size, uint64_t new_size)
{
	uint64_t first = (new_size + ZSFS_PAGE_SIZE - 1) >> ZSFS_PAGE_SHIFT;
	size_t pgoff = new_size & (ZSFS_PAGE_SIZE - 1);
	int rc = 0;

	if (new_size > ZSFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (new_size >= old_size)
		return 0; /* bytes past the old end are zeros already */
	if (pgoff) {
		rc = zero_partial(store, file, new_size >> ZSFS_PAGE_SHIFT,
				  pgoff, ZSFS_PAGE_SIZE - pgoff);
		if (rc == -ENOSPC) {
			range_drop(store, file, first,
				   ZSFS_PAGEMAP_MAX_INDEX + 1);
			rc = zero_partial(store, file,
					  new_size >> ZSFS_PAGE_SHIFT, pgoff,
					  ZSFS_PAGE_SIZE - pgoff);
		}
	}
	range_drop(store, file, first, ZSFS_PAGEMAP_MAX_INDEX + 1);
	return rc;
}

int zsfs_file_seek(const struct zsfs_file *file, uint64_t off, uint64_t size,
		   int whence, uint64_t *res)
{
	const struct zsfs_pentry *e;
	uint64_t idx, pos;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off >= size)
		return -ENXIO;
	if (whence == SEEK_DATA) {
		if (zsfs_pagemap_next(&file->map, off >> ZSFS_PAGE_SHIFT, &idx,
				      &e))
			return -ENXIO;
		pos = idx << ZSFS_PAGE_SHIFT;
		if (pos < off)
			pos = off;
		if (pos >= size)
			return -ENXIO;
	} else {
		idx = zsfs_pagemap_next_hole(&file->map, off >> ZSFS_PAGE_SHIFT);
		pos = idx > ZSFS_PAGEMAP_MAX_INDEX ? size :
						     idx << ZSFS_PAGE_SHIFT;
		if (pos < off)
			pos = off;
		if (pos > size)
			pos = size; /* the implicit hole at the end */
	}
	*res = pos;
	return 0;
}

/* Copy whole page @sidx of @src to page @didx of @dst: the stored
 * object is shared (one more reference), not copied. */
static int copy_page(struct zsfs_store *store, struct zsfs_file *dst,
		     uint64_t didx, const struct zsfs_file *src, uint64_t sidx)
{
	const struct zsfs_pentry *se = zsfs_pagemap_lookup(&src->map, sidx);
	struct zsfs_pentry *slot, ne;
	int rc;

	if (!se) {
		page_drop(store, dst, didx);
		return 0;
	}
	if (zsfs_pentry_kind(se) == ZSFS_PK_DIRTY)
		return page_store(store, dst, didx,
				  ((const struct store_dirty *)
				   zsfs_pentry_dirty(se))->data);
	if (zsfs_pentry_kind(se) == ZSFS_PK_BACKED) {
		/* A location has no reference count: read it back and
		 * store a copy in RAM. */
		unsigned char tmp[ZSFS_PAGE_SIZE];

		rc = page_load(store, se, tmp);
		return rc ? rc : page_store(store, dst, didx, tmp);
	}
	/* @se may move when the slot grows a node of the same file.  The
	 * copy is a new page: not idle. */
	ne = *se;
	ne.w &= ~ZSFS_PE_IDLE;
	se = NULL;
	rc = file_slot(dst, didx, &slot);
	if (rc)
		return rc;
	if (zsfs_pentry_handle(&ne)) {
		rc = share_get(store, zsfs_pentry_handle(&ne),
			       zs_obj_size(store->pool,
					   zsfs_pentry_handle(&ne)));
		if (rc) {
			if (!slot->w)
				zsfs_pagemap_clear(&dst->map, didx);
			return rc;
		}
	}
	slot_replace(store, dst, slot, &ne);
	return 0;
}

/*
 * @tail_ok: the copy ends at the source's end of file and the destination
 * ends there too (or before), so a partial last page that starts on a page
 * on both sides may share the object as well: the bytes past the end of a
 * file are zeros in its last page on both sides (truncate zeroes them),
 * so the shared page is the very page the write path would store.
 */
static int copy_range(struct zsfs_store *store, struct zsfs_file *dst,
		      uint64_t doff, const struct zsfs_file *src,
		      uint64_t soff, uint64_t len, bool tail_ok,
		      size_t *copied)
{
	unsigned char tmp[ZSFS_PAGE_SIZE];
	uint64_t done = 0;
	int rc = 0;

	if (len && (doff >= ZSFS_MAX_FILE_SIZE ||
		    len > ZSFS_MAX_FILE_SIZE - doff)) {
		rc = -EFBIG;
		goto out;
	}
	while (done < len) {
		uint64_t dpos = doff + done, spos = soff + done;
		size_t pgoff = dpos & (ZSFS_PAGE_SIZE - 1);
		size_t n = ZSFS_PAGE_SIZE - pgoff;

		if (n > len - done)
			n = (size_t)(len - done);
		if (!pgoff && !(spos & (ZSFS_PAGE_SIZE - 1)) &&
		    (n == ZSFS_PAGE_SIZE || (tail_ok && done + n == len))) {
			rc = copy_page(store, dst, dpos >> ZSFS_PAGE_SHIFT, src,
				       spos >> ZSFS_PAGE_SHIFT);
		} else {
			rc = zsfs_file_read(store, src, spos, n, tmp);
			if (!rc)
				rc = write_page(store, dst,
						dpos >> ZSFS_PAGE_SHIFT, pgoff,
						n, tmp);
		}
		if (rc)
			goto out;
		done += n;
	}
out:
	if (copied)
		*copied = (size_t)done;
	return rc;
}

int zsfs_file_copy(struct zsfs_store *store, struct zsfs_file *dst,
		   uint64_t doff, const struct zsfs_file *src, uint64_t soff,
		   uint64_t len, size_t *copied)
{
	return copy_range(store, dst, doff, src, soff, len, false, copied);
}

int zsfs_file_copy_sized(struct zsfs_store *store, struct zsfs_file *dst,
			 uint64_t doff, uint64_t dst_size,
			 const struct zsfs_file *src, uint64_t soff,
			 uint64_t src_size, uint64_t len, size_t *copied)
{
	bool tail_ok = len && soff + len == src_size &&
		       dst_size <= doff + len;

	return copy_range(store, dst, doff, src, soff, len, tail_ok, copied);
}
