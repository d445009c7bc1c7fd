/*
 * ops_ctl.c - the FUSE handlers of the control file .zsctl, and the two
 * tests that tell a request for it from any other.
 *
 * .zsctl is an inode of its own (regular, mode 0644, owned by the user who
 * mounted, one link) that no directory holds: lookup finds it by name in
 * the root, readdir never lists it.  Its data is not in the page store but
 * in the control plane (ctl.h): an open takes a snapshot of the text for
 * its reads, and a writable open gets a writer that runs the command lines
 * written to it.  ops_fs.c routes here, from one list, every request whose
 * node is .zsctl (zsfs_ctl_is_node) or which names it in the root
 * (zsfs_ctl_is_name); the other handlers never see it.  What is left to
 * them is what .zsctl has like any inode: getattr (its size stays 0, as
 * nothing ever writes to the inode, so readers read to EOF), forget, and
 * the xattrs (user.zsfs.* answer with the page statistics of an empty
 * file; other names are stored on it).
 *
 * What .zsctl answers, and why:
 *	open, read, write, flush, release   the snapshot and the writer;
 *	                     opened direct_io so every read sees the snapshot
 *	                     taken at open, not stale cached text; flush runs
 *	                     a last line without newline, so close(2) reports
 *	                     its error
 *	setattr              EPERM for mode, owner and the like; a size or
 *	                     time change (O_TRUNC, touch) is accepted and
 *	                     changes nothing
 *	fsync                0: nothing to write back
 *	fallocate            ENODEV; lseek EINVAL (ENXIO for a negative
 *	                     offset); copy_file_range, either side: EINVAL
 *	link                 EPERM to link it; EEXIST for a link named .zsctl
 *	mknod, mkdir, symlink, create   EEXIST
 *	unlink EPERM, rmdir ENOTDIR, rename either way EPERM
 * The checks a namespace request makes before it looks at names (their
 * length, the parents, rename's flags) are zsfs_link_check and
 * zsfs_rename_check (ops_entry.c), so their errors come first here too.
 *
 * lock ordering: handle->lock (an open .zsctl's writer) is taken with no
 * other lock held, before the control plane's own; fs->ns_lock (shared)
 * for lookup and link, as ops_entry.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* A handle on an open .zsctl (fi->fh). */
struct ctl_handle {
	char *text;                    /* snapshot for reads; immutable */
	size_t len;
	uid_t uid;                     /* who opened it */
	int writable;                  /* opened for writing */
	pthread_mutex_t lock;
	struct zsfs_ctl_writer *writer; /* protected by lock; NULL after flush */
};

static struct zsfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int zsfs_ctl_is_node(struct zsfs *fs, fuse_ino_t ino)
{
	return zsfs_inode_get(fs, ino) == fs->ctl_inode;
}

int zsfs_ctl_is_name(struct zsfs *fs, fuse_ino_t parent, const char *name)
{
	return zsfs_inode_get(fs, parent) == fs->root &&
	       strcmp(name, ZSFS_CTL_NAME) == 0;
}

/* ---- the namespace ---- */

void zsfs_ctl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zsfs *fs = req_fs(req);
	struct fuse_entry_param e;

	pthread_rwlock_rdlock(&fs->ns_lock);
	zsfs_inode_ref(fs, fs->ctl_inode);
	zsfs_entry_fill(fs, fs->ctl_inode, &e);
	pthread_rwlock_unlock(&fs->ns_lock);
	fuse_reply_entry(req, &e);
}

/* A new name .zsctl: it exists. */
void zsfs_ctl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EEXIST);
}

void zsfs_ctl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode)
{
	fuse_reply_err(req, EEXIST);
}

void zsfs_ctl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			 const char *name)
{
	/* as zsfs_entry_make: an over-long target is refused first */
	fuse_reply_err(req, strlen(link) > PATH_MAX - 1 ? ENAMETOOLONG : EEXIST);
}

void zsfs_ctl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EEXIST);
}

void zsfs_ctl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

void zsfs_ctl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, ENOTDIR);
}

/* .zsctl is the source or the target name (or both). */
void zsfs_ctl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags)
{
	int rc = zsfs_rename_check(req_fs(req), parent, name, newparent,
				   newname, flags);

	fuse_reply_err(req, rc < 0 ? -rc : EPERM);
}

/* .zsctl is the inode to link, or the new name, or both. */
void zsfs_ctl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = zsfs_link_check(fs, newparent, newname);

	if (rc < 0)
		goto out;
	if (zsfs_ctl_is_node(fs, ino) || in->type == S_IFDIR) {
		rc = -EPERM;
		goto out;
	}
	/* the new name is .zsctl: as ops_entry.c, a removed file first */
	pthread_rwlock_rdlock(&fs->ns_lock);
	rc = in->nlink == 0 ? -ENOENT : -EEXIST;
	pthread_rwlock_unlock(&fs->ns_lock);
out:
	fuse_reply_err(req, -rc);
}

/* ---- attributes ---- */

void zsfs_ctl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	struct stat st;

	/* O_TRUNC on open sends a size change: nothing to do.  From a
	 * caller without CAP_FSETID it carries the kill-suid/sgid flag
	 * (HANDLE_KILLPRIV_V2, transport.c): .zsctl has no such bits. */
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME |
		       FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW |
		       FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	zsfs_inode_rdlock(fs, in);
	zsfs_inode_stat(fs, in, &st);
	zsfs_inode_unlock(fs, in);
	fuse_reply_attr(req, &st, ZSFS_ATTR_TIMEOUT);
}

/* ---- open files: the snapshot and the writer ---- */

static struct ctl_handle *ctl_handle(struct fuse_file_info *fi)
{
	return (struct ctl_handle *)(uintptr_t)fi->fh;
}

static void ctl_handle_free(struct ctl_handle *h)
{
	if (!h)
		return;
	zsfs_ctl_writer_close(h->writer);
	free(h->text);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int ctl_open(struct zsfs *fs, fuse_req_t req, struct fuse_file_info *fi)
{
	struct ctl_handle *h = calloc(1, sizeof(*h));
	int acc = fi->flags & O_ACCMODE;
	int rc = 0;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->uid = fuse_req_ctx(req)->uid;
	if (acc != O_WRONLY) {
		rc = zsfs_ctl_stats_text(fs->ctl, &h->text, &h->len);
		if (rc < 0)
			goto fail;
	}
	if (acc != O_RDONLY) {
		rc = zsfs_ctl_writer_open(fs->ctl, h->uid, &h->writer);
		if (rc < 0)
			goto fail;
		h->writable = 1;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->nonseekable = 0;
	return 0;
fail:
	ctl_handle_free(h);
	return rc;
}

void zsfs_ctl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = ctl_open(req_fs(req), req, fi);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

void zsfs_ctl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	/* The snapshot taken at open; the handle is this reader's. */
	struct ctl_handle *h = ctl_handle(fi);
	char *buf = NULL;
	size_t n = 0;
	int rc = 0;

	if (h->text && (uint64_t)off < h->len) {
		n = h->len - (size_t)off < size ? h->len - (size_t)off : size;
		buf = malloc(n);
		if (!buf)
			rc = -ENOMEM;
		else
			memcpy(buf, h->text + off, n);
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

void zsfs_ctl_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct ctl_handle *h = ctl_handle(fi);
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	if (!h->writer)
		rc = h->writable ? zsfs_ctl_writer_open(fs->ctl, h->uid,
							&h->writer)
				 : -EBADF;
	if (rc == 0)
		rc = zsfs_ctl_writer_write(h->writer, buf, size);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

void zsfs_ctl_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctl_handle *h = ctl_handle(fi);
	int rc;

	/* Run a last unterminated command now so close(2) sees it. */
	pthread_mutex_lock(&h->lock);
	rc = zsfs_ctl_writer_close(h->writer);
	h->writer = NULL;
	pthread_mutex_unlock(&h->lock);
	fuse_reply_err(req, -rc);
}

void zsfs_ctl_op_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	ctl_handle_free(ctl_handle(fi));
	fuse_reply_err(req, 0);
}

void zsfs_ctl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

void zsfs_ctl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			   off_t offset, off_t length,
			   struct fuse_file_info *fi)
{
	fuse_reply_err(req, ENODEV);
}

void zsfs_ctl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		       struct fuse_file_info *fi)
{
	fuse_reply_err(req, off < 0 ? ENXIO : EINVAL);
}

/* .zsctl on either side. */
void zsfs_ctl_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				 off_t off_in, struct fuse_file_info *fi_in,
				 fuse_ino_t ino_out, off_t off_out,
				 struct fuse_file_info *fi_out, size_t len,
				 int flags)
{
	fuse_reply_err(req, EINVAL);
}
