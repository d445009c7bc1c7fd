/*
 * dir_table.c - the directory table (src/dir.c) against a plain model:
 * random adds and removes in a few directories, with lookups of present
 * and missing names, listings that resume from every cookie, the table's
 * own check after each step, and the budget's META back to zero after
 * the directories are freed (every byte charged as malloc holds it).
 * Also: a listing that runs while names come and go returns every name
 * present throughout exactly once, in cookie order.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "fs.h"
#include "tap.h"

#define NAMES 3000

struct model {
	int present[NAMES];
	uint64_t cookie[NAMES];
	struct zsfs_dirent *e[NAMES];
};

static void name_of(int i, char *buf, size_t cap)
{
	/* Lengths 1..~40: a spread of dirent chunk sizes; some share a
	 * prefix, so the hash, not the first bytes, tells them apart. */
	snprintf(buf, cap, "%.*s%d", i % 37, "prefix-prefix-prefix-prefix-prefix-pr", i);
}

static int model_check(const struct zsfs_dir *d, const struct model *m,
		       const char **why)
{
	char name[64], msg[128];
	const struct zsfs_dirent *e;
	uint64_t last = 0;
	uint32_t live = 0;
	int i;

	for (i = 0; i < NAMES; i++) {
		name_of(i, name, sizeof(name));
		e = zsfs_dir_lookup(d, name);
		if (m->present[i] ? e != m->e[i] : e != NULL) {
			*why = "lookup";
			return 0;
		}
		live += m->present[i];
	}
	if (live != d->count) {
		*why = "count";
		return 0;
	}
	for (e = zsfs_dir_next(d, 2); e; e = zsfs_dir_next(d, zsfs_dirent_cookie(e))) {
		if (zsfs_dirent_cookie(e) <= last) {
			*why = "order";
			return 0;
		}
		last = zsfs_dirent_cookie(e);
		live--;
	}
	if (live) {
		*why = "listing count";
		return 0;
	}
	if (zsfs_dir_check(d, msg, sizeof(msg)) < 0) {
		*why = "dir_check";
		tap_diag("%s", msg);
		return 0;
	}
	return 1;
}

int main(void)
{
	struct zsfs fs;
	struct zsfs_inode *fake = (struct zsfs_inode *)(uintptr_t)0x1000;
	struct zsfs_dir d;
	struct model *m = calloc(1, sizeof(*m));
	char name[64];
	const char *why = "";
	int step, i, ok = 1, rc;

	memset(&fs, 0, sizeof(fs));
	if (!m || zsfs_budget_create(0, &fs.budget) < 0)
		return 1;
	zsfs_dir_init(&d, NULL);
	srand(7);
	for (step = 0; step < 40000 && ok; step++) {
		i = rand() % NAMES;
		name_of(i, name, sizeof(name));
		if (m->present[i] && rand() % 3) {
			zsfs_dir_remove(&fs, &d, m->e[i]);
			m->present[i] = 0;
		} else if (!m->present[i]) {
			rc = zsfs_dir_add(&fs, &d, name, fake);
			if (rc < 0) {
				ok = 0;
				why = "add failed";
				break;
			}
			m->e[i] = zsfs_dir_lookup(&d, name);
			m->present[i] = 1;
			if (!m->e[i] || zsfs_dirent_cookie(m->e[i]) <= m->cookie[i]) {
				ok = 0;
				why = "cookie not new";
				break;
			}
			m->cookie[i] = zsfs_dirent_cookie(m->e[i]);
		}
		if (step % 997 == 0)
			ok = model_check(&d, m, &why);
	}
	if (ok)
		ok = model_check(&d, m, &why);
	TAP_OK(ok, "40000 random adds and removes agree with the model (%s)",
	       ok ? "lookups, order, check" : why);
	for (i = 0; i < NAMES; i++)
		if (m->present[i]) {
			zsfs_dir_remove(&fs, &d, m->e[i]);
			m->present[i] = 0;
		}

	/* Around DIR_SMALL names: lookups without and with the table. */
	for (step = 0; step < 20000 && ok; step++) {
		i = rand() % 12;
		name_of(i, name, sizeof(name));
		if (m->present[i]) {
			zsfs_dir_remove(&fs, &d, m->e[i]);
			m->present[i] = 0;
		} else {
			if (zsfs_dir_add(&fs, &d, name, fake) < 0) {
				ok = 0;
				why = "add failed";
				break;
			}
			m->e[i] = zsfs_dir_lookup(&d, name);
			m->present[i] = 1;
		}
		if (step % 7 == 0)
			ok = model_check(&d, m, &why);
	}
	TAP_OK(ok, "20000 adds and removes of 12 names (small and tabled) agree with the model (%s)",
	       ok ? "lookups, order, check" : why);

	/* Empty it: the tables go with the last entry. */
	for (i = 0; i < NAMES; i++)
		if (m->present[i]) {
			zsfs_dir_remove(&fs, &d, m->e[i]);
			m->present[i] = 0;
		}
	TAP_OK(d.tab == NULL && d.vec == NULL && d.count == 0,
	       "an emptied directory holds no tables");
	TAP_OK(zsfs_budget_held(fs.budget, ZSFS_HOLD_META) == 0,
	       "META back to 0 after every entry went (%zu)",
	       zsfs_budget_held(fs.budget, ZSFS_HOLD_META));

	/* A listing across removals and adds: names present throughout are
	 * returned exactly once. */
	{
		const struct zsfs_dirent *e;
		int seen[NAMES] = { 0 }, twice = 0, missed = 0, n = 0;

		for (i = 0; i < 1000; i++) {
			name_of(i, name, sizeof(name));
			zsfs_dir_add(&fs, &d, name, fake);
		}
		for (e = zsfs_dir_next(&d, 2); e; e = zsfs_dir_next(&d, zsfs_dirent_cookie(e))) {
			int k = atoi(e->name + strspn(e->name, "prefix-"));
			char other[64];
			struct zsfs_dirent *o;

			/* names below 1000 are the ones present throughout
			 * unless removed below (odd ones after k) */
			if (k < 1000 && seen[k]++)
				twice++;
			/* remove an odd name ahead, add a new one */
			name_of((k + 501) % 1000 | 1, other, sizeof(other));
			o = zsfs_dir_lookup(&d, other);
			if (o && o != e)
				zsfs_dir_remove(&fs, &d, o);
			name_of(1000 + n++ % 2000, other, sizeof(other));
			if (!zsfs_dir_lookup(&d, other))
				zsfs_dir_add(&fs, &d, other, fake);
		}
		for (i = 0; i < 1000; i += 2)
			missed += !seen[i];
		TAP_OK(!twice && !missed,
		       "listing while names come and go: even names once each (%d twice, %d missed)",
		       twice, missed);
	}
	zsfs_dir_fini(&fs, &d);

	/* Cookies past 32 bits, and the end of the 48-bit range. */
	{
		const struct zsfs_dirent *e;
		uint64_t last = 0;
		int n = 0, inorder = 1;

		zsfs_dir_init(&d, NULL);
		d.next_cookie = (UINT64_C(1) << 32) - 2;
		for (i = 0; i < 5; i++) {
			name_of(i, name, sizeof(name));
			zsfs_dir_add(&fs, &d, name, fake);
		}
		for (e = zsfs_dir_next(&d, 2); e; e = zsfs_dir_next(&d, zsfs_dirent_cookie(e))) {
			inorder &= zsfs_dirent_cookie(e) > last;
			last = zsfs_dirent_cookie(e);
			n++;
		}
		TAP_OK(n == 5 && inorder && last == (UINT64_C(1) << 32) + 2,
		       "cookies across 2^32: 5 listed in order, the last %llu",
		       (unsigned long long)last);
		d.next_cookie = ZSFS_COOKIE_MAX;
		rc = zsfs_dir_add(&fs, &d, "last", fake);
		TAP_OK(rc == 0 && zsfs_dirent_cookie(zsfs_dir_lookup(&d, "last")) ==
				  ZSFS_COOKIE_MAX,
		       "the last cookie is given (%d)", rc);
		rc = zsfs_dir_add(&fs, &d, "past", fake);
		TAP_OK(rc == -ENOSPC && !zsfs_dir_lookup(&d, "past"),
		       "past the last cookie: ENOSPC, nothing added (%d)", rc);
		zsfs_dir_fini(&fs, &d);
	}
	TAP_OK(zsfs_budget_held(fs.budget, ZSFS_HOLD_META) == 0,
	       "META back to 0 after zsfs_dir_fini (%zu)",
	       zsfs_budget_held(fs.budget, ZSFS_HOLD_META));
	zsfs_budget_destroy(fs.budget);
	free(m);
	return tap_done();
}
