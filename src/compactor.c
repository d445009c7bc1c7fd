/*
 * compactor.c - the background compactor: a thread that wakes every
 * ac_interval_ms and compacts the pool when enough is freeable, or when
 * the machine is short of memory (Linux PSI).
 *
 * Policy, checked at each poll while auto_compact is on, with the
 * thresholds of the moment (struct ac_thresholds: the mount options
 * compact_share=, compact_min=, compact_psi=, changed at run time by the
 * .zsctl commands of the same names; defaults 5%, 1 MiB, 10%):
 *   - zs_can_compact() (a cheap estimate) says F pages are freeable;
 *   - compact when F >= min_share * pool pages AND F * 4096 >=
 *     min_bytes: a share alone would compact a tiny pool for a few
 *     pages, bytes alone would churn a huge pool for a sliver (a share
 *     of 0 leaves the bytes alone to decide, and both 0 compact as soon
 *     as one page is freeable);
 *   - or, with use_psi and /proc/pressure/memory present, when its
 *     "some avg10" is at least psi (unless psi is 0: no PSI trigger) and
 *     F > 0: under memory pressure every page given back helps;
 *   - or when the pool has settled: F unchanged for ZSFS_AC_SETTLE_POLLS
 *     polls and F * 4096 >= min_bytes.  On a big pool a churn can
 *     leave a few MiB freeable, under the share, for ever; once writes
 *     and deletes have stopped one compaction collects it, and while
 *     they go on the share rule alone decides;
 *   - or when the pool has settled and every page is freeable (all the
 *     files were deleted): then whatever is left goes back, under
 *     min_bytes too, whatever the thresholds say;
 *   - when a compaction freed nothing, wait until the estimate changes
 *     before trying again, so a wrong estimate cannot spin the thread.
 * A change of a threshold wakes the thread (the setters), so a lowered
 * one applies at once rather than at the next interval.
 * The thread also samples the pool's memory for mem_used_max.  A manual
 * compaction in progress makes the thread skip its turn (trylock), so the
 * thread never queues behind one and destroy never waits for two.
 *
 * What the machine allows (compactor_watch_memory), each poll: with a
 * memory cgroup, the budget's ceiling is its limit less what others in
 * the cgroup use (its usage less what the budget counts) and a margin
 * (ZSFS_CG_MARGIN_*), so the pool stops with ENOSPC before the cgroup's
 * OOM killer picks the daemon; a limit lowered at run time (systemctl
 * set-property) is followed within a poll.  With min_free, the budget's
 * room is MemAvailable less min_free.
 *
 * lock ordering: c->lock is a leaf.  The thread takes it only to read its
 * state and to wait; it compacts and reads /proc with it released.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compactor.h"
#include "parse.h"

int psi_parse_some_avg10(const char *text, double *avg10)
{
	const char *p;
	char *end;
	double v;

	if (!text || strncmp(text, "some ", 5))
		return -EINVAL;
	p = strstr(text, "avg10=");
	if (!p)
		return -EINVAL;
	p += 6;
	v = strtod(p, &end);
	if (end == p || v < 0)
		return -EINVAL;
	*avg10 = v;
	return 0;
}

/* Read the memory "some avg10".  Return 0 and *@avg10, or a negative errno. */
static int psi_read(double *avg10)
{
	char buf[256];
	ssize_t n;
	int fd, rc;

	fd = open(ZSFS_PSI_MEMORY, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	rc = n < 0 ? -EIO : 0;
	close(fd);
	if (rc)
		return rc;
	buf[n] = '\0';
	return psi_parse_some_avg10(buf, avg10);
}

int compactor_should_run(const struct ac_thresholds *th,
			 size_t freeable_pages, size_t pool_pages, int settled,
			 int have_psi, double psi_avg10)
{
	int enough_bytes = freeable_pages * (size_t)ZS_PAGE_SIZE >=
			   th->min_bytes;

	if (!freeable_pages)
		return 0;
	/* F / pool >= bp / 10000, in doubles: no overflow for any pool */
	if (enough_bytes && (double)freeable_pages * ZSFS_PCT_BP_MAX >=
			    (double)th->min_share_bp * (double)pool_pages)
		return 1;
	if (enough_bytes && settled)
		return 1;
	/* Everything is freeable: the files are gone (rm -rf); once the
	 * pool settles, give it all back, however little it is. */
	if (settled && freeable_pages >= pool_pages)
		return 1;
	/* avg10 is printed with two decimals: compare in hundredths, so
	 * that compact_psi 10.5 means what /proc/pressure shows as 10.50 */
	return have_psi && th->psi_bp &&
	       psi_avg10 * 100.0 + 0.5 >= (double)th->psi_bp;
}

static void deadline_after_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

size_t compactor_cg_ceiling(uint64_t limit, uint64_t usage, int has_usage,
			    size_t used)
{
	uint64_t margin, others = 0;

	if (!limit)
		return 0;
	margin = limit >> ZSFS_CG_MARGIN_SHIFT;
	if (margin < ZSFS_CG_MARGIN_MIN)
		margin = ZSFS_CG_MARGIN_MIN;
	if (has_usage && usage > used)
		others = usage - used;
	if (limit <= margin + others + ZS_PAGE_SIZE)
		return ZS_PAGE_SIZE; /* no room at all: refuse growth */
	limit -= margin + others;
	return limit > SIZE_MAX ? SIZE_MAX : (size_t)limit;
}

void compactor_watch_memory(struct zsfs_compactor *c)
{
	if (c->memcg) {
		struct zsfs_memcg_reading r;

		if (zsfs_memcg_read(c->memcg, &r) == 0)
			zsfs_budget_set_ceiling(
				c->budget,
				compactor_cg_ceiling(r.limit, r.usage,
						     r.has_usage,
						     zsfs_budget_used(c->budget)),
				r.source);
	}
	if (c->sysmem.min_free && zsfs_sysmem_update(&c->sysmem) == 0) {
		uint64_t avail = atomic_load(&c->sysmem.avail);
		uint64_t room = avail > c->sysmem.min_free ?
				avail - c->sysmem.min_free : 0;

		zsfs_budget_set_room(c->budget,
				     room > SIZE_MAX ? SIZE_MAX : (size_t)room);
	}
}

static void *compactor_main(void *arg)
{
	struct zsfs_compactor *c = arg;
	int have_psi = c->use_psi && access(ZSFS_PSI_MEMORY, R_OK) == 0;
	size_t stuck_estimate = 0; /* estimate when a compaction freed 0 */
	size_t last_can = 0;
	unsigned same_polls = 0;   /* polls with the estimate unchanged */
	struct ac_thresholds th;
	struct timespec ts;
	int on;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		deadline_after_ms(&ts, c->interval_ms);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		if (c->stopping)
			break;
		/* one consistent set for this poll; commands may change
		 * them as soon as the lock is dropped */
		on = c->on;
		th = c->th;
		pthread_mutex_unlock(&c->lock);

		compactor_watch_memory(c);
		zsfs_budget_sample_max(c->budget);
		if (on) {
			size_t can = zs_can_compact(c->pool);
			struct zs_pool_stats ps;
			double avg10 = 0;
			int psi = 0;
			int settled;

			same_polls = can == last_can ? same_polls + 1 : 0;
			last_can = can;
			settled = same_polls >= ZSFS_AC_SETTLE_POLLS;
			if (can && can != stuck_estimate) {
				zs_pool_stats(c->pool, &ps);
				if (have_psi && th.psi_bp &&
				    !compactor_should_run(&th, can, ps.pages,
							  settled, 0, 0))
					psi = psi_read(&avg10) == 0;
				if (compactor_should_run(&th, can, ps.pages,
							 settled, psi, avg10)) {
					size_t freed = 0;

					if (zsfs_budget_reclaim_try(c->budget,
								    &freed))
						stuck_estimate = freed ? 0 : can;
				}
			}
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int compactor_init(struct zsfs_compactor *c,
		   const struct zsfs_compactor_params *p)
{
	pthread_condattr_t ca;
	int rc;

	memset(c, 0, sizeof(*c));
	c->pool = p->pool;
	c->budget = p->budget;
	c->interval_ms = p->interval_ms ? p->interval_ms : ZSFS_AC_INTERVAL_MS;
	c->use_psi = p->use_psi;
	c->on = !!p->on;
	c->th = p->th;
	if (p->watch_memory) {
		rc = zsfs_memcg_open(NULL, &c->memcg);
		if (rc)
			return rc;
		zsfs_sysmem_init(&c->sysmem, NULL, p->min_free);
	}
	if (pthread_mutex_init(&c->lock, NULL))
		goto err_memcg;
	if (pthread_condattr_init(&ca))
		goto err_lock;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		goto err_lock;
	if (p->watch_memory)
		compactor_watch_memory(c);
	return 0;

err_lock:
	pthread_mutex_destroy(&c->lock);
err_memcg:
	zsfs_memcg_close(c->memcg);
	c->memcg = NULL;
	return -ENOMEM;
}

void compactor_fini(struct zsfs_compactor *c)
{
	compactor_stop(c);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	zsfs_memcg_close(c->memcg);
	c->memcg = NULL;
}

int compactor_start(struct zsfs_compactor *c)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (!c->started && !c->stopping) {
		rc = -pthread_create(&c->thread, NULL, compactor_main, c);
		if (!rc)
			c->started = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void compactor_stop(struct zsfs_compactor *c)
{
	int started;

	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	started = c->started;
	c->started = 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (started)
		pthread_join(c->thread, NULL);
}

void compactor_get(struct zsfs_compactor *c, int *on, struct ac_thresholds *th)
{
	pthread_mutex_lock(&c->lock);
	if (on)
		*on = c->on;
	if (th)
		*th = c->th;
	pthread_mutex_unlock(&c->lock);
}

/* Under c->lock: change one setting and wake the thread. */
#define COMPACTOR_SET(c, field, v)                                           \
	do {                                                                 \
		pthread_mutex_lock(&(c)->lock);                              \
		(c)->field = (v);                                            \
		pthread_cond_broadcast(&(c)->cond);                          \
		pthread_mutex_unlock(&(c)->lock);                            \
	} while (0)

void compactor_set_on(struct zsfs_compactor *c, int on)
{
	COMPACTOR_SET(c, on, !!on);
}

void compactor_set_share(struct zsfs_compactor *c, unsigned bp)
{
	COMPACTOR_SET(c, th.min_share_bp, bp);
}

void compactor_set_min(struct zsfs_compactor *c, size_t bytes)
{
	COMPACTOR_SET(c, th.min_bytes, bytes);
}

void compactor_set_psi(struct zsfs_compactor *c, unsigned bp)
{
	COMPACTOR_SET(c, th.psi_bp, bp);
}
