/*
 * pagemap_basic.c - the sparse page table: huge sparse indices, lookup,
 * iteration (next, next_hole, last), node pruning, -EFBIG past the limit,
 * the direct slots and node sizes (grow, shrink, collapse), and a
 * randomized run against a plain array model.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.h"
#include "tap.h"
#include "test_util.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

static int put(struct zsfs_pagemap *pm, uint64_t idx, uint64_t val)
{
	struct zsfs_pentry *e;
	int rc = zsfs_pagemap_slot(pm, idx, &e);

	if (rc)
		return rc;
	if (e->kind == ZSFS_PK_EMPTY)
		zsfs_pagemap_filled(pm);
	e->kind = ZSFS_PK_SAME;
	e->val = val;
	return 0;
}

static void test_sparse(void)
{
	static const uint64_t idx[] = {
		0, 1, 63, 64, 4095, 4096, UINT64_C(1) << 28,
		(UINT64_C(1) << 28) + 1, UINT64_C(1) << 40,
		ZSFS_PAGEMAP_MAX_INDEX,
	};
	const size_t n = sizeof(idx) / sizeof(idx[0]);
	const struct zsfs_pentry *e;
	struct zsfs_pagemap pm;
	char msg[256] = "";
	uint64_t at, from;
	size_t i, ok;
	int rc;

	zsfs_pagemap_init(&pm);
	TAP_OK(zsfs_pagemap_lookup(&pm, 0) == NULL, "empty: lookup 0 is a hole");
	TAP_OK(zsfs_pagemap_next(&pm, 0, &at, &e) == -ENOENT, "empty: no next");
	TAP_OK(zsfs_pagemap_next_hole(&pm, 5) == 5, "empty: hole at 5");
	TAP_OK(zsfs_pagemap_last(&pm, &at) == -ENOENT, "empty: no last");

	/* 1 TiB file with two pages: a handful of nodes. */
	TAP_OK(put(&pm, 0, 1) == 0 && put(&pm, (UINT64_C(1) << 28) - 1, 2) == 0,
	       "1 TiB sparse file: two pages");
	TAP_OK(pm.nodes <= 2 * 5 && pm.height == 5,
	       "1 TiB sparse file: %zu nodes, height %u", pm.nodes, pm.height);
	zsfs_pagemap_clear(&pm, 0);
	zsfs_pagemap_clear(&pm, (UINT64_C(1) << 28) - 1);
	TAP_OK(pm.nodes == 0 && pm.root == NULL && pm.height == 0,
	       "cleared: no nodes left");

	for (i = 0; i < n; i++)
		if (put(&pm, idx[i], idx[i] + 7))
			break;
	TAP_OK(i == n, "stored %zu sparse indices up to 2^48-1", n);
	TAP_OK(pm.entries == n, "entries %zu", pm.entries);
	TAP_OK(put(&pm, ZSFS_PAGEMAP_MAX_INDEX + 1, 0) == -EFBIG,
	       "index 2^48 -> -EFBIG");
	for (i = 0, ok = 0; i < n; i++) {
		e = zsfs_pagemap_lookup(&pm, idx[i]);
		ok += e && e->val == idx[i] + 7;
	}
	TAP_OK(ok == n, "lookup finds all");
	TAP_OK(!zsfs_pagemap_lookup(&pm, 2) && !zsfs_pagemap_lookup(&pm, 65) &&
	       !zsfs_pagemap_lookup(&pm, (UINT64_C(1) << 40) - 1),
	       "neighbours are holes");
	for (from = 0, i = 0; !zsfs_pagemap_next(&pm, from, &at, &e); i++) {
		if (i >= n || at != idx[i])
			break;
		from = at + 1;
	}
	TAP_OK(i == n, "next walks them in order");
	TAP_OK(zsfs_pagemap_next_hole(&pm, 0) == 2, "first hole at 2");
	TAP_OK(zsfs_pagemap_next_hole(&pm, 63) == 65, "hole after 63,64 is 65");
	TAP_OK(zsfs_pagemap_next_hole(&pm, 100) == 100, "100 is a hole");
	TAP_OK(zsfs_pagemap_next_hole(&pm, ZSFS_PAGEMAP_MAX_INDEX) ==
	       ZSFS_PAGEMAP_MAX_INDEX + 1, "after the last index: the limit");
	TAP_OK(!zsfs_pagemap_last(&pm, &at) && at == ZSFS_PAGEMAP_MAX_INDEX,
	       "last is 2^48-1");
	rc = zsfs_pagemap_check(&pm, msg, sizeof(msg));
	TAP_OK(rc == 0, "check: %s", rc ? msg : "ok");
	TAP_OK(pm.nodes < 40, "%zu nodes for %zu far-apart pages", pm.nodes, n);
	for (i = n; i-- > 0;)
		zsfs_pagemap_clear(&pm, idx[i]);
	TAP_OK(pm.nodes == 0 && pm.entries == 0 && !pm.root,
	       "clearing everything frees every node");
	zsfs_pagemap_fini(&pm);
}

static int checked(const struct zsfs_pagemap *pm)
{
	char msg[256] = "";
	int rc = zsfs_pagemap_check(pm, msg, sizeof(msg));

	if (rc)
		tap_diag("%s", msg);
	return rc == 0;
}

/* Direct slots cost no node; tree nodes are sized to their highest used
 * slot and shrink, collapse and go away as entries are cleared. */
static void test_shape(void)
{
	const uint64_t D = ZSFS_PAGEMAP_DIRECT;
	struct zsfs_pagemap pm;
	size_t one_leaf, i;
	uint64_t at;

	zsfs_pagemap_init(&pm);
	for (i = 0; i < D; i++)
		put(&pm, i, i + 1);
	TAP_OK(pm.nodes == 0 && pm.bytes == 0 && pm.entries == D &&
	       zsfs_pagemap_bytes(&pm) == 0 && checked(&pm),
	       "%llu direct entries: no node", (unsigned long long)D);
	TAP_OK(zsfs_pagemap_next_hole(&pm, 0) == D &&
	       !zsfs_pagemap_last(&pm, &at) && at == D - 1,
	       "direct only: hole at %llu, last %llu", (unsigned long long)D,
	       (unsigned long long)at);
	put(&pm, D, 9);
	one_leaf = pm.bytes;
	TAP_OK(pm.nodes == 1 && pm.height == 1 && one_leaf > 0 &&
	       one_leaf <= 64 && checked(&pm),
	       "first tree entry: one leaf of %zu bytes", one_leaf);
	put(&pm, D + 2, 9);
	TAP_OK(zsfs_pagemap_next_hole(&pm, D) == D + 1 &&
	       zsfs_pagemap_next_hole(&pm, D + 2) == D + 3 && checked(&pm),
	       "holes inside and at the end of a 4-slot leaf");
	put(&pm, D + 1, 9);
	put(&pm, D + 3, 9);
	TAP_OK(zsfs_pagemap_next_hole(&pm, 0) == D + 4,
	       "full 4-slot leaf: the hole is past its end");
	put(&pm, D + 63, 9);
	TAP_OK(pm.nodes == 1 && pm.bytes >= 64 * sizeof(struct zsfs_pentry) &&
	       checked(&pm), "slot 63: the leaf grew to 64 slots (%zu bytes)",
	       pm.bytes);
	put(&pm, D + 64, 9);
	TAP_OK(pm.nodes == 3 && pm.height == 2 && checked(&pm),
	       "key 64: a root over two leaves");
	TAP_OK(zsfs_pagemap_next_hole(&pm, D + 64) == D + 65 &&
	       zsfs_pagemap_next_hole(&pm, D + 63) == D + 65,
	       "holes after the second leaf");
	zsfs_pagemap_clear(&pm, D + 64);
	TAP_OK(pm.nodes == 1 && pm.height == 1 && checked(&pm),
	       "cleared key 64: back to one leaf, height 1");
	zsfs_pagemap_clear(&pm, D + 63);
	for (i = 1; i < 4; i++)
		zsfs_pagemap_clear(&pm, D + i);
	TAP_OK(pm.nodes == 1 && pm.bytes == one_leaf && checked(&pm),
	       "cleared down to key 0: the leaf shrank back to %zu bytes",
	       pm.bytes);
	zsfs_pagemap_clear(&pm, D);
	TAP_OK(pm.nodes == 0 && pm.bytes == 0 && !pm.root && pm.height == 0 &&
	       pm.entries == D && checked(&pm),
	       "last tree entry cleared: no tree, direct entries stay");
	for (i = 0; i < D; i++)
		zsfs_pagemap_clear(&pm, i);
	TAP_OK(pm.entries == 0 && zsfs_pagemap_last(&pm, &at) == -ENOENT &&
	       checked(&pm), "all cleared");
	zsfs_pagemap_fini(&pm);
}

#define MODEL_N 5000

static void test_random(void)
{
	static uint64_t model[MODEL_N]; /* 0 = hole, else value */
	const struct zsfs_pentry *e;
	struct zsfs_pagemap pm;
	uint64_t at, h, i;
	char msg[256] = "";
	int step, bad = 0, rc;

	zsfs_pagemap_init(&pm);
	for (step = 0; step < 20000 && !bad; step++) {
		i = rnd() % MODEL_N;
		if (rnd() % 3) {
			uint64_t v = rnd() | 1;

			if (put(&pm, i, v))
				bad = 1;
			model[i] = v;
		} else {
			zsfs_pagemap_clear(&pm, i);
			model[i] = 0;
		}
		if (step % 500 == 0) {
			rc = zsfs_pagemap_check(&pm, msg, sizeof(msg));
			if (rc) {
				tap_diag("step %d: %s", step, msg);
				bad = 1;
			}
			for (i = 0; i < MODEL_N && !bad; i++) {
				e = zsfs_pagemap_lookup(&pm, i);
				if ((e ? e->val : 0) != model[i])
					bad = 1;
			}
			i = rnd() % MODEL_N;
			if (zsfs_pagemap_next(&pm, i, &at, &e) == 0) {
				while (i < at)
					bad |= model[i++] != 0;
				bad |= model[at] != e->val;
			}
			i = rnd() % MODEL_N;
			h = zsfs_pagemap_next_hole(&pm, i);
			while (i < h && i < MODEL_N)
				bad |= model[i++] == 0;
			if (h < MODEL_N)
				bad |= model[h] != 0;
		}
	}
	TAP_OK(!bad, "20000 random set/clear steps match the model");
	for (i = 0; i < MODEL_N; i++)
		zsfs_pagemap_clear(&pm, i);
	TAP_OK(pm.nodes == 0 && pm.entries == 0, "all cleared, no nodes");
	zsfs_pagemap_fini(&pm);

	/* fini frees a populated table (ASan/LSan checks the leak). */
	for (i = 0; i < 1000; i++)
		put(&pm, i * 977, 1);
	zsfs_pagemap_fini(&pm);
	TAP_OK(pm.root == NULL && pm.nodes == 0, "fini frees a full table");
}

int main(void)
{
	test_sparse();
	test_shape();
	test_random();
	return tap_done();
}
