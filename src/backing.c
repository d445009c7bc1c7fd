/*
 * backing.c - the backing file's allocator and I/O: a slot map, objects
 * stored with pwritev and loaded with preadv, freed blocks punched, and
 * the counters.  Opening the file is backing_file.c's.  The design (slot
 * size, the map, next fit, locations, failures) is in backing.h.
 *
 * lock ordering: b->lock alone, a leaf; never held across I/O.  A block
 * whose last object is freed is marked full in the map (so nobody
 * allocates in it), punched with the lock dropped, then marked free.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backing.h"
#include "budget.h"

#define SLOTS_PER_WORD 64u
#define SLOT_NONE UINT64_MAX
/* In each object's header: the bytes that say "an object starts here". */
#define OBJ_MAGIC 0x5a42u /* "BZ" */

_Static_assert(ZSFS_BACKING_BLOCK == SLOTS_PER_WORD * ZSFS_BACKING_SLOT,
	       "one map word is one block");
_Static_assert(ZSFS_BACKING_OBJ_MAX < (1u << ZSFS_BACKING_LEN_BITS),
	       "the length of the largest object fits its field");
/* The largest object takes 65 slots: it touches at most two map words,
 * so freeing one empties at most two blocks. */
_Static_assert((ZSFS_BACKING_OBJ_MAX + ZSFS_BACKING_HDR + ZSFS_BACKING_SLOT - 1) /
	       ZSFS_BACKING_SLOT <= SLOTS_PER_WORD + 1, "an object spans two words");

struct obj_hdr {
	uint16_t len;
	uint16_t magic;
	uint32_t check;
};
_Static_assert(sizeof(struct obj_hdr) == ZSFS_BACKING_HDR, "header size");

struct zsfs_backing {
	/* constant after open */
	char *path;
	int fd;
	int created;          /* backing_file_open()'s *createdp */
	uint64_t size;        /* bytes, a multiple of ZSFS_BACKING_BLOCK */
	uint64_t nslots;
	size_t nwords;        /* map words = blocks */
	size_t nfull;         /* summary words */
	struct zsfs_budget *budget;
	size_t mem_bytes;     /* charged as ZSFS_HOLD_BACKING */

	pthread_mutex_t lock;
	uint64_t *map;        /* protected by lock: bit set = slot in use */
	uint64_t *full;       /* protected by lock: bit set = map word ~0 */
	uint64_t cursor;      /* protected by lock: where next fit starts */
	size_t used_slots;    /* protected by lock: slots of live objects */
	size_t objects;       /* protected by lock: live objects (bd_count) */
	size_t punching;      /* protected by lock: blocks marked full while
			       * their punch runs */
	bool no_punch;        /* protected by lock: the filesystem cannot */
	/* protected by lock: the bytes stored since the last flush lie in
	 * [dirty_lo, dirty_hi); empty when lo >= hi */
	uint64_t dirty_lo, dirty_hi;

	_Atomic size_t bd_reads, bd_writes, failed_reads, failed_writes;
	_Atomic size_t bd_full, bd_punched;
	_Atomic unsigned debug_fail_reads, debug_fail_writes, debug_fail_flushes;
};

static size_t obj_slots(size_t len)
{
	return (len + ZSFS_BACKING_HDR + ZSFS_BACKING_SLOT - 1) / ZSFS_BACKING_SLOT;
}

/* A check of the payload, its place and its length, so bytes read from
 * the wrong place, or damaged, do not pass.  Not cryptographic: it guards
 * against accidents (a stale location, a bad disk), not against someone
 * who can write the file. */
static uint32_t obj_check(uint64_t slot, size_t len, const void *obj)
{
	const unsigned char *p = obj;
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^
		     (slot * UINT64_C(0x9e3779b97f4a7c15)) ^ len;
	uint64_t w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Decode @loc; -EINVAL when this file cannot hold it. */
static int loc_decode(const struct zsfs_backing *b, uint64_t loc,
		      uint64_t *slotp, size_t *lenp)
{
	uint64_t slot = loc >> ZSFS_BACKING_LEN_BITS;
	size_t len = zsfs_backing_loc_len(loc);

	if (!len || len > ZSFS_BACKING_OBJ_MAX || slot < SLOTS_PER_WORD ||
	    slot > b->nslots || obj_slots(len) > b->nslots - slot ||
	    loc >> ZSFS_BACKING_LOC_BITS)
		return -EINVAL;
	*slotp = slot;
	*lenp = len;
	return 0;
}

/* ---- the map (caller holds b->lock) ---- */

static void word_put(struct zsfs_backing *b, size_t w, uint64_t v)
{
	uint64_t bit = UINT64_C(1) << (w % 64);

	b->map[w] = v;
	if (v == UINT64_MAX)
		b->full[w / 64] |= bit;
	else
		b->full[w / 64] &= ~bit;
}

/* The bits of [p, p + n) that lie in word @w, as a mask. */
static uint64_t range_mask(uint64_t p, uint64_t n, size_t w)
{
	uint64_t lo = (uint64_t)w * SLOTS_PER_WORD, hi = lo + SLOTS_PER_WORD;
	uint64_t a = p > lo ? p : lo, e = p + n < hi ? p + n : hi;

	if (e - a == SLOTS_PER_WORD)
		return UINT64_MAX;
	return ((UINT64_C(1) << (e - a)) - 1) << (a - lo);
}

/* The first slot in use in [p, p + n), or p + n when all are free. */
static uint64_t range_first_used(const struct zsfs_backing *b, uint64_t p,
				 uint64_t n)
{
	for (size_t w = p / SLOTS_PER_WORD; w <= (p + n - 1) / SLOTS_PER_WORD; w++) {
		uint64_t used = b->map[w] & range_mask(p, n, w);

		if (used)
			return (uint64_t)w * SLOTS_PER_WORD +
			       (uint64_t)__builtin_ctzll(used);
	}
	return p + n;
}

static bool range_all_used(const struct zsfs_backing *b, uint64_t p,
			   uint64_t n)
{
	for (size_t w = p / SLOTS_PER_WORD; w <= (p + n - 1) / SLOTS_PER_WORD; w++) {
		uint64_t m = range_mask(p, n, w);

		if ((b->map[w] & m) != m)
			return false;
	}
	return true;
}

static void range_set(struct zsfs_backing *b, uint64_t p, uint64_t n)
{
	for (size_t w = p / SLOTS_PER_WORD; w <= (p + n - 1) / SLOTS_PER_WORD; w++)
		word_put(b, w, b->map[w] | range_mask(p, n, w));
}

/*
 * Clear [p, p + n).  Blocks it empties are marked full again and listed
 * in @empty (at most two, see the static assert) for the caller to punch
 * with the lock dropped; return how many.
 */
static unsigned range_clear(struct zsfs_backing *b, uint64_t p, uint64_t n,
			    size_t empty[2])
{
	unsigned ne = 0;

	for (size_t w = p / SLOTS_PER_WORD; w <= (p + n - 1) / SLOTS_PER_WORD; w++) {
		uint64_t v = b->map[w] & ~range_mask(p, n, w);

		if (!v && !b->no_punch && ne < 2) {
			v = UINT64_MAX;
			empty[ne++] = w;
			b->punching++;
		}
		word_put(b, w, v);
	}
	return ne;
}

/* The first run of @n free slots starting in [from, to - n]: next fit's
 * scan.  Full words are skipped one at a time, full stretches of 64
 * words through the summary. */
static uint64_t map_search(const struct zsfs_backing *b, uint64_t from,
			   uint64_t to, uint64_t n)
{
	uint64_t p = from;

	while (p + n <= to) {
		size_t w = p / SLOTS_PER_WORD;
		unsigned bit = p % SLOTS_PER_WORD;
		uint64_t word, u;

		if (bit == 0 && w % 64 == 0 && b->full[w / 64] == UINT64_MAX) {
			p += (uint64_t)SLOTS_PER_WORD * 64;
			continue;
		}
		word = b->map[w] | (bit ? (UINT64_C(1) << bit) - 1 : 0);
		if (word == UINT64_MAX) {
			p = (uint64_t)(w + 1) * SLOTS_PER_WORD;
			continue;
		}
		p = (uint64_t)w * SLOTS_PER_WORD + (uint64_t)__builtin_ctzll(~word);
		if (p + n > to)
			break;
		u = range_first_used(b, p, n);
		if (u == p + n)
			return p;
		p = u + 1;
	}
	return SLOT_NONE;
}

/* Punch the blocks @empty listed (lock not held), then free them. */
static void punch_blocks(struct zsfs_backing *b, const size_t *empty,
			 unsigned ne)
{
	int rc[2];

	for (unsigned i = 0; i < ne; i++) {
		rc[i] = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)empty[i] * ZSFS_BACKING_BLOCK,
				  ZSFS_BACKING_BLOCK) < 0 ? -errno : 0;
		if (rc[i] == 0)
			atomic_fetch_add(&b->bd_punched, 1);
	}
	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; i < ne; i++) {
		word_put(b, empty[i], 0);
		b->punching--;
		/* the filesystem cannot punch: stop asking, keep the blocks */
		if (rc[i] == -EOPNOTSUPP || rc[i] == -ENOSYS)
			b->no_punch = true;
	}
	pthread_mutex_unlock(&b->lock);
}

/* Give back the slots of an object that is gone (or was never written).
 * With @check, only when they are all in use: -EINVAL, nothing changed,
 * for a double free. */
static int slots_release(struct zsfs_backing *b, uint64_t slot, size_t n,
			 bool check)
{
	size_t empty[2];
	unsigned ne;

	pthread_mutex_lock(&b->lock);
	if (check && !(range_all_used(b, slot, n) && b->objects &&
		       b->used_slots >= n)) {
		pthread_mutex_unlock(&b->lock);
		return -EINVAL;
	}
	ne = range_clear(b, slot, n, empty);
	b->used_slots -= n;
	/* empty: start again at the front, the file packed from there */
	if (--b->objects == 0)
		b->cursor = SLOTS_PER_WORD;
	pthread_mutex_unlock(&b->lock);
	if (ne)
		punch_blocks(b, empty, ne);
	return 0;
}

/* Take one from a debug-failure counter; true when this op must fail. */
static bool debug_fail_take(_Atomic unsigned *left)
{
	unsigned v = atomic_load(left);

	while (v && !atomic_compare_exchange_weak(left, &v, v - 1))
		;
	return v != 0;
}

int zsfs_backing_store(struct zsfs_backing *b, const void *obj, size_t len,
		       uint64_t *locp)
{
	struct obj_hdr h;
	struct iovec iov[2];
	uint64_t slot;
	size_t n, done = 0, total = ZSFS_BACKING_HDR + len;
	int rc = 0;

	if (!len || len > ZSFS_BACKING_OBJ_MAX)
		return -EINVAL;
	n = obj_slots(len);
	pthread_mutex_lock(&b->lock);
	slot = map_search(b, b->cursor, b->nslots, n);
	if (slot == SLOT_NONE) {
		uint64_t to = b->cursor - 1 + n;

		slot = map_search(b, SLOTS_PER_WORD, to < b->nslots ? to : b->nslots, n);
	}
	if (slot == SLOT_NONE) {
		pthread_mutex_unlock(&b->lock);
		atomic_fetch_add(&b->bd_full, 1);
		return -ENOSPC;
	}
	range_set(b, slot, n);
	b->used_slots += n;
	b->objects++;
	b->cursor = slot + n < b->nslots ? slot + n : SLOTS_PER_WORD;
	pthread_mutex_unlock(&b->lock);

	h.len = (uint16_t)len;
	h.magic = OBJ_MAGIC;
	h.check = obj_check(slot, len, obj);
	if (debug_fail_take(&b->debug_fail_writes))
		rc = -EIO;
	while (!rc && done < total) {
		ssize_t w;

		/* the header, then the payload, from where the last write
		 * stopped (a short write is resumed, not restarted) */
		iov[0].iov_base = (char *)&h + (done < ZSFS_BACKING_HDR ? done : ZSFS_BACKING_HDR);
		iov[0].iov_len = done < ZSFS_BACKING_HDR ? ZSFS_BACKING_HDR - done : 0;
		iov[1].iov_base = (char *)obj + (done > ZSFS_BACKING_HDR ? done - ZSFS_BACKING_HDR : 0);
		iov[1].iov_len = len - (done > ZSFS_BACKING_HDR ? done - ZSFS_BACKING_HDR : 0);
		w = pwritev(b->fd, iov, 2, (off_t)(slot * ZSFS_BACKING_SLOT + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			done += (size_t)w;
	}
	if (rc) {
		atomic_fetch_add(&b->failed_writes, 1);
		slots_release(b, slot, n, false);
		return -ENOSPC;
	}
	atomic_fetch_add(&b->bd_writes, 1);
	pthread_mutex_lock(&b->lock);
	if (b->dirty_lo >= b->dirty_hi) {
		b->dirty_lo = slot * ZSFS_BACKING_SLOT;
		b->dirty_hi = b->dirty_lo + total;
	} else {
		if (slot * ZSFS_BACKING_SLOT < b->dirty_lo)
			b->dirty_lo = slot * ZSFS_BACKING_SLOT;
		if (slot * ZSFS_BACKING_SLOT + total > b->dirty_hi)
			b->dirty_hi = slot * ZSFS_BACKING_SLOT + total;
	}
	pthread_mutex_unlock(&b->lock);
	*locp = slot << ZSFS_BACKING_LEN_BITS | len;
	return 0;
}

int zsfs_backing_flush(struct zsfs_backing *b)
{
	uint64_t lo, hi;

	pthread_mutex_lock(&b->lock);
	lo = b->dirty_lo;
	hi = b->dirty_hi;
	b->dirty_lo = b->dirty_hi = 0;
	pthread_mutex_unlock(&b->lock);
	if (lo >= hi)
		return 0;
	/*
	 * fdatasync, not sync_file_range: it reports a write-out error that
	 * happened since the last call whichever range it hit, and it also
	 * writes the block allocations of the sparse file, so the pages can
	 * really be dropped.
	 */
	if (debug_fail_take(&b->debug_fail_flushes) || fdatasync(b->fd) < 0) {
		atomic_fetch_add(&b->failed_writes, 1);
		return -EIO;
	}
	lo -= lo % ZSFS_BACKING_BLOCK;
	(void)posix_fadvise(b->fd, (off_t)lo, (off_t)(hi - lo), POSIX_FADV_DONTNEED);
	return 0;
}

int zsfs_backing_load(struct zsfs_backing *b, uint64_t loc, void *dst,
		      size_t dst_cap)
{
	struct obj_hdr h;
	struct iovec iov[2];
	uint64_t slot;
	size_t len;
	ssize_t r;

	if (loc_decode(b, loc, &slot, &len) < 0 || len > dst_cap)
		return -EINVAL;
	if (debug_fail_take(&b->debug_fail_reads))
		goto eio;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = dst;
	iov[1].iov_len = len;
	do
		r = preadv(b->fd, iov, 2, (off_t)(slot * ZSFS_BACKING_SLOT));
	while (r < 0 && errno == EINTR);
	/* a short read of a regular file is its end: the object is not there */
	if (r != (ssize_t)(sizeof(h) + len) || h.len != len ||
	    h.magic != OBJ_MAGIC || h.check != obj_check(slot, len, dst))
		goto eio;
	atomic_fetch_add(&b->bd_reads, 1);
	return (int)len;
eio:
	atomic_fetch_add(&b->failed_reads, 1);
	return -EIO;
}

int zsfs_backing_free(struct zsfs_backing *b, uint64_t loc)
{
	uint64_t slot;
	size_t len;

	if (loc_decode(b, loc, &slot, &len) < 0)
		return -EINVAL;
	return slots_release(b, slot, obj_slots(len), true);
}

int zsfs_backing_loc_check(struct zsfs_backing *b, uint64_t loc)
{
	uint64_t slot;
	size_t len;
	bool used;

	if (loc_decode(b, loc, &slot, &len) < 0)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	used = range_all_used(b, slot, obj_slots(len));
	pthread_mutex_unlock(&b->lock);
	return used ? 0 : -ENOENT;
}

int zsfs_backing_open(const struct zsfs_backing_params *p,
		      struct zsfs_backing **bp, char *err, size_t err_cap)
{
	struct zsfs_backing *b;
	uint64_t size = p->size;
	int fd, created, rc;
	size_t words, fulls, mem;

	if (err_cap)
		err[0] = '\0';
	rc = backing_file_open(p->path, &size, &fd, &created, err, err_cap);
	if (rc < 0)
		return rc;
	words = (size_t)(size / ZSFS_BACKING_BLOCK);
	fulls = (words + 63) / 64;
	mem = sizeof(*b) + strlen(p->path) + 1 + (words + fulls) * sizeof(uint64_t);
	if (p->budget && zsfs_budget_charge(p->budget, ZSFS_HOLD_BACKING, mem) < 0) {
		snprintf(err, err_cap,
			 "backing_size=%llu: its slot map needs %zu bytes of memory, more than size= leaves",
			 (unsigned long long)size, mem);
		rc = -ENOSPC;
		goto fail_file;
	}
	rc = -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto fail_charge;
	b->path = strdup(p->path);
	b->map = calloc(words, sizeof(uint64_t));
	b->full = calloc(fulls, sizeof(uint64_t));
	if (!b->path || !b->map || !b->full)
		goto fail_mem;
	b->fd = fd;
	b->created = created;
	b->size = size;
	b->nwords = words;
	b->nfull = fulls;
	b->nslots = (uint64_t)words * SLOTS_PER_WORD;
	b->budget = p->budget;
	b->mem_bytes = mem;
	pthread_mutex_init(&b->lock, NULL);
	word_put(b, 0, UINT64_MAX); /* the label */
	b->cursor = SLOTS_PER_WORD;
	*bp = b;
	return 0;
fail_mem:
	free(b->full);
	free(b->map);
	free(b->path);
	free(b);
	snprintf(err, err_cap, "backing=%s: out of memory for its slot map", p->path);
fail_charge:
	if (p->budget)
		zsfs_budget_sub(p->budget, ZSFS_HOLD_BACKING, mem);
fail_file:
	backing_file_close(p->path, fd, created, size);
	return rc;
}

void zsfs_backing_close(struct zsfs_backing *b)
{
	if (!b)
		return;
	backing_file_close(b->path, b->fd, b->created, b->size);
	if (b->budget)
		zsfs_budget_sub(b->budget, ZSFS_HOLD_BACKING, b->mem_bytes);
	pthread_mutex_destroy(&b->lock);
	free(b->full);
	free(b->map);
	free(b->path);
	free(b);
}

void zsfs_backing_stats(struct zsfs_backing *b, struct zsfs_backing_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	st->bd_count = b->objects;
	st->bd_used_bytes = b->used_slots * ZSFS_BACKING_SLOT;
	pthread_mutex_unlock(&b->lock);
	st->bd_reads = atomic_load(&b->bd_reads);
	st->bd_writes = atomic_load(&b->bd_writes);
	st->failed_reads = atomic_load(&b->failed_reads);
	st->failed_writes = atomic_load(&b->failed_writes);
	st->bd_full = atomic_load(&b->bd_full);
	st->bd_size_bytes = (size_t)b->size;
	st->bd_punched = atomic_load(&b->bd_punched);
}

size_t zsfs_backing_mem_bytes(const struct zsfs_backing *b)
{
	return b ? b->mem_bytes : 0;
}

int zsfs_backing_check(struct zsfs_backing *b, char *msg, size_t msg_cap)
{
	size_t used = 0, punching;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	punching = b->punching;
	for (size_t w = 0; w < b->nwords && !rc; w++) {
		bool full = b->full[w / 64] >> (w % 64) & 1;

		if (full != (b->map[w] == UINT64_MAX)) {
			snprintf(msg, msg_cap, "backing: summary bit of block %zu is %d, its word %016llx",
				 w, full, (unsigned long long)b->map[w]);
			rc = -EUCLEAN;
		}
		if (w)
			used += (size_t)__builtin_popcountll(b->map[w]);
	}
	if (!rc && b->map[0] != UINT64_MAX) {
		snprintf(msg, msg_cap, "backing: the label block is not reserved");
		rc = -EUCLEAN;
	}
	/* blocks being punched are marked full but hold nothing */
	if (!rc && used != b->used_slots + punching * SLOTS_PER_WORD) {
		snprintf(msg, msg_cap, "backing: %zu slots marked, %zu in use, %zu blocks punching",
			 used, b->used_slots, punching);
		rc = -EUCLEAN;
	}
	if (!rc && (b->objects > b->used_slots ||
		    b->used_slots > b->objects * obj_slots(ZSFS_BACKING_OBJ_MAX))) {
		snprintf(msg, msg_cap, "backing: %zu objects in %zu slots",
			 b->objects, b->used_slots);
		rc = -EUCLEAN;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void zsfs_backing_debug_fail(struct zsfs_backing *b, unsigned reads,
			     unsigned writes)
{
	atomic_store(&b->debug_fail_reads, reads);
	atomic_store(&b->debug_fail_writes, writes);
}

void zsfs_backing_debug_fail_flush(struct zsfs_backing *b, unsigned flushes)
{
	atomic_store(&b->debug_fail_flushes, flushes);
}
