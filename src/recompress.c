/*
 * recompress.c - settled pages, recompressed in the background at a
 * stronger level of the same format and with the current dictionary.
 *
 * Writes compress at the mount's fast level (lz4, zstd:3) with no
 * dictionary.  Every COMP or RAW entry a write makes is "pending" (it
 * lacks ZSFS_PE_SETTLED, pagemap.h; the file counts them in
 * unsettled, the store in recompress_pending).  The filesystem's settle
 * thread calls zsfs_file_recompress() on files nobody wrote for a while:
 * each pending page is decoded and compressed again at the target level
 * (lz4 -> LZ4HC:N, still read by the lz4 decoder; zstd:L -> zstd:N),
 * once without and once with the current dictionary, and the smallest
 * result replaces the stored object when it is smaller; the page is
 * settled either way, so it is done once.  A new dictionary makes the
 * pages that do not use it pending again (zsfs_file_unsettle), so a
 * long-lived mount converges on the newest one.
 *
 * The codec state (a context at the target level, and the current
 * dictionary prepared for it) is made at the first page and freed by
 * zsfs_store_settle_idle() when the thread runs out of work: an idle
 * mount holds none.  One thread at a time calls these (the settle
 * thread; a test), with the file held exclusive.
 *
 * Handles, never pointers: the entry is looked up again for every page,
 * and objects are reached through their handle (compaction moves them).
 *
 * lock ordering: none of its own; dict.c's dict_lock through its calls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int zsfs_store_settle_on(const struct zsfs_store *store)
{
	return store->settle_on;
}

void zsfs_store_set_work_hook(struct zsfs_store *store, void (*fn)(void *),
			      void *arg)
{
	store->work_arg = arg;
	store->work_hook = fn;
}

void zsfs_store_settle_arm(struct zsfs_store *store)
{
	atomic_store(&store->hook_armed, true);
}

size_t zsfs_file_pending(const struct zsfs_file *file)
{
	return file->unsettled;
}

size_t zsfs_file_dict_pages(const struct zsfs_file *file)
{
	const struct zsfs_pentry *e;
	uint64_t idx, from = 0;
	size_t n = 0;

	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		n += zsfs_pentry_dict(e) != 0; /* COMP entries only */
	}
	return n;
}

void zsfs_store_settle_idle(struct zsfs_store *store)
{
	struct store_rctx *r = store->rctx;

	dict_idle(store);
	if (!r)
		return;
	if (r->cdict) {
		store->codec->cdict_destroy(r->cdict);
		dict_put(store, r->cdict_id);
	}
	store->codec->ctx_destroy(r->ctx);
	zsfs_budget_sub(store->budget, ZSFS_HOLD_SETTLE, r->bytes);
	free(r);
	store->rctx = NULL;
}

/* The codec state, with the current dictionary prepared. */
static int rctx_ready(struct zsfs_store *store, struct store_rctx **rp)
{
	struct store_rctx *r = store->rctx;
	size_t before;
	unsigned cur;
	int rc;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		/* At least 1: an lz4 context must be an LZ4HC stream for
		 * the dictionary, and then serves level 0 too. */
		rc = store->codec->ctx_create(store->rlevel > 0 ?
					      store->rlevel : 1, &r->ctx);
		if (rc) {
			free(r);
			return rc;
		}
		r->bytes = sizeof(*r) + (1u << 18); /* a codec state, about */
		zsfs_budget_add(store->budget, ZSFS_HOLD_SETTLE, r->bytes);
		store->rctx = r;
	}
	pthread_mutex_lock(&store->dict_lock);
	cur = store->dict_cur;
	if (cur && cur != r->cdict_id)
		dict_get(store, cur); /* the store's reference keeps it */
	pthread_mutex_unlock(&store->dict_lock);
	if (cur == r->cdict_id) {
		*rp = r;
		return 0;
	}
	before = r->bytes;
	if (r->cdict) {
		r->bytes -= store->codec->cdict_bytes(r->cdict);
		store->codec->cdict_destroy(r->cdict);
		dict_put(store, r->cdict_id);
		r->cdict = NULL;
		r->cdict_id = 0;
	}
	if (cur) {
		rc = store->codec->cdict_create(dict_of(store, cur)->d,
						store->rlevel, &r->cdict);
		if (rc) {
			dict_put(store, cur);
			r->cdict = NULL;
		} else {
			r->cdict_id = cur;
			r->bytes += store->codec->cdict_bytes(r->cdict);
		}
	}
	if (r->bytes > before)
		zsfs_budget_add(store->budget, ZSFS_HOLD_SETTLE,
				r->bytes - before);
	else
		zsfs_budget_sub(store->budget, ZSFS_HOLD_SETTLE,
				before - r->bytes);
	*rp = r;
	return 0;
}

/* Settle the pending page @idx (entry @e).  A page that names an older
 * dictionary than the current one is always rewritten (with the current
 * one or none, whichever is smaller; raw when neither fits): otherwise a
 * page that happens to like the old one would keep it alive for ever,
 * and every retrain would leave one more dictionary behind. */
static int settle_page(struct zsfs_store *store, struct zsfs_file *file,
		       struct store_rctx *r, uint64_t idx,
		       const struct zsfs_pentry *e)
{
	size_t have = entry_bytes(store, e), len0 = 0, len1 = 0, cap;
	bool leave = zsfs_pentry_dict(e) && zsfs_pentry_dict(e) != r->cdict_id;
	struct zsfs_pentry *slot, ne;
	enum zsfs_pkind kind;
	const unsigned char *best;
	unsigned id = 0;
	size_t len;
	zs_handle h;
	int rc;

	if (share_refs(store, zsfs_pentry_handle(e)) > 1) {
		/* Shared: other pages use this object; leave it as it is. */
		rc = zsfs_pagemap_slot(&file->map, idx, &slot);
		if (rc)
			return rc;
		entry_settle(store, file, slot);
		CNT_ADD(store, recompress_done, 1);
		return 0;
	}
	rc = page_load(store, e, r->page);
	if (rc)
		return rc;
	cap = leave || have - 1 > ZSFS_HUGE_THRESHOLD ? ZSFS_HUGE_THRESHOLD :
							have - 1;
	if (r->cdict && store->codec->compress_dict(r->ctx, r->cdict, r->page,
						    r->out[1], cap, &len1))
		len1 = 0;
	/* Without it too, always: a dictionary trained on other content can
	 * still beat the fast level by a lot and lose to the strong level
	 * alone, and the promise is that no page is ever bigger for having
	 * a dictionary.  (Skipping this when the dictionary gained 1/8 over
	 * the stored page halved the CPU on text, but broke the promise on
	 * some pages: tests/pagestore_recompress's mismatched case.) */
	if (store->codec->compress(r->ctx, store->rlevel, r->page, r->out[0],
				   cap, &len0))
		len0 = 0;
	rc = zsfs_pagemap_slot(&file->map, idx, &slot);
	if (rc)
		return rc;
	kind = ZSFS_PK_COMP;
	if (len1 && (!len0 || len1 < len0)) {
		best = r->out[1];
		len = len1;
		id = r->cdict_id;
		/* Against the same level without it (or the stored page,
		 * when that was not tried or did not fit). */
		CNT_ADD(store, dict_saved_bytes,
			(len0 ? len0 : cap + 1 < have ? cap + 1 : have) - len1);
	} else if (len0) {
		best = r->out[0];
		len = len0;
	} else if (leave) {
		best = r->page;
		len = ZSFS_PAGE_SIZE;
		kind = ZSFS_PK_RAW;
	} else {
		entry_settle(store, file, slot);
		CNT_ADD(store, recompress_done, 1);
		return 0;
	}
	if (store_pool_malloc(store, len, &h)) {
		/* No room for another copy now: leave it as it is. */
		entry_settle(store, file, slot);
		CNT_ADD(store, recompress_done, 1);
		return 0;
	}
	zs_write(store->pool, h, best, len);
	ne = zsfs_pentry_obj(kind, h, id, true);
	ne.w |= slot->w & ZSFS_PE_IDLE; /* background work is no access */
	slot_replace(store, file, slot, &ne);
	CNT_ADD(store, recompress_done, 1);
	if (len < have) {
		CNT_ADD(store, recompress_kept, 1);
		CNT_ADD(store, recompress_saved_bytes, have - len);
	}
	return 0;
}

int zsfs_file_recompress(struct zsfs_store *store, struct zsfs_file *file,
			 uint64_t *cursor, size_t max_pages, size_t *settled)
{
	const struct zsfs_pentry *e;
	struct store_rctx *r;
	uint64_t idx, from = *cursor;
	size_t done = 0;
	int rc = 0;

	*settled = 0;
	if (!store->settle_on || !file->unsettled) {
		*cursor = UINT64_MAX;
		return 0;
	}
	rc = rctx_ready(store, &r);
	if (rc)
		return rc;
	for (;;) {
		if (done >= max_pages) {
			*cursor = from;
			break;
		}
		if (!file->unsettled ||
		    zsfs_pagemap_next(&file->map, from, &idx, &e)) {
			*cursor = UINT64_MAX;
			break;
		}
		from = idx + 1;
		if ((zsfs_pentry_kind(e) != ZSFS_PK_COMP &&
		     zsfs_pentry_kind(e) != ZSFS_PK_RAW) ||
		    zsfs_pentry_settled(e))
			continue;
		rc = settle_page(store, file, r, idx, e);
		if (rc == -EIO) {
			/* Counted in decompress_errors; never rewritten. */
			struct zsfs_pentry *slot;

			if (zsfs_pagemap_slot(&file->map, idx, &slot) == 0)
				entry_settle(store, file, slot);
			rc = 0;
		}
		if (rc) {
			*cursor = idx;
			break;
		}
		done++;
	}
	*settled = done;
	return rc;
}

void zsfs_file_unsettle(struct zsfs_store *store, struct zsfs_file *file)
{
	const struct zsfs_pentry *e;
	struct zsfs_pentry *slot;
	uint64_t idx, from = 0;
	unsigned cur;

	if (!store->settle_on)
		return;
	pthread_mutex_lock(&store->dict_lock);
	cur = store->dict_cur;
	pthread_mutex_unlock(&store->dict_lock);
	if (!cur)
		return;
	while (!zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		if ((zsfs_pentry_kind(e) != ZSFS_PK_COMP &&
		     zsfs_pentry_kind(e) != ZSFS_PK_RAW) ||
		    !zsfs_pentry_settled(e) || zsfs_pentry_dict(e) == cur)
			continue;
		if (zsfs_pagemap_slot(&file->map, idx, &slot))
			continue;
		slot->w &= ~ZSFS_PE_SETTLED;
		file->unsettled++;
		CNT_ADD(store, recompress_pending, 1);
	}
	if (file->unsettled && atomic_exchange(&store->hook_armed, false) &&
	    store->work_hook)
		store->work_hook(store->work_arg);
}
