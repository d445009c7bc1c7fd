/*
 * ctl_internal.h - the control plane's private struct and the declarations
 * its files share, grouped by the file that defines them: ctl.c (the
 * object, its start and stop), ctl_text.c (the .zsctl text), ctl_cmd.c
 * (the commands), ctl_writer.c (the writer of an open .zsctl) and
 * ctl_xattr.c (user.zsfs.*).  The background compactor is a module of its
 * own (compactor.h), which knows nothing of the control plane.  Nothing
 * here is part of ctl.h.
 *
 * Which file uses which (no two use each other):
 *	ctl_writer.c -> ctl_cmd.c -> compactor.c, budget.c, parse.c
 *	ctl_xattr.c  -> ctl_cmd.c, ctl_text.c, budget.c
 *	ctl_text.c   -> compactor.c, budget.c
 *	ctl.c        -> compactor.c
 *
 * lock ordering: the control plane has no lock of its own.  The
 * compactor's (compactor.h) is a leaf; compactions are serialised and
 * counted by the store's budget (budget.c).
 *
 * The filesystem's callbacks (fs_counts, fs_check) are called with no
 * lock of the control plane's held, so the filesystem may call into the ctl while holding its own
 * locks without deadlock.  Reading .zsctl never waits for a compaction.
 */
#ifndef ZSFS_CTL_INTERNAL_H
#define ZSFS_CTL_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compactor.h"
#include "ctl.h"

/* Longest command line; longer ones fail with -E2BIG. */
#define ZSFS_CTL_LINE_MAX 4096u

struct zsfs_ctl {
	/* constant after create */
	struct zsfs_store *store;
	zs_pool *pool;
	struct zsfs_budget *budget;   /* the store's */
	struct zsfs_backing *backing; /* NULL = none; thread safe */
	uid_t owner;
	void (*fs_counts)(void *arg, struct zsfs_fs_counts *out);
	void (*fs_print)(void *arg, FILE *f);
	int (*fs_check)(void *arg, char *msg, size_t msg_cap);
	int (*fs_each_file)(void *arg, int (*fn)(struct zsfs_store *,
			    struct zsfs_file *, void *), void *farg);
	void *fs_arg;

	struct zsfs_compactor comp;   /* thread safe */
};

/* ---- ctl_text.c ---- */
/* zsfs_ctl_stats_text() (ctl.h) only. */

/* ---- ctl_cmd.c ---- (and zsfs_ctl_command(), ctl.h) */

/* May @uid change anything (commands, user.zsfs.compact)?  Root and the
 * mount's owner may. */
int ctl_may_command(const struct zsfs_ctl *ctl, uid_t uid);

/* ---- ctl_writer.c ---- */
/* zsfs_ctl_writer_open/write/close() (ctl.h) only. */

/* ---- ctl_xattr.c ---- */
/* zsfs_ctl_xattr_is_reserved/get/set() (ctl.h) only. */

#endif
