/*
 * quota.h - per-uid and per-gid usage and hard limits: tmpfs's usrquota,
 * grpquota and *_hardlimit options (Linux 6.6).
 *
 * What is counted: inodes, and the bytes an owner's files hold in the
 * pool, as zsfs really stores them (zsfs_file_stats().stored_bytes: the
 * compressed sizes, raw pages as 4096, holes and same-filled pages as
 * nothing) plus 4096 for each dirty page not yet compressed.  The
 * filesystem tells the quota each change of a file's bytes after the
 * write, truncate, punch, copy or flush that made it (it knows the
 * inode's owner there), and each inode made, freed or given away.
 *
 * Hard limits, as tmpfs's: zsfs_quota_room() answers -EDQUOT when the
 * owner or the group is at or past its byte limit (the bytes a write will
 * take are known only once it is compressed, so a write is let through
 * while the usage is below the limit), zsfs_quota_inode_charge() when one
 * more inode would pass the inode limit.  @force (a request from root, as
 * CAP_SYS_RESOURCE passes a tmpfs quota) skips the limits, not the count.
 *
 * Thread safety: every function may be called from any thread with any
 * filesystem lock held; the quota's own lock is a leaf.  A NULL quota
 * (usrquota and grpquota both off) is valid everywhere and costs nothing.
 */
#ifndef ZSFS_QUOTA_H
#define ZSFS_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "options.h"

struct zsfs_quota;

/* NULL in *@out (and 0) when @o has neither usrquota nor grpquota.
 * Return: 0 or -ENOMEM. */
int zsfs_quota_create(const struct zsfs_options *o, struct zsfs_quota **out);
void zsfs_quota_destroy(struct zsfs_quota *q);

/* One more inode for @uid and @gid.  0, -EDQUOT (over a limit, unless
 * @force), -ENOMEM; nothing is counted on failure. */
int zsfs_quota_inode_charge(struct zsfs_quota *q, uid_t uid, gid_t gid,
			    int force);
/* An inode of @uid/@gid that held @bytes is gone. */
void zsfs_quota_inode_free(struct zsfs_quota *q, uid_t uid, gid_t gid,
			   uint64_t bytes);
/* May a file of @uid/@gid grow by @need bytes?  0 or -EDQUOT (never
 * with @force).  @need 0 asks whether the usage is below the limits. */
int zsfs_quota_room(struct zsfs_quota *q, uid_t uid, gid_t gid,
		    uint64_t need, int force);
/* A file of @uid/@gid went from @old to @now bytes. */
void zsfs_quota_bytes(struct zsfs_quota *q, uid_t uid, gid_t gid,
		      uint64_t old, uint64_t now);
/* chown/chgrp: an inode holding @bytes goes from @ouid/@ogid to
 * @nuid/@ngid.  0, -EDQUOT (the new owner or group would pass a limit,
 * unless @force), -ENOMEM; nothing moves on failure. */
int zsfs_quota_transfer(struct zsfs_quota *q, uid_t ouid, gid_t ogid,
			uid_t nuid, gid_t ngid, uint64_t bytes, int force);
/* The user.zsfs.quota text for @uid and @gid (see zsfs(1)), malloc'd in
 * *@text.  0, -ENODATA (no quota), -ENOMEM. */
int zsfs_quota_text(struct zsfs_quota *q, uid_t uid, gid_t gid,
		    char **text, size_t *len);

#endif
