/*
 * ops_rename.c - the rename handler: RENAME_NOREPLACE, RENAME_EXCHANGE and
 * RENAME_WHITEOUT, as tmpfs takes them (a whiteout is a new character
 * device 0/0 in the source's entry), and the checks the .zsctl routes
 * share (zsfs_rename_check).  The name helpers are ops_entry.c's.
 *
 * lock ordering: fs->ns_lock exclusive for the whole rename -> inode->lock
 * (two parents in address order) -> fs->life_lock.
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

/* Is @d @anc or inside it?  Caller holds ns_lock. */
static int is_within(struct zsfs *fs, struct zsfs_inode *d,
		     struct zsfs_inode *anc)
{
	for (;;) {
		if (d == anc)
			return 1;
		if (d == fs->root || !zsfs_idir(d))
			return 0;
		d = zsfs_idir(d)->parent;
	}
}

/* A directory @in moves from @from to @to: fix ".." and the link counts. */
static void move_dir(struct zsfs *fs, struct zsfs_inode *in,
		     struct zsfs_inode *from, struct zsfs_inode *to)
{
	if (in->type != S_IFDIR || from == to)
		return;
	zsfs_idir(in)->parent = to;
	zsfs_inode_set_nlink(fs, from, from->nlink - 1);
	zsfs_inode_set_nlink(fs, to, to->nlink + 1);
}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

/*
 * RENAME_WHITEOUT (overlayfs's): the source name is left holding a
 * whiteout, a character device 0/0 of mode 0, made as tmpfs makes it
 * (shmem_whiteout, a mknod): the caller's uid, the setgid parent's group
 * or else the caller's, the parent's default ACL.  Made before the rename
 * changes anything, so a failure (ENOSPC, EDQUOT) leaves the tree as it
 * was.  Caller holds ns_lock exclusive.
 */
static int whiteout_new(struct zsfs *fs, fuse_req_t req,
			struct zsfs_inode *p, struct zsfs_inode **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct zsfs_inode *wo = NULL;
	gid_t gid = ctx->gid;
	int rc;

	zsfs_inode_wrlock(fs, p);
	if (p->mode & S_ISGID)
		gid = p->gid;
	rc = zsfs_inode_new(fs, S_IFCHR, ctx->uid, gid, makedev(0, 0), NULL,
			    &wo);
	if (rc == 0)
		rc = zsfs_inode_quota_charge(fs, wo, ctx->uid == 0);
	if (rc == 0)
		rc = zsfs_acl_inherit(fs, p, wo, 0);
	zsfs_inode_unlock(fs, p);
	if (rc < 0) {
		if (wo)
			zsfs_inode_maybe_free(fs, wo);
		return rc;
	}
	*out = wo;
	return 0;
}

/* What a rename checks before it looks at names (fs.h), in this order.
 * No lock: an inode's type never changes. */
int zsfs_rename_check(struct zsfs *fs, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct zsfs_inode *d;
	int rc;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE |
				RENAME_WHITEOUT) ||
	    (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) &&
	     flags & RENAME_EXCHANGE))
		return -EINVAL;
	rc = zsfs_name_check(name);
	if (rc == 0)
		rc = zsfs_name_check(newname);
	if (rc == 0)
		rc = zsfs_entry_get_dir(fs, parent, &d);
	if (rc == 0)
		rc = zsfs_entry_get_dir(fs, newparent, &d);
	return rc;
}

void zsfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		    fuse_ino_t newparent, const char *newname,
		    unsigned int flags)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *op, *np, *src, *victim = NULL, *wo = NULL;
	struct zsfs_dirent *se, *te;
	int rc;

	rc = zsfs_rename_check(fs, parent, name, newparent, newname, flags);
	if (rc < 0)
		goto out;
	pthread_rwlock_wrlock(&fs->ns_lock);
	op = zsfs_inode_get(fs, parent);
	np = zsfs_inode_get(fs, newparent);
	if (np->nlink == 0) {
		rc = -ENOENT; /* the target directory was removed */
		goto unlock;
	}
	se = zsfs_dir_lookup(zsfs_idir(op), name);
	if (!se) {
		rc = -ENOENT;
		goto unlock;
	}
	src = se->inode;
	te = zsfs_dir_lookup(zsfs_idir(np), newname);
	if (te == se)
		goto unlock; /* same name: nothing to do */
	if (flags & RENAME_EXCHANGE) {
		struct zsfs_inode *dst;

		if (!te) {
			rc = -ENOENT;
			goto unlock;
		}
		dst = te->inode;
		if ((src->type == S_IFDIR && op != np && is_within(fs, np, src)) ||
		    (dst->type == S_IFDIR && op != np && is_within(fs, op, dst))) {
			rc = -EINVAL;
			goto unlock;
		}
		se->inode = dst;
		te->inode = src;
		move_dir(fs, src, op, np);
		move_dir(fs, dst, np, op);
		zsfs_inode_touch_ctime(fs, src);
		zsfs_inode_touch_ctime(fs, dst);
		zsfs_dir_touch(fs, op);
		if (np != op)
			zsfs_dir_touch(fs, np);
		goto unlock;
	}
	if (te && (flags & RENAME_NOREPLACE)) {
		rc = -EEXIST;
		goto unlock;
	}
	if (src->type == S_IFDIR && is_within(fs, np, src)) {
		rc = -EINVAL;
		goto unlock;
	}
	if (src->type == S_IFDIR && op != np && np->nlink >= ZSFS_LINK_MAX) {
		rc = -EMLINK;
		goto unlock;
	}
	if (te) {
		victim = te->inode;
		if (victim == src)
			goto unlock; /* two links of one inode: POSIX says no-op */
		if (src->type == S_IFDIR && victim->type != S_IFDIR) {
			rc = -ENOTDIR;
			goto unlock;
		}
		if (src->type != S_IFDIR && victim->type == S_IFDIR) {
			rc = -EISDIR;
			goto unlock;
		}
		if (victim->type == S_IFDIR && zsfs_idir(victim)->count) {
			rc = -ENOTEMPTY;
			goto unlock;
		}
		if (flags & RENAME_WHITEOUT) {
			rc = whiteout_new(fs, req, op, &wo);
			if (rc < 0)
				goto unlock;
		}
		/* Keep the target's entry (and readdir cookie). */
		te->inode = src;
		if (wo)
			se->inode = wo; /* the source's entry is the whiteout's */
		else
			zsfs_dir_remove(fs, zsfs_idir(op), se);
		if (victim->type == S_IFDIR)
			zsfs_inode_set_nlink(fs, np, np->nlink - 1);
		zsfs_entry_drop_link(fs, victim);
	} else {
		if (flags & RENAME_WHITEOUT) {
			rc = whiteout_new(fs, req, op, &wo);
			if (rc < 0)
				goto unlock;
		}
		rc = zsfs_dir_add(fs, zsfs_idir(np), newname, src);
		if (rc < 0) {
			if (wo)
				zsfs_inode_maybe_free(fs, wo);
			goto unlock;
		}
		if (wo)
			se->inode = wo;
		else
			zsfs_dir_remove(fs, zsfs_idir(op), se);
	}
	if (wo)
		zsfs_inode_set_nlink(fs, wo, 1);
	move_dir(fs, src, op, np);
	zsfs_inode_touch_ctime(fs, src);
	zsfs_dir_touch(fs, op);
	if (np != op)
		zsfs_dir_touch(fs, np);
	if (victim)
		zsfs_inode_maybe_free(fs, victim);
unlock:
	pthread_rwlock_unlock(&fs->ns_lock);
out:
	fuse_reply_err(req, -rc);
}
