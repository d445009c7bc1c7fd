/*
 * ctl_text.c - the .zsctl text: one snapshot of every figure, printed as
 * "name value" lines and the allocator's per-class table.
 *
 * The text (all values are decimal integers: bytes or counts, except the
 * one `codec NAME` line and the two *_pct percentages):
 *
 *	orig_data_size N       \
 *	compr_data_size N       |
 *	mem_used_total N        |  zram's mm_stat, same meanings and order:
 *	mem_limit N             |  mem_used_total is the pool's mem_bytes
 *	mem_used_max N          |  (pages * 4096 + allocator metadata),
 *	same_pages N            |  mem_limit 0 means no cap, mem_used_max is
 *	pages_compacted N       |  the high-water mark since mount/reset_max
 *	huge_pages N            |
 *	huge_pages_since N     /
 *	inodes ... others         the filesystem's counts (fs_counts)
 *	meta_file_bytes N         of meta_bytes: files' structs + page tables
 *	meta_bytes ...            the budget's holders, "<name>_bytes" each
 *	pool_* N                  the pool's own figures
 *	heap_bytes N              the daemon's malloc heap (not the pool)
 *	pages_stored ...          the rest of the store's ZSFS_STORE_STATS
 *	compactions_* ...         the budget's ZSFS_BUDGET_STATS
 *	bd_count ... bd_punched   the backing file's ZSFS_BACKING_STATS
 *	                          (backing.h): zram's bd_stat (bd_count
 *	                          bd_reads bd_writes, in pages) and io_stat
 *	                          (failed_reads failed_writes), then bytes;
 *	                          all 0 without backing=
 *	size_bytes N              the effective size= cap (what df shows):
 *	size_source WORD          size=, or the memory cgroup's limit file
 *	                          when that is lower ("cgroup_v1:/sys/...")
 *	auto_compact 0|1
 *	compact_share_pct P       the compactor's thresholds (compactor.c):
 *	compact_min_bytes N       percentages print as integers when whole,
 *	compact_psi_pct P         else with one or two decimals (2.5, 0.25)
 *	codec NAME                e.g. lz4, zstd:3, none (a text value, as
 *	                          size_source is)
 *	transport WORD            the filesystem's lines (fs_print): the
 *	init_flags_added N        daemon's (transport.c) say how requests
 *	req_<op> N                arrive (devfuse), the INIT flags it added
 *	                          for the kernel, and the requests received
 *	                          per FUSE opcode (req_lookup ... req_other)
 *	<blank line>
 *	class size objs_per_zspage pages_per_zspage u0_25 u25_50 u50_75
 *	      u75_100 full objs_allocated objs_used pages_used pages_freeable
 *	one row per size class holding any zspage
 *
 * uNN_MM are the fullness groups (zspages whose share of used slots is in
 * [NN%, MM%)), "full" the totally full zspages.  New counters added to
 * ZSFS_STORE_STATS, ZSFS_BUDGET_STATS, ZSFS_BUDGET_HOLDERS or
 * ZSFS_BACKING_STATS show up without touching this file.
 *
 * lock ordering: the compactor's lock alone, for the copy of its switch
 * and thresholds; the pool, the store, the budget (not its reclaim lock)
 * and the filesystem are asked one at a time, so reading the text never
 * waits for a compaction.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"

/* One consistent-enough snapshot of everything the text shows. */
struct ctl_snap {
	struct zsfs_store_stats st;
	struct zs_pool_stats pool;
	struct zsfs_fs_counts fc;
	struct zsfs_budget_stats bs;
	struct zsfs_backing_stats bd;
	size_t held[ZSFS_HOLDERS_NR];
	size_t size;                  /* the effective size= cap */
	char size_source[256];        /* where it comes from, no blanks */
	size_t mem_limit;
	size_t mem_used_max;
	size_t auto_compact;
	struct ac_thresholds ac;
	size_t heap_bytes;
};

/* zram's mm_stat, in its order: name, value in a struct ctl_snap *s. */
#define ZSFS_CTL_MM_STAT(X)                                                  \
	X(orig_data_size, s->st.orig_data_size)                              \
	X(compr_data_size, s->st.compr_data_size)                            \
	X(mem_used_total, s->pool.mem_bytes)                                 \
	X(mem_limit, s->mem_limit)                                           \
	X(mem_used_max, s->mem_used_max)                                     \
	X(same_pages, s->st.same_pages)                                      \
	X(pages_compacted, s->pool.pages_compacted)                          \
	X(huge_pages, s->st.huge_pages)                                      \
	X(huge_pages_since, s->st.huge_pages_since)

/* The filesystem's and the pool's figures that follow. */
#define ZSFS_CTL_FS_POOL(X)                                                  \
	X(inodes, s->fc.inodes)                                              \
	X(inodes_max, s->fc.inodes_max)                                      \
	X(files, s->fc.files)                                                \
	X(dirs, s->fc.dirs)                                                  \
	X(symlinks, s->fc.symlinks)                                          \
	X(others, s->fc.others)                                              \
	X(meta_file_bytes, s->fc.file_bytes)

/* After the budget's holders ("meta_bytes", ...), the pool's. */
#define ZSFS_CTL_POOL(X)                                                     \
	X(pool_pages, s->pool.pages)                                         \
	X(pool_pages_max, s->pool.pages_max)                                 \
	X(pool_objects, s->pool.objs)                                        \
	X(pool_bytes_stored, s->pool.bytes_stored)                           \
	X(pool_meta_bytes, s->pool.meta_bytes)                               \
	X(pool_os_bytes_mapped, s->pool.os_bytes_mapped)                     \
	X(pool_compactions, s->pool.compactions)                             \
	X(heap_bytes, s->heap_bytes)

/* The last integer lines. */
#define ZSFS_CTL_TAIL(X)                                                     \
	X(auto_compact, s->auto_compact)

/* The compactor's thresholds, after auto_compact: "P" percentages (see
 * print_pct) and one byte count. */
#define ZSFS_CTL_THRESHOLDS(P, X)                                            \
	P(compact_share_pct, s->ac.min_share_bp)                             \
	X(compact_min_bytes, s->ac.min_bytes)                                \
	P(compact_psi_pct, s->ac.psi_bp)

/* Whether the store counter @name was already printed (mm_stat). */
static int store_stat_shown(const char *name)
{
#define ZSFS_CTL_MM_NAME(n, v) #n,
	static const char *const mm[] = { ZSFS_CTL_MM_STAT(ZSFS_CTL_MM_NAME) };
#undef ZSFS_CTL_MM_NAME
	for (size_t i = 0; i < sizeof(mm) / sizeof(mm[0]); i++)
		if (!strcmp(mm[i], name))
			return 1;
	return 0;
}

/*
 * What the process's malloc heap holds from the OS (every arena, mmapped
 * chunks included): inodes, names, page tables, dirty pages, buffers and
 * the free space among them that cannot go back.  The pool is not in it
 * (it maps its own memory), so mem_used_total + heap_bytes is about the
 * daemon's anonymous memory.  0 where glibc's mallinfo2 is missing.
 */
static size_t heap_bytes(void)
{
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 33)
	struct mallinfo2 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
#endif
#endif
	return 0;
}

static void ctl_snapshot(struct zsfs_ctl *ctl, struct ctl_snap *s)
{
	int on;

	memset(s, 0, sizeof(*s));
	if (ctl->fs_counts)
		ctl->fs_counts(ctl->fs_arg, &s->fc);
	zsfs_store_stats(ctl->store, &s->st);
	s->mem_limit = zsfs_budget_pool_cap(ctl->budget);
	s->mem_used_max = zsfs_budget_sample_max(ctl->budget);
	zsfs_budget_stats(ctl->budget, &s->bs);
	zsfs_backing_stats(ctl->backing, &s->bd);
	s->size = zsfs_budget_size(ctl->budget);
	zsfs_budget_size_source(ctl->budget, s->size_source,
				sizeof(s->size_source));
	/* one token: "cgroup v1 /sys/..." reads as "cgroup_v1:/sys/..." */
	for (char *p = s->size_source; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n')
			*p = p[1] == '/' ? ':' : '_';
	for (unsigned h = 0; h < ZSFS_HOLDERS_NR; h++)
		s->held[h] = zsfs_budget_held(ctl->budget, (enum zsfs_holder)h);
	zs_pool_stats(ctl->pool, &s->pool);
	compactor_get(&ctl->comp, &on, &s->ac);
	s->auto_compact = (size_t)on;
	s->heap_bytes = heap_bytes();
	/* mem_bytes may have grown since the sample */
	if (s->pool.mem_bytes > s->mem_used_max)
		s->mem_used_max = s->pool.mem_bytes;
}

/*
 * "name P" for a percentage held in hundredths: whole percents print as
 * integers ("5"), so the defaults keep the text all-integer; others with
 * the decimals they need ("2.5", "0.25"), the form the commands take.
 */
static void print_pct(FILE *f, const char *name, unsigned bp)
{
	if (bp % 100 == 0)
		fprintf(f, "%s %u\n", name, bp / 100);
	else if (bp % 10 == 0)
		fprintf(f, "%s %u.%u\n", name, bp / 100, bp % 100 / 10);
	else
		fprintf(f, "%s %u.%02u\n", name, bp / 100, bp % 100);
}

static void print_table(FILE *f, zs_pool *pool)
{
	unsigned n = zs_class_count(pool);

	fputs("class size objs_per_zspage pages_per_zspage", f);
	for (unsigned g = 0; g < ZS_NR_FULLNESS; g++)
		fprintf(f, " u%u_%u", g * 100u / ZS_NR_FULLNESS,
			(g + 1) * 100u / ZS_NR_FULLNESS);
	fputs(" full objs_allocated objs_used pages_used pages_freeable\n", f);
	for (unsigned i = 0; i < n; i++) {
		struct zs_class_stats cs;
		size_t zspages = 0;

		if (zs_class_stats(pool, i, &cs))
			continue;
		for (unsigned g = 0; g <= ZS_NR_FULLNESS; g++)
			zspages += cs.zspages[g];
		if (!zspages && !cs.objs_allocated && !cs.pages_used)
			continue;
		fprintf(f, "%u %zu %u %u", i, cs.size, cs.objs_per_zspage,
			cs.pages_per_zspage);
		for (unsigned g = 0; g <= ZS_NR_FULLNESS; g++)
			fprintf(f, " %zu", cs.zspages[g]);
		fprintf(f, " %zu %zu %zu %zu\n", cs.objs_allocated, cs.objs_used,
			cs.pages_used, cs.pages_freeable);
	}
}

int zsfs_ctl_stats_text(struct zsfs_ctl *ctl, char **textp, size_t *lenp)
{
	struct ctl_snap snap, *s = &snap;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!ctl || !textp)
		return -EINVAL;
	ctl_snapshot(ctl, s);
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
#define ZSFS_CTL_PRINT(n, v) fprintf(f, "%s %zu\n", #n, (size_t)(v));
	ZSFS_CTL_MM_STAT(ZSFS_CTL_PRINT)
	ZSFS_CTL_FS_POOL(ZSFS_CTL_PRINT)
#define ZSFS_CTL_PRINT_HELD(e, n, desc)                                     \
	fprintf(f, "%s_bytes %zu\n", #n, s->held[ZSFS_HOLD_##e]);
	ZSFS_BUDGET_HOLDERS(ZSFS_CTL_PRINT_HELD)
#undef ZSFS_CTL_PRINT_HELD
	ZSFS_CTL_POOL(ZSFS_CTL_PRINT)
#undef ZSFS_CTL_PRINT
#define ZSFS_CTL_PRINT_STORE(n, desc)                                      \
	if (!store_stat_shown(#n))                                           \
		fprintf(f, "%s %zu\n", #n, s->st.n);
	ZSFS_STORE_STATS(ZSFS_CTL_PRINT_STORE)
#undef ZSFS_CTL_PRINT_STORE
#define ZSFS_CTL_PRINT_BUDGET(n, desc) fprintf(f, "%s %zu\n", #n, s->bs.n);
	ZSFS_BUDGET_STATS(ZSFS_CTL_PRINT_BUDGET)
#undef ZSFS_CTL_PRINT_BUDGET
#define ZSFS_CTL_PRINT_BACKING(n, desc) fprintf(f, "%s %zu\n", #n, s->bd.n);
	ZSFS_BACKING_STATS(ZSFS_CTL_PRINT_BACKING)
#undef ZSFS_CTL_PRINT_BACKING
	fprintf(f, "size_bytes %zu\nsize_source %s\n", s->size, s->size_source);
#define ZSFS_CTL_PRINT(n, v) fprintf(f, "%s %zu\n", #n, (size_t)(v));
	ZSFS_CTL_TAIL(ZSFS_CTL_PRINT)
#define ZSFS_CTL_PRINT_PCT(n, v) print_pct(f, #n, (v));
	ZSFS_CTL_THRESHOLDS(ZSFS_CTL_PRINT_PCT, ZSFS_CTL_PRINT)
#undef ZSFS_CTL_PRINT_PCT
#undef ZSFS_CTL_PRINT
	fprintf(f, "codec %s\n", zsfs_store_codec(ctl->store));
	if (ctl->fs_print)
		ctl->fs_print(ctl->fs_arg, f);
	fputc('\n', f);
	print_table(f, ctl->pool);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*textp = text;
	if (lenp)
		*lenp = len;
	return 0;
}
