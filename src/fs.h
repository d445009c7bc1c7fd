/*
 * fs.h - the filesystem struct, the inode, and the daemon's internal
 * cross-file declarations, grouped by the file that defines them.
 *
 * Design.  Every inode is a struct zsfs_inode whose address is its FUSE
 * node id (the root answers to FUSE_ROOT_ID); st_ino is a separate counter
 * so stat(2) shows small stable numbers.  An inode lives while any of these
 * is non-zero: nlink (directory entries), nlookup (the kernel's references)
 * and nopen (open handles); the last one to drop frees it, and freeing a
 * regular file gives its pages back to the pool at once.  Directories keep
 * their entries in a hash table (O(1) lookup) and in a vector in cookie
 * order (stable readdir offsets), see dir.c.  The control file .zsctl is an
 * inode of its own that no directory holds; lookup in the root finds it by
 * name.  Its requests have their own handlers (ops_ctl.c), which ops_fs.c
 * routes to from one list.
 *
 * Memory.  What a file costs beside its pages is kept small (issue 13):
 * one allocation holds the 88-byte inode head and what only its kind
 * needs (struct zsfs_inode's "tail": a regular file's page-store struct
 * and page-table charge, a directory's table, a symlink's target, a
 * device number); a name is one allocation of 15 bytes + the name, one
 * word in its directory's readdir vector and 4 bytes (at most 3/4 full)
 * in its lookup table.  Nothing a few inodes need is in every inode: the lock is one of
 * a table of striped locks, xattrs are found through a filesystem-wide
 * table (xattr.c), the check's counts live in a table made for the walk.
 * All of it is charged to the budget (META) as malloc really holds it,
 * before it is held (zsfs_meta_alloc); .zsctl's meta_file_bytes is the
 * part of meta_bytes in the files' page-store structs and page tables.
 *
 * lock ordering:
 *   fs->ns_lock        (rwlock) the namespace: directory contents, nlink,
 *                      parents.  Shared for lookup, readdir, forget and the
 *                      last close; exclusive for anything that adds,
 *                      removes or moves a name.
 *     -> inode lock    (rwlock, zsfs_ilock(fs, in): one of fs->ilocks,
 *                      by the inode's address, shared by the inodes that
 *                      hash to it) one inode's attributes, xattrs and
 *                      data.  Shared for getattr, read, seek, getxattr;
 *                      exclusive for setattr, write, truncate, punch,
 *                      flush, setxattr.  Two at once (copy_file_range)
 *                      only through zsfs_inode_lock2: in table order, and
 *                      once when both inodes share a lock.  Nothing else
 *                      holds one inode lock while taking another (create
 *                      holds the parent's; the child is not reachable
 *                      yet and is not locked).
 *       -> fs->life_lock (mutex, leaf) nlookup, nopen, the inode list and
 *                      the counters; nlink is written under both ns_lock
 *                      (exclusive) and life_lock, so either one is enough
 *                      to read it.
 *       -> fs->xattr_lock (mutex, leaf) the table of first xattrs.
 *   No function sleeps on ns_lock while holding an inode lock.
 *   The store (pagestore.h), its budget (budget.h) and the control plane
 *   (ctl.h) have their own internal locks and are called with any of the
 *   above held; they never
 *   call back into the filesystem except ctl's fs_counts/fs_check, which
 *   run from the ctl's threads with no zsfs lock held.
 */
#ifndef ZSFS_FS_H
#define ZSFS_FS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#include "backing.h"
#include "ctl.h"
#include "options.h"
#include "pagestore.h"
#include "quota.h"
#include "transport.h"

#define ZSFS_NAME_MAX 255
/* Links an inode may have (nlink is 32 bits): link, mkdir and a rename
 * of a directory to a new parent fail with EMLINK past it. */
#define ZSFS_LINK_MAX (UINT32_MAX - 1)
/* Like tmpfs: values up to XATTR_SIZE_MAX; the name list must fit
 * XATTR_LIST_MAX so listxattr(2) can always return it. */
#define ZSFS_XATTR_SIZE_MAX 65536
#define ZSFS_XATTR_LIST_MAX 65536
/* Attribute and entry cache lifetimes given to the kernel, in seconds.
 * Only this daemon changes the tree and every change passes through the
 * kernel, which updates or invalidates what it cached (parents' attributes
 * on create/unlink/rename, the inode's on write, setattr, setxattr, ACLs,
 * link; atime after reads), so they can be long.  Nothing the daemon does
 * on its own (compaction, flushing dirty pages) changes what stat shows. */
#define ZSFS_ATTR_TIMEOUT 10.0
#define ZSFS_ENTRY_TIMEOUT 10.0

/*
 * An xattr: one allocation with its name and value.  The inode's list
 * is protected by the inode's lock; its first node is found in the
 * filesystem's table (xattr.c).
 */
struct zsfs_xattr {
	struct zsfs_xattr *next;
	/* the first of an inode's list only: fs->xtab (fs->xattr_lock) */
	struct zsfs_xattr *hnext;
	const struct zsfs_inode *owner;
	uint32_t size;            /* value bytes (<= ZSFS_XATTR_SIZE_MAX) */
	uint8_t name_len;         /* without NUL (<= ZSFS_NAME_MAX) */
	char name[];              /* NUL-terminated, then the value */
};

static inline char *zsfs_xattr_value(const struct zsfs_xattr *x)
{
	return (char *)x->name + x->name_len + 1;
}

/*
 * A directory entry: 15 bytes + the name, one allocation.  No chain
 * pointer and no hash (the table is open-addressed and hashes the name
 * when it needs to), a 48-bit cookie (a directory that used them all
 * refuses new names with ENOSPC) and an 8-bit length (names are at most
 * ZSFS_NAME_MAX bytes).
 */
struct zsfs_dirent {
	struct zsfs_inode *inode;
	uint32_t cookie_lo;           /* readdir offset; never reused */
	uint16_t cookie_hi;
	uint8_t len;
	char name[];                  /* NUL-terminated */
};

#define ZSFS_COOKIE_MAX ((UINT64_C(1) << 48) - 1)

static inline uint64_t zsfs_dirent_cookie(const struct zsfs_dirent *e)
{
	return (uint64_t)e->cookie_hi << 32 | e->cookie_lo;
}

/*
 * A directory (dir.c), kept in its inode's allocation.  vec holds one
 * word per readdir position in ascending cookie order: a dirent pointer,
 * or, when the entry was removed, a tombstone (cookie << 1 | 1) that
 * keeps the vector sorted and binary-searchable.  tab is an open-
 * addressed (linear probing) table of the live entries' positions in
 * vec by hash.  Both
 * are allocated at the first entry.  Everything here is protected by
 * fs->ns_lock.
 */
struct zsfs_dir {
	uint32_t *tab;                 /* ntab slots, power of two:
					* 1 + a position in vec, 0 = free */
	uintptr_t *vec;                /* vcap words, vlen used */
	struct zsfs_inode *parent;     /* ".." (the root: itself) */
	uint64_t next_cookie;
	uint32_t ntab, vlen, vcap;
	uint32_t count;                /* live entries */
	uint32_t tombs;                /* tombstones in vec */
};

/*
 * The inode: a 96-byte head, then in the same allocation what only its
 * kind needs (the "tail", see the accessors below):
 *	regular file	struct zsfs_ireg, then the page store's struct
 *			zsfs_file (zsfs_file_struct_size() bytes), then
 *			with quotas on only, the bytes charged to uid/gid
 *	directory	struct zsfs_dir
 *	symlink		the target, NUL-terminated
 *	device		its dev_t
 *	fifo, socket	nothing
 * Its address is its FUSE node id (the root answers to FUSE_ROOT_ID).
 * Timestamps are nanoseconds since the epoch (1677..2262; setattr clamps
 * what falls outside).  The lock that protects the attributes is not in
 * the inode: it is one of fs->ilocks, chosen by the inode's address
 * (zsfs_ilock), so two inodes may share one; see the lock order above.
 * Every byte of the allocation is charged to the budget (META) as malloc
 * holds it (zsfs_malloc_size), before it is held.
 */
struct zsfs_inode {
	/* protected by fs->life_lock (prev/next: also under ns_lock) */
	struct zsfs_inode *prev, *next; /* all inodes */
	uint64_t nlookup;
	uint32_t nopen;
	/* written under fs->ns_lock (exclusive) and fs->life_lock; either
	 * is enough to read it */
	uint32_t nlink;

	uint64_t number;               /* st_ino; immutable */

	/* protected by the inode's lock (zsfs_ilock) */
	uint64_t size;
	int64_t atime, mtime, ctime;   /* ns since the epoch */
	uint32_t uid, gid;
	uint16_t mode;                 /* type and permission bits */

	uint16_t type;                 /* S_IFMT bits; immutable */
	uint16_t flags;                /* ZSFS_I_*; the inode's lock */
	_Alignas(8) unsigned char tail[];
};

#define ZSFS_I_QUOTA 1u /* charged to uid/gid (quota.h); set before the
			 * inode is reachable */
#define ZSFS_I_XATTR 2u /* has xattrs: its list is in fs->xtab */

/* A regular file's tail, before its struct zsfs_file; protected by the
 * inode's lock. */
struct zsfs_ireg {
	uint64_t table_bytes;          /* page-table bytes charged (META) */
};

static inline struct zsfs_ireg *zsfs_ireg(const struct zsfs_inode *in)
{
	return (struct zsfs_ireg *)in->tail;
}

/* The page store's file of a regular file, NULL for other kinds. */
static inline struct zsfs_file *zsfs_ifile(const struct zsfs_inode *in)
{
	if (in->type != S_IFREG)
		return NULL;
	return (struct zsfs_file *)(void *)(in->tail + sizeof(struct zsfs_ireg));
}

/* A regular file's bytes charged to its uid/gid (quota.h): NULL for
 * other kinds and without quotas (the word is not there).  Protected by
 * the inode's lock. */
static inline uint64_t *zsfs_iquota(const struct zsfs_quota *q,
				    const struct zsfs_inode *in)
{
	if (!q || in->type != S_IFREG)
		return NULL;
	return (uint64_t *)(void *)(in->tail + sizeof(struct zsfs_ireg) +
				    zsfs_file_struct_size());
}

/* A directory's table, NULL for other kinds. */
static inline struct zsfs_dir *zsfs_idir(const struct zsfs_inode *in)
{
	return in->type == S_IFDIR ? (struct zsfs_dir *)(void *)in->tail : NULL;
}

/* A symlink's target, NULL for other kinds. */
static inline const char *zsfs_itarget(const struct zsfs_inode *in)
{
	return in->type == S_IFLNK ? (const char *)in->tail : NULL;
}

static inline dev_t zsfs_irdev(const struct zsfs_inode *in)
{
	dev_t d;

	if (in->type != S_IFCHR && in->type != S_IFBLK)
		return 0;
	memcpy(&d, in->tail, sizeof(d));
	return d;
}

/* The inode locks: a power of two, so that a few files written at once
 * rarely share one, for 56 bytes each. */
#define ZSFS_ILOCKS 256u

struct zsfs {
	struct zsfs_options opts;      /* immutable after start */
	struct zsfs_store *store;      /* thread safe */
	struct zsfs_budget *budget;    /* the store's; thread safe */
	struct zsfs_ctl *ctl;          /* thread safe */
	struct zsfs_settle *settle;    /* settle.c; NULL when not running */
	struct zsfs_quota *quota;      /* thread safe; NULL = no quotas */
	/* backing.h; thread safe; NULL without backing=.  Opened after the
	 * store (its map is charged to the store's budget), closed before
	 * it, after the files; the store reads and frees through it. */
	struct zsfs_backing *backing;
	struct fuse_session *se;
	uid_t owner;                   /* the mounting user */

	pthread_rwlock_t ns_lock;
	pthread_mutex_t life_lock;
	pthread_rwlock_t *ilocks;      /* ZSFS_ILOCKS; immutable pointer */

	struct zsfs_inode *root;       /* immutable */
	struct zsfs_inode *ctl_inode;  /* .zsctl; immutable */

	/* protected by life_lock */
	struct zsfs_inode inode_list;  /* list head (only prev/next used) */
	uint64_t next_number;
	size_t nr_inodes;              /* in use, root and .zsctl included */
	size_t nr_files, nr_dirs, nr_symlinks, nr_others;
	int debug;
	_Atomic size_t file_bytes;     /* files' structs and tables (META) */

	/* protected by xattr_lock (leaf): the first xattr of every inode
	 * that has any, by inode address (xattr.c) */
	pthread_mutex_t xattr_lock;
	struct zsfs_xattr **xtab;
	size_t xtab_n, xtab_count;
	struct zsfs_transport tp;      /* atomics (transport.c) */
};

/* The node id the kernel knows @in by. */
static inline fuse_ino_t zsfs_inode_nodeid(const struct zsfs *fs,
					   const struct zsfs_inode *in)
{
	return in == fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)in;
}

/* The lock of @in's attributes, xattrs and data (one of fs->ilocks). */
static inline pthread_rwlock_t *zsfs_ilock(const struct zsfs *fs,
					   const struct zsfs_inode *in)
{
	uint64_t h = ((uint64_t)(uintptr_t)in >> 4) * 0x9e3779b97f4a7c15ULL;

	return &fs->ilocks[h >> 56 & (ZSFS_ILOCKS - 1)];
}

static inline void zsfs_inode_rdlock(const struct zsfs *fs,
				     const struct zsfs_inode *in)
{
	pthread_rwlock_rdlock(zsfs_ilock(fs, in));
}

static inline void zsfs_inode_wrlock(const struct zsfs *fs,
				     const struct zsfs_inode *in)
{
	pthread_rwlock_wrlock(zsfs_ilock(fs, in));
}

static inline void zsfs_inode_unlock(const struct zsfs *fs,
				     const struct zsfs_inode *in)
{
	pthread_rwlock_unlock(zsfs_ilock(fs, in));
}

/* fi->fh of a regular file opened for writing: only those flush their
 * dirty pages at close (a reader's close has nothing to report). */
#define ZSFS_FH_WRITER 1

/* --- settle.c --- */
/* Start the settle thread (after daemonizing: a fork loses threads), if
 * the store has background work; stop it (idempotent; main.c calls it
 * before zsfs_fs_fini).  Return 0 or -errno. */
int zsfs_settle_start(struct zsfs *fs);
void zsfs_settle_stop(struct zsfs *fs);

/* --- inode.c --- */
int zsfs_fs_init(struct zsfs *fs, const struct zsfs_options *o, uid_t owner);
void zsfs_fs_fini(struct zsfs *fs);
struct zsfs_inode *zsfs_inode_get(struct zsfs *fs, fuse_ino_t ino);
/* New inode with nlink 0, nlookup 0; charged and counted.  -ENOSPC when
 * nr_inodes or size= would be passed.  Caller holds ns_lock exclusive. */
int zsfs_inode_new(struct zsfs *fs, mode_t mode, uid_t uid, gid_t gid,
		   dev_t rdev, const char *target, struct zsfs_inode **out);
/* Free the inode if nlink, nlookup and nopen are all zero.  Caller holds
 * ns_lock (any mode) and no lock of this inode. */
void zsfs_inode_maybe_free(struct zsfs *fs, struct zsfs_inode *in);
void zsfs_inode_set_nlink(struct zsfs *fs, struct zsfs_inode *in, uint64_t n);
void zsfs_inode_ref(struct zsfs *fs, struct zsfs_inode *in);   /* nlookup++ */
/* nlookup -= n, nopen--: they free the inode when that was the last
 * reference, so the caller must not touch @in afterwards.  Caller holds
 * ns_lock (any mode) and no lock of this inode. */
void zsfs_inode_forget(struct zsfs *fs, struct zsfs_inode *in, uint64_t n);
void zsfs_inode_open(struct zsfs *fs, struct zsfs_inode *in);
void zsfs_inode_close(struct zsfs *fs, struct zsfs_inode *in);
/* Fill @st; caller holds in->lock (any mode), not life_lock. */
void zsfs_inode_stat(struct zsfs *fs, const struct zsfs_inode *in,
		     struct stat *st);
/* Now, in ns since the epoch; a timespec to and from that (clamped). */
int64_t zsfs_now(void);
int64_t zsfs_ts_to_ns(const struct timespec *ts);
struct timespec zsfs_ns_to_ts(int64_t ns);
/* Should a read (or a listing, for a directory) at @now move atime, as
 * the mount's atime flags say?  Caller holds in->lock (any mode). */
int zsfs_inode_atime_due(struct zsfs *fs, const struct zsfs_inode *in,
			 int64_t now);
/* Two inodes' locks, @dst exclusive and @src shared (the same inode, or
 * two that share a lock: that lock once, exclusive), in lock order;
 * and their release. */
void zsfs_inode_lock2(struct zsfs *fs, const struct zsfs_inode *src,
		      const struct zsfs_inode *dst);
void zsfs_inode_unlock2(struct zsfs *fs, const struct zsfs_inode *src,
			const struct zsfs_inode *dst);
/*
 * Heap for metadata, charged to the budget (META) as malloc really holds
 * it (zsfs_malloc_size) before it is held: NULL with *@rc -ENOSPC (the
 * budget) or -ENOMEM.  _realloc keeps @p on failure; _free gives the
 * bytes back.  @zero: calloc.
 */
void *zsfs_meta_alloc(struct zsfs *fs, size_t size, int zero, int *rc);
void *zsfs_meta_realloc(struct zsfs *fs, void *p, size_t size, int *rc);
void zsfs_meta_free(struct zsfs *fs, void *p);
/* After a change of a regular file's data: charge or give back the change
 * in its page-table bytes, and tell the quota the change of its stored
 * bytes (never fails: the data is already stored).
 * Caller holds in->lock exclusive. */
void zsfs_inode_file_meta_sync(struct zsfs *fs, struct zsfs_inode *in);
/* Charge a new inode (nlink 0, not yet reachable) to its uid and gid:
 * 0, or -EDQUOT / -ENOMEM (the caller frees it).  @force: the request
 * comes from root, which passes the hard limits. */
int zsfs_inode_quota_charge(struct zsfs *fs, struct zsfs_inode *in, int force);
void zsfs_fs_counts(void *arg, struct zsfs_fs_counts *out);
int zsfs_fs_check(void *arg, char *msg, size_t msg_cap);
/* Every inode in turn (fswalk.c): the one after @prev (NULL: the first),
 * pinned open so it stays while the caller looks; @prev is unpinned.
 * NULL at the end.  Takes life_lock, and ns_lock (shared) to unpin: call
 * with neither held.  A walk that stops early unpins its inode with
 * zsfs_inode_walk_unpin(). */
struct zsfs_inode *zsfs_inode_walk_next(struct zsfs *fs,
					struct zsfs_inode *prev);
void zsfs_inode_walk_unpin(struct zsfs *fs, struct zsfs_inode *in);
/* ctl's fs_each_file (fswalk.c) */
int zsfs_fs_each_file(void *arg, int (*fn)(struct zsfs_store *,
		      struct zsfs_file *, void *), void *farg);
/* ctl's fs_print: the transport's lines (ops_fs.c) */
void zsfs_fs_print(void *arg, FILE *f);

/* --- ops_file.c --- */
/* With HANDLE_KILLPRIV_V2 (transport.c): clear setuid, and setgid as the
 * VFS would (@suidgid: the kernel asked), and security.capability
 * (always).  1 when anything changed, else 0.  Caller holds in->lock
 * exclusive. */
int zsfs_kill_priv(struct zsfs *fs, fuse_req_t req, struct zsfs_inode *in,
		   int suidgid);

/* --- loop.c --- */
/* Run the session until it ends (unmount or SIGTERM/SIGINT/SIGHUP) on
 * up to @max_threads workers.  0, or the first receive error (negative
 * errno). */
int zsfs_loop_run(struct fuse_session *se, unsigned max_threads);

/* --- dir.c --- (callers hold ns_lock: shared to read, exclusive to change) */
/* A new, empty directory table in its inode; its tables (and entries)
 * freed. */
void zsfs_dir_init(struct zsfs_dir *d, struct zsfs_inode *parent);
void zsfs_dir_fini(struct zsfs *fs, struct zsfs_dir *d);
struct zsfs_dirent *zsfs_dir_lookup(const struct zsfs_dir *d, const char *name);
int zsfs_dir_add(struct zsfs *fs, struct zsfs_dir *d, const char *name,
		 struct zsfs_inode *in);
void zsfs_dir_remove(struct zsfs *fs, struct zsfs_dir *d, struct zsfs_dirent *e);
/* First entry with cookie > @after, or NULL. */
struct zsfs_dirent *zsfs_dir_next(const struct zsfs_dir *d, uint64_t after);
/* The table's own invariants (for zsfs_fs_check): 0 or -EUCLEAN. */
int zsfs_dir_check(const struct zsfs_dir *d, char *msg, size_t msg_cap);

/* --- xattr.c --- (caller holds in->lock: shared for get/list) */
/* The table of first xattrs (16 buckets to start: setting an xattr
 * never fails for the table); freed after the last inode. */
#define ZSFS_XTAB_MIN 16u
int zsfs_xtab_init(struct zsfs *fs);
void zsfs_xtab_fini(struct zsfs *fs);
int zsfs_xattr_get(struct zsfs *fs, const struct zsfs_inode *in,
		   const char *name, const struct zsfs_xattr **out);
int zsfs_xattr_set(struct zsfs *fs, struct zsfs_inode *in, const char *name,
		   const void *value, size_t size, int flags);
int zsfs_xattr_remove(struct zsfs *fs, struct zsfs_inode *in, const char *name);
/* Names, NUL-separated, user.zsfs.* excluded; *@len bytes. */
size_t zsfs_xattr_list(struct zsfs *fs, const struct zsfs_inode *in,
		       char *buf, size_t cap);
void zsfs_xattr_free_all(struct zsfs *fs, struct zsfs_inode *in);
/* POSIX ACL glue.  chmod: rewrite the access ACL's owner/mask/other. */
int zsfs_acl_chmod(struct zsfs *fs, struct zsfs_inode *in);
/* setxattr of system.posix_acl_access: update the mode from the ACL;
 * *@drop = 1 when the ACL is equivalent to the mode and need not be kept. */
int zsfs_acl_access_to_mode(const void *value, size_t size, mode_t *mode,
			    int *drop);
/* A new inode in @parent: apply the default ACL or the umask to *@mode
 * and give the child its ACL xattrs.  Caller holds both inodes' locks
 * exclusive (child) and shared (parent). */
int zsfs_acl_inherit(struct zsfs *fs, struct zsfs_inode *parent,
		     struct zsfs_inode *child, mode_t umask);

/* --- ops_*.c handlers, wired in ops_fs.c --- */
extern const struct fuse_lowlevel_ops zsfs_ops;

void zsfs_op_init(void *userdata, struct fuse_conn_info *conn);
void zsfs_op_destroy(void *userdata);
void zsfs_op_statfs(fuse_req_t req, fuse_ino_t ino);

void zsfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void zsfs_op_forget_multi(fuse_req_t req, size_t count,
			  struct fuse_forget_data *forgets);
void zsfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		     int to_set, struct fuse_file_info *fi);
void zsfs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void zsfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, dev_t rdev);
void zsfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode);
void zsfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		     const char *name);
void zsfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		    fuse_ino_t newparent, const char *newname,
		    unsigned int flags);
void zsfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		  const char *newname);
void zsfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, struct fuse_file_info *fi);

/* ops_file.c helper shared with ops_entry.c (create): fill the open
 * flags and fi->fh of a new handle on a regular file. */
void zsfs_file_handle_init(struct fuse_file_info *fi);

void zsfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void zsfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		   size_t size, off_t off, struct fuse_file_info *fi);
void zsfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi);
void zsfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		       off_t length, struct fuse_file_info *fi);
void zsfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		   struct fuse_file_info *fi);
void zsfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			     struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			     off_t off_out, struct fuse_file_info *fi_out,
			     size_t len, int flags);

void zsfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void zsfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi);
void zsfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi);
void zsfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi);

void zsfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      const char *value, size_t size, int flags);
void zsfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size);
void zsfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void zsfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* The checks zsfs_op_link and zsfs_op_rename make before they look at
 * any name (name lengths, parents, rename's flags), for ops_ctl.c to
 * answer in the same order: 0 or -errno. */
int zsfs_link_check(struct zsfs *fs, fuse_ino_t newparent,
		    const char *newname);
int zsfs_rename_check(struct zsfs *fs, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags);

/* --- ops_ctl.c: .zsctl's handlers, and how ops_fs.c knows its requests:
 * by node id, or by the name .zsctl in the root directory. --- */
int zsfs_ctl_is_node(struct zsfs *fs, fuse_ino_t ino);
int zsfs_ctl_is_name(struct zsfs *fs, fuse_ino_t parent, const char *name);
void zsfs_ctl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_ctl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev);
void zsfs_ctl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode);
void zsfs_ctl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			 const char *name);
void zsfs_ctl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi);
void zsfs_ctl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_ctl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void zsfs_ctl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags);
void zsfs_ctl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname);
void zsfs_ctl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi);
void zsfs_ctl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_ctl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void zsfs_ctl_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi);
void zsfs_ctl_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zsfs_ctl_op_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi);
void zsfs_ctl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void zsfs_ctl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			   off_t offset, off_t length,
			   struct fuse_file_info *fi);
void zsfs_ctl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		       struct fuse_file_info *fi);
void zsfs_ctl_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				 off_t off_in, struct fuse_file_info *fi_in,
				 fuse_ino_t ino_out, off_t off_out,
				 struct fuse_file_info *fi_out, size_t len,
				 int flags);

/* ops_entry.c helpers shared with ops_rename.c: a name's length check
 * (-ENAMETOOLONG), a directory's mtime/ctime and an inode's ctime (each
 * takes that inode's lock), one name of @in dropped (ns_lock exclusive
 * held), and the directory inode @ino (-ENOTDIR, -ENOENT). */
int zsfs_name_check(const char *name);
void zsfs_dir_touch(struct zsfs *fs, struct zsfs_inode *dir);
void zsfs_inode_touch_ctime(struct zsfs *fs, struct zsfs_inode *in);
void zsfs_entry_drop_link(struct zsfs *fs, struct zsfs_inode *in);
int zsfs_entry_get_dir(struct zsfs *fs, fuse_ino_t ino,
		       struct zsfs_inode **out);

/* ops_entry.c helper shared with ops_file.c (create). */
int zsfs_entry_make(struct zsfs *fs, fuse_req_t req, fuse_ino_t parent,
		    const char *name, mode_t mode, dev_t rdev,
		    const char *target, struct fuse_entry_param *e,
		    struct zsfs_inode **out);
void zsfs_entry_fill(struct zsfs *fs, struct zsfs_inode *in,
		     struct fuse_entry_param *e);

#endif
