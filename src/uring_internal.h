/*
 * uring_internal.h - what uring.c (the rings' life cycle) and
 * uring_serve.c (serving the entries) share.  Everything here belongs to
 * one queue's thread unless its comment says otherwise.
 */
#ifndef ZSFS_URING_INTERNAL_H
#define ZSFS_URING_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>

#include "uring.h"
#include "uring_abi.h"

/* Entries per queue.  One thread serves a queue, so a second entry adds no
 * parallelism; it lets the kernel place the next request of this CPU while
 * the thread still works on one, and both come back from one wait. */
#define URING_DEPTH 2
/* Room in front of an entry's payload for the fuse_in_header and the
 * per-opcode struct (at most ZSFS_FUSE_URING_OP_IN_OUT_SZ bytes), so
 * that libfuse gets one contiguous request.  A page, so the payload stays
 * page-aligned. */
#define URING_GAP 4096u
/* user_data of the stop eventfd's read; entries use their address */
#define URING_STOP_TAG 0
/* As loop.c does with its buffers: the payload past URING_KEEP bytes
 * that a large request or reply touched is given back (MADV_DONTNEED)
 * once no large request or reply has used it for URING_RELEASE_MS (small
 * ones meanwhile do not count), so a stream of large writes keeps it and
 * an idle daemon holds two pages per entry. */
#define URING_KEEP (8u << 10)
#define URING_RELEASE_MS 100

struct uring_ent {
	struct uring_queue *q;
	char *map;                  /* header page, gap, payload */
	size_t map_len;
	struct zsfs_uring_req_header *hdr;
	char *payload;
	struct iovec iov[2];        /* what REGISTER points the kernel to */
	uint64_t unique;            /* the request being served */
	int replied;                /* its reply has been queued */
	int live;                   /* the kernel holds it or we serve it */
	int dirty;                  /* payload past URING_KEEP resident */
	int64_t dirty_ns;           /* CLOCK_MONOTONIC of its last large use */
};

struct uring_queue {
	struct zsfs_uring *u;
	unsigned qid;               /* = the CPU it serves */
	pthread_t tid;
	/* the rest: this queue's thread only */
	struct io_uring ring;
	int ring_ok;
	int efd;                    /* stop eventfd, -1 when none */
	uint64_t efd_val;
	unsigned live;              /* live entries */
	int dirty;                  /* some entry is */
	struct uring_ent ent[URING_DEPTH];
};

struct zsfs_uring {
	struct fuse_session *se;
	struct zsfs_transport *tp;
	int fd;                     /* the session's /dev/fuse fd */
	unsigned nqueues;           /* the kernel's: possible CPUs */
	struct uring_queue *q;      /* immutable after create */
	size_t payload_cap;         /* written before go is posted */
	sem_t ready;                /* a queue's ring is made (or failed) */
	sem_t go;                   /* start or stop: one post per queue */
	_Atomic int started;        /* zsfs_uring_start() ran */
	_Atomic int stopping;
	_Atomic int failed;         /* queues whose ring could not be made */
	_Atomic unsigned registered;/* queues whose entries the kernel took */
	_Atomic uint64_t served;    /* requests served from the rings */
	_Atomic uint64_t noreply;   /* ... that got no reply from libfuse */
	_Atomic size_t mapped;      /* bytes of entry buffers mapped */
};

/* uring_serve.c */

/* Queue an IORING_OP_URING_CMD (@cmd_op: REGISTER or COMMIT_AND_FETCH)
 * for @e; submitted with the next wait.  0 or -EBUSY (no SQE: a bug). */
int uring_entry_cmd(struct uring_ent *e, uint32_t cmd_op, uint64_t commit_id);

/* Serve completions until the stop eventfd fires or the kernel has taken
 * every entry back (unmount). */
void uring_queue_run(struct uring_queue *q);

#endif
