/*
 * compactor.h - the background compactor: when to compact (policy), and
 * the watch on what the machine allows (the memory cgroup's limit and
 * MemAvailable), both on one thread that polls every interval_ms.  How
 * to compact, and the counting, are the budget's (budget.h): the thread
 * asks it through zsfs_budget_reclaim_try().
 *
 * The control plane embeds one struct zsfs_compactor and changes its
 * switch and thresholds with the setters here (the .zsctl commands); the
 * compactor knows nothing of the control plane.
 *
 * Thread safety: every function but init/fini may be called from any
 * thread at once.  lock ordering: c->lock is a leaf, never held while
 * calling the pool or the budget.
 */
#ifndef ZSFS_COMPACTOR_H
#define ZSFS_COMPACTOR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "memcg.h"
#include "sysmem.h"
#include "zsmalloc.h"

/*
 * Defaults of the thresholds, which the mount options compact_share=,
 * compact_min= and compact_psi= and the commands of the same names
 * change.  Percentages are kept in hundredths of a percent (basis
 * points): 500 is 5%, 10000 is 100% (ZSFS_PCT_BP_MAX, parse.h).
 */
#define ZSFS_AC_MIN_SHARE_BP 500u         /* 5% of the pool's pages */
#define ZSFS_AC_MIN_BYTES ((size_t)1 << 20) /* and at least 1 MiB */
/* PSI memory "some avg10" (percent of the last 10 s that tasks stalled
 * on memory) at or above which any freeable page is worth compacting. */
#define ZSFS_AC_PSI_BP 1000u              /* 10% */
#define ZSFS_AC_INTERVAL_MS 200u          /* 5 polls a second: cheap */
#define ZSFS_PSI_MEMORY "/proc/pressure/memory"
/* Polls with an unchanged estimate after which the pool counts as
 * settled (10 polls = 2 s at the default interval): long enough that a
 * running cp or rm -r is not interrupted, short enough to clean up soon. */
#define ZSFS_AC_SETTLE_POLLS 10u

/*
 * The cgroup ceiling's margin: what the daemon holds beyond the budget
 * (heap slack, thread stacks, request buffers: a few MiB, 10 MiB with
 * every worker's 1 MiB buffer busy) and what writes bring between two
 * polls.  The larger of 32 MiB and 1/16 of the limit.
 */
#define ZSFS_CG_MARGIN_MIN ((size_t)32 << 20)
#define ZSFS_CG_MARGIN_SHIFT 4u

/* When to compact: set at init, changed by the commands. */
struct ac_thresholds {
	unsigned min_share_bp;  /* share of the pool's pages, 1/100 %: 0..10000 */
	size_t min_bytes;       /* and this many freeable bytes */
	unsigned psi_bp;        /* PSI some avg10 trigger, 1/100 %; 0 = none */
};

struct zsfs_compactor {
	/* constant after init */
	zs_pool *pool;
	struct zsfs_budget *budget;
	unsigned interval_ms;
	int use_psi;
	struct zsfs_memcg *memcg;     /* NULL: no cgroup watch */
	struct zsfs_sysmem sysmem;    /* min_free 0: no MemAvailable watch */

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* wakes the thread; with lock */
	int on;                       /* protected by lock */
	struct ac_thresholds th;      /* protected by lock */
	int stopping;                 /* protected by lock */
	int started;                  /* protected by lock */
	pthread_t thread;             /* set once by start, joined by stop */
};

struct zsfs_compactor_params {
	zs_pool *pool;
	struct zsfs_budget *budget;
	int on;                       /* start with automatic compaction on */
	struct ac_thresholds th;      /* taken as given */
	unsigned interval_ms;         /* 0 = ZSFS_AC_INTERVAL_MS */
	int use_psi;                  /* watch /proc/pressure/memory */
	/* Follow the daemon's memory cgroup (budget ceiling), and keep
	 * MemAvailable above min_free (budget room; 0 = no such check). */
	int watch_memory;
	uint64_t min_free;
};

/* Return: 0, -ENOMEM. */
int compactor_init(struct zsfs_compactor *c,
		   const struct zsfs_compactor_params *p);
/* Stops the thread first.  Safe after a failed init's cleanup. */
void compactor_fini(struct zsfs_compactor *c);
/* Start / stop the thread.  Stop is idempotent. */
int compactor_start(struct zsfs_compactor *c);
void compactor_stop(struct zsfs_compactor *c);

/* The switch and thresholds now (one consistent copy). */
void compactor_get(struct zsfs_compactor *c, int *on, struct ac_thresholds *th);
/* Change them; the thread wakes to apply them at once. */
void compactor_set_on(struct zsfs_compactor *c, int on);
void compactor_set_share(struct zsfs_compactor *c, unsigned bp);
void compactor_set_min(struct zsfs_compactor *c, size_t bytes);
void compactor_set_psi(struct zsfs_compactor *c, unsigned bp);

/*
 * compactor_watch_memory() - one look at what the machine allows: the
 * cgroup's limit (less what others in it use and a margin) as the
 * budget's ceiling, MemAvailable less min_free as its room.  The thread
 * calls it each poll; init calls it once, so a mount starts within its
 * cgroup.
 */
void compactor_watch_memory(struct zsfs_compactor *c);

/*
 * The cgroup ceiling for a reading: @limit less what others in the cgroup
 * use (@usage less @used, what the budget counts) and the margin; 0 when
 * @limit is 0 (none).  Pure; exposed for the unit tests.
 */
size_t compactor_cg_ceiling(uint64_t limit, uint64_t usage, int has_usage,
			    size_t used);

/*
 * Parse the "some avg10=" figure of a /proc/pressure/memory text.
 * Return 0 and *@avg10, or -EINVAL.  Exposed for the unit tests.
 */
int psi_parse_some_avg10(const char *text, double *avg10);
/* Whether the compactor should run now, given these thresholds and
 * figures (pure). */
int compactor_should_run(const struct ac_thresholds *th,
			 size_t freeable_pages, size_t pool_pages, int settled,
			 int have_psi, double psi_avg10);

#endif
