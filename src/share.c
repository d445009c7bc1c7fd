/*
 * share.c - shared pool objects: reference counts for objects that back
 * more than one page (of one file or of several).
 *
 * An entry (entry.c) that owns a pool object (COMP or RAW, or a SAME
 * entry whose word is out of line) holds one reference on it.  Most objects have exactly one, and those cost nothing
 * here: the table below holds only the objects with two references or
 * more, as handle -> (references, object bytes).  share_get() adds a
 * reference (copy_file_range sharing a page, zsfs_file_copy in range.c);
 * share_put() drops one and tells the caller when it was the last, so
 * the caller frees the object.  When no object is shared, share_put()
 * reads one atomic and takes no lock.
 *
 * Nothing ever writes into a stored object: a write to a page stores a
 * new object and releases the old entry (slot_replace), so a write to a
 * shared page is a copy on write by construction, and a write that finds
 * the pool full fails before it touches the shared object.  Compaction
 * moves objects by handle, so the table survives it.  The background
 * recompression (recompress.c) leaves shared objects as they are.
 *
 * The table: open addressing, linear probing, deletion by backward
 * shift (no tombstones), grown at 3/4 full, charged to the budget as
 * ZSFS_HOLD_SHARE (16 bytes a slot).
 *
 * The reference audit (zsfs_store_audit_begin/_end, fed by
 * zsfs_file_check): counts every COMP/RAW handle of every file in a
 * second table and compares with the references recorded here.  It is
 * exact on a quiet store; gen (bumped by every get and put while an
 * audit runs) tells the caller when the store changed during the walk,
 * so a busy store is not reported as broken (the audit is then left
 * out).  The audit's table is not charged to the budget: it lives for
 * the length of a check, 16 bytes a slot, 21-43 bytes per object.
 *
 * lock ordering: store->share.lock is a leaf; no pool, codec or budget
 * call under it except zsfs_budget_add/sub, which take no lock.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define SHARE_MIN_CAP 64u

static size_t slot_of(zs_handle h, size_t cap)
{
	uint64_t x = h * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(x >> 32) & (cap - 1);
}

static struct share_slot *tab_find(struct share_slot *tab, size_t cap,
				   zs_handle h)
{
	size_t i;

	if (!cap)
		return NULL;
	for (i = slot_of(h, cap);; i = (i + 1) & (cap - 1)) {
		if (tab[i].h == h)
			return &tab[i];
		if (!tab[i].h)
			return NULL;
	}
}

/* The empty slot for @h (not in the table, which has room). */
static struct share_slot *tab_free_slot(struct share_slot *tab, size_t cap,
					zs_handle h)
{
	size_t i = slot_of(h, cap);

	while (tab[i].h)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void tab_delete(struct share_slot *tab, size_t cap,
		       struct share_slot *s)
{
	size_t i = (size_t)(s - tab), j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & (cap - 1);
		if (!tab[j].h)
			break;
		k = slot_of(tab[j].h, cap);
		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			tab[i] = tab[j];
			i = j;
		}
	}
	tab[i].h = 0;
}

/* Grow @*tabp to @ncap slots.  Return 0 or -ENOMEM. */
static int tab_grow(struct share_slot **tabp, size_t *capp, size_t ncap)
{
	struct share_slot *n = calloc(ncap, sizeof(*n)), *old = *tabp;
	size_t i;

	if (!n)
		return -ENOMEM;
	for (i = 0; i < *capp; i++)
		if (old[i].h)
			*tab_free_slot(n, ncap, old[i].h) = old[i];
	free(old);
	*tabp = n;
	*capp = ncap;
	return 0;
}

int share_init(struct zsfs_store *store)
{
	return -pthread_mutex_init(&store->share.lock, NULL);
}

void share_fini(struct zsfs_store *store)
{
	struct store_share *sh = &store->share;

	zsfs_budget_sub(store->budget, ZSFS_HOLD_SHARE,
			sh->cap * sizeof(*sh->tab));
	free(sh->tab);
	free(sh->audit);
	pthread_mutex_destroy(&sh->lock);
}

int share_get(struct zsfs_store *store, zs_handle h, size_t size)
{
	struct store_share *sh = &store->share;
	struct share_slot *s;
	int rc = 0;

	pthread_mutex_lock(&sh->lock);
	atomic_fetch_add(&sh->gen, 1);
	s = tab_find(sh->tab, sh->cap, h);
	if (s) {
		s->refs++;
		CNT_ADD(store, shared_since, 1);
		CNT_ADD(store, shared_pages, 1);
		CNT_ADD(store, shared_saved_bytes, s->size);
		goto out;
	}
	if ((sh->used + 1) * 4 > sh->cap * 3) {
		size_t ncap = sh->cap ? sh->cap * 2 : SHARE_MIN_CAP;
		size_t more = (ncap - sh->cap) * sizeof(*sh->tab);

		rc = zsfs_budget_charge(store->budget, ZSFS_HOLD_SHARE, more);
		if (rc)
			goto out;
		rc = tab_grow(&sh->tab, &sh->cap, ncap);
		if (rc) {
			zsfs_budget_sub(store->budget, ZSFS_HOLD_SHARE, more);
			goto out;
		}
	}
	s = tab_free_slot(sh->tab, sh->cap, h);
	s->h = h;
	s->refs = 2;
	s->size = (uint32_t)size;
	atomic_store_explicit(&sh->used, sh->used + 1, memory_order_release);
	CNT_ADD(store, shared_objects, 1);
	CNT_ADD(store, shared_since, 1);
	CNT_ADD(store, shared_pages, 2);
	CNT_ADD(store, shared_saved_bytes, size);
out:
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

bool share_put(struct zsfs_store *store, zs_handle h)
{
	struct store_share *sh = &store->share;
	struct share_slot *s;
	bool last = true;

	if (!atomic_load_explicit(&sh->used, memory_order_acquire)) {
		if (atomic_load_explicit(&sh->auditing, memory_order_relaxed))
			atomic_fetch_add(&sh->gen, 1);
		return true;
	}
	pthread_mutex_lock(&sh->lock);
	atomic_fetch_add(&sh->gen, 1);
	s = tab_find(sh->tab, sh->cap, h);
	if (s) {
		last = false;
		CNT_SUB(store, shared_saved_bytes, s->size);
		if (--s->refs == 1) {
			CNT_SUB(store, shared_pages, 2);
			CNT_SUB(store, shared_objects, 1);
			tab_delete(sh->tab, sh->cap, s);
			atomic_store_explicit(&sh->used, sh->used - 1,
					      memory_order_release);
		} else {
			CNT_SUB(store, shared_pages, 1);
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return last;
}

unsigned share_refs(struct zsfs_store *store, zs_handle h)
{
	struct store_share *sh = &store->share;
	struct share_slot *s;
	unsigned refs = 1;

	if (!atomic_load_explicit(&sh->used, memory_order_acquire))
		return 1;
	pthread_mutex_lock(&sh->lock);
	s = tab_find(sh->tab, sh->cap, h);
	if (s)
		refs = s->refs;
	pthread_mutex_unlock(&sh->lock);
	return refs;
}

/* ---- the reference audit --------------------------------------------- */

int zsfs_store_audit_begin(struct zsfs_store *store)
{
	struct store_share *sh = &store->share;

	pthread_mutex_lock(&sh->lock);
	free(sh->audit);
	sh->audit = NULL;
	sh->audit_cap = sh->audit_used = 0;
	sh->audit_failed = false;
	atomic_store(&sh->auditing, true);
	sh->audit_gen = atomic_load(&sh->gen);
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

void share_audit_ref(struct zsfs_store *store, zs_handle h)
{
	struct store_share *sh = &store->share;
	struct share_slot *s;

	if (!atomic_load_explicit(&sh->auditing, memory_order_relaxed))
		return;
	pthread_mutex_lock(&sh->lock);
	if (!sh->auditing || sh->audit_failed)
		goto out;
	s = tab_find(sh->audit, sh->audit_cap, h);
	if (s) {
		s->refs++;
		goto out;
	}
	if ((sh->audit_used + 1) * 4 > sh->audit_cap * 3 &&
	    tab_grow(&sh->audit, &sh->audit_cap,
		     sh->audit_cap ? sh->audit_cap * 2 : SHARE_MIN_CAP)) {
		sh->audit_failed = true;
		goto out;
	}
	s = tab_free_slot(sh->audit, sh->audit_cap, h);
	s->h = h;
	s->refs = 1;
	sh->audit_used++;
out:
	pthread_mutex_unlock(&sh->lock);
}

int zsfs_store_audit_end(struct zsfs_store *store, char *msg, size_t msg_cap)
{
	struct store_share *sh = &store->share;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&sh->lock);
	if (!sh->auditing)
		goto out;
	if (sh->audit_failed) {
		rc = -ENOMEM;
		goto out;
	}
	if (atomic_load(&sh->gen) != sh->audit_gen) {
		rc = -EAGAIN;
		goto out;
	}
	/* Every handle seen: as many references as recorded (1 if none). */
	for (i = 0; i < sh->audit_cap && !rc; i++) {
		const struct share_slot *a = &sh->audit[i], *s;

		if (!a->h)
			continue;
		s = tab_find(sh->tab, sh->cap, a->h);
		if (a->refs != (s ? s->refs : 1u)) {
			snprintf(msg, msg_cap,
				 "object %#llx: %u references from the files, %u recorded",
				 (unsigned long long)a->h, a->refs,
				 s ? s->refs : 1u);
			rc = -EUCLEAN;
		}
	}
	/* Every shared object recorded: referenced by some file. */
	for (i = 0; i < sh->cap && !rc; i++) {
		const struct share_slot *s = &sh->tab[i];

		if (s->h && !tab_find(sh->audit, sh->audit_cap, s->h)) {
			snprintf(msg, msg_cap,
				 "object %#llx: %u references recorded, none from the files",
				 (unsigned long long)s->h, s->refs);
			rc = -EUCLEAN;
		}
	}
out:
	free(sh->audit);
	sh->audit = NULL;
	sh->audit_cap = sh->audit_used = 0;
	atomic_store(&sh->auditing, false);
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

size_t zsfs_file_shared_bytes(struct zsfs_store *store,
			      const struct zsfs_file *file)
{
	const struct zsfs_pentry *e;
	uint64_t idx, from = 0;
	size_t bytes = 0;

	if (!atomic_load_explicit(&store->share.used, memory_order_acquire))
		return 0;
	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		if ((zsfs_pentry_kind(e) == ZSFS_PK_COMP ||
		     zsfs_pentry_kind(e) == ZSFS_PK_RAW) &&
		    share_refs(store, zsfs_pentry_handle(e)) > 1)
			bytes += entry_bytes(store, e);
	}
	return bytes;
}
