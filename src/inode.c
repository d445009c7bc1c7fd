/*
 * inode.c - the inode table: creation, reference counts (nlink, nlookup,
 * nopen), freeing, and the filesystem-wide callbacks the control plane
 * uses (counts and check).  What inodes, names, xattrs and page tables
 * take is charged to the store's budget (budget.h) as ZSFS_HOLD_META.
 *
 * Node ids are inode addresses, so finding an inode is O(1) and needs no
 * table lock; the kernel only sends ids it holds a lookup reference on.
 * All inodes are also on one list (fs->inode_list) for the check walk and
 * for teardown.
 *
 * lock ordering: fs->ns_lock -> inode->lock -> fs->life_lock (see fs.h);
 * the budget's locks come after all of them (budget.c).
 * An inode is freed only with ns_lock held (shared or exclusive) and
 * life_lock saying nlink == nlookup == nopen == 0, so a walker holding
 * ns_lock exclusive sees a stable list.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/* The bytes a file counts for its owner's quota: what its pages hold in
 * the pool, and 4 KiB for each dirty page not yet compressed. */
static void quota_sync(struct zsfs *fs, struct zsfs_inode *in)
{
	uint64_t *qb = zsfs_iquota(fs->quota, in);
	struct zsfs_file_stats st;
	uint64_t now;

	zsfs_file_stats(zsfs_ifile(in), &st);
	now = (uint64_t)st.stored_bytes + (uint64_t)st.pages_dirty * ZSFS_PAGE_SIZE;
	if (in->flags & ZSFS_I_QUOTA)
		zsfs_quota_bytes(fs->quota, in->uid, in->gid, *qb, now);
	*qb = now;
}

int zsfs_inode_quota_charge(struct zsfs *fs, struct zsfs_inode *in, int force)
{
	int rc = zsfs_quota_inode_charge(fs->quota, in->uid, in->gid, force);

	if (rc == 0)
		in->flags |= ZSFS_I_QUOTA;
	return rc;
}

void zsfs_inode_file_meta_sync(struct zsfs *fs, struct zsfs_inode *in)
{
	struct zsfs_ireg *r;
	size_t now;

	if (in->type != S_IFREG)
		return;
	r = zsfs_ireg(in);
	if (fs->quota)
		quota_sync(fs, in);
	now = zsfs_file_table_bytes(zsfs_ifile(in));
	if (now > r->table_bytes) {
		zsfs_budget_add(fs->budget, ZSFS_HOLD_META, now - r->table_bytes);
		atomic_fetch_add_explicit(&fs->file_bytes, now - r->table_bytes,
					  memory_order_relaxed);
	} else if (now < r->table_bytes) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, r->table_bytes - now);
		atomic_fetch_sub_explicit(&fs->file_bytes, r->table_bytes - now,
					  memory_order_relaxed);
	}
	r->table_bytes = now;
}

struct zsfs_inode *zsfs_inode_get(struct zsfs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return fs->root;
	return (struct zsfs_inode *)(uintptr_t)ino;
}

static void count_type(struct zsfs *fs, mode_t type, int delta)
{
	size_t *c;

	switch (type) {
	case S_IFREG: c = &fs->nr_files; break;
	case S_IFDIR: c = &fs->nr_dirs; break;
	case S_IFLNK: c = &fs->nr_symlinks; break;
	default: c = &fs->nr_others; break;
	}
	*c += (size_t)(ssize_t)delta;
	fs->nr_inodes += (size_t)(ssize_t)delta;
}

/* Bytes of @type's tail (fs.h) for a symlink target of @tlen bytes. */
static size_t tail_size(struct zsfs *fs, mode_t type, size_t tlen)
{
	switch (type) {
	case S_IFREG:
		return sizeof(struct zsfs_ireg) + zsfs_file_struct_size() +
		       (fs->quota ? sizeof(uint64_t) : 0);
	case S_IFDIR:
		return sizeof(struct zsfs_dir);
	case S_IFLNK:
		return tlen + 1;
	case S_IFCHR:
	case S_IFBLK:
		return sizeof(dev_t);
	default:
		return 0;
	}
}

int zsfs_inode_new(struct zsfs *fs, mode_t mode, uid_t uid, gid_t gid,
		   dev_t rdev, const char *target, struct zsfs_inode **out)
{
	mode_t type = mode & S_IFMT;
	size_t tlen = type == S_IFLNK && target ? strlen(target) : 0;
	struct zsfs_inode *in;
	int rc;

	pthread_mutex_lock(&fs->life_lock);
	if (fs->opts.nr_inodes && fs->nr_inodes >= fs->opts.nr_inodes) {
		pthread_mutex_unlock(&fs->life_lock);
		return -ENOSPC;
	}
	pthread_mutex_unlock(&fs->life_lock);

	in = zsfs_meta_alloc(fs, sizeof(*in) + tail_size(fs, type, tlen), 1, &rc);
	if (!in)
		return rc;
	in->type = (uint16_t)type;
	in->mode = (uint16_t)mode;
	in->uid = uid;
	in->gid = gid;
	in->atime = zsfs_now();
	in->mtime = in->ctime = in->atime;
	switch (type) {
	case S_IFREG:
		zsfs_file_init(zsfs_ifile(in));
		atomic_fetch_add_explicit(&fs->file_bytes,
					  zsfs_file_struct_size(),
					  memory_order_relaxed);
		zsfs_inode_file_meta_sync(fs, in);
		break;
	case S_IFDIR:
		/* ".." is set by the caller */
		zsfs_dir_init(zsfs_idir(in), NULL);
		break;
	case S_IFLNK:
		memcpy(in->tail, target, tlen + 1);
		in->size = tlen;
		break;
	case S_IFCHR:
	case S_IFBLK:
		memcpy(in->tail, &rdev, sizeof(rdev));
		break;
	}

	pthread_mutex_lock(&fs->life_lock);
	in->number = fs->next_number++;
	in->next = &fs->inode_list;
	in->prev = fs->inode_list.prev;
	in->prev->next = in;
	fs->inode_list.prev = in;
	count_type(fs, in->type, 1);
	pthread_mutex_unlock(&fs->life_lock);
	*out = in;
	return 0;
}

/* Free an inode nobody can reach.  No lock of its own is held. */
static void inode_free(struct zsfs *fs, struct zsfs_inode *in)
{
	if (in->flags & ZSFS_I_QUOTA)
		zsfs_quota_inode_free(fs->quota, in->uid, in->gid,
				      zsfs_iquota(fs->quota, in) ?
				      *zsfs_iquota(fs->quota, in) : 0);
	if (in->type == S_IFREG) {
		struct zsfs_ireg *r = zsfs_ireg(in);

		zsfs_file_fini(fs->store, zsfs_ifile(in));
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, r->table_bytes);
		atomic_fetch_sub_explicit(&fs->file_bytes,
					  r->table_bytes + zsfs_file_struct_size(),
					  memory_order_relaxed);
	}
	zsfs_xattr_free_all(fs, in);
	if (in->type == S_IFDIR)
		zsfs_dir_fini(fs, zsfs_idir(in));
	zsfs_meta_free(fs, in);
}

/*
 * If nothing refers to @in any more (no name, no kernel reference, no open
 * handle), take it off the list and return 1 (2 when only the root and
 * .zsctl are left): the caller frees it after dropping life_lock.  The decision is made in the same critical section
 * as the decrement that leads to it, so exactly one thread sees it.
 * Caller holds life_lock.
 */
static int inode_unlist_if_dead(struct zsfs *fs, struct zsfs_inode *in)
{
	/* .zsctl is never dead: it keeps its one link (see zsfs_fs_init) */
	if (in == fs->root || in->nlink || in->nlookup || in->nopen)
		return 0;
	in->prev->next = in->next;
	in->next->prev = in->prev;
	count_type(fs, in->type, -1);
	return fs->nr_inodes <= 2 ? 2 : 1;
}

void zsfs_inode_maybe_free(struct zsfs *fs, struct zsfs_inode *in)
{
	int dead;

	pthread_mutex_lock(&fs->life_lock);
	dead = inode_unlist_if_dead(fs, in);
	pthread_mutex_unlock(&fs->life_lock);
	if (dead) {
		inode_free(fs, in);
		zsfs_budget_trim_maybe(fs->budget, dead == 2);
	}
}

void zsfs_inode_set_nlink(struct zsfs *fs, struct zsfs_inode *in, uint64_t n)
{
	pthread_mutex_lock(&fs->life_lock);
	in->nlink = n;
	pthread_mutex_unlock(&fs->life_lock);
}

void zsfs_inode_ref(struct zsfs *fs, struct zsfs_inode *in)
{
	pthread_mutex_lock(&fs->life_lock);
	in->nlookup++;
	pthread_mutex_unlock(&fs->life_lock);
}

void zsfs_inode_forget(struct zsfs *fs, struct zsfs_inode *in, uint64_t n)
{
	int dead;

	pthread_mutex_lock(&fs->life_lock);
	in->nlookup = n > in->nlookup ? 0 : in->nlookup - n;
	dead = inode_unlist_if_dead(fs, in);
	pthread_mutex_unlock(&fs->life_lock);
	if (dead) {
		inode_free(fs, in);
		zsfs_budget_trim_maybe(fs->budget, dead == 2);
	}
}

void zsfs_inode_open(struct zsfs *fs, struct zsfs_inode *in)
{
	pthread_mutex_lock(&fs->life_lock);
	in->nopen++;
	pthread_mutex_unlock(&fs->life_lock);
}

void zsfs_inode_close(struct zsfs *fs, struct zsfs_inode *in)
{
	int dead;

	pthread_mutex_lock(&fs->life_lock);
	if (in->nopen)
		in->nopen--;
	dead = inode_unlist_if_dead(fs, in);
	pthread_mutex_unlock(&fs->life_lock);
	if (dead) {
		inode_free(fs, in);
		zsfs_budget_trim_maybe(fs->budget, dead == 2);
	}
}

int zsfs_inode_atime_due(struct zsfs *fs, const struct zsfs_inode *in,
			 int64_t now)
{
	if (in->type == S_IFDIR && fs->opts.nodiratime)
		return 0;
	switch (fs->opts.atime) {
	case ZSFS_ATIME_NONE:
		return 0;
	case ZSFS_ATIME_STRICT:
		return 1;
	default:
		/* relatime: atime not after mtime or ctime, or a day old */
		return in->atime <= in->mtime || in->atime <= in->ctime ||
		       now - in->atime >= (int64_t)24 * 3600 * 1000000000;
	}
}

void zsfs_inode_stat(struct zsfs *fs, const struct zsfs_inode *in,
		     struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->number;
	st->st_mode = in->mode;
	pthread_mutex_lock(&fs->life_lock);
	st->st_nlink = in->nlink;
	pthread_mutex_unlock(&fs->life_lock);
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_rdev = zsfs_irdev(in);
	st->st_size = (off_t)in->size;
	st->st_blksize = ZSFS_PAGE_SIZE;
	if (in->type == S_IFREG) {
		struct zsfs_file_stats fst;

		/* Blocks the data would take uncompressed: what du expects. */
		zsfs_file_stats(zsfs_ifile(in), &fst);
		st->st_blocks = (blkcnt_t)((fst.pages_compressed + fst.pages_raw +
					    fst.pages_same + fst.pages_dirty) * 8);
	}
	st->st_atim = zsfs_ns_to_ts(in->atime);
	st->st_mtim = zsfs_ns_to_ts(in->mtime);
	st->st_ctim = zsfs_ns_to_ts(in->ctime);
}

int zsfs_fs_init(struct zsfs *fs, const struct zsfs_options *o, uid_t owner)
{
	struct zsfs_store_params sp;
	char err[256];
	unsigned i;
	int rc;

	memset(fs, 0, sizeof(*fs));
	fs->opts = *o;
	fs->owner = owner;
	fs->inode_list.next = fs->inode_list.prev = &fs->inode_list;
	fs->next_number = 1;
	pthread_rwlock_init(&fs->ns_lock, NULL);
	pthread_mutex_init(&fs->life_lock, NULL);

	rc = zsfs_quota_create(o, &fs->quota);
	if (rc < 0)
		goto fail;
	memset(&sp, 0, sizeof(sp));
	sp.compress = o->compress;
	sp.limit_bytes = o->size;
	sp.recompress = o->recompress;
	sp.dict = o->dict;
	sp.debug_os_limit = o->debug_os_limit > SIZE_MAX ? SIZE_MAX
						       : (size_t)o->debug_os_limit;
	sp.noswap = o->noswap;
	sp.dedup = o->dedup;
	sp.dedup_bits = o->debug_dedup_bits;
	sp.ram_bytes = zsfs_ram_bytes();
	err[0] = '\0';
	rc = zsfs_store_create(&sp, &fs->store, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "zsfs: cannot create the store: %s\n",
			err[0] ? err : strerror(-rc));
		zsfs_quota_destroy(fs->quota);
		goto fail;
	}
	fs->budget = zsfs_store_budget(fs->store);
	rc = zsfs_xtab_init(fs);
	if (rc < 0)
		goto fail_store;
	fs->ilocks = zsfs_meta_alloc(fs, ZSFS_ILOCKS * sizeof(*fs->ilocks), 0,
				     &rc);
	if (!fs->ilocks)
		goto fail_store;
	for (i = 0; i < ZSFS_ILOCKS; i++)
		pthread_rwlock_init(&fs->ilocks[i], NULL);
	if (o->backing[0] || o->backing_size) {
		struct zsfs_backing_params bp = {
			.path = o->backing, .size = o->backing_size,
			.budget = fs->budget,
		};

		rc = zsfs_backing_open(&bp, &fs->backing, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "zsfs: %s\n", err);
			goto fail_store;
		}
		zsfs_store_set_backing(fs->store, fs->backing);
	}
	rc = zsfs_inode_new(fs, S_IFDIR | (o->mode & 07777), o->uid, o->gid, 0,
			    NULL, &fs->root);
	if (rc < 0)
		goto fail_store;
	zsfs_idir(fs->root)->parent = fs->root;
	zsfs_inode_set_nlink(fs, fs->root, 2);
	rc = zsfs_inode_quota_charge(fs, fs->root, 1); /* as tmpfs's root */
	if (rc < 0)
		goto fail_store;
	/*
	 * .zsctl: one link for the mount's life, its name in the root, which
	 * no directory table holds.  Nothing can drop that link: every
	 * request that names .zsctl or its node goes to ops_ctl.c (routed in
	 * ops_fs.c), which refuses unlink, rename and link; so it is never
	 * freed before zsfs_fs_fini, and zsfs_fs_check verifies the link.
	 */
	rc = zsfs_inode_new(fs, S_IFREG | 0644, owner, getgid(), 0, NULL,
			    &fs->ctl_inode);
	if (rc < 0)
		goto fail_store;
	zsfs_inode_set_nlink(fs, fs->ctl_inode, 1);
	return 0;

fail_store:
	zsfs_fs_fini(fs);
	return rc;
fail:
	pthread_rwlock_destroy(&fs->ns_lock);
	pthread_mutex_destroy(&fs->life_lock);
	return rc;
}

void zsfs_fs_fini(struct zsfs *fs)
{
	struct zsfs_inode *in, *next;
	unsigned i;

	/* The session is gone and the settle thread stopped (main.c): no
	 * other thread runs.  Free every inode. */
	for (in = fs->inode_list.next; in != &fs->inode_list; in = next) {
		next = in->next;
		inode_free(fs, in);
	}
	fs->inode_list.next = fs->inode_list.prev = &fs->inode_list;
	fs->root = fs->ctl_inode = NULL;
	/* before the store: its map is charged to the store's budget */
	zsfs_backing_close(fs->backing);
	fs->backing = NULL;
	if (fs->xtab)
		zsfs_xtab_fini(fs);
	if (fs->ilocks) {
		for (i = 0; i < ZSFS_ILOCKS; i++)
			pthread_rwlock_destroy(&fs->ilocks[i]);
		zsfs_meta_free(fs, fs->ilocks);
		fs->ilocks = NULL;
	}
	zsfs_store_destroy(fs->store);
	fs->store = NULL;
	zsfs_quota_destroy(fs->quota);
	fs->quota = NULL;
	pthread_rwlock_destroy(&fs->ns_lock);
	pthread_mutex_destroy(&fs->life_lock);
}

void zsfs_fs_counts(void *arg, struct zsfs_fs_counts *out)
{
	struct zsfs *fs = arg;

	if (!out)
		return;
	pthread_mutex_lock(&fs->life_lock);
	out->inodes = fs->nr_inodes;
	out->inodes_max = fs->opts.nr_inodes;
	out->files = fs->nr_files;
	out->dirs = fs->nr_dirs;
	out->symlinks = fs->nr_symlinks;
	out->others = fs->nr_others;
	out->file_bytes = atomic_load_explicit(&fs->file_bytes,
					       memory_order_relaxed);
	pthread_mutex_unlock(&fs->life_lock);
}

/*
 * The check's name counts: an open-addressed table from inode to the
 * names found for it, made for one walk (it used to be a field in every
 * inode).  Charged to the budget while it lives, without a refusal: a
 * full filesystem must still be checkable.
 */
struct check_ref {
	const struct zsfs_inode *in;
	uint32_t names;
};

struct check_refs {
	struct check_ref *t;
	size_t mask;
	size_t bytes;
};

static struct check_ref *check_ref(struct check_refs *r,
				   const struct zsfs_inode *in)
{
	size_t i = ((uintptr_t)in >> 4) * 0x9e3779b97f4a7c15ULL;

	for (i &= r->mask; r->t[i].in && r->t[i].in != in; i = (i + 1) & r->mask)
		;
	r->t[i].in = in;
	return &r->t[i];
}

/*
 * zsfs_fs_check() - the consistency walk: every directory entry points at
 * a live inode, link counts match the entries (a directory: 2 + its
 * subdirectories; others: the names that refer to them), every file's page
 * table is sound, and the pool's own invariants hold.  Takes ns_lock
 * exclusive for the whole walk, so it stops the world briefly.
 */
int zsfs_fs_check(void *arg, char *msg, size_t msg_cap)
{
	struct zsfs *fs = arg;
	struct zsfs_inode *in;
	struct check_refs refs;
	size_t counted = 0, n = 16;
	int rc = 0;

	pthread_rwlock_wrlock(&fs->ns_lock);
	pthread_mutex_lock(&fs->life_lock);
	while (n < 2 * fs->nr_inodes)
		n *= 2;
	pthread_mutex_unlock(&fs->life_lock);
	refs.mask = n - 1;
	refs.bytes = n * sizeof(*refs.t);
	zsfs_budget_add(fs->budget, ZSFS_HOLD_META, refs.bytes);
	refs.t = calloc(n, sizeof(*refs.t));
	if (!refs.t) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, refs.bytes);
		pthread_rwlock_unlock(&fs->ns_lock);
		snprintf(msg, msg_cap, "no memory for the check");
		return -ENOMEM;
	}
	check_ref(&refs, fs->ctl_inode)->names = 1; /* its name in the root */
	for (in = fs->inode_list.next; in != &fs->inode_list; in = in->next) {
		const struct zsfs_dir *d = zsfs_idir(in);
		size_t i, subdirs = 0, live = 0;

		counted++;
		if (!d)
			continue;
		for (i = 0; i < d->vlen; i++) {
			const struct zsfs_dirent *e;

			if (d->vec[i] & 1)
				continue;
			e = (const struct zsfs_dirent *)d->vec[i];
			live++;
			check_ref(&refs, e->inode)->names++;
			if (e->inode->type == S_IFDIR) {
				subdirs++;
				if (zsfs_idir(e->inode)->parent != in) {
					snprintf(msg, msg_cap, "dir %llu: entry %s has wrong parent",
						 (unsigned long long)in->number, e->name);
					rc = -EUCLEAN;
					goto out;
				}
			}
		}
		if (live != d->count || in->nlink != 2 + subdirs) {
			snprintf(msg, msg_cap, "dir %llu: nlink %u, %zu subdirs, count %u/%zu",
				 (unsigned long long)in->number, in->nlink,
				 subdirs, d->count, live);
			rc = -EUCLEAN;
			goto out;
		}
		rc = zsfs_dir_check(d, msg, msg_cap);
		if (rc < 0)
			goto out;
	}
	/* The files' tables, with the reference audit of shared objects.
	 * The files' locks are taken one at a time: when pages were
	 * released or shared meanwhile the audit is not conclusive and is
	 * left out (walking again would keep the world stopped longer). */
	zsfs_store_audit_begin(fs->store);
	for (in = fs->inode_list.next; in != &fs->inode_list; in = in->next) {
		uint32_t names;

		if (in == fs->root)
			continue;
		names = check_ref(&refs, in)->names;
		if (in->type == S_IFDIR ? names != (in->nlink ? 1u : 0u)
		    : names != in->nlink) {
			snprintf(msg, msg_cap, "inode %llu: nlink %u but %u names",
				 (unsigned long long)in->number, in->nlink,
				 names);
			rc = -EUCLEAN;
			goto out;
		}
		if (in->type == S_IFREG) {
			zsfs_inode_rdlock(fs, in);
			rc = zsfs_file_check(fs->store, zsfs_ifile(in), msg,
					     msg_cap);
			zsfs_inode_unlock(fs, in);
			if (rc < 0)
				goto out;
		}
	}
	rc = zsfs_store_audit_end(fs->store, msg, msg_cap);
	if (rc == -EAGAIN || rc == -ENOMEM)
		rc = 0; /* a busy store: not conclusive, not an error */
	if (rc)
		goto out;
	if (fs->backing) {
		rc = zsfs_backing_check(fs->backing, msg, msg_cap);
		if (rc)
			goto out;
	}
	pthread_mutex_lock(&fs->life_lock);
	if (counted != fs->nr_inodes) {
		snprintf(msg, msg_cap, "%zu inodes on the list, %zu counted",
			 counted, fs->nr_inodes);
		rc = -EUCLEAN;
	}
	pthread_mutex_unlock(&fs->life_lock);
	if (rc == 0)
		rc = zsfs_store_check(fs->store, msg, msg_cap);
out:
	if (rc)
		zsfs_store_audit_end(fs->store, NULL, 0); /* ends an open one */
	free(refs.t);
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, refs.bytes);
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}
