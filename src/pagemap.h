/*
 * pagemap.h - the per-file sparse table from page index to page entry.
 *
 * Pages 0 .. ZSFS_PAGEMAP_DIRECT-1 live in direct slots inside the table
 * struct itself (like an ext2 inode's direct blocks), so a small file -
 * most files of a source tree - costs no heap beyond its owner.  Pages from
 * ZSFS_PAGEMAP_DIRECT on go in a radix tree of up-to-64-way nodes, keyed by
 * idx - ZSFS_PAGEMAP_DIRECT.  Its height grows with the highest key stored
 * (height h covers keys below 64^h), so a file with a few pages far apart
 * costs a few nodes on one path per page, however large it is; lookup is
 * O(height).  Every node is sized to its highest used slot, rounded up to
 * a power of two (1..64 slots: a 5-page file's tree is one 1-entry leaf),
 * and a node whose slots all became empty is freed at once, so the tree
 * never holds empty or oversized nodes (zsfs_pagemap_check verifies it).
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
/* Eight levels: page indices below 2^48, i.e. files up to 2^60 bytes
 * (the tree's keys are a few less, so it never needs a ninth). */
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

/*
 * Direct slots: 4 covers 78% of the files of /usr/include + /usr/lib/gcc
 * (46% are one page), for 64 bytes in every file; 8 would cover 90% but
 * cost every file 64 bytes more than the 1-4 slot leaf the 5-8 page files
 * then need.
 */
#define ZSFS_PAGEMAP_DIRECT 4u

/*
 * 16 bytes: the value and the length + kind packed in the second word.
 * Not smaller: a same-filled page keeps a whole 8-byte word, and a kind
 * must sit beside it; only 5 kinds and a 12-bit length are used, but the
 * next smaller aligned size is 8.
 */
struct zsfs_pentry {
	uint64_t val;
	uint32_t len;  /* bytes (ZSFS_PLEN_BYTES), dictionary id, settled */
	uint32_t kind; /* enum zsfs_pkind */
};

/*
 * The length word of a COMP or RAW entry: the object's bytes in the low
 * 16 bits; the id of the dictionary its object needs (0 = none; only
 * COMP) in bits 16..23; ZSFS_PLEN_SETTLED once the background
 * recompression has been at it (pagestore's recompress.c).
 */
#define ZSFS_PLEN_BYTES 0xffffu
#define ZSFS_PLEN_DICT_SHIFT 16
#define ZSFS_PLEN_DICT_MASK 0xffu
#define ZSFS_PLEN_SETTLED (1u << 24)

static inline uint32_t zsfs_pentry_bytes(const struct zsfs_pentry *e)
{
	return e->len & ZSFS_PLEN_BYTES;
}

static inline unsigned zsfs_pentry_dict(const struct zsfs_pentry *e)
{
	return (e->len >> ZSFS_PLEN_DICT_SHIFT) & ZSFS_PLEN_DICT_MASK;
}

struct zsfs_pagemap {
	struct zsfs_pentry direct[ZSFS_PAGEMAP_DIRECT]; /* pages 0..DIRECT-1 */
	void *root;        /* tree of height @height (tagged), NULL when empty */
	unsigned height;   /* 0 when empty */
	size_t nodes;      /* tree nodes: interior nodes + leaves */
	size_t entries;    /* non-empty entries, direct ones included */
	size_t bytes;      /* heap the nodes take (see zsfs_pagemap_bytes) */
};

void zsfs_pagemap_init(struct zsfs_pagemap *pm);
/* Free every node.  Entries are dropped without a look: release what they
 * refer to first (zsfs_pagemap_next lets you walk them). */
void zsfs_pagemap_fini(struct zsfs_pagemap *pm);

/* The entry at @idx, or NULL for a hole.  Entry pointers (from lookup,
 * next and slot) stay valid until the next slot/clear/fini call: growing
 * or shrinking a node moves its entries. */
const struct zsfs_pentry *zsfs_pagemap_lookup(const struct zsfs_pagemap *pm,
					      uint64_t idx);

/*
 * zsfs_pagemap_slot() - the slot for @idx, creating the nodes on the way.
 * The caller may fill an empty slot (then call zsfs_pagemap_filled) or
 * change a non-empty one; to empty it, call zsfs_pagemap_clear.  The
 * pointer stays valid until the next slot/clear/fini call, and the call
 * may move entries that earlier lookups pointed to.
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

/* Heap bytes of the tree's nodes, as malloc really holds them: each
 * node's malloc_usable_size() plus the allocator's per-chunk header.  The
 * direct slots are part of the owner's struct, not counted here.  O(1). */
size_t zsfs_pagemap_bytes(const struct zsfs_pagemap *pm);

/*
 * zsfs_malloc_size() - what the block @p (malloc'ed with @requested bytes)
 * really takes from the heap: with glibc its malloc_usable_size() plus
 * the chunk's size word, elsewhere @requested.  0 for NULL.  For honest
 * meta_bytes; the same pointer always gives the same answer.
 */
size_t zsfs_malloc_size(const void *p, size_t requested);

/* Walk the tree: no empty or oversized node, counts and bytes match.
 * 0 or -EUCLEAN + @msg. */
int zsfs_pagemap_check(const struct zsfs_pagemap *pm, char *msg,
		       size_t msg_cap);

#endif
