/*
 * map.c - access to object bytes: zs_map/zs_unmap, zs_read/zs_write, and
 * the per-thread buffers that present spanning objects contiguously.
 *
 * Readers take no lock.  To keep an object from moving under it, a reader
 * pins the object's zspage in the zspage's state word:
 *
 *	e = load(entry)                          (acquire)
 *	zp = zspage(e); old = fetch_add(state, 1)
 *	if old & ZS_ISOLATED or load(entry) != e: fetch_sub(state, 1), retry
 *
 * Compaction isolates a zspage by a compare-and-swap of the state word
 * from 0 to ZS_ISOLATED (compact.c).  Both sides modify one atomic word,
 * so one of them comes first: either the pin is there and the isolation
 * fails (the zspage is skipped), or the reader sees ZS_ISOLATED and backs
 * off.  The migrator rewrites the handle entries (release) before it
 * drops ZS_ISOLATED, so a reader that retries finds the new place.
 * Descriptors are never freed (zspage.c), so pinning a stale one is
 * harmless: the re-check of the entry fails and the pin is dropped.
 *
 * A spanning object is copied into a buffer of ZS_MAX_ALLOC_SIZE bytes
 * that the pool keeps per thread (a pthread key).  A thread that exits
 * hands its buffer back by clearing its in_use flag (an atomic store on
 * its own buffer, nothing else: a destructor run by pthread_cancel must
 * not need a lock), and the next thread that needs one takes it; the
 * buffers are freed at pool destruction, so there are never more than
 * threads that mapped a spanning object at once.
 *
 * lock ordering: see internal.h.  Only pool->tbuf_lock is taken here, as a
 * leaf, when a thread first maps a spanning object.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* mapping->priv[] slots */
enum { MP_ZSPAGE, MP_BUF, MP_SLOT, MP_CLASS };

static void tbuf_destructor(void *arg);

int zs_tbufs_init(zs_pool *pool)
{
	int err = pthread_key_create(&pool->tbuf_key, tbuf_destructor);

	if (err)
		return -err;
	pthread_mutex_init(&pool->tbuf_lock, NULL);
	pool->tbufs = NULL;
	return 0;
}

/* The buffer records its pool just before its data, see tbuf_get(). */
struct tbuf_hdr {
	zs_pool *pool;
	struct zs_tbuf buf;
};

static void tbuf_destructor(void *arg)
{
	struct tbuf_hdr *h = arg;

	atomic_store_explicit(&h->buf.in_use, false, memory_order_release);
}

/* Not thread safe: the pool is being destroyed. */
void zs_tbufs_fini(zs_pool *pool)
{
	struct zs_tbuf *b = pool->tbufs;

	pthread_key_delete(pool->tbuf_key);
	while (b) {
		struct zs_tbuf *next = b->next;

		free((unsigned char *)b - offsetof(struct tbuf_hdr, buf));
		b = next;
	}
	pool->tbufs = NULL;
	pthread_mutex_destroy(&pool->tbuf_lock);
}

static unsigned char *tbuf_get(zs_pool *pool)
{
	struct tbuf_hdr *h = pthread_getspecific(pool->tbuf_key);

	if (h)
		return h->buf.data;
	pthread_mutex_lock(&pool->tbuf_lock);
	for (struct zs_tbuf *b = pool->tbufs; b; b = b->next) {
		if (!atomic_load_explicit(&b->in_use, memory_order_acquire)) {
			atomic_store_explicit(&b->in_use, true,
					      memory_order_relaxed);
			h = (struct tbuf_hdr *)((unsigned char *)b -
						offsetof(struct tbuf_hdr, buf));
			break;
		}
	}
	if (!h) {
		h = malloc(sizeof(*h));
		ZS_ASSERT(h); /* the contract promises a pointer */
		h->pool = pool;
		atomic_init(&h->buf.in_use, true);
		h->buf.next = pool->tbufs;
		pool->tbufs = &h->buf;
	}
	pthread_mutex_unlock(&pool->tbuf_lock);
	pthread_setspecific(pool->tbuf_key, h);
	return h->buf.data;
}

/* Pin the zspage holding @h; returns it with the object's slot and size. */
static struct zs_zspage *obj_pin(zs_pool *pool, zs_handle h, unsigned *slotp,
				 size_t *sizep)
{
	_Atomic uint32_t *ent;
	unsigned spins = 0;

	ZS_ASSERT(ZS_H_VALID(h) && ZS_H_SHARD(h) < pool->nshards);
	ent = zs_handle_entry(pool, ZS_H_ID(h));
	for (;;) {
		uint32_t e = atomic_load_explicit(ent, memory_order_acquire);
		struct zs_zspage *zp;

		ZS_ASSERT(ZS_ENT_ZID(e) != 0); /* freed or never allocated */
		zp = zs_zspage_get(pool, ZS_ENT_ZID(e));
		if (!(atomic_fetch_add(&zp->state, 1) & ZS_ISOLATED) &&
		    atomic_load_explicit(ent, memory_order_acquire) == e) {
			*slotp = ZS_ENT_SLOT(e);
			*sizep = ZS_H_SIZE(h);
			return zp;
		}
		atomic_fetch_sub(&zp->state, 1);
		if (++spins > 16)
			sched_yield();
	}
}

static void obj_unpin(struct zs_zspage *zp)
{
	atomic_fetch_sub_explicit(&zp->state, 1, memory_order_release);
}

size_t zs_obj_size(zs_pool *pool, zs_handle h)
{
	(void)pool;
	return h ? ZS_H_SIZE(h) : 0;
}

void *zs_map(zs_pool *pool, zs_handle h, enum zs_mapmode mode,
	     struct zs_mapping *m)
{
	struct zs_class *c;
	struct zs_zspage *zp;
	unsigned slot;
	size_t size;
	bool spans;
	unsigned char *p;

	zp = obj_pin(pool, h, &slot, &size);
	c = zs_class_for(pool, size); /* geometry: the same in every shard */
	p = zs_obj_addr(c, zp, slot, size, &spans);
	m->priv[MP_ZSPAGE] = zp;
	m->priv[MP_BUF] = NULL;
	m->priv[MP_SLOT] = (void *)(uintptr_t)slot;
	m->priv[MP_CLASS] = c;
	m->priv_len = size;
	m->priv_mode = (int)mode;
	if (!spans)
		return p;
	p = tbuf_get(pool);
	m->priv[MP_BUF] = p;
	if (mode != ZS_MM_WO)
		zs_obj_copy_out(c, zp, slot, p, size);
	return p;
}

void zs_unmap(zs_pool *pool, struct zs_mapping *m)
{
	struct zs_zspage *zp = m->priv[MP_ZSPAGE];

	if (m->priv[MP_BUF] && m->priv_mode != ZS_MM_RO)
		zs_obj_copy_in(m->priv[MP_CLASS], zp,
			       (unsigned)(uintptr_t)m->priv[MP_SLOT],
			       m->priv[MP_BUF], m->priv_len);
	obj_unpin(zp);
	m->priv[MP_ZSPAGE] = NULL;
}

void zs_write(zs_pool *pool, zs_handle h, const void *src, size_t len)
{
	struct zs_zspage *zp;
	unsigned slot;
	size_t size;

	zp = obj_pin(pool, h, &slot, &size);
	ZS_ASSERT(len <= size);
	zs_obj_copy_in(zs_class_for(pool, size), zp, slot, src, len);
	obj_unpin(zp);
}

void zs_read(zs_pool *pool, zs_handle h, void *dst, size_t len)
{
	struct zs_zspage *zp;
	unsigned slot;
	size_t size;

	zp = obj_pin(pool, h, &slot, &size);
	ZS_ASSERT(len <= size);
	zs_obj_copy_out(zs_class_for(pool, size), zp, slot, dst, len);
	obj_unpin(zp);
}
