/*
 * fileio.c - read and write a file's bytes: the requests cut into pages.
 *
 * Write path.  A whole-page write goes straight to the codec (page_store,
 * entry.c), unless the page is dirty (then it is copied into the dirty
 * copy).  A partial write loads the page into the file's dirty set once
 * (dirty_load, dirty.c) and then only memcpys; when the dirty set has no
 * room it read-modify-writes the stored page through a codec state's
 * scratch page.  16 or more whole pages in a row go to the helper threads
 * (write_pages_par, pagejob.c) unless the store has none.
 *
 * Read path.  Page by page through page_load_part (pagecodec.c): holes
 * read as zeros, and only what needs decoding is decoded.  64 or more
 * whole pages in a row are decoded by the helpers too (read_pages_par).
 * Reading changes nothing but the idle mark of the pages read
 * (entry_touch), so several threads may read one file at once.
 *
 * Locking: none of its own.  The caller holds the file's inode lock:
 * exclusive for zsfs_file_write and write_page, shared for
 * zsfs_file_read.  Called by: the FUSE handlers (ops_file.c) and
 * range.c (write_page for partial pages, zsfs_file_read for copies).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store_internal.h"

int zsfs_file_read(struct zsfs_store *store, const struct zsfs_file *file,
		   uint64_t off, size_t len, void *buf)
{
	const struct zsfs_pentry *e;
	struct zsfs_pentry ev;
	unsigned char *dst = buf;
	size_t done = 0;
	int rc;

	while (done < len) {
		uint64_t pos = off + done;
		uint64_t idx = pos >> ZSFS_PAGE_SHIFT;
		size_t pgoff = pos & (ZSFS_PAGE_SIZE - 1);
		size_t n = ZSFS_PAGE_SIZE - pgoff;

		if (n > len - done)
			n = len - done;
		if (!pgoff && store->wk.want &&
		    (len - done) >> ZSFS_PAGE_SHIFT >= PAR_MIN_READ_PAGES) {
			n = (len - done) >> ZSFS_PAGE_SHIFT;
			if (n > PAR_MAX_PAGES)
				n = PAR_MAX_PAGES;
			rc = read_pages_par(store, file, idx, n, dst + done);
			if (rc)
				return rc;
			done += n << ZSFS_PAGE_SHIFT;
			continue;
		}
		e = zsfs_pagemap_lookup(&file->map, idx);
		if (e) {
			ev = entry_touch(store, e);
			e = &ev;
		}
		rc = page_load_part(store, e, pgoff, n, dst + done);
		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

/* Write @n bytes at @pgoff of page @idx, less than a whole page. */
static int write_partial(struct zsfs_store *store, struct zsfs_file *file,
			 uint64_t idx, size_t pgoff, size_t n,
			 const void *src)
{
	const struct zsfs_pentry *e;
	struct store_dirty *d;
	struct store_tctx *t;
	int rc;

	rc = dirty_load(store, file, idx, &d);
	if (rc == 0) {
		memcpy(d->data + pgoff, src, n);
		return 0;
	}
	if (rc != -EAGAIN)
		return rc;
	/* No room for dirty pages: read-modify-write through scratch. */
	rc = tctx_get(store, &t);
	if (rc)
		return rc;
	e = zsfs_pagemap_lookup(&file->map, idx);
	rc = page_load(store, e, t->scratch);
	if (rc == 0) {
		memcpy(t->scratch + pgoff, src, n);
		rc = page_store(store, file, idx, t->scratch);
	}
	tctx_put(store, t);
	return rc;
}

/* Write into one page: @n bytes at @pgoff. */
int write_page(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, size_t pgoff, size_t n, const void *src)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (e && zsfs_pentry_kind(e) == ZSFS_PK_DIRTY) {
		struct store_dirty *d = zsfs_pentry_dirty(e);

		memcpy(d->data + pgoff, src, n);
		dirty_touch(file, d);
		return 0;
	}
	if (n == ZSFS_PAGE_SIZE)
		return page_store(store, file, idx, src);
	return write_partial(store, file, idx, pgoff, n, src);
}

int zsfs_file_write(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t off, size_t len, const void *buf, size_t *written)
{
	const unsigned char *src = buf;
	size_t done = 0, todo = len, got, np;
	bool serial = !store->wk.want;
	int rc = 0;

	if (len && off >= ZSFS_MAX_FILE_SIZE) {
		rc = -EFBIG;
		goto out;
	}
	if (todo > ZSFS_MAX_FILE_SIZE - off)
		todo = (size_t)(ZSFS_MAX_FILE_SIZE - off);
	while (done < todo) {
		uint64_t pos = off + done;
		size_t pgoff = pos & (ZSFS_PAGE_SIZE - 1);
		size_t n = ZSFS_PAGE_SIZE - pgoff;

		if (n > todo - done)
			n = todo - done;
		np = (todo - done) >> ZSFS_PAGE_SHIFT;
		if (!pgoff && !serial && np >= PAR_MIN_PAGES) {
			if (np > PAR_MAX_PAGES)
				np = PAR_MAX_PAGES;
			rc = write_pages_par(store, file, pos >> ZSFS_PAGE_SHIFT,
					     np, src + done, &got);
			done += got << ZSFS_PAGE_SHIFT;
			if (rc)
				goto out;
			/* A page failed: the rest goes page by page. */
			serial = got < np;
			continue;
		}
		rc = write_page(store, file, pos >> ZSFS_PAGE_SHIFT, pgoff, n,
				src + done);
		if (rc)
			goto out;
		done += n;
	}
	if (todo < len)
		rc = -EFBIG;
out:
	if (written)
		*written = done;
	return rc;
}
