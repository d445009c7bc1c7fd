/*
 * ctl.c - the control plane's object: create, start and destroy the
 * struct zsfs_ctl, its high-water mark of the pool's memory, and the one
 * door through which every compaction it runs passes (serialised by
 * compact_lock, counted as manual or automatic).
 *
 * The rest of the control plane is one file per concept, all declared in
 * ctl_internal.h:
 *	ctl_text.c     the .zsctl text (the statistics and the class table)
 *	ctl_cmd.c      the command parser and the commands
 *	ctl_writer.c   the buffered writer of an open .zsctl
 *	ctl_xattr.c    the reserved user.zsfs.* xattrs
 *	compactor.c    the background compactor and PSI
 * Sizes and percentages in the commands are read by parse.c, the grammar
 * the mount options share.
 *
 * lock ordering: see ctl_internal.h:
 *	ctl->compact_lock -> ctl->lock
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include "ctl_internal.h"

/* ---- create / destroy ---- */

int zsfs_ctl_create(const struct zsfs_ctl_params *params,
		    struct zsfs_ctl **ctlp)
{
	struct zsfs_ctl *ctl;
	pthread_condattr_t ca;
	int rc = -ENOMEM;

	if (!params || !params->store || !ctlp)
		return -EINVAL;
	if (params->ac_min_share_bp > ZSFS_PCT_BP_MAX ||
	    params->ac_psi_bp > ZSFS_PCT_BP_MAX)
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->store = params->store;
	ctl->pool = zsfs_store_pool(params->store);
	ctl->owner = params->owner;
	ctl->ac.min_share_bp = params->ac_min_share_bp;
	ctl->ac.min_bytes = params->ac_min_bytes;
	ctl->ac.psi_bp = params->ac_psi_bp;
	if (!params->ac_exact) {
		/* zero-initialised params: 0 means the default */
		if (!ctl->ac.min_share_bp)
			ctl->ac.min_share_bp = ZSFS_AC_MIN_SHARE_BP;
		if (!ctl->ac.min_bytes)
			ctl->ac.min_bytes = ZSFS_AC_MIN_BYTES;
		if (!ctl->ac.psi_bp)
			ctl->ac.psi_bp = ZSFS_AC_PSI_BP;
	}
	ctl->ac_interval_ms = params->ac_interval_ms ? params->ac_interval_ms
						     : ZSFS_AC_INTERVAL_MS;
	ctl->use_psi = params->use_psi;
	ctl->fs_counts = params->fs_counts;
	ctl->fs_check = params->fs_check;
	ctl->fs_arg = params->fs_arg;
	ctl->auto_compact = !!params->auto_compact;

	if (pthread_mutex_init(&ctl->compact_lock, NULL))
		goto err_free;
	if (pthread_mutex_init(&ctl->lock, NULL))
		goto err_compact_lock;
	if (pthread_condattr_init(&ca))
		goto err_lock;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&ctl->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		goto err_lock;
	}
	pthread_condattr_destroy(&ca);
	ctl_sample_mem(ctl);
	*ctlp = ctl;
	return 0;

err_lock:
	pthread_mutex_destroy(&ctl->lock);
err_compact_lock:
	pthread_mutex_destroy(&ctl->compact_lock);
err_free:
	free(ctl);
	return rc;
}

int zsfs_ctl_start(struct zsfs_ctl *ctl)
{
	return compactor_start(ctl);
}

void zsfs_ctl_destroy(struct zsfs_ctl *ctl)
{
	if (!ctl)
		return;
	compactor_stop(ctl);
	pthread_cond_destroy(&ctl->cond);
	pthread_mutex_destroy(&ctl->lock);
	pthread_mutex_destroy(&ctl->compact_lock);
	free(ctl);
}

/* ---- high-water mark and compaction ---- */

size_t ctl_sample_mem(struct zsfs_ctl *ctl)
{
	struct zs_pool_stats ps;
	size_t v, max;

	zs_pool_stats(ctl->pool, &ps);
	v = ps.mem_bytes;
	pthread_mutex_lock(&ctl->lock);
	if (ps.pages_max > ctl->pages_max_at_reset) {
		size_t peak = ps.pages_max * (size_t)ZS_PAGE_SIZE + ps.meta_bytes;

		if (peak > v)
			v = peak;
	}
	if (v > ctl->mem_used_max)
		ctl->mem_used_max = v;
	max = ctl->mem_used_max;
	pthread_mutex_unlock(&ctl->lock);
	return max;
}

void ctl_reset_max(struct zsfs_ctl *ctl)
{
	struct zs_pool_stats ps;

	zs_pool_stats(ctl->pool, &ps);
	pthread_mutex_lock(&ctl->lock);
	ctl->mem_used_max = ps.mem_bytes;
	ctl->pages_max_at_reset = ps.pages_max;
	pthread_mutex_unlock(&ctl->lock);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Caller must hold ctl->compact_lock. */
static size_t ctl_compact_locked(struct zsfs_ctl *ctl, int manual)
{
	uint64_t t0, t1;
	size_t freed;

	ctl_sample_mem(ctl); /* the peak is before compaction frees */
	t0 = now_usec();
	freed = zs_compact(ctl->pool);
	t1 = now_usec();
#ifdef __GLIBC__
	/*
	 * The pool gives its pages back itself; the daemon's malloc heap
	 * (per-thread arenas holding freed inodes, names, request buffers)
	 * keeps what it freed until trimmed.  Trim it here, so a compaction
	 * brings the process's real memory down too (~20 MiB on a churned
	 * 100 MiB mount).  Not counted in last_compact_usec.
	 */
	malloc_trim(0);
#endif
	pthread_mutex_lock(&ctl->lock);
	if (manual)
		ctl->st.compactions_manual++;
	else
		ctl->st.compactions_auto++;
	ctl->st.last_compact_usec = (size_t)(t1 - t0);
	ctl->st.last_compact_pages = freed;
	pthread_mutex_unlock(&ctl->lock);
	return freed;
}

size_t zsfs_ctl_compact(struct zsfs_ctl *ctl, int manual)
{
	size_t freed;

	pthread_mutex_lock(&ctl->compact_lock);
	freed = ctl_compact_locked(ctl, manual);
	pthread_mutex_unlock(&ctl->compact_lock);
	return freed;
}

int ctl_try_compact_auto(struct zsfs_ctl *ctl, size_t *freed)
{
	if (pthread_mutex_trylock(&ctl->compact_lock))
		return 0;
	*freed = ctl_compact_locked(ctl, 0);
	pthread_mutex_unlock(&ctl->compact_lock);
	return 1;
}
