/*
 * uring_serve.c - serving FUSE-over-io_uring entries: a completed entry
 * becomes the byte stream libfuse expects from /dev/fuse, the handler's
 * reply goes back into the entry with COMMIT_AND_FETCH, and what large
 * requests made resident is given back when they stop.  The protocol and
 * the life cycle are described in uring.c.
 *
 * lock ordering: no locks; each queue is its thread's alone, the
 * counters are atomics.
 */
#include "config.h"

#ifdef HAVE_LIBURING

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/fuse.h>

#include "fs.h"
#include "uring_internal.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void entry_dirty(struct uring_ent *e)
{
	e->dirty = e->q->dirty = 1;
	e->dirty_ns = now_ns();
}

/* The entry this thread is serving; set around fuse_session_process_buf. */
static _Thread_local struct uring_ent *uring_cur;

static struct io_uring_sqe *queue_sqe(struct uring_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	/* The SQ has room for every entry and the eventfd read, and each
	 * has at most one SQE outstanding: only a bug gets here. */
	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

/* An IORING_OP_URING_CMD for @e; liburing 2.3 has no helper for it, and
 * its SQE128 command area is the 80 bytes after the first 48. */
int uring_entry_cmd(struct uring_ent *e, uint32_t cmd_op, uint64_t commit_id)
{
	struct uring_queue *q = e->q;
	struct io_uring_sqe *sqe = queue_sqe(q);
	struct zsfs_uring_cmd_req *req;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->u->fd;
	sqe->cmd_op = cmd_op;
	sqe->addr = (uint64_t)(uintptr_t)e->iov;
	sqe->len = 2;
	sqe->user_data = (uint64_t)(uintptr_t)e;
	req = (struct zsfs_uring_cmd_req *)sqe->cmd;
	req->commit_id = commit_id;
	req->qid = (uint16_t)q->qid;
	return 0;
}

/* Answer a request libfuse could not have been given. */
static void entry_fail(struct uring_ent *e, int err)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh),
		.error = -err,
		.unique = e->unique,
	};

	memcpy(e->hdr->in_out, &oh, sizeof(oh));
	e->hdr->ring_ent_in_out.payload_sz = 0;
	uring_entry_cmd(e, ZSFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH, e->unique);
	e->replied = 1;
}

static void entry_serve(struct uring_ent *e)
{
	struct zsfs_uring *u = e->q->u;
	struct fuse_in_header in;
	struct fuse_buf fb;
	uint32_t psz = e->hdr->ring_ent_in_out.payload_sz;
	size_t oplen;
	char *start;

	memcpy(&in, e->hdr->in_out, sizeof(in));
	e->unique = e->hdr->ring_ent_in_out.commit_id;
	e->replied = 0;
	if (in.len < sizeof(in) + (size_t)psz || psz > u->payload_cap ||
	    in.len - sizeof(in) - psz > ZSFS_FUSE_URING_OP_IN_OUT_SZ) {
		fuse_log(FUSE_LOG_ERR, "zsfs: io_uring request %llu opcode %u: "
			 "length %u does not fit its entry (payload %u)\n",
			 (unsigned long long)e->unique, in.opcode, in.len, psz);
		entry_fail(e, EIO);
		return;
	}
	oplen = in.len - sizeof(in) - psz;
	if (psz > URING_KEEP)
		entry_dirty(e);
	start = e->payload - sizeof(in) - oplen;
	memcpy(start, &in, sizeof(in));
	memcpy(start + sizeof(in), e->hdr->op_in, oplen);
	zsfs_transport_count(u->tp, start, in.len);
	atomic_fetch_add_explicit(&u->served, 1, memory_order_relaxed);

	memset(&fb, 0, sizeof(fb));
	fb.mem = start;
	fb.size = in.len;
	uring_cur = e;
	fuse_session_process_buf(u->se, &fb);
	uring_cur = NULL;
	if (!e->replied) {
		/* No request that comes by the ring goes unanswered in zsfs
		 * (FORGETs come by /dev/fuse); should one, the entry would be
		 * lost to the kernel: answer it. */
		atomic_fetch_add_explicit(&u->noreply, 1, memory_order_relaxed);
		entry_fail(e, EIO);
	}
}

int zsfs_uring_reply(struct zsfs_uring *u, const struct iovec *iov,
		     int count, ssize_t *n)
{
	struct uring_ent *e = uring_cur;
	const struct fuse_out_header *oh;
	size_t len = 0, extra;
	int i;

	if (!e || e->q->u != u || count < 1 ||
	    iov[0].iov_len < sizeof(*oh))
		return 0;
	oh = iov[0].iov_base;
	if (oh->unique != e->unique || e->replied)
		return 0;
	/* the body: whatever follows the header in iov[0], then the rest */
	extra = iov[0].iov_len - sizeof(*oh);
	for (i = 1; i < count; i++)
		len += iov[i].iov_len;
	if (extra + len > u->payload_cap) {
		fuse_log(FUSE_LOG_ERR, "zsfs: io_uring reply of %zu bytes to "
			 "request %llu exceeds the entry's %zu\n", extra + len,
			 (unsigned long long)e->unique, u->payload_cap);
		entry_fail(e, EIO);
		errno = EINVAL;
		return -1;
	}
	memcpy(e->hdr->in_out, oh, sizeof(*oh));
	memcpy(e->payload, (const char *)iov[0].iov_base + sizeof(*oh), extra);
	len = extra;
	for (i = 1; i < count; i++) {
		memcpy(e->payload + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	e->hdr->ring_ent_in_out.payload_sz = (uint32_t)len;
	if (len > URING_KEEP)
		entry_dirty(e);
	if (uring_entry_cmd(e, ZSFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH,
		      e->unique) < 0) {
		errno = EIO;
		return -1;
	}
	e->replied = 1;
	*n = (ssize_t)(sizeof(*oh) + len);
	return 1;
}

/*
 * Give back the payload tails not used by a large request or reply for
 * URING_RELEASE_MS; return the nanoseconds until the next one is due (0:
 * none dirty).  The caller has just submitted every queued commit: the
 * kernel copies a reply out of its entry during that submit, in this
 * thread.  The entries are the kernel's now, but it writes into them only
 * in this thread's context (the commit's fetch, or task work, run when
 * the thread is in the kernel: never during the madvise itself, at the
 * earliest on its way out, into fresh zero pages), and a request it has
 * already put into an entry has its completion in the CQ ring: with the
 * ring empty, no entry holds a request that the drop could lose.
 */
static int64_t queue_release(struct uring_queue *q)
{
	int64_t now = now_ns(), next = 0;
	unsigned i;

	if (io_uring_cq_ready(&q->ring))
		return 1; /* served first; looked at again right after */
	q->dirty = 0;
	for (i = 0; i < URING_DEPTH; i++) {
		struct uring_ent *e = &q->ent[i];
		int64_t due;

		if (!e->dirty || !e->map)
			continue;
		due = e->dirty_ns + (int64_t)URING_RELEASE_MS * 1000000 - now;
		/* madvise cannot fail on our own mapping; if it did, the
		 * tail stays and is tried again */
		if (due <= 0 && madvise(e->payload + URING_KEEP,
					q->u->payload_cap - URING_KEEP,
					MADV_DONTNEED) == 0) {
			e->dirty = 0;
			continue;
		}
		if (due <= 0)
			due = (int64_t)URING_RELEASE_MS * 1000000;
		q->dirty = 1;
		if (!next || due < next)
			next = due;
	}
	return next;
}

void uring_queue_run(struct uring_queue *q)
{
	int stop = 0;

	while (!stop && q->live) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc;

		if (q->dirty) {
			struct __kernel_timespec ts = { 0 };
			int64_t due;

			io_uring_submit(&q->ring);
			due = queue_release(q);
			ts.tv_sec = due / 1000000000;
			ts.tv_nsec = due % 1000000000;
			if (due)
				rc = io_uring_submit_and_wait_timeout(&q->ring,
						&cqe, 1, &ts, NULL);
			else
				rc = io_uring_submit_and_wait(&q->ring, 1);
			if (rc == -ETIME)
				continue;
		} else {
			rc = io_uring_submit_and_wait(&q->ring, 1);
		}
		if (rc < 0 && rc != -EINTR) {
			fuse_log(FUSE_LOG_ERR, "zsfs: io_uring queue %u: %s\n",
				 q->qid, strerror(-rc));
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			struct uring_ent *e = (void *)(uintptr_t)cqe->user_data;

			seen++;
			if (cqe->user_data == LIBURING_UDATA_TIMEOUT) {
				/* liburing's own, on kernels without EXT_ARG */
			} else if (!e) {
				stop = 1;
			} else if (cqe->res < 0) {
				/* torn down: unmount, abort, ring closing */
				if (e->live) {
					e->live = 0;
					q->live--;
				}
			} else {
				entry_serve(e);
			}
		}
		io_uring_cq_advance(&q->ring, seen);
	}
	/* commits queued while serving the last batch */
	io_uring_submit(&q->ring);
}

#endif /* HAVE_LIBURING */
