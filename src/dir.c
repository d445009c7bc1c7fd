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
 * Memory: an entry is one allocation of 15 bytes + its name (no hash:
 * the table hashes names when it places or moves them); the vector
 * holds one word a position (the entry, or the removed entry's cookie as
 * a tombstone, see struct zsfs_dir) and the lookup table 4 bytes a slot
 * (1 + the entry's index in the vector, 0 = free), at most 3/4 full
 * (linear probing; a removal shifts the entries after it back, so the
 * table has no tombstones; squeezing the vector renumbers it, so the
 * table is rebuilt then).  A directory gets the table only past
 * DIR_SMALL names.  Both tables are made
 * at the first entry and freed with the last, so an empty directory
 * costs its inode alone.  All
 * of it is charged to the budget as malloc holds it (zsfs_meta_alloc).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "fs.h"

/* Up to DIR_SMALL names a directory has no lookup table: a lookup reads
 * its vector (at most 16 slots then, tombstones included, see vec_room),
 * which saves most directories of a source tree the table. */
#define DIR_SMALL 8u
#define DIR_MIN_TAB 16u
#define DIR_MIN_SLOTS 4u
#define DIR_FIRST_COOKIE 3

static uint32_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static int slot_is_tomb(uintptr_t v)
{
	return v & 1;
}

static struct zsfs_dirent *slot_entry(uintptr_t v)
{
	return slot_is_tomb(v) ? NULL : (struct zsfs_dirent *)v;
}

static uint64_t slot_cookie(uintptr_t v)
{
	return slot_is_tomb(v) ? (uint64_t)(v >> 1) :
				 zsfs_dirent_cookie(slot_entry(v));
}

static uint32_t entry_hash(const struct zsfs_dirent *e)
{
	return name_hash(e->name, e->len);
}

static size_t esize(size_t len)
{
	return offsetof(struct zsfs_dirent, name) + len + 1;
}

void zsfs_dir_init(struct zsfs_dir *d, struct zsfs_inode *parent)
{
	memset(d, 0, sizeof(*d));
	d->next_cookie = DIR_FIRST_COOKIE;
	d->parent = parent;
}

void zsfs_dir_fini(struct zsfs *fs, struct zsfs_dir *d)
{
	uint32_t i;

	for (i = 0; i < d->vlen; i++)
		if (!slot_is_tomb(d->vec[i]))
			zsfs_meta_free(fs, slot_entry(d->vec[i]));
	zsfs_meta_free(fs, d->tab);
	zsfs_meta_free(fs, d->vec);
	d->tab = NULL;
	d->vec = NULL;
	d->vlen = d->vcap = d->ntab = d->count = d->tombs = 0;
}

/* The entry a table slot's value (not 0) names. */
static struct zsfs_dirent *tab_entry(const struct zsfs_dir *d, uint32_t v)
{
	return slot_entry(d->vec[v - 1]);
}

struct zsfs_dirent *zsfs_dir_lookup(const struct zsfs_dir *d, const char *name)
{
	size_t len = strlen(name);
	uint32_t h, i, v;
	struct zsfs_dirent *e;

	if (!d->count || len > ZSFS_NAME_MAX)
		return NULL;
	if (!d->tab) {
		for (i = 0; i < d->vlen; i++) {
			e = slot_entry(d->vec[i]);
			if (e && e->len == len && memcmp(e->name, name, len) == 0)
				return e;
		}
		return NULL;
	}
	h = name_hash(name, len);
	for (i = h & (d->ntab - 1); (v = d->tab[i]); i = (i + 1) & (d->ntab - 1)) {
		e = tab_entry(d, v);
		if (e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	}
	return NULL;
}

/* Put vector position @pos (its entry's hash @h) in @tab of @ntab slots. */
static void tab_insert(uint32_t *tab, uint32_t ntab, uint32_t h, uint32_t pos)
{
	uint32_t i;

	for (i = h & (ntab - 1); tab[i]; i = (i + 1) & (ntab - 1))
		;
	tab[i] = pos + 1;
}

/* Every live entry of the vector into @tab (all free). */
static void tab_fill(const struct zsfs_dir *d, uint32_t *tab, uint32_t ntab)
{
	uint32_t i;

	for (i = 0; i < d->vlen; i++)
		if (!slot_is_tomb(d->vec[i]))
			tab_insert(tab, ntab, entry_hash(slot_entry(d->vec[i])), i);
}

/* A table of @n slots with every live entry; the old one freed. */
static int tab_resize(struct zsfs *fs, struct zsfs_dir *d, uint32_t n)
{
	uint32_t *nt;
	int rc;

	nt = zsfs_meta_alloc(fs, (size_t)n * sizeof(*nt), 1, &rc);
	if (!nt)
		return rc;
	tab_fill(d, nt, n);
	zsfs_meta_free(fs, d->tab);
	d->tab = nt;
	d->ntab = n;
	return 0;
}

/* Squeeze the tombstones out; cookies do not change, positions do, so
 * the table is filled again. */
static void dir_compact(struct zsfs_dir *d)
{
	uint32_t i, j = 0;

	for (i = 0; i < d->vlen; i++)
		if (!slot_is_tomb(d->vec[i]))
			d->vec[j++] = d->vec[i];
	d->vlen = j;
	d->tombs = 0;
	if (d->tab) {
		memset(d->tab, 0, (size_t)d->ntab * sizeof(*d->tab));
		tab_fill(d, d->tab, d->ntab);
	}
}

/* Room for one more position in the vector. */
static int vec_room(struct zsfs *fs, struct zsfs_dir *d)
{
	uintptr_t *nv;
	uint32_t ncap;
	int rc;

	if (d->vlen == d->vcap && d->tombs > d->vlen / 4)
		dir_compact(d);
	if (d->vlen < d->vcap)
		return 0;
	if (d->vcap >= UINT32_MAX / 2)
		return -ENOSPC;
	ncap = d->vcap ? d->vcap * 2 : DIR_MIN_SLOTS;
	nv = zsfs_meta_realloc(fs, d->vec, (size_t)ncap * sizeof(*nv), &rc);
	if (!nv)
		return rc;
	d->vec = nv;
	d->vcap = ncap;
	return 0;
}

int zsfs_dir_add(struct zsfs *fs, struct zsfs_dir *d, const char *name,
		 struct zsfs_inode *in)
{
	size_t len = strlen(name);
	struct zsfs_dirent *e;
	int rc;

	if (len > ZSFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (d->next_cookie > ZSFS_COOKIE_MAX)
		return -ENOSPC; /* every readdir offset used: none reused */
	/* Past DIR_SMALL names, the table at most 3/4 full with this one. */
	if (d->count + 1 > DIR_SMALL &&
	    (uint64_t)(d->count + 1) * 4 > (uint64_t)d->ntab * 3) {
		rc = tab_resize(fs, d, d->ntab ? d->ntab * 2 : DIR_MIN_TAB);
		if (rc < 0)
			return rc;
	}
	rc = vec_room(fs, d);
	if (rc < 0)
		return rc;
	e = zsfs_meta_alloc(fs, esize(len), 0, &rc);
	if (!e)
		return rc;
	e->inode = in;
	e->len = (uint8_t)len;
	e->cookie_lo = (uint32_t)d->next_cookie;
	e->cookie_hi = (uint16_t)(d->next_cookie >> 32);
	d->next_cookie++;
	memcpy(e->name, name, len + 1);
	if (d->tab)
		tab_insert(d->tab, d->ntab, name_hash(name, len), d->vlen);
	d->vec[d->vlen++] = (uintptr_t)e;
	d->count++;
	return 0;
}

/* Index of the first slot with cookie > @after (d->vlen if none). */
static uint32_t slot_after(const struct zsfs_dir *d, uint64_t after)
{
	uint32_t lo = 0, hi = d->vlen;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (slot_cookie(d->vec[mid]) <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Take @e out of the lookup table: the entries after it in its run
 * move back to where a lookup from their home slot finds them. */
static void tab_remove(struct zsfs_dir *d, struct zsfs_dirent *e)
{
	uint32_t mask = d->ntab - 1, i, j, home;

	for (i = entry_hash(e) & mask; tab_entry(d, d->tab[i]) != e;
	     i = (i + 1) & mask)
		;
	for (j = (i + 1) & mask; d->tab[j]; j = (j + 1) & mask) {
		home = entry_hash(tab_entry(d, d->tab[j])) & mask;
		/* Move it when its home is not in (i, j] (cyclically). */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			d->tab[i] = d->tab[j];
			i = j;
		}
	}
	d->tab[i] = 0;
}

void zsfs_dir_remove(struct zsfs *fs, struct zsfs_dir *d, struct zsfs_dirent *e)
{
	uint32_t i;

	if (d->tab)
		tab_remove(d, e);
	i = slot_after(d, zsfs_dirent_cookie(e) - 1);
	/* after tab_remove, which reads the entry through the vector */
	d->vec[i] = (uintptr_t)(zsfs_dirent_cookie(e) << 1) | 1;
	d->tombs++;
	d->count--;
	zsfs_meta_free(fs, e);
	if (!d->count) {
		/* Empty: the tables go, as they came, with the first entry
		 * (next_cookie stays: cookies are never reused). */
		zsfs_meta_free(fs, d->tab);
		zsfs_meta_free(fs, d->vec);
		d->tab = NULL;
		d->vec = NULL;
		d->ntab = d->vlen = d->vcap = d->tombs = 0;
	} else if (d->tombs > 32 && d->tombs > d->vlen / 2) {
		dir_compact(d);
	}
}

struct zsfs_dirent *zsfs_dir_next(const struct zsfs_dir *d, uint64_t after)
{
	uint32_t i;

	for (i = slot_after(d, after); i < d->vlen; i++)
		if (!slot_is_tomb(d->vec[i]))
			return slot_entry(d->vec[i]);
	return NULL;
}

int zsfs_dir_check(const struct zsfs_dir *d, char *msg, size_t msg_cap)
{
	uint32_t i, intab = 0;
	uint64_t last = 0;

	for (i = 0; i < d->vlen; i++) {
		uint64_t c = slot_cookie(d->vec[i]);
		const struct zsfs_dirent *e = slot_entry(d->vec[i]);

		if (c <= last || c >= d->next_cookie) {
			snprintf(msg, msg_cap, "dir: cookie %llu out of order",
				 (unsigned long long)c);
			return -EUCLEAN;
		}
		last = c;
		if (e && zsfs_dir_lookup(d, e->name) != e) {
			snprintf(msg, msg_cap, "dir: entry %s not found by name",
				 e->name);
			return -EUCLEAN;
		}
	}
	for (i = 0; i < d->ntab; i++) {
		if (!d->tab[i])
			continue;
		if (d->tab[i] > d->vlen || slot_is_tomb(d->vec[d->tab[i] - 1])) {
			snprintf(msg, msg_cap, "dir: table slot %u names no entry", i);
			return -EUCLEAN;
		}
		intab++;
	}
	if (d->tab && intab != d->count) {
		snprintf(msg, msg_cap, "dir: %u names in the table, %u live",
			 intab, d->count);
		return -EUCLEAN;
	}
	return 0;
}
