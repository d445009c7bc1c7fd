/*
 * ctl.h - the control plane: the .zsctl file's text and commands, the
 * user.zsfs.* xattrs, and the background compactor.
 *
 * The control plane knows the store (pagestore.h) and asks the filesystem
 * for what only it knows through callbacks, so it links without FUSE and
 * its parser can be tested and fuzzed alone.
 *
 * Thread safety: every function may be called from any thread at once.
 * Functions return 0 or a negative errno.
 */
#ifndef ZSFS_CTL_H
#define ZSFS_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "backing.h"
#include "pagestore.h"
#include "parse.h" /* ZSFS_PCT_BP_MAX, and the grammar of the thresholds */

/* The name of the control file in the root directory. */
#define ZSFS_CTL_NAME ".zsctl"
/* Prefix of the reserved xattrs; they are never listed nor removable. */
#define ZSFS_XATTR_PREFIX "user.zsfs."

struct zsfs_ctl;

/* The compactor's thresholds and their defaults (ZSFS_AC_*). */
#include "compactor.h"

/* What the filesystem reports about its namespace. */
struct zsfs_fs_counts {
	size_t inodes;      /* inodes in use, root included */
	size_t inodes_max;  /* nr_inodes */
	size_t files;       /* regular files */
	size_t dirs;
	size_t symlinks;
	size_t others;      /* fifos, sockets, devices */
	size_t file_bytes;  /* of meta_bytes: the files' page-store structs
			     * and page tables (the rest: inodes, names,
			     * xattrs, directories) */
};

struct zsfs_ctl_params {
	struct zsfs_store *store;
	struct zsfs_backing *backing; /* backing.h: its counters; NULL = none */
	uid_t owner;            /* the user who mounted: may write commands */
	int auto_compact;       /* start with the background compactor on */
	/*
	 * The background compactor's starting thresholds (compactor.c): it
	 * compacts when the zs_can_compact() pages are both this share of
	 * the pool's pages and this many bytes, or, when PSI's memory "some
	 * avg10" reaches ac_psi_bp, when any page is freeable.  With
	 * ac_exact 0 (a zero-initialised struct) a 0 here means the default
	 * (ZSFS_AC_*); with ac_exact 1 every value is taken as given, 0
	 * included (the daemon passes its mount options, which start at the
	 * defaults themselves).
	 */
	int ac_exact;
	unsigned ac_min_share_bp; /* 1/100 % of the pool's pages: 0..10000 */
	size_t ac_min_bytes;
	unsigned ac_psi_bp;       /* 1/100 %: 0..10000; 0 = no PSI trigger */
	unsigned ac_interval_ms;  /* polling interval; 0 = default, always */
	int use_psi;              /* watch /proc/pressure/memory if present */
	/* Follow the memory cgroup and MemAvailable (compactor.h): the
	 * daemon sets it; unit tests leave it 0 so the host does not count. */
	int watch_memory;
	uint64_t min_free;        /* MemAvailable kept free; 0 = no check */
	/* Fill @out (may be NULL when not wanted). */
	void (*fs_counts)(void *arg, struct zsfs_fs_counts *out);
	/* The filesystem's consistency walk, ending with zs_pool_check()
	 * while it keeps its files from being freed: 0, or -EUCLEAN with
	 * @msg.  NULL: the check command walks the pool alone. */
	int (*fs_check)(void *arg, char *msg, size_t msg_cap);
	/* Call @fn on every regular file in turn, each held exclusive,
	 * until one returns non-zero (returned).  NULL: the commands that
	 * need it (idle, writeback) fail with -ENOTSUP. */
	int (*fs_each_file)(void *arg, int (*fn)(struct zsfs_store *store,
			    struct zsfs_file *file, void *farg), void *farg);
	/* Print the filesystem's own "name value" lines at the end of the
	 * figures (the request counters); NULL: none. */
	void (*fs_print)(void *arg, FILE *f);
	void *fs_arg;
};

int zsfs_ctl_create(const struct zsfs_ctl_params *params,
		    struct zsfs_ctl **ctlp);
/* Starts the compactor thread.  Call after the daemon has forked. */
int zsfs_ctl_start(struct zsfs_ctl *ctl);
/* Stops the thread and frees.  NULL ok. */
void zsfs_ctl_destroy(struct zsfs_ctl *ctl);

/*
 * zsfs_ctl_stats_text() - the text .zsctl shows: "name value" lines, the
 * first nine zram's mm_stat fields, then the rest, then after a blank line
 * the per-class table.  *@textp is malloc'ed; the caller frees it.
 * Every value is a decimal integer (bytes or counts) except the last line
 * before the blank one, "codec NAME" (e.g. "codec zstd:3"), the word of
 * "size_source" (size=, or the cgroup limit file in force), and the two
 * percentages compact_share_pct and compact_psi_pct, which carry up to two
 * decimals when they are not whole ("5", "2.5", "0.25").  The full list
 * is in ctl_text.c's file comment.  Never waits for a running compaction.
 * Return: 0, -ENOMEM.
 */
int zsfs_ctl_stats_text(struct zsfs_ctl *ctl, char **textp, size_t *lenp);

/*
 * zsfs_ctl_command() - run one command line (without its newline) written
 * to .zsctl by user @uid: compact, mem_limit SIZE, reset_max,
 * auto_compact on|off, compact_share PCT, compact_min SIZE,
 * compact_psi PCT, check, dict_retrain, idle all, writeback
 * type=idle|huge|huge_idle|incompressible [limit=PAGES].  Empty and all-blank lines do nothing.
 * Return: 0; -EPERM when @uid is neither root nor the owner (checked
 * first, for any non-blank line); -E2BIG for a line over 4096 bytes;
 * -EINVAL for an unknown or malformed command (nothing changed); -EIO when
 * check finds a broken invariant; writeback: -ENODEV (no backing=),
 * -ENOSPC (the backing file is full or a write failed), -EIO (its flush
 * failed): the pages not moved stay in RAM.  On failure @why (may be NULL) says what
 * is wrong; this function does not log, the writer does.
 */
int zsfs_ctl_command(struct zsfs_ctl *ctl, uid_t uid, const char *line,
		     size_t len, char *why, size_t why_cap);

/*
 * Buffered writes to an open .zsctl: complete lines run as they arrive,
 * a last line without a newline runs at zsfs_ctl_writer_close().
 */
struct zsfs_ctl_writer;
int zsfs_ctl_writer_open(struct zsfs_ctl *ctl, uid_t uid,
			 struct zsfs_ctl_writer **wp);
/* Return: 0, or the first failing command's error (-EINVAL, -EPERM, -EIO,
 * -E2BIG for a line longer than 4096 bytes, reported as soon as the line
 * passes 4096 bytes; the rest of that line is dropped).  A failing line
 * stops the write: later lines in @buf do not run.  The reason is logged
 * to stderr as "zsfs: .zsctl: ...".  One writer per open file; calls on
 * one writer are serialised, different writers run at once. */
int zsfs_ctl_writer_write(struct zsfs_ctl_writer *w, const char *buf,
			  size_t len);
int zsfs_ctl_writer_close(struct zsfs_ctl_writer *w); /* NULL ok */

/*
 * The reserved xattrs.  zsfs_ctl_xattr_is_reserved() says whether @name is
 * ours (user.zsfs.*).  get fills a malloc'ed value; @fst is the file's
 * stats (NULL for non-regular inodes: they report zeros).
 * Names: stats (the .zsctl text), stored (decimal pool bytes of the
 * file's pages), pages ("compressed N raw N same N holes N dirty N"; holes
 * are the pages below @file_size that hold no data).
 * Return: 0; -ENODATA for an unknown user.zsfs.* name and for the
 * write-only user.zsfs.compact; -ENOMEM.
 * set: user.zsfs.compact with value "1" (or "1\n") runs compaction;
 * -EPERM for stats/stored/pages (read-only) and for a user who may not
 * compact; -EINVAL for another value; -ENOTSUP for an unknown name.
 */
int zsfs_ctl_xattr_is_reserved(const char *name);
int zsfs_ctl_xattr_get(struct zsfs_ctl *ctl, const char *name,
		       const struct zsfs_file_stats *fst, uint64_t file_size,
		       char **valuep, size_t *lenp);
int zsfs_ctl_xattr_set(struct zsfs_ctl *ctl, uid_t uid, const char *name,
		       const char *value, size_t len);

#endif
