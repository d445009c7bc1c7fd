/*
 * handle.c - the handle table: the indirection between a handle and the
 * place its object lives, which lets compaction move objects.
 *
 * A handle's low 32 bits are its id; id 0 is never used (the size and
 * shard ride in its upper bits, see internal.h).  Its entry is one atomic
 * 32-bit word in a two-level table: a fixed array of chunk pointers in
 * the pool, each chunk 4096 entries (16 KiB) mapped by the OS layer.  Chunks
 * are added, never moved or freed while the pool lives, so a reader finds
 * an entry with two loads and no lock.  Per live object the table costs 4
 * bytes; the zspage slot table adds 4 for the back-reference (slot ->
 * handle id) that compaction needs.
 *
 * Free ids are kept in per-shard lists threaded through the free entries
 * and, in front of them, a small per-class cache that the class lock already
 * protects, so most zs_malloc/zs_free calls never take the global lock.
 *
 * lock ordering: see internal.h.  zs_handle_get/put require the caller to
 * hold c->lock and take pool->handles.lock inside it.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"

int zs_handles_init(zs_pool *pool)
{
	zs_mutex_init(&pool->handles.lock);
	return 0;
}

void zs_handles_fini(zs_pool *pool)
{
	struct zs_handles *t = &pool->handles;

	for (unsigned i = 0; i < t->nchunks; i++)
		zs_os_meta_unmap(&pool->os, (void *)atomic_load(&t->chunks[i]),
				 ZS_HCHUNK_ENTRIES * sizeof(uint32_t));
	pthread_mutex_destroy(&t->lock);
}

_Atomic uint32_t *zs_handle_entry(zs_pool *pool, uint32_t hid)
{
	_Atomic uint32_t *chunk;

	chunk = atomic_load_explicit(&pool->handles.chunks[hid >> ZS_HCHUNK_SHIFT],
				     memory_order_acquire);
	return &chunk[hid & (ZS_HCHUNK_ENTRIES - 1)];
}

/* Caller must hold t->lock.  A new chunk for @shard's free list. */
static int chunk_add(zs_pool *pool, unsigned shard)
{
	struct zs_handles *t = &pool->handles;
	_Atomic uint32_t *chunk;
	void *p;
	int err;

	if (t->nchunks >= ZS_HCHUNK_MAX)
		return -ENOMEM;
	err = zs_os_meta_map(&pool->os, ZS_HCHUNK_ENTRIES * sizeof(uint32_t), &p);
	if (err)
		return err;
	chunk = p;
	/* Thread in reverse so ids come out ascending; id 0 is never used. */
	for (unsigned j = ZS_HCHUNK_ENTRIES; j-- > 0;) {
		uint32_t id = (t->nchunks << ZS_HCHUNK_SHIFT) | j;

		if (id == 0)
			continue;
		atomic_store_explicit(&chunk[j], t->free_head[shard],
				      memory_order_relaxed);
		t->free_head[shard] = id;
		t->nfree++;
	}
	atomic_store_explicit(&t->chunks[t->nchunks], chunk,
			      memory_order_release);
	t->nchunks++;
	return 0;
}

/*
 * zs_handle_get() - take a free handle id.  Caller must hold c->lock.
 * Return: 0, or -ENOMEM when the table cannot grow.
 */
int zs_handle_get(zs_pool *pool, struct zs_class *c, uint32_t *hidp)
{
	struct zs_handles *t = &pool->handles;
	uint32_t *head = &t->free_head[c->shard];
	int err = 0;

	if (c->hcache_n == 0) {
		pthread_mutex_lock(&t->lock);
		while (c->hcache_n < ZS_HCACHE_BATCH) {
			if (!*head) {
				err = chunk_add(pool, c->shard);
				if (err)
					break;
			}
			uint32_t id = *head;

			*head = (uint32_t)atomic_load_explicit(
				zs_handle_entry(pool, id), memory_order_relaxed);
			t->nfree--;
			c->hcache[c->hcache_n++] = id;
		}
		pthread_mutex_unlock(&t->lock);
		if (c->hcache_n == 0)
			return err;
	}
	*hidp = c->hcache[--c->hcache_n];
	return 0;
}

/* Caller must hold t->lock.  Push @hid on @head's list. */
static void free_push(zs_pool *pool, uint32_t *head, uint32_t hid)
{
	atomic_store_explicit(zs_handle_entry(pool, hid), *head,
			      memory_order_relaxed);
	*head = hid;
	pool->handles.nfree++;
}

/* zs_handle_put() - return an id.  Caller must hold c->lock. */
void zs_handle_put(zs_pool *pool, struct zs_class *c, uint32_t hid)
{
	struct zs_handles *t = &pool->handles;
	uint32_t *head = &t->free_head[c->shard];

	atomic_store_explicit(zs_handle_entry(pool, hid), 0,
			      memory_order_relaxed);
	if (c->hcache_n < ZS_HCACHE_MAX) {
		c->hcache[c->hcache_n++] = hid;
		return;
	}
	/* Spill half the cache (and this id) to the shard's list. */
	pthread_mutex_lock(&t->lock);
	free_push(pool, head, hid);
	while (c->hcache_n > ZS_HCACHE_MAX - ZS_HCACHE_BATCH)
		free_push(pool, head, c->hcache[--c->hcache_n]);
	pthread_mutex_unlock(&t->lock);
}

/* Bytes of handle-table chunks (already counted in os meta). */
size_t zs_handles_capacity(zs_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->handles.lock);
	n = (size_t)pool->handles.nchunks * ZS_HCHUNK_ENTRIES;
	pthread_mutex_unlock(&pool->handles.lock);
	return n;
}

size_t zs_handles_meta(zs_pool *pool)
{
	return zs_handles_capacity(pool) * sizeof(uint32_t);
}

/*
 * zs_handles_free() - count the free ids: the shards' lists (walked, so
 * a broken list shows) and the class caches.  *@errp is set to -EINVAL when
 * the list is longer than it says or leaves the table.  Takes every class
 * lock in turn, then handles.lock: call with no lock held.
 */
size_t zs_handles_free(zs_pool *pool, int *errp)
{
	struct zs_handles *t = &pool->handles;
	size_t cached = 0, n = 0;

	for (unsigned i = 0, all = zs_nr_all(pool); i < all; i++) {
		pthread_mutex_lock(&pool->classes[i].lock);
		cached += pool->classes[i].hcache_n;
		pthread_mutex_unlock(&pool->classes[i].lock);
	}
	*errp = 0;
	pthread_mutex_lock(&t->lock);
	for (unsigned sh = 0; sh < ZS_MAX_SHARDS; sh++)
		for (uint32_t id = t->free_head[sh]; id; n++) {
			if (n > t->nfree ||
			    (id >> ZS_HCHUNK_SHIFT) >= t->nchunks) {
				*errp = -EINVAL;
				break;
			}
			id = atomic_load_explicit(zs_handle_entry(pool, id),
						  memory_order_relaxed);
		}
	if (n != t->nfree)
		*errp = -EINVAL;
	pthread_mutex_unlock(&t->lock);
	return n + cached;
}
