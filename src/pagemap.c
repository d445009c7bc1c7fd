/*
 * pagemap.c - the per-file sparse page table: a radix tree of 64-way nodes.
 *
 * Levels count from the leaves: a leaf (level 1) holds 64 entries of 16
 * bytes (1 KiB), an interior node 64 child pointers (512 bytes).  Index
 * bits 6*(level-1) .. 6*level-1 choose the slot at a level.  The tree grows
 * upwards when an index above 64^height - 1 is stored and shrinks when the
 * root keeps only its first child; nodes that become empty are freed on
 * the way back up from zsfs_pagemap_clear(), so memory follows the
 * entries.  See pagemap.h for the contract.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.h"

struct pm_leaf {
	struct zsfs_pentry e[ZSFS_PAGEMAP_FANOUT];
};

struct pm_inner {
	void *child[ZSFS_PAGEMAP_FANOUT];
};

static unsigned level_shift(unsigned level)
{
	return ZSFS_PAGEMAP_SHIFT * (level - 1);
}

static unsigned slot_of(uint64_t idx, unsigned level)
{
	return (unsigned)(idx >> level_shift(level)) &
	       (ZSFS_PAGEMAP_FANOUT - 1);
}

/* Indices a node of @level covers: 64^level (level <= MAX_HEIGHT). */
static uint64_t level_span(unsigned level)
{
	return UINT64_C(1) << (ZSFS_PAGEMAP_SHIFT * level);
}

static unsigned height_for(uint64_t idx)
{
	unsigned h = 1;

	while (h < ZSFS_PAGEMAP_MAX_HEIGHT && idx >= level_span(h))
		h++;
	return h;
}

static bool node_empty(const void *node, unsigned level)
{
	unsigned i;

	if (level == 1) {
		const struct pm_leaf *l = node;

		for (i = 0; i < ZSFS_PAGEMAP_FANOUT; i++)
			if (l->e[i].kind != ZSFS_PK_EMPTY)
				return false;
	} else {
		const struct pm_inner *n = node;

		for (i = 0; i < ZSFS_PAGEMAP_FANOUT; i++)
			if (n->child[i])
				return false;
	}
	return true;
}

void zsfs_pagemap_init(struct zsfs_pagemap *pm)
{
	memset(pm, 0, sizeof(*pm));
}

static void free_rec(void *node, unsigned level)
{
	unsigned i;

	if (!node)
		return;
	if (level > 1) {
		struct pm_inner *n = node;

		for (i = 0; i < ZSFS_PAGEMAP_FANOUT; i++)
			free_rec(n->child[i], level - 1);
	}
	free(node);
}

void zsfs_pagemap_fini(struct zsfs_pagemap *pm)
{
	free_rec(pm->root, pm->height);
	zsfs_pagemap_init(pm);
}

const struct zsfs_pentry *zsfs_pagemap_lookup(const struct zsfs_pagemap *pm,
					      uint64_t idx)
{
	const void *node = pm->root;
	unsigned level;

	if (!node || idx >= level_span(pm->height))
		return NULL;
	for (level = pm->height; level > 1; level--) {
		node = ((const struct pm_inner *)node)->child[slot_of(idx, level)];
		if (!node)
			return NULL;
	}
	node = &((const struct pm_leaf *)node)->e[slot_of(idx, 1)];
	if (((const struct zsfs_pentry *)node)->kind == ZSFS_PK_EMPTY)
		return NULL;
	return node;
}

/* Free the empty nodes on @idx's path, bottom up, then drop root levels
 * that only hold their first child. */
static void prune(struct zsfs_pagemap *pm, uint64_t idx)
{
	void **parents[ZSFS_PAGEMAP_MAX_HEIGHT + 1];
	void **link = &pm->root;
	unsigned level, depth = 0;

	if (!pm->root)
		goto shrink;
	if (idx < level_span(pm->height)) {
		for (level = pm->height; level >= 1 && *link; level--) {
			parents[depth++] = link;
			if (level > 1)
				link = &((struct pm_inner *)*link)->child[slot_of(idx, level)];
		}
		/* parents[k] links the node of level height - k. */
		while (depth > 0) {
			unsigned lv = pm->height - (depth - 1);

			link = parents[depth - 1];
			if (!node_empty(*link, lv))
				break;
			free(*link);
			*link = NULL;
			pm->nodes--;
			depth--;
		}
	}
shrink:
	if (!pm->root) {
		pm->height = 0;
		return;
	}
	while (pm->height > 1) {
		struct pm_inner *r = pm->root;
		unsigned i;

		for (i = 1; i < ZSFS_PAGEMAP_FANOUT; i++)
			if (r->child[i])
				return;
		pm->root = r->child[0];
		free(r);
		pm->nodes--;
		pm->height--;
	}
}

int zsfs_pagemap_slot(struct zsfs_pagemap *pm, uint64_t idx,
		      struct zsfs_pentry **slotp)
{
	unsigned need, level;
	void **link;

	if (idx > ZSFS_PAGEMAP_MAX_INDEX)
		return -EFBIG;
	need = height_for(idx);
	if (!pm->root) {
		pm->height = need;
	} else {
		while (pm->height < need) {
			struct pm_inner *n = calloc(1, sizeof(*n));

			if (!n)
				return -ENOMEM; /* taller is still valid */
			n->child[0] = pm->root;
			pm->root = n;
			pm->nodes++;
			pm->height++;
		}
	}
	link = &pm->root;
	for (level = pm->height; level >= 1; level--) {
		if (!*link) {
			*link = calloc(1, level == 1 ? sizeof(struct pm_leaf) :
						       sizeof(struct pm_inner));
			if (!*link) {
				prune(pm, idx);
				return -ENOMEM;
			}
			pm->nodes++;
		}
		if (level == 1)
			break;
		link = &((struct pm_inner *)*link)->child[slot_of(idx, level)];
	}
	*slotp = &((struct pm_leaf *)*link)->e[slot_of(idx, 1)];
	return 0;
}

void zsfs_pagemap_filled(struct zsfs_pagemap *pm)
{
	pm->entries++;
}

void zsfs_pagemap_clear(struct zsfs_pagemap *pm, uint64_t idx)
{
	struct zsfs_pentry *e = (struct zsfs_pentry *)zsfs_pagemap_lookup(pm, idx);

	if (e) {
		memset(e, 0, sizeof(*e));
		pm->entries--;
	}
	prune(pm, idx);
}

static int next_rec(const void *node, unsigned level, uint64_t base,
		    uint64_t from, uint64_t *idxp,
		    const struct zsfs_pentry **ep)
{
	unsigned shift = level_shift(level), i;

	i = from > base ? (unsigned)((from - base) >> shift) : 0;
	for (; i < ZSFS_PAGEMAP_FANOUT; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			const struct zsfs_pentry *e =
				&((const struct pm_leaf *)node)->e[i];

			if (e->kind != ZSFS_PK_EMPTY) {
				*idxp = cb;
				*ep = e;
				return 0;
			}
		} else {
			const void *c = ((const struct pm_inner *)node)->child[i];

			if (c && !next_rec(c, level - 1, cb, from > cb ? from : cb,
					   idxp, ep))
				return 0;
		}
	}
	return -ENOENT;
}

int zsfs_pagemap_next(const struct zsfs_pagemap *pm, uint64_t from,
		      uint64_t *idxp, const struct zsfs_pentry **ep)
{
	if (!pm->root || from >= level_span(pm->height))
		return -ENOENT;
	return next_rec(pm->root, pm->height, 0, from, idxp, ep);
}

static int hole_rec(const void *node, unsigned level, uint64_t base,
		    uint64_t from, uint64_t *idxp)
{
	unsigned shift = level_shift(level), i;

	i = from > base ? (unsigned)((from - base) >> shift) : 0;
	for (; i < ZSFS_PAGEMAP_FANOUT; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);
		uint64_t f = from > cb ? from : cb;

		if (level == 1) {
			if (((const struct pm_leaf *)node)->e[i].kind ==
			    ZSFS_PK_EMPTY) {
				*idxp = cb;
				return 0;
			}
		} else {
			const void *c = ((const struct pm_inner *)node)->child[i];

			if (!c) {
				*idxp = f;
				return 0;
			}
			if (!hole_rec(c, level - 1, cb, f, idxp))
				return 0;
		}
	}
	return -ENOENT;
}

uint64_t zsfs_pagemap_next_hole(const struct zsfs_pagemap *pm, uint64_t from)
{
	uint64_t idx;

	if (!pm->root || from >= level_span(pm->height))
		return from;
	if (hole_rec(pm->root, pm->height, 0, from, &idx))
		return level_span(pm->height);
	return idx;
}

static int last_rec(const void *node, unsigned level, uint64_t base,
		    uint64_t *idxp)
{
	unsigned shift = level_shift(level), i;

	for (i = ZSFS_PAGEMAP_FANOUT; i-- > 0;) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			if (((const struct pm_leaf *)node)->e[i].kind !=
			    ZSFS_PK_EMPTY) {
				*idxp = cb;
				return 0;
			}
		} else {
			const void *c = ((const struct pm_inner *)node)->child[i];

			if (c && !last_rec(c, level - 1, cb, idxp))
				return 0;
		}
	}
	return -ENOENT;
}

int zsfs_pagemap_last(const struct zsfs_pagemap *pm, uint64_t *idxp)
{
	if (!pm->root)
		return -ENOENT;
	return last_rec(pm->root, pm->height, 0, idxp);
}

size_t zsfs_pagemap_bytes(const struct zsfs_pagemap *pm)
{
	/* Leaves (1 KiB) are at least 63/64 of the nodes in a dense table
	 * and one per leaf in a sparse one; count every node as a leaf, the
	 * larger kind, rather than walking the tree. */
	return pm->nodes * sizeof(struct pm_leaf);
}

struct pm_walk {
	size_t nodes, entries;
	char *msg;
	size_t msg_cap;
};

static int check_rec(const void *node, unsigned level, uint64_t base,
		     struct pm_walk *w)
{
	unsigned shift = level_shift(level), i;

	w->nodes++;
	if (node_empty(node, level)) {
		snprintf(w->msg, w->msg_cap,
			 "pagemap: empty node at level %u covering index %llu",
			 level, (unsigned long long)base);
		return -EUCLEAN;
	}
	for (i = 0; i < ZSFS_PAGEMAP_FANOUT; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			uint32_t k = ((const struct pm_leaf *)node)->e[i].kind;

			if (k > ZSFS_PK_DIRTY) {
				snprintf(w->msg, w->msg_cap,
					 "pagemap: bad kind %u at index %llu",
					 k, (unsigned long long)cb);
				return -EUCLEAN;
			}
			if (k != ZSFS_PK_EMPTY)
				w->entries++;
		} else {
			const void *c = ((const struct pm_inner *)node)->child[i];
			int rc;

			if (c && (rc = check_rec(c, level - 1, cb, w)))
				return rc;
		}
	}
	return 0;
}

int zsfs_pagemap_check(const struct zsfs_pagemap *pm, char *msg,
		       size_t msg_cap)
{
	struct pm_walk w = { 0, 0, msg, msg_cap };
	int rc;

	if (!pm->root) {
		if (pm->height || pm->nodes || pm->entries) {
			snprintf(msg, msg_cap,
				 "pagemap: empty with height %u nodes %zu entries %zu",
				 pm->height, pm->nodes, pm->entries);
			return -EUCLEAN;
		}
		return 0;
	}
	if (pm->height < 1 || pm->height > ZSFS_PAGEMAP_MAX_HEIGHT) {
		snprintf(msg, msg_cap, "pagemap: bad height %u", pm->height);
		return -EUCLEAN;
	}
	rc = check_rec(pm->root, pm->height, 0, &w);
	if (rc)
		return rc;
	if (w.nodes != pm->nodes || w.entries != pm->entries) {
		snprintf(msg, msg_cap,
			 "pagemap: counted %zu nodes %zu entries, recorded %zu %zu",
			 w.nodes, w.entries, pm->nodes, pm->entries);
		return -EUCLEAN;
	}
	return 0;
}
