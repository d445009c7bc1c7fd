/*
 * storelife.c - a store's life: making it (the codec, the budget and its pool,
 * dictionaries, sharing, deduplication, the helper threads; the
 * recompress=, dict= and noswap choices) and taking it apart.
 *
 * It is the top of the data layer: it sets up every part below it and
 * nothing calls back into it, while pagestore.c, the bottom, holds what
 * every page layer uses (store_alloc, the counters).  Split this way the
 * parts that the store starts (dict.c, recompress.c, ...) may use the
 * bottom without a loop between the files.
 *
 * lock ordering: none taken here; it initialises the locks of
 * store_internal.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "budget.h"
#include "store_internal.h"

/*
 * The recompress= and dict= values (default: both on).  "on": LZ4HC
 * level 9 on lz4 (0.90x lz4's output per page alone, 0.61x with a dictionary on
 * /usr/include; higher levels add little at several times the CPU), zstd
 * level 9 on zstd (levels above 9 add little for a large cost).
 */
static int settle_parse(struct zsfs_store *store,
			const struct zsfs_store_params *params, char *err,
			size_t err_cap)
{
	const char *r = params ? params->recompress : NULL;
	const char *d = params ? params->dict : NULL;
	bool lz4 = store->codec == &zsfs_codec_lz4;
	bool zstd = store->codec == &zsfs_codec_zstd;
	const char *num = NULL;
	char *end;
	long v;

	/* Both on unless turned off: see the defaults in pagestore.h. */
	store->dict_mode = d && !strcmp(d, "off") ? STORE_DICT_OFF :
			   !d || !*d || !strcmp(d, "auto") ? STORE_DICT_AUTO :
			   STORE_DICT_FILE;
	if (!lz4 && !zstd)
		store->dict_mode = STORE_DICT_OFF; /* none: nothing to do */
	store->rlevel = lz4 || zstd ? store->level : -1;
	if (!r || !*r || strcmp(r, "on") == 0) {
		store->rlevel = lz4 || zstd ? 9 : -1;
	} else if (strcmp(r, "off") == 0) {
		store->rlevel = store->level; /* a dictionary alone, if any */
	} else if (r && *r) {
		if (lz4 && !strncmp(r, "lz4hc:", 6))
			num = r + 6;
		else if (zstd && !strncmp(r, "zstd:", 5))
			num = r + 5;
		if (!num) {
			snprintf(err, err_cap,
				 "recompress=%s: want off, or the mount's codec at a level: %s",
				 r, lz4 ? "lz4hc:1..12" : zstd ? "zstd:1..19" :
				 "none with compress=none");
			return -EINVAL;
		}
		errno = 0;
		v = strtol(num, &end, 10);
		if (errno || end == num || *end ||
		    v < (lz4 ? ZSFS_LZ4HC_LEVEL_MIN : ZSFS_ZSTD_LEVEL_MIN) ||
		    v > (lz4 ? ZSFS_LZ4HC_LEVEL_MAX : ZSFS_ZSTD_LEVEL_MAX)) {
			snprintf(err, err_cap, "recompress=%s: level must be %s",
				 r, lz4 ? "1..12" : "1..19");
			return -EINVAL;
		}
		store->rlevel = (int)v;
	}
	/* Work to do in the background: a stronger level or a dictionary. */
	store->settle_on = store->rlevel >= 0 &&
		(store->rlevel != store->level ||
		 store->dict_mode != STORE_DICT_OFF);
	return 0;
}

/* What noswap must be allowed to lock: the cap (or all RAM without one)
 * and two 4 MiB arenas of slack, as arenas are locked whole. */
static size_t noswap_bytes(const struct zsfs_store_params *params)
{
	uint64_t b = params->limit_bytes ? params->limit_bytes :
					   params->ram_bytes;

	if (!b)
		b = (uint64_t)1 << 30;
	b = (b + ((size_t)4 << 20) - 1) / ((size_t)4 << 20) * ((size_t)4 << 20);
	return (size_t)b + ((size_t)8 << 20);
}

static void noswap_error(size_t bytes, char *err, size_t err_cap)
{
	struct rlimit rl;
	char lim[32] = "unlimited";

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu bytes",
			 (unsigned long long)rl.rlim_cur);
	snprintf(err, err_cap,
		 "noswap: may not lock %zu bytes of memory (size= and 8 MiB of "
		 "slack; RLIMIT_MEMLOCK is %s): raise it (ulimit -l, "
		 "LimitMEMLOCK=), lower size=, or mount as root", bytes, lim);
}

int zsfs_store_create(const struct zsfs_store_params *params,
		      struct zsfs_store **storep, char *err, size_t err_cap)
{
	struct zs_pool_params pp = { .may_grow = zsfs_budget_pool_may_grow };
	struct zsfs_store *store;
	int rc;

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	rc = zsfs_codec_parse(params ? params->compress : NULL, &store->codec,
			      &store->level, err, err_cap);
	if (rc)
		goto err_free;
	zsfs_codec_format(store->codec, store->level, store->codec_name,
			  sizeof(store->codec_name));
	store->dirty_max_bytes = params && params->dirty_max_bytes ?
		params->dirty_max_bytes : ZSFS_DIRTY_MAX_DEFAULT;
	rc = zsfs_budget_create(params ? params->limit_bytes : 0,
				&store->budget);
	if (rc)
		goto err_free;
	if (params) {
		pp.max_pages_per_zspage = params->max_pages_per_zspage;
		store->debug_os_limit = params->debug_os_limit;
	}
	pp.may_grow_arg = store->budget;
	if (params && params->noswap)
		pp.lock_bytes = noswap_bytes(params);
	rc = zs_pool_create(&pp, &store->pool);
	if (rc) {
		if (rc == -EPERM && err && err_cap)
			noswap_error(pp.lock_bytes, err, err_cap);
		else if (rc == -EINVAL && err && err_cap)
			snprintf(err, err_cap,
				 "max_pages_per_zspage=%u: out of range",
				 pp.max_pages_per_zspage);
		goto err_budget;
	}
	zsfs_budget_attach_pool(store->budget, store->pool);
	rc = -pthread_mutex_init(&store->tctx_lock, NULL);
	if (rc)
		goto err_pool;
	rc = settle_parse(store, params, err, err_cap);
	if (rc)
		goto err_tlock;
	rc = dict_init(store, store->dict_mode == STORE_DICT_FILE ?
		       params->dict : NULL, err, err_cap);
	if (rc)
		goto err_tlock;
	rc = share_init(store);
	if (rc)
		goto err_dict;
	rc = dedup_init(store, params && params->dedup,
			params ? params->dedup_bits : 0, err, err_cap);
	if (rc)
		goto err_share;
	rc = workers_init(&store->wk, params ? params->threads : 0);
	if (rc)
		goto err_dedup;
	*storep = store;
	return 0;

err_dedup:
	dedup_fini(store);
err_share:
	share_fini(store);
err_dict:
	dict_fini(store);
err_tlock:
	pthread_mutex_destroy(&store->tctx_lock);
err_pool:
	zs_pool_destroy(store->pool);
err_budget:
	zsfs_budget_destroy(store->budget);
err_free:
	free(store);
	return rc;
}

void zsfs_store_destroy(struct zsfs_store *store)
{
	struct store_tctx *t, *next;

	if (!store)
		return;
	workers_fini(&store->wk);
	zsfs_store_settle_idle(store); /* the recompression's state */
	dedup_fini(store);
	share_fini(store);
	dict_fini(store);
	/* No operation runs any more: every state is back on the list. */
	for (t = store->tctxs; t; t = next) {
		next = t->next;
		tctx_free(store->codec, t);
	}
	pthread_mutex_destroy(&store->tctx_lock);
	zs_pool_destroy(store->pool);
	zsfs_budget_destroy(store->budget);
	free(store);
}

