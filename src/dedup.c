/*
 * dedup.c - content deduplication on write: an index from a page's
 * content hash to the pool object that holds that content, so a page
 * whose bytes are already stored shares the object (share.c) instead of
 * storing another.
 *
 * page_encode() (pagecodec.c) asks dedup_find() before it compresses a
 * page that is not same-filled; on a miss it stores the page and adds
 * the new object with dedup_add().  A candidate is never trusted on its
 * hash alone: dedup_find() takes a reference on it under the index lock
 * (so it cannot be freed), decodes it outside the lock and compares all
 * 4096 bytes; on a difference (a collision) the reference goes again and
 * the page is stored as a new object.  A hash collision can therefore
 * never mix data between files; store->dedup_bits (a test hook) cuts
 * the hash to a few bits to force collisions.
 *
 * Objects leave the index when their last reference goes: entry.c
 * releases every object through obj_put(), which, with dedup on, drops
 * the reference and removes the object from the index under the index
 * lock, so a lookup never finds a freed handle.  Objects the background
 * recompression replaces are not indexed again (the new object is not
 * found by later writes; the old one leaves the index when freed).
 *
 * The index: two open-addressing tables (linear probing, backward-shift
 * deletion, grown at 3/4 full): by hash (24-byte slots: hash, handle,
 * the entry's length word and kind; several objects may have one hash)
 * and by handle (16-byte slots: handle, hash), for removal.  40 bytes a
 * slot pair; at the tables' load of 3/8..3/4 that is 53-107 bytes per
 * indexed object, charged to the budget as ZSFS_HOLD_DEDUP.  When the
 * index cannot grow (size= or malloc), pages are stored unindexed.
 *
 * The hash: XXH3-64 of libxxhash when configure found it; without it
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

#ifdef HAVE_XXHASH
#include <xxhash.h>
#endif

#include "store_internal.h"

#define DEDUP_MIN_CAP 256u

static size_t home(uint64_t key, size_t cap)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
	       (cap - 1);
}

/* ---- by handle --------------------------------------------------------- */

static struct dedup_hslot *h_find(struct store_dedup *dd, zs_handle h)
{
	size_t i;

	if (!dd->hcap)
		return NULL;
	for (i = home(h, dd->hcap);; i = (i + 1) & (dd->hcap - 1)) {
		if (dd->byh[i].h == h)
			return &dd->byh[i];
		if (!dd->byh[i].h)
			return NULL;
	}
}

static void h_insert(struct dedup_hslot *tab, size_t cap, zs_handle h,
		     uint64_t hash)
{
	size_t i = home(h, cap);

	while (tab[i].h)
		i = (i + 1) & (cap - 1);
	tab[i].h = h;
	tab[i].hash = hash;
}

/* ---- by hash ----------------------------------------------------------- */

static void x_insert(struct dedup_xslot *tab, size_t cap,
		     const struct dedup_xslot *x)
{
	size_t i = home(x->hash, cap);

	while (tab[i].h)
		i = (i + 1) & (cap - 1);
	tab[i] = *x;
}

/* Delete slot @i of a table of @cap slots of @size bytes whose key is
 * given by @key (backward shift). */
#define TAB_DELETE(tab, cap, i0, keyfn)                                       \
	do {                                                                  \
		size_t i_ = (i0), j_ = i_;                                    \
		for (;;) {                                                    \
			size_t k_;                                            \
			j_ = (j_ + 1) & ((cap) - 1);                          \
			if (!(tab)[j_].h)                                     \
				break;                                        \
			k_ = home(keyfn((tab)[j_]), (cap));                   \
			if ((j_ > i_ && (k_ <= i_ || k_ > j_)) ||             \
			    (j_ < i_ && k_ <= i_ && k_ > j_)) {               \
				(tab)[i_] = (tab)[j_];                        \
				i_ = j_;                                      \
			}                                                     \
		}                                                             \
		(tab)[i_].h = 0;                                              \
	} while (0)
#define KEY_H(s) ((s).h)
#define KEY_X(s) ((s).hash)

/* Room for one more object in both tables.  Return 0, -ENOSPC, -ENOMEM. */
static int grow(struct zsfs_store *store)
{
	struct store_dedup *dd = &store->dedup;
	struct dedup_hslot *nh;
	struct dedup_xslot *nx;
	size_t ncap, more, i;
	int rc;

	if ((dd->used + 1) * 4 <= dd->hcap * 3)
		return 0;
	ncap = dd->hcap ? dd->hcap * 2 : DEDUP_MIN_CAP;
	more = (ncap - dd->hcap) * (sizeof(*nh) + sizeof(*nx));
	rc = zsfs_budget_charge(store->budget, ZSFS_HOLD_DEDUP, more);
	if (rc)
		return rc;
	nh = calloc(ncap, sizeof(*nh));
	nx = calloc(ncap, sizeof(*nx));
	if (!nh || !nx) {
		free(nh);
		free(nx);
		zsfs_budget_sub(store->budget, ZSFS_HOLD_DEDUP, more);
		return -ENOMEM;
	}
	for (i = 0; i < dd->hcap; i++) {
		if (dd->byh[i].h)
			h_insert(nh, ncap, dd->byh[i].h, dd->byh[i].hash);
		if (dd->byx[i].h)
			x_insert(nx, ncap, &dd->byx[i]);
	}
	free(dd->byh);
	free(dd->byx);
	dd->byh = nh;
	dd->byx = nx;
	dd->hcap = ncap;
	return 0;
}

/* Remove @h (indexed under @hash) from both tables.  dedup.lock held. */
static void index_remove(struct zsfs_store *store, struct dedup_hslot *hs)
{
	struct store_dedup *dd = &store->dedup;
	uint64_t hash = hs->hash;
	zs_handle h = hs->h;
	size_t i;

	TAB_DELETE(dd->byh, dd->hcap, (size_t)(hs - dd->byh), KEY_H);
	for (i = home(hash, dd->hcap); dd->byx[i].h;
	     i = (i + 1) & (dd->hcap - 1)) {
		if (dd->byx[i].h == h) {
			TAB_DELETE(dd->byx, dd->hcap, i, KEY_X);
			break;
		}
	}
	dd->used--;
	CNT_SUB(store, dedup_indexed, 1);
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
	store->dedup.on = on;
	store->dedup.bits = bits && bits < 64 ? bits : 64;
	return -pthread_mutex_init(&store->dedup.lock, NULL);
}

void dedup_fini(struct zsfs_store *store)
{
	struct store_dedup *dd = &store->dedup;

	zsfs_budget_sub(store->budget, ZSFS_HOLD_DEDUP,
			dd->hcap * (sizeof(*dd->byh) + sizeof(*dd->byx)));
	free(dd->byh);
	free(dd->byx);
	pthread_mutex_destroy(&dd->lock);
}

uint64_t dedup_hash(const struct zsfs_store *store, const void *data)
{
	uint64_t x = 0;

#ifdef HAVE_XXHASH
	x = XXH3_64bits(data, ZSFS_PAGE_SIZE);
#else
	(void)data;
#endif
	if (store->dedup.bits < 64)
		x &= (UINT64_C(1) << store->dedup.bits) - 1;
	return x;
}

bool obj_put(struct zsfs_store *store, zs_handle h)
{
	struct store_dedup *dd = &store->dedup;
	struct dedup_hslot *hs;
	bool last;

	if (!dd->on)
		return share_put(store, h);
	pthread_mutex_lock(&dd->lock);
	last = share_put(store, h);
	if (last && (hs = h_find(dd, h)))
		index_remove(store, hs);
	pthread_mutex_unlock(&dd->lock);
	return last;
}

int dedup_find(struct zsfs_store *store, uint64_t hash, const void *data,
	       struct zsfs_pentry *ne)
{
	struct store_dedup *dd = &store->dedup;
	unsigned char page[ZSFS_PAGE_SIZE];
	struct zsfs_pentry cand;
	size_t i, skip = 0, seen;

	for (;;) {
		memset(&cand, 0, sizeof(cand));
		seen = 0;
		pthread_mutex_lock(&dd->lock);
		for (i = dd->hcap ? home(hash, dd->hcap) : 0;
		     dd->hcap && dd->byx[i].h; i = (i + 1) & (dd->hcap - 1)) {
			if (dd->byx[i].hash != hash || seen++ < skip)
				continue;
			cand.kind = dd->byx[i].kind;
			cand.len = dd->byx[i].len;
			cand.val = dd->byx[i].h;
			break;
		}
		/* A reference keeps it from being freed while we look. */
		if (cand.val &&
		    share_get(store, cand.val, cand.kind == ZSFS_PK_COMP ?
			      zsfs_pentry_bytes(&cand) : ZSFS_PAGE_SIZE))
			cand.val = 0;
		pthread_mutex_unlock(&dd->lock);
		if (!cand.val)
			return -ENOENT;
		if (page_load(store, &cand, page) == 0 &&
		    memcmp(page, data, ZSFS_PAGE_SIZE) == 0) {
			*ne = cand;
			CNT_ADD(store, dedup_hits, 1);
			return 0;
		}
		/* The same hash, other bytes: try the next one. */
		CNT_ADD(store, dedup_collisions, 1);
		if (obj_put(store, cand.val))
			zs_free(store->pool, cand.val);
		if (++skip > 8)
			return -ENOENT;
	}
}

void dedup_add(struct zsfs_store *store, uint64_t hash,
	       const struct zsfs_pentry *ne)
{
	struct store_dedup *dd = &store->dedup;
	struct dedup_xslot x = { .hash = hash, .h = ne->val,
				 .len = ne->len & ~ZSFS_PLEN_SETTLED,
				 .kind = ne->kind };

	pthread_mutex_lock(&dd->lock);
	if (grow(store) == 0) {
		h_insert(dd->byh, dd->hcap, ne->val, hash);
		x_insert(dd->byx, dd->hcap, &x);
		dd->used++;
		CNT_ADD(store, dedup_indexed, 1);
	}
	pthread_mutex_unlock(&dd->lock);
}
