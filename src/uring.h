/*
 * uring.h - FUSE over io_uring for libfuse 3.14: one ring per CPU, served
 * by a thread pinned to that CPU, next to the /dev/fuse loop (loop.c)
 * that still carries INIT, FORGET, INTERRUPT and notifications.  See
 * uring.c for the protocol and the life cycle.
 *
 * Built without liburing, every function is a stub: zsfs_uring_usable()
 * says why, zsfs_uring_create() fails with -EOPNOTSUPP.
 */
#ifndef ZSFS_URING_H
#define ZSFS_URING_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

struct fuse_session;
struct zsfs_transport;
struct zsfs_uring;

/* Can this process use FUSE over io_uring at all: built with liburing,
 * and the kernel's fuse module has enable_uring=Y?  1 = yes; 0 = no, with
 * the reason in @why (@why_cap bytes). */
int zsfs_uring_usable(char *why, size_t why_cap);

/*
 * zsfs_uring_create() - make one ring and one thread per possible CPU,
 * before the kernel's INIT arrives.  The threads wait for
 * zsfs_uring_start().  Call after fuse_daemonize() (threads do not
 * survive a fork) and with the transport attached.
 * Return: 0 and *@out, or a negative errno (nothing is left behind; the
 * mount then stays on /dev/fuse).
 */
int zsfs_uring_create(struct fuse_session *se, struct zsfs_transport *tp,
		      struct zsfs_uring **out);

/* Called once by the transport after the INIT reply reached the kernel:
 * with @payload_cap the largest payload the kernel may send or accept
 * (0 = the reply did not ask for io_uring: the threads just end). */
void zsfs_uring_start(struct zsfs_uring *u, size_t payload_cap);

/* The writev hook's first stop: if this thread is serving a ring request
 * and @iov is its reply, put the reply into the ring entry, queue the
 * commit, set *@n to the bytes taken and return 1 (or -1 with errno set
 * when the reply does not fit).  0 = not ours: write it to /dev/fuse. */
int zsfs_uring_reply(struct zsfs_uring *u, const struct iovec *iov,
		     int count, ssize_t *n);

/* Every queue has its entries registered: requests come by the rings. */
int zsfs_uring_active(const struct zsfs_uring *u);

/* "uring_queues N", "uring_requests N", "uring_buffer_bytes N" (@u may be
 * NULL: zeros). */
void zsfs_uring_print(const struct zsfs_uring *u, FILE *f);

/* Stop the threads (a request being served is answered first) and free
 * everything.  Accepts NULL.  Call before fuse_session_reset(). */
void zsfs_uring_destroy(struct zsfs_uring *u);

#endif
