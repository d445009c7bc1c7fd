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
 * a size class (1, 3, 7, 15, 23 .. 55, 64 slots, pagemap.c says why: a
 * 4-page file's tree is one 1-entry leaf), and a node whose slots all
 * became empty is freed at once, so the tree never holds empty or
 * oversized nodes (zsfs_pagemap_check verifies it).
 *
 * The table only moves entries; what an entry's handle or pointer means
 * (pool object, dirty page) is the page store's business.  The entry's
 * encoding is here, below, because its size is the table's cost: 8 bytes
 * a page (bench/filemeta: 8.5 bytes of tree a page for files of 64..256
 * pages with the malloc chunk headers and interior nodes, 6.0 a page on
 * /usr/include and 7.9 on /usr/lib/gcc beyond the direct slots).
 *
 * Locking: none; the owner (the file, through its inode lock) serialises
 * writers.  The const functions never modify the table.
 */
#ifndef ZSFS_PAGEMAP_H
#define ZSFS_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zsmalloc.h"

#define ZSFS_PAGEMAP_SHIFT 6u
#define ZSFS_PAGEMAP_FANOUT (1u << ZSFS_PAGEMAP_SHIFT)
/* Eight levels: page indices below 2^48, i.e. files up to 2^60 bytes
 * (the tree's keys are a few less, so it never needs a ninth). */
#define ZSFS_PAGEMAP_MAX_HEIGHT 8u
#define ZSFS_PAGEMAP_MAX_INDEX \
	((UINT64_C(1) << (ZSFS_PAGEMAP_SHIFT * ZSFS_PAGEMAP_MAX_HEIGHT)) - 1)

enum zsfs_pkind {
	ZSFS_PK_EMPTY = 0, /* hole: the whole word is 0 */
	ZSFS_PK_SAME,      /* a same-filled page: its word inline or a handle */
	ZSFS_PK_COMP,      /* a handle of compressed bytes, dictionary id */
	ZSFS_PK_RAW,       /* a handle of 4096 raw bytes */
	ZSFS_PK_DIRTY,     /* a pointer to the page store's dirty page */
	ZSFS_PK_BACKED,    /* an object in the backing file (backing.h) */
};

/*
 * Direct slots: 3.  With 8-byte entries the file struct (store_internal.h)
 * is 72 bytes with 3 slots, an 80-byte malloc chunk; a 4th slot makes it
 * 80 bytes, a 96-byte chunk.  Files of 4 pages, the ones a 4th slot would
 * spare a 1-slot leaf (a 32-byte chunk), are 3.8% of /usr/lib/gcc's files
 * and 5.6% of /usr/include's (46% are one page): 16 bytes for every file
 * against 32 for one in 20.
 */
#define ZSFS_PAGEMAP_DIRECT 3u

/*
 * An entry is one 64-bit word, so a leaf costs 8 bytes a page (it was 16:
 * the value, then the length and kind in a second word).  The word:
 *
 *	bits  0..2   kind (enum zsfs_pkind; 6..7 unused)
 *
 * DIRTY: the rest is the pointer to the dirty page: it is malloc'ed, so
 * aligned to 8 or more, and its low 3 bits (0) carry the kind.  No other
 * bit: a dirty page is never idle.
 *
 * SAME, COMP, RAW:
 *	bit   3      IDLE: zram's ZRAM_IDLE: set by "idle all"
 *	             (writeback.c), cleared by a read of the page (in
 *	             place, under the shared lock: see entry_touch) and by
 *	             any write (a write makes a new entry)
 *	bits  4..7   AGE: free, kept for a coarse access age (0..15); 0
 *	             today.  Both survive entry_settle, not a rewrite.
 *	bit   8      SETTLED (COMP, RAW): the background recompression has
 *	             been at it (recompress.c)
 *	bit   9      OBJ (SAME): the word is out of line, in an 8-byte pool
 *	             object named by the handle
 *	bits 10..15  dictionary id (COMP; 0 = none): ids 1..63 fit, the
 *	             store uses 1..STORE_DICT_MAX-1 (31)
 *	bits 16..20  free (5 bits)
 *	bits 21..63  zs_handle (COMP, RAW, SAME with OBJ): the pool promises
 *	             handles below 2^ZS_HANDLE_BITS (43, alloc/zsmalloc.h)
 *	SAME without OBJ: bits 32..63 the repeated 32-bit word (16..31 free)
 *
 * BACKED (writeback.c): the page's object is in the backing file.
 *	bits  0..15  as COMP's, bit 9 meaning RAW (the object is the page
 *	             itself) instead of OBJ; always SETTLED; the dictionary
 *	             id is kept (the entry holds its reference, as COMP's)
 *	bits 16..63  the backing location (backing.h, ZSFS_BACKING_LOC_BITS:
 *	             first slot and length)
 *
 * No length: a handle carries the size its object was allocated with
 * (zs_obj_size() is O(1) and reads only the handle), and a COMP object is
 * exactly the compressed bytes (zsfs_file_check verifies it).
 *
 * Same-filled pages: the 8-byte word does not fit beside the rest, so the
 * common case is inline: a word whose two halves are equal (a repeated
 * byte, 16-bit or 32-bit pattern, zero above all).  Measured on /usr/lib
 * and /usr/share (1.45 M pages): 3965 same-filled pages, 3149 zero, 425 a
 * repeated byte, 174 a 16-bit and 187 a 32-bit pattern, 29 (0.7%) only a
 * 64-bit one; /usr/lib/gcc: 58 of 61270 pages, 6 of them 64-bit only.
 * Those few get an 8-byte pool object (a 32-byte slot), referenced like
 * a COMP or RAW object (shared by copies, freed by the last).
 */
struct zsfs_pentry {
	uint64_t w;
};

#define ZSFS_PE_KIND_MASK UINT64_C(0x7)
#define ZSFS_PE_IDLE (UINT64_C(1) << 3)
#define ZSFS_PE_AGE_SHIFT 4                  /* reserved: issue 16 */
#define ZSFS_PE_AGE_MASK UINT64_C(0xf)
#define ZSFS_PE_SETTLED (UINT64_C(1) << 8)
#define ZSFS_PE_OBJ (UINT64_C(1) << 9)
#define ZSFS_PE_BRAW ZSFS_PE_OBJ           /* BACKED: the object is raw */
#define ZSFS_PE_LOC_SHIFT 16
#define ZSFS_PE_DICT_SHIFT 10
#define ZSFS_PE_DICT_MASK UINT64_C(0x3f)
#define ZSFS_PE_FREE_BITS (UINT64_C(0x1f) << 16) /* bits 16..20 */
#define ZSFS_PE_HANDLE_SHIFT 21
#define ZSFS_PE_SAME_SHIFT 32

_Static_assert(ZSFS_PE_HANDLE_SHIFT + ZS_HANDLE_BITS <= 64,
	       "a pool handle fits its bits of an entry");

static inline enum zsfs_pkind zsfs_pentry_kind(const struct zsfs_pentry *e)
{
	return (enum zsfs_pkind)(e->w & ZSFS_PE_KIND_MASK);
}

/* The pool object of a COMP, RAW or out-of-line SAME entry, else 0. */
static inline zs_handle zsfs_pentry_handle(const struct zsfs_pentry *e)
{
	switch (zsfs_pentry_kind(e)) {
	case ZSFS_PK_COMP:
	case ZSFS_PK_RAW:
		return e->w >> ZSFS_PE_HANDLE_SHIFT;
	case ZSFS_PK_SAME:
		return e->w & ZSFS_PE_OBJ ? e->w >> ZSFS_PE_HANDLE_SHIFT : 0;
	default:
		return 0;
	}
}

static inline unsigned zsfs_pentry_dict(const struct zsfs_pentry *e)
{
	return zsfs_pentry_kind(e) == ZSFS_PK_COMP ||
	       zsfs_pentry_kind(e) == ZSFS_PK_BACKED ?
		(unsigned)((e->w >> ZSFS_PE_DICT_SHIFT) & ZSFS_PE_DICT_MASK) : 0;
}

static inline bool zsfs_pentry_settled(const struct zsfs_pentry *e)
{
	return (e->w & ZSFS_PE_SETTLED) != 0;
}

/* The dirty page of a DIRTY entry. */
static inline void *zsfs_pentry_dirty(const struct zsfs_pentry *e)
{
	return (void *)(uintptr_t)(e->w & ~ZSFS_PE_KIND_MASK);
}

/* A COMP (@dict: its dictionary, 0 = none) or RAW entry for @h. */
static inline struct zsfs_pentry zsfs_pentry_obj(enum zsfs_pkind kind,
						 zs_handle h, unsigned dict,
						 bool settled)
{
	struct zsfs_pentry e = {
		(uint64_t)kind | (uint64_t)h << ZSFS_PE_HANDLE_SHIFT |
		((uint64_t)dict & ZSFS_PE_DICT_MASK) << ZSFS_PE_DICT_SHIFT |
		(settled ? ZSFS_PE_SETTLED : 0)
	};

	return e;
}

/* The backing location of a BACKED entry. */
static inline uint64_t zsfs_pentry_loc(const struct zsfs_pentry *e)
{
	return e->w >> ZSFS_PE_LOC_SHIFT;
}

/* The BACKED entry for the COMP or RAW entry @e whose object went to
 * @loc: its low bits (idle, age, dictionary) kept, settled. */
static inline struct zsfs_pentry zsfs_pentry_backed(const struct zsfs_pentry *e,
						    uint64_t loc)
{
	struct zsfs_pentry b = {
		ZSFS_PK_BACKED | (e->w & (ZSFS_PE_IDLE |
			ZSFS_PE_AGE_MASK << ZSFS_PE_AGE_SHIFT |
			ZSFS_PE_DICT_MASK << ZSFS_PE_DICT_SHIFT)) |
		ZSFS_PE_SETTLED |
		(zsfs_pentry_kind(e) == ZSFS_PK_RAW ? ZSFS_PE_BRAW : 0) |
		loc << ZSFS_PE_LOC_SHIFT
	};

	return b;
}

/* A same-filled page of the word @word: true and *@e when it fits inline
 * (its two halves are equal), false when it needs an object. */
static inline bool zsfs_pentry_same(uint64_t word, struct zsfs_pentry *e)
{
	if ((uint32_t)word != (uint32_t)(word >> 32))
		return false;
	e->w = ZSFS_PK_SAME | (word >> 32) << ZSFS_PE_SAME_SHIFT;
	return true;
}

/* A same-filled page whose word is in the 8-byte object @h. */
static inline struct zsfs_pentry zsfs_pentry_same_obj(zs_handle h)
{
	struct zsfs_pentry e = {
		ZSFS_PK_SAME | ZSFS_PE_OBJ | (uint64_t)h << ZSFS_PE_HANDLE_SHIFT
	};

	return e;
}

/* The word of an inline SAME entry. */
static inline uint64_t zsfs_pentry_same_word(const struct zsfs_pentry *e)
{
	uint64_t half = e->w >> ZSFS_PE_SAME_SHIFT;

	return half << 32 | half;
}

/* A DIRTY entry for the 8-aligned @p. */
static inline struct zsfs_pentry zsfs_pentry_dirty_make(void *p)
{
	struct zsfs_pentry e = { (uint64_t)(uintptr_t)p | ZSFS_PK_DIRTY };

	return e;
}

/*
 * 40 bytes.  No count of nodes or entries: zsfs_pagemap_count walks for
 * them (the page store keeps its own counts of entries by kind).  The
 * heap bytes are kept, since meta_bytes is asked after every write; they
 * share a word with the height (0..8): bytes << 8 | height.
 */
struct zsfs_pagemap {
	struct zsfs_pentry direct[ZSFS_PAGEMAP_DIRECT]; /* pages 0..DIRECT-1 */
	void *root;        /* tree of the height below (tagged), NULL when empty */
	uint64_t bytes_height; /* heap the nodes take << 8 | height (0: empty) */
};

static inline unsigned zsfs_pagemap_height(const struct zsfs_pagemap *pm)
{
	return (unsigned)(pm->bytes_height & 0xff);
}

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
 * The caller may fill an empty slot or change a non-empty one; to empty
 * it, call zsfs_pagemap_clear (an empty slot left in a new node by a
 * caller that did not fill it must be cleared too).  The
 * pointer stays valid until the next slot/clear/fini call, and the call
 * may move entries that earlier lookups pointed to.
 * Return: 0 and *@slotp; -EFBIG for @idx above ZSFS_PAGEMAP_MAX_INDEX;
 * -ENOMEM (the table is unchanged).
 */
int zsfs_pagemap_slot(struct zsfs_pagemap *pm, uint64_t idx,
		      struct zsfs_pentry **slotp);
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

/* Walk the table: its tree nodes and non-empty entries.  O(entries). */
void zsfs_pagemap_count(const struct zsfs_pagemap *pm, size_t *nodesp,
			size_t *entriesp);

/* Walk the tree: no empty or oversized node, no bad kind, bytes match.
 * 0 or -EUCLEAN + @msg. */
int zsfs_pagemap_check(const struct zsfs_pagemap *pm, char *msg,
		       size_t msg_cap);

#endif
