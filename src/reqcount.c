/*
 * reqcount.c - what each incoming request tells before libfuse parses
 * it: its opcode is counted (the req_<op> lines of .zsctl), a write's
 * kill-suid/sgid flag is kept for the handler in the same thread, and
 * INIT's offer is noted for the reply.  Both transports call it: the
 * /dev/fuse read hook (transport.c) and the rings (uring_serve.c); it
 * calls nothing of theirs.
 *
 * lock ordering: no locks; the counters and flags are atomics, the write
 * flag a thread-local.
 */
#include "config.h"

#include <stddef.h>
#include <linux/fuse.h>

#include "transport.h"

static _Thread_local uint32_t tp_write_flags;

uint32_t zsfs_transport_write_flags(void)
{
	return tp_write_flags;
}

void zsfs_transport_count(struct zsfs_transport *tp, const void *buf,
			  size_t len)
{
	const struct fuse_in_header *h = buf;
	size_t n = len;
	uint32_t op;

	tp_write_flags = 0;
	if (n < sizeof(*h))
		return;
	op = h->opcode;
	atomic_fetch_add_explicit(&tp->req[op <= ZSFS_TP_MAX_OPCODE ? op : 0],
				  1, memory_order_relaxed);
	if (op == FUSE_WRITE &&
	    n >= sizeof(*h) + offsetof(struct fuse_write_in, lock_owner)) {
		const struct fuse_write_in *w = (const void *)(h + 1);

		tp_write_flags = w->write_flags;
	} else if (op == FUSE_INIT &&
		   n >= sizeof(*h) + offsetof(struct fuse_init_in,
					      flags) + 4) {
		const struct fuse_init_in *in = (const void *)(h + 1);

		atomic_store(&tp->kernel_flags, in->flags);
		if ((in->flags & FUSE_INIT_EXT) &&
		    n >= sizeof(*h) + offsetof(struct fuse_init_in, flags2) + 4)
			atomic_store(&tp->kernel_flags2, in->flags2);
		atomic_store(&tp->init_unique, h->unique);
	}
}
