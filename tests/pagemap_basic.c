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

/* Values below 2^61 ride above a SAME kind: the table needs a valid
 * kind and a non-zero word, nothing else. */
static int put(struct zsfs_pagemap *pm, uint64_t idx, uint64_t val)
{
	struct zsfs_pentry *e;
	int rc = zsfs_pagemap_slot(pm, idx, &e);

	if (rc)
		return rc;
	e->w = val << 3 | ZSFS_PK_SAME;
	return 0;
}

static uint64_t val_of(const struct zsfs_pentry *e)
{
	return e->w >> 3;
}

static size_t nodes(const struct zsfs_pagemap *pm)
{
	size_t n, m;

	zsfs_pagemap_count(pm, &n, &m);
	return n;
}

static size_t entries(const struct zsfs_pagemap *pm)
{
	size_t n, m;

	zsfs_pagemap_count(pm, &n, &m);
	return m;
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
	TAP_OK(nodes(&pm) <= 2 * 5 && zsfs_pagemap_height(&pm) == 5,
	       "1 TiB sparse file: %zu nodes, height %u", nodes(&pm), zsfs_pagemap_height(&pm));
	zsfs_pagemap_clear(&pm, 0);
	zsfs_pagemap_clear(&pm, (UINT64_C(1) << 28) - 1);
	TAP_OK(nodes(&pm) == 0 && pm.root == NULL && zsfs_pagemap_height(&pm) == 0,
	       "cleared: no nodes left");

	for (i = 0; i < n; i++)
		if (put(&pm, idx[i], idx[i] + 7))
			break;
	TAP_OK(i == n, "stored %zu sparse indices up to 2^48-1", n);
	TAP_OK(entries(&pm) == n, "entries %zu", entries(&pm));
	TAP_OK(put(&pm, ZSFS_PAGEMAP_MAX_INDEX + 1, 0) == -EFBIG,
	       "index 2^48 -> -EFBIG");
	for (i = 0, ok = 0; i < n; i++) {
		e = zsfs_pagemap_lookup(&pm, idx[i]);
		ok += e && val_of(e) == idx[i] + 7;
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
	TAP_OK(nodes(&pm) < 40, "%zu nodes for %zu far-apart pages", nodes(&pm), n);
	for (i = n; i-- > 0;)
		zsfs_pagemap_clear(&pm, idx[i]);
	TAP_OK(nodes(&pm) == 0 && entries(&pm) == 0 && !pm.root,
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
	TAP_OK(nodes(&pm) == 0 && zsfs_pagemap_bytes(&pm) == 0 && entries(&pm) == D &&
	       zsfs_pagemap_bytes(&pm) == 0 && checked(&pm),
	       "%llu direct entries: no node", (unsigned long long)D);
	TAP_OK(zsfs_pagemap_next_hole(&pm, 0) == D &&
	       !zsfs_pagemap_last(&pm, &at) && at == D - 1,
	       "direct only: hole at %llu, last %llu", (unsigned long long)D,
	       (unsigned long long)at);
	put(&pm, D, 9);
	one_leaf = zsfs_pagemap_bytes(&pm);
	TAP_OK(nodes(&pm) == 1 && zsfs_pagemap_height(&pm) == 1 && one_leaf > 0 &&
	       one_leaf <= 64 && checked(&pm),
	       "first tree entry: one leaf of %zu bytes", one_leaf);
	put(&pm, D + 2, 9);
	TAP_OK(zsfs_pagemap_next_hole(&pm, D) == D + 1 &&
	       zsfs_pagemap_next_hole(&pm, D + 2) == D + 3 && checked(&pm),
	       "holes inside and at the end of a 3-slot leaf");
	put(&pm, D + 1, 9);
	put(&pm, D + 3, 9);
	TAP_OK(zsfs_pagemap_next_hole(&pm, 0) == D + 4,
	       "4 entries in a 7-slot leaf: the hole is past them");
	put(&pm, D + 63, 9);
	TAP_OK(nodes(&pm) == 1 && zsfs_pagemap_bytes(&pm) >= 64 * sizeof(struct zsfs_pentry) &&
	       checked(&pm), "slot 63: the leaf grew to 64 slots (%zu bytes)",
	       zsfs_pagemap_bytes(&pm));
	put(&pm, D + 64, 9);
	TAP_OK(nodes(&pm) == 3 && zsfs_pagemap_height(&pm) == 2 && checked(&pm),
	       "key 64: a root over two leaves");
	TAP_OK(zsfs_pagemap_next_hole(&pm, D + 64) == D + 65 &&
	       zsfs_pagemap_next_hole(&pm, D + 63) == D + 65,
	       "holes after the second leaf");
	zsfs_pagemap_clear(&pm, D + 64);
	TAP_OK(nodes(&pm) == 1 && zsfs_pagemap_height(&pm) == 1 && checked(&pm),
	       "cleared key 64: back to one leaf, height 1");
	zsfs_pagemap_clear(&pm, D + 63);
	for (i = 1; i < 4; i++)
		zsfs_pagemap_clear(&pm, D + i);
	TAP_OK(nodes(&pm) == 1 && zsfs_pagemap_bytes(&pm) == one_leaf && checked(&pm),
	       "cleared down to key 0: the leaf shrank back to %zu bytes",
	       zsfs_pagemap_bytes(&pm));
	zsfs_pagemap_clear(&pm, D);
	TAP_OK(nodes(&pm) == 0 && zsfs_pagemap_bytes(&pm) == 0 && !pm.root && zsfs_pagemap_height(&pm) == 0 &&
	       entries(&pm) == D && checked(&pm),
	       "last tree entry cleared: no tree, direct entries stay");
	for (i = 0; i < D; i++)
		zsfs_pagemap_clear(&pm, i);
	TAP_OK(entries(&pm) == 0 && zsfs_pagemap_last(&pm, &at) == -ENOENT &&
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
			uint64_t v = rnd() >> 3 | 1;

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
				if ((e ? val_of(e) : 0) != model[i])
					bad = 1;
			}
			i = rnd() % MODEL_N;
			if (zsfs_pagemap_next(&pm, i, &at, &e) == 0) {
				while (i < at)
					bad |= model[i++] != 0;
				bad |= model[at] != val_of(e);
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
	TAP_OK(nodes(&pm) == 0 && entries(&pm) == 0, "all cleared, no nodes");
	zsfs_pagemap_fini(&pm);

	/* fini frees a populated table (ASan/LSan checks the leak). */
	for (i = 0; i < 1000; i++)
		put(&pm, i * 977, 1);
	zsfs_pagemap_fini(&pm);
	TAP_OK(pm.root == NULL && nodes(&pm) == 0, "fini frees a full table");
}

/* The 8-byte entry: every field comes back as it went in, at the edges
 * of its bits, and none spills into another. */
static void test_entry(void)
{
	const zs_handle hmax = (UINT64_C(1) << ZS_HANDLE_BITS) - 1;
	static const uint64_t words[] = { 0, 0x0101010101010101ull,
		0xabcdabcdabcdabcdull, 0xdeadbeefdeadbeefull,
		0xffffffffffffffffull };
	struct zsfs_pentry e;
	unsigned char *p = malloc(64);
	size_t i, ok = 0;

	e = zsfs_pentry_obj(ZSFS_PK_COMP, hmax, 63, true);
	TAP_OK(zsfs_pentry_kind(&e) == ZSFS_PK_COMP &&
	       zsfs_pentry_handle(&e) == hmax && zsfs_pentry_dict(&e) == 63 &&
	       zsfs_pentry_settled(&e) && !(e.w & ZSFS_PE_IDLE) &&
	       !(e.w & ZSFS_PE_FREE_BITS),
	       "COMP: the largest handle, dictionary 63, settled");
	e = zsfs_pentry_obj(ZSFS_PK_RAW, 1, 0, false);
	TAP_OK(zsfs_pentry_kind(&e) == ZSFS_PK_RAW &&
	       zsfs_pentry_handle(&e) == 1 && !zsfs_pentry_dict(&e) &&
	       !zsfs_pentry_settled(&e), "RAW: handle 1, nothing else");
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ok += zsfs_pentry_same(words[i], &e) &&
		      zsfs_pentry_kind(&e) == ZSFS_PK_SAME &&
		      !zsfs_pentry_handle(&e) &&
		      zsfs_pentry_same_word(&e) == words[i];
	TAP_OK(ok == i, "SAME: words with equal halves are inline");
	TAP_OK(!zsfs_pentry_same(0x0123456789abcdefull, &e),
	       "SAME: other words are not");
	e = zsfs_pentry_same_obj(hmax);
	TAP_OK(zsfs_pentry_kind(&e) == ZSFS_PK_SAME &&
	       zsfs_pentry_handle(&e) == hmax && !zsfs_pentry_dict(&e),
	       "SAME out of line: its handle");
	e = zsfs_pentry_dirty_make(p);
	TAP_OK(zsfs_pentry_kind(&e) == ZSFS_PK_DIRTY &&
	       zsfs_pentry_dirty(&e) == p && !zsfs_pentry_handle(&e),
	       "DIRTY: the pointer");
	free(p);
}

int main(void)
{
	test_entry();
	test_sparse();
	test_shape();
	test_random();
	return tap_done();
}
