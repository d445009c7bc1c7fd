/*
 * store_internal.h - the page store's internal types and cross-file
 * declarations.  Not installed, not for the filesystem: it includes
 * pagestore.h, the public contract.
 *
 * The data layer, bottom to top.  A file calls only into files below it
 * (and pagemap.c, codec.c, the allocator), never up or sideways:
 *
 *	storelife.c  the store's life: create (codec, budget, pool, dicts,
 *	             sharing, dedup, helpers) and destroy
 *	fileio.c     zsfs_file_read/write: bytes to pages, serial or shared
 *	range.c      punch, truncate, seek, copy
 *	writeback.c  idle marks; pages to the backing file (backing.h)
 *	pagejob.c    large requests: pages encoded/decoded by the helpers
 *	dirty.c      the dirty set: load, evict, flush, the dirty bounds
 *	entry.c      a file's entries: replace, release, counts, check
 *	share.c      shared objects: reference counts, the reference audit
 *	dedup.c      content deduplication: the hash -> object index
 *	dedup_hash.c its hash (XXH3, AVX2 where the CPU has it)
 *	recompress.c settled pages to a stronger level and a dictionary
 *	dict.c       dictionaries: table, references, training, loading
 *	pagecodec.c  page <-> entry: same-filled, codec, raw; codec states
 *	pagestore.c  the store's bottom: alloc, counters, accessors
 *	workers.c    the helper threads, knowing nothing of pages
 *
 * (range.c sits above fileio.c: it writes partial pages through it.)
 * The helpers run work given to them as a callback (struct store_job),
 * so storelife.c can start and stop them without them calling up into the
 * page layers; the dirty list's link/unlink/touch and tctx_free are inline
 * here for the same reason (entry.c unlinks, the store frees states).
 *
 * lock ordering (the only locks of the data layer; all are leaves):
 *	store->tctx_lock    the list of idle codec states (pagecodec.c)
 *	store->wk.lock      the helpers' job queue and life (workers.c)
 *	store->dict_lock    the dictionary table and the current one (dict.c)
 *	store->dedup.lock   the dedup index (dedup.c); taken before
 *	                    store->share.lock, the only nesting
 *	store->share.lock   shared objects' references, the audit (share.c)
 *	the backing file's lock (backing.h) is a leaf too: freeing a
 *	                    BACKED entry's slots (entry.c), loading and
 *	                    storing (pagecodec.c, writeback.c) take it under
 *	                    no lock of the store's, only the file's
 * No lock is held while calling into the pool or a codec.  A zsfs_file
 * has no lock: the caller's inode lock serialises (see pagestore.h).
 */
#ifndef ZSFS_STORE_INTERNAL_H
#define ZSFS_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "backing.h"
#include "codec.h"
#include "pagemap.h"
#include "pagestore.h"

/* ---- types ------------------------------------------------------------ */

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
 * Work for the helper threads.  The caller and every helper that joins
 * call @run, which claims parts of the work until none is left (pagejob.c
 * claims chunks of pages with one atomic counter, so the caller never
 * waits for a helper to start: a busy or slow helper just claims less).
 * The owner embeds it in its own struct.
 */
struct store_job {
	struct store_job *next;     /* protected by wk.lock */
	bool queued;                /* protected by wk.lock */
	unsigned active;            /* helpers inside; protected by wk.lock */
	void (*run)(struct store_job *job); /* constant; any thread */
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

/* Dictionary ids: 1..STORE_DICT_MAX-1 (0 = none); an entry has 6 bits. */
#define STORE_DICT_MAX 32u
_Static_assert(STORE_DICT_MAX - 1 <= ZSFS_PE_DICT_MASK, "dict ids");

/* A dictionary: referenced once by every entry whose object needs it and
 * once by the store while it is the current one (the one new pages get);
 * freed when the count reaches 0, and then no entry can name it. */
struct store_dict {
	void *d;                   /* constant: the codec's dictionary */
	size_t bytes;              /* constant: charged as ZSFS_HOLD_DICT */
	atomic_size_t refs;
};

/* The background recompression's own codec state (recompress.c): a
 * context at the target level and the current dictionary prepared for
 * it.  Used by one thread at a time (see zsfs_file_recompress). */
struct store_rctx {
	void *ctx;                 /* codec context at store->rlevel */
	void *cdict;               /* for dictionary cdict_id; NULL = none */
	unsigned cdict_id;         /* holds a reference on it */
	size_t bytes;              /* charged as ZSFS_HOLD_SETTLE */
	unsigned char page[ZSFS_PAGE_SIZE];
	unsigned char out[2][ZSFS_PAGE_SIZE];
};

/* Pages sampled from the store to train a dictionary (dict.c). */
struct store_sample {
	unsigned char *buf;        /* cap bytes, charged as ZSFS_HOLD_SETTLE */
	size_t len, cap;
	size_t stride, seen;       /* take every stride-th page seen */
};

/* A shared object (share.c): 16 bytes; h == 0 is an empty slot. */
struct share_slot {
	zs_handle h;
	uint32_t refs;             /* 2 or more (audit: references seen) */
	uint32_t size;             /* the object's bytes */
};

/* Objects with more than one reference, and the reference audit. */
struct store_share {
	pthread_mutex_t lock;
	struct share_slot *tab;    /* protected by lock */
	size_t cap;                /* protected by lock; charged ZSFS_HOLD_SHARE */
	atomic_size_t used;        /* writes under lock; 0 = nothing shared */
	atomic_size_t gen;         /* bumped by every get and put */
	atomic_bool auditing;      /* writes under lock */
	bool audit_failed;         /* protected by lock */
	size_t audit_gen;          /* protected by lock */
	struct share_slot *audit;  /* protected by lock: references seen */
	size_t audit_cap, audit_used; /* protected by lock */
};

/* The dedup index (dedup.c): by the hash of the stored bytes. */
struct dedup_xslot {
	uint64_t hash;
	struct zsfs_pentry e;      /* a COMP or RAW entry of the object, no
				    * dictionary, not settled; 0 = empty */
};
struct store_dedup {
	bool on;                   /* constant: dedup= */
	unsigned bits;             /* constant: hash bits kept (test hook) */
	pthread_mutex_t lock;
	struct dedup_xslot *byx;   /* protected by lock */
	size_t hcap, used;         /* protected by lock: slots, objects */
};

struct zsfs_store {
	zs_pool *pool;                       /* constant; thread safe */
	struct zsfs_budget *budget;          /* constant; thread safe */
	size_t debug_os_limit;               /* constant; test hook */
	const struct zsfs_codec *codec;      /* constant */
	int level;                           /* constant */
	char codec_name[16];                 /* constant */
	size_t dirty_max_bytes;              /* constant */
	atomic_size_t dirty_bytes;           /* all files' dirty pages */
	struct store_counters cnt;
	pthread_mutex_t tctx_lock;
	struct store_tctx *tctxs;            /* idle; protected by tctx_lock */
	struct store_workers wk;

	/* Background recompression and dictionaries; the settle thread
	 * (the filesystem's) is the only caller of what changes these
	 * unlocked fields. */
	int rlevel;                          /* constant: target level */
	bool settle_on;                      /* constant: pages go pending */
	int dict_mode;                       /* constant: enum store_dict_mode */
	pthread_mutex_t dict_lock;
	struct store_dict *_Atomic dicts[STORE_DICT_MAX]; /* writes: dict_lock */
	unsigned dict_cur;                   /* protected by dict_lock */
	bool retrain;                        /* protected by dict_lock */
	size_t trained_pages;                /* protected by dict_lock */
	struct store_rctx *rctx;             /* the settle thread's */
	struct store_sample sample;          /* the settle thread's */
	void (*work_hook)(void *arg);        /* constant once set */
	void *work_arg;
	atomic_bool hook_armed;              /* call work_hook at new work */
	struct store_share share;            /* shared objects (share.c) */
	struct store_dedup dedup;            /* the dedup index (dedup.c) */
	/* The backing file (writeback.c): constant once set, before any
	 * file holds a page; thread safe; NULL = none. */
	struct zsfs_backing *backing;
};

_Static_assert(ZSFS_PE_LOC_SHIFT + ZSFS_BACKING_LOC_BITS <= 64,
	       "a backing location fits its bits of an entry");

enum store_dict_mode { STORE_DICT_OFF, STORE_DICT_AUTO, STORE_DICT_FILE };

/* An uncompressed page of a file's dirty set: a node of the file's
 * circular list, most recently written first. */
struct store_dirty {
	uint64_t idx;
	struct store_dirty *prev, *next;
	unsigned char data[ZSFS_PAGE_SIZE];
};

/*
 * A file's pages: 72 bytes, an 80-byte malloc chunk (it was 152, 160).
 * The counts are 32 bits: a file holds at most STORE_FILE_MAX_PAGES
 * pages that are not holes (file_slot refuses more with -EFBIG), 16 TiB
 * of data, however sparse.  The stored bytes (< 2^44 then) share a word
 * with the dirty pages (<= ZSFS_DIRTY_PER_FILE): stored << 8 | ndirty.
 * No count of entries: it is the sum of the four kinds.
 *
 * Every field is protected by the caller's inode lock (exclusive to
 * change, shared to read).
 */
struct zsfs_file {
	struct zsfs_pagemap map;
	struct store_dirty *dirty;           /* newest; ->prev is the oldest */
	uint64_t stored_ndirty;              /* stored bytes << 8 | ndirty */
	uint32_t pages_compressed;
	uint32_t pages_raw;
	uint32_t pages_same;
	uint32_t unsettled;                  /* COMP/RAW pages not settled */
};

#define STORE_FILE_MAX_PAGES UINT32_MAX
_Static_assert(ZSFS_DIRTY_PER_FILE <= 0xff, "ndirty fits its byte");

static inline unsigned file_ndirty(const struct zsfs_file *file)
{
	return (unsigned)(file->stored_ndirty & 0xff);
}

/* Pool bytes of the file's COMP and RAW entries, shared or not. */
static inline size_t file_stored_bytes(const struct zsfs_file *file)
{
	return (size_t)(file->stored_ndirty >> 8);
}

/* Pages that are not holes. */
static inline uint64_t file_pages(const struct zsfs_file *file)
{
	return (uint64_t)file->pages_compressed + file->pages_raw +
	       file->pages_same + file_ndirty(file);
}

/* The bytes of the COMP or RAW entry @e's object. */
static inline size_t entry_bytes(const struct zsfs_store *store,
				 const struct zsfs_pentry *e)
{
	return zsfs_pentry_kind(e) == ZSFS_PK_RAW ? ZSFS_PAGE_SIZE :
		zs_obj_size(store->pool, zsfs_pentry_handle(e));
}

/*
 * entry_touch() - a read of the page of @e (non-NULL): clear its idle
 * mark, and return the entry's word as it is now, for the caller to
 * decode from *its copy*.  The read path holds the file shared, so
 * readers race here: the bit is cleared with an atomic and, only when it
 * is set (so it costs one load when no "idle all" ran), and the word is
 * read with an atomic load, as zsfs_pagemap_lookup tests it; readers of
 * a page never read the shared word otherwise.  It is the one change
 * made to an entry under a shared lock, and only the IDLE bit changes.
 */
static inline struct zsfs_pentry entry_touch(struct zsfs_store *store,
					     const struct zsfs_pentry *e)
{
	uint64_t *w = (uint64_t *)&e->w;
	struct zsfs_pentry v = { __atomic_load_n(w, __ATOMIC_RELAXED) };

	/* A DIRTY word is a pointer: its bit 3 is the pointer's. */
	if (zsfs_pentry_kind(&v) == ZSFS_PK_DIRTY || !(v.w & ZSFS_PE_IDLE))
		return v;
	if (__atomic_fetch_and(w, ~ZSFS_PE_IDLE, __ATOMIC_RELAXED) &
	    ZSFS_PE_IDLE)
		CNT_SUB(store, idle_pages, 1);
	v.w &= ~ZSFS_PE_IDLE;
	return v;
}

/* ---- workers.c: the helper threads ------------------------------------ */

/* Set up @wk for @threads threads, the caller included (0 = the online
 * CPUs); none is started yet.  Return 0 or -errno. */
int workers_init(struct store_workers *wk, unsigned threads);
/* Stop and join the helpers, free @wk's locks.  No job may be running. */
void workers_fini(struct store_workers *wk);
/* Run @job->run on the helpers and the calling thread; return when every
 * part is done (its results visible to the caller through wk->lock). */
void job_share(struct store_workers *wk, struct store_job *job);

/* ---- pagestore.c: the store ------------------------------------------- */

/* zs_malloc, with one compaction and retry when the pool is full or the
 * OS refused memory.  Thread safe.  Return 0, -ENOSPC (counted; an OS
 * refusal also in os_refusals), -EINVAL. */
int store_alloc(struct zsfs_store *store, size_t size, zs_handle *hp);

/* zs_malloc from the store's pool, after the debug_os_limit test hook
 * had its say: the one way the page layers allocate without compacting. */
static inline int store_pool_malloc(struct zsfs_store *store, size_t size,
				    zs_handle *hp)
{
	if (store->debug_os_limit)
		zs_debug_fail_os(store->pool,
				 zs_pool_mem_bytes(store->pool) >=
				 store->debug_os_limit ? SIZE_MAX : 0);
	return zs_malloc(store->pool, size, hp);
}

/* ---- pagecodec.c: page <-> entry, codec states ------------------------ */

/* Take an idle codec state, or make one; give it back with tctx_put.
 * Thread safe.  Return 0 or -ENOMEM. */
int tctx_get(struct zsfs_store *store, struct store_tctx **tp);
void tctx_put(struct zsfs_store *store, struct store_tctx *t);

/* Free a codec state that is on no list (the store, at destroy). */
static inline void tctx_free(const struct zsfs_codec *codec,
			     struct store_tctx *t)
{
	codec->ctx_destroy(t->cctx);
	free(t);
}

/*
 * page_encode() - turn 4096 bytes at @data into a new entry *@ne:
 * same-filled, compressed or raw, its object (if any) allocated and
 * written.  @data must not be @t->cbuf.  @compact: on -ENOSPC compact the
 * pool once and retry (store_alloc); without it the caller falls back to
 * a path that does.  Touches no file: any thread.
 * Return 0, -ENOSPC, -ENOMEM, -EIO.
 */
int page_encode(struct zsfs_store *store, struct store_tctx *t,
		const void *data, bool compact, struct zsfs_pentry *ne);
/* Fill @dst with the whole page of entry @e (NULL: a hole).  Return 0,
 * -ENOMEM, -EIO (does not decode; counted in decompress_errors). */
int page_load(struct zsfs_store *store, const struct zsfs_pentry *e,
	      void *dst);
/* Fill @n bytes at @dst with bytes [@pgoff, @pgoff + @n) of the page of
 * entry @e (NULL: a hole), decoding only what needs it.  Return as
 * page_load. */
int page_load_part(struct zsfs_store *store, const struct zsfs_pentry *e,
		   size_t pgoff, size_t n, void *dst);

/* ---- dict.c: dictionaries -------------------------------------------- */

/* The dictionary @id (non-zero) named by a live entry: never NULL then. */
static inline struct store_dict *dict_of(struct zsfs_store *store,
					 unsigned id)
{
	return id < STORE_DICT_MAX ?
		atomic_load_explicit(&store->dicts[id], memory_order_acquire) :
		NULL;
}
/* One more reference on dictionary @id, which must have one. */
void dict_get(struct zsfs_store *store, unsigned id);
/* One fewer; the last one frees it. */
void dict_put(struct zsfs_store *store, unsigned id);
/* Set up and tear down the table (store create/destroy); @path: the
 * dict=PATH file to load, or NULL.  Return 0, -EINVAL (+ @err), -ENOMEM. */
int dict_init(struct zsfs_store *store, const char *path, char *err,
	      size_t err_cap);
void dict_fini(struct zsfs_store *store);
/* dict=auto with no page stored: drop the current dictionary (the next
 * data trains its own).  The settle thread, going idle. */
void dict_idle(struct zsfs_store *store);

/* ---- entry.c: a file's entries ---------------------------------------- */

/* The slot for page @idx, as zsfs_pagemap_slot, for an entry to be put
 * in: -EFBIG when it is a hole and the file holds STORE_FILE_MAX_PAGES
 * pages already.  Return 0, -EFBIG, -ENOMEM. */
int file_slot(struct zsfs_file *file, uint64_t idx,
	      struct zsfs_pentry **slotp);
/* Put @ne into @slot (from file_slot): the new entry first, then
 * the old one is released.  Caller holds the file exclusive. */
void slot_replace(struct zsfs_store *store, struct zsfs_file *file,
		  struct zsfs_pentry *slot, const struct zsfs_pentry *ne);
/* Make the hole at @idx: free its page at once. */
void page_drop(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx);
/* Free every page at index >= @from and < @to. */
void range_drop(struct zsfs_store *store, struct zsfs_file *file,
		uint64_t from, uint64_t to);
/* Store the 4096 bytes at @data as page @idx, replacing what was there
 * (a dirty copy included).  On failure the old entry is untouched.
 * Return 0, -ENOSPC, -ENOMEM, -EFBIG, -EIO. */
int page_store(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, const void *data);
/* Drop the reference of an entry (encoded, not used; or released) on
 * its pool object, if it has one: the last one frees it. */
void entry_discard(struct zsfs_store *store, const struct zsfs_pentry *ne);
/* Mark the COMP or RAW entry in @slot settled, as it is. */
void entry_settle(struct zsfs_store *store, struct zsfs_file *file,
		  struct zsfs_pentry *slot);

/* ---- share.c: shared objects ----------------------------------------- */

int share_init(struct zsfs_store *store);
void share_fini(struct zsfs_store *store);
/* One more reference on object @h (@size bytes), which has one at
 * least.  Return 0, -ENOSPC (the table could not grow under size=),
 * -ENOMEM. */
int share_get(struct zsfs_store *store, zs_handle h, size_t size);
/* One fewer; true when it was the last, and the caller frees @h. */
bool share_put(struct zsfs_store *store, zs_handle h);
/* References on @h (1 when it is not shared). */
unsigned share_refs(struct zsfs_store *store, zs_handle h);
/* zsfs_file_check: count one reference on @h if an audit is running. */
void share_audit_ref(struct zsfs_store *store, zs_handle h);

/* ---- dedup.c: content deduplication --------------------------------- */

/* Set up the index (@on: dedup=; @bits: hash bits kept, 0 = all).
 * Return 0, -EINVAL (+ @err: no hash library), -errno. */
int dedup_init(struct zsfs_store *store, bool on, unsigned bits, char *err,
	       size_t err_cap);
void dedup_fini(struct zsfs_store *store);
/* The index key of the @len stored bytes at @p (compressed, or a raw
 * page). */
uint64_t dedup_hash(const struct zsfs_store *store, const void *p,
		    size_t len);
/* An object of @kind (COMP without a dictionary, or RAW) holding
 * exactly the @len bytes at @obj, indexed under @hash: 0 and *@ne
 * referencing it (one more reference taken), or -ENOENT. */
int dedup_find(struct zsfs_store *store, uint64_t hash, enum zsfs_pkind kind,
	       const void *obj, size_t len, struct zsfs_pentry *ne);
/* Index the new object of @ne under @hash (skipped if it cannot grow). */
void dedup_add(struct zsfs_store *store, uint64_t hash,
	       const struct zsfs_pentry *ne);
/* Drop @e's reference on its object: true when it was the last (the
 * caller frees it; it has left the index). */
bool obj_put(struct zsfs_store *store, const struct zsfs_pentry *e);

/* ---- dedup_hash.c: the index's hash (XXH3-64, AVX2 where it can) ------ */

/* Choose the implementation, once per process (dedup_init calls it). */
void dedup_hash_init(void);
/* XXH3-64 of @len bytes at @p, seeded with @len. */
uint64_t dedup_hash_bytes(const void *p, size_t len);
/* "xxh3-avx2", "xxh3" or "none". */
const char *dedup_hash_impl(void);

/* ---- dirty.c: the dirty set ------------------------------------------- */

/* Put @d (not in the set) at the head of the dirty set: the newest. */
static inline void dirty_link(struct zsfs_file *file, struct store_dirty *d)
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
	file->stored_ndirty++;
}

static inline void dirty_unlink(struct zsfs_file *file, struct store_dirty *d)
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
	file->stored_ndirty--;
}

/* @d was just written: make it the newest. */
static inline void dirty_touch(struct zsfs_file *file, struct store_dirty *d)
{
	if (file->dirty != d) {
		dirty_unlink(file, d);
		dirty_link(file, d);
	}
}

/*
 * dirty_load() - load page @idx into the dirty set.
 * Return: 0 and *@dp; -EAGAIN when the store-wide cap leaves no room even
 * after this file flushed its own set (the caller writes through);
 * -ENOSPC when making room failed; -ENOMEM; -EIO.
 */
int dirty_load(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, struct store_dirty **dp);

/* ---- pagejob.c: large requests ---------------------------------------- */

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

/*
 * write_pages_par() - store @npages (PAR_MIN_PAGES..PAR_MAX_PAGES) whole
 * pages at @src as pages @idx... of @file, compressed by the helpers and
 * the caller.
 * Return: 0 and *@donep pages stored, all of them or a prefix ending
 * before a page that failed to encode (the caller goes on serially from
 * there); -ENOMEM when the table could not grow (*@donep stored).
 */
int write_pages_par(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t idx, size_t npages, const unsigned char *src,
		    size_t *donep);
/* Read @npages (PAR_MIN_READ_PAGES..PAR_MAX_PAGES) whole pages from page
 * @idx into @dst, decoded by the helpers and the caller.  Return as
 * zsfs_file_read. */
int read_pages_par(struct zsfs_store *store, const struct zsfs_file *file,
		   uint64_t idx, size_t npages, unsigned char *dst);

/* ---- fileio.c: read and write ----------------------------------------- */

/* Write into one page of @file: @n bytes at @pgoff (a whole page when
 * @n == ZSFS_PAGE_SIZE).  Return as zsfs_file_write. */
int write_page(struct zsfs_store *store, struct zsfs_file *file,
	       uint64_t idx, size_t pgoff, size_t n, const void *src);

#endif
