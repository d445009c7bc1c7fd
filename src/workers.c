/*
 * workers.c - the store's helper threads.
 *
 * A store has up to ZSFS_THREADS_MAX - 1 helpers (params.threads),
 * started at the first job, stopped by zsfs_store_destroy().  A job
 * (struct store_job) is work that any number of threads can share: the
 * caller queues it, wakes the helpers, runs job->run itself, and waits
 * until every helper that joined has left it.  job->run claims parts of
 * the work until none is left, so the caller never waits for a helper to
 * start, and when no helper could be made the caller does it all.  The
 * helpers know nothing of pages: pagejob.c gives them page encodes and
 * decodes.  A helper joins the newest queued job; a job leaves the queue
 * when a thread running it finds no part left.
 *
 * Called by: pagestore.c (workers_init, workers_fini at store create and
 * destroy), pagejob.c (job_share).
 *
 * lock ordering:
 *	wk->lock    (leaf: the job queue, helper count, start and stop)
 * job->run is called without it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "store_internal.h"

int workers_init(struct store_workers *wk, unsigned threads)
{
	int rc;

	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > ZSFS_THREADS_MAX)
		threads = ZSFS_THREADS_MAX;
	wk->want = threads - 1;
	rc = -pthread_mutex_init(&wk->lock, NULL);
	if (rc)
		return rc;
	rc = -pthread_cond_init(&wk->wake, NULL);
	if (rc)
		goto err_lock;
	rc = -pthread_cond_init(&wk->idle, NULL);
	if (rc)
		goto err_wake;
	return 0;

err_wake:
	pthread_cond_destroy(&wk->wake);
err_lock:
	pthread_mutex_destroy(&wk->lock);
	return rc;
}

/* Take @job off the queue if it is still there.  Caller holds wk->lock. */
static void job_dequeue(struct store_workers *wk, struct store_job *job)
{
	struct store_job **pp = &wk->jobs;

	if (!job->queued)
		return;
	while (*pp != job)
		pp = &(*pp)->next;
	*pp = job->next;
	job->queued = false;
}

static void *worker_main(void *arg)
{
	struct store_workers *wk = arg;
	struct store_job *job;

	pthread_mutex_lock(&wk->lock);
	for (;;) {
		while (!wk->stop && !wk->jobs)
			pthread_cond_wait(&wk->wake, &wk->lock);
		if (wk->stop)
			break;
		job = wk->jobs;
		job->active++;
		pthread_mutex_unlock(&wk->lock);
		job->run(job);
		pthread_mutex_lock(&wk->lock);
		/* No chunk left: nobody else need join it. */
		job_dequeue(wk, job);
		if (--job->active == 0)
			pthread_cond_broadcast(&wk->idle);
	}
	pthread_mutex_unlock(&wk->lock);
	return NULL;
}

/* Start the helpers once.  Fewer (none) when threads cannot be made:
 * the callers then do all the work. */
static void workers_start(struct store_workers *wk)
{
	pthread_mutex_lock(&wk->lock);
	if (!wk->started) {
		wk->started = true;
		while (wk->nthreads < wk->want &&
		       pthread_create(&wk->th[wk->nthreads], NULL, worker_main,
				      wk) == 0)
			wk->nthreads++;
	}
	pthread_mutex_unlock(&wk->lock);
}

void workers_fini(struct store_workers *wk)
{
	unsigned i;

	pthread_mutex_lock(&wk->lock);
	wk->stop = true;
	pthread_cond_broadcast(&wk->wake);
	pthread_mutex_unlock(&wk->lock);
	for (i = 0; i < wk->nthreads; i++)
		pthread_join(wk->th[i], NULL);
	pthread_cond_destroy(&wk->idle);
	pthread_cond_destroy(&wk->wake);
	pthread_mutex_destroy(&wk->lock);
}

/* Queue @job for the helpers, run it here too, wait for the helpers in it. */
void job_share(struct store_workers *wk, struct store_job *job)
{
	workers_start(wk);
	pthread_mutex_lock(&wk->lock);
	if (wk->nthreads) {
		job->next = wk->jobs;
		wk->jobs = job;
		job->queued = true;
		pthread_cond_broadcast(&wk->wake);
	}
	pthread_mutex_unlock(&wk->lock);
	job->run(job);
	pthread_mutex_lock(&wk->lock);
	job_dequeue(wk, job);
	while (job->active)
		pthread_cond_wait(&wk->idle, &wk->lock);
	pthread_mutex_unlock(&wk->lock);
}
