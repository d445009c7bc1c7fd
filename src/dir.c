/*
 * dir.c - directory entries: a hash table for lookup by name and a vector
 * in cookie order for readdir.
 *
 * Every entry gets a cookie from a per-directory counter when it is
 * inserted; cookies are never reused, so the vector is always sorted.
 * readdir returns each entry with its cookie as the offset and resumes at
 * the first cookie greater than the offset it is given (binary search), so
 * a name that exists for the whole listing is returned exactly once however
 * many others come and go meanwhile, and telldir/seekdir positions stay
 * valid.  Removing an entry leaves a tombstone (the slot keeps its cookie);
 * tombstones are squeezed out when they are more than half the vector.
 * Cookies 1 and 2 are "." and "..", so real entries start at 3.
 *
 * Rename onto an existing name keeps the existing entry (and its cookie)
 * and only changes the inode it points at (see ops_entry.c), so the target
 * name is not listed twice either.
 *
 * lock ordering: none taken here; callers hold fs->ns_lock, shared for
 * lookup and next, exclusive for add and remove.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define DIR_MIN_BUCKETS 8
#define DIR_MIN_SLOTS 8
#define DIR_FIRST_COOKIE 3

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static size_t dir_meta(const struct zsfs_dir *d)
{
	return sizeof(*d) + d->nbuckets * sizeof(d->buckets[0]) +
	       d->vcap * sizeof(d->vec[0]);
}

int zsfs_dir_create(struct zsfs *fs, struct zsfs_inode *parent,
		    struct zsfs_dir **out)
{
	struct zsfs_dir *d;
	size_t meta = sizeof(*d) + DIR_MIN_BUCKETS * sizeof(void *) +
		      DIR_MIN_SLOTS * sizeof(struct zsfs_slot);
	int rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, meta);

	if (rc < 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->buckets = calloc(DIR_MIN_BUCKETS, sizeof(d->buckets[0]));
	d->vec = calloc(DIR_MIN_SLOTS, sizeof(d->vec[0]));
	if (!d->buckets || !d->vec) {
		free(d->buckets);
		free(d->vec);
		free(d);
		goto nomem;
	}
	d->nbuckets = DIR_MIN_BUCKETS;
	d->vcap = DIR_MIN_SLOTS;
	d->next_cookie = DIR_FIRST_COOKIE;
	d->parent = parent;
	d->meta = meta;
	*out = d;
	return 0;
nomem:
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, meta);
	return -ENOMEM;
}

void zsfs_dir_destroy(struct zsfs *fs, struct zsfs_dir *d)
{
	size_t i, names = 0;

	if (!d)
		return;
	for (i = 0; i < d->vlen; i++) {
		if (d->vec[i].e) {
			names += sizeof(*d->vec[i].e) + d->vec[i].e->len + 1;
			free(d->vec[i].e);
		}
	}
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, names + d->meta);
	free(d->buckets);
	free(d->vec);
	free(d);
}

struct zsfs_dirent *zsfs_dir_lookup(const struct zsfs_dir *d, const char *name)
{
	size_t len = strlen(name);
	uint64_t h = name_hash(name, len);
	struct zsfs_dirent *e;

	for (e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

/* Double the bucket array; on failure keep the old one (just slower). */
static void dir_rehash(struct zsfs *fs, struct zsfs_dir *d)
{
	size_t n = d->nbuckets * 2, i;
	struct zsfs_dirent **nb;

	if (zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, d->nbuckets * sizeof(*nb)) < 0)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, d->nbuckets * sizeof(*nb));
		return;
	}
	for (i = 0; i < d->nbuckets; i++) {
		struct zsfs_dirent *e = d->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(d->buckets);
	d->buckets = nb;
	d->nbuckets = n;
	d->meta = dir_meta(d);
}

/* Squeeze the tombstones out; cookies do not change. */
static void dir_compact(struct zsfs_dir *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->vlen; i++)
		if (d->vec[i].e)
			d->vec[j++] = d->vec[i];
	d->vlen = j;
	d->tombs = 0;
}

int zsfs_dir_add(struct zsfs *fs, struct zsfs_dir *d, const char *name,
		 struct zsfs_inode *in)
{
	size_t len = strlen(name);
	size_t esize = sizeof(struct zsfs_dirent) + len + 1;
	struct zsfs_dirent *e;
	int rc;

	if (d->vlen == d->vcap && d->tombs > d->vlen / 4)
		dir_compact(d);
	if (d->vlen == d->vcap) {
		size_t ncap = d->vcap * 2;
		struct zsfs_slot *nv;

		rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, d->vcap * sizeof(*nv));
		if (rc < 0)
			return rc;
		nv = realloc(d->vec, ncap * sizeof(*nv));
		if (!nv) {
			zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, d->vcap * sizeof(*nv));
			return -ENOMEM;
		}
		d->vec = nv;
		d->vcap = ncap;
		d->meta = dir_meta(d);
	}
	rc = zsfs_budget_charge(fs->budget, ZSFS_HOLD_META, esize);
	if (rc < 0)
		return rc;
	e = malloc(esize);
	if (!e) {
		zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, esize);
		return -ENOMEM;
	}
	e->inode = in;
	e->len = len;
	e->hash = name_hash(name, len);
	e->cookie = d->next_cookie++;
	memcpy(e->name, name, len + 1);
	e->hnext = d->buckets[e->hash & (d->nbuckets - 1)];
	d->buckets[e->hash & (d->nbuckets - 1)] = e;
	d->vec[d->vlen].cookie = e->cookie;
	d->vec[d->vlen].e = e;
	d->vlen++;
	d->count++;
	if (d->count > d->nbuckets)
		dir_rehash(fs, d);
	return 0;
}

/* Index of the first slot with cookie > @after (d->vlen if none). */
static size_t slot_after(const struct zsfs_dir *d, uint64_t after)
{
	size_t lo = 0, hi = d->vlen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->vec[mid].cookie <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void zsfs_dir_remove(struct zsfs *fs, struct zsfs_dir *d, struct zsfs_dirent *e)
{
	struct zsfs_dirent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];
	size_t i;

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	i = slot_after(d, e->cookie - 1);
	d->vec[i].e = NULL;
	d->tombs++;
	d->count--;
	if (d->tombs > 32 && d->tombs > d->vlen / 2)
		dir_compact(d);
	zsfs_budget_sub(fs->budget, ZSFS_HOLD_META, sizeof(*e) + e->len + 1);
	free(e);
}

struct zsfs_dirent *zsfs_dir_next(const struct zsfs_dir *d, uint64_t after)
{
	size_t i;

	for (i = slot_after(d, after); i < d->vlen; i++)
		if (d->vec[i].e)
			return d->vec[i].e;
	return NULL;
}
