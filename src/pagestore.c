/*
 * pagestore.c - file data on compressed 4 KiB pages.
 *
 * Each file is a pagemap (pagemap.h) from page index to a 16-byte entry;
 * the first ZSFS_PAGEMAP_DIRECT entries sit in the file struct itself, so
 * a small file is one malloc'ed block of 160 bytes:
 *
 *	SAME   the page is one 8-byte word repeated (zero pages included):
 *	       only the word is kept, no pool memory (zram's same_pages).
 *	COMP   a pool object of len bytes holding the codec's output.
 *	RAW    a pool object of 4096 bytes: the page did not compress to
 *	       ZSFS_HUGE_THRESHOLD bytes or less (zram's huge pages).
 *	DIRTY  an uncompressed copy in the file's dirty set (malloc'ed);
 *	       no pool object: the stored one is freed when the page is
 *	       loaded, since the copy holds all of its data.
 *
 * Write path.  A whole-page write goes straight to the codec, unless the
 * page is dirty (then it is copied into the dirty copy).  A partial write
 * loads the page into the file's dirty set once (one decompress) and then
 * only memcpys; when the set holds ZSFS_DIRTY_PER_FILE pages, the least
 * recently written one is compressed and stored.  The set is a list
 * threaded through the dirty pages themselves, most recently written
 * first, so a file without dirty pages pays one pointer for it.  Dirty bytes over all
 * files are capped by dirty_max_bytes: past it the writing file flushes
 * its own set, and if that is not enough the write falls back to a
 * read-modify-write of the stored page.  Storing a page always allocates
 * the new object before it frees the old one, so a failure (ENOSPC) leaves
 * the old data - or the dirty copy - in place.
 * tests/pagestore_smallwrite measures it: appending 100-byte records runs
 * about as fast as 128 KiB writes with the dirty set, and 10-15x slower
 * when every record read-modifies-writes its page.
 *
 * ENOSPC.  When zs_malloc() hits the pool's limit we run zs_compact() once
 * and retry; if that fails too the write returns -ENOSPC.
 *
 * Read path.  A whole aligned page decompresses straight from the pool
 * mapping into the caller's buffer; a partial one goes through the
 * the scratch page of a codec state.  Reading never changes the file, so
 * several threads may read one file at once.
 *
 * Codec states (codec context, scratch and compression buffers) are taken
 * from the store's idle list for one operation and given back; they are
 * freed when the store is destroyed.
 *
 * Counters: the store's are atomics (relaxed; each one is exact, a
 * snapshot of several is not a consistent cut).  A file's counters are
 * plain fields, changed only under the caller's exclusive inode lock.
 *
 * Large requests (16+ whole pages) are shared with the store's helper
 * threads: see "large requests" below.
 *
 * lock ordering:
 *	store->tctx_lock    (leaf: the list of idle codec states)
 *	store->wk.lock      (leaf: the helpers' job queue and life)
 * No lock is held while calling into the pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "pagemap.h"
#include "pagestore.h"

_Static_assert(ZSFS_MAX_FILE_SIZE ==
	       (ZSFS_PAGEMAP_MAX_INDEX + 1) << ZSFS_PAGE_SHIFT,
	       "file size limit and page table height disagree");
_Static_assert(ZSFS_PAGE_SIZE == ZSFS_CODEC_PAGE, "one page size");
_Static_assert(ZSFS_HUGE_THRESHOLD < ZSFS_PAGE_SIZE, "threshold");

#define PAGE_WORDS (ZSFS_PAGE_SIZE / sizeof(uint64_t))

static const unsigned char zero_page[ZSFS_PAGE_SIZE];

/*
 * A codec state with its buffers.  A thread takes one from the store's
 * idle list for the length of one operation and gives it back (tctx_get,
 * tctx_put); a new one is made when none is idle, so there are as many as
 * operations ever ran at once.  Not pthread keys: libfuse lets idle worker
 * threads exit detached, and a key destructor running in such a thread
 * could touch the store while the main thread destroys it.
 */
struct store_tctx {
	struct store_tctx *next;          /* protected by store->tctx_lock */
	void *cctx;                       /* codec context */
	unsigned char scratch[ZSFS_PAGE_SIZE]; /* a decompressed page */
	unsigned char cbuf[ZSFS_PAGE_SIZE];    /* codec output, object copies */
};

/*
 * A large request's whole pages, shared out in chunks.  The caller and
 * any helper claim chunks with one atomic counter, so the caller never
 * waits for a helper to start: a busy or slow helper just claims less.
 */
struct store_job {
	struct store_job *next;     /* protected by wk.lock */
	bool queued;                /* protected by wk.lock */
	unsigned active;            /* helpers inside; protected by wk.lock */
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

/* The store's helper threads.  Started at the first large request. */
struct store_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* a job was queued, or stop */
	pthread_cond_t idle;        /* a job's active count fell to 0 */
	unsigned want;              /* constant: helpers to start */
	unsigned nthreads;          /* protected by lock */
	bool started, stop;         /* protected by lock */
	struct store_job *jobs;     /* protected by lock: jobs with chunks left */
	pthread_t th[ZSFS_THREADS_MAX];
};

/* The counters, one atomic per entry of the X-macro list. */
struct store_counters {
#define STORE_COUNTER(name, desc) atomic_size_t name;
	ZSFS_STORE_STATS(STORE_COUNTER)
#undef STORE_COUNTER
};

#define CNT_ADD(s, name, v) \
	atomic_fetch_add_explicit(&(s)->cnt.name, (v), memory_order_relaxed)
#define CNT_SUB(s, name, v) \
	atomic_fetch_sub_explicit(&(s)->cnt.name, (v), memory_order_relaxed)

struct zsfs_store {
	zs_pool *pool;                       /* constant; thread safe */
	const struct zsfs_codec *codec;      /* constant */
	int level;                           /* constant */
	char codec_name[16];                 /* constant */
	size_t dirty_max_bytes;              /* constant */
	atomic_size_t limit_bytes;
	atomic_size_t dirty_bytes;           /* all files' dirty pages */
	struct store_counters cnt;
	pthread_mutex_t tctx_lock;
	struct store_tctx *tctxs;            /* idle; protected by tctx_lock */
	struct store_workers wk;
};

/* An uncompressed page of a file's dirty set: a node of the file's
 * circular list, most recently written first. */
struct store_dirty {
	uint64_t idx;
	struct store_dirty *prev, *next;
	unsigned char data[ZSFS_PAGE_SIZE];
};

/* Every field is protected by the caller's inode lock (exclusive to
 * change, shared to read). */
struct zsfs_file {
	struct zsfs_pagemap map;
	struct store_dirty *dirty;           /* newest; ->prev is the oldest */
	unsigned ndirty;
	size_t stored_bytes;
	size_t pages_compressed;
	size_t pages_raw;
	size_t pages_same;
};

/* ---- codec states --------------------------------------------------- */

static void tctx_free(const struct zsfs_codec *codec, struct store_tctx *t)
{
	codec->ctx_destroy(t->cctx);
	free(t);
}

/* Take an idle codec state, or make one.  Give it back with tctx_put. */
static int tctx_get(struct zsfs_store *store, struct store_tctx **tp)
{
	struct store_tctx *t;
	int rc;

	pthread_mutex_lock(&store->tctx_lock);
	t = store->tctxs;
	if (t)
		store->tctxs = t->next;
	pthread_mutex_unlock(&store->tctx_lock);
	if (t) {
		*tp = t;
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = store->codec->ctx_create(store->level, &t->cctx);
	if (rc) {
		free(t);
		return rc;
	}
	*tp = t;
	return 0;
}

static void tctx_put(struct zsfs_store *store, struct store_tctx *t)
{
	pthread_mutex_lock(&store->tctx_lock);
	t->next = store->tctxs;
	store->tctxs = t;
	pthread_mutex_unlock(&store->tctx_lock);
}

/* ---- helper threads ------------------------------------------------- */

static void job_run(struct store_job *job);

static int workers_init(struct store_workers *wk, unsigned threads)
{
	int rc;

	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > ZSFS_THREADS_MAX)
		threads = ZSFS_THREADS_MAX;
	wk->want = threads - 1;
	rc = -pthread_mutex_init(&wk->lock, NULL);
	if (rc)
		return rc;
	rc = -pthread_cond_init(&wk->wake, NULL);
	if (rc)
		goto err_lock;
	rc = -pthread_cond_init(&wk->idle, NULL);
	if (rc)
		goto err_wake;
	return 0;

err_wake:
	pthread_cond_destroy(&wk->wake);
err_lock:
	pthread_mutex_destroy(&wk->lock);
	return rc;
}

/* Take @job off the queue if it is still there.  Caller holds wk->lock. */
static void job_dequeue(struct store_workers *wk, struct store_job *job)
{
	struct store_job **pp = &wk->jobs;

	if (!job->queued)
		return;
	while (*pp != job)
		pp = &(*pp)->next;
	*pp = job->next;
	job->queued = false;
}

static void *worker_main(void *arg)
{
	struct store_workers *wk = arg;
	struct store_job *job;

	pthread_mutex_lock(&wk->lock);
	for (;;) {
		while (!wk->stop && !wk->jobs)
			pthread_cond_wait(&wk->wake, &wk->lock);
		if (wk->stop)
			break;
		job = wk->jobs;
		job->active++;
		pthread_mutex_unlock(&wk->lock);
		job_run(job);
		pthread_mutex_lock(&wk->lock);
		/* No chunk left: nobody else need join it. */
		job_dequeue(wk, job);
		if (--job->active == 0)
			pthread_cond_broadcast(&wk->idle);
	}
	pthread_mutex_unlock(&wk->lock);
	return NULL;
}

/* Start the helpers once.  Fewer (none) when threads cannot be made:
 * the callers then do all the work. */
static void workers_start(struct store_workers *wk)
{
	pthread_mutex_lock(&wk->lock);
	if (!wk->started) {
		wk->started = true;
		while (wk->nthreads < wk->want &&
		       pthread_create(&wk->th[wk->nthreads], NULL, worker_main,
				      wk) == 0)
			wk->nthreads++;
	}
	pthread_mutex_unlock(&wk->lock);
}

static void workers_fini(struct store_workers *wk)
{
	unsigned i;

	pthread_mutex_lock(&wk->lock);
	wk->stop = true;
	pthread_cond_broadcast(&wk->wake);
	pthread_mutex_unlock(&wk->lock);
	for (i = 0; i < wk->nthreads; i++)
		pthread_join(wk->th[i], NULL);
	pthread_cond_destroy(&wk->idle);
	pthread_cond_destroy(&wk->wake);
	pthread_mutex_destroy(&wk->lock);
}

/*
 * Run @job on the helpers and the calling thread; return when every page
 * is done (its results visible to the caller through wk.lock).
 */
static void job_share(struct zsfs_store *store, struct store_job *job)
{
	struct store_workers *wk = &store->wk;

	workers_start(wk);
	pthread_mutex_lock(&wk->lock);
	if (wk->nthreads) {
		job->next = wk->jobs;
		wk->jobs = job;
		job->queued = true;
		pthread_cond_broadcast(&wk->wake);
	}
	pthread_mutex_unlock(&wk->lock);
	job_run(job);
	pthread_mutex_lock(&wk->lock);
	job_dequeue(wk, job);
	while (job->active)
		pthread_cond_wait(&wk->idle, &wk->lock);
	pthread_mutex_unlock(&wk->lock);
}

/* ---- store ---------------------------------------------------------- */

int zsfs_store_create(const struct zsfs_store_params *params,
		      struct zsfs_store **storep, char *err, size_t err_cap)
{
	struct zs_pool_params pp = { .limit_bytes = 0 };
	struct zsfs_store *store;
	int rc;

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	rc = zsfs_codec_parse(params ? params->compress : NULL, &store->codec,
			      &store->level, err, err_cap);
	if (rc)
		goto err_free;
	zsfs_codec_format(store->codec, store->level, store->codec_name,
			  sizeof(store->codec_name));
	store->dirty_max_bytes = params && params->dirty_max_bytes ?
		params->dirty_max_bytes : ZSFS_DIRTY_MAX_DEFAULT;
	if (params) {
		pp.max_pages_per_zspage = params->max_pages_per_zspage;
		pp.limit_bytes = params->limit_bytes;
	}
	atomic_init(&store->limit_bytes, pp.limit_bytes);
	rc = zs_pool_create(&pp, &store->pool);
	if (rc) {
		if (rc == -EINVAL && err && err_cap)
			snprintf(err, err_cap,
				 "max_pages_per_zspage=%u: out of range",
				 pp.max_pages_per_zspage);
		goto err_free;
	}
	rc = -pthread_mutex_init(&store->tctx_lock, NULL);
	if (rc)
		goto err_pool;
	rc = workers_init(&store->wk, params ? params->threads : 0);
	if (rc)
		goto err_tlock;
	*storep = store;
	return 0;

err_tlock:
	pthread_mutex_destroy(&store->tctx_lock);
err_pool:
	zs_pool_destroy(store->pool);
err_free:
	free(store);
	return rc;
}

void zsfs_store_destroy(struct zsfs_store *store)
{
	struct store_tctx *t, *next;

	if (!store)
		return;
	workers_fini(&store->wk);
	/* No operation runs any more: every state is back on the list. */
	for (t = store->tctxs; t; t = next) {
		next = t->next;
		tctx_free(store->codec, t);
	}
	pthread_mutex_destroy(&store->tctx_lock);
	zs_pool_destroy(store->pool);
	free(store);
}

zs_pool *zsfs_store_pool(struct zsfs_store *store)
{
	return store->pool;
}

const char *zsfs_store_codec(const struct zsfs_store *store)
{
	return store->codec_name;
}

void zsfs_store_set_limit(struct zsfs_store *store, size_t limit_bytes)
{
	atomic_store(&store->limit_bytes, limit_bytes);
	zs_set_limit(store->pool, limit_bytes);
}

size_t zsfs_store_limit(struct zsfs_store *store)
{
	return atomic_load(&store->limit_bytes);
}

void zsfs_store_stats(struct zsfs_store *store, struct zsfs_store_stats *st)
{
#define STORE_COUNTER_READ(name, desc) \
	st->name = atomic_load_explicit(&store->cnt.name, memory_order_relaxed);
	ZSFS_STORE_STATS(STORE_COUNTER_READ)
#undef STORE_COUNTER_READ
}

void zsfs_store_compact_for_space(struct zsfs_store *store)
{
	CNT_ADD(store, enospc_compactions, 1);
	zs_compact(store->pool);
}

/* zs_malloc, with one compaction and retry when the pool is full. */
static int store_alloc(struct zsfs_store *store, size_t size, zs_handle *hp)
{
	int rc = zs_malloc(store->pool, size, hp);

	if (rc != -ENOSPC)
		return rc;
	zsfs_store_compact_for_space(store);
	rc = zs_malloc(store->pool, size, hp);
	if (rc == -ENOSPC)
		CNT_ADD(store, enospc_errors, 1);
	return rc;
}

/* ---- entries -------------------------------------------------------- */

static bool page_same(const void *data, uint64_t *wordp)
{
	const unsigned char *p = data;
	uint64_t w, x;
	size_t i;

	memcpy(&w, p, sizeof(w));
	for (i = 1; i < PAGE_WORDS; i++) {
		memcpy(&x, p + i * sizeof(x), sizeof(x));
		if (x != w)
			return false;
	}
	*wordp = w;
	return true;
}

static void fill_word(void *dst, uint64_t w, size_t pgoff, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *wb = (const unsigned char *)&w;
	size_t i;

	if (w == 0) {
		memset(d, 0, n);
		return;
	}
	for (i = 0; i < n; i++)
		d[i] = wb[(pgoff + i) % sizeof(w)];
}

/* Add (@sign = 1) or remove (-1) @e from the file's and store's counts. */
static void entry_account(struct zsfs_store *store, struct zsfs_file *file,
			  const struct zsfs_pentry *e, int sign)
{
	size_t bytes = 0;

	switch (e->kind) {
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
		bytes = e->len;
		if (sign > 0)
			file->pages_compressed++;
		else
			file->pages_compressed--;
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
	if (sign > 0) {
		file->stored_bytes += bytes;
		CNT_ADD(store, compr_data_size, bytes);
		CNT_ADD(store, pages_stored, 1);
		CNT_ADD(store, orig_data_size, ZSFS_PAGE_SIZE);
	} else {
		file->stored_bytes -= bytes;
		CNT_SUB(store, compr_data_size, bytes);
		CNT_SUB(store, pages_stored, 1);
		CNT_SUB(store, orig_data_size, ZSFS_PAGE_SIZE);
	}
}

/* Put @d (not in the set) at the head of the dirty set: the newest. */
static void dirty_link(struct zsfs_file *file, struct store_dirty *d)
{
	struct store_dirty *h = file->dirty;

	if (h) {
		d->next = h;
		d->prev = h->prev;
		h->prev->next = d;
		h->prev = d;
	} else {
		d->next = d->prev = d;
	}
	file->dirty = d;
	file->ndirty++;
}

static void dirty_unlink(struct zsfs_file *file, struct store_dirty *d)
{
	if (d->next == d) {
		file->dirty = NULL;
	} else {
		d->prev->next = d->next;
		d->next->prev = d->prev;
		if (file->dirty == d)
			file->dirty = d->next;
	}
	d->next = d->prev = NULL;
	file->ndirty--;
}

/* @d was just written: make it the newest. */
static void dirty_touch(struct zsfs_file *file, struct store_dirty *d)
{
	if (file->dirty != d) {
		dirty_unlink(file, d);
		dirty_link(file, d);
	}
}

/* Free what @e refers to and take it out of the counts. */
static void entry_release(struct zsfs_store *store, struct zsfs_file *file,
			  const struct zsfs_pentry *e)
{
	switch (e->kind) {
	case ZSFS_PK_COMP:
	case ZSFS_PK_RAW:
		zs_free(store->pool, e->val);
		break;
	case ZSFS_PK_DIRTY: {
		struct store_dirty *d = (struct store_dirty *)(uintptr_t)e->val;

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
static void slot_replace(struct zsfs_store *store, struct zsfs_file *file,
			 struct zsfs_pentry *slot, const struct zsfs_pentry *ne)
{
	struct zsfs_pentry old = *slot;

	*slot = *ne;
	entry_account(store, file, ne, 1);
	if (old.kind == ZSFS_PK_EMPTY)
		zsfs_pagemap_filled(&file->map);
	else
		entry_release(store, file, &old);
}

/* Make the hole at @idx: free its page at once. */
static void page_drop(struct zsfs_store *store, struct zsfs_file *file,
		      uint64_t idx)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (!e)
		return;
	entry_release(store, file, e);
	zsfs_pagemap_clear(&file->map, idx);
}

/*
 * Turn 4096 bytes at @data into a new entry: same-filled, compressed or
 * raw.  @data must not be @t->cbuf.  @compact: on -ENOSPC compact the
 * pool once and retry (store_alloc); without it the caller falls back to
 * a path that does.  Return 0, -ENOSPC, -ENOMEM, -EIO.
 */
static int page_encode(struct zsfs_store *store, struct store_tctx *t,
		       const void *data, bool compact, struct zsfs_pentry *ne)
{
	size_t len;
	zs_handle h;
	uint64_t w;
	int rc;

	memset(ne, 0, sizeof(*ne));
	if (page_same(data, &w)) {
		ne->kind = ZSFS_PK_SAME;
		ne->val = w;
		return 0;
	}
	rc = store->codec->compress(t->cctx, store->level, data, t->cbuf,
				    ZSFS_HUGE_THRESHOLD, &len);
	if (rc == 0) {
		rc = compact ? store_alloc(store, len, &h) :
			       zs_malloc(store->pool, len, &h);
		if (rc)
			return rc;
		zs_write(store->pool, h, t->cbuf, len);
		ne->kind = ZSFS_PK_COMP;
		ne->len = (uint32_t)len;
		ne->val = h;
		return 0;
	}
	if (rc != -E2BIG)
		return rc;
	rc = compact ? store_alloc(store, ZSFS_PAGE_SIZE, &h) :
		       zs_malloc(store->pool, ZSFS_PAGE_SIZE, &h);
	if (rc)
		return rc;
	zs_write(store->pool, h, data, ZSFS_PAGE_SIZE);
	ne->kind = ZSFS_PK_RAW;
	ne->len = ZSFS_PAGE_SIZE;
	ne->val = h;
	return 0;
}

/* Store the 4096 bytes at @data as page @idx, replacing what was there
 * (a dirty copy included).  On failure the old entry is untouched. */
static int page_store(struct zsfs_store *store, struct zsfs_file *file,
		      uint64_t idx, const void *data)
{
	struct zsfs_pentry *slot, ne;
	struct store_tctx *t;
	int rc;

	rc = zsfs_pagemap_slot(&file->map, idx, &slot);
	if (rc)
		return rc;
	rc = tctx_get(store, &t);
	if (rc == 0) {
		rc = page_encode(store, t, data, true, &ne);
		tctx_put(store, t);
	}
	if (rc) {
		if (slot->kind == ZSFS_PK_EMPTY)
			zsfs_pagemap_clear(&file->map, idx);
		return rc;
	}
	slot_replace(store, file, slot, &ne);
	return 0;
}

/* Fill @dst with the whole page of entry @e (NULL: a hole). */
static int page_load(struct zsfs_store *store, const struct zsfs_pentry *e,
		     void *dst)
{
	struct zs_mapping m;
	struct store_tctx *t;
	const void *src;
	int rc;

	if (!e) {
		memset(dst, 0, ZSFS_PAGE_SIZE);
		return 0;
	}
	switch (e->kind) {
	case ZSFS_PK_SAME:
		fill_word(dst, e->val, 0, ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_RAW:
		zs_read(store->pool, e->val, dst, ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_DIRTY:
		memcpy(dst, ((const struct store_dirty *)(uintptr_t)e->val)->data,
		       ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_COMP:
		rc = tctx_get(store, &t);
		if (rc)
			return rc;
		src = zs_map(store->pool, e->val, ZS_MM_RO, &m);
		rc = store->codec->decompress(t->cctx, src, e->len, dst);
		zs_unmap(store->pool, &m);
		tctx_put(store, t);
		if (rc) {
			CNT_ADD(store, decompress_errors, 1);
			return -EIO;
		}
		return 0;
	default:
		return -EIO;
	}
}

/* ---- dirty set ------------------------------------------------------ */

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

/*
 * Load page @idx (entry @e, NULL for a hole) into the dirty set.
 * Return: 0 and *@dp; -EAGAIN when the store-wide cap leaves no room even
 * after this file flushed its own set (the caller writes through);
 * -ENOSPC when making room failed; -ENOMEM; -EIO.
 */
static int dirty_load(struct zsfs_store *store, struct zsfs_file *file,
		      uint64_t idx, const struct zsfs_pentry *e,
		      struct store_dirty **dp)
{
	struct zsfs_pentry *slot, ne;
	struct store_dirty *d;
	int rc;

	if (store->dirty_max_bytes < ZSFS_PAGE_SIZE)
		return -EAGAIN;
	if (file->ndirty == ZSFS_DIRTY_PER_FILE) {
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
	/* The flushes above may have changed the table. */
	e = zsfs_pagemap_lookup(&file->map, idx);
	rc = page_load(store, e, d->data);
	if (rc)
		goto err_free;
	rc = zsfs_pagemap_slot(&file->map, idx, &slot);
	if (rc)
		goto err_free;
	d->idx = idx;
	memset(&ne, 0, sizeof(ne));
	ne.kind = ZSFS_PK_DIRTY;
	ne.val = (uintptr_t)d;
	slot_replace(store, file, slot, &ne);
	dirty_link(file, d);
	*dp = d;
	return 0;

err_free:
	free(d);
	return rc;
}

/* ---- large requests ------------------------------------------------- */

/*
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
 */

/* Fewer whole pages go the serial way: waking a helper (a futex wake and
 * a context switch, ~10-50 us) costs about what a few pages take. */
#define PAR_MIN_PAGES 16u
/* The same for reads, which decode ~5x faster than lz4 compresses: 16
 * pages decode in ~25 us, and 64 KiB reads got slower shared (3.0 ->
 * 1.3 GB/s on a loaded 2-core machine).  FUSE's 128 KiB readahead
 * requests stay serial too: the kernel keeps several in flight, on
 * several daemon threads, already. */
#define PAR_MIN_READ_PAGES 64u
/* Pages per job at most (a 1 MiB FUSE write): the entries and results
 * sit on the caller's stack, 5 KiB. */
#define PAR_MAX_PAGES 256u
/* Pages per claim: 4 lz4 pages take ~20 us, so the threads finish within
 * about that of each other, and claiming (one atomic add) costs nothing
 * beside it. */
#define JOB_CHUNK 4u

/* Claim and do chunks of @job until none is left.  Any thread. */
static void job_run(struct store_job *job)
{
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
				job->rcs[i] = page_load(
					store,
					zsfs_pagemap_lookup(&job->file->map,
							    job->idx + i),
					job->dst + i * ZSFS_PAGE_SIZE);
		}
	}
	if (!trc)
		tctx_put(store, t);
}

/* Free the object of an encoded entry that will not be used. */
static void entry_discard(struct zsfs_store *store,
			  const struct zsfs_pentry *ne)
{
	if (ne->kind == ZSFS_PK_COMP || ne->kind == ZSFS_PK_RAW)
		zs_free(store->pool, ne->val);
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

	if (e && e->kind == ZSFS_PK_DIRTY) {
		struct store_dirty *d = (struct store_dirty *)(uintptr_t)e->val;

		memcpy(d->data, data, ZSFS_PAGE_SIZE);
		dirty_touch(file, d);
		entry_discard(store, ne);
		return 0;
	}
	rc = zsfs_pagemap_slot(&file->map, idx, &slot);
	if (rc) {
		entry_discard(store, ne);
		return rc;
	}
	slot_replace(store, file, slot, ne);
	return 0;
}

/*
 * Store @npages (PAR_MIN_PAGES..PAR_MAX_PAGES) whole pages at @src as
 * pages @idx... of @file, compressed by the helpers and the caller.
 * Return: 0 and *@donep pages stored, all of them or a prefix ending
 * before a page that failed to encode (the caller goes on serially from
 * there); -ENOMEM when the table could not grow (*@donep stored).
 */
static int write_pages_par(struct zsfs_store *store, struct zsfs_file *file,
			   uint64_t idx, size_t npages,
			   const unsigned char *src, size_t *donep)
{
	struct zsfs_pentry ents[PAR_MAX_PAGES];
	int rcs[PAR_MAX_PAGES];
	struct store_job job = {
		.encode = true, .store = store, .idx = idx, .npages = npages,
		.src = src, .ents = ents, .rcs = rcs,
	};
	size_t i, j;
	int rc = 0;

	atomic_init(&job.next_chunk, 0);
	job_share(store, &job);
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

/* Read @npages (PAR_MIN_READ_PAGES..PAR_MAX_PAGES) whole pages from page @idx
 * into @dst, decoded by the helpers and the caller.  Return as read. */
static int read_pages_par(struct zsfs_store *store,
			  const struct zsfs_file *file, uint64_t idx,
			  size_t npages, unsigned char *dst)
{
	int rcs[PAR_MAX_PAGES];
	struct store_job job = {
		.encode = false, .store = store, .file = file, .idx = idx,
		.npages = npages, .dst = dst, .rcs = rcs,
	};
	size_t i;

	atomic_init(&job.next_chunk, 0);
	job_share(store, &job);
	for (i = 0; i < npages; i++)
		if (rcs[i])
			return rcs[i];
	return 0;
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

/* Free every page at index >= @from and < @to. */
static void range_drop(struct zsfs_store *store, struct zsfs_file *file,
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

void zsfs_file_destroy(struct zsfs_store *store, struct zsfs_file *file)
{
	if (!file)
		return;
	range_drop(store, file, 0, ZSFS_PAGEMAP_MAX_INDEX + 1);
	zsfs_pagemap_fini(&file->map);
	free(file);
}

int zsfs_file_read(struct zsfs_store *store, const struct zsfs_file *file,
		   uint64_t off, size_t len, void *buf)
{
	unsigned char *dst = buf;
	struct store_tctx *t;
	size_t done = 0;
	int rc;

	while (done < len) {
		uint64_t pos = off + done;
		uint64_t idx = pos >> ZSFS_PAGE_SHIFT;
		size_t pgoff = pos & (ZSFS_PAGE_SIZE - 1);
		size_t n = ZSFS_PAGE_SIZE - pgoff;
		const struct zsfs_pentry *e;

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
		if (!e) {
			memset(dst + done, 0, n);
		} else if (n == ZSFS_PAGE_SIZE) {
			rc = page_load(store, e, dst + done);
			if (rc)
				return rc;
		} else if (e->kind == ZSFS_PK_SAME) {
			fill_word(dst + done, e->val, pgoff, n);
		} else if (e->kind == ZSFS_PK_DIRTY) {
			memcpy(dst + done,
			       ((const struct store_dirty *)(uintptr_t)e->val)->data +
			       pgoff, n);
		} else if (e->kind == ZSFS_PK_RAW) {
			struct zs_mapping m;
			const unsigned char *p;

			p = zs_map(store->pool, e->val, ZS_MM_RO, &m);
			memcpy(dst + done, p + pgoff, n);
			zs_unmap(store->pool, &m);
		} else {
			rc = tctx_get(store, &t);
			if (rc)
				return rc;
			rc = page_load(store, e, t->scratch);
			if (rc == 0)
				memcpy(dst + done, t->scratch + pgoff, n);
			tctx_put(store, t);
			if (rc)
				return rc;
		}
		done += n;
	}
	return 0;
}

/* Write @n bytes at @pgoff of page @idx, less than a whole page. */
static int write_partial(struct zsfs_store *store, struct zsfs_file *file,
			 uint64_t idx, size_t pgoff, size_t n,
			 const void *src)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);
	struct store_dirty *d;
	struct store_tctx *t;
	int rc;

	rc = dirty_load(store, file, idx, e, &d);
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
static int write_page(struct zsfs_store *store, struct zsfs_file *file,
		      uint64_t idx, size_t pgoff, size_t n, const void *src)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (e && e->kind == ZSFS_PK_DIRTY) {
		struct store_dirty *d = (struct store_dirty *)(uintptr_t)e->val;

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

/* Zero @n bytes at @pgoff of page @idx; holes and zero pages stay. */
static int zero_partial(struct zsfs_store *store, struct zsfs_file *file,
			uint64_t idx, size_t pgoff, size_t n)
{
	const struct zsfs_pentry *e = zsfs_pagemap_lookup(&file->map, idx);

	if (!e || (e->kind == ZSFS_PK_SAME && e->val == 0))
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

/* Copy whole page @sidx of @src to page @didx of @dst as an object. */
static int copy_page(struct zsfs_store *store, struct zsfs_file *dst,
		     uint64_t didx, const struct zsfs_file *src, uint64_t sidx)
{
	const struct zsfs_pentry *se = zsfs_pagemap_lookup(&src->map, sidx);
	struct zsfs_pentry *slot, ne;
	struct store_tctx *t;
	zs_handle sh;
	size_t size;
	int rc;

	if (!se) {
		page_drop(store, dst, didx);
		return 0;
	}
	if (se->kind == ZSFS_PK_DIRTY)
		return page_store(store, dst, didx,
				  ((const struct store_dirty *)(uintptr_t)se->val)->data);
	/* @se may move when the slot grows a node of the same file. */
	ne = *se;
	sh = se->val;
	se = NULL;
	rc = zsfs_pagemap_slot(&dst->map, didx, &slot);
	if (rc)
		return rc;
	if (ne.kind == ZSFS_PK_COMP || ne.kind == ZSFS_PK_RAW) {
		size = ne.kind == ZSFS_PK_COMP ? ne.len : ZSFS_PAGE_SIZE;
		rc = store_alloc(store, size, &ne.val);
		if (rc == 0) {
			rc = tctx_get(store, &t);
			if (rc)
				zs_free(store->pool, ne.val);
		}
		if (rc) {
			if (slot->kind == ZSFS_PK_EMPTY)
				zsfs_pagemap_clear(&dst->map, didx);
			return rc;
		}
		/* One mapping per thread at a time: go through cbuf. */
		zs_read(store->pool, sh, t->cbuf, size);
		zs_write(store->pool, ne.val, t->cbuf, size);
		tctx_put(store, t);
	}
	slot_replace(store, dst, slot, &ne);
	return 0;
}

int zsfs_file_copy(struct zsfs_store *store, struct zsfs_file *dst,
		   uint64_t doff, const struct zsfs_file *src, uint64_t soff,
		   uint64_t len, size_t *copied)
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
		if (n == ZSFS_PAGE_SIZE && !(spos & (ZSFS_PAGE_SIZE - 1))) {
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

void zsfs_file_stats(const struct zsfs_file *file, struct zsfs_file_stats *st)
{
	uint64_t last;

	st->stored_bytes = file->stored_bytes;
	st->pages_compressed = file->pages_compressed;
	st->pages_raw = file->pages_raw;
	st->pages_same = file->pages_same;
	st->pages_dirty = file->ndirty;
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

int zsfs_file_check(struct zsfs_store *store, const struct zsfs_file *file,
		    char *msg, size_t msg_cap)
{
	size_t comp = 0, raw = 0, same = 0, dirty = 0, bytes = 0;
	const struct store_dirty *d;
	const struct zsfs_pentry *e;
	unsigned char scratch[ZSFS_PAGE_SIZE];
	uint64_t idx, from = 0;
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
		if (!e || e->kind != ZSFS_PK_DIRTY ||
		    (const struct store_dirty *)(uintptr_t)e->val != d ||
		    d->next->prev != d)
			return check_fail(msg, msg_cap, d->idx,
					  "dirty set: bad link or entry");
		d = d->next;
		if (d == file->dirty)
			break;
	}
	if (i != file->ndirty) {
		snprintf(msg, msg_cap, "dirty set: %u pages linked, %u counted",
			 i, file->ndirty);
		return -EUCLEAN;
	}
	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		switch (e->kind) {
		case ZSFS_PK_SAME:
			if (e->len)
				return check_fail(msg, msg_cap, idx,
						  "same-filled entry with a length");
			same++;
			break;
		case ZSFS_PK_COMP:
			if (!e->val || !e->len || e->len > ZSFS_HUGE_THRESHOLD)
				return check_fail(msg, msg_cap, idx,
						  "compressed entry: bad handle or length");
			if (zs_obj_size(store->pool, e->val) != e->len)
				return check_fail(msg, msg_cap, idx,
						  "object size differs from the entry's length");
			if (page_load(store, e, scratch))
				return check_fail(msg, msg_cap, idx,
						  "does not decompress");
			comp++;
			bytes += e->len;
			break;
		case ZSFS_PK_RAW:
			if (!e->val ||
			    zs_obj_size(store->pool, e->val) != ZSFS_PAGE_SIZE)
				return check_fail(msg, msg_cap, idx,
						  "raw entry: object is not a page");
			raw++;
			bytes += ZSFS_PAGE_SIZE;
			break;
		case ZSFS_PK_DIRTY:
			d = (const struct store_dirty *)(uintptr_t)e->val;
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
	if (file->ndirty > ZSFS_DIRTY_PER_FILE || dirty != file->ndirty ||
	    comp != file->pages_compressed || raw != file->pages_raw ||
	    same != file->pages_same || bytes != file->stored_bytes) {
		snprintf(msg, msg_cap,
			 "file counters: found %zu comp %zu raw %zu same %zu dirty %zu bytes, recorded %zu %zu %zu %u %zu",
			 comp, raw, same, dirty, bytes, file->pages_compressed,
			 file->pages_raw, file->pages_same, file->ndirty,
			 file->stored_bytes);
		return -EUCLEAN;
	}
	return 0;
}
