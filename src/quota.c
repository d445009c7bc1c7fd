/*
 * quota.c - per-uid and per-gid usage and hard limits (quota.h).
 *
 * Two small hash tables, users and groups, from id to { bytes, inodes },
 * chained, doubled when the load passes 1.  An entry exists while its id
 * owns an inode (made at the inode's charge, dropped when its last inode
 * goes), so the write path's byte updates only look one up: they never
 * allocate and never fail.  The cost on a write is one lookup per table
 * under one mutex, only when usrquota or grpquota is on.
 *
 * lock ordering: q->lock is a leaf, taken under any filesystem lock.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

struct quota_entry {
	struct quota_entry *next;
	uint32_t id;
	uint64_t bytes, inodes;
};

struct quota_table {
	int on;                        /* usrquota / grpquota; immutable */
	uint64_t byte_limit;           /* 0 = none; immutable */
	uint64_t inode_limit;          /* 0 = none; immutable */
	struct quota_entry **buckets;  /* protected by zsfs_quota.lock */
	size_t nbuckets, count;        /* protected by zsfs_quota.lock */
};

struct zsfs_quota {
	pthread_mutex_t lock;
	struct quota_table usr, grp;
};

static size_t id_hash(uint32_t id, size_t nbuckets)
{
	return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (nbuckets - 1);
}

static struct quota_entry *entry_find(const struct quota_table *t, uint32_t id)
{
	struct quota_entry *e;

	if (!t->on)
		return NULL;
	for (e = t->buckets[id_hash(id, t->nbuckets)]; e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

static void table_grow(struct quota_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct quota_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains; still correct */
	for (i = 0; i < t->nbuckets; i++) {
		struct quota_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			size_t h = id_hash(e->id, n);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* The entry of @id, made (empty) if missing; NULL when out of memory or
 * the table is off. */
static struct quota_entry *entry_get(struct quota_table *t, uint32_t id)
{
	struct quota_entry *e = entry_find(t, id);
	size_t h;

	if (e || !t->on)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->id = id;
	h = id_hash(id, t->nbuckets);
	e->next = t->buckets[h];
	t->buckets[h] = e;
	if (++t->count > t->nbuckets)
		table_grow(t);
	return e;
}

/* Drop @e when it counts nothing any more. */
static void entry_put(struct quota_table *t, struct quota_entry *e)
{
	struct quota_entry **pp;

	if (!e || e->inodes || e->bytes)
		return;
	for (pp = &t->buckets[id_hash(e->id, t->nbuckets)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			free(e);
			t->count--;
			return;
		}
	}
}

static void sub_sat(uint64_t *v, uint64_t d)
{
	*v = *v > d ? *v - d : 0;
}

static int table_init(struct quota_table *t, int on, uint64_t bytes,
		      uint64_t inodes)
{
	t->on = on;
	t->byte_limit = bytes;
	t->inode_limit = inodes;
	t->nbuckets = 16;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

static void table_fini(struct quota_table *t)
{
	size_t i;

	for (i = 0; t->buckets && i < t->nbuckets; i++) {
		struct quota_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
}

int zsfs_quota_create(const struct zsfs_options *o, struct zsfs_quota **out)
{
	struct zsfs_quota *q;

	*out = NULL;
	if (!o->usrquota && !o->grpquota)
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	if (table_init(&q->usr, o->usrquota, o->usr_block_hardlimit,
		       o->usr_inode_hardlimit) < 0 ||
	    table_init(&q->grp, o->grpquota, o->grp_block_hardlimit,
		       o->grp_inode_hardlimit) < 0 ||
	    pthread_mutex_init(&q->lock, NULL)) {
		table_fini(&q->usr);
		table_fini(&q->grp);
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

void zsfs_quota_destroy(struct zsfs_quota *q)
{
	if (!q)
		return;
	table_fini(&q->usr);
	table_fini(&q->grp);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* Would @e, with @bytes more, pass @t's byte limit?  @bytes 0: is it at
 * or past it already? */
static int over_bytes(const struct quota_table *t, const struct quota_entry *e,
		      uint64_t bytes)
{
	uint64_t have = e ? e->bytes : 0;

	if (!t->on || !t->byte_limit)
		return 0;
	return bytes ? have + bytes > t->byte_limit : have >= t->byte_limit;
}

/* Would one more inode pass @t's inode limit? */
static int over_inodes(const struct quota_table *t, const struct quota_entry *e)
{
	return t->on && t->inode_limit &&
	       (e ? e->inodes : 0) + 1 > t->inode_limit;
}

int zsfs_quota_inode_charge(struct zsfs_quota *q, uid_t uid, gid_t gid,
			    int force)
{
	struct quota_entry *u, *g;
	int rc = 0;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->lock);
	if (!force && (over_inodes(&q->usr, entry_find(&q->usr, uid)) ||
		       over_inodes(&q->grp, entry_find(&q->grp, gid)))) {
		rc = -EDQUOT;
		goto out;
	}
	u = entry_get(&q->usr, uid);
	g = entry_get(&q->grp, gid);
	if ((q->usr.on && !u) || (q->grp.on && !g)) {
		entry_put(&q->usr, u);
		entry_put(&q->grp, g);
		rc = -ENOMEM;
		goto out;
	}
	if (u)
		u->inodes++;
	if (g)
		g->inodes++;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void zsfs_quota_inode_free(struct zsfs_quota *q, uid_t uid, gid_t gid,
			   uint64_t bytes)
{
	struct quota_entry *u, *g;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	u = entry_find(&q->usr, uid);
	g = entry_find(&q->grp, gid);
	if (u) {
		sub_sat(&u->inodes, 1);
		sub_sat(&u->bytes, bytes);
		entry_put(&q->usr, u);
	}
	if (g) {
		sub_sat(&g->inodes, 1);
		sub_sat(&g->bytes, bytes);
		entry_put(&q->grp, g);
	}
	pthread_mutex_unlock(&q->lock);
}

int zsfs_quota_room(struct zsfs_quota *q, uid_t uid, gid_t gid,
		    uint64_t need, int force)
{
	int rc = 0;

	if (!q || force || (!q->usr.byte_limit && !q->grp.byte_limit))
		return 0;
	pthread_mutex_lock(&q->lock);
	if (over_bytes(&q->usr, entry_find(&q->usr, uid), need) ||
	    over_bytes(&q->grp, entry_find(&q->grp, gid), need))
		rc = -EDQUOT;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void zsfs_quota_bytes(struct zsfs_quota *q, uid_t uid, gid_t gid,
		      uint64_t old, uint64_t now)
{
	struct quota_entry *u, *g;

	if (!q || old == now)
		return;
	pthread_mutex_lock(&q->lock);
	u = entry_find(&q->usr, uid);
	g = entry_find(&q->grp, gid);
	if (u) {
		sub_sat(&u->bytes, old);
		u->bytes += now;
	}
	if (g) {
		sub_sat(&g->bytes, old);
		g->bytes += now;
	}
	pthread_mutex_unlock(&q->lock);
}

int zsfs_quota_transfer(struct zsfs_quota *q, uid_t ouid, gid_t ogid,
			uid_t nuid, gid_t ngid, uint64_t bytes, int force)
{
	struct quota_entry *ou, *og, *nu, *ng;
	int rc = 0;

	if (!q || (ouid == nuid && ogid == ngid))
		return 0;
	pthread_mutex_lock(&q->lock);
	nu = entry_find(&q->usr, nuid);
	ng = entry_find(&q->grp, ngid);
	if (!force &&
	    ((ouid != nuid && (over_inodes(&q->usr, nu) ||
			       (bytes && over_bytes(&q->usr, nu, bytes)))) ||
	     (ogid != ngid && (over_inodes(&q->grp, ng) ||
			       (bytes && over_bytes(&q->grp, ng, bytes)))))) {
		rc = -EDQUOT;
		goto out;
	}
	nu = entry_get(&q->usr, nuid);
	ng = entry_get(&q->grp, ngid);
	if ((q->usr.on && !nu) || (q->grp.on && !ng)) {
		entry_put(&q->usr, nu);
		entry_put(&q->grp, ng);
		rc = -ENOMEM;
		goto out;
	}
	ou = entry_find(&q->usr, ouid);
	og = entry_find(&q->grp, ogid);
	if (ou && ou != nu) {
		sub_sat(&ou->inodes, 1);
		sub_sat(&ou->bytes, bytes);
		nu->inodes++;
		nu->bytes += bytes;
		entry_put(&q->usr, ou);
	}
	if (og && og != ng) {
		sub_sat(&og->inodes, 1);
		sub_sat(&og->bytes, bytes);
		ng->inodes++;
		ng->bytes += bytes;
		entry_put(&q->grp, og);
	}
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int zsfs_quota_text(struct zsfs_quota *q, uid_t uid, gid_t gid,
		    char **text, size_t *len)
{
	const struct quota_entry *u, *g;
	char ubuf[160] = "", gbuf[160] = "";
	int n;

	if (!q)
		return -ENODATA;
	pthread_mutex_lock(&q->lock);
	u = entry_find(&q->usr, uid);
	g = entry_find(&q->grp, gid);
	if (q->usr.on)
		snprintf(ubuf, sizeof(ubuf),
			 "user %u bytes %" PRIu64 " limit %" PRIu64
			 " inodes %" PRIu64 " limit %" PRIu64 "\n", (unsigned)uid,
			 u ? u->bytes : 0, q->usr.byte_limit,
			 u ? u->inodes : 0, q->usr.inode_limit);
	if (q->grp.on)
		snprintf(gbuf, sizeof(gbuf),
			 "group %u bytes %" PRIu64 " limit %" PRIu64
			 " inodes %" PRIu64 " limit %" PRIu64 "\n", (unsigned)gid,
			 g ? g->bytes : 0, q->grp.byte_limit,
			 g ? g->inodes : 0, q->grp.inode_limit);
	pthread_mutex_unlock(&q->lock);
	n = asprintf(text, "%s%s", ubuf, gbuf);
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}
