/*
 * pagemap.c - the per-file sparse page table: direct slots for the first
 * pages, then a radix tree of variable-sized 64-way nodes.
 *
 * Keys.  Page idx < ZSFS_PAGEMAP_DIRECT lives in direct[idx]; page idx
 * above goes in the tree under key idx - ZSFS_PAGEMAP_DIRECT, so the tree's
 * first leaf starts right after the direct slots and wastes none of its
 * slots on them.
 *
 * Tree.  Levels count from the leaves: a leaf (level 1) holds entries of
 * 8 bytes, an interior node child pointers (8 bytes too).  Key bits
 * 6*(level-1) .. 6*level-1 choose the slot at a level.  A node has the
 * slots of the smallest size class above its highest used slot: 1, 3, 7,
 * 15, 23, 31, 39, 47, 55 or 64.  Odd counts because glibc's chunk for 8*k
 * bytes is 8*k + 8 for odd k and 8*k + 16 for even k (a 4-slot node took
 * a 48-byte chunk, a 3-slot one takes 32), and steps of 8 slots above 15
 * because powers of two left a file's last leaf a quarter empty on
 * average: files of 5..40 pages cost 10.6 bytes of tree a page with
 * powers of two, 8.4 with these (modelled; bench/filemeta measures).
 * The size class (0..9) rides in the low 4 bits of the pointer to the
 * node (the parent's child slot, or pm->root): malloc aligns to 16.  A
 * file of 4 pages has a tree of one 1-slot leaf (8 bytes, a 32-byte
 * chunk); a full leaf is 64 slots (512 bytes, a 528-byte chunk) and maps
 * 256 KiB of file: 8.25 bytes a page, 8.38 with its slot in a full
 * parent, the floor for a large file.
 *
 * Storing a key above 64^height - 1 grows the tree upwards; storing a slot
 * past a node's size grows that node (realloc).  zsfs_pagemap_clear()
 * walks back up the key's path: emptied nodes are freed, the others shrink
 * to fit, and a root that keeps only its first child is dropped, so memory
 * follows the entries and the shape is canonical.  See pagemap.h for the
 * contract.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pagemap.h"

/* Size classes 0..9: their slots (see above), kept in the low bits of
 * node pointers. */
static const unsigned char cls_slots[] = { 1, 3, 7, 15, 23, 31, 39, 47, 55,
					   ZSFS_PAGEMAP_FANOUT };
#define CLS_MASK ((uintptr_t)15)
#define CLS_MAX (sizeof(cls_slots) - 1)

_Static_assert(alignof(max_align_t) >= 16, "4 tag bits in node pointers");
_Static_assert(sizeof(cls_slots) <= CLS_MASK + 1, "size class fits the tag");
_Static_assert(ZSFS_PAGEMAP_FANOUT == 64, "the classes end at 64 slots");
_Static_assert(ZSFS_PAGEMAP_DIRECT <= ZSFS_PAGEMAP_MAX_INDEX, "direct slots");
_Static_assert(sizeof(struct zsfs_pentry) == sizeof(uint64_t) &&
	       sizeof(void *) <= sizeof(uint64_t), "8-byte slots");
_Static_assert(ZSFS_PAGEMAP_MAX_HEIGHT <= 0xff, "height fits its byte");

static void set_height(struct zsfs_pagemap *pm, unsigned h)
{
	pm->bytes_height = (pm->bytes_height & ~(uint64_t)0xff) | h;
}

static size_t pm_bytes(const struct zsfs_pagemap *pm)
{
	return (size_t)(pm->bytes_height >> 8);
}

/* Heap bytes are far below 2^56: the shift loses nothing. */
static void pm_bytes_add(struct zsfs_pagemap *pm, size_t add, size_t sub)
{
	pm->bytes_height = ((uint64_t)(pm_bytes(pm) + add - sub) << 8) |
			   zsfs_pagemap_height(pm);
}

size_t zsfs_malloc_size(const void *p, size_t requested)
{
	if (!p)
		return 0;
#ifdef __GLIBC__
	/* glibc: the usable bytes plus the chunk's size word. */
	(void)requested;
	return malloc_usable_size((void *)p) + sizeof(size_t);
#else
	return requested;
#endif
}

static void *ref_node(const void *ref)
{
	return (void *)((uintptr_t)ref & ~CLS_MASK);
}

static unsigned ref_cls(const void *ref)
{
	return (unsigned)((uintptr_t)ref & CLS_MASK);
}

static unsigned ref_cap(const void *ref)
{
	return cls_slots[ref_cls(ref)];
}

static struct zsfs_pentry *ref_leaf(const void *ref)
{
	return ref_node(ref);
}

static void **ref_inner(const void *ref)
{
	return ref_node(ref);
}

/* The smallest class whose node holds @slot. */
static unsigned cls_for(unsigned slot)
{
	unsigned c = 0;

	while (cls_slots[c] <= slot)
		c++;
	return c;
}

static size_t node_size(unsigned level, unsigned cls)
{
	(void)level; /* entries and child pointers: 8 bytes each */
	return sizeof(uint64_t) * cls_slots[cls];
}

static unsigned level_shift(unsigned level)
{
	return ZSFS_PAGEMAP_SHIFT * (level - 1);
}

static unsigned slot_of(uint64_t key, unsigned level)
{
	return (unsigned)(key >> level_shift(level)) &
	       (ZSFS_PAGEMAP_FANOUT - 1);
}

/* Keys a node of @level covers: 64^level (level <= MAX_HEIGHT). */
static uint64_t level_span(unsigned level)
{
	return UINT64_C(1) << (ZSFS_PAGEMAP_SHIFT * level);
}

static unsigned height_for(uint64_t key)
{
	unsigned h = 1;

	while (h < ZSFS_PAGEMAP_MAX_HEIGHT && key >= level_span(h))
		h++;
	return h;
}

/* The highest used slot of the node @ref at @level, -1 when empty. */
static int node_top(const void *ref, unsigned level)
{
	unsigned i = ref_cap(ref);

	if (level == 1) {
		const struct zsfs_pentry *e = ref_leaf(ref);

		while (i-- > 0)
			if (e[i].w)
				return (int)i;
	} else {
		void *const *c = ref_inner(ref);

		while (i-- > 0)
			if (c[i])
				return (int)i;
	}
	return -1;
}

/* A zeroed node of @level and class @cls into *@link. */
static int node_alloc(struct zsfs_pagemap *pm, unsigned level, unsigned cls,
		      void **link)
{
	size_t size = node_size(level, cls);
	void *n = calloc(1, size);

	if (!n)
		return -ENOMEM;
	pm_bytes_add(pm, zsfs_malloc_size(n, size), 0);
	*link = (void *)((uintptr_t)n | cls);
	return 0;
}

static void node_free(struct zsfs_pagemap *pm, unsigned level, void *ref)
{
	void *n = ref_node(ref);

	pm_bytes_add(pm, 0, zsfs_malloc_size(n, node_size(level, ref_cls(ref))));
	free(n);
}

/* Grow or shrink the node at *@link to class @cls.  On -ENOMEM it stays
 * as it was. */
static int node_resize(struct zsfs_pagemap *pm, void **link, unsigned level,
		       unsigned cls)
{
	unsigned old = ref_cls(*link);
	size_t osize = node_size(level, old), nsize = node_size(level, cls);
	void *n = ref_node(*link);
	size_t obytes = zsfs_malloc_size(n, osize);
	void *p;

	if (nsize < osize) {
		/* Not realloc: glibc keeps a chunk whose tail is too small
		 * to split off (a 4-slot leaf's 48 bytes for 1 slot, 32). */
		p = malloc(nsize);
		if (!p)
			return -ENOMEM;
		memcpy(p, n, nsize);
		free(n);
	} else {
		p = realloc(n, nsize);
		if (!p)
			return -ENOMEM;
		memset((char *)p + osize, 0, nsize - osize);
	}
	pm_bytes_add(pm, zsfs_malloc_size(p, nsize), obytes);
	*link = (void *)((uintptr_t)p | cls);
	return 0;
}

void zsfs_pagemap_init(struct zsfs_pagemap *pm)
{
	memset(pm, 0, sizeof(*pm));
}

static void free_rec(struct zsfs_pagemap *pm, void *ref, unsigned level)
{
	unsigned i;

	if (!ref)
		return;
	if (level > 1)
		for (i = 0; i < ref_cap(ref); i++)
			free_rec(pm, ref_inner(ref)[i], level - 1);
	node_free(pm, level, ref);
}

void zsfs_pagemap_fini(struct zsfs_pagemap *pm)
{
	free_rec(pm, pm->root, zsfs_pagemap_height(pm));
	zsfs_pagemap_init(pm);
}

const struct zsfs_pentry *zsfs_pagemap_lookup(const struct zsfs_pagemap *pm,
					      uint64_t idx)
{
	const struct zsfs_pentry *e;
	const void *ref = pm->root;
	uint64_t key;
	unsigned level, s;

	if (idx < ZSFS_PAGEMAP_DIRECT) {
		e = &pm->direct[idx];
		/* atomic: readers clear IDLE bits under a shared lock
		 * (entry_touch, store_internal.h) */
		return __atomic_load_n(&e->w, __ATOMIC_RELAXED) ? e : NULL;
	}
	key = idx - ZSFS_PAGEMAP_DIRECT;
	if (!ref || key >= level_span(zsfs_pagemap_height(pm)))
		return NULL;
	for (level = zsfs_pagemap_height(pm);; level--) {
		s = slot_of(key, level);
		if (s >= ref_cap(ref))
			return NULL;
		if (level == 1)
			break;
		ref = ref_inner(ref)[s];
		if (!ref)
			return NULL;
	}
	e = &ref_leaf(ref)[s];
	return __atomic_load_n(&e->w, __ATOMIC_RELAXED) ? e : NULL;
}

/* Free the empty nodes on @key's path, bottom up, shrink the first
 * non-empty one to fit, then drop root levels that only hold their first
 * child. */
static void prune(struct zsfs_pagemap *pm, uint64_t key)
{
	void **links[ZSFS_PAGEMAP_MAX_HEIGHT];
	void **link = &pm->root;
	unsigned level, depth = 0, s;
	int top;

	if (!pm->root)
		goto collapse;
	if (key < level_span(zsfs_pagemap_height(pm))) {
		/* links[k] links the node of level height - k. */
		for (level = zsfs_pagemap_height(pm); level >= 1; level--) {
			links[depth++] = link;
			if (level == 1)
				break;
			s = slot_of(key, level);
			if (s >= ref_cap(*link))
				break;
			link = &ref_inner(*link)[s];
			if (!*link)
				break;
		}
		while (depth > 0) {
			level = zsfs_pagemap_height(pm) - (depth - 1);
			link = links[--depth];
			top = node_top(*link, level);
			if (top < 0) {
				node_free(pm, level, *link);
				*link = NULL;
				continue;
			}
			/* A failed shrink leaves a valid, larger node. */
			if (cls_for((unsigned)top) < ref_cls(*link))
				(void)node_resize(pm, link, level,
						  cls_for((unsigned)top));
			break; /* the ancestors keep their sizes */
		}
	}
collapse:
	if (!pm->root) {
		set_height(pm, 0);
		return;
	}
	while (zsfs_pagemap_height(pm) > 1 && node_top(pm->root, zsfs_pagemap_height(pm)) == 0) {
		void *r = pm->root;

		pm->root = ref_inner(r)[0];
		node_free(pm, zsfs_pagemap_height(pm), r);
		set_height(pm, zsfs_pagemap_height(pm) - 1);
	}
}

int zsfs_pagemap_slot(struct zsfs_pagemap *pm, uint64_t idx,
		      struct zsfs_pentry **slotp)
{
	unsigned need, level, s = 0;
	uint64_t key;
	void **link;
	int rc;

	if (idx > ZSFS_PAGEMAP_MAX_INDEX)
		return -EFBIG;
	if (idx < ZSFS_PAGEMAP_DIRECT) {
		*slotp = &pm->direct[idx];
		return 0;
	}
	key = idx - ZSFS_PAGEMAP_DIRECT;
	need = height_for(key);
	if (!pm->root) {
		set_height(pm, need);
	} else {
		while (zsfs_pagemap_height(pm) < need) {
			void *r;

			rc = node_alloc(pm, zsfs_pagemap_height(pm) + 1, 0, &r);
			if (rc)
				goto err;
			ref_inner(r)[0] = pm->root;
			pm->root = r;
			set_height(pm, zsfs_pagemap_height(pm) + 1);
		}
	}
	link = &pm->root;
	for (level = zsfs_pagemap_height(pm);; level--) {
		s = slot_of(key, level);
		if (!*link)
			rc = node_alloc(pm, level, cls_for(s), link);
		else if (s >= ref_cap(*link))
			rc = node_resize(pm, link, level, cls_for(s));
		else
			rc = 0;
		if (rc)
			goto err;
		if (level == 1)
			break;
		link = &ref_inner(*link)[s];
	}
	*slotp = &ref_leaf(*link)[s];
	return 0;

err:
	prune(pm, key); /* back to the canonical shape */
	return rc;
}

void zsfs_pagemap_clear(struct zsfs_pagemap *pm, uint64_t idx)
{
	struct zsfs_pentry *e = (struct zsfs_pentry *)zsfs_pagemap_lookup(pm, idx);

	if (e)
		e->w = 0;
	if (idx >= ZSFS_PAGEMAP_DIRECT)
		prune(pm, idx - ZSFS_PAGEMAP_DIRECT);
}

static int next_rec(const void *ref, unsigned level, uint64_t base,
		    uint64_t from, uint64_t *keyp,
		    const struct zsfs_pentry **ep)
{
	unsigned shift = level_shift(level), cap = ref_cap(ref), i;

	i = from > base ? (unsigned)((from - base) >> shift) : 0;
	for (; i < cap; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			const struct zsfs_pentry *e = &ref_leaf(ref)[i];

			if (e->w) {
				*keyp = cb;
				*ep = e;
				return 0;
			}
		} else {
			const void *c = ref_inner(ref)[i];

			if (c && !next_rec(c, level - 1, cb, from > cb ? from : cb,
					   keyp, ep))
				return 0;
		}
	}
	return -ENOENT;
}

int zsfs_pagemap_next(const struct zsfs_pagemap *pm, uint64_t from,
		      uint64_t *idxp, const struct zsfs_pentry **ep)
{
	uint64_t key;

	for (; from < ZSFS_PAGEMAP_DIRECT; from++) {
		if (pm->direct[from].w) {
			*idxp = from;
			*ep = &pm->direct[from];
			return 0;
		}
	}
	key = from - ZSFS_PAGEMAP_DIRECT;
	if (!pm->root || key >= level_span(zsfs_pagemap_height(pm)) ||
	    next_rec(pm->root, zsfs_pagemap_height(pm), 0, key, &key, ep))
		return -ENOENT;
	*idxp = key + ZSFS_PAGEMAP_DIRECT;
	return 0;
}

static int hole_rec(const void *ref, unsigned level, uint64_t base,
		    uint64_t from, uint64_t *keyp)
{
	unsigned shift = level_shift(level), cap = ref_cap(ref), i;
	uint64_t end;

	i = from > base ? (unsigned)((from - base) >> shift) : 0;
	for (; i < cap; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);
		uint64_t f = from > cb ? from : cb;

		if (level == 1) {
			if (!ref_leaf(ref)[i].w) {
				*keyp = cb;
				return 0;
			}
		} else {
			const void *c = ref_inner(ref)[i];

			if (!c) {
				*keyp = f;
				return 0;
			}
			if (!hole_rec(c, level - 1, cb, f, keyp))
				return 0;
		}
	}
	if (cap == ZSFS_PAGEMAP_FANOUT)
		return -ENOENT;
	/* The slots past a small node's end are holes. */
	end = base + ((uint64_t)cap << shift);
	*keyp = from > end ? from : end;
	return 0;
}

uint64_t zsfs_pagemap_next_hole(const struct zsfs_pagemap *pm, uint64_t from)
{
	uint64_t key;

	for (; from < ZSFS_PAGEMAP_DIRECT; from++)
		if (!pm->direct[from].w)
			return from;
	key = from - ZSFS_PAGEMAP_DIRECT;
	if (!pm->root || key >= level_span(zsfs_pagemap_height(pm)))
		return from;
	if (hole_rec(pm->root, zsfs_pagemap_height(pm), 0, key, &key))
		key = level_span(zsfs_pagemap_height(pm));
	return key + ZSFS_PAGEMAP_DIRECT;
}

static int last_rec(const void *ref, unsigned level, uint64_t base,
		    uint64_t *keyp)
{
	unsigned shift = level_shift(level), i;

	for (i = ref_cap(ref); i-- > 0;) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			if (ref_leaf(ref)[i].w) {
				*keyp = cb;
				return 0;
			}
		} else {
			const void *c = ref_inner(ref)[i];

			if (c && !last_rec(c, level - 1, cb, keyp))
				return 0;
		}
	}
	return -ENOENT;
}

int zsfs_pagemap_last(const struct zsfs_pagemap *pm, uint64_t *idxp)
{
	uint64_t key;
	unsigned i;

	if (pm->root && !last_rec(pm->root, zsfs_pagemap_height(pm), 0, &key)) {
		*idxp = key + ZSFS_PAGEMAP_DIRECT;
		return 0;
	}
	for (i = ZSFS_PAGEMAP_DIRECT; i-- > 0;) {
		if (pm->direct[i].w) {
			*idxp = i;
			return 0;
		}
	}
	return -ENOENT;
}

size_t zsfs_pagemap_bytes(const struct zsfs_pagemap *pm)
{
	return pm_bytes(pm);
}

struct pm_walk {
	size_t nodes, entries, bytes;
	char *msg;
	size_t msg_cap;
};

static int check_kind(const struct zsfs_pentry *e, uint64_t idx,
		      struct pm_walk *w)
{
	unsigned k = zsfs_pentry_kind(e);

	/* No message: zsfs_pagemap_count, which only counts. */
	if (w->msg && (k > ZSFS_PK_BACKED || (k == ZSFS_PK_EMPTY && e->w))) {
		snprintf(w->msg, w->msg_cap, "pagemap: bad kind %u at index %llu",
			 k, (unsigned long long)idx);
		return -EUCLEAN;
	}
	if (e->w)
		w->entries++;
	return 0;
}

static int check_rec(const void *ref, unsigned level, uint64_t base,
		     struct pm_walk *w)
{
	unsigned shift = level_shift(level), cap, i;
	int top, rc;

	if (ref_cls(ref) > CLS_MAX) {
		if (w->msg)
			snprintf(w->msg, w->msg_cap,
				 "pagemap: bad size class %u at level %u covering key %llu",
				 ref_cls(ref), level, (unsigned long long)base);
		return -EUCLEAN;
	}
	cap = ref_cap(ref);
	top = node_top(ref, level);
	w->nodes++;
	w->bytes += zsfs_malloc_size(ref_node(ref),
				     node_size(level, ref_cls(ref)));
	if (w->msg && (top < 0 || cls_for((unsigned)top) != ref_cls(ref))) {
		snprintf(w->msg, w->msg_cap,
			 "pagemap: %s node (%u slots, top %d) at level %u covering key %llu",
			 top < 0 ? "empty" : "oversized", cap, top, level,
			 (unsigned long long)base);
		return -EUCLEAN;
	}
	for (i = 0; i < cap; i++) {
		uint64_t cb = base + ((uint64_t)i << shift);

		if (level == 1) {
			rc = check_kind(&ref_leaf(ref)[i],
					cb + ZSFS_PAGEMAP_DIRECT, w);
			if (rc)
				return rc;
		} else {
			const void *c = ref_inner(ref)[i];

			if (c && (rc = check_rec(c, level - 1, cb, w)))
				return rc;
		}
	}
	return 0;
}

int zsfs_pagemap_check(const struct zsfs_pagemap *pm, char *msg,
		       size_t msg_cap)
{
	struct pm_walk w = { 0, 0, 0, msg, msg_cap };
	unsigned i, height = zsfs_pagemap_height(pm);
	int rc;

	for (i = 0; i < ZSFS_PAGEMAP_DIRECT; i++) {
		rc = check_kind(&pm->direct[i], i, &w);
		if (rc)
			return rc;
	}
	if (!pm->root) {
		if (pm->bytes_height) {
			snprintf(msg, msg_cap,
				 "pagemap: no tree with height %u bytes %zu",
				 height, pm_bytes(pm));
			return -EUCLEAN;
		}
	} else {
		if (height < 1 || height > ZSFS_PAGEMAP_MAX_HEIGHT) {
			snprintf(msg, msg_cap, "pagemap: bad height %u",
				 height);
			return -EUCLEAN;
		}
		if (height > 1 && node_top(pm->root, height) == 0) {
			snprintf(msg, msg_cap,
				 "pagemap: root of height %u with one child",
				 height);
			return -EUCLEAN;
		}
		rc = check_rec(pm->root, height, 0, &w);
		if (rc)
			return rc;
	}
	if (w.bytes != pm_bytes(pm)) {
		snprintf(msg, msg_cap,
			 "pagemap: %zu nodes of %zu bytes, recorded %zu bytes",
			 w.nodes, w.bytes, pm_bytes(pm));
		return -EUCLEAN;
	}
	return 0;
}

void zsfs_pagemap_count(const struct zsfs_pagemap *pm, size_t *nodesp,
			size_t *entriesp)
{
	struct pm_walk w = { 0, 0, 0, NULL, 0 };
	unsigned i;

	for (i = 0; i < ZSFS_PAGEMAP_DIRECT; i++)
		(void)check_kind(&pm->direct[i], i, &w);
	if (pm->root)
		(void)check_rec(pm->root, zsfs_pagemap_height(pm), 0, &w);
	*nodesp = w.nodes;
	*entriesp = w.entries;
}
