/*
 * backing.h - the backing file: where compressed objects go when RAM is
 * short (issue 16), packed densely, read back with pread.
 *
 * This module is the one owner of the backing file: it opens, locks and
 * sizes it, allocates room for objects in it, writes, reads and frees
 * them, gives freed blocks back to the disk, counts what it does, and
 * charges the memory of its slot map to the budget.  It knows nothing of
 * pages, entries or codecs: an object is bytes, a location is a number.
 *
 * The file
 *	backing=PATH names a regular file, created 0600 when missing, or
 *	reused when it is empty (size 0, or all hole as truncate -s leaves
 *	it) or was a zsfs backing file before (its first 4 KiB block holds a
 *	label saying so); anything else is refused, so a
 *	typo never destroys a user's file.  A reused file must belong to the
 *	mounting user and be closed to group and others.  Its old contents
 *	are dropped at open (truncated to 0, then to backing_size).  When
 *	PATH is a directory, the file is an unnamed O_TMPFILE in it: nobody
 *	can open it, and the disk gets its space back even when the daemon
 *	is killed.  A named file is locked with flock(LOCK_EX|LOCK_NB) so a
 *	second mount refuses it: flock locks belong to the open file
 *	description, so the lock survives the daemon's fork into the
 *	background (a POSIX fcntl lock would not: it belongs to the process
 *	that took it).  At close, a file the mount created is unlinked, a
 *	reused one is truncated back to its label and its size (sparse).
 *
 * Layout and allocator
 *	The file is an array of 64-byte slots; slot 0..63 (block 0) hold the
 *	label.  An object is an 8-byte header (length, magic, a 32-bit check
 *	of slot, length and payload, so a read of the wrong or damaged bytes
 *	is an EIO, never wrong data) and its payload, in consecutive slots;
 *	it may cross 4 KiB blocks.  Why 64 bytes: the waste per object is
 *	half a slot on average.  Compressed pages of text are about 1.5 KiB:
 *	64-byte slots waste about 2.5% of the disk, 512-byte slots 16%.  The
 *	price is RAM for the map, one bit per slot: 2 MiB per GiB of backing
 *	file (512-byte slots: 256 KiB), about 3 bytes per page written back,
 *	less than half the page-table entry that stays in RAM for it.
 *
 *	The map is a flat bitmap, one 64-bit word per 4 KiB block, so "this
 *	block is empty" is "its word is 0" (that is when it is punched:
 *	fallocate(PUNCH_HOLE|KEEP_SIZE), and st_blocks drops), plus a
 *	summary bitmap with one bit per full word, so a search skips full
 *	stretches 256 KiB at a time.  A bitmap and not a free-extent tree:
 *	its size is fixed and known at mount (charged to the budget at once,
 *	so backing_size= can be refused when size= cannot hold its map),
 *	it never allocates while writing back under memory pressure, and its
 *	worst case (every other slot free) costs what its best case does,
 *	where a tree would need a node per hole.  Allocation is next fit
 *	from the end of the last object: objects written back together lie
 *	together (one readahead serves a file read back in order), and holes
 *	are reused when the cursor wraps; a file that empties starts again
 *	at its front.  A search that finds no run after
 *	one full turn is ENOSPC (fragmentation can refuse a 4 KiB object
 *	while smaller runs are free; bd_full counts those refusals).
 *
 *	A location is (first slot << 13) | payload length, in 48 bits:
 *	ZSFS_BACKING_LOC_BITS, so the page-table entry can hold it with 16
 *	bits to spare; 35 bits of slot allow 2 TiB (ZSFS_BACKING_SIZE_MAX).
 *	0 is never a valid location.
 *
 * Failures
 *	zsfs_backing_store() returns -ENOSPC when the file has no room and
 *	also when the write fails (ENOSPC or EDQUOT from the filesystem
 *	under it, EIO, a short write): the caller keeps its in-RAM object,
 *	so nothing is lost, and a store that cannot go to disk is a store
 *	that has no room.  failed_writes counts the I/O failures, bd_full
 *	the refusals for room.  zsfs_backing_load() returns -EIO only when
 *	the read fails or reads bytes that do not check; failed_reads counts
 *	them.
 *
 * Design note: how writeback plugs into the page table (done as said
 * here, writeback.c, except where it says otherwise)
 *	- The entry (pagemap.h, 8 bytes) gets a kind BACKED whose payload is
 *	  the location (48 bits) and whose other bits keep what a decode
 *	  needs: the codec or "raw", and the dictionary id (the location's
 *	  length field is the compressed size, so compr_data_size and the
 *	  file's stats need no read).  In the 8-byte entry as the page-table
 *	  work lays it out (its branch at 990e9a0: kind in bits 0..2, IDLE 3,
 *	  AGE 4..7, SETTLED 8, OBJ 9, dictionary 10..15, 16..20 free, handle
 *	  21..63), BACKED (kind 5) keeps bits 0..15 as they are, with bit 9,
 *	  which only SAME uses, meaning "raw" for BACKED, and holds the
 *	  location in bits 16..63: exactly ZSFS_BACKING_LOC_BITS.  Same-filled and hole entries never go
 *	  to the file.  Shared objects (share.c) are written back once, when
 *	  the last reference is idle, or never; the simplest first step is
 *	  "never": writeback skips objects whose reference count is above 1.
 *	- Writeback of one page, under the file's lock: read the pool
 *	  object's bytes, zsfs_backing_store() them (outside the pool's
 *	  locks; the store does I/O), then swap the entry from POOL to
 *	  BACKED only if it still holds the same handle (a write in between
 *	  wins; the new location is then freed), and free the pool object.
 *	  -ENOSPC leaves the page in RAM: nothing to undo.  As built
 *	  (writeback.c) the file is held exclusive from the store to the
 *	  swap, batch by batch, so no write comes in between and no check
 *	  of the handle is needed; the I/O then blocks that file's readers.
 *	- Read of a BACKED page: zsfs_backing_load() into a 4 KiB (+ header)
 *	  per-thread buffer, decode as for a pool object.  -EIO from either
 *	  is that page's EIO (decompress_errors or failed_reads count it);
 *	  other pages of the read are unaffected.  Whether a page read back
 *	  moves back to RAM (zram does not: it reads the block each time) is
 *	  a policy: first step, it stays on disk until it is written.
 *	- Overwrite, punch, truncate and unlink of a BACKED page call
 *	  zsfs_backing_free() where they free a pool object today.
 *	- Idle (built: idle all; not built: idle AGE, no age is kept
 *	  yet): one bit in the entry, set by "idle all" (a walk of every
 *	  file, under each file's lock) and cleared by any read or write of
 *	  the page, in the path that already touches the entry, so the read
 *	  path gains no lock.  "idle AGE" needs an age: a few bits of a
 *	  coarse clock (minutes since mount, saturating) stamped at write,
 *	  or, if the entry has no room, a per-file last-access time used for
 *	  all its pages.
 *	- Page cache: stores go through the kernel's page cache, so the
 *	  bytes written back stay in RAM (the daemon's memory cgroup is
 *	  charged for them) until the kernel writes and drops them, and a
 *	  write-out error surfaces only later.  Writeback is therefore two
 *	  phases per batch: store the batch's objects, zsfs_backing_flush()
 *	  (fdatasync, then the range dropped from the cache), and only when
 *	  it returns 0 swap the entries to BACKED and free the pool objects;
 *	  on -EIO free the new locations and keep the pages in RAM.  So a
 *	  failing disk never loses a page that was in RAM.  O_DIRECT would
 *	  need block-aligned writes, which dense packing is not.
 *	- Ownership: the store should own the backing file (struct
 *	  zsfs_store_params.backing), since the store frees objects; today
 *	  the filesystem opens it (zsfs_fs_init) after the store, for the
 *	  budget, and closes it before the store.  When the store takes it,
 *	  close must come after every entry is freed and before the budget.
 *	- Writeback by itself: the compactor's poll (compactor.c), when the
 *	  pool is near size= or PSI rises, asks the store to write back idle
 *	  pages first, oldest first, up to a batch; the budget then sees the
 *	  pool shrink and the writer that hit the cap retries.
 *
 * Thread safety: every function may be called from any thread at once;
 * the caller must not load or free a location while freeing it elsewhere.
 * lock ordering: one mutex (the map's), a leaf; no I/O is done under it
 * (a block being punched is marked full while its lock is dropped).
 */
#ifndef ZSFS_BACKING_H
#define ZSFS_BACKING_H

#include <stddef.h>
#include <stdint.h>

struct zsfs_budget;

/* The unit of allocation in the file (see "Why 64 bytes" above). */
#define ZSFS_BACKING_SLOT 64u
/* The unit of the map's words and of punching: one page, the usual
 * filesystem block, so an empty word is a block the disk can have back. */
#define ZSFS_BACKING_BLOCK 4096u
/* Bytes in front of each object's payload: length, magic, check. */
#define ZSFS_BACKING_HDR 8u
/* The largest payload: a page stored raw. */
#define ZSFS_BACKING_OBJ_MAX 4096u
/* Location: (slot << ZSFS_BACKING_LEN_BITS) | length, in LOC_BITS bits. */
#define ZSFS_BACKING_LEN_BITS 13u
#define ZSFS_BACKING_LOC_BITS 48u
/* 2^35 slots of 64 bytes.  The map of that is 4 GiB: the budget decides
 * what a mount can really have. */
#define ZSFS_BACKING_SIZE_MAX \
	((UINT64_C(1) << (ZSFS_BACKING_LOC_BITS - ZSFS_BACKING_LEN_BITS)) * \
	 ZSFS_BACKING_SLOT)
/* The label block and at least 255 blocks of room. */
#define ZSFS_BACKING_SIZE_MIN (UINT64_C(1) << 20)

/* The counters: one list for the struct and the .zsctl text.  bd_count,
 * bd_reads, bd_writes are zram's bd_stat (pages: one object holds one
 * page of a file, in its compressed size); failed_reads, failed_writes
 * are io_stat's. */
#define ZSFS_BACKING_STATS(X)                                                \
	X(bd_count, "pages in the backing file now")                         \
	X(bd_reads, "pages read from the backing file")                      \
	X(bd_writes, "pages written to the backing file")                    \
	X(failed_reads, "reads of the backing file that failed (EIO)")       \
	X(failed_writes, "writes to the backing file that failed (ENOSPC)")  \
	X(bd_full, "stores refused because the backing file had no room")    \
	X(bd_used_bytes, "bytes its objects take in the file, headers and slot rounding included") \
	X(bd_size_bytes, "the backing file's size: backing_size=")           \
	X(bd_punched, "4 KiB blocks freed and given back to the disk")

struct zsfs_backing_stats {
#define ZSFS_BACKING_STATS_FIELD(name, desc) size_t name;
	ZSFS_BACKING_STATS(ZSFS_BACKING_STATS_FIELD)
#undef ZSFS_BACKING_STATS_FIELD
};

struct zsfs_backing;

struct zsfs_backing_params {
	/* A file (created 0600, or reused: see above) or a directory. */
	const char *path;
	/* Bytes, rounded down to 4 KiB; 0 = the reused file's size. */
	uint64_t size;
	/* Charged ZSFS_HOLD_BACKING for the map; NULL = not counted. */
	struct zsfs_budget *budget;
};

/*
 * zsfs_backing_open() - open, lock and size the backing file.
 * @err, @err_cap: on failure one line naming the path and the reason.
 * Return: 0 and *@bp; -EINVAL (no path, size out of range, not a regular
 * file or directory, a non-empty file that is not a backing file), -EBUSY
 * (another mount holds it), -EPERM (owned by another user, open to group
 * or others), -ENOSPC (size= cannot hold the map), -ENOMEM, or the
 * negative errno of open/ftruncate.  Nothing is left behind on failure.
 */
int zsfs_backing_open(const struct zsfs_backing_params *p,
		      struct zsfs_backing **bp, char *err, size_t err_cap);

/* Close, unlink or truncate (see above), uncharge.  NULL ok.  Every
 * location is invalid afterwards. */
void zsfs_backing_close(struct zsfs_backing *b);

/*
 * zsfs_backing_store() - write @len bytes (1..ZSFS_BACKING_OBJ_MAX) at
 * @obj to the file.
 * Return: 0 and *@locp; -EINVAL (@len out of range); -ENOSPC (no room,
 * or the write failed: see Failures); nothing is allocated on failure.
 */
int zsfs_backing_store(struct zsfs_backing *b, const void *obj, size_t len,
		       uint64_t *locp);

/*
 * zsfs_backing_load() - read the object at @loc into @dst.
 * Return: its length (what was stored); -EINVAL for a location this file
 * cannot hold or a payload longer than @dst_cap; -EIO when the read fails
 * or the bytes read do not check.
 */
int zsfs_backing_load(struct zsfs_backing *b, uint64_t loc, void *dst,
		      size_t dst_cap);

/*
 * zsfs_backing_free() - the object at @loc is no longer needed; its slots
 * are reused and blocks that become empty are punched.
 * Return: 0; -EINVAL when @loc is not a location of this file or its
 * slots are not all in use (a double free: nothing is changed).
 */
int zsfs_backing_free(struct zsfs_backing *b, uint64_t loc);

/*
 * zsfs_backing_flush() - write out what was stored since the last flush
 * and drop it from the kernel's page cache, so the RAM it took there is
 * given back.  A store is only in the page cache until then: a write-out
 * that fails later loses it, and this is where that is found.
 * Return: 0; -EIO when the write-out failed (counted in failed_writes):
 * the objects stored since the last successful flush may not read back,
 * and the caller that still holds their bytes should keep them.
 */
int zsfs_backing_flush(struct zsfs_backing *b);

/*
 * zsfs_backing_loc_check() - for the page table's check: is @loc a
 * location of this file whose slots are all in use?  No I/O.
 * Return: 0; -EINVAL (not a location of this file); -ENOENT (a slot of
 * it is free: the entry outlived its object).
 */
int zsfs_backing_loc_check(struct zsfs_backing *b, uint64_t loc);

/* The length of the object at @loc (no I/O). */
static inline size_t zsfs_backing_loc_len(uint64_t loc)
{
	return (size_t)(loc & ((UINT64_C(1) << ZSFS_BACKING_LEN_BITS) - 1));
}

void zsfs_backing_stats(struct zsfs_backing *b, struct zsfs_backing_stats *st);

/* Bytes of memory held (the map and the struct): what the budget holds
 * as ZSFS_HOLD_BACKING for it. */
size_t zsfs_backing_mem_bytes(const struct zsfs_backing *b);

/*
 * zsfs_backing_check() - the invariant walker: the summary matches the
 * map, the slots in use match the objects counted, no block is left
 * marked for punching.  Return: 0, or -EUCLEAN with @msg.
 */
int zsfs_backing_check(struct zsfs_backing *b, char *msg, size_t msg_cap);

/*
 * Test hook: the next @reads loads and @writes stores fail as if the disk
 * said EIO (counted as real failures).  Not for production use.
 */
void zsfs_backing_debug_fail(struct zsfs_backing *b, unsigned reads,
			     unsigned writes);
/* Test hook: the next @flushes flushes that have something to write out
 * fail as if fdatasync said EIO. */
void zsfs_backing_debug_fail_flush(struct zsfs_backing *b, unsigned flushes);

/* ---- backing_file.c, for backing.c only ---- */

/*
 * backing_file_open() - open (or create, or make unnamed) and lock the
 * file at @path, label it and size it to *@sizep (0 = its size), rounded
 * down to 4 KiB.  Return: 0, *@sizep, *@fdp and *@createdp (1 created, 0
 * reused, 2 unnamed); or a negative errno and @err.  Nothing is left
 * behind on failure.
 */
int backing_file_open(const char *path, uint64_t *sizep, int *fdp,
		      int *createdp, char *err, size_t err_cap);
/* Unlink (created), empty (reused) or just close (unnamed) the file. */
void backing_file_close(const char *path, int fd, int created,
			uint64_t size);

#endif
