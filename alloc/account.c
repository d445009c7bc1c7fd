/*
 * account.c - the pool's memory account: pages held, metadata, and
 * mem_bytes (pages * 4096 + metadata), the one figure the limit, the
 * stats and the pool's users (zs_pool_mem_bytes) read.
 *
 * Every term is an atomic, so nothing here takes a lock and any file may
 * ask at any time; the answer is exact when the pool is quiet.  The page
 * count moves only through zs_pages_add/zs_pages_sub, called by whoever
 * takes pages from the OS layer or gives them back (zspage.c for zspage
 * pages, compact.c for the OS reserve): pages in the OS layer's reserve
 * stay counted until they go back to the kernel.  This file uses only the
 * OS layer's metadata figure; nobody it calls calls back.
 */
#include "config.h"

#include "internal.h"

void zs_pages_add(zs_pool *pool, size_t n)
{
	size_t now = atomic_fetch_add(&pool->pages, n) + n;
	size_t max = atomic_load_explicit(&pool->pages_max,
					  memory_order_relaxed);

	while (now > max &&
	       !atomic_compare_exchange_weak(&pool->pages_max, &max, now))
		;
}

void zs_pages_sub(zs_pool *pool, size_t n)
{
	atomic_fetch_sub(&pool->pages, n);
}

/* Lock free: every term is an atomic. */
size_t zs_meta_bytes(zs_pool *pool)
{
	return sizeof(*pool) - sizeof(pool->handles.chunks) -
	       sizeof(pool->zspages.chunks) +
	       zs_nr_all(pool) * sizeof(struct zs_class) +
	       zs_os_meta_struct_bytes(&pool->os) +
	       atomic_load_explicit(&pool->zspages.meta_bytes,
				    memory_order_relaxed);
}

size_t zs_mem_bytes(zs_pool *pool)
{
	return atomic_load_explicit(&pool->pages, memory_order_relaxed) *
		       ZS_PAGE_SIZE +
	       zs_meta_bytes(pool);
}

size_t zs_pool_mem_bytes(zs_pool *pool)
{
	return zs_mem_bytes(pool);
}
