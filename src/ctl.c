/*
 * ctl.c - the control plane's object: create, start and destroy the
 * struct zsfs_ctl.  Compactions, their counters and the high-water mark
 * of the pool's memory are the store's budget's (budget.c): the commands
 * and the compactor ask it.
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
 * lock ordering: see ctl_internal.h; a writer's lock comes first:
 *	w->lock -> (the budget's reclaim lock) -> ctl->lock
 */
#include "config.h"

#include <errno.h>
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
	ctl->budget = zsfs_store_budget(params->store);
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

	if (pthread_mutex_init(&ctl->lock, NULL))
		goto err_free;
	if (pthread_condattr_init(&ca))
		goto err_lock;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&ctl->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		goto err_lock;
	}
	pthread_condattr_destroy(&ca);
	*ctlp = ctl;
	return 0;

err_lock:
	pthread_mutex_destroy(&ctl->lock);
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
	free(ctl);
}
