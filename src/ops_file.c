/*
 * ops_file.c - FUSE handlers for open files: open, read, write, flush,
 * release, fsync, fallocate, lseek, copy_file_range of regular files,
 * whose data is in the page store.  The control file .zsctl has its own
 * (ops_ctl.c); ops_fs.c routes its requests there.
 *
 * Regular files are opened with keep_cache: only this daemon changes them
 * and every change passes through the kernel, so its page cache stays
 * valid (mmap needs cached, not direct, I/O).
 * Writes that run out of space reply ENOSPC (a short count when part was
 * stored), never EIO; writes to a file whose owner or group is at its
 * quota hard limit reply EDQUOT (quota.h; the change of the file's stored
 * bytes is accounted by zsfs_inode_file_meta_sync after each change).  A writer's close flushes the file's dirty pages so a
 * late ENOSPC reaches close(2); read-only handles are opened noflush (the
 * kernel sends them no FLUSH at all).  Unreferenced, unlinked files are
 * freed.
 *
 * lock ordering: fs->ns_lock (release only, for freeing) -> inode->lock
 * (two inodes in address order, copy_file_range) -> fs->life_lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fuse.h> /* FUSE_WRITE_KILL_SUIDGID */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

static struct zsfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Per-uid/gid hard limits (quota.h): may @in's owner and group store
 * @need more bytes (0: are they below their limits)?  Root passes, as
 * CAP_SYS_RESOURCE passes a tmpfs quota.  Caller holds in->lock. */
static int quota_room(struct zsfs *fs, fuse_req_t req,
		      const struct zsfs_inode *in, uint64_t need)
{
	if (!fs->quota)
		return 0;
	return zsfs_quota_room(fs->quota, in->uid, in->gid, need,
			       fuse_req_ctx(req)->uid == 0);
}

/* Is the caller of @req a member of group @gid (primary or supplementary)? */
static int caller_in_group(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[64];
	int n;

	if (ctx->gid == gid)
		return 1;
	n = fuse_req_getgroups(req, 64, groups);
	for (int i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int zsfs_kill_priv(struct zsfs *fs, fuse_req_t req, struct zsfs_inode *in,
		   int suidgid)
{
	mode_t old = in->mode;
	int changed = 0;

	if (suidgid && (in->mode & (S_ISUID | S_ISGID))) {
		in->mode &= ~(mode_t)S_ISUID;
		/* as the VFS (setattr_should_drop_sgid): a group-executable
		 * sgid goes; one that is not (mandatory locking) only for a
		 * caller outside the group without CAP_FSETID */
		if ((in->mode & S_ISGID) &&
		    ((in->mode & S_IXGRP) ||
		     (fuse_req_ctx(req)->uid != 0 &&
		      !caller_in_group(req, in->gid))))
			in->mode &= ~(mode_t)S_ISGID;
		changed = in->mode != old;
	}
	if ((in->flags & ZSFS_I_XATTR) &&
	    zsfs_xattr_remove(fs, in, "security.capability") == 0)
		changed = 1;
	return changed;
}

void zsfs_file_handle_init(struct fuse_file_info *fi)
{
	int writer = (fi->flags & O_ACCMODE) != O_RDONLY;

	fi->fh = writer ? ZSFS_FH_WRITER : 0;
	fi->keep_cache = 1;
	fi->direct_io = 0;
	/* A reader's close has nothing to report and zsfs keeps no locks, so
	 * the kernel need not send it a FLUSH (FOPEN_NOFLUSH): one round trip
	 * less per read-only open.  Writers keep theirs: it reports a late
	 * ENOSPC from their dirty pages to close(2). */
	fi->noflush = !writer;
}

void zsfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = 0;

	if (in->type == S_IFDIR) {
		rc = -EISDIR;
		goto out;
	}
	zsfs_inode_open(fs, in);
	zsfs_file_handle_init(fi);
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

void zsfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int64_t now;
	char *buf = NULL;
	size_t n = 0;
	int rc = 0, touch = 0;

	zsfs_inode_rdlock(fs, in);
	if ((uint64_t)off < in->size) {
		n = in->size - (uint64_t)off < size ? in->size - (uint64_t)off : size;
		buf = malloc(n);
		if (!buf) {
			rc = -ENOMEM;
			goto unlock;
		}
		rc = zsfs_file_read(fs->store, zsfs_ifile(in), (uint64_t)off, n, buf);
	}
	now = zsfs_now();
	touch = rc == 0 && zsfs_inode_atime_due(fs, in, now);
unlock:
	zsfs_inode_unlock(fs, in);
	if (touch) {
		/* Rare (relatime): the first read after a change. */
		zsfs_inode_wrlock(fs, in);
		in->atime = now;
		zsfs_inode_unlock(fs, in);
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

void zsfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		   size_t size, off_t off, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	size_t written = 0;
	int killed = 0;
	int rc;

	if ((uint64_t)off > ZSFS_MAX_FILE_SIZE - size) {
		rc = -EFBIG;
		goto out;
	}
	zsfs_inode_wrlock(fs, in);
	rc = quota_room(fs, req, in, 0);
	if (rc < 0) {
		zsfs_inode_unlock(fs, in);
		goto out;
	}
	rc = zsfs_file_write(fs->store, zsfs_ifile(in), (uint64_t)off, size, buf,
			     &written);
	if (rc == 0)
		written = size;
	if (written && (uint64_t)off + written > in->size)
		in->size = (uint64_t)off + written;
	if (written) {
		in->mtime = zsfs_now();
		in->ctime = in->mtime;
		/* HANDLE_KILLPRIV_V2: the kernel left this to us */
		if (atomic_load_explicit(&fs->tp.killpriv_v2,
					 memory_order_relaxed))
			killed = zsfs_kill_priv(fs, req, in,
				zsfs_transport_write_flags() &
					FUSE_WRITE_KILL_SUIDGID);
	}
	zsfs_inode_file_meta_sync(fs, in);
	zsfs_inode_unlock(fs, in);
	/* the write's reply carries no attributes: without this the kernel
	 * shows the old mode for the attribute timeout */
	if (killed)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	if (written)
		rc = 0; /* a short write; the next one gets the error */
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, written);
}

static int file_flush(struct zsfs *fs, struct zsfs_inode *in)
{
	int rc;

	zsfs_inode_wrlock(fs, in);
	rc = zsfs_file_flush(fs->store, zsfs_ifile(in));
	zsfs_inode_file_meta_sync(fs, in);
	zsfs_inode_unlock(fs, in);
	return rc;
}

void zsfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = 0;

	if (zsfs_ifile(in) && fi->fh == ZSFS_FH_WRITER)
		rc = file_flush(fs, in);
	fuse_reply_err(req, -rc);
}

void zsfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);

	/* Errors were reported by flush; release cannot report any. */
	if (zsfs_ifile(in) && fi->fh == ZSFS_FH_WRITER)
		(void)file_flush(fs, in);
	pthread_rwlock_rdlock(&fs->ns_lock);
	zsfs_inode_close(fs, in);
	pthread_rwlock_unlock(&fs->ns_lock);
	fuse_reply_err(req, 0);
}

void zsfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = 0;

	if (zsfs_ifile(in))
		rc = file_flush(fs, in);
	fuse_reply_err(req, -rc);
}

void zsfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		       off_t length, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	uint64_t off = (uint64_t)offset, len = (uint64_t)length, end;
	int keep = mode & FALLOC_FL_KEEP_SIZE;
	int rc = 0;

	if (!zsfs_ifile(in)) {
		rc = in->type == S_IFDIR ? -EISDIR : -ENODEV;
		goto out;
	}
	if (offset < 0 || length <= 0) {
		rc = -EINVAL;
		goto out;
	}
	if (off > ZSFS_MAX_FILE_SIZE - len) {
		rc = -EFBIG;
		goto out;
	}
	end = off + len;
	zsfs_inode_wrlock(fs, in);
	switch (mode & ~FALLOC_FL_KEEP_SIZE) {
	case 0: {
		/* Space past what the file already covers. */
		uint64_t need = end > in->size ? end - (off > in->size ? off : in->size) : 0;

		rc = quota_room(fs, req, in, need);
		if (rc == 0)
			rc = zsfs_budget_room(fs->budget, need);
		break;
	}
	case FALLOC_FL_PUNCH_HOLE:
		if (!keep) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (off < in->size)
			rc = zsfs_file_punch(fs->store, zsfs_ifile(in), off,
					     (end < in->size ? end : in->size) - off);
		keep = 1;
		break;
	case FALLOC_FL_ZERO_RANGE:
		if (off < in->size)
			rc = zsfs_file_punch(fs->store, zsfs_ifile(in), off,
					     (end < in->size ? end : in->size) - off);
		break;
	default:
		rc = -EOPNOTSUPP;
	}
	if (rc == 0 && !keep && end > in->size) {
		rc = zsfs_file_truncate(fs->store, zsfs_ifile(in), in->size, end);
		if (rc == 0)
			in->size = end;
	}
	if (rc == 0) {
		in->ctime = zsfs_now();
		if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE)
			in->mtime = in->ctime;
	}
	zsfs_inode_file_meta_sync(fs, in);
	zsfs_inode_unlock(fs, in);
out:
	fuse_reply_err(req, -rc);
}

void zsfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		   struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	uint64_t res = 0;
	int rc;

	if (!zsfs_ifile(in) || off < 0) {
		rc = off < 0 ? -ENXIO : -EINVAL;
		goto out;
	}
	zsfs_inode_rdlock(fs, in);
	rc = zsfs_file_seek(zsfs_ifile(in), (uint64_t)off, in->size, whence, &res);
	zsfs_inode_unlock(fs, in);
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_lseek(req, (off_t)res);
}

void zsfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			     struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			     off_t off_out, struct fuse_file_info *fi_out,
			     size_t len, int flags)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *src = zsfs_inode_get(fs, ino_in);
	struct zsfs_inode *dst = zsfs_inode_get(fs, ino_out);
	size_t copied = 0;
	uint64_t dend;
	int rc = 0;

	if (!zsfs_ifile(src) || !zsfs_ifile(dst)) {
		rc = -EINVAL;
		goto out;
	}
	if (off_in < 0 || off_out < 0 || flags) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)off_out > ZSFS_MAX_FILE_SIZE - len) {
		rc = -EFBIG;
		goto out;
	}
	/* The destination exclusive, the source shared, in lock order. */
	zsfs_inode_lock2(fs, src, dst);
	if ((uint64_t)off_in >= src->size)
		len = 0;
	else if (src->size - (uint64_t)off_in < len)
		len = (size_t)(src->size - (uint64_t)off_in);
	if (len)
		rc = quota_room(fs, req, dst, 0);
	if (len && rc == 0)
		rc = zsfs_file_copy_sized(fs->store, zsfs_ifile(dst),
					  (uint64_t)off_out, dst->size,
					  zsfs_ifile(src), (uint64_t)off_in,
					  src->size, len, &copied);
	if (rc == 0)
		copied = len;
	dend = (uint64_t)off_out + copied;
	if (copied) {
		if (dend > dst->size)
			dst->size = dend;
		dst->mtime = zsfs_now();
		dst->ctime = dst->mtime;
		rc = 0;
	}
	zsfs_inode_file_meta_sync(fs, dst);
	zsfs_inode_unlock2(fs, src, dst);
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, copied);
}
