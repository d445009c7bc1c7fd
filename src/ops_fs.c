/*
 * ops_fs.c - the filesystem-wide FUSE handlers (init, destroy, statfs),
 * the one point where requests for .zsctl part from the others, and the
 * one table that wires every handler.
 *
 * .zsctl: ZSFS_CTL_ROUTES lists each request the control file answers
 * itself and how such a request is known (its node, or its name in the
 * root; for two-sided requests either side).  Each line makes a wrapper
 * route_<op> that sends the request to zsfs_ctl_op_<op> (ops_ctl.c) or to
 * zsfs_op_<op>, so the handlers of ops_entry.c and ops_file.c never see
 * .zsctl.  A request type not in the list reaches the ordinary handler for
 * .zsctl too (getattr, forget, the xattrs: see ops_ctl.c for why that is
 * right).
 *
 * init picks the kernel features: no atomic O_TRUNC (see below); POSIX ACLs (kernel-enforced, stored as
 * xattrs) with DONT_MASK so we apply the umask or the default ACL
 * ourselves; no HANDLE_KILLPRIV (v1); HANDLE_KILLPRIV_V2 and
 * PARALLEL_DIROPS, which libfuse 3.14 cannot ask for, are added to its
 * INIT reply by transport.c when the kernel offers them (with v2 we clear
 * setuid/setgid and security.capability ourselves on write, truncate and
 * chown: ops_file.c zsfs_kill_priv); no writeback cache (a page whose
 * writeback fails with ENOSPC would be dropped, losing data); large writes
 * (1 MiB) and cached symlinks.
 *
 * The round trips of one untarred file (/usr/include, counted with the
 * req_* lines of .zsctl; 14.1 per file, 16.5 before KILLPRIV_V2):
 * LOOKUP (the kernel looks the new name up before CREATE), CREATE, WRITE
 * per write(2) (tar writes up to each 10 KiB record boundary: 3.45 per
 * file; only a writeback cache would merge them), GETXATTR of
 * security.capability twice (the first write of an inode, before the
 * kernel marks it S_NOSEC, and fchown's security_inode_need_killpriv,
 * which no INIT flag stops: 2.0, was 3.4), SETATTR three times (tar's
 * fchown, fchmod and futimens), GETATTR of the parent (the kernel
 * invalidates a directory's attributes on create and default_permissions
 * needs them for the next one), FLUSH (a writer's close reports a late
 * ENOSPC of its dirty pages), RELEASE (the open count that keeps an
 * unlinked file).  Gone with KILLPRIV_V2: the GETATTR the kernel sent
 * before each chown to recompute the mode itself (fuse_setattr without
 * killpriv; was 1 per file) and the GETXATTR before every later write.
 * FLUSH and RELEASE could go only with an open-less design (no open
 * handler: the kernel then sends no RELEASE; nlookup already keeps an
 * open file) and with writes that cannot fail at close.
 * A writeback cache, tried (one run each, loaded machine), made
 * small-file creation slower (1.9k/s against 6.1k/s; a writer's close
 * writes its pages back synchronously) and untar no faster (8.9 s against
 * 8.1 s for /usr/include + /usr/lib/gcc), so there is no option for it.  Locks (flock, fcntl) are left to the
 * kernel: with no lock handlers it keeps them locally, which is right for
 * a filesystem only one machine sees.
 *
 * lock ordering: statfs reads atomics and the pool's stats: no zsfs lock.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs.h"

#define ZSFS_MAX_WRITE (1u << 20)

void zsfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct zsfs *fs = userdata;
	int rc;

	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* No ATOMIC_O_TRUNC (libfuse asks for it by default): open(O_TRUNC)
	 * then comes as a setattr of the size, with the kernel's suid/sgid
	 * and time handling, instead of a flag open would have to act on. */
	/* No AUTO_INVAL_DATA: every change of file data passes through the
	 * kernel's page cache (or is invalidated by the kernel: punch,
	 * copy_file_range, truncate), so a new mtime must not throw the
	 * cache away. */
	/* No SPLICE_READ: loop.c receives every request into its workers'
	 * own buffers (libfuse would splice only for a write_buf handler,
	 * which zsfs has not; this keeps it so). */
	conn->want &= ~(unsigned)(FUSE_CAP_HANDLE_KILLPRIV |
				  FUSE_CAP_SPLICE_READ |
				  FUSE_CAP_WRITEBACK_CACHE |
				  FUSE_CAP_ATOMIC_O_TRUNC |
				  FUSE_CAP_AUTO_INVAL_DATA);
	conn->max_write = ZSFS_MAX_WRITE;
	/* libfuse insists that init agrees with max_read= */
	if (fs->opts.max_read)
		conn->max_read = fs->opts.max_read;
	conn->time_gran = 1;
	rc = zsfs_ctl_start(fs->ctl);
	if (rc < 0)
		fuse_log(FUSE_LOG_ERR, "zsfs: cannot start the compactor: %s\n",
			 strerror(-rc));
}

/* Is this request for .zsctl?  By node id, or by a name in a directory. */
#define CTL_NODE(ino) zsfs_ctl_is_node(fs, (ino))
#define CTL_NAME(dir, name) zsfs_ctl_is_name(fs, (dir), (name))

#define ZSFS_CTL_ROUTES(X)                                                   \
	X(lookup, CTL_NAME(parent, name),                                    \
	  (fuse_req_t req, fuse_ino_t parent, const char *name),             \
	  (req, parent, name))                                               \
	X(mknod, CTL_NAME(parent, name),                                     \
	  (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,  \
	   dev_t rdev),                                                      \
	  (req, parent, name, mode, rdev))                                   \
	X(mkdir, CTL_NAME(parent, name),                                     \
	  (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode), \
	  (req, parent, name, mode))                                         \
	X(symlink, CTL_NAME(parent, name),                                   \
	  (fuse_req_t req, const char *link, fuse_ino_t parent,              \
	   const char *name),                                                \
	  (req, link, parent, name))                                         \
	X(create, CTL_NAME(parent, name),                                    \
	  (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,  \
	   struct fuse_file_info *fi),                                       \
	  (req, parent, name, mode, fi))                                     \
	X(unlink, CTL_NAME(parent, name),                                    \
	  (fuse_req_t req, fuse_ino_t parent, const char *name),             \
	  (req, parent, name))                                               \
	X(rmdir, CTL_NAME(parent, name),                                     \
	  (fuse_req_t req, fuse_ino_t parent, const char *name),             \
	  (req, parent, name))                                               \
	X(rename, CTL_NAME(parent, name) || CTL_NAME(newparent, newname),    \
	  (fuse_req_t req, fuse_ino_t parent, const char *name,              \
	   fuse_ino_t newparent, const char *newname, unsigned int flags),    \
	  (req, parent, name, newparent, newname, flags))                    \
	X(link, CTL_NODE(ino) || CTL_NAME(newparent, newname),               \
	  (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,             \
	   const char *newname),                                             \
	  (req, ino, newparent, newname))                                    \
	X(setattr, CTL_NODE(ino),                                            \
	  (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,    \
	   struct fuse_file_info *fi),                                       \
	  (req, ino, attr, to_set, fi))                                      \
	X(open, CTL_NODE(ino),                                               \
	  (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),       \
	  (req, ino, fi))                                                    \
	X(read, CTL_NODE(ino),                                               \
	  (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,           \
	   struct fuse_file_info *fi),                                       \
	  (req, ino, size, off, fi))                                         \
	X(write, CTL_NODE(ino),                                              \
	  (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,     \
	   off_t off, struct fuse_file_info *fi),                            \
	  (req, ino, buf, size, off, fi))                                    \
	X(flush, CTL_NODE(ino),                                              \
	  (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),       \
	  (req, ino, fi))                                                    \
	X(release, CTL_NODE(ino),                                            \
	  (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),       \
	  (req, ino, fi))                                                    \
	X(fsync, CTL_NODE(ino),                                              \
	  (fuse_req_t req, fuse_ino_t ino, int datasync,                     \
	   struct fuse_file_info *fi),                                       \
	  (req, ino, datasync, fi))                                          \
	X(fallocate, CTL_NODE(ino),                                          \
	  (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,           \
	   off_t length, struct fuse_file_info *fi),                         \
	  (req, ino, mode, offset, length, fi))                              \
	X(lseek, CTL_NODE(ino),                                              \
	  (fuse_req_t req, fuse_ino_t ino, off_t off, int whence,            \
	   struct fuse_file_info *fi),                                       \
	  (req, ino, off, whence, fi))                                       \
	X(copy_file_range, CTL_NODE(ino_in) || CTL_NODE(ino_out),            \
	  (fuse_req_t req, fuse_ino_t ino_in, off_t off_in,                  \
	   struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,  \
	   struct fuse_file_info *fi_out, size_t len, int flags),            \
	  (req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags))

#define ZSFS_CTL_ROUTE(op, is_ctl, params, args)                             \
	static void route_##op params                                        \
	{                                                                    \
		struct zsfs *fs = fuse_req_userdata(req);                    \
                                                                             \
		if (is_ctl)                                                  \
			zsfs_ctl_op_##op args;                               \
		else                                                         \
			zsfs_op_##op args;                                   \
	}
ZSFS_CTL_ROUTES(ZSFS_CTL_ROUTE)
#undef ZSFS_CTL_ROUTE

void zsfs_fs_print(void *arg, FILE *f)
{
	struct zsfs *fs = arg;

	zsfs_transport_print(&fs->tp, f);
}

void zsfs_op_destroy(void *userdata)
{
	/* Teardown is in main(), after the session loop has stopped. */
}

void zsfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct zsfs *fs = fuse_req_userdata(req);
	struct statvfs sv;
	uint64_t total = zsfs_budget_size(fs->budget), used;
	size_t inodes;

	if (!total)
		total = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	used = zsfs_budget_used(fs->budget);
	pthread_mutex_lock(&fs->life_lock);
	inodes = fs->nr_inodes;
	pthread_mutex_unlock(&fs->life_lock);

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = ZSFS_PAGE_SIZE;
	sv.f_frsize = ZSFS_PAGE_SIZE;
	sv.f_blocks = total / ZSFS_PAGE_SIZE;
	sv.f_bfree = used < total ? (total - used) / ZSFS_PAGE_SIZE : 0;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = fs->opts.nr_inodes ? fs->opts.nr_inodes : UINT32_MAX;
	sv.f_ffree = sv.f_files > inodes ? sv.f_files - inodes : 0;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = ZSFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* The routed requests take their wrapper, the others their handler. */
#define ZSFS_CTL_WIRE(op, is_ctl, params, args) .op = route_##op,
const struct fuse_lowlevel_ops zsfs_ops = {
	ZSFS_CTL_ROUTES(ZSFS_CTL_WIRE)
	.init = zsfs_op_init,
	.destroy = zsfs_op_destroy,
	.statfs = zsfs_op_statfs,
	.forget = zsfs_op_forget,
	.forget_multi = zsfs_op_forget_multi,
	.getattr = zsfs_op_getattr,
	.readlink = zsfs_op_readlink,
	.opendir = zsfs_op_opendir,
	.readdir = zsfs_op_readdir,
	.readdirplus = zsfs_op_readdirplus,
	.releasedir = zsfs_op_releasedir,
	.fsyncdir = zsfs_op_fsyncdir,
	.setxattr = zsfs_op_setxattr,
	.getxattr = zsfs_op_getxattr,
	.listxattr = zsfs_op_listxattr,
	.removexattr = zsfs_op_removexattr,
};
#undef ZSFS_CTL_WIRE
