/*
 * ctl_internal.h - the control plane's private struct and the declarations
 * its files share, grouped by the file that defines them: ctl.c (the
 * object, its start and stop), ctl_text.c (the
 * .zsctl text), ctl_cmd.c (the commands), ctl_writer.c (the writer of an
 * open .zsctl), ctl_xattr.c (user.zsfs.*) and compactor.c (the background
 * compactor and PSI).  Nothing here is part of ctl.h.
 *
 * Which file uses which (no two use each other, but ctl.c and
 * compactor.c, which start and feed one another):
 *	ctl_writer.c -> ctl_cmd.c -> ctl.c, compactor.c, parse.c
 *	ctl_xattr.c  -> ctl_cmd.c, ctl_text.c, ctl.c
 *	ctl_text.c   -> ctl.c
 *
 * lock ordering:
 *	ctl->lock                   (compactor state and thresholds; a leaf:
 *	                             never held while calling the pool, the
 *	                             store, the budget or the filesystem)
 * Compactions are serialised and counted by the store's budget
 * (budget.c), whose locks are taken with no ctl lock held.
 *
 * The filesystem's callbacks (fs_counts, fs_check) are called with no ctl
 * lock held, so the filesystem may call into the ctl while holding its own
 * locks without deadlock.  Reading .zsctl never waits for a compaction.
 */
#ifndef ZSFS_CTL_INTERNAL_H
#define ZSFS_CTL_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"

/* The thresholds' defaults (ZSFS_AC_MIN_SHARE_BP, ...) are in ctl.h, for
 * the mount options; the polling interval is not tunable. */
#define ZSFS_AC_INTERVAL_MS 200u          /* 5 polls a second: cheap */
#define ZSFS_PSI_MEMORY "/proc/pressure/memory"
/* Polls with an unchanged estimate after which the pool counts as
 * settled (10 polls = 2 s at the default interval): long enough that a
 * running cp or rm -r is not interrupted, short enough to clean up soon. */
#define ZSFS_AC_SETTLE_POLLS 10u

/* Longest command line; longer ones fail with -E2BIG. */
#define ZSFS_CTL_LINE_MAX 4096u

/*
 * When the background compactor compacts (policy in compactor.c).  Set at
 * create from the params, changed by the compact_share, compact_min and
 * compact_psi commands; the thread copies them under ctl->lock each poll.
 */
struct ac_thresholds {
	unsigned min_share_bp;  /* share of the pool's pages, 1/100 %: 0..10000 */
	size_t min_bytes;       /* and this many freeable bytes */
	unsigned psi_bp;        /* PSI some avg10 trigger, 1/100 %; 0 = none */
};

struct zsfs_ctl {
	/* constant after create */
	struct zsfs_store *store;
	zs_pool *pool;
	struct zsfs_budget *budget;   /* the store's */
	uid_t owner;
	unsigned ac_interval_ms;
	int use_psi;
	void (*fs_counts)(void *arg, struct zsfs_fs_counts *out);
	int (*fs_check)(void *arg, char *msg, size_t msg_cap);
	void *fs_arg;

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* wakes the compactor; with lock */
	int auto_compact;             /* protected by lock */
	struct ac_thresholds ac;      /* protected by lock */
	int stopping;                 /* protected by lock */
	int thread_started;           /* protected by lock */
	pthread_t thread;             /* set once by start, joined by destroy */
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

/* ---- compactor.c ---- */

/* Start / stop the background thread.  Stop is idempotent. */
int compactor_start(struct zsfs_ctl *ctl);
void compactor_stop(struct zsfs_ctl *ctl);
/* Wake the thread (after a change of auto_compact or a threshold). */
void compactor_kick(struct zsfs_ctl *ctl);
/*
 * Parse the "some avg10=" figure of a /proc/pressure/memory text.
 * Return 0 and *@avg10, or -EINVAL.  Exposed for the unit tests.
 */
int psi_parse_some_avg10(const char *text, double *avg10);
/* Whether the compactor should run now, given these thresholds and
 * figures (pure; the caller copied @th under ctl->lock). */
int compactor_should_run(const struct ac_thresholds *th,
			 size_t freeable_pages, size_t pool_pages, int settled,
			 int have_psi, double psi_avg10);

#endif
