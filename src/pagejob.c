/*
 * pagejob.c - large requests: the whole pages of one write or read,
 * encoded or decoded by the store's helper threads and the caller.
 *
 * A write (read) of at least PAR_MIN_PAGES (PAR_MIN_READ_PAGES) whole
 * pages is shared with the store's helper threads (struct
 * store_workers).  Write: every thread
 * compresses pages of the caller's buffer into objects of its own (the
 * pool is thread safe) and leaves the entries in the job; then the
 * caller alone, holding the inode lock, puts them in the table in page
 * order.  A page that failed (ENOSPC, ENOMEM, EIO) ends that: the later
 * pages' objects are freed and the write goes on one page at a time from
 * the failed page, with the compaction-and-retry of store_alloc, so the
 * result (a prefix stored, the rest unchanged) is what the serial path
 * gives.  Read: every thread decodes pages straight into the caller's
 * buffer; the file is only looked at, under the caller's shared lock.
 * The caller waits for chunks a helper has claimed: on an oversubscribed
 * machine a helper descheduled mid-chunk costs the caller a time slice,
 * so there sharing can be slower than not.
 *
 * fileio.c decides what is large (PAR_MIN_PAGES, PAR_MIN_READ_PAGES,
 * store_internal.h) and calls write_pages_par() or read_pages_par();
 * the threads are workers.c's, which run page_job_run() through the
 * job's callback.
 *
 * Locking: no lock of its own.  The caller holds the file's inode lock
 * (exclusive to write, shared to read) for the whole request; the helpers
 * never touch the file's table when writing and only look at it when
 * reading.  The job's results reach the caller through wk.lock
 * (job_share).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store_internal.h"

/* Pages per claim: 4 lz4 pages take ~20 us, so the threads finish within
 * about that of each other, and claiming (one atomic add) costs nothing
 * beside it. */
#define JOB_CHUNK 4u

/* A large request's whole pages, shared out in chunks. */
struct page_job {
	struct store_job job;       /* first: page_job_run gets it */
	bool encode;                /* constant: write (true) or read */
	struct zsfs_store *store;   /* constant */
	const struct zsfs_file *file; /* read: held shared by the caller */
	uint64_t idx;               /* constant: the first page */
	size_t npages;              /* constant */
	const unsigned char *src;   /* write: the pages' data */
	unsigned char *dst;         /* read: where the pages go */
	struct zsfs_pentry *ents;   /* write: [i] the encoded page */
	int *rcs;                   /* [i] its result */
	atomic_size_t next_chunk;
};

/* Read page @idx of @file into @dst: a read, so its idle mark goes. */
static int page_read(struct zsfs_store *store, const struct zsfs_file *file,
		     uint64_t idx, unsigned char *dst)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);
	struct zsfs_pentry ev;

	if (!e)
		return page_load(store, NULL, dst);
	ev = entry_touch(store, e);
	return page_load(store, &ev, dst);
}

/* Claim and do chunks of the page job until none is left.  Any thread. */
static void page_job_run(struct store_job *sjob)
{
	struct page_job *job = (struct page_job *)sjob;
	struct zsfs_store *store = job->store;
	size_t nchunks = (job->npages + JOB_CHUNK - 1) / JOB_CHUNK;
	struct store_tctx *t = NULL;
	int trc = tctx_get(store, &t);
	size_t c, i, end;

	for (;;) {
		c = atomic_fetch_add_explicit(&job->next_chunk, 1,
					      memory_order_relaxed);
		if (c >= nchunks)
			break;
		end = (c + 1) * JOB_CHUNK;
		if (end > job->npages)
			end = job->npages;
		for (i = c * JOB_CHUNK; i < end; i++) {
			if (trc)
				job->rcs[i] = trc;
			else if (job->encode)
				job->rcs[i] = page_encode(
					store, t, job->src + i * ZSFS_PAGE_SIZE,
					false, &job->ents[i]);
			else
				job->rcs[i] = page_read(store, job->file,
							job->idx + i,
							job->dst +
							i * ZSFS_PAGE_SIZE);
		}
	}
	if (!trc)
		tctx_put(store, t);
}

/* Put the encoded page @ne (of @data) in as page @idx, as write_page
 * would: a dirty page takes the data as a copy and @ne is freed.
 * On failure @ne is freed and the old entry is untouched. */
static int page_install(struct zsfs_store *store, struct zsfs_file *file,
			uint64_t idx, const struct zsfs_pentry *ne,
			const void *data)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);
	struct zsfs_pentry *slot;
	int rc;

	if (e && zsfs_pentry_kind(e) == ZSFS_PK_DIRTY) {
		struct store_dirty *d = zsfs_pentry_dirty(e);

		memcpy(d->data, data, ZSFS_PAGE_SIZE);
		dirty_touch(file, d);
		entry_discard(store, ne);
		return 0;
	}
	rc = file_slot(file, idx, &slot);
	if (rc) {
		entry_discard(store, ne);
		return rc;
	}
	slot_replace(store, file, slot, ne);
	return 0;
}

/* Encode on every thread, then install in page order on this one. */
int write_pages_par(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t idx, size_t npages, const unsigned char *src,
		    size_t *donep)
{
	struct zsfs_pentry ents[PAR_MAX_PAGES];
	int rcs[PAR_MAX_PAGES];
	struct page_job job = {
		.job.run = page_job_run,
		.encode = true, .store = store, .idx = idx, .npages = npages,
		.src = src, .ents = ents, .rcs = rcs,
	};
	size_t i, j;
	int rc = 0;

	atomic_init(&job.next_chunk, 0);
	job_share(&store->wk, &job.job);
	for (i = 0; i < npages && !rcs[i]; i++) {
		rc = page_install(store, file, idx + i, &ents[i],
				  src + i * ZSFS_PAGE_SIZE);
		if (rc)
			break;
	}
	*donep = i;
	for (j = rc ? i + 1 : i; j < npages; j++)
		if (!rcs[j])
			entry_discard(store, &ents[j]);
	return rc;
}

/* Decode on every thread straight into @dst; the first error wins. */
int read_pages_par(struct zsfs_store *store, const struct zsfs_file *file,
		   uint64_t idx, size_t npages, unsigned char *dst)
{
	int rcs[PAR_MAX_PAGES];
	struct page_job job = {
		.job.run = page_job_run,
		.encode = false, .store = store, .file = file, .idx = idx,
		.npages = npages, .dst = dst, .rcs = rcs,
	};
	size_t i;

	atomic_init(&job.next_chunk, 0);
	job_share(&store->wk, &job.job);
	for (i = 0; i < npages; i++)
		if (rcs[i])
			return rcs[i];
	return 0;
}

