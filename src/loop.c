/*
 * loop.c - the FUSE session loop: worker threads that receive requests
 * into buffers of their own, and give back the part of those buffers a
 * large request dirtied once it has sat unused for a while.
 *
 * Why not fuse_session_loop_mt().  libfuse's loop gives each worker a
 * receive buffer of 1 MiB + 4 KiB (FUSE_MAX_MAX_PAGES pages and a header)
 * and never gives it back while the worker lives.  One large write (or a
 * setxattr of a big value) makes the whole buffer resident, so after a
 * `dd bs=1M` three or four idle workers hold 3 to 4 MiB that no file
 * needs; that was half of what the daemon held beyond the pool for four
 * 64 MiB files (bench/churn.sh, section 3).  Here:
 *
 *  - each worker's buffer is its own anonymous mapping, touched only as
 *    far as requests reach into it (small requests: the first page);
 *  - after a request longer than LOOP_KEEP bytes the worker notes that
 *    its buffer's tail is dirty, and when;
 *  - the main thread, which otherwise only waits for the session to end,
 *    is woken when a worker's tail becomes dirty and then looks every
 *    LOOP_TICK_MS until none is; a worker whose tail has not been used for
 *    LOOP_RELEASE_MS and that is waiting in read(2) or parked (below) gets
 *    LOOP_SIGNAL.
 *    The signal's handler does nothing; the read returns EINTR (the
 *    handler is installed without SA_RESTART) and the worker itself drops
 *    the tail with MADV_DONTNEED before it reads again.  Only the worker
 *    touches its buffer, so no request can lose bytes to the drop; a
 *    signal that arrives while the worker is busy is lost harmlessly and
 *    sent again on the next tick.  An idle daemon does not tick.
 *
 * A stream of large writes keeps its buffers resident (no page faults per
 * request); an idle daemon holds at most LOOP_KEEP bytes per worker.
 *
 * One reader at a time.  libfuse's loop keeps a spare worker waiting in
 * read(2) whenever one is busy, so in a serial stream of requests (tar,
 * cp: the caller waits for each reply) every request wakes a thread that
 * was asleep, often on the other CPU: on these virtual machines about 28
 * us a request, most of the daemon's time (perf: __wake_up and
 * finish_task_switch above everything zsfs does).  Here one worker holds
 * the reader role: it reads a request, asks the device (poll, no wait)
 * whether another is already queued, and only then hands the role on, to
 * a parked worker (or a new one, up to max_threads) before it handles its
 * own; otherwise it handles the request and reads the next one itself, on
 * the CPU the caller just left.  A worker that finishes while another
 * holds the role parks on a semaphore.  So work that has requests in
 * parallel gets as many threads as before (one more per request found
 * queued), and a serial stream is served by one thread without wake-ups.
 * Workers stay until the session ends, so the kernel's asynchronous
 * FORGETs and RELEASEs never cost a thread creation.
 *
 * The session ends when the kernel says so (unmount: ENODEV, which
 * libfuse turns into fuse_session_exit) or on SIGTERM/SIGINT/SIGHUP
 * (libfuse's handlers call fuse_session_exit).  The first worker to see
 * it wakes the main thread, which cancels the others (they sit in read(2),
 * a cancellation point; request handling runs with cancellation off) and
 * joins them.
 *
 * With FUSE over io_uring (uring.c, -o io_uring) the rings' own threads
 * serve the requests, and this loop still carries what the kernel sends
 * by /dev/fuse: INIT, FORGETs, INTERRUPTs, and everything before the
 * rings are registered.
 *
 * lock ordering: loop->lock is a leaf, taken around the worker list and
 * the counts below, never while handling a request.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>   /* the kernel's request header and opcodes */

#include "fs.h"

/* Bytes of a worker's buffer that stay resident: two pages, so that the
 * header of a request and a 4 KiB write (or any smaller request) never
 * dirty the rest.  Larger requests (writes of more than a page,
 * setxattrs of big values) are rare enough between pauses that refaulting
 * their tail after a pause costs nothing measurable. */
#define LOOP_KEEP (8u << 10)
/* How long a dirty tail is kept after its last use: far longer than the
 * gap between the requests of a stream of large writes (a 1 MiB write
 * every 1-2 ms), so a stream never refaults it; short enough that what
 * the daemon holds settles before anyone looks.  Refaulting a whole tail
 * costs about 0.2 ms, once per burst of large requests. */
#define LOOP_RELEASE_MS 100
#define LOOP_TICK_MS 50
/* The wake-up signal; its handler is empty. */
#define LOOP_SIGNAL SIGUSR2
/* What libfuse reads at most per request (fuse_session_new's bufsize,
 * whatever max_write says): FUSE_MAX_MAX_PAGES pages and a header. */
#define LOOP_MAX_PAGES 256u
#define LOOP_HEADER 4096u

struct loop_worker {
	struct zsfs_loop *lp;
	pthread_t tid;                 /* immutable once started */
	char *buf;                     /* bufsize bytes; worker only */
	size_t bufsize;
	_Atomic int waiting;           /* 1 while in receive or parked */
	_Atomic int dirty;             /* the tail past LOOP_KEEP is resident */
	_Atomic int64_t dirty_ns;      /* CLOCK_MONOTONIC of its last use */
	struct loop_worker *next;      /* protected by lp->lock */
};

struct zsfs_loop {
	struct fuse_session *se;
	unsigned max_threads;
	/* Posted by a worker that stops, and by one whose tail became
	 * dirty while the main thread may be asleep (kick). */
	sem_t wake;
	/* Posted to give a parked worker the reader role. */
	sem_t park;
	_Atomic int kick;              /* a dirty tail since the last look */
	pthread_mutex_t lock;
	/* protected by lock */
	struct loop_worker *workers;
	unsigned nworkers;
	int reader;                    /* a worker holds the reader role */
	unsigned nparked;              /* workers waiting on park */
	int stopping;                  /* no new workers */
	int error;                     /* first receive error (negative) */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void loop_signal_handler(int sig)
{
	(void)sig;
}

static void worker_release(struct loop_worker *w)
{
	if (!atomic_load(&w->dirty))
		return;
	/* Cannot fail on our own mapping; if it did, the tail stays. */
	if (madvise(w->buf + LOOP_KEEP, w->bufsize - LOOP_KEEP,
		    MADV_DONTNEED) == 0)
		atomic_store(&w->dirty, 0);
}

static int worker_start(struct zsfs_loop *lp);

/* Is another request queued on the device already? */
static int request_queued(struct fuse_session *se)
{
	struct pollfd pfd = { .fd = fuse_session_fd(se), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* Give the reader role away: to a parked worker, else to a new one (up
 * to max_threads), else to whoever finishes first. */
static void reader_handoff(struct zsfs_loop *lp)
{
	pthread_mutex_lock(&lp->lock);
	if (lp->nparked) {
		lp->nparked--;
		sem_post(&lp->park);
	} else if (lp->nworkers >= lp->max_threads || lp->stopping ||
		   worker_start(lp) < 0) {
		lp->reader = 0;
	}
	pthread_mutex_unlock(&lp->lock);
}

/* After a request handled without the role: take the role if it is free,
 * else park until it is handed over.  0, or -1 when the session ends. */
static int reader_take(struct loop_worker *w)
{
	struct zsfs_loop *lp = w->lp;

	pthread_mutex_lock(&lp->lock);
	if (!lp->reader) {
		lp->reader = 1;
		pthread_mutex_unlock(&lp->lock);
		return 0;
	}
	lp->nparked++;
	pthread_mutex_unlock(&lp->lock);
	for (;;) {
		int rc;

		atomic_store(&w->waiting, 1);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		rc = sem_wait(&lp->park);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		atomic_store(&w->waiting, 0);
		if (rc == 0)
			return 0;
		/* EINTR: LOOP_SIGNAL, or a signal that ends the session */
		worker_release(w);
		if (fuse_session_exited(lp->se))
			return -1;
	}
}

static void *worker_main(void *arg)
{
	struct loop_worker *w = arg;
	struct zsfs_loop *lp = w->lp;
	struct fuse_session *se = lp->se;
	int have_role = 1;   /* a worker starts as the reader */

	sigset_t wake;

	/* Every other signal goes to the main thread (worker_start). */
	sigemptyset(&wake);
	sigaddset(&wake, LOOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!fuse_session_exited(se)) {
		struct fuse_buf fb;
		int res;

		if (!have_role) {
			if (reader_take(w) < 0)
				break;
			have_role = 1;
			continue;  /* the session may have ended meanwhile */
		}
		memset(&fb, 0, sizeof(fb));
		fb.mem = w->buf;
		fb.size = w->bufsize;
		atomic_store(&w->waiting, 1);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		res = fuse_session_receive_buf(se, &fb);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		atomic_store(&w->waiting, 0);
		if (res == -EINTR) {
			/* LOOP_SIGNAL, or a signal that ends the session */
			worker_release(w);
			continue;
		}
		if (res <= 0) {
			if (res < 0) {
				pthread_mutex_lock(&lp->lock);
				if (!lp->error)
					lp->error = res;
				pthread_mutex_unlock(&lp->lock);
				fuse_session_exit(se);
			}
			break;
		}
		if ((size_t)res > LOOP_KEEP) {
			atomic_store(&w->dirty_ns, now_ns());
			if (!atomic_exchange(&w->dirty, 1) &&
			    !atomic_exchange(&lp->kick, 1))
				sem_post(&lp->wake);
		}
		/* more requests waiting: let another worker read them while
		 * this one handles its own */
		if (request_queued(se)) {
			reader_handoff(lp);
			have_role = 0;
		}
		fuse_session_process_buf(se, &fb);
	}
	sem_post(&lp->wake);
	return NULL;
}

/* Caller holds lp->lock. */
static int worker_start(struct zsfs_loop *lp)
{
	struct loop_worker *w;
	sigset_t all, old;
	int rc;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->lp = lp;
	w->bufsize = LOOP_MAX_PAGES * (size_t)sysconf(_SC_PAGESIZE) +
		     LOOP_HEADER;
	w->buf = mmap(NULL, w->bufsize, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->buf == MAP_FAILED) {
		free(w);
		return -ENOMEM;
	}
	atomic_init(&w->waiting, 0);
	atomic_init(&w->dirty, 0);
	atomic_init(&w->dirty_ns, 0);
	/* A worker takes only LOOP_SIGNAL: SIGTERM and the like go to the
	 * main thread, whose wait they interrupt.  The new thread inherits
	 * this full mask and opens LOOP_SIGNAL itself. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&w->tid, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		munmap(w->buf, w->bufsize);
		free(w);
		return rc;
	}
	w->next = lp->workers;
	lp->workers = w;
	lp->nworkers++;
	lp->reader = 1;  /* the new worker starts as the reader */
	return 0;
}

/* Send LOOP_SIGNAL to each worker whose tail has not been used for
 * LOOP_RELEASE_MS while it waits for a request.  Return how many tails
 * are still dirty. */
static unsigned loop_reap(struct zsfs_loop *lp)
{
	int64_t now = now_ns();
	struct loop_worker *w;
	unsigned dirty = 0;

	atomic_store(&lp->kick, 0);
	pthread_mutex_lock(&lp->lock);
	for (w = lp->workers; w; w = w->next) {
		if (!atomic_load(&w->dirty))
			continue;
		dirty++;
		if (atomic_load(&w->waiting) &&
		    now - atomic_load(&w->dirty_ns) >=
			    (int64_t)LOOP_RELEASE_MS * 1000000)
			pthread_kill(w->tid, LOOP_SIGNAL);
	}
	pthread_mutex_unlock(&lp->lock);
	return dirty;
}

int zsfs_loop_run(struct fuse_session *se, unsigned max_threads)
{
	struct zsfs_loop lp;
	struct sigaction sa, old_sa;
	struct loop_worker *w;
	unsigned dirty = 0;
	int rc;

	memset(&lp, 0, sizeof(lp));
	lp.se = se;
	lp.max_threads = max_threads ? max_threads : 1;
	atomic_init(&lp.kick, 0);
	if (sem_init(&lp.wake, 0, 0) != 0)
		return -errno;
	if (sem_init(&lp.park, 0, 0) != 0) {
		sem_destroy(&lp.wake);
		return -errno;
	}
	pthread_mutex_init(&lp.lock, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loop_signal_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;  /* no SA_RESTART: the read must return EINTR */
	if (sigaction(LOOP_SIGNAL, &sa, &old_sa) != 0) {
		rc = -errno;
		goto out_sem;
	}

	pthread_mutex_lock(&lp.lock);
	rc = worker_start(&lp);
	pthread_mutex_unlock(&lp.lock);
	if (rc < 0)
		goto out_sig;

	while (!fuse_session_exited(se)) {
		struct timespec ts;

		if (!dirty) {
			/* woken by a stopping worker, a kick or a signal */
			sem_wait(&lp.wake);
		} else {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += LOOP_TICK_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			sem_timedwait(&lp.wake, &ts);
		}
		dirty = loop_reap(&lp);
	}
	fuse_session_exit(se);

	pthread_mutex_lock(&lp.lock);
	lp.stopping = 1;
	pthread_mutex_unlock(&lp.lock);
	/* No worker starts another now; the list is fixed.  One worker at
	 * a time: a cancelled thread runs its thread-specific destructors
	 * (the pool's per-thread buffers), and two of them at once from
	 * cancellation are more than ThreadSanitizer can follow. */
	while ((w = lp.workers)) {
		lp.workers = w->next;
		pthread_cancel(w->tid);
		pthread_join(w->tid, NULL);
		munmap(w->buf, w->bufsize);
		free(w);
	}
	rc = lp.error;
	fuse_session_reset(se);
out_sig:
	sigaction(LOOP_SIGNAL, &old_sa, NULL);
out_sem:
	pthread_mutex_destroy(&lp.lock);
	sem_destroy(&lp.park);
	sem_destroy(&lp.wake);
	return rc;
}
