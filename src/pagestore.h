/*
 * pagestore.h - file data on compressed 4 KiB pages.
 *
 * A store (one per mount) owns the zsmalloc pool, the codec and the
 * store-wide counters.  A zsfs_file (one per regular-file inode) is a
 * sparse table from page index to a stored page, plus a small bounded set
 * of dirty uncompressed pages that absorbs small writes so they do not
 * cost a decompress + recompress each.
 *
 * Kinds of page: hole (no entry, reads as zeros, costs nothing), same-filled
 * (one repeated 8-byte word; only the word is kept, no pool memory),
 * compressed (an object in the pool), raw (did not compress below the
 * threshold: stored as 4096 bytes), dirty (uncompressed, in the file's
 * dirty set until flushed).
 *
 * Locking: a zsfs_file has no lock of its own.  The caller (the inode)
 * serialises: exclusive for write, punch, truncate, flush, copy, destroy;
 * shared is enough for read, seek, stats and check, which never modify the
 * file.  The store is thread safe.  Functions return 0 or a negative errno.
 *
 * Large requests: a write of 16 or more whole pages, a read of 64 or
 * more, is shared with the store's helper threads (params.threads),
 * which compress or decode
 * pages while the caller, still holding its inode lock, does the same;
 * the call returns when every page is done, with the results the serial
 * path would give.
 */
#ifndef ZSFS_PAGESTORE_H
#define ZSFS_PAGESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "zsmalloc.h"

struct zsfs_backing;

#define ZSFS_PAGE_SIZE 4096u
#define ZSFS_PAGE_SHIFT 12

/*
 * Largest file: 2^60 bytes (page indices below 2^48, an eight-level table
 * of 64-way nodes, see pagemap.h).  Writes and truncates past it fail with
 * -EFBIG.  A file holds at most 2^32 - 1 pages that are not holes (16 TiB
 * of data, however sparse: its counts are 32 bits); a write that needs
 * another fails with -EFBIG too.
 */
#define ZSFS_MAX_FILE_SIZE (UINT64_C(1) << 60)

/*
 * A page that does not compress to at most this many bytes is stored raw
 * (4096 bytes, a "huge" page): past it the saving (under 1/8 of a page)
 * is not worth a decompress on every read.  Measured (lz4, 572 MiB tar of
 * /usr/include, /usr/lib/gcc and the start of /usr/lib/x86_64-linux-gnu,
 * 1 MiB writes, pool mem_bytes after compaction; single-thread read):
 *
 *	threshold  raw pages  compr_data_size  mem_bytes  read MB/s
 *	3072       28488      338.1 MB         343.7 MB   3462-4035
 *	3264       17512      327.9 MB         333.8 MB   3704-3723
 *	3584        3282      317.9 MB         324.2 MB   3392-3407
 *	3840        2192      317.5 MB         323.8 MB   3263-3290
 *
 * 3584 takes 5.7% less memory than 3072 (zram's ~3264 takes 2.9% less),
 * nearly all that 3840 saves, at a read cost within the noise of a shared
 * machine (~5-10%); with 16-page zspage chains a 3.5 KiB class wastes
 * little (18 objects in 16 pages), unlike the short chains zram's 3/4
 * page rule was made for.
 */
#define ZSFS_HUGE_THRESHOLD 3584u

/* Dirty pages a file keeps uncompressed at most; then the oldest is
 * stored.  16 pages = 64 KiB: enough to absorb record-sized appends and
 * small rewrites of a hot region, small enough to flush quickly. */
#define ZSFS_DIRTY_PER_FILE 16u
/* Default cap on dirty pages over all files (dirty_max_bytes = 0). */
#define ZSFS_DIRTY_MAX_DEFAULT ((size_t)32 << 20)

struct zsfs_store;
struct zsfs_file;

struct zsfs_store_params {
	/* "lz4" (also when NULL), "zstd", "zstd:LEVEL" (1..19), "none". */
	const char *compress;
	/* The size= cap of the store's budget (budget.h): the pool's memory
	 * plus every other holder's bytes; 0 = none. */
	size_t limit_bytes;
	/* zspage chain length, 0 = the allocator's default. */
	unsigned max_pages_per_zspage;
	/* Cap on uncompressed dirty pages over all files; 0 = the default,
	 * ZSFS_DIRTY_MAX_DEFAULT.  Below one page, small writes skip the
	 * dirty set and read-modify-write the stored page every time. */
	size_t dirty_max_bytes;
	/* Threads that compress (decompress) the whole pages of one large
	 * write (read) together, the caller included: 1 = the caller alone;
	 * 0 = the online CPUs, at most ZSFS_THREADS_MAX.  The helpers are
	 * started at the first large request and stopped by
	 * zsfs_store_destroy(). */
	unsigned threads;
	/* Background recompression of settled pages (recompress.c): "off"
	 * = none; NULL, "" or "on" (the default) = lz4hc:9 on lz4, zstd:9
	 * on zstd; "lz4hc:N" (lz4 only, 1..12), "zstd:N" (zstd only,
	 * 1..19).  On by default since the whole daemon then holds 0.68x
	 * (lz4) of what it holds without, once settled (bench/settle.sh). */
	const char *recompress;
	/* Dictionaries (dict.c): NULL, "" or "auto" (the default) = trained
	 * from the mount's own pages; "off" = none; else the path of a
	 * dictionary file. */
	const char *dict;
	/* Test hook: the pool's OS layer refuses memory (zs_debug_fail_os)
	 * while the pool holds this many bytes or more, as an OS out of
	 * memory would; 0 = never.  The daemon takes it from the
	 * environment variable ZSFS_DEBUG_OS_LIMIT. */
	size_t debug_os_limit;
	/* noswap: keep the pool's pages out of swap (mlocked as they are
	 * touched).  zsfs_store_create() checks that the pool may lock
	 * limit_bytes (or, with no limit, @ram_bytes) and fails with -EPERM
	 * and a message naming RLIMIT_MEMLOCK when it may not. */
	int noswap;
	uint64_t ram_bytes;
	/* Content deduplication on write (dedup.c): a page whose bytes are
	 * stored already shares that object.  Needs libxxhash (-EINVAL
	 * without it). */
	int dedup;
	/* Test hook: keep only this many bits of the content hash (1..63),
	 * to force collisions; 0 = all 64.  The daemon takes it from the
	 * environment variable ZSFS_DEBUG_DEDUP_BITS. */
	unsigned dedup_bits;
};

/* Most threads per store (helpers + the caller); more is clamped. */
#define ZSFS_THREADS_MAX 16u

/*
 * zsfs_codec_check() - validate a compress= value without making a store.
 * Return: 0, or -EINVAL with a message naming what is wrong in @err.
 * Defined in codec.c and declared in codec.h too; declared here as well
 * for the option parser, which sees only this header.
 */
int zsfs_codec_check(const char *spec, char *err, size_t err_cap);

/*
 * zsfs_store_create() - make a store and its pool.
 * Return: 0; -EINVAL (bad codec spec; message in @err); -ENOMEM.
 */
int zsfs_store_create(const struct zsfs_store_params *params,
		      struct zsfs_store **storep, char *err, size_t err_cap);
/* Free the store and its pool.  Every file must be destroyed first.  NULL ok. */
void zsfs_store_destroy(struct zsfs_store *store);

zs_pool *zsfs_store_pool(struct zsfs_store *store);
/* The store's memory budget: caps, holders and the one door to
 * compaction (budget.h).  Made and freed with the store. */
struct zsfs_budget *zsfs_store_budget(struct zsfs_store *store);
/* The codec as a string, e.g. "lz4" or "zstd:3". */
const char *zsfs_store_codec(const struct zsfs_store *store);

/*
 * Store-wide counters, one list for the struct, its updates and its text
 * form (see ctl.c).  Values are bytes or counts.
 */
#define ZSFS_STORE_STATS(X)                                                  \
	X(orig_data_size, "uncompressed bytes of stored pages, same-filled included") \
	X(compr_data_size, "bytes the stored pages take in the pool")       \
	X(same_pages, "same-filled pages stored (no pool memory)")          \
	X(huge_pages, "pages stored raw because they did not compress")     \
	X(huge_pages_since, "pages ever stored raw")                        \
	X(pages_stored, "pages with data: compressed, raw or same-filled")  \
	X(dirty_pages, "uncompressed dirty pages waiting to be stored")     \
	X(enospc_errors, "writes refused with ENOSPC")                       \
	X(os_refusals, "allocations the OS refused (answered with ENOSPC)")  \
	X(dirty_evictions, "dirty pages stored to make room in a dirty set") \
	X(decompress_errors, "pages that failed to decompress (EIO)")       \
	X(recompress_pending, "stored pages the background recompression has not settled") \
	X(recompress_done, "pages the background recompression has settled") \
	X(recompress_kept, "settled pages whose new object was smaller, so kept") \
	X(recompress_saved_bytes, "bytes the kept recompressions saved (cumulative)") \
	X(dict_count, "dictionaries held")                                  \
	X(dict_pages, "pages stored with a dictionary")                    \
	X(dict_saved_bytes, "bytes dictionaries saved against the same level without one (cumulative)") \
	X(dict_trainings, "dictionaries trained")                           \
	X(dict_train_usec, "time the last training took, microseconds")     \
	X(shared_objects, "pool objects referenced by more than one page")  \
	X(shared_pages, "pages that reference a shared object")            \
	X(shared_saved_bytes, "pool bytes sharing saves: each shared object's bytes times its references but one") \
	X(shared_since, "references added by sharing, ever (copies, dedup)") \
	X(dedup_indexed, "stored objects in the dedup index")              \
	X(dedup_hits, "pages written that shared an object with the same bytes") \
	X(dedup_collisions, "index hits whose bytes differed (stored apart)") \
	X(idle_pages, "stored pages marked idle (idle all) and not read or written since") \
	X(backed_pages, "pages whose object is in the backing file (writeback)")

struct zsfs_store_stats {
#define ZSFS_STORE_STATS_FIELD(name, desc) size_t name;
	ZSFS_STORE_STATS(ZSFS_STORE_STATS_FIELD)
#undef ZSFS_STORE_STATS_FIELD
};
/* A snapshot of the counters.  They are atomics updated without a lock,
 * so the fields need not be mutually consistent while writes run. */
void zsfs_store_stats(struct zsfs_store *store, struct zsfs_store_stats *st);

/* --- files --- */

int zsfs_file_create(struct zsfs_file **filep);
/* Free every page of the file, at once, and the file.  NULL ok. */
void zsfs_file_destroy(struct zsfs_store *store, struct zsfs_file *file);
/*
 * A file struct kept in the caller's own allocation (the filesystem's
 * inode), which saves a malloc chunk and a pointer a file: its size (a
 * multiple of ZSFS_FILE_ALIGN, the alignment it needs), init (an empty
 * file) and fini (every page freed, the memory left to the caller), and
 * the heap its page table holds beyond the struct (tree nodes, as
 * malloc holds them; O(1)).
 */
#define ZSFS_FILE_ALIGN 8u
size_t zsfs_file_struct_size(void);
void zsfs_file_init(struct zsfs_file *file);
void zsfs_file_fini(struct zsfs_store *store, struct zsfs_file *file);
size_t zsfs_file_table_bytes(const struct zsfs_file *file);

/*
 * zsfs_file_read() - fill @buf with the bytes at [@off, @off + @len):
 * stored data, or zeros for holes and pages never written.  The caller
 * clamps to the file size.  Return: 0, -EIO for a page that fails to
 * decompress (a bug or corruption; reported, never returned as data).
 */
int zsfs_file_read(struct zsfs_store *store, const struct zsfs_file *file,
		   uint64_t off, size_t len, void *buf);

/*
 * zsfs_file_write() - store @len bytes at @off.  *@written is how many
 * bytes from the start are stored when it fails part way (always whole
 * pages or a prefix that did not need a new allocation); on failure nothing
 * stored before changes.  Return: 0, -ENOSPC (the pool is full even after
 * compacting once), -ENOMEM, -EFBIG (offset past the largest file, or a
 * 2^32nd page that is not a hole).
 */
int zsfs_file_write(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t off, size_t len, const void *buf, size_t *written);

/* Zero [@off, @off + @len): whole pages become holes and their memory is
 * freed at once; partial pages are zeroed in place.  Return: 0, -ENOSPC
 * (zeroing a partial page needed pool memory even after the whole pages
 * were freed to make room: those stay freed, the partial page keeps its
 * bytes; nothing changes when freeing was not needed). */
int zsfs_file_punch(struct zsfs_store *store, struct zsfs_file *file,
		    uint64_t off, uint64_t len);

/* Change the file's size from @old_size to @new_size: pages past the new
 * end are freed at once and the tail of a partial last page is zeroed, so
 * growing again reads zeros.  Return: 0; -EFBIG past ZSFS_MAX_FILE_SIZE;
 * -ENOSPC when zeroing the partial last page needed pool memory even
 * after the pages past the end were freed (they are; the page's tail
 * keeps its bytes, so the caller should keep the old size). */
int zsfs_file_truncate(struct zsfs_store *store, struct zsfs_file *file,
		       uint64_t old_size, uint64_t new_size);

/* SEEK_DATA / SEEK_HOLE from @off in a file of @size bytes.  Written
 * pages (same-filled included) are data; holes are holes.
 * Return: 0 and *@res, -ENXIO as lseek(2) says, -EINVAL for other whence. */
int zsfs_file_seek(const struct zsfs_file *file, uint64_t off, uint64_t size,
		   int whence, uint64_t *res);

/* Compress and store the dirty pages.  Return: 0, -ENOSPC (the dirty
 * pages stay, nothing is lost), -ENOMEM. */
int zsfs_file_flush(struct zsfs_store *store, struct zsfs_file *file);

/*
 * zsfs_file_copy() - copy [@soff, @soff + @len) of @src to @doff of @dst
 * (the same file is fine when the ranges do not overlap).  Whole aligned
 * pages share the source's stored objects (no copy, no recompress); a
 * later write to either side stores a new object for that side only.  The caller
 * holds @dst exclusive and @src at least shared.  Return as write.
 */
int zsfs_file_copy(struct zsfs_store *store, struct zsfs_file *dst,
		   uint64_t doff, const struct zsfs_file *src, uint64_t soff,
		   uint64_t len, size_t *copied);
/* The same, given both files' sizes (@src_size, @dst_size before the
 * copy): when the copy runs to the end of the source and the destination
 * ends no later than the copy, the partial last page is shared as well
 * (bytes past a file's end are zeros in its last page). */
int zsfs_file_copy_sized(struct zsfs_store *store, struct zsfs_file *dst,
			 uint64_t doff, uint64_t dst_size,
			 const struct zsfs_file *src, uint64_t soff,
			 uint64_t src_size, uint64_t len, size_t *copied);

struct zsfs_file_stats {
	size_t stored_bytes;     /* pool bytes of its pages: compressed sizes, 4096 raw;
				  * a shared object counts in full in every file */
	size_t shared_bytes;     /* of which in shared objects: 0 from
				  * zsfs_file_stats, see zsfs_file_shared_bytes */
	size_t pages_compressed;
	size_t pages_dict;       /* 0; see zsfs_file_dict_pages() */
	size_t pages_raw;
	size_t pages_same;
	size_t pages_dirty;
	uint64_t last_page_plus1; /* 1 + highest page index with data, 0 if none */
};
void zsfs_file_stats(const struct zsfs_file *file, struct zsfs_file_stats *st);

/* Heap bytes of the file's bookkeeping as malloc really holds them
 * (zsfs_malloc_size: usable size + chunk header): the file struct, which
 * holds the first pages' entries and the dirty set's list head, and its
 * page table's tree nodes.  Not the data: pool objects and dirty pages
 * are counted in the store's stats.  O(1).  For the filesystem's
 * meta_bytes. */
size_t zsfs_file_meta_bytes(const struct zsfs_file *file);

/* --- background recompression and dictionaries (recompress.c, dict.c) ---
 *
 * A stored page is "pending" from when it is stored until the background
 * recompression has been at it (recompress_pending counts them); that is
 * done by one thread at a time, the filesystem's settle thread, which
 * calls the functions below (the file ones with the file held as they
 * say), and nothing else calls them.
 */

/* Is background work on (recompress= or dict= not both off)? */
int zsfs_store_settle_on(const struct zsfs_store *store);
/* Call @fn(@arg) (cheap, any thread, possibly under an inode lock) when
 * a page goes pending after zsfs_store_settle_arm(); once per arm. */
void zsfs_store_set_work_hook(struct zsfs_store *store, void (*fn)(void *),
			      void *arg);
void zsfs_store_settle_arm(struct zsfs_store *store);
/* The file's pending pages.  Shared is enough. */
size_t zsfs_file_pending(const struct zsfs_file *file);
/*
 * zsfs_file_recompress() - settle up to @max_pages pending pages of
 * @file from page *@cursor on: recompress each at the target level,
 * without and (when there is one) with the current dictionary, and keep
 * the smallest object if it is smaller than the stored one.  Dirty pages
 * are not touched.  Caller holds the file exclusive.
 * Return 0 with *@cursor at the next page to look at (UINT64_MAX: the
 * end), *@settled the pages settled; -ENOMEM.
 */
int zsfs_file_recompress(struct zsfs_store *store, struct zsfs_file *file,
			 uint64_t *cursor, size_t max_pages, size_t *settled);
/* Make the file's settled pages that do not use the current dictionary
 * pending again (after a new dictionary).  Caller holds it exclusive. */
void zsfs_file_unsettle(struct zsfs_store *store, struct zsfs_file *file);
/* The file's compressed pages stored with a dictionary: a walk of its
 * table, O(pages) (user.zsfs.pages).  Shared is enough. */
size_t zsfs_file_dict_pages(const struct zsfs_file *file);
/* Free the recompression's codec state (nothing pending any more). */
void zsfs_store_settle_idle(struct zsfs_store *store);

/* Should a dictionary be trained now (dict=auto)?  0 no; else why. */
enum {
	ZSFS_DICT_NOT_DUE,
	ZSFS_DICT_FIRST,   /* none yet, and enough data */
	ZSFS_DICT_REGROWN, /* much more data than the current one saw */
	ZSFS_DICT_ASKED,   /* zsfs_store_dict_retrain() */
};
int zsfs_store_dict_due(struct zsfs_store *store);
/* Ask for a new dictionary (the retrain command); calls the hook. */
void zsfs_store_dict_retrain(struct zsfs_store *store);
/* Training: begin (a sample buffer sized to the store), sample each
 * file (held shared), then train and make the result current.
 * Return 0; -ENODATA (too little data or training failed: nothing
 * changes); -ENOSPC (too many dictionaries alive); -ENOMEM. */
int zsfs_store_dict_sample_begin(struct zsfs_store *store);
void zsfs_file_dict_sample(struct zsfs_store *store,
			   const struct zsfs_file *file);
int zsfs_store_dict_train(struct zsfs_store *store);
/* Make @size bytes at @content the current dictionary (tests; dict=PATH
 * goes through it).  Return 0, -EINVAL (not usable), -ENOSPC, -ENOMEM. */
int zsfs_store_dict_set(struct zsfs_store *store, const void *content,
			size_t size);
/* Drop the current dictionary: new pages get none; pages that use it
 * keep it alive until they are rewritten or recompressed. */
void zsfs_store_dict_drop(struct zsfs_store *store);

/* The pool's own invariant walk (zs_pool_check), for the filesystem's
 * check: call it on a quiet store.  Return 0 or -EUCLEAN + @msg. */
int zsfs_store_check(struct zsfs_store *store, char *msg, size_t msg_cap);

/*
 * The reference audit: between begin and end, every zsfs_file_check
 * counts the references of the file's objects; end compares them with
 * the shared objects' counts.  Return (end): 0; -EUCLEAN + @msg; -EAGAIN
 * (pages were released or shared during the walk: not conclusive);
 * -ENOMEM.
 */
int zsfs_store_audit_begin(struct zsfs_store *store);
int zsfs_store_audit_end(struct zsfs_store *store, char *msg, size_t msg_cap);

/* Bytes of the file's pool objects that are shared (referenced more than
 * once, by this file or others); a part of its stored_bytes.  Walks the
 * file's table: O(pages).  Shared lock is enough. */
size_t zsfs_file_shared_bytes(struct zsfs_store *store,
			      const struct zsfs_file *file);

/* --- idle pages and writeback (writeback.c, backing.h) --- */

/* Give the store the backing file (NULL: none), before any file holds a
 * page; the filesystem closes it after the last file is destroyed. */
void zsfs_store_set_backing(struct zsfs_store *store,
			    struct zsfs_backing *backing);

/* Mark every stored page of @file idle (zram's "idle all"); a read or
 * write of a page clears its mark.  Caller holds the file exclusive.
 * Return: the pages newly marked. */
size_t zsfs_file_idle(struct zsfs_store *store, struct zsfs_file *file);

/* Which pages writeback takes (zram's writeback types). */
enum zsfs_wb_type {
	ZSFS_WB_IDLE,           /* idle pages, compressed or raw */
	ZSFS_WB_HUGE,           /* pages stored raw */
	ZSFS_WB_HUGE_IDLE,      /* pages stored raw and idle */
	ZSFS_WB_INCOMPRESSIBLE, /* raw pages that recompression could not
				 * shrink either (raw and settled) */
};

/*
 * zsfs_file_writeback() - move up to @max_pages of @file's pages of
 * @type from the pool to the backing file: store their objects, flush,
 * and only then point the entries at the file and free the pool objects
 * (pages whose object is shared are skipped).  Caller holds the file
 * exclusive.
 * Return: 0 with *@done pages moved; -ENOSPC (the backing file is full or
 * a write failed), -EIO (the flush failed), -ENODEV (no backing file),
 * with *@done the pages moved before: every other page stays in RAM.
 */
int zsfs_file_writeback(struct zsfs_store *store, struct zsfs_file *file,
			enum zsfs_wb_type type, size_t max_pages, size_t *done);

/* Check the file's table against the pool.  Return 0 or -EUCLEAN + @msg. */
int zsfs_file_check(struct zsfs_store *store, const struct zsfs_file *file,
		    char *msg, size_t msg_cap);

#endif
