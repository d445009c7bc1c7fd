/*
 * options.h - the daemon's mount options, parsed by a pure function.
 *
 * zsfs_options_parse() takes the text of one or more "-o" arguments
 * ("size=64m,mode=755,compress=zstd:3,rw,nosuid") and fills a struct
 * zsfs_options.  It does no I/O and touches no global state, so unit tests
 * and the fuzzer call it directly.  Options zsfs does not own but the FUSE
 * library or the kernel understand are collected, in order, into
 * o->fuse_opts, which the daemon hands to fuse_session_new(); options mount(8)
 * passes for its own use (defaults, auto, user, _netdev, x-*, ...) are
 * accepted and dropped.  Anything else is refused with a message naming the
 * option and its value.
 *
 * Thread safety: the functions keep no state; one struct per caller.
 */
#ifndef ZSFS_OPTIONS_H
#define ZSFS_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parse.h" /* zsfs_parse_size(): the grammar of size= */

/* Room for the options passed through to FUSE (fsname= etc. included). */
#define ZSFS_FUSE_OPTS_CAP 4096
#define ZSFS_COMPRESS_CAP 32

/* Read access times, as the mount flags say (the kernel leaves atime to a
 * FUSE filesystem): relatime (default), strictatime, noatime. */
enum { ZSFS_ATIME_RELATIME, ZSFS_ATIME_STRICT, ZSFS_ATIME_NONE };

/* dict=PATH: the longest path accepted. */
#define ZSFS_DICT_PATH_CAP 1024
/* A file settles 2 s after its last write: a build or a copy rewrites
 * what it just wrote within a second or two; later, it is done. */
#define ZSFS_SETTLE_DELAY_DEFAULT 2u
/* At most 25% of one core: on a 2-core machine a build still has 1.75
 * cores, and a GiB of lz4 text settles in about a minute or two. */
#define ZSFS_SETTLE_CPU_DEFAULT 25u

/* backing=PATH: the longest path accepted. */
#define ZSFS_BACKING_PATH_CAP 1024

/* dedup= when not given: see README.md for the measurement. */
#define ZSFS_DEDUP_DEFAULT 0
#define ZSFS_DEDUP_DEFAULT_STR "off"

/* io_uring=: how requests reach the daemon (uring.c).  The default is
 * ZSFS_URING_DEFAULT: see README.md for the measurement. */
enum { ZSFS_URING_OFF, ZSFS_URING_ON, ZSFS_URING_AUTO };
#define ZSFS_URING_DEFAULT ZSFS_URING_AUTO
#define ZSFS_URING_DEFAULT_STR "auto"

struct zsfs_options {
	/* Cap on the pool's memory in bytes; 0 = no cap (size=0). */
	uint64_t size;
	/* Most inodes; 0 = no limit (nr_inodes=0). */
	uint64_t nr_inodes;
	mode_t mode;         /* root directory permission bits (07777) */
	uid_t uid;           /* root directory owner */
	gid_t gid;
	char compress[ZSFS_COMPRESS_CAP]; /* "lz4", "zstd:3", "none" */
	int auto_compact;    /* 1 = background compaction on */
	/* The background compactor's thresholds (see ctl.h), in hundredths
	 * of a percent and bytes: compact_share=, compact_psi= (0 = no PSI
	 * trigger), compact_min=. */
	unsigned compact_share_bp;
	unsigned compact_psi_bp;
	uint64_t compact_min;
	int allow_other;     /* 1 = pass allow_other */
	int auto_unmount;    /* 1 = pass auto_unmount */
	int has_fsname;      /* fsname= given (else the daemon adds one) */
	int has_subtype;     /* subtype= given */
	int read_only;       /* ro given (last of ro/rw wins) */
	int atime;           /* ZSFS_ATIME_*: when reads update atime */
	int nodiratime;      /* 1 = listing a directory leaves its atime */
	unsigned max_read;   /* max_read= (also passed to FUSE); 0 = default */
	/* Memory safety (sysmem.h): new writes get ENOSPC while
	 * MemAvailable is below min_free bytes (0 = off; min_free=SIZE|N%);
	 * oom_score_adj= is written to /proc/self/oom_score_adj when
	 * has_oom_score_adj, else the default unless one was inherited. */
	uint64_t min_free;
	int oom_score_adj;
	int has_oom_score_adj;
	/* Background recompression and dictionaries (settle.c, the store's
	 * recompress.c and dict.c): recompress= and dict= as given ("" =
	 * the default), checked when the store is made; a file settles
	 * settle_delay seconds after its last write; the settle thread uses
	 * at most settle_cpu percent of one core (100 = no cap). */
	char recompress[16];
	char dict[ZSFS_DICT_PATH_CAP];
	unsigned settle_delay;
	unsigned settle_cpu;
	/* Not a mount option: the test hook ZSFS_DEBUG_OS_LIMIT (main.c;
	 * see struct zsfs_store_params.debug_os_limit).  0 = off. */
	uint64_t debug_os_limit;
	/* noswap: the pool's memory is locked, never swapped (tmpfs 6.4). */
	int noswap;
	/* dedup=on|off: content deduplication on write (the store's
	 * dedup.c); the default is ZSFS_DEDUP_DEFAULT. */
	int dedup;
	/* Not a mount option: the test hook ZSFS_DEBUG_DEDUP_BITS (main.c;
	 * see struct zsfs_store_params.dedup_bits).  0 = off. */
	unsigned debug_dedup_bits;
	/* io_uring=on|off|auto (ZSFS_URING_*); plain io_uring = on */
	int io_uring;
	/* tmpfs's quota options (Linux 6.6): usrquota, grpquota turn the
	 * per-uid, per-gid accounting on; the hard limits (0 = none; each
	 * implies its usrquota/grpquota) apply to every uid or gid.  Blocks
	 * are bytes the owner's files hold in the pool (quota.h). */
	int usrquota, grpquota;
	uint64_t usr_block_hardlimit, usr_inode_hardlimit;
	uint64_t grp_block_hardlimit, grp_inode_hardlimit;
	/* The backing file (backing.h): backing=PATH, an absolute path
	 * ("" = none), and backing_size= in bytes (0 = the reused file's
	 * size).  Checked against the file when the mount opens it. */
	char backing[ZSFS_BACKING_PATH_CAP];
	uint64_t backing_size;
	/* Comma-separated options for fuse_session_new(), NUL-terminated. */
	char fuse_opts[ZSFS_FUSE_OPTS_CAP];
};

/*
 * zsfs_options_init() - the defaults, tmpfs's where tmpfs has one.
 * @ram_bytes: physical memory; size defaults to half of it and nr_inodes
 *             to half of its 4 KiB pages.
 * @uid, @gid: the mounting user (owner of the root directory).
 * allow_other, suid and dev default to on when @uid is 0 (like a tmpfs
 * root mounts), auto_unmount to on, compress to "lz4", auto_compact to on,
 * and the compactor's thresholds to ctl.h's defaults (5%, 1 MiB, PSI 10%);
 * min_free to the larger of 64 MiB and 1% of @ram_bytes (sysmem.h).
 */
void zsfs_options_init(struct zsfs_options *o, uint64_t ram_bytes,
		       uid_t uid, gid_t gid);

/*
 * zsfs_options_parse() - apply one comma-separated option string to @o.
 * May be called several times (one per -o); later options win.
 * @optstring: NUL-terminated; empty items are ignored.  A backslash
 *             escapes a comma as libfuse does ("fsname=a\,b").
 * @ram_bytes: for size=N% (percent of physical memory).
 * @err, @err_cap: on failure a one-line message naming the option and
 *             its value, NUL-terminated within @err_cap bytes.
 * Return: 0; -EINVAL for an unknown option or a bad value; -E2BIG when the
 *         pass-through options do not fit in fuse_opts.  On failure @o may
 *         be partly updated; the caller must not mount.
 */
int zsfs_options_parse(struct zsfs_options *o, const char *optstring,
		       uint64_t ram_bytes, char *err, size_t err_cap);

/* The -o help text, one option a line; the man page is written from it. */
extern const char zsfs_options_help[];

#endif
