/*
 * xattr.c - extended attributes of an inode, and the POSIX ACL glue.
 *
 * An inode's xattrs are a short singly linked list; each node holds its
 * name and value in one allocation, charged to meta_bytes so xattrs use up
 * size= like data.  Limits follow tmpfs: names up to 255 bytes and values
 * up to 64 KiB (the kernel refuses longer ones before we see them); the
 * names of one inode must fit one listxattr(2) buffer (64 KiB), past that
 * setxattr fails with ENOSPC.
 *
 * POSIX ACLs are stored as the system.posix_acl_access/default xattrs in
 * the kernel's xattr format and enforced by the kernel (FUSE_CAP_POSIX_ACL).
 * With that capability the filesystem keeps the mode and the access ACL in
 * step (chmod rewrites the ACL, setting the ACL rewrites the mode) and does
 * default-ACL inheritance and the umask on create itself (FUSE_CAP_DONT_MASK:
 * the kernel passes the umask instead of applying it) — the functions
 * zsfs_acl_* below, following the kernel's posix_acl_create/_chmod.
 *
 * lock ordering: none taken here; callers hold the inode's lock, shared
 * for get/list, exclusive for changes (and the parent's, for inherit).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs.h"

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"

/* The kernel's xattr representation (include/uapi/linux/posix_acl_xattr.h). */
#define ACL_XATTR_VERSION 2
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static size_t xattr_alloc_size(size_t name_len, size_t size)
{
	return offsetof(struct zsfs_xattr, name) + name_len + 1 + size;
}

/* What listxattr(2) of every name would take (no field for it: the
 * list is short, and only setxattr of a new name asks). */
static size_t xattr_list_bytes(const struct zsfs_inode *in)
{
	const struct zsfs_xattr *x;
	size_t n = 0;

	for (x = in->xattrs; x; x = x->next)
		n += x->name_len + 1;
	return n;
}

static struct zsfs_xattr **xattr_find(struct zsfs_inode *in, const char *name)
{
	struct zsfs_xattr **pp;

	for (pp = &in->xattrs; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			return pp;
	return NULL;
}

int zsfs_xattr_get(const struct zsfs_inode *in, const char *name,
		   const struct zsfs_xattr **out)
{
	const struct zsfs_xattr *x;

	for (x = in->xattrs; x; x = x->next) {
		if (strcmp(x->name, name) == 0) {
			*out = x;
			return 0;
		}
	}
	return -ENODATA;
}

static void xattr_free(struct zsfs *fs, struct zsfs_xattr *x)
{
	zsfs_meta_free(fs, x);
}

int zsfs_xattr_set(struct zsfs *fs, struct zsfs_inode *in, const char *name,
		   const void *value, size_t size, int flags)
{
	struct zsfs_xattr **pp = xattr_find(in, name), *x, *old;
	size_t nlen = strlen(name), asz;
	int rc;

	if (nlen == 0)
		return -EINVAL;
	if (nlen > ZSFS_NAME_MAX)
		return -ERANGE;
	if (size > ZSFS_XATTR_SIZE_MAX)
		return -E2BIG;
	if ((flags & XATTR_CREATE) && pp)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !pp)
		return -ENODATA;
	if (!pp && xattr_list_bytes(in) + nlen + 1 > ZSFS_XATTR_LIST_MAX)
		return -ENOSPC;
	asz = xattr_alloc_size(nlen, size);
	x = zsfs_meta_alloc(fs, asz, 0, &rc);
	if (!x)
		return rc;
	x->name_len = (uint8_t)nlen;
	x->size = (uint32_t)size;
	memcpy(x->name, name, nlen + 1);
	if (size)
		memcpy(zsfs_xattr_value(x), value, size);
	if (pp) {
		old = *pp;
		x->next = old->next;
		*pp = x;
		xattr_free(fs, old);
	} else {
		x->next = in->xattrs;
		in->xattrs = x;
	}
	return 0;
}

int zsfs_xattr_remove(struct zsfs *fs, struct zsfs_inode *in, const char *name)
{
	struct zsfs_xattr **pp = xattr_find(in, name), *x;

	if (!pp)
		return -ENODATA;
	x = *pp;
	*pp = x->next;
	xattr_free(fs, x);
	return 0;
}

size_t zsfs_xattr_list(const struct zsfs_inode *in, char *buf, size_t cap)
{
	const struct zsfs_xattr *x;
	size_t len = 0;

	for (x = in->xattrs; x; x = x->next) {
		if (zsfs_ctl_xattr_is_reserved(x->name))
			continue;
		if (buf && len + x->name_len + 1 <= cap)
			memcpy(buf + len, x->name, x->name_len + 1);
		len += x->name_len + 1;
	}
	return len;
}

void zsfs_xattr_free_all(struct zsfs *fs, struct zsfs_inode *in)
{
	struct zsfs_xattr *x, *next;

	for (x = in->xattrs; x; x = next) {
		next = x->next;
		xattr_free(fs, x);
	}
	in->xattrs = NULL;
}

/* --- POSIX ACLs --- */

static int acl_count(size_t size, size_t *n)
{
	if (size < 4 || (size - 4) % 8)
		return -EINVAL;
	*n = (size - 4) / 8;
	return 0;
}

static int acl_valid_header(const void *value, size_t size, size_t *n)
{
	uint32_t v;

	if (acl_count(size, n) < 0)
		return -EINVAL;
	memcpy(&v, value, 4);
	return le32toh(v) == ACL_XATTR_VERSION ? 0 : -EINVAL;
}

static void acl_entry_get(const void *value, size_t i, struct acl_entry *e)
{
	const unsigned char *p = (const unsigned char *)value + 4 + i * 8;
	uint16_t t, pm;
	uint32_t id;

	memcpy(&t, p, 2);
	memcpy(&pm, p + 2, 2);
	memcpy(&id, p + 4, 4);
	e->tag = le16toh(t);
	e->perm = le16toh(pm);
	e->id = le32toh(id);
}

static void acl_perm_put(void *value, size_t i, uint16_t perm)
{
	uint16_t pm = htole16(perm);

	memcpy((unsigned char *)value + 4 + i * 8 + 2, &pm, 2);
}

int zsfs_acl_access_to_mode(const void *value, size_t size, mode_t *mode,
			    int *drop)
{
	size_t n, i;
	int uo = -1, go = -1, mask = -1, oth = -1, extra = 0;
	struct acl_entry e;

	if (acl_valid_header(value, size, &n) < 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		acl_entry_get(value, i, &e);
		switch (e.tag) {
		case ACL_USER_OBJ: uo = e.perm & 7; break;
		case ACL_GROUP_OBJ: go = e.perm & 7; break;
		case ACL_MASK: mask = e.perm & 7; break;
		case ACL_OTHER: oth = e.perm & 7; break;
		case ACL_USER: case ACL_GROUP: extra = 1; break;
		default: return -EINVAL;
		}
	}
	if (uo < 0 || go < 0 || oth < 0 || (extra && mask < 0))
		return -EINVAL;
	*mode = (*mode & ~(mode_t)0777) | (mode_t)(uo << 6) |
		(mode_t)((mask >= 0 ? mask : go) << 3) | (mode_t)oth;
	*drop = !extra && mask < 0;
	return 0;
}

int zsfs_acl_chmod(struct zsfs *fs, struct zsfs_inode *in)
{
	struct zsfs_xattr **pp = xattr_find(in, ACL_ACCESS);
	struct zsfs_xattr *x;
	struct acl_entry e;
	size_t n, i;
	int has_mask = 0;

	if (!pp)
		return 0;
	x = *pp;
	if (acl_valid_header(zsfs_xattr_value(x), x->size, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		acl_entry_get(zsfs_xattr_value(x), i, &e);
		if (e.tag == ACL_MASK)
			has_mask = 1;
	}
	for (i = 0; i < n; i++) {
		acl_entry_get(zsfs_xattr_value(x), i, &e);
		if (e.tag == ACL_USER_OBJ)
			acl_perm_put(zsfs_xattr_value(x), i, (in->mode >> 6) & 7);
		else if (e.tag == ACL_OTHER)
			acl_perm_put(zsfs_xattr_value(x), i, in->mode & 7);
		else if (e.tag == (has_mask ? ACL_MASK : ACL_GROUP_OBJ))
			acl_perm_put(zsfs_xattr_value(x), i, (in->mode >> 3) & 7);
	}
	return 0;
}

int zsfs_acl_inherit(struct zsfs *fs, struct zsfs_inode *parent,
		     struct zsfs_inode *child, mode_t umask)
{
	const struct zsfs_xattr *def;
	void *acl = NULL;
	size_t n, i;
	mode_t mode = child->mode;
	int rc = 0, not_equiv = 0, mask_i = -1, go_i = -1;
	struct acl_entry e;

	if (child->type == S_IFLNK)
		return 0;
	if (zsfs_xattr_get(parent, ACL_DEFAULT, &def) < 0 ||
	    acl_valid_header(zsfs_xattr_value(def), def->size, &n) < 0) {
		child->mode &= ~(umask & 0777);
		return 0;
	}
	if (child->type == S_IFDIR) {
		rc = zsfs_xattr_set(fs, child, ACL_DEFAULT, zsfs_xattr_value(def), def->size, 0);
		if (rc < 0)
			return rc;
	}
	acl = malloc(def->size);
	if (!acl)
		return -ENOMEM;
	memcpy(acl, zsfs_xattr_value(def), def->size);
	for (i = 0; i < n; i++) {
		acl_entry_get(acl, i, &e);
		switch (e.tag) {
		case ACL_USER_OBJ:
			e.perm &= (mode >> 6) & 7;
			acl_perm_put(acl, i, e.perm);
			mode = (mode & ~(mode_t)0700) | (mode_t)(e.perm << 6);
			break;
		case ACL_USER:
		case ACL_GROUP:
			not_equiv = 1;
			break;
		case ACL_GROUP_OBJ:
			go_i = (int)i;
			break;
		case ACL_MASK:
			mask_i = (int)i;
			not_equiv = 1;
			break;
		case ACL_OTHER:
			e.perm &= mode & 7;
			acl_perm_put(acl, i, e.perm);
			mode = (mode & ~(mode_t)07) | (mode_t)e.perm;
			break;
		}
	}
	i = mask_i >= 0 ? (size_t)mask_i : (size_t)go_i;
	if (mask_i >= 0 || go_i >= 0) {
		acl_entry_get(acl, i, &e);
		e.perm &= (mode >> 3) & 7;
		acl_perm_put(acl, i, e.perm);
		mode = (mode & ~(mode_t)070) | (mode_t)(e.perm << 3);
	}
	child->mode = mode;
	if (not_equiv)
		rc = zsfs_xattr_set(fs, child, ACL_ACCESS, acl, def->size, 0);
	free(acl);
	return rc;
}
