/*
 * memcg.h - the memory limit of the cgroup the daemon runs in.
 *
 * A daemon inside a memory cgroup (a systemd unit with MemoryMax=, a
 * container with a memory limit) is killed by the kernel's OOM killer
 * when the cgroup's usage reaches its limit, whatever size= says.  This
 * module finds that limit so that the cap can follow it:
 *
 *   zsfs_memcg_open()  once: reads ROOT/proc/self/cgroup and
 *                      ROOT/proc/self/mountinfo, finds the cgroup of the
 *                      memory controller (v1 "memory" hierarchy, else the
 *                      v2 unified one) and remembers the limit files of it
 *                      and of every ancestor up to the mount's root;
 *   zsfs_memcg_read()  as often as wanted (every compactor poll): re-reads
 *                      only those few small files and returns the smallest
 *                      limit, the cgroup's usage and where the limit came
 *                      from.
 *
 * v1: memory.limit_in_bytes of the cgroup and of each ancestor (the
 * kernel charges a page to every level, so the smallest limit on the path
 * is the one that bites); the "unlimited" value (LONG_MAX rounded down to
 * a page) means none.  v2: memory.max and memory.high of each level
 * ("max" means none; memory.high is not an OOM limit, but above it the
 * kernel throttles the cgroup's allocations hard, which for a filesystem
 * daemon is as bad).  memory.memsw.* / memory.swap.* are not read: a pool
 * of compressed pages is mostly not swappable anyway.
 *
 * The paths are resolved once: a process moved to another cgroup after
 * open keeps reading its old cgroup's files until it opens again.  A limit
 * file that disappears (a v2 level without the memory controller, a
 * removed cgroup) is skipped.
 *
 * Thread safety: a struct zsfs_memcg is immutable after open; any number
 * of threads may call zsfs_memcg_read() on it at once.
 */
#ifndef ZSFS_MEMCG_H
#define ZSFS_MEMCG_H

#include <stdint.h>

struct zsfs_memcg;

#define ZSFS_MEMCG_SOURCE_CAP 512

struct zsfs_memcg_reading {
	uint64_t limit;    /* effective limit in bytes; 0 = none */
	uint64_t usage;    /* the cgroup's usage in bytes, if has_usage */
	int has_usage;     /* v1 memory.usage_in_bytes / v2 memory.current read */
	int version;       /* 1 or 2; 0 = no memory cgroup found */
	/* One line, e.g. "cgroup v1 /sys/fs/cgroup/memory/foo/memory.limit_in_bytes",
	 * "cgroup v2 /sys/fs/cgroup/a.slice/memory.max: no limit" (the leaf's
	 * file when no level has a limit), or "no memory cgroup".  Paths are
	 * as the system sees them (without the root given to open). */
	char source[ZSFS_MEMCG_SOURCE_CAP];
};

/*
 * zsfs_memcg_open() - find the daemon's memory cgroup.
 * @root: the directory standing for "/" ("/" or NULL in the daemon; a
 *        fake tree in the tests).
 * @out:  the new context; also when no memory cgroup is found (then every
 *        read says version 0, limit 0).
 * Return: 0, or -ENOMEM.  Never fails for a missing or odd /proc or
 *         cgroup mount: that is "no memory cgroup".
 */
int zsfs_memcg_open(const char *root, struct zsfs_memcg **out);

/*
 * zsfs_memcg_read() - read the current limit and usage.
 * Opens and reads one small file per level of the cgroup path (two on
 * v2) and the usage file: a few microseconds, no allocation.
 * Return: 0 (@r filled); -EINVAL when @mc or @r is NULL.
 */
int zsfs_memcg_read(const struct zsfs_memcg *mc, struct zsfs_memcg_reading *r);

/* zsfs_memcg_close() - free; NULL is accepted. */
void zsfs_memcg_close(struct zsfs_memcg *mc);

#endif
