/*
 * pagecodec.c - one page of data to an entry and back.
 *
 * page_encode() turns 4096 bytes into an entry of the file's page table
 * (pagemap.h), choosing its kind:
 *
 *	SAME   the page is one 8-byte word repeated (zero pages included):
 *	       only the word is kept, in the entry, no pool memory (zram's
 *	       same_pages); the rare word whose halves differ goes to an
 *	       8-byte pool object (pagemap.h says why).
 *	COMP   a pool object of len bytes holding the codec's output.
 *	RAW    a pool object of 4096 bytes: the page did not compress to
 *	       ZSFS_HUGE_THRESHOLD bytes or less (zram's huge pages).
 *
 * page_load() and page_load_part() are the way back, for those kinds and
 * for DIRTY (an uncompressed copy in the file's dirty set, dirty.c).  A
 * whole page decompresses straight from the pool mapping into the
 * caller's buffer; part of a compressed page goes through the scratch
 * page of a codec state.  These three are the only functions that know
 * what a stored object holds (a COMP entry may name a dictionary, dict.c,
 * which page_load() decodes with; recompress.c makes such entries;
 * dedup.c hashes and compares stored bytes only as opaque bytes).  The codecs themselves sit behind struct
 * zsfs_codec (codec.h).
 *
 * Codec states (codec context, scratch and compression buffers) are taken
 * from the store's idle list for one operation and given back (tctx_get,
 * tctx_put); zsfs_store_destroy() frees them (tctx_free).
 *
 * Nothing here touches a file's table or counters: encoding and decoding
 * run on any thread, the helpers' included (pagejob.c), the caller
 * holding the file's inode lock.  Called by: entry.c (page_store),
 * dirty.c, pagejob.c, fileio.c, range.c, and the file check (entry.c).
 *
 * lock ordering:
 *	store->tctx_lock    (leaf: the list of idle codec states)
 * Not held while calling into the pool or the codec.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

_Static_assert(ZSFS_PAGE_SIZE == ZSFS_CODEC_PAGE, "one page size");
_Static_assert(ZSFS_HUGE_THRESHOLD < ZSFS_PAGE_SIZE, "threshold");

#define PAGE_WORDS (ZSFS_PAGE_SIZE / sizeof(uint64_t))

/* ---- codec states --------------------------------------------------- */

/* Take an idle codec state, or make one.  Give it back with tctx_put. */
int tctx_get(struct zsfs_store *store, struct store_tctx **tp)
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

void tctx_put(struct zsfs_store *store, struct store_tctx *t)
{
	pthread_mutex_lock(&store->tctx_lock);
	t->next = store->tctxs;
	store->tctxs = t;
	pthread_mutex_unlock(&store->tctx_lock);
}

/* ---- pages --------------------------------------------------------- */

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

/* The word of the SAME entry @e: inline, or read from its object. */
static uint64_t same_word(struct zsfs_store *store,
			  const struct zsfs_pentry *e)
{
	uint64_t w;

	if (!(e->w & ZSFS_PE_OBJ))
		return zsfs_pentry_same_word(e);
	zs_read(store->pool, zsfs_pentry_handle(e), &w, sizeof(w));
	return w;
}

/*
 * Turn 4096 bytes at @data into a new entry: same-filled, compressed or
 * raw.  @data must not be @t->cbuf.  @compact: on -ENOSPC compact the
 * pool once and retry (store_alloc); without it the caller falls back to
 * a path that does.  Return 0, -ENOSPC, -ENOMEM, -EIO.
 */
int page_encode(struct zsfs_store *store, struct store_tctx *t,
		const void *data, bool compact, struct zsfs_pentry *ne)
{
	uint64_t w, hash = 0;
	size_t len;
	zs_handle h;
	int rc;

	memset(ne, 0, sizeof(*ne));
	if (page_same(data, &w)) {
		if (zsfs_pentry_same(w, ne))
			return 0;
		rc = compact ? store_alloc(store, sizeof(w), &h) :
			       store_pool_malloc(store, sizeof(w), &h);
		if (rc)
			return rc;
		zs_write(store->pool, h, &w, sizeof(w));
		*ne = zsfs_pentry_same_obj(h);
		return 0;
	}
	rc = store->codec->compress(t->cctx, store->level, data, t->cbuf,
				    ZSFS_HUGE_THRESHOLD, &len);
	if (rc == 0) {
		if (store->dedup.on) {
			/* The same bytes stored already: share them. */
			hash = dedup_hash(store, t->cbuf, len);
			if (dedup_find(store, hash, ZSFS_PK_COMP, t->cbuf, len,
				       ne) == 0)
				return 0;
		}
		rc = compact ? store_alloc(store, len, &h) :
			       store_pool_malloc(store, len, &h);
		if (rc)
			return rc;
		zs_write(store->pool, h, t->cbuf, len);
		*ne = zsfs_pentry_obj(ZSFS_PK_COMP, h, 0, false);
		if (store->dedup.on)
			dedup_add(store, hash, ne);
		return 0;
	}
	if (rc != -E2BIG)
		return rc;
	if (store->dedup.on) {
		hash = dedup_hash(store, data, ZSFS_PAGE_SIZE);
		if (dedup_find(store, hash, ZSFS_PK_RAW, data, ZSFS_PAGE_SIZE,
			       ne) == 0)
			return 0;
	}
	rc = compact ? store_alloc(store, ZSFS_PAGE_SIZE, &h) :
		       store_pool_malloc(store, ZSFS_PAGE_SIZE, &h);
	if (rc)
		return rc;
	zs_write(store->pool, h, data, ZSFS_PAGE_SIZE);
	*ne = zsfs_pentry_obj(ZSFS_PK_RAW, h, 0, false);
	if (store->dedup.on)
		dedup_add(store, hash, ne);
	return 0;
}

/* Decode @len compressed bytes at @src (dictionary @dict, 0 = none)
 * into the page @dst.  Return 0 or -EIO (counted). */
static int decode_bytes(struct zsfs_store *store, struct store_tctx *t,
			unsigned dict, const void *src, size_t len, void *dst)
{
	int rc;

	if (dict) {
		/* The entry holds a reference: it is alive. */
		struct store_dict *sd = dict_of(store, dict);

		rc = sd ? store->codec->decompress_dict(t->cctx, sd->d, src,
							len, dst) : -EIO;
	} else {
		rc = store->codec->decompress(t->cctx, src, len, dst);
	}
	if (rc) {
		CNT_ADD(store, decompress_errors, 1);
		return -EIO;
	}
	return 0;
}

/* A page in the backing file: pread (backing.c checks the bytes read)
 * and decode.  Return 0, -EIO (a failed or bad read: failed_reads; or a
 * failed decode: decompress_errors), -ENOMEM. */
static int backed_load(struct zsfs_store *store, const struct zsfs_pentry *e,
		       void *dst)
{
	uint64_t loc = zsfs_pentry_loc(e);
	struct store_tctx *t;
	int rc, len;

	if (!store->backing)
		return -EIO;
	if (e->w & ZSFS_PE_BRAW) {
		len = zsfs_backing_load(store->backing, loc, dst,
					ZSFS_PAGE_SIZE);
		return len == (int)ZSFS_PAGE_SIZE ? 0 : -EIO;
	}
	rc = tctx_get(store, &t);
	if (rc)
		return rc;
	len = zsfs_backing_load(store->backing, loc, t->cbuf, sizeof(t->cbuf));
	rc = len > 0 ? decode_bytes(store, t, zsfs_pentry_dict(e), t->cbuf,
				    (size_t)len, dst) : -EIO;
	tctx_put(store, t);
	return rc;
}

/* Fill @dst with the whole page of entry @e (NULL: a hole). */
int page_load(struct zsfs_store *store, const struct zsfs_pentry *e,
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
	switch (zsfs_pentry_kind(e)) {
	case ZSFS_PK_SAME:
		fill_word(dst, same_word(store, e), 0, ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_RAW:
		zs_read(store->pool, zsfs_pentry_handle(e), dst, ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_DIRTY:
		memcpy(dst, ((const struct store_dirty *)zsfs_pentry_dirty(e))->data,
		       ZSFS_PAGE_SIZE);
		return 0;
	case ZSFS_PK_COMP:
		rc = tctx_get(store, &t);
		if (rc)
			return rc;
		src = zs_map(store->pool, zsfs_pentry_handle(e), ZS_MM_RO, &m);
		if (zsfs_pentry_dict(e)) {
			/* The entry holds a reference: it is alive. */
			struct store_dict *sd =
				dict_of(store, zsfs_pentry_dict(e));

			rc = sd ? store->codec->decompress_dict(t->cctx, sd->d,
					src, entry_bytes(store, e), dst) : -EIO;
		} else {
			rc = store->codec->decompress(t->cctx, src,
						      entry_bytes(store, e),
						      dst);
		}
		zs_unmap(store->pool, &m);
		tctx_put(store, t);
		if (rc) {
			CNT_ADD(store, decompress_errors, 1);
			return -EIO;
		}
		return 0;
	case ZSFS_PK_BACKED:
		return backed_load(store, e, dst);
	default:
		return -EIO;
	}
}

/* Part of a page; whole pages go to page_load. */
int page_load_part(struct zsfs_store *store, const struct zsfs_pentry *e,
		   size_t pgoff, size_t n, void *dst)
{
	struct store_tctx *t;
	int rc;

	if (!e) {
		memset(dst, 0, n);
	} else if (n == ZSFS_PAGE_SIZE) {
		return page_load(store, e, dst);
	} else if (zsfs_pentry_kind(e) == ZSFS_PK_SAME) {
		fill_word(dst, same_word(store, e), pgoff, n);
	} else if (zsfs_pentry_kind(e) == ZSFS_PK_DIRTY) {
		memcpy(dst,
		       ((const struct store_dirty *)zsfs_pentry_dirty(e))->data +
		       pgoff, n);
	} else if (zsfs_pentry_kind(e) == ZSFS_PK_RAW) {
		struct zs_mapping m;
		const unsigned char *p;

		p = zs_map(store->pool, zsfs_pentry_handle(e), ZS_MM_RO, &m);
		memcpy(dst, p + pgoff, n);
		zs_unmap(store->pool, &m);
	} else {
		rc = tctx_get(store, &t);
		if (rc)
			return rc;
		rc = page_load(store, e, t->scratch);
		if (rc == 0)
			memcpy(dst, t->scratch + pgoff, n);
		tctx_put(store, t);
		if (rc)
			return rc;
	}
	return 0;
}
