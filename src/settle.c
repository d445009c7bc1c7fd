/*
 * settle.c - the settle thread: background recompression of the pages of
 * files nobody has written for a while, and the training of dictionaries
 * (the store's recompress.c and dict.c do the work; this file chooses
 * the files, holds their locks and paces itself).
 *
 * A file is settled once settle_delay seconds (settle_delay=, default 2)
 * have passed since its last change: its ctime, which every write sets
 * and no user can set back.  The thread walks every inode, pinned by an
 * open count (nopen) so that it cannot be freed meanwhile, takes the
 * inode lock only with a trylock (a busy file is left for the next
 * round), and settles at most SETTLE_BATCH pages at a time, then lets go
 * of the lock.  CPU: after each batch it sleeps so that its own thread
 * CPU time stays at settle_cpu percent of one core (default 25%).
 *
 * It stops when nothing is left: with no pending page and no dictionary
 * due it sleeps on its condition variable with no timeout, after arming
 * the store's work hook, which wakes it when a page goes pending (a
 * write) or a retrain is asked for.  Files still too young or busy make
 * it wait the rest of the delay, then look again: only while something
 * is pending.
 *
 * Dictionaries (dict=auto): when the store says one is due (enough
 * pages and none yet, four times the pages the last one saw, or the
 * dict_retrain command), the thread samples every file (shared lock),
 * trains, and makes the settled pages that do not use the new one
 * pending again (exclusive lock, blocking: this is quick).  It trains
 * when writes have gone quiet (the last walk met no pending file younger
 * than settle_delay), or after SETTLE_TRAIN_WAIT of writes that never
 * stop, or at once for the command: so the sample is the whole copy, not
 * its first seconds, and a build or a copy pays for no training.  Until
 * the first dictionary it settles nothing (every page would be done
 * again with it): after cp -a /usr/include the pages were recompressed
 * 65k times for 33k pages, then 33k times.  A tree removed before it
 * settled cost nothing at all.
 *
 * Memory: glibc raises its mmap threshold (dynamically, up to 32 MiB)
 * each time a block it mmapped is freed; the training sample (4 MiB),
 * ZDICT's tables and the codec states (an LZ4HC stream is 256 KiB, a
 * zstd context at level 9 some MiB) are such blocks, so after the first
 * training every later big block came from this thread's arena and
 * stayed resident: 6-8 MiB more than mem_used_total + meta_bytes after
 * cp -a /usr/include (lz4, dict=auto, recompress=on), 1.2-1.6 MiB with
 * the threshold held at glibc's default of 128 KiB, as zsfs_settle_start
 * does with mallopt (unless GLIBC_TUNABLES sets mmap_threshold): big
 * blocks are mmapped and go back to the system when freed.  The write
 * path allocates nothing that big per request.
 *
 * lock ordering: st->lock is a leaf, never held with another zsfs lock.
 * The walk takes ns_lock shared then in->lock (fs.h's order; the
 * consistency check, which holds ns_lock exclusive, so finds the pool
 * quiet), life_lock (leaf) to
 * step and pin, and ns_lock (shared) alone to unpin (an inode is freed
 * only under ns_lock).
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

/* A walk looks at every inode: while files are being written, not more
 * often than this (a file settles at most this much late).  Without it,
 * during cp -a of /usr/include the walks took 0.5-1.5 s more daemon CPU
 * than the copy itself did without background work. */
#define SETTLE_RETRY_MIN_NS (500 * UINT64_C(1000000))

/* Writes that never go quiet delay a due training at most this long. */
#define SETTLE_TRAIN_WAIT_NS (60 * UINT64_C(1000000000))

/* glibc's default mmap threshold, held there (see the note above). */
#define SETTLE_MMAP_THRESHOLD (128 << 10)

/* Pages per lock hold: 32 LZ4HC-9 pages with a dictionary take ~3-5 ms,
 * the longest a writer of the same file may wait for its lock. */
#define SETTLE_BATCH 32u

struct zsfs_settle {
	struct zsfs *fs;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* with lock: kicked or stop */
	bool kicked, stop;         /* protected by lock */
	bool worked;               /* the thread's: a round since idle */
	bool young;                /* the thread's: the last walk met a
				      pending file younger than settle_delay */
	size_t last_pages;         /* the thread's: pages stored at the
				      last walk (they change: not quiet) */
	uint64_t due_since;        /* the thread's: a training waits since
				      (CLOCK_MONOTONIC ns), 0 = none waits */
};

static void settle_kick(void *arg)
{
	struct zsfs_settle *st = arg;

	pthread_mutex_lock(&st->lock);
	st->kicked = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* Sleep @ns nanoseconds or until stop.  Return true when stopping. */
static bool settle_sleep(struct zsfs_settle *st, uint64_t ns)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->lock);
	while (!st->stop &&
	       pthread_cond_timedwait(&st->cond, &st->lock, &ts) == 0)
		;
	stop = st->stop;
	pthread_mutex_unlock(&st->lock);
	return stop;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The file's lock, under the namespace lock held shared: the
 * consistency check (ns_lock exclusive) then sees a quiet pool. */
static void file_lock(struct zsfs *fs, struct zsfs_inode *in, bool excl)
{
	pthread_rwlock_rdlock(&fs->ns_lock);
	if (excl)
		zsfs_inode_wrlock(fs, in);
	else
		zsfs_inode_rdlock(fs, in);
}

static bool file_trylock(struct zsfs *fs, struct zsfs_inode *in)
{
	pthread_rwlock_rdlock(&fs->ns_lock);
	if (pthread_rwlock_trywrlock(zsfs_ilock(fs, in)) == 0)
		return true;
	pthread_rwlock_unlock(&fs->ns_lock);
	return false;
}

static void file_unlock(struct zsfs *fs, struct zsfs_inode *in)
{
	zsfs_inode_unlock(fs, in);
	pthread_rwlock_unlock(&fs->ns_lock);
}

static void settle_train(struct zsfs_settle *st)
{
	struct zsfs *fs = st->fs;
	struct zsfs_inode *in = NULL;

	if (zsfs_store_dict_sample_begin(fs->store) == 0) {
		while ((in = zsfs_inode_walk_next(fs, in))) {
			if (!zsfs_ifile(in) || in == fs->ctl_inode)
				continue;
			file_lock(fs, in, false);
			zsfs_file_dict_sample(fs->store, zsfs_ifile(in));
			file_unlock(fs, in);
		}
	}
	if (zsfs_store_dict_train(fs->store))
		return;
	while ((in = zsfs_inode_walk_next(fs, in))) {
		if (!zsfs_ifile(in) || in == fs->ctl_inode)
			continue;
		file_lock(fs, in, true);
		zsfs_file_unsettle(fs->store, zsfs_ifile(in));
		file_unlock(fs, in);
	}
}

/* One walk.  Return 0 when nothing is left, else the nanoseconds after
 * which a young or busy file is worth another look. */
static uint64_t settle_round(struct zsfs_settle *st)
{
	struct zsfs *fs = st->fs;
	uint64_t delay = (uint64_t)fs->opts.settle_delay * 1000000000u;
	uint64_t retry = 0, cursor, c0, used, age;
	unsigned pct = fs->opts.settle_cpu;
	struct zsfs_inode *in = NULL;
	int64_t now;
	size_t done;
	int rc;

	bool defer = false, young = false, waits = false, quiet;
	int due = zsfs_store_dict_due(fs->store);
	struct zsfs_store_stats ss;

	/* Quiet: no file written lately, none created or removed since. */
	zsfs_store_stats(fs->store, &ss);
	quiet = !st->young && ss.pages_stored == st->last_pages;
	st->last_pages = ss.pages_stored;
	if (due == ZSFS_DICT_ASKED ||
	    (due && (quiet || (st->due_since &&
			       mono_ns() - st->due_since >=
			       SETTLE_TRAIN_WAIT_NS)))) {
		settle_train(st);
		st->due_since = 0;
	} else if (due) {
		if (!st->due_since)
			st->due_since = mono_ns();
		defer = due == ZSFS_DICT_FIRST;
		waits = true;
	} else {
		st->due_since = 0;
	}
	while ((in = zsfs_inode_walk_next(fs, in))) {
		if (!zsfs_ifile(in) || in == fs->ctl_inode)
			continue;
		cursor = 0;
		while (cursor != UINT64_MAX) {
			if (!file_trylock(fs, in)) {
				retry = retry ? retry : 100000000u; /* busy */
				break;
			}
			now = zsfs_now();
			age = (uint64_t)now - (uint64_t)in->ctime;
			if (!zsfs_file_pending(zsfs_ifile(in))) {
				file_unlock(fs, in);
				break;
			}
			if (now >= in->ctime && age < delay) {
				file_unlock(fs, in);
				age = delay - age; /* the wait left */
				if (age < SETTLE_RETRY_MIN_NS)
					age = SETTLE_RETRY_MIN_NS;
				if (!retry || age < retry)
					retry = age;
				young = true;
				break;
			}
			if (defer) {
				/* Waiting for the first dictionary. */
				file_unlock(fs, in);
				break;
			}
			c0 = cpu_ns();
			rc = zsfs_file_recompress(fs->store, zsfs_ifile(in), &cursor,
						  SETTLE_BATCH, &done);
			file_unlock(fs, in);
			if (rc) {
				retry = 1000000000u;
				break;
			}
			used = cpu_ns() - c0;
			if (pct < 100 && used &&
			    settle_sleep(st, used * (100 - pct) / pct))
				goto out;
		}
		pthread_mutex_lock(&st->lock);
		if (st->stop) {
			pthread_mutex_unlock(&st->lock);
			goto out;
		}
		pthread_mutex_unlock(&st->lock);
		/* The retrain command is served before the walk ends. */
		if (zsfs_store_dict_due(fs->store) == ZSFS_DICT_ASKED) {
			retry = 1;
			young = true; /* unknown: the walk did not end */
			goto out;
		}
	}
out:
	if (in)
		zsfs_inode_walk_unpin(fs, in);
	st->young = young;
	if (waits && !retry)
		retry = 1000000000u; /* a training waits: look again */
	return retry;
}

static void *settle_main(void *arg)
{
	struct zsfs_settle *st = arg;
	struct zsfs_store_stats ss;
	uint64_t retry;

	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		if (!st->kicked) {
			pthread_mutex_unlock(&st->lock);
			/* Arm first, then look: a page that goes pending
			 * after the look kicks us. */
			zsfs_store_settle_arm(st->fs->store);
			zsfs_store_stats(st->fs->store, &ss);
			if (!ss.recompress_pending && st->worked) {
				/* Going idle: this thread's malloc arena (codec
				 * state, samples, training) goes back too.  The
				 * holes smaller objects left in the pool's pages
				 * are the compactor's (its thresholds hold). */
				zsfs_store_settle_idle(st->fs->store);
				malloc_trim(0);
				st->worked = false;
			}
			pthread_mutex_lock(&st->lock);
			if (!st->kicked && !st->stop && !ss.recompress_pending &&
			    !zsfs_store_dict_due(st->fs->store)) {
				/* What wakes us is a write: not quiet. */
				st->young = true;
				pthread_cond_wait(&st->cond, &st->lock);
				continue;
			}
		}
		st->kicked = false;
		pthread_mutex_unlock(&st->lock);
		retry = settle_round(st);
		st->worked = true;
		if (retry && settle_sleep(st, retry))
			return NULL;
		pthread_mutex_lock(&st->lock);
		if (retry)
			st->kicked = true;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int zsfs_settle_start(struct zsfs *fs)
{
	struct zsfs_settle *st;
	int rc;

	if (!zsfs_store_settle_on(fs->store))
		return 0;
#ifdef M_MMAP_THRESHOLD
	{
		const char *t = getenv("GLIBC_TUNABLES");

		if (!t || !strstr(t, "mmap_threshold"))
			mallopt(M_MMAP_THRESHOLD, SETTLE_MMAP_THRESHOLD);
	}
#endif
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->fs = fs;
	st->kicked = true; /* a dictionary from dict=PATH: nothing yet */
	st->young = true;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	zsfs_store_set_work_hook(fs->store, settle_kick, st);
	rc = -pthread_create(&st->th, NULL, settle_main, st);
	if (rc) {
		zsfs_store_set_work_hook(fs->store, NULL, NULL);
		pthread_cond_destroy(&st->cond);
		pthread_mutex_destroy(&st->lock);
		free(st);
		return rc;
	}
	fs->settle = st;
	return 0;
}

void zsfs_settle_stop(struct zsfs *fs)
{
	struct zsfs_settle *st = fs->settle;

	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->th, NULL);
	zsfs_store_set_work_hook(fs->store, NULL, NULL);
	zsfs_store_settle_idle(fs->store);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
	fs->settle = NULL;
}
