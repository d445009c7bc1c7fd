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
 * Most inodes have no xattr, so the inode keeps no list pointer: the
 * first xattr of each inode that has any sits in one filesystem-wide
 * hash table by inode address (fs->xtab, chained through the first
 * node's hnext), and the inode's ZSFS_I_XATTR flag says whether to look.
 * The list itself (next, names, values) and the flag are protected by
 * the inode's lock; the table (buckets, hnext, owner) by fs->xattr_lock.
 *
 * lock ordering: callers hold the inode's lock, shared for get/list,
 * exclusive for changes (and the parent's, for inherit); fs->xattr_lock
 * is a leaf taken under it (the budget's locks may follow, to grow the
 * table).
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

static size_t xtab_bucket(size_t n, const struct zsfs_inode *in)
{
	return (size_t)(((uint64_t)(uintptr_t)in >> 4) * 0x9e3779b97f4a7c15ULL >> 40) & (n - 1);
}

int zsfs_xtab_init(struct zsfs *fs)
{
	int rc;

	pthread_mutex_init(&fs->xattr_lock, NULL);
	fs->xtab = zsfs_meta_alloc(fs, ZSFS_XTAB_MIN * sizeof(*fs->xtab), 1,
				   &rc);
	if (!fs->xtab)
		return rc;
	fs->xtab_n = ZSFS_XTAB_MIN;
	return 0;
}

void zsfs_xtab_fini(struct zsfs *fs)
{
	zsfs_meta_free(fs, fs->xtab);
	fs->xtab = NULL;
	pthread_mutex_destroy(&fs->xattr_lock);
}

/* The first xattr of @in, or NULL.  Caller holds its lock. */
static struct zsfs_xattr *xattr_head(struct zsfs *fs,
				     const struct zsfs_inode *in)
{
	struct zsfs_xattr *x;

	if (!(in->flags & ZSFS_I_XATTR))
		return NULL;
	pthread_mutex_lock(&fs->xattr_lock);
	for (x = fs->xtab[xtab_bucket(fs->xtab_n, in)]; x && x->owner != in;
	     x = x->hnext)
		;
	pthread_mutex_unlock(&fs->xattr_lock);
	return x;
}

/* Twice the buckets, when that much heap is to be had (else the chains
 * grow longer: slower, never wrong).  Caller holds xattr_lock. */
static void xtab_grow(struct zsfs *fs)
{
	size_t n = fs->xtab_n * 2, i;
	struct zsfs_xattr **nt, *x, *next;
	int rc;

	nt = zsfs_meta_alloc(fs, n * sizeof(*nt), 1, &rc);
	if (!nt)
		return;
	for (i = 0; i < fs->xtab_n; i++) {
		for (x = fs->xtab[i]; x; x = next) {
			next = x->hnext;
			x->hnext = nt[xtab_bucket(n, x->owner)];
			nt[xtab_bucket(n, x->owner)] = x;
		}
	}
	zsfs_meta_free(fs, fs->xtab);
	fs->xtab = nt;
	fs->xtab_n = n;
}

/* @head (NULL: none) becomes @in's first xattr in place of @old (NULL:
 * none).  Caller holds @in's lock exclusive. */
static void xattr_set_head(struct zsfs *fs, struct zsfs_inode *in,
			   struct zsfs_xattr *old, struct zsfs_xattr *head)
{
	struct zsfs_xattr **pp;

	if (old == head)
		return;
	pthread_mutex_lock(&fs->xattr_lock);
	if (old) {
		pp = &fs->xtab[xtab_bucket(fs->xtab_n, in)];
		while (*pp != old)
			pp = &(*pp)->hnext;
		*pp = old->hnext;
		fs->xtab_count--;
	}
	if (head) {
		pp = &fs->xtab[xtab_bucket(fs->xtab_n, in)];
		head->owner = in;
		head->hnext = *pp;
		*pp = head;
		if (++fs->xtab_count > fs->xtab_n)
			xtab_grow(fs);
	}
	pthread_mutex_unlock(&fs->xattr_lock);
	if (head)
		in->flags |= ZSFS_I_XATTR;
	else
		in->flags &= (uint16_t)~ZSFS_I_XATTR;
}

/* What listxattr(2) of every name would take (no field for it: the
 * list is short, and only setxattr of a new name asks). */
static size_t xattr_list_bytes(struct zsfs *fs, const struct zsfs_inode *in)
{
	const struct zsfs_xattr *x;
	size_t n = 0;

	for (x = xattr_head(fs, in); x; x = x->next)
		n += x->name_len + 1;
	return n;
}

/* The xattr @name of @in and the one before it (NULL: it is the first),
 * or NULL. */
static struct zsfs_xattr *xattr_find(struct zsfs *fs,
				     const struct zsfs_inode *in,
				     const char *name, struct zsfs_xattr **prev)
{
	struct zsfs_xattr *x;

	*prev = NULL;
	for (x = xattr_head(fs, in); x; *prev = x, x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

/* Put @x where @old was (@prev before it), or first when @old is NULL. */
static void xattr_link(struct zsfs *fs, struct zsfs_inode *in,
		       struct zsfs_xattr *prev, struct zsfs_xattr *old,
		       struct zsfs_xattr *x)
{
	struct zsfs_xattr *head = xattr_head(fs, in);

	if (!old) {
		x->next = head;
		xattr_set_head(fs, in, head, x);
	} else if (prev) {
		x->next = old->next;
		prev->next = x;
	} else {
		x->next = old->next;
		xattr_set_head(fs, in, old, x);
	}
}

/* Take @x (@prev before it) off @in's list. */
static void xattr_unlink(struct zsfs *fs, struct zsfs_inode *in,
			 struct zsfs_xattr *prev, struct zsfs_xattr *x)
{
	if (prev)
		prev->next = x->next;
	else
		xattr_set_head(fs, in, x, x->next);
}

int zsfs_xattr_get(struct zsfs *fs, const struct zsfs_inode *in,
		   const char *name, const struct zsfs_xattr **out)
{
	const struct zsfs_xattr *x;

	for (x = xattr_head(fs, in); x; x = x->next) {
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
	struct zsfs_xattr *prev, *old = xattr_find(fs, in, name, &prev), *x;
	size_t nlen = strlen(name), asz;
	int rc;

	if (nlen == 0)
		return -EINVAL;
	if (nlen > ZSFS_NAME_MAX)
		return -ERANGE;
	if (size > ZSFS_XATTR_SIZE_MAX)
		return -E2BIG;
	if ((flags & XATTR_CREATE) && old)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !old)
		return -ENODATA;
	if (!old && xattr_list_bytes(fs, in) + nlen + 1 > ZSFS_XATTR_LIST_MAX)
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
	xattr_link(fs, in, prev, old, x);
	if (old)
		xattr_free(fs, old);
	return 0;
}

int zsfs_xattr_remove(struct zsfs *fs, struct zsfs_inode *in, const char *name)
{
	struct zsfs_xattr *prev, *x = xattr_find(fs, in, name, &prev);

	if (!x)
		return -ENODATA;
	xattr_unlink(fs, in, prev, x);
	xattr_free(fs, x);
	return 0;
}

size_t zsfs_xattr_list(struct zsfs *fs, const struct zsfs_inode *in,
		       char *buf, size_t cap)
{
	const struct zsfs_xattr *x;
	size_t len = 0;

	for (x = xattr_head(fs, in); x; x = x->next) {
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

	x = xattr_head(fs, in);
	xattr_set_head(fs, in, x, NULL);
	for (; x; x = next) {
		next = x->next;
		xattr_free(fs, x);
	}
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
	struct zsfs_xattr *prev, *x = xattr_find(fs, in, ACL_ACCESS, &prev);
	struct acl_entry e;
	size_t n, i;
	int has_mask = 0;

	if (!x)
		return 0;
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
	if (zsfs_xattr_get(fs, parent, ACL_DEFAULT, &def) < 0 ||
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
