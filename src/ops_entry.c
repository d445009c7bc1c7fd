/*
 * ops_entry.c - FUSE handlers for names and inode attributes: lookup,
 * forget, getattr, setattr, readlink, mknod, mkdir, symlink, create, link,
 * unlink, rmdir (rename is ops_rename.c's, with the helpers here).
 *
 * Permission checks are the kernel's (default_permissions is always on):
 * these handlers only keep the tree consistent and the attributes right.
 * New inodes take their group from a setgid parent, and directories
 * inherit the setgid bit; the umask or the parent's default ACL shape the
 * mode (FUSE_CAP_DONT_MASK, see xattr.c).  Requests that name .zsctl or
 * its node never reach these handlers: ops_fs.c routes them to ops_ctl.c.
 *
 * lock ordering: fs->ns_lock -> inode->lock (parents before children; two
 * parents in address order) -> fs->life_lock.  Every handler that changes
 * the namespace holds ns_lock exclusive for its whole length.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fs.h"

static struct zsfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int zsfs_name_check(const char *name)
{
	return strlen(name) > ZSFS_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Caller holds in->lock exclusive. */
static void touch_ctime(struct zsfs_inode *in)
{
	in->ctime = zsfs_now();
}

void zsfs_dir_touch(struct zsfs *fs, struct zsfs_inode *dir)
{
	zsfs_inode_wrlock(fs, dir);
	dir->mtime = zsfs_now();
	dir->ctime = dir->mtime;
	zsfs_inode_unlock(fs, dir);
}

void zsfs_inode_touch_ctime(struct zsfs *fs, struct zsfs_inode *in)
{
	zsfs_inode_wrlock(fs, in);
	touch_ctime(in);
	zsfs_inode_unlock(fs, in);
}

void zsfs_entry_fill(struct zsfs *fs, struct zsfs_inode *in,
		     struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = zsfs_inode_nodeid(fs, in);
	e->generation = 1;
	e->attr_timeout = ZSFS_ATTR_TIMEOUT;
	e->entry_timeout = ZSFS_ENTRY_TIMEOUT;
	zsfs_inode_rdlock(fs, in);
	zsfs_inode_stat(fs, in, &e->attr);
	zsfs_inode_unlock(fs, in);
}

/* A directory inode from a node id that is still linked: 0 or -errno. */
int zsfs_entry_get_dir(struct zsfs *fs, fuse_ino_t ino, struct zsfs_inode **out)
{
	struct zsfs_inode *d = zsfs_inode_get(fs, ino);

	if (d->type != S_IFDIR)
		return -ENOTDIR;
	*out = d;
	return 0;
}

void zsfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zsfs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct zsfs_inode *p, *in = NULL;
	struct zsfs_dirent *de;
	int rc;

	rc = zsfs_name_check(name);
	if (rc < 0)
		goto out;
	pthread_rwlock_rdlock(&fs->ns_lock);
	rc = zsfs_entry_get_dir(fs, parent, &p);
	if (rc < 0)
		goto unlock;
	de = zsfs_dir_lookup(zsfs_idir(p), name);
	if (de)
		in = de->inode;
	if (in) {
		zsfs_inode_ref(fs, in);
		zsfs_entry_fill(fs, in, &e);
	} else {
		/* A negative entry the kernel may cache. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = ZSFS_ENTRY_TIMEOUT;
	}
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
out:
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

void zsfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct zsfs *fs = req_fs(req);

	pthread_rwlock_rdlock(&fs->ns_lock);
	zsfs_inode_forget(fs, zsfs_inode_get(fs, ino), nlookup);
	pthread_rwlock_unlock(&fs->ns_lock);
	fuse_reply_none(req);
}

void zsfs_op_forget_multi(fuse_req_t req, size_t count,
			  struct fuse_forget_data *forgets)
{
	struct zsfs *fs = req_fs(req);
	size_t i;

	pthread_rwlock_rdlock(&fs->ns_lock);
	for (i = 0; i < count; i++)
		zsfs_inode_forget(fs, zsfs_inode_get(fs, forgets[i].ino),
				  forgets[i].nlookup);
	pthread_rwlock_unlock(&fs->ns_lock);
	fuse_reply_none(req);
}

void zsfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	struct stat st;

	zsfs_inode_rdlock(fs, in);
	zsfs_inode_stat(fs, in, &st);
	zsfs_inode_unlock(fs, in);
	fuse_reply_attr(req, &st, ZSFS_ATTR_TIMEOUT);
}

void zsfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		     int to_set, struct fuse_file_info *fi)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int64_t now;
	struct stat st;
	int rc = 0;

	now = zsfs_now();
	zsfs_inode_wrlock(fs, in);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		uint64_t nsize = (uint64_t)attr->st_size;

		if (in->type != S_IFREG) {
			rc = in->type == S_IFDIR ? -EISDIR : -EINVAL;
			goto unlock;
		}
		rc = zsfs_file_truncate(fs->store, zsfs_ifile(in), in->size, nsize);
		zsfs_inode_file_meta_sync(fs, in);
		if (rc < 0)
			goto unlock;
		in->size = nsize;
		in->mtime = now;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		in->mode = in->type | (attr->st_mode & 07777);
		rc = zsfs_acl_chmod(fs, in);
		if (rc < 0)
			goto unlock;
	}
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t nuid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : in->uid;
		gid_t ngid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : in->gid;

		/* the usage moves with the owner (tmpfs: dquot_transfer);
		 * first, so that a refusal changes nothing */
		if (in->flags & ZSFS_I_QUOTA) {
			rc = zsfs_quota_transfer(fs->quota, in->uid, in->gid,
						 nuid, ngid,
						 zsfs_iquota(fs->quota, in) ?
						 *zsfs_iquota(fs->quota, in) : 0,
						 fuse_req_ctx(req)->uid == 0);
			if (rc < 0)
				goto unlock;
		}
	}
	/* HANDLE_KILLPRIV_V2 (transport.c): a chown or truncate clears
	 * security.capability, and setuid/setgid when the kernel says
	 * (FATTR_KILL_SUIDGID, which libfuse passes as KILL_SUID), before
	 * the owner changes (the sgid rule looks at the old group) */
	if ((to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_UID |
		       FUSE_SET_ATTR_GID | FUSE_SET_ATTR_KILL_SUID)) &&
	    atomic_load_explicit(&fs->tp.killpriv_v2, memory_order_relaxed))
		(void)zsfs_kill_priv(fs, req, in,
				     to_set & FUSE_SET_ATTR_KILL_SUID);
	else if (to_set & FUSE_SET_ATTR_KILL_SUID)
		in->mode &= ~(mode_t)S_ISUID;
	if ((to_set & FUSE_SET_ATTR_KILL_SGID) && (in->mode & S_IXGRP))
		in->mode &= ~(mode_t)S_ISGID;
	if (to_set & FUSE_SET_ATTR_UID)
		in->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		in->gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		in->atime = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		in->atime = zsfs_ts_to_ns(&attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		in->mtime = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		in->mtime = zsfs_ts_to_ns(&attr->st_mtim);
	if (to_set & FUSE_SET_ATTR_CTIME)
		in->ctime = zsfs_ts_to_ns(&attr->st_ctim);
	else
		in->ctime = now;
unlock:
	zsfs_inode_unlock(fs, in);
	if (rc == 0) {
		zsfs_inode_rdlock(fs, in);
		zsfs_inode_stat(fs, in, &st);
		zsfs_inode_unlock(fs, in);
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ZSFS_ATTR_TIMEOUT);
}

void zsfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);

	if (in->type != S_IFLNK)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, zsfs_itarget(in)); /* immutable */
}

int zsfs_entry_make(struct zsfs *fs, fuse_req_t req, fuse_ino_t parent,
		    const char *name, mode_t mode, dev_t rdev,
		    const char *target, struct fuse_entry_param *e,
		    struct zsfs_inode **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct zsfs_inode *p, *in = NULL;
	gid_t gid = ctx->gid;
	int rc;

	rc = zsfs_name_check(name);
	if (rc < 0)
		return rc;
	if (target && strlen(target) > PATH_MAX - 1)
		return -ENAMETOOLONG;
	pthread_rwlock_wrlock(&fs->ns_lock);
	rc = zsfs_entry_get_dir(fs, parent, &p);
	if (rc < 0)
		goto unlock;
	if (p->nlink == 0) {
		rc = -ENOENT;
		goto unlock;
	}
	if (S_ISDIR(mode) && p->nlink >= ZSFS_LINK_MAX) {
		rc = -EMLINK;
		goto unlock;
	}
	if (zsfs_dir_lookup(zsfs_idir(p), name)) {
		rc = -EEXIST;
		goto unlock;
	}
	zsfs_inode_wrlock(fs, p);
	if (p->mode & S_ISGID) {
		gid = p->gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	rc = zsfs_inode_new(fs, mode, ctx->uid, gid, rdev, target, &in);
	if (rc < 0)
		goto unlock_parent;
	rc = zsfs_inode_quota_charge(fs, in, ctx->uid == 0);
	if (rc < 0)
		goto free_inode;
	if (S_ISDIR(mode)) {
		zsfs_idir(in)->parent = p;
	}
	/* The new inode is not reachable yet: its lock is not needed. */
	rc = zsfs_acl_inherit(fs, p, in, ctx->umask);
	if (rc < 0)
		goto free_inode;
	rc = zsfs_dir_add(fs, zsfs_idir(p), name, in);
	if (rc < 0)
		goto free_inode;
	zsfs_inode_set_nlink(fs, in, S_ISDIR(mode) ? 2 : 1);
	if (S_ISDIR(mode))
		zsfs_inode_set_nlink(fs, p, p->nlink + 1);
	p->mtime = p->ctime = in->ctime;
	zsfs_inode_unlock(fs, p);
	zsfs_inode_ref(fs, in);
	if (S_ISREG(mode) && out)
		zsfs_inode_open(fs, in);
	zsfs_entry_fill(fs, in, e);
	if (out)
		*out = in;
	pthread_rwlock_unlock(&fs->ns_lock);
	return 0;

free_inode:
	zsfs_inode_unlock(fs, p);
	zsfs_inode_maybe_free(fs, in);
	goto unlock;
unlock_parent:
	zsfs_inode_unlock(fs, p);
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

static void reply_entry_or_err(fuse_req_t req, int rc,
			       const struct fuse_entry_param *e)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, e);
}

void zsfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, dev_t rdev)
{
	struct fuse_entry_param e;
	int rc = zsfs_entry_make(req_fs(req), req, parent, name, mode, rdev,
				 NULL, &e, NULL);

	reply_entry_or_err(req, rc, &e);
}

void zsfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode)
{
	struct fuse_entry_param e;
	int rc = zsfs_entry_make(req_fs(req), req, parent, name,
				 S_IFDIR | (mode & 07777), 0, NULL, &e, NULL);

	reply_entry_or_err(req, rc, &e);
}

void zsfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		     const char *name)
{
	struct fuse_entry_param e;
	int rc = zsfs_entry_make(req_fs(req), req, parent, name,
				 S_IFLNK | 0777, 0, link, &e, NULL);

	reply_entry_or_err(req, rc, &e);
}

void zsfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct zsfs_inode *in;
	int rc = zsfs_entry_make(req_fs(req), req, parent, name,
				 S_IFREG | (mode & 07777), 0, NULL, &e, &in);

	zsfs_file_handle_init(fi);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_create(req, &e, fi);
}

/* What a link checks before it looks at names (fs.h).  No lock: an
 * inode's type never changes. */
int zsfs_link_check(struct zsfs *fs, fuse_ino_t newparent,
		    const char *newname)
{
	struct zsfs_inode *np;
	int rc = zsfs_name_check(newname);

	return rc < 0 ? rc : zsfs_entry_get_dir(fs, newparent, &np);
}

void zsfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		  const char *newname)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino), *np;
	struct fuse_entry_param e;
	int rc = zsfs_link_check(fs, newparent, newname);

	if (rc < 0)
		goto out;
	pthread_rwlock_wrlock(&fs->ns_lock);
	np = zsfs_inode_get(fs, newparent);
	if (in->type == S_IFDIR) {
		rc = -EPERM;
		goto unlock;
	}
	if (np->nlink == 0 || in->nlink == 0) {
		rc = -ENOENT;
		goto unlock;
	}
	if (in->nlink >= ZSFS_LINK_MAX) {
		rc = -EMLINK;
		goto unlock;
	}
	if (zsfs_dir_lookup(zsfs_idir(np), newname)) {
		rc = -EEXIST;
		goto unlock;
	}
	rc = zsfs_dir_add(fs, zsfs_idir(np), newname, in);
	if (rc < 0)
		goto unlock;
	zsfs_inode_set_nlink(fs, in, in->nlink + 1);
	zsfs_inode_touch_ctime(fs, in);
	zsfs_dir_touch(fs, np);
	zsfs_inode_ref(fs, in);
	zsfs_entry_fill(fs, in, &e);
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
out:
	reply_entry_or_err(req, rc, &e);
}

/* Drop one name of @in (already removed from its directory).  Caller holds
 * ns_lock exclusive. */
void zsfs_entry_drop_link(struct zsfs *fs, struct zsfs_inode *in)
{
	if (in->type == S_IFDIR)
		zsfs_inode_set_nlink(fs, in, 0);
	else if (in->nlink)
		zsfs_inode_set_nlink(fs, in, in->nlink - 1);
	zsfs_inode_touch_ctime(fs, in);
}

static int remove_name(struct zsfs *fs, fuse_ino_t parent, const char *name,
		       int want_dir)
{
	struct zsfs_inode *p, *in;
	struct zsfs_dirent *de;
	int rc = zsfs_name_check(name);

	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&fs->ns_lock);
	rc = zsfs_entry_get_dir(fs, parent, &p);
	if (rc < 0)
		goto unlock;
	de = zsfs_dir_lookup(zsfs_idir(p), name);
	if (!de) {
		rc = -ENOENT;
		goto unlock;
	}
	in = de->inode;
	if (want_dir && in->type != S_IFDIR) {
		rc = -ENOTDIR;
		goto unlock;
	}
	if (!want_dir && in->type == S_IFDIR) {
		rc = -EISDIR;
		goto unlock;
	}
	if (want_dir && zsfs_idir(in)->count) {
		rc = -ENOTEMPTY;
		goto unlock;
	}
	zsfs_dir_remove(fs, zsfs_idir(p), de);
	if (want_dir)
		zsfs_inode_set_nlink(fs, p, p->nlink - 1);
	zsfs_entry_drop_link(fs, in);
	zsfs_dir_touch(fs, p);
	zsfs_inode_maybe_free(fs, in);
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

void zsfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -remove_name(req_fs(req), parent, name, 0));
}

void zsfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -remove_name(req_fs(req), parent, name, 1));
}

