/*
 * ops_dir.c - FUSE handlers for open directories: opendir, readdir,
 * readdirplus, releasedir, fsyncdir.
 *
 * Offsets are the entries' cookies (see dir.c): "." is 1, ".." is 2, and
 * each reply resumes after the cookie it is given, so listings are stable
 * while the directory changes, and telldir/seekdir positions stay valid.
 * .zsctl is not a directory entry and never listed.  readdirplus takes a
 * lookup reference on each entry it returns with attributes, as the
 * kernel expects; "." and ".." go without (node id 0).
 *
 * lock ordering: fs->ns_lock (shared) -> inode->lock (shared, one child at
 * a time; the directory's own exclusive for its atime) -> fs->life_lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static struct zsfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

void zsfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);

	fi->fh = 0;
	if (in->type != S_IFDIR)
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

/* Add one entry at @pos of @buf; return the new position, or @pos when it
 * does not fit. */
static size_t add_entry(fuse_req_t req, char *buf, size_t cap, size_t pos,
			int plus, const char *name, struct fuse_entry_param *e,
			off_t next)
{
	size_t n;

	if (plus)
		n = fuse_add_direntry_plus(req, buf + pos, cap - pos, name, e, next);
	else
		n = fuse_add_direntry(req, buf + pos, cap - pos, name, &e->attr, next);
	return n > cap - pos ? pos : pos + n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       int plus)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	struct zsfs_dirent *de;
	struct fuse_entry_param e;
	char *buf;
	size_t pos = 0, npos;
	int rc = 0;

	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_rwlock_rdlock(&fs->ns_lock);
	if (in->type != S_IFDIR) {
		rc = -ENOTDIR;
		goto unlock;
	}
	memset(&e, 0, sizeof(e));
	if (off < 1) {
		e.attr.st_ino = in->number;
		e.attr.st_mode = S_IFDIR;
		npos = add_entry(req, buf, size, pos, plus, ".", &e, 1);
		if (npos == pos)
			goto unlock;
		pos = npos;
	}
	if (off < 2) {
		e.attr.st_ino = zsfs_idir(in)->parent->number;
		e.attr.st_mode = S_IFDIR;
		npos = add_entry(req, buf, size, pos, plus, "..", &e, 2);
		if (npos == pos)
			goto unlock;
		pos = npos;
	}
	for (de = zsfs_dir_next(zsfs_idir(in), off < 2 ? 2 : (uint64_t)off); de;
	     de = zsfs_dir_next(zsfs_idir(in), zsfs_dirent_cookie(de))) {
		if (plus) {
			zsfs_entry_fill(fs, de->inode, &e);
		} else {
			memset(&e.attr, 0, sizeof(e.attr));
			e.attr.st_ino = de->inode->number;
			e.attr.st_mode = de->inode->type;
		}
		npos = add_entry(req, buf, size, pos, plus, de->name, &e,
				 (off_t)zsfs_dirent_cookie(de));
		if (npos == pos)
			break;
		pos = npos;
		if (plus)
			zsfs_inode_ref(fs, de->inode);
	}
	/* A listing reads the directory: relatime, like a file read. */
	if (rc == 0 && off == 0) {
		int64_t now;

		now = zsfs_now();
		zsfs_inode_wrlock(fs, in);
		if (zsfs_inode_atime_due(fs, in, now))
			in->atime = now;
		zsfs_inode_unlock(fs, in);
	}
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
}

void zsfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 0);
}

void zsfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 1);
}

void zsfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

void zsfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}
