/*
 * uring.c - FUSE over io_uring, spoken by zsfs itself: libfuse 3.14 (Debian
 * 12) has no support for it (libfuse 3.18 has), but it parses and answers
 * any request handed to fuse_session_process_buf(), and every reply passes
 * the transport's writev hook.  So zsfs only moves bytes between the
 * kernel's ring entries and libfuse: this file makes the rings, their
 * threads and entries and takes them down; uring_serve.c serves the
 * entries.
 *
 * Why.  A request read from /dev/fuse wakes a daemon thread wherever the
 * scheduler puts it, often on the other vCPU: about 28 us a request on
 * these machines, against 4-5 us on the caller's own.  With io_uring the
 * kernel keeps one queue per CPU and puts a request on the queue of the
 * CPU its caller runs on; the thread serving that queue is pinned to that
 * CPU, so the caller's sleep and the daemon's work share a CPU.
 *
 * Protocol (Linux 6.14+, Documentation/filesystems/fuse-io-uring.rst;
 * ABI in uring_abi.h):
 *  1. INIT comes by /dev/fuse as always.  The kernel offers
 *     FUSE_OVER_IO_URING while the fuse module's enable_uring is Y; the
 *     transport adds it to libfuse's reply (transport.c) only when the
 *     rings below exist, then calls zsfs_uring_start().  From then on the
 *     kernel holds new requests until every CPU's queue has an entry, or
 *     until a registration fails (it then falls back to /dev/fuse).
 *  2. Each queue thread registers URING_DEPTH entries (REGISTER, qid = its
 *     CPU), each a header buffer and a payload buffer of the size the
 *     kernel may need (max_write, max_pages).
 *  3. A completion with result 0 means an entry holds a request.  The
 *     thread rebuilds the byte stream /dev/fuse would have given
 *     (fuse_in_header, the per-opcode struct, the payload) right in front
 *     of the payload, without copying the payload: each entry keeps
 *     URING_GAP bytes before it for that.  Then fuse_session_process_buf().
 *  4. The handler's reply reaches the writev hook in the same thread (zsfs
 *     replies from the handler's thread, always); zsfs_uring_reply() puts
 *     it into the entry and queues COMMIT_AND_FETCH, submitted when the
 *     thread waits for the next completion.  A reply with another unique
 *     (libfuse answering an INTERRUPT) and notifications go to /dev/fuse.
 *  5. The end: at unmount the kernel completes every entry with an error
 *     and the thread ends when none is left; on SIGTERM (or when the
 *     /dev/fuse loop ends for any reason) zsfs_uring_destroy() wakes each
 *     thread through an eventfd read that sits in its ring, and closing the
 *     ring makes the kernel cancel the entries.
 *
 * Still through /dev/fuse (loop.c): INIT, FORGET and BATCH_FORGET,
 * INTERRUPT, replies to notifications, and everything before the rings are
 * ready.  The request counters count both paths (zsfs_transport_count).
 *
 * Memory.  The entries' payload buffers are mappings of max_write-ish
 * size, touched only as far as requests reach (a 4 KiB write: two pages);
 * what a large request touched is given back once no large request has
 * used it for URING_RELEASE_MS (uring_serve.c's queue_release(), and why
 * that is safe).
 * .zsctl shows the mappings as uring_buffer_bytes.
 *
 * Limits.  One thread per queue serves its requests one after another; a
 * request that takes long delays the others of that CPU (libfuse 3.18 does
 * the same).
 *
 * lock ordering: no locks.  Each queue, its ring and its entries belong to
 * its thread; the counters are atomics; start and stop are semaphores.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "uring.h"

#ifndef HAVE_LIBURING

int zsfs_uring_usable(char *why, size_t why_cap)
{
	snprintf(why, why_cap, "zsfs was built without liburing "
		 "(apt-get install liburing-dev, then configure again)");
	return 0;
}

int zsfs_uring_create(struct fuse_session *se, struct zsfs_transport *tp,
		      struct zsfs_uring **out)
{
	(void)se;
	(void)tp;
	*out = NULL;
	return -EOPNOTSUPP;
}

void zsfs_uring_start(struct zsfs_uring *u, size_t payload_cap)
{
	(void)u;
	(void)payload_cap;
}

int zsfs_uring_reply(struct zsfs_uring *u, const struct iovec *iov,
		     int count, ssize_t *n)
{
	(void)u;
	(void)iov;
	(void)count;
	(void)n;
	return 0;
}

int zsfs_uring_active(const struct zsfs_uring *u)
{
	(void)u;
	return 0;
}

void zsfs_uring_print(const struct zsfs_uring *u, FILE *f)
{
	(void)u;
	fprintf(f, "uring_queues 0\nuring_requests 0\nuring_buffer_bytes 0\n");
}

void zsfs_uring_destroy(struct zsfs_uring *u)
{
	(void)u;
}

#else /* HAVE_LIBURING */

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fs.h"
#include "uring_internal.h"

int zsfs_uring_usable(char *why, size_t why_cap)
{
	FILE *f = fopen("/sys/module/fuse/parameters/enable_uring", "r");
	int c;

	if (!f) {
		snprintf(why, why_cap, "the kernel has no FUSE over io_uring "
			 "(no /sys/module/fuse/parameters/enable_uring; Linux "
			 "6.14+ with CONFIG_FUSE_IO_URING)");
		return 0;
	}
	c = fgetc(f);
	fclose(f);
	if (c != 'Y' && c != 'y' && c != '1') {
		snprintf(why, why_cap, "FUSE over io_uring is off in the kernel "
			 "(echo Y > /sys/module/fuse/parameters/enable_uring)");
		return 0;
	}
	return 1;
}

/* How many queues the kernel makes: num_possible_cpus(), which is the
 * highest number in /sys/devices/system/cpu/possible plus one ("0-3",
 * "0"). */
static unsigned possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	char line[256], *p;
	long last = -1;

	if (f && fgets(line, sizeof(line), f)) {
		for (p = line; *p;) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			last = v;
			p = end;
			if (*p == '-' || *p == ',')
				p++;
		}
	}
	if (f)
		fclose(f);
	if (last < 0) {
		long n = sysconf(_SC_NPROCESSORS_CONF);

		return n > 0 ? (unsigned)n : 1;
	}
	return (unsigned)last + 1;
}

static int queue_arm_stop(struct uring_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, q->efd, &q->efd_val, sizeof(q->efd_val), 0);
	sqe->user_data = URING_STOP_TAG;
	return 0;
}

static int queue_ring_init(struct uring_queue *q)
{
	struct io_uring_params p;
	int rc;

	/* Not DEFER_TASKRUN: the kernel copies a request into an entry by
	 * task work in this thread; deferred task work of a thread that is
	 * gone runs only when the ring is freed, and a ring kept alive by
	 * anything else (a forked child's copy of its mappings) then holds
	 * the request, the entry and the whole connection forever (seen:
	 * the auto_unmount guard stuck in D state).  COOP_TASKRUN still
	 * spares the thread an interrupt per request. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_COOP_TASKRUN;
	rc = io_uring_queue_init_params(URING_DEPTH * 2 + 2, &q->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		rc = io_uring_queue_init_params(URING_DEPTH * 2 + 2, &q->ring,
						&p);
	}
	if (rc < 0)
		return rc;
	/* A child forked later (none does today) must not keep the ring
	 * alive after the daemon dies: see above. */
	madvise(q->ring.sq.ring_ptr, q->ring.sq.ring_sz, MADV_DONTFORK);
	if (q->ring.cq.ring_ptr != q->ring.sq.ring_ptr)
		madvise(q->ring.cq.ring_ptr, q->ring.cq.ring_sz, MADV_DONTFORK);
	madvise(q->ring.sq.sqes, (size_t)p.sq_entries * 128, MADV_DONTFORK);
	q->efd = eventfd(0, EFD_CLOEXEC);
	if (q->efd < 0) {
		rc = -errno;
		io_uring_queue_exit(&q->ring);
		return rc;
	}
	q->ring_ok = 1;
	return 0;
}

static void queue_free_entries(struct uring_queue *q)
{
	unsigned i;

	for (i = 0; i < URING_DEPTH; i++) {
		struct uring_ent *e = &q->ent[i];

		if (!e->map)
			continue;
		munmap(e->map, e->map_len);
		atomic_fetch_sub(&q->u->mapped, e->map_len);
		e->map = NULL;
	}
}

/* Map the entries and hand them to the kernel.  0, or a negative errno:
 * the kernel refused (it then serves /dev/fuse) or memory ran out. */
static int queue_register(struct uring_queue *q)
{
	struct zsfs_uring *u = q->u;
	long page = sysconf(_SC_PAGESIZE);
	struct io_uring_cqe *cqe;
	unsigned i;
	int rc = 0;

	for (i = 0; i < URING_DEPTH; i++) {
		struct uring_ent *e = &q->ent[i];

		e->q = q;
		e->map_len = (size_t)page + URING_GAP + u->payload_cap;
		e->map = mmap(NULL, e->map_len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (e->map == MAP_FAILED) {
			e->map = NULL;
			return -ENOMEM;
		}
		madvise(e->map, e->map_len, MADV_DONTFORK);
		atomic_fetch_add(&u->mapped, e->map_len);
		e->hdr = (struct zsfs_uring_req_header *)e->map;
		e->payload = e->map + page + URING_GAP;
		e->iov[0].iov_base = e->hdr;
		e->iov[0].iov_len = sizeof(*e->hdr);
		e->iov[1].iov_base = e->payload;
		e->iov[1].iov_len = u->payload_cap;
	}
	for (i = 0; i < URING_DEPTH; i++) {
		rc = uring_entry_cmd(&q->ent[i], ZSFS_FUSE_IO_URING_CMD_REGISTER, 0);
		if (rc < 0)
			return rc;
		q->ent[i].live = 1;
		q->live++;
	}
	rc = queue_arm_stop(q);
	if (rc < 0)
		return rc;
	rc = io_uring_submit(&q->ring);
	if (rc < 0)
		return rc;
	/* A refused registration completes at once; an accepted one only
	 * when a request arrives. */
	rc = 0;
	while (io_uring_peek_cqe(&q->ring, &cqe) == 0) {
		struct uring_ent *e = (void *)(uintptr_t)cqe->user_data;

		if (cqe->res < 0 && e) {
			rc = cqe->res;
			e->live = 0;
			q->live--;
			io_uring_cqe_seen(&q->ring, cqe);
			continue;
		}
		break; /* a request already: uring_queue_run() takes it */
	}
	return rc;
}

static void *queue_main(void *arg)
{
	struct uring_queue *q = arg;
	struct zsfs_uring *u = q->u;
	cpu_set_t set;
	int rc;

	/* Best effort: a CPU outside this process's cpuset still gets its
	 * queue (the kernel wants one per possible CPU), just not pinned. */
	CPU_ZERO(&set);
	CPU_SET(q->qid, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);

	rc = queue_ring_init(q);
	if (rc < 0) {
		fuse_log(FUSE_LOG_ERR, "zsfs: io_uring ring for CPU %u: %s\n",
			 q->qid, strerror(-rc));
		atomic_fetch_add(&u->failed, 1);
	}
	sem_post(&u->ready);
	while (sem_wait(&u->go) != 0)
		;
	if (rc < 0 || atomic_load(&u->stopping) || !u->payload_cap)
		goto out;
	rc = queue_register(q);
	if (rc < 0) {
		fuse_log(FUSE_LOG_ERR, "zsfs: io_uring queue %u: registration "
			 "refused (%s); requests stay on /dev/fuse\n", q->qid,
			 strerror(-rc));
		goto out;
	}
	atomic_fetch_add(&u->registered, 1);
	uring_queue_run(q);
out:
	/* the eventfd stays open until zsfs_uring_destroy() has joined us:
	 * it may write to it at any time before */
	if (q->ring_ok) {
		io_uring_queue_exit(&q->ring);
		q->ring_ok = 0;
	}
	queue_free_entries(q);
	return NULL;
}

int zsfs_uring_create(struct fuse_session *se, struct zsfs_transport *tp,
		      struct zsfs_uring **out)
{
	struct zsfs_uring *u;
	sigset_t all, old;
	unsigned i, started = 0;
	int rc = 0;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->se = se;
	u->tp = tp;
	u->fd = fuse_session_fd(se);
	u->nqueues = possible_cpus();
	u->q = calloc(u->nqueues, sizeof(*u->q));
	if (!u->q) {
		free(u);
		return -ENOMEM;
	}
	sem_init(&u->ready, 0, 0);
	sem_init(&u->go, 0, 0);
	/* Signals (SIGTERM and the like) go to the main thread; loop.c's
	 * workers are made the same way. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < u->nqueues; i++) {
		u->q[i].u = u;
		u->q[i].qid = i;
		u->q[i].efd = -1;
	}
	for (i = 0; i < u->nqueues; i++) {
		rc = -pthread_create(&u->q[i].tid, NULL, queue_main, &u->q[i]);
		if (rc < 0)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < started; i++)
		while (sem_wait(&u->ready) != 0)
			;
	if (rc == 0 && atomic_load(&u->failed))
		rc = -EIO;
	if (rc < 0) {
		atomic_store(&u->stopping, 1);
		for (i = 0; i < started; i++)
			sem_post(&u->go);
		for (i = 0; i < started; i++)
			pthread_join(u->q[i].tid, NULL);
		goto out_free;
	}
	*out = u;
	return 0;

out_free:
	for (i = 0; i < u->nqueues; i++)
		if (u->q[i].efd >= 0)
			close(u->q[i].efd);
	sem_destroy(&u->go);
	sem_destroy(&u->ready);
	free(u->q);
	free(u);
	return rc;
}

void zsfs_uring_start(struct zsfs_uring *u, size_t payload_cap)
{
	unsigned i;

	if (!u || atomic_exchange(&u->started, 1))
		return;
	u->payload_cap = payload_cap;
	/* sem_post orders the write above before each thread's sem_wait */
	for (i = 0; i < u->nqueues; i++)
		sem_post(&u->go);
}

int zsfs_uring_active(const struct zsfs_uring *u)
{
	return u && atomic_load(&u->registered) == u->nqueues;
}

void zsfs_uring_print(const struct zsfs_uring *u, FILE *f)
{
	fprintf(f, "uring_queues %u\n", zsfs_uring_active(u) ? u->nqueues : 0);
	fprintf(f, "uring_requests %llu\n", u ? (unsigned long long)
		atomic_load_explicit(&u->served, memory_order_relaxed) : 0ULL);
	fprintf(f, "uring_buffer_bytes %zu\n", u ? atomic_load(&u->mapped) : 0);
}

void zsfs_uring_destroy(struct zsfs_uring *u)
{
	uint64_t one = 1;
	unsigned i;

	if (!u)
		return;
	atomic_store(&u->stopping, 1);
	if (!atomic_exchange(&u->started, 1))
		for (i = 0; i < u->nqueues; i++)
			sem_post(&u->go);
	for (i = 0; i < u->nqueues; i++) {
		/* a thread past registration waits in its ring: the eventfd
		 * read completes; one that ended already ignores it */
		if (u->q[i].efd >= 0) {
			/* an eventfd write of 1 does not fail */
			ssize_t w = write(u->q[i].efd, &one, sizeof(one));

			(void)w;
		}
		pthread_join(u->q[i].tid, NULL);
		if (u->q[i].efd >= 0)
			close(u->q[i].efd);
	}
	if (atomic_load(&u->noreply))
		fuse_log(FUSE_LOG_ERR, "zsfs: io_uring: %llu requests had no "
			 "reply from libfuse\n",
			 (unsigned long long)atomic_load(&u->noreply));
	sem_destroy(&u->go);
	sem_destroy(&u->ready);
	free(u->q);
	free(u);
}

#endif /* HAVE_LIBURING */
