/*
 * alloc_oomhook.c - the pool when the OS refuses memory, through the test
 * hook zs_debug_fail_os(): zs_malloc returns -ENOMEM (never another
 * error, never a crash), each refused request costs exactly one failed
 * zs_malloc, objects stored before keep their bytes, compaction copes,
 * nothing leaks, and the pool works normally once the hook is off.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "zsmalloc.h"
#include "tap.h"
#include "alloc_util.h"

#define NOBJ 3000
#define NMORE 3000

static zs_handle h[NOBJ + NMORE];
static uint16_t sz[NOBJ + NMORE];

static int check_pool(zs_pool *pool, const char *when)
{
	char msg[256];
	int err = zs_pool_check(pool, msg, sizeof(msg));

	TAP_OK(err == 0, "pool check %s: %s", when, err ? msg : "ok");
	return err;
}

/* Every object still held (h[i] != 0) has its bytes. */
static int all_intact(zs_pool *pool, size_t n)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		if (!h[i])
			continue;
		zs_read(pool, h[i], buf, sz[i]);
		ok &= t_check(buf, sz[i], i);
	}
	return ok;
}

/* Store object @i of @size; return zs_malloc's result. */
static int store(zs_pool *pool, size_t i, size_t size)
{
	unsigned char buf[ZS_MAX_ALLOC_SIZE];
	int err = zs_malloc(pool, size, &h[i]);

	if (err) {
		h[i] = 0;
		return err;
	}
	sz[i] = (uint16_t)size;
	t_fill(buf, size, i);
	zs_write(pool, h[i], buf, size);
	return 0;
}

/* A fresh pool's first zs_malloc needs a handle chunk, a descriptor
 * chunk and a page, in that order; each refused request fails one call
 * and leaves nothing behind, so @n refusals are @n failed calls. */
static void fresh_pool(size_t n)
{
	struct zs_pool_params params = { .shards = 1 };
	zs_pool *pool = NULL;
	struct zs_pool_stats st;
	unsigned fails = 0;
	int err = 0;
	zs_handle x = 0;

	if (zs_pool_create(&params, &pool)) {
		TAP_OK(0, "create");
		return;
	}
	zs_debug_fail_os(pool, n);
	while (fails < n + 1 && (err = zs_malloc(pool, 100, &x)) == -ENOMEM)
		fails++;
	TAP_OK(err == 0 && fails == n,
	       "fresh pool, %zu refused: %u x -ENOMEM, then %d", n, fails, err);
	zs_pool_stats(pool, &st);
	TAP_OK(st.objs == 1 && st.pages == 1, "one object, one page (%zu, %zu)",
	       st.objs, st.pages);
	zs_free(pool, x);
	check_pool(pool, "of the fresh pool");
	zs_pool_destroy(pool);
}

int main(void)
{
	struct zs_pool_params params = { .shards = 1 };
	zs_pool *pool = NULL;
	struct zs_pool_stats st, st0, stc;
	uint64_t seed = 7;
	size_t n, live, nomem = 0, other = 0, okn = 0;
	int err;

	for (size_t k = 1; k <= 4; k++)
		fresh_pool(k);

	TAP_OK(zs_pool_create(&params, &pool) == 0, "create");
	/* Objects before the OS refuses: sizes like compressed pages. */
	for (n = 0; n < NOBJ; n++) {
		uint64_t r = t_rand(&seed);

		if (store(pool, n, r % 8 == 0 ? 4096 : 32 + (r >> 8) % 3000))
			break;
	}
	TAP_OK(n == NOBJ, "%zu objects stored", n);

	/* 4096-byte objects fill one page each, and no page of that class
	 * has been freed: every one needs a page from the OS. */
	zs_debug_fail_os(pool, 3);
	for (int i = 0; i < 3; i++) {
		err = zs_malloc(pool, 4096, &(zs_handle){ 0 });
		TAP_OK(err == -ENOMEM, "refused request %d: zs_malloc %d", i + 1,
		       err);
	}
	TAP_OK(store(pool, n, 4096) == 0, "the fourth succeeds");
	n++;

	/* Refuse everything: each call succeeds into a free slot on a page
	 * the pool holds, or fails with -ENOMEM. */
	zs_pool_stats(pool, &st0);
	zs_debug_fail_os(pool, SIZE_MAX);
	for (size_t i = 0; i < NMORE / 2; i++) {
		uint64_t r = t_rand(&seed);

		err = store(pool, n, r % 8 == 0 ? 4096 : 32 + (r >> 8) % 4064);
		if (err == 0) {
			okn++;
			n++;
		} else if (err == -ENOMEM) {
			nomem++;
		} else {
			other++;
		}
	}
	zs_pool_stats(pool, &st);
	TAP_OK(other == 0 && nomem > 0,
	       "with the OS refusing: %zu stored, %zu -ENOMEM, %zu other "
	       "errors", okn, nomem, other);
	TAP_OK(st.pages == st0.pages && st.os_bytes_mapped ==
	       st0.os_bytes_mapped, "no page taken, nothing mapped (%zu pages)",
	       st.pages);
	TAP_OK(all_intact(pool, n), "objects stored before are intact");
	check_pool(pool, "while the OS refuses");

	/* Free a random half and compact while the OS still refuses. */
	live = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i] && (t_rand(&seed) & 1)) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
		live += h[i] != 0;
	}
	zs_compact(pool);
	zs_pool_stats(pool, &stc);
	TAP_OK(stc.objs == live && stc.pages < st.pages,
	       "compaction with the OS refusing: %zu objects, pages %zu -> %zu",
	       stc.objs, st.pages, stc.pages);
	TAP_OK(all_intact(pool, n), "objects intact after that compaction");
	check_pool(pool, "after compacting while the OS refuses");

	/* Hook off: the pool grows again. */
	zs_debug_fail_os(pool, 0);
	err = 0;
	for (size_t i = 0; i < NMORE / 2 && !err; i++) {
		uint64_t r = t_rand(&seed);

		err = store(pool, n, r % 8 == 0 ? 4096 : 1 + (r >> 8) % 4096);
		n += !err;
	}
	TAP_OK(err == 0, "hook off: %d more objects stored", NMORE / 2);
	zs_pool_stats(pool, &st);
	TAP_OK(st.pages > stc.pages, "the pool takes pages again (%zu -> %zu)",
	       stc.pages, st.pages);
	TAP_OK(all_intact(pool, n), "every object intact");
	check_pool(pool, "with the hook off");

	/* Nothing leaked: with every object freed and the pool compacted,
	 * no page and no handle is left. */
	for (size_t i = 0; i < n; i++)
		zs_free(pool, h[i]);
	zs_compact(pool);
	zs_pool_stats(pool, &st);
	TAP_OK(st.objs == 0 && st.bytes_stored == 0 && st.pages == 0,
	       "all freed: objs %zu, bytes %zu, pages %zu", st.objs,
	       st.bytes_stored, st.pages);
	check_pool(pool, "when empty");
	zs_pool_destroy(pool);
	return tap_done();
}
