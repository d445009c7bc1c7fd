/*
 * pagemap.h - the per-file sparse table from page index to page entry.
 *
 * A radix tree of 64-way nodes.  Its height grows with the highest index
 * stored (height h covers indices below 64^h), so a file with a few pages
 * far apart costs a few 512-byte interior nodes and 1 KiB leaves, however
 * large it is.  Lookup is O(height); a node whose slots all became empty is
 * freed at once, so the tree never holds empty nodes (zsfs_pagemap_check
 * verifies it).
 *
 * The table only stores entries; what an entry's handle or pointer means
 * (pool object, dirty page) is the page store's business.
 *
 * Locking: none; the owner (the file, through its inode lock) serialises
 * writers.  The const functions never modify the table.
 */
#ifndef ZSFS_PAGEMAP_H
#define ZSFS_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#define ZSFS_PAGEMAP_SHIFT 6u
#define ZSFS_PAGEMAP_FANOUT (1u << ZSFS_PAGEMAP_SHIFT)
/* Eight levels: page indices below 2^48, i.e. files up to 2^60 bytes. */
#define ZSFS_PAGEMAP_MAX_HEIGHT 8u
#define ZSFS_PAGEMAP_MAX_INDEX \
	((UINT64_C(1) << (ZSFS_PAGEMAP_SHIFT * ZSFS_PAGEMAP_MAX_HEIGHT)) - 1)

enum zsfs_pkind {
	ZSFS_PK_EMPTY = 0, /* hole */
	ZSFS_PK_SAME,      /* val = the repeated 8-byte word */
	ZSFS_PK_COMP,      /* val = zs_handle, len = compressed bytes */
	ZSFS_PK_RAW,       /* val = zs_handle of 4096 raw bytes */
	ZSFS_PK_DIRTY,     /* val = pointer to the page store's dirty page */
};

/* 16 bytes: the value and the length + kind packed in the second word. */
struct zsfs_pentry {
	uint64_t val;
	uint32_t len;
	uint32_t kind; /* enum zsfs_pkind */
};

struct zsfs_pagemap {
	void *root;        /* node of height @height, NULL when empty */
	unsigned height;   /* 0 when empty */
	size_t nodes;      /* interior nodes + leaves */
	size_t entries;    /* non-empty entries */
};

void zsfs_pagemap_init(struct zsfs_pagemap *pm);
/* Free every node.  Entries are dropped without a look: release what they
 * refer to first (zsfs_pagemap_next lets you walk them). */
void zsfs_pagemap_fini(struct zsfs_pagemap *pm);

/* The entry at @idx, or NULL for a hole. */
const struct zsfs_pentry *zsfs_pagemap_lookup(const struct zsfs_pagemap *pm,
					      uint64_t idx);

/*
 * zsfs_pagemap_slot() - the slot for @idx, creating the nodes on the way.
 * The caller may fill an empty slot (then call zsfs_pagemap_filled) or
 * change a non-empty one; to empty it, call zsfs_pagemap_clear.  The
 * pointer stays valid until the next slot/clear/fini call.
 * Return: 0 and *@slotp; -EFBIG for @idx above ZSFS_PAGEMAP_MAX_INDEX;
 * -ENOMEM (the table is unchanged).
 */
int zsfs_pagemap_slot(struct zsfs_pagemap *pm, uint64_t idx,
		      struct zsfs_pentry **slotp);
/* Count a slot from zsfs_pagemap_slot that went from empty to filled. */
void zsfs_pagemap_filled(struct zsfs_pagemap *pm);
/* Empty the slot at @idx (no-op for a hole) and free emptied nodes. */
void zsfs_pagemap_clear(struct zsfs_pagemap *pm, uint64_t idx);

/*
 * zsfs_pagemap_next() - the first non-empty entry at an index >= @from.
 * Return: 0 with *@idxp and *@ep; -ENOENT when there is none.
 */
int zsfs_pagemap_next(const struct zsfs_pagemap *pm, uint64_t from,
		      uint64_t *idxp, const struct zsfs_pentry **ep);
/* The first index >= @from without an entry (a hole). */
uint64_t zsfs_pagemap_next_hole(const struct zsfs_pagemap *pm,
				uint64_t from);
/* The highest index with an entry.  Return 0 or -ENOENT when empty. */
int zsfs_pagemap_last(const struct zsfs_pagemap *pm, uint64_t *idxp);

/* Heap bytes of the table's nodes. */
size_t zsfs_pagemap_bytes(const struct zsfs_pagemap *pm);

/* Walk the tree: no empty node, counts match.  0 or -EUCLEAN + @msg. */
int zsfs_pagemap_check(const struct zsfs_pagemap *pm, char *msg,
		       size_t msg_cap);

#endif
