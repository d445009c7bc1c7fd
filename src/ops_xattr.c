/*
 * ops_xattr.c - FUSE handlers for extended attributes: setxattr,
 * getxattr, listxattr, removexattr.
 *
 * Namespaces: user., trusted., security. and the two POSIX ACL names
 * (system.posix_acl_access/default); other names are refused with
 * EOPNOTSUPP as tmpfs does.  Who may use which namespace is the kernel's
 * check.  Names under user.zsfs. belong to the control plane (ctl.h): they
 * are answered by zsfs_ctl_xattr_get/set with the file's page statistics,
 * never listed, never stored, and cannot be removed (EPERM); except
 * user.zsfs.quota, the owner's and group's quota usage, answered here.  .zsctl
 * takes no special case here: it is an empty file, so its page
 * statistics are zeros, and other names are stored on it as on any file.
 *
 * lock ordering: inode->lock only (shared for get/list, exclusive for
 * set/remove) -> fs->life_lock (meta accounting does not lock).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs.h"

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
/* The quota usage of the inode's owner and group (quota.h): answered
 * here, as the filesystem holds the quota; read-only. */
#define ZSFS_XATTR_QUOTA "user.zsfs.quota"

static struct zsfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int name_supported(const char *name)
{
	return strncmp(name, "user.", 5) == 0 ||
	       strncmp(name, "trusted.", 8) == 0 ||
	       strncmp(name, "security.", 9) == 0 ||
	       strcmp(name, ACL_ACCESS) == 0 || strcmp(name, ACL_DEFAULT) == 0;
}

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -EINVAL;
	if (len > ZSFS_NAME_MAX)
		return -ERANGE;
	if (!name_supported(name))
		return -EOPNOTSUPP;
	/* A namespace prefix alone names nothing. */
	if (name[len - 1] == '.' && strchr(name, '.') == name + len - 1)
		return -EINVAL;
	return 0;
}

void zsfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      const char *value, size_t size, int flags)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = check_name(name);

	if (rc < 0)
		goto out;
	if (strcmp(name, ZSFS_XATTR_QUOTA) == 0) {
		rc = -EPERM; /* read-only */
		goto out;
	}
	if (zsfs_ctl_xattr_is_reserved(name)) {
		rc = zsfs_ctl_xattr_set(fs->ctl, fuse_req_ctx(req)->uid, name,
					value, size);
		goto out;
	}
	if (size > ZSFS_XATTR_SIZE_MAX) {
		rc = -E2BIG;
		goto out;
	}
	zsfs_inode_wrlock(fs, in);
	if (strcmp(name, ACL_ACCESS) == 0) {
		const struct zsfs_xattr *old;
		mode_t mode = in->mode;
		int drop = 0;

		rc = zsfs_acl_access_to_mode(value, size, &mode, &drop);
		if (rc < 0)
			goto unlock;
		if ((flags & XATTR_CREATE) && zsfs_xattr_get(fs, in, name, &old) == 0) {
			rc = -EEXIST;
			goto unlock;
		}
		if (drop) {
			rc = zsfs_xattr_remove(fs, in, name);
			if (rc == -ENODATA)
				rc = 0;
		} else {
			rc = zsfs_xattr_set(fs, in, name, value, size, flags);
		}
		if (rc < 0)
			goto unlock;
		in->mode = mode;
	} else {
		if (strcmp(name, ACL_DEFAULT) == 0) {
			mode_t m = in->mode;
			int drop;

			if (in->type != S_IFDIR) {
				rc = -EACCES;
				goto unlock;
			}
			rc = zsfs_acl_access_to_mode(value, size, &m, &drop);
			if (rc < 0)
				goto unlock;
		}
		rc = zsfs_xattr_set(fs, in, name, value, size, flags);
		if (rc < 0)
			goto unlock;
	}
	in->ctime = zsfs_now();
unlock:
	zsfs_inode_unlock(fs, in);
out:
	fuse_reply_err(req, -rc);
}

/* Reply with @val (@len bytes) as getxattr/listxattr want it. */
static void reply_value(fuse_req_t req, int rc, const void *val, size_t len,
			size_t size)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

void zsfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	const struct zsfs_xattr *x;
	char *val = NULL;
	size_t len = 0;
	int rc = check_name(name);

	if (rc < 0)
		goto out;
	if (strcmp(name, ZSFS_XATTR_QUOTA) == 0) {
		uid_t uid;
		gid_t gid;

		zsfs_inode_rdlock(fs, in);
		uid = in->uid;
		gid = in->gid;
		zsfs_inode_unlock(fs, in);
		rc = zsfs_quota_text(fs->quota, uid, gid, &val, &len);
		goto out;
	}
	if (zsfs_ctl_xattr_is_reserved(name)) {
		struct zsfs_file_stats fst;
		uint64_t fsize;

		zsfs_inode_rdlock(fs, in);
		if (zsfs_ifile(in)) {
			zsfs_file_stats(zsfs_ifile(in), &fst);
			/* A walk of its table: only when asked for. */
			if (!strcmp(name, ZSFS_XATTR_PREFIX "shared"))
				fst.shared_bytes =
					zsfs_file_shared_bytes(fs->store,
							       zsfs_ifile(in));
			if (!strcmp(name, ZSFS_XATTR_PREFIX "pages"))
				fst.pages_dict = zsfs_file_dict_pages(zsfs_ifile(in));
		}
		fsize = in->size;
		zsfs_inode_unlock(fs, in);
		rc = zsfs_ctl_xattr_get(fs->ctl, name,
					zsfs_ifile(in) ? &fst : NULL,
					fsize, &val, &len);
		goto out;
	}
	zsfs_inode_rdlock(fs, in);
	rc = zsfs_xattr_get(fs, in, name, &x);
	if (rc == 0) {
		len = x->size;
		if (size && len <= size) {
			val = malloc(len ? len : 1);
			if (!val)
				rc = -ENOMEM;
			else
				memcpy(val, zsfs_xattr_value(x), len);
		}
	}
	zsfs_inode_unlock(fs, in);
out:
	reply_value(req, rc, val, len, size);
	free(val);
}

void zsfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	char *buf = NULL;
	size_t len;
	int rc = 0;

	zsfs_inode_rdlock(fs, in);
	len = zsfs_xattr_list(fs, in, NULL, 0);
	if (size && len <= size) {
		buf = malloc(len ? len : 1);
		if (!buf)
			rc = -ENOMEM;
		else
			zsfs_xattr_list(fs, in, buf, len);
	}
	zsfs_inode_unlock(fs, in);
	reply_value(req, rc, buf, len, size);
	free(buf);
}

void zsfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct zsfs *fs = req_fs(req);
	struct zsfs_inode *in = zsfs_inode_get(fs, ino);
	int rc = check_name(name);

	if (rc < 0)
		goto out;
	if (zsfs_ctl_xattr_is_reserved(name)) {
		rc = -EPERM;
		goto out;
	}
	zsfs_inode_wrlock(fs, in);
	rc = zsfs_xattr_remove(fs, in, name);
	if (rc == 0)
		in->ctime = zsfs_now();
	zsfs_inode_unlock(fs, in);
out:
	fuse_reply_err(req, -rc);
}
