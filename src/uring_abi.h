/*
 * uring_abi.h - the kernel's FUSE-over-io_uring ABI (FUSE protocol 7.42,
 * Linux 6.14), written out here because Debian 12's linux-libc-dev (6.1)
 * predates it.  Names carry a zsfs_/ZSFS_ prefix so that a newer
 * <linux/fuse.h> with its own definitions cannot clash with these; the
 * layouts are the kernel's and are checked with static asserts below.
 *
 * One ring entry is two user buffers, registered with the kernel:
 *  - the header buffer (struct zsfs_uring_req_header): the request's
 *    fuse_in_header in in_out, its per-opcode argument struct (fuse_write_in
 *    and the like, in_args[0] of the kernel's request) in op_in, and
 *    ent_in_out: the commit id and how many payload bytes follow;
 *  - the payload buffer: the request's remaining arguments (names, write
 *    data) on the way in, and the whole reply body on the way out (the
 *    reply's fuse_out_header goes into in_out).
 * Commands travel in IORING_OP_URING_CMD SQEs on the /dev/fuse fd, with a
 * struct zsfs_uring_cmd_req in the SQE's command area (SQE128 rings only).
 */
#ifndef ZSFS_URING_ABI_H
#define ZSFS_URING_ABI_H

#include <stdint.h>

/* INIT flag (fuse_init_in/out flags2, bit 41 of the 64-bit flags): the
 * kernel offers it while /sys/module/fuse/parameters/enable_uring is Y;
 * a daemon that sets it in its reply must register ring entries, since
 * the kernel holds every new request until each CPU's queue has one (or
 * a registration fails, which falls back to /dev/fuse). */
#define ZSFS_FUSE_OVER_IO_URING_FLAGS2 (1u << (41 - 32))

#define ZSFS_FUSE_URING_IN_OUT_HEADER_SZ 128
#define ZSFS_FUSE_URING_OP_IN_OUT_SZ 128

struct zsfs_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;   /* the request's unique; echoed by the commit */
	uint32_t payload_sz;  /* bytes used in the payload buffer */
	uint32_t padding;
	uint64_t reserved;
};

struct zsfs_uring_req_header {
	char in_out[ZSFS_FUSE_URING_IN_OUT_HEADER_SZ];
	char op_in[ZSFS_FUSE_URING_OP_IN_OUT_SZ];
	struct zsfs_uring_ent_in_out ring_ent_in_out;
};

/* sqe->cmd_op */
enum {
	ZSFS_FUSE_IO_URING_CMD_REGISTER = 1,         /* hand an entry over */
	ZSFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2, /* reply, take the next */
};

/* The SQE's 80-byte command area. */
struct zsfs_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;         /* the queue: the CPU it serves */
	uint8_t padding[6];
};

_Static_assert(sizeof(struct zsfs_uring_ent_in_out) == 32, "fuse ABI");
_Static_assert(sizeof(struct zsfs_uring_req_header) == 288, "fuse ABI");
_Static_assert(sizeof(struct zsfs_uring_cmd_req) == 24, "fuse ABI");

#endif
