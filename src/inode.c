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

void zsfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* The bytes a file counts for its owner's quota: what its pages hold in
 * the pool, and 4 KiB for each dirty page not yet compressed. */
static void quota_sync(struct zsfs *fs, struct zsfs_inode *in)
{
	struct zsfs_file_stats st;
	uint64_t now;

	zsfs_file_stats(in->file, &st);
	now = (uint64_t)st.stored_bytes + (uint64_t)st.pages_dirty * ZSFS_PAGE_SIZE;
	if (in->quota_counted)
		zsfs_quota_bytes(fs->quota, in->uid, in->gid, in->quota_bytes, now);
	in->quota_bytes = now;
}

int zsfs_inode_quota_charge(struct zsfs *fs, struct zsfs_inode *in, int force)
{
	int rc = zsfs_quota_inode_charge(fs->quota, in->uid, in->gid, force);

	if (rc == 0)
		in->quota_counted = 1;
	return rc;
}

void zsfs_inode_file_meta_sync(struct zsfs *fs, struct zsfs_inode *in)
{
	size_t now;

	if (!in->file)
		return;
	if (fs->quota)
		quota_sync(fs, in);
	now = zsfs_file_meta_bytes(in->file);
	if (now > in->file_meta)
		zsfs_budget_add(fs->budget, ZSFS_HOLD_META, now - in->file_meta);
	else if (now < in->file_meta)
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, in->file_meta - now);
	in->file_meta = now;
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

int zsfs_inode_new(struct zsfs *fs, mode_t mode, uid_t uid, gid_t gid,
		   dev_t rdev, const char *target, struct zsfs_inode **out)
{
	struct zsfs_inode *in = NULL;
	size_t tlen = target ? strlen(target) + 1 : 0;
	size_t meta = sizeof(*in) + tlen;
	int rc;

	pthread_mutex_lock(&fs->life_lock);
	if (fs->opts.nr_inodes && fs->nr_inodes >= fs->opts.nr_inodes) {
		pthread_mutex_unlock(&fs->life_lock);
		return -ENOSPC;
	}
	pthread_mutex_unlock(&fs->life_lock);

	rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, meta);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	in = calloc(1, sizeof(*in));
	if (!in)
		goto fail;
	in->meta = meta;
	in->type = mode & S_IFMT;
	in->mode = mode;
	in->uid = uid;
	in->gid = gid;
	in->rdev = rdev;
	zsfs_now(&in->atime);
	in->mtime = in->ctime = in->atime;
	if (pthread_rwlock_init(&in->lock, NULL) != 0)
		goto fail_free;
	if (target) {
		in->target = strdup(target);
		if (!in->target)
			goto fail_lock;
		in->size = tlen - 1;
	}
	if (S_ISREG(mode)) {
		rc = zsfs_file_create(&in->file);
		if (rc < 0)
			goto fail_target;
		zsfs_inode_file_meta_sync(fs, in);
	}
	in->nodeid = (fuse_ino_t)(uintptr_t)in;

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

fail_target:
	free(in->target);
fail_lock:
	pthread_rwlock_destroy(&in->lock);
fail_free:
	free(in);
fail:
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, meta);
	return rc;
}

/* Free an inode nobody can reach.  No lock of its own is held. */
static void inode_free(struct zsfs *fs, struct zsfs_inode *in)
{
	if (in->quota_counted)
		zsfs_quota_inode_free(fs->quota, in->uid, in->gid, in->quota_bytes);
	zsfs_file_destroy(fs->store, in->file);
	if (in->file_meta)
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, in->file_meta);
	zsfs_xattr_free_all(fs, in);
	if (in->dir)
		zsfs_dir_destroy(fs, in->dir);
	free(in->target);
	pthread_rwlock_destroy(&in->lock);
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, in->meta);
	free(in);
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
	if (dead)
		{
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
	if (dead)
		{
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
	if (dead)
		{
		inode_free(fs, in);
		zsfs_budget_trim_maybe(fs->budget, dead == 2);
	}
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

int zsfs_inode_atime_due(struct zsfs *fs, const struct zsfs_inode *in,
			 const struct timespec *now)
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
		return ts_before(&in->atime, &in->mtime) ||
		       ts_before(&in->atime, &in->ctime) ||
		       now->tv_sec - in->atime.tv_sec >= 24 * 3600;
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
	st->st_rdev = in->rdev;
	st->st_size = (off_t)in->size;
	st->st_blksize = ZSFS_PAGE_SIZE;
	if (in->file) {
		struct zsfs_file_stats fst;

		/* Blocks the data would take uncompressed: what du expects. */
		zsfs_file_stats(in->file, &fst);
		st->st_blocks = (blkcnt_t)((fst.pages_compressed + fst.pages_raw +
					    fst.pages_same + fst.pages_dirty) * 8);
	}
	st->st_atim = in->atime;
	st->st_mtim = in->mtime;
	st->st_ctim = in->ctime;
}

int zsfs_fs_init(struct zsfs *fs, const struct zsfs_options *o, uid_t owner)
{
	struct zsfs_store_params sp;
	char err[256];
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
	rc = zsfs_dir_create(fs, fs->root, &fs->root->dir);
	if (rc < 0)
		goto fail_store;
	fs->root->nodeid = FUSE_ROOT_ID;
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
	pthread_mutex_unlock(&fs->life_lock);
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
	size_t counted = 0;
	int rc = 0;

	pthread_rwlock_wrlock(&fs->ns_lock);
	for (in = fs->inode_list.next; in != &fs->inode_list; in = in->next)
		in->check_refs = 0;
	fs->ctl_inode->check_refs = 1; /* its name in the root, outside the table */
	for (in = fs->inode_list.next; in != &fs->inode_list; in = in->next) {
		size_t i, subdirs = 0, live = 0;

		counted++;
		if (!in->dir)
			continue;
		for (i = 0; i < in->dir->vlen; i++) {
			struct zsfs_dirent *e = in->dir->vec[i].e;

			if (!e)
				continue;
			live++;
			e->inode->check_refs++;
			if (e->inode->type == S_IFDIR) {
				subdirs++;
				if (e->inode->dir->parent != in) {
					snprintf(msg, msg_cap, "dir %llu: entry %s has wrong parent",
						 (unsigned long long)in->number, e->name);
					rc = -EUCLEAN;
					goto out;
				}
			}
		}
		if (live != in->dir->count || in->nlink != 2 + subdirs) {
			snprintf(msg, msg_cap, "dir %llu: nlink %llu, %zu subdirs, count %zu/%zu",
				 (unsigned long long)in->number,
				 (unsigned long long)in->nlink, subdirs,
				 in->dir->count, live);
			rc = -EUCLEAN;
			goto out;
		}
	}
	/* The files' tables, with the reference audit of shared objects.
	 * The files' locks are taken one at a time: when pages were
	 * released or shared meanwhile the audit is not conclusive and is
	 * left out (walking again would keep the world stopped longer). */
	zsfs_store_audit_begin(fs->store);
	for (in = fs->inode_list.next; in != &fs->inode_list; in = in->next) {
		if (in == fs->root)
			continue;
		if (in->type == S_IFDIR ? in->check_refs != (in->nlink ? 1u : 0u)
		    : in->check_refs != in->nlink) {
			snprintf(msg, msg_cap, "inode %llu: nlink %llu but %u names",
				 (unsigned long long)in->number,
				 (unsigned long long)in->nlink, in->check_refs);
			rc = -EUCLEAN;
			goto out;
		}
		if (in->file) {
			pthread_rwlock_rdlock(&in->lock);
			rc = zsfs_file_check(fs->store, in->file, msg, msg_cap);
			pthread_rwlock_unlock(&in->lock);
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
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}
