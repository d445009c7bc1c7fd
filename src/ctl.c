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
 * lock ordering: see ctl_internal.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"

/* ---- create / destroy ---- */

int zsfs_ctl_create(const struct zsfs_ctl_params *params,
		    struct zsfs_ctl **ctlp)
{
	struct zsfs_compactor_params cp;
	struct zsfs_ctl *ctl;
	int rc;

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
	ctl->backing = params->backing;
	ctl->owner = params->owner;
	ctl->fs_counts = params->fs_counts;
	ctl->fs_print = params->fs_print;
	ctl->fs_check = params->fs_check;
	ctl->fs_each_file = params->fs_each_file;
	ctl->fs_arg = params->fs_arg;

	memset(&cp, 0, sizeof(cp));
	cp.pool = ctl->pool;
	cp.budget = ctl->budget;
	cp.on = params->auto_compact;
	cp.th.min_share_bp = params->ac_min_share_bp;
	cp.th.min_bytes = params->ac_min_bytes;
	cp.th.psi_bp = params->ac_psi_bp;
	if (!params->ac_exact) {
		/* zero-initialised params: 0 means the default */
		if (!cp.th.min_share_bp)
			cp.th.min_share_bp = ZSFS_AC_MIN_SHARE_BP;
		if (!cp.th.min_bytes)
			cp.th.min_bytes = ZSFS_AC_MIN_BYTES;
		if (!cp.th.psi_bp)
			cp.th.psi_bp = ZSFS_AC_PSI_BP;
	}
	cp.interval_ms = params->ac_interval_ms;
	cp.use_psi = params->use_psi;
	cp.watch_memory = params->watch_memory;
	cp.min_free = params->min_free;
	rc = compactor_init(&ctl->comp, &cp);
	if (rc) {
		free(ctl);
		return rc;
	}
	*ctlp = ctl;
	return 0;
}

int zsfs_ctl_start(struct zsfs_ctl *ctl)
{
	return ctl ? compactor_start(&ctl->comp) : -EINVAL;
}

void zsfs_ctl_destroy(struct zsfs_ctl *ctl)
{
	if (!ctl)
		return;
	compactor_fini(&ctl->comp);
	free(ctl);
}
