/*
 * fswalk.c - the control plane's walk of every regular file (ctl.h's
 * fs_each_file): "idle all" and "writeback" run a store function on each
 * file in turn.
 *
 * Each inode is pinned by an open count (nopen, as settle.c's walk does)
 * so it cannot be freed while the walk is at it, and its lock is taken
 * exclusive under ns_lock shared (fs.h's order), so the consistency check
 * (ns_lock exclusive) never sees a file half written back.  The lock is
 * taken blocking: a command waits for a busy file rather than skip it.
 * After the callback the inode's quota and meta bytes are brought up to
 * date (writeback moves stored bytes out of RAM).
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>

#include "fs.h"

/* Drop the pin zsfs_inode_walk_next() took on @in. */
void zsfs_inode_walk_unpin(struct zsfs *fs, struct zsfs_inode *in)
{
	pthread_rwlock_rdlock(&fs->ns_lock);
	zsfs_inode_close(fs, in);
	pthread_rwlock_unlock(&fs->ns_lock);
}

struct zsfs_inode *zsfs_inode_walk_next(struct zsfs *fs,
					struct zsfs_inode *prev)
{
	struct zsfs_inode *in;

	pthread_mutex_lock(&fs->life_lock);
	in = prev ? prev->next : fs->inode_list.next;
	if (in == &fs->inode_list)
		in = NULL;
	else
		in->nopen++;
	pthread_mutex_unlock(&fs->life_lock);
	if (prev)
		zsfs_inode_walk_unpin(fs, prev);
	return in;
}

int zsfs_fs_each_file(void *arg,
		      int (*fn)(struct zsfs_store *store,
				struct zsfs_file *file, void *farg),
		      void *farg)
{
	struct zsfs *fs = arg;
	struct zsfs_inode *in = NULL;
	int rc = 0;

	while ((in = zsfs_inode_walk_next(fs, in))) {
		if (!zsfs_ifile(in) || in == fs->ctl_inode)
			continue;
		pthread_rwlock_rdlock(&fs->ns_lock);
		zsfs_inode_wrlock(fs, in);
		rc = fn(fs->store, zsfs_ifile(in), farg);
		zsfs_inode_file_meta_sync(fs, in);
		zsfs_inode_unlock(fs, in);
		if (rc) {
			zsfs_inode_close(fs, in); /* unpin: ns_lock is held */
			pthread_rwlock_unlock(&fs->ns_lock);
			break;
		}
		pthread_rwlock_unlock(&fs->ns_lock);
	}
	return rc;
}
