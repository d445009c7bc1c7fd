/*
 * ops_fs.c - the filesystem-wide FUSE handlers (init, destroy, statfs) and
 * the one table that wires every zsfs_op_<op> handler.
 *
 * init picks the kernel features: no atomic O_TRUNC (see below); POSIX ACLs (kernel-enforced, stored as
 * xattrs) with DONT_MASK so we apply the umask or the default ACL
 * ourselves; no HANDLE_KILLPRIV, so the kernel asks us (setattr) to clear
 * setuid/setgid on write and chown; no writeback cache (a page whose
 * writeback fails with ENOSPC would be dropped, losing data); large writes
 * (1 MiB) and cached symlinks.
 *
 * Round trips we would like to lose but cannot with libfuse 3.14: the
 * GETXATTR of security.capability before every write(2) and chown (the
 * kernel's file_remove_privs; it stops only with HANDLE_KILLPRIV_V2, which
 * sets SB_NOSEC, and libfuse 3.14 can neither negotiate that flag nor pass
 * FUSE_WRITE_KILL_SUIDGID to write); HANDLE_KILLPRIV (v1) would not stop
 * it.  The GETATTRs of a parent after create/unlink and of a file after a
 * write are the kernel invalidating what changed, for default_permissions.
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

const struct fuse_lowlevel_ops zsfs_ops = {
	.init = zsfs_op_init,
	.destroy = zsfs_op_destroy,
	.statfs = zsfs_op_statfs,
	.lookup = zsfs_op_lookup,
	.forget = zsfs_op_forget,
	.forget_multi = zsfs_op_forget_multi,
	.getattr = zsfs_op_getattr,
	.setattr = zsfs_op_setattr,
	.readlink = zsfs_op_readlink,
	.mknod = zsfs_op_mknod,
	.mkdir = zsfs_op_mkdir,
	.symlink = zsfs_op_symlink,
	.create = zsfs_op_create,
	.link = zsfs_op_link,
	.unlink = zsfs_op_unlink,
	.rmdir = zsfs_op_rmdir,
	.rename = zsfs_op_rename,
	.open = zsfs_op_open,
	.read = zsfs_op_read,
	.write = zsfs_op_write,
	.flush = zsfs_op_flush,
	.release = zsfs_op_release,
	.fsync = zsfs_op_fsync,
	.fallocate = zsfs_op_fallocate,
	.lseek = zsfs_op_lseek,
	.copy_file_range = zsfs_op_copy_file_range,
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
