/*
 * dedup.c - content deduplication on write: an index from a page's
 * content hash to the pool object that holds that content, so a page
 * whose bytes are already stored shares the object (share.c) instead of
 * storing another.
 *
 * page_encode() (pagecodec.c) compresses a page that is not same-filled
 * and asks dedup_find() for an object holding exactly the same stored
 * bytes: the compressed bytes, or the 4096 raw ones of a page that did
 * not compress.  Hashing the compressed bytes (about half a page) rather
 * than the page halves the hash's cost, and comparing stored bytes needs
 * no decode: the codec is deterministic for one level, and equal bytes
 * of one kind, without a dictionary, decode to equal pages.  On a miss
 * the page is stored and the new object added with dedup_add().  A
 * candidate is never trusted on its hash alone: dedup_find() takes a
 * reference on it under the index lock (so it cannot be freed), reads
 * it outside the lock and compares every byte; on a difference (a
 * collision) the reference goes again and the page is stored as a new
 * object.  A hash collision can therefore
 * never mix data between files; store->dedup_bits (a test hook) cuts
 * the hash to a few bits to force collisions.
 *
 * Objects leave the index when their last reference goes: entry.c
 * releases every object through obj_put(), which, with dedup on, drops
 * the reference and, if it was the last, reads the object, hashes it
 * again to find its slot and removes it, all under the index lock, so a
 * lookup never finds a freed handle.  (A table by handle would spare
 * that read and hash on a free, at 16 more bytes a slot and one more
 * insert on every write.)  Objects the background
 * recompression replaces are not indexed again (the new object is not
 * found by later writes; the old one leaves the index when freed).
 *
 * The index: one open-addressing table by hash (linear probing,
 * backward-shift deletion, grown at 1/2 full; several objects may have
 * one hash), 16-byte slots: the hash and the object's entry (pagemap.h:
 * its kind and handle, which carries the length).  Most lookups miss (a
 * page not stored yet), and a miss in linear probing reads about
 * (1 + 1/(1-a)^2)/2 slots at load a: 8.5 at 3/4, 2.5 at 1/2, so the
 * table is kept between 1/4 and 1/2 full: 32-64 bytes per indexed
 * object, charged to the budget as ZSFS_HOLD_DEDUP.  When the index
 * cannot grow (size= or malloc), pages are stored unindexed.
 *
 * The hash: XXH3-64 of libxxhash when configure found it (dedup_hash.c:
 * compiled inline for AVX2 where the CPU has it); without it
 * dedup= is refused at mount (zsfs_store_create) and only the sharing of
 * copy_file_range is left.
 *
 * lock ordering: store->dedup.lock -> store->share.lock (share_get and
 * share_put under it); no pool or codec call under it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define DEDUP_MIN_CAP 256u

/* dedup_hash() returns keys of 50 bits at most (the test hook makes them
 * shorter to force collisions). */
#define KEY_BITS 50
#define KEY_MASK ((UINT64_C(1) << KEY_BITS) - 1)

static size_t home(uint64_t key, size_t cap)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
	       (cap - 1);
}

/* ---- by hash ----------------------------------------------------------- */

static void x_insert(struct dedup_xslot *tab, size_t cap,
		     const struct dedup_xslot *x)
{
	size_t i = home(x->hash, cap);

	while (tab[i].e.w)
		i = (i + 1) & (cap - 1);
	tab[i] = *x;
}

/* Delete slot @i (backward shift: no tombstones). */
static void x_delete(struct dedup_xslot *tab, size_t cap, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & (cap - 1);
		if (!tab[j].e.w)
			break;
		k = home(tab[j].hash, cap);
		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			tab[i] = tab[j];
			i = j;
		}
	}
	tab[i].e.w = 0;
}

/* Room for one more object.  Return 0, -ENOSPC, -ENOMEM. */
static int grow(struct zsfs_store *store)
{
	struct store_dedup *dd = &store->dedup;
	struct dedup_xslot *nx;
	size_t ncap, more, i;
	int rc;

	if ((dd->used + 1) * 2 <= dd->hcap)
		return 0;
	ncap = dd->hcap ? dd->hcap * 2 : DEDUP_MIN_CAP;
	more = (ncap - dd->hcap) * sizeof(*nx);
	rc = zsfs_budget_charge(store->budget, ZSFS_HOLD_DEDUP, more);
	if (rc)
		return rc;
	nx = calloc(ncap, sizeof(*nx));
	if (!nx) {
		zsfs_budget_sub(store->budget, ZSFS_HOLD_DEDUP, more);
		return -ENOMEM;
	}
	for (i = 0; i < dd->hcap; i++)
		if (dd->byx[i].e.w)
			x_insert(nx, ncap, &dd->byx[i]);
	free(dd->byx);
	dd->byx = nx;
	dd->hcap = ncap;
	return 0;
}

/* Take the object of @e, whose last reference just went, out of the
 * index if it is there: its stored bytes give its key.  dedup.lock
 * held; the object is still allocated. */
static void index_remove(struct zsfs_store *store,
			 const struct zsfs_pentry *e)
{
	struct store_dedup *dd = &store->dedup;
	unsigned char obj[ZSFS_PAGE_SIZE];
	zs_handle h = zsfs_pentry_handle(e);
	size_t len, i;
	uint64_t hash;

	/* Only COMP and RAW objects without a dictionary are indexed. */
	if (!dd->used || zsfs_pentry_dict(e) ||
	    zsfs_pentry_kind(e) == ZSFS_PK_SAME)
		return;
	len = entry_bytes(store, e);
	zs_read(store->pool, h, obj, len);
	hash = dedup_hash(store, obj, len);
	for (i = home(hash, dd->hcap); dd->byx[i].e.w;
	     i = (i + 1) & (dd->hcap - 1)) {
		if (zsfs_pentry_handle(&dd->byx[i].e) == h) {
			x_delete(dd->byx, dd->hcap, i);
			dd->used--;
			CNT_SUB(store, dedup_indexed, 1);
			return;
		}
	}
}

/* ---- the store's side --------------------------------------------------- */

int dedup_init(struct zsfs_store *store, bool on, unsigned bits, char *err,
	       size_t err_cap)
{
#ifndef HAVE_XXHASH
	if (on) {
		if (err && err_cap)
			snprintf(err, err_cap,
				 "dedup=on: built without libxxhash");
		return -EINVAL;
	}
#endif
	dedup_hash_init();
	store->dedup.on = on;
	store->dedup.bits = bits && bits < 64 ? bits : 64;
	return -pthread_mutex_init(&store->dedup.lock, NULL);
}

void dedup_fini(struct zsfs_store *store)
{
	struct store_dedup *dd = &store->dedup;

	zsfs_budget_sub(store->budget, ZSFS_HOLD_DEDUP,
			dd->hcap * sizeof(*dd->byx));
	free(dd->byx);
	pthread_mutex_destroy(&dd->lock);
}

uint64_t dedup_hash(const struct zsfs_store *store, const void *p,
		    size_t len)
{
	uint64_t x = dedup_hash_bytes(p, len) & KEY_MASK;

	if (store->dedup.bits < 64)
		x &= (UINT64_C(1) << store->dedup.bits) - 1;
	return x;
}

bool obj_put(struct zsfs_store *store, const struct zsfs_pentry *e)
{
	struct store_dedup *dd = &store->dedup;
	bool last;

	if (!dd->on)
		return share_put(store, zsfs_pentry_handle(e));
	pthread_mutex_lock(&dd->lock);
	last = share_put(store, zsfs_pentry_handle(e));
	if (last)
		index_remove(store, e);
	pthread_mutex_unlock(&dd->lock);
	return last;
}

int dedup_find(struct zsfs_store *store, uint64_t hash, enum zsfs_pkind kind,
	       const void *obj, size_t len, struct zsfs_pentry *ne)
{
	struct store_dedup *dd = &store->dedup;
	unsigned char have[ZSFS_PAGE_SIZE];
	struct zsfs_pentry cand;
	size_t i, skip = 0, seen;
	zs_handle h;

	for (;;) {
		memset(&cand, 0, sizeof(cand));
		seen = 0;
		pthread_mutex_lock(&dd->lock);
		for (i = dd->hcap ? home(hash, dd->hcap) : 0;
		     dd->hcap && dd->byx[i].e.w; i = (i + 1) & (dd->hcap - 1)) {
			if (dd->byx[i].hash != hash || seen++ < skip)
				continue;
			cand = dd->byx[i].e;
			break;
		}
		/* A reference keeps it from being freed while we look. */
		h = zsfs_pentry_handle(&cand);
		if (h && share_get(store, h, entry_bytes(store, &cand)))
			h = 0;
		pthread_mutex_unlock(&dd->lock);
		if (!h)
			return -ENOENT;
		/* The same kind, length and bytes (no dictionary: indexed
		 * objects have none) decode to the same page. */
		if (zsfs_pentry_kind(&cand) == kind &&
		    entry_bytes(store, &cand) == len &&
		    !zsfs_pentry_dict(&cand)) {
			zs_read(store->pool, h, have, len);
			if (memcmp(have, obj, len) == 0) {
				*ne = cand;
				CNT_ADD(store, dedup_hits, 1);
				return 0;
			}
		}
		/* The same hash, other bytes: try the next one. */
		CNT_ADD(store, dedup_collisions, 1);
		if (obj_put(store, &cand))
			zs_free(store->pool, h);
		if (++skip > 8)
			return -ENOENT;
	}
}

void dedup_add(struct zsfs_store *store, uint64_t hash,
	       const struct zsfs_pentry *ne)
{
	struct store_dedup *dd = &store->dedup;
	struct dedup_xslot x = { .hash = hash, .e = *ne };

	x.e.w &= ~ZSFS_PE_SETTLED;
	pthread_mutex_lock(&dd->lock);
	if (grow(store) == 0) {
		x_insert(dd->byx, dd->hcap, &x);
		dd->used++;
		CNT_ADD(store, dedup_indexed, 1);
	}
	pthread_mutex_unlock(&dd->lock);
}
