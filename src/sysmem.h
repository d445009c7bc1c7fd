/*
 * sysmem.h - the machine's memory and the OOM killer: MemAvailable, the
 * min_free= reserve below which new writes get ENOSPC, and the daemon's
 * oom_score_adj.
 *
 * Every file of a zsfs mount lives in the daemon.  When the machine runs
 * out of memory the kernel's OOM killer picks a process, and if it picks
 * the daemon every file is lost.  Two defences:
 *
 *  - min_free: while MemAvailable (the kernel's estimate of what can be
 *    allocated without swapping: free memory above the watermarks plus
 *    reclaimable page cache and slab) is below min_free, a write that
 *    needs new memory answers ENOSPC, as tmpfs does at its size, long
 *    before the OOM killer has to choose;
 *  - oom_score_adj: if the OOM killer must choose anyway, the daemon is
 *    the last among ordinary processes.
 *
 * Thread safety: zsfs_sysmem_update() (one thread, the compactor's poll)
 * and zsfs_sysmem_low() (any FUSE worker) may run at once: the reading is
 * kept in atomics.  The other functions keep no state.
 */
#ifndef ZSFS_SYSMEM_H
#define ZSFS_SYSMEM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * min_free's default: the larger of ZSFS_MIN_FREE_FLOOR and
 * ZSFS_MIN_FREE_RAM_PCT % of RAM.  Why: MemAvailable already excludes the
 * kernel's low watermarks, so what min_free keeps is room for everything
 * else that runs; 64 MiB is what a shell, an editor and a compiler
 * starting up take, and about what 100 ms of writes at the daemon's
 * sequential speed (~700 MB/s) bring in before the next 200 ms poll sees
 * them (half a poll on average).  On large machines 1% keeps pace with
 * the rest of the system's size (the kernel's min_free_kbytes grows with
 * RAM too).  0 turns the check off.
 */
#define ZSFS_MIN_FREE_FLOOR (UINT64_C(64) << 20)
#define ZSFS_MIN_FREE_RAM_PCT 1

/*
 * The daemon's default oom_score_adj.  The OOM killer's badness is the
 * process's resident memory (plus swap and page tables) in pages, plus
 * oom_score_adj * (RAM + swap pages) / 1000.  At -900 the daemon's score
 * is cut by 90% of the machine: any other ordinary process (adj 0) using
 * memory is chosen first, and the daemon is chosen only when it alone
 * holds nearly everything, so a runaway daemon is still killable (unlike
 * -1000, which the OOM killer never picks, and which would leave the
 * machine to panic or kill everything else first).  The same holds inside
 * a memory cgroup's OOM, which ranks the cgroup's processes alike.
 */
#define ZSFS_OOM_SCORE_ADJ_DEFAULT (-900)
#define ZSFS_OOM_SCORE_ADJ_MIN (-1000)
#define ZSFS_OOM_SCORE_ADJ_MAX 1000

#define ZSFS_SYSMEM_PATH_CAP 4096

struct zsfs_sysmem {
	uint64_t min_free;            /* bytes; 0 = check off; immutable */
	_Atomic uint64_t avail;       /* last MemAvailable, bytes */
	_Atomic int valid;            /* avail has been read at least once */
	char meminfo[ZSFS_SYSMEM_PATH_CAP]; /* ROOT/proc/meminfo; immutable */
};

/* zsfs_min_free_default() - the default min_free for @ram_bytes of RAM
 * (inline: the option parser uses it without linking this module). */
static inline uint64_t zsfs_min_free_default(uint64_t ram_bytes)
{
	uint64_t pct = ram_bytes / 100 * ZSFS_MIN_FREE_RAM_PCT;

	return pct > ZSFS_MIN_FREE_FLOOR ? pct : ZSFS_MIN_FREE_FLOOR;
}

/*
 * zsfs_meminfo_read() - MemAvailable and MemTotal from ROOT/proc/meminfo.
 * @root: "/" or NULL for the real one; a fake tree in tests.
 * @avail, @total: bytes; either may be NULL.
 * Return: 0; -errno when the file cannot be read; -ENODATA when a wanted
 *         line is missing (MemAvailable: kernels before 3.14).
 */
int zsfs_meminfo_read(const char *root, uint64_t *avail, uint64_t *total);

/*
 * zsfs_sysmem_init() - a reserve of @min_free bytes (0 = off), reading
 * ROOT/proc/meminfo.  Nothing is read yet: until the first successful
 * update, zsfs_sysmem_low() says 0.
 */
void zsfs_sysmem_init(struct zsfs_sysmem *s, const char *root,
		      uint64_t min_free);

/*
 * zsfs_sysmem_update() - read MemAvailable now (call it every compactor
 * poll; one read of /proc/meminfo, about 10 us).
 * Return: 0, or what zsfs_meminfo_read() returned; on failure the last
 *         reading stays.
 */
int zsfs_sysmem_update(struct zsfs_sysmem *s);

/*
 * zsfs_sysmem_low() - would taking @need more bytes leave less than
 * min_free available?  Pure: uses the last reading only.
 * Return: 1 = refuse (answer ENOSPC); 0 = go on, also when the check is
 *         off or nothing has been read.
 */
int zsfs_sysmem_low(const struct zsfs_sysmem *s, size_t need);

/*
 * zsfs_oom_adjust() - set ROOT/proc/self/oom_score_adj.
 * @user_set: 1 when the user chose @val (oom_score_adj=): always written.
 *            0: @val (the default) is written only when the value now is
 *            0; a non-zero value was inherited (systemd's
 *            OOMScoreAdjust=, a parent's choice) and is left alone.
 * @old:      the value found (may be NULL).
 * @msg:      on a skip or a failure, one line saying so (NUL-terminated
 *            within @msg_cap); "" when the value was written.
 * Return: 1 written; 0 left alone; -errno when reading or writing failed
 *         (-EACCES: lowering it needs CAP_SYS_RESOURCE).
 */
int zsfs_oom_adjust(const char *root, int user_set, int val, int *old,
		    char *msg, size_t msg_cap);

#endif
