/*
 * ctl.c - the control plane's front: the .zsctl text, its command parser
 * and commands, the buffered writer of an open .zsctl, and the reserved
 * user.zsfs.* xattrs.  The background compactor lives in compactor.c.
 *
 * The .zsctl text (all values are decimal integers: bytes or counts,
 * except the one `codec NAME` line and the two *_pct percentages):
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
 *	meta_bytes ...            the budget's holders, "<name>_bytes" each
 *	pool_* N                  the pool's own figures
 *	heap_bytes N              the daemon's malloc heap (not the pool)
 *	pages_stored ...          the rest of the store's ZSFS_STORE_STATS
 *	compactions_* ...         the budget's ZSFS_BUDGET_STATS
 *	auto_compact 0|1
 *	compact_share_pct P       the compactor's thresholds (compactor.c):
 *	compact_min_bytes N       percentages print as integers when whole,
 *	compact_psi_pct P         else with one or two decimals (2.5, 0.25)
 *	codec NAME                e.g. lz4, zstd:3, none (the only text value)
 *	<blank line>
 *	class size objs_per_zspage pages_per_zspage u0_25 u25_50 u50_75
 *	      u75_100 full objs_allocated objs_used pages_used pages_freeable
 *	one row per size class holding any zspage
 *
 * uNN_MM are the fullness groups (zspages whose share of used slots is in
 * [NN%, MM%)), "full" the totally full zspages.  New counters added to
 * ZSFS_STORE_STATS, ZSFS_BUDGET_STATS or ZSFS_BUDGET_HOLDERS show up
 * without touching this file.
 *
 * Commands, one per line written to .zsctl (root or the mount's owner):
 *	compact               run a compaction now; the write returns when done
 *	mem_limit SIZE        cap the pool: bytes, or with k/m/g/t (x1024^n),
 *	                      or N% of RAM, as size=; 0 removes the cap
 *	reset_max             mem_used_max := mem_used_total
 *	auto_compact on|off   the background compactor (also 1|0)
 *	compact_share PCT     its thresholds, as the mount options of the
 *	compact_min SIZE      same names: PCT is 0..100 with at most two
 *	compact_psi PCT       decimals, SIZE bytes or with k/m/g/t (no %);
 *	                      the thread is woken to apply them at once
 *	check                 the filesystem's and the pool's consistency walk
 * Empty and all-whitespace lines are ignored; tokens are separated by
 * blanks.  Errors: -EPERM (not root nor owner), -EINVAL (unknown or
 * malformed: binary bytes, NUL, extra tokens, bad or overflowing numbers;
 * nothing changes), -E2BIG (a line over ZSFS_CTL_LINE_MAX bytes, nothing
 * runs), -EIO (check found a broken invariant).  The reason is logged to
 * stderr as "zsfs: .zsctl: ...".
 *
 * lock ordering: see ctl_internal.h; a writer's lock comes first:
 *	w->lock -> (the budget's reclaim lock) -> ctl->lock
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_internal.h"

/* ---- create / destroy ---- */

int zsfs_ctl_create(const struct zsfs_ctl_params *params,
		    struct zsfs_ctl **ctlp)
{
	struct zsfs_ctl *ctl;
	pthread_condattr_t ca;
	int rc = -ENOMEM;

	if (!params || !params->store || !ctlp)
		return -EINVAL;
	if (params->ac_min_share_bp > ZSFS_PCT_BP_MAX ||
	    params->ac_psi_bp > ZSFS_PCT_BP_MAX)
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->store = params->store;
	ctl->pool = zsfs_store_pool(params->store);
	ctl->budget = zsfs_store_budget(params->store);
	ctl->owner = params->owner;
	ctl->ac.min_share_bp = params->ac_min_share_bp;
	ctl->ac.min_bytes = params->ac_min_bytes;
	ctl->ac.psi_bp = params->ac_psi_bp;
	if (!params->ac_exact) {
		/* zero-initialised params: 0 means the default */
		if (!ctl->ac.min_share_bp)
			ctl->ac.min_share_bp = ZSFS_AC_MIN_SHARE_BP;
		if (!ctl->ac.min_bytes)
			ctl->ac.min_bytes = ZSFS_AC_MIN_BYTES;
		if (!ctl->ac.psi_bp)
			ctl->ac.psi_bp = ZSFS_AC_PSI_BP;
	}
	ctl->ac_interval_ms = params->ac_interval_ms ? params->ac_interval_ms
						     : ZSFS_AC_INTERVAL_MS;
	ctl->use_psi = params->use_psi;
	ctl->fs_counts = params->fs_counts;
	ctl->fs_check = params->fs_check;
	ctl->fs_arg = params->fs_arg;
	ctl->auto_compact = !!params->auto_compact;

	if (pthread_mutex_init(&ctl->lock, NULL))
		goto err_free;
	if (pthread_condattr_init(&ca))
		goto err_lock;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&ctl->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		goto err_lock;
	}
	pthread_condattr_destroy(&ca);
	*ctlp = ctl;
	return 0;

err_lock:
	pthread_mutex_destroy(&ctl->lock);
err_free:
	free(ctl);
	return rc;
}

int zsfs_ctl_start(struct zsfs_ctl *ctl)
{
	return compactor_start(ctl);
}

void zsfs_ctl_destroy(struct zsfs_ctl *ctl)
{
	if (!ctl)
		return;
	compactor_stop(ctl);
	pthread_cond_destroy(&ctl->cond);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

/* ---- the text ---- */

/* One consistent-enough snapshot of everything the text shows. */
struct ctl_snap {
	struct zsfs_store_stats st;
	struct zs_pool_stats pool;
	struct zsfs_fs_counts fc;
	struct zsfs_budget_stats bs;
	size_t held[ZSFS_HOLDERS_NR];
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
	X(others, s->fc.others)

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
	memset(s, 0, sizeof(*s));
	if (ctl->fs_counts)
		ctl->fs_counts(ctl->fs_arg, &s->fc);
	zsfs_store_stats(ctl->store, &s->st);
	s->mem_limit = zsfs_budget_pool_cap(ctl->budget);
	s->mem_used_max = zsfs_budget_sample_max(ctl->budget);
	zsfs_budget_stats(ctl->budget, &s->bs);
	for (unsigned h = 0; h < ZSFS_HOLDERS_NR; h++)
		s->held[h] = zsfs_budget_held(ctl->budget, (enum zsfs_holder)h);
	zs_pool_stats(ctl->pool, &s->pool);
	pthread_mutex_lock(&ctl->lock);
	s->auto_compact = (size_t)ctl->auto_compact;
	s->ac = ctl->ac;
	pthread_mutex_unlock(&ctl->lock);
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
#define ZSFS_CTL_PRINT(n, v) fprintf(f, "%s %zu\n", #n, (size_t)(v));
	ZSFS_CTL_TAIL(ZSFS_CTL_PRINT)
#define ZSFS_CTL_PRINT_PCT(n, v) print_pct(f, #n, (v));
	ZSFS_CTL_THRESHOLDS(ZSFS_CTL_PRINT_PCT, ZSFS_CTL_PRINT)
#undef ZSFS_CTL_PRINT_PCT
#undef ZSFS_CTL_PRINT
	fprintf(f, "codec %s\n", zsfs_store_codec(ctl->store));
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

/* ---- commands ---- */

static int may_command(const struct zsfs_ctl *ctl, uid_t uid)
{
	return uid == 0 || uid == ctl->owner;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int fail(char *why, size_t why_cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t why_cap, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why && why_cap) {
		va_start(ap, fmt);
		vsnprintf(why, why_cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A token: a pointer into the line and its length (not NUL-terminated). */
struct tok {
	const char *p;
	size_t len;
};

static int tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && !memcmp(t->p, s, t->len);
}

/*
 * parse_size() - "N", "N[kKmMgGtT]" (powers of 1024) or, with @allow_pct,
 * "N%" (of physical RAM, N <= 100), like size=, into *@out.
 * Return 0, or -EINVAL (empty, not a number, unknown suffix, overflow).
 */
static int parse_size(const struct tok *t, int allow_pct, size_t *out)
{
	size_t v = 0, i = 0, mult = 1;

	while (i < t->len && t->p[i] >= '0' && t->p[i] <= '9') {
		unsigned d = (unsigned)(t->p[i] - '0');

		if (v > (SIZE_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		return -EINVAL;
	if (i < t->len) {
		switch (t->p[i]) {
		case 'k': case 'K': mult = (size_t)1 << 10; break;
		case 'm': case 'M': mult = (size_t)1 << 20; break;
		case 'g': case 'G': mult = (size_t)1 << 30; break;
		case 't': case 'T': mult = (size_t)1 << 40; break;
		case '%':
			if (!allow_pct)
				return -EINVAL;
			mult = 0;
			break;
		default: return -EINVAL;
		}
		if (++i != t->len)
			return -EINVAL;
	}
	if (!mult) { /* percent of physical RAM, like size= */
		long pages = sysconf(_SC_PHYS_PAGES);
		long psz = sysconf(_SC_PAGESIZE);
		size_t ram;

		if (pages <= 0 || psz <= 0 || v > 100)
			return -EINVAL;
		ram = (size_t)pages * (size_t)psz;
		*out = ram / 100 * v;
		return 0;
	}
	if (v > SIZE_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

#define CTL_MAX_ARGS 2

struct ctl_cmd {
	const char *name;
	unsigned nargs;
	/* @args holds nargs tokens; return 0 or a negative errno + @why */
	int (*run)(struct zsfs_ctl *ctl, const struct tok *args, char *why,
		   size_t why_cap);
};

static int cmd_compact(struct zsfs_ctl *ctl, const struct tok *args,
		       char *why, size_t why_cap)
{
	zsfs_budget_reclaim(ctl->budget, ZSFS_RECLAIM_MANUAL);
	return 0;
}

static int cmd_mem_limit(struct zsfs_ctl *ctl, const struct tok *args,
			 char *why, size_t why_cap)
{
	size_t v;

	if (parse_size(&args[0], 1, &v))
		return fail(why, why_cap, -EINVAL,
			    "mem_limit: bad size \"%.*s\" (want N, N[kmgt] or N%%)",
			    (int)(args[0].len > 64 ? 64 : args[0].len), args[0].p);
	zsfs_budget_set_mem_limit(ctl->budget, v);
	return 0;
}

static int cmd_reset_max(struct zsfs_ctl *ctl, const struct tok *args,
			 char *why, size_t why_cap)
{
	zsfs_budget_reset_max(ctl->budget);
	return 0;
}

static int cmd_auto_compact(struct zsfs_ctl *ctl, const struct tok *args,
			    char *why, size_t why_cap)
{
	int on;

	if (tok_is(&args[0], "on") || tok_is(&args[0], "1"))
		on = 1;
	else if (tok_is(&args[0], "off") || tok_is(&args[0], "0"))
		on = 0;
	else
		return fail(why, why_cap, -EINVAL,
			    "auto_compact: want on or off, not \"%.*s\"",
			    (int)(args[0].len > 64 ? 64 : args[0].len), args[0].p);
	pthread_mutex_lock(&ctl->lock);
	ctl->auto_compact = on;
	pthread_mutex_unlock(&ctl->lock);
	compactor_kick(ctl);
	return 0;
}

/* A bad argument as the messages show it: at most 64 bytes of it. */
#define TOK_SHOWN(t) (int)((t)->len > 64 ? 64 : (t)->len), (t)->p

/*
 * The compactor's thresholds.  Each command parses first, so that a bad
 * value changes nothing, then sets its field under ctl->lock (the thread
 * copies all three under it at each poll) and wakes the thread, so that a
 * lowered threshold applies now rather than at the next interval.
 */
/* Parse a percent threshold into *@field (hundredths); @hint ends the
 * error message. */
static int set_pct(struct zsfs_ctl *ctl, const struct tok *arg,
		   const char *name, const char *hint, unsigned *field,
		   char *why, size_t why_cap)
{
	unsigned bp;

	if (zsfs_parse_pct(arg->p, arg->len, &bp))
		return fail(why, why_cap, -EINVAL,
			    "%s: bad percent \"%.*s\" (want 0..100 with at most two decimals%s)",
			    name, TOK_SHOWN(arg), hint);
	pthread_mutex_lock(&ctl->lock);
	*field = bp;
	pthread_mutex_unlock(&ctl->lock);
	compactor_kick(ctl);
	return 0;
}

static int cmd_compact_share(struct zsfs_ctl *ctl, const struct tok *args,
			     char *why, size_t why_cap)
{
	return set_pct(ctl, &args[0], "compact_share", ", e.g. 5 or 2.5",
		       &ctl->ac.min_share_bp, why, why_cap);
}

static int cmd_compact_min(struct zsfs_ctl *ctl, const struct tok *args,
			   char *why, size_t why_cap)
{
	size_t v;

	/* no N%: a share of RAM would be a second, confusing share rule */
	if (parse_size(&args[0], 0, &v))
		return fail(why, why_cap, -EINVAL,
			    "compact_min: bad size \"%.*s\" (want N or N[kmgt])",
			    TOK_SHOWN(&args[0]));
	pthread_mutex_lock(&ctl->lock);
	ctl->ac.min_bytes = v;
	pthread_mutex_unlock(&ctl->lock);
	compactor_kick(ctl);
	return 0;
}

static int cmd_compact_psi(struct zsfs_ctl *ctl, const struct tok *args,
			   char *why, size_t why_cap)
{
	return set_pct(ctl, &args[0], "compact_psi", "; 0 = no PSI trigger",
		       &ctl->ac.psi_bp, why, why_cap);
}

static int cmd_check(struct zsfs_ctl *ctl, const struct tok *args,
		     char *why, size_t why_cap)
{
	char msg[512];
	int rc;

	msg[0] = '\0';
	if (ctl->fs_check) {
		/* It ends with the pool's check, under the filesystem's own
		 * lock, so that no file's pages are freed meanwhile; a second
		 * walk here would have no such shelter. */
		rc = ctl->fs_check(ctl->fs_arg, msg, sizeof(msg));
		if (rc)
			return fail(why, why_cap, -EIO, "check: filesystem: %s",
				    msg[0] ? msg : strerror(-rc));
		return 0;
	}
	rc = zs_pool_check(ctl->pool, msg, sizeof(msg));
	if (rc)
		return fail(why, why_cap, -EIO, "check: pool: %s",
			    msg[0] ? msg : strerror(-rc));
	return 0;
}

/* A new dictionary now (dict=auto): the settle thread trains it. */
static int cmd_dict_retrain(struct zsfs_ctl *ctl, const struct tok *args,
			    char *why, size_t why_cap)
{
	zsfs_store_dict_retrain(ctl->store);
	return 0;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ .name = "compact", .nargs = 0, .run = cmd_compact },
	{ .name = "mem_limit", .nargs = 1, .run = cmd_mem_limit },
	{ .name = "reset_max", .nargs = 0, .run = cmd_reset_max },
	{ .name = "auto_compact", .nargs = 1, .run = cmd_auto_compact },
	{ .name = "compact_share", .nargs = 1, .run = cmd_compact_share },
	{ .name = "compact_min", .nargs = 1, .run = cmd_compact_min },
	{ .name = "compact_psi", .nargs = 1, .run = cmd_compact_psi },
	{ .name = "check", .nargs = 0, .run = cmd_check },
	{ .name = "dict_retrain", .nargs = 0, .run = cmd_dict_retrain },
};

int zsfs_ctl_command(struct zsfs_ctl *ctl, uid_t uid, const char *line,
		     size_t len, char *why, size_t why_cap)
{
	struct tok toks[CTL_MAX_ARGS + 1];
	unsigned ntok = 0;
	size_t i = 0;

	if (why && why_cap)
		why[0] = '\0';
	if (!ctl || (!line && len))
		return -EINVAL;
	while (i < len && is_blank((unsigned char)line[i]))
		i++;
	if (i == len)
		return 0; /* empty or blank line: ignored, whoever writes it */
	if (!may_command(ctl, uid))
		return fail(why, why_cap, -EPERM,
			    "uid %u may not run commands (root or uid %u only)",
			    (unsigned)uid, (unsigned)ctl->owner);
	if (len > ZSFS_CTL_LINE_MAX)
		return fail(why, why_cap, -E2BIG,
			    "line of %zu bytes, longer than %u", len,
			    ZSFS_CTL_LINE_MAX);
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)line[j];

		if (c == '\n' || c == '\0' || (!isprint(c) && !is_blank(c)) ||
		    c >= 0x80)
			return fail(why, why_cap, -EINVAL,
				    "byte 0x%02x at offset %zu is not text", c, j);
	}
	while (i < len) {
		size_t start;

		while (i < len && is_blank((unsigned char)line[i]))
			i++;
		if (i == len)
			break;
		if (ntok == CTL_MAX_ARGS + 1)
			return fail(why, why_cap, -EINVAL,
				    "too many words (trailing garbage at offset %zu)", i);
		start = i;
		while (i < len && !is_blank((unsigned char)line[i]))
			i++;
		toks[ntok].p = line + start;
		toks[ntok].len = i - start;
		ntok++;
	}
	for (size_t c = 0; c < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); c++) {
		const struct ctl_cmd *cmd = &ctl_cmds[c];

		if (!tok_is(&toks[0], cmd->name))
			continue;
		if (ntok - 1 != cmd->nargs)
			return fail(why, why_cap, -EINVAL,
				    "%s takes %u argument%s, got %u", cmd->name,
				    cmd->nargs, cmd->nargs == 1 ? "" : "s",
				    ntok - 1);
		return cmd->run(ctl, toks + 1, why, why_cap);
	}
	return fail(why, why_cap, -EINVAL, "unknown command \"%.*s\"",
		    (int)(toks[0].len > 64 ? 64 : toks[0].len), toks[0].p);
}

/* ---- the writer of an open .zsctl ---- */

struct zsfs_ctl_writer {
	struct zsfs_ctl *ctl;
	uid_t uid;
	pthread_mutex_t lock;  /* one write at a time on this open file */
	size_t len;            /* protected by lock: bytes in buf */
	int skipping;          /* protected by lock: inside an over-long line */
	char buf[ZSFS_CTL_LINE_MAX]; /* protected by lock */
};

static void ctl_log(const char *why, int rc)
{
	fprintf(stderr, "zsfs: " ZSFS_CTL_NAME ": %s (%s)\n",
		why[0] ? why : "failed", strerror(-rc));
}

static int writer_run(struct zsfs_ctl_writer *w, const char *line, size_t len)
{
	char why[640];
	int rc;

	rc = zsfs_ctl_command(w->ctl, w->uid, line, len, why, sizeof(why));
	if (rc)
		ctl_log(why, rc);
	return rc;
}

int zsfs_ctl_writer_open(struct zsfs_ctl *ctl, uid_t uid,
			 struct zsfs_ctl_writer **wp)
{
	struct zsfs_ctl_writer *w;

	if (!ctl || !wp)
		return -EINVAL;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ctl = ctl;
	w->uid = uid;
	w->len = 0;
	w->skipping = 0;
	if (pthread_mutex_init(&w->lock, NULL)) {
		free(w);
		return -ENOMEM;
	}
	*wp = w;
	return 0;
}

/*
 * Lines run in order as their newline arrives.  The first failing line
 * stops the write: the rest of @buf is dropped with the pending partial
 * line, and its error is returned (lines before it have run).
 */
int zsfs_ctl_writer_write(struct zsfs_ctl_writer *w, const char *buf,
			  size_t len)
{
	int rc = 0;

	if (!w || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	if (!may_command(w->ctl, w->uid)) {
		char why[128];

		fail(why, sizeof(why), 0, "uid %u may not run commands",
		     (unsigned)w->uid);
		ctl_log(why, -EPERM);
		return -EPERM;
	}
	pthread_mutex_lock(&w->lock);
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t seg = nl ? (size_t)(nl - buf) : len;

		if (w->skipping) {
			/* the tail of a line already refused */
		} else if (seg > sizeof(w->buf) - w->len) {
			char why[128];

			fail(why, sizeof(why), 0, "line longer than %u bytes",
			     ZSFS_CTL_LINE_MAX);
			ctl_log(why, -E2BIG);
			w->len = 0;
			w->skipping = 1;
			rc = -E2BIG;
		} else {
			memcpy(w->buf + w->len, buf, seg);
			w->len += seg;
		}
		if (!nl) {
			if (rc)
				w->skipping = 1;
			break;
		}
		buf += seg + 1;
		len -= seg + 1;
		if (w->skipping) {
			w->skipping = 0;
			w->len = 0;
			if (rc)
				break;
			continue;
		}
		rc = writer_run(w, w->buf, w->len);
		w->len = 0;
		if (rc)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int zsfs_ctl_writer_close(struct zsfs_ctl_writer *w)
{
	int rc = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (!w->skipping && w->len)
		rc = writer_run(w, w->buf, w->len);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return rc;
}

/* ---- xattrs ---- */

#define XATTR_COMPACT ZSFS_XATTR_PREFIX "compact"
#define XATTR_STATS ZSFS_XATTR_PREFIX "stats"
#define XATTR_STORED ZSFS_XATTR_PREFIX "stored"
#define XATTR_PAGES ZSFS_XATTR_PREFIX "pages"

int zsfs_ctl_xattr_is_reserved(const char *name)
{
	return name && !strncmp(name, ZSFS_XATTR_PREFIX,
				sizeof(ZSFS_XATTR_PREFIX) - 1);
}

static int xattr_printf(char **valuep, size_t *lenp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int xattr_printf(char **valuep, size_t *lenp, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	*valuep = v;
	if (lenp)
		*lenp = (size_t)n;
	return 0;
}

int zsfs_ctl_xattr_get(struct zsfs_ctl *ctl, const char *name,
		       const struct zsfs_file_stats *fst, uint64_t file_size,
		       char **valuep, size_t *lenp)
{
	static const struct zsfs_file_stats none;

	if (!ctl || !name || !valuep)
		return -EINVAL;
	if (!fst)
		fst = &none;
	if (!strcmp(name, XATTR_STATS))
		return zsfs_ctl_stats_text(ctl, valuep, lenp);
	if (!strcmp(name, XATTR_STORED))
		return xattr_printf(valuep, lenp, "%zu", fst->stored_bytes);
	if (!strcmp(name, XATTR_PAGES)) {
		/* pages within the size that hold no data are holes */
		uint64_t in_size = fst == &none ? 0 :
			(file_size + ZSFS_PAGE_SIZE - 1) >> ZSFS_PAGE_SHIFT;
		uint64_t data = (uint64_t)fst->pages_compressed + fst->pages_raw +
				fst->pages_same + fst->pages_dirty;
		uint64_t holes = in_size > data ? in_size - data : 0;

		return xattr_printf(valuep, lenp,
				    "compressed %zu raw %zu same %zu holes %" PRIu64
				    " dirty %zu", fst->pages_compressed,
				    fst->pages_raw, fst->pages_same, holes,
				    fst->pages_dirty);
	}
	/* user.zsfs.compact is write-only; anything else is unknown */
	return -ENODATA;
}

int zsfs_ctl_xattr_set(struct zsfs_ctl *ctl, uid_t uid, const char *name,
		       const char *value, size_t len)
{
	if (!ctl || !name || (!value && len))
		return -EINVAL;
	if (!strcmp(name, XATTR_STATS) || !strcmp(name, XATTR_STORED) ||
	    !strcmp(name, XATTR_PAGES))
		return -EPERM; /* read-only */
	if (strcmp(name, XATTR_COMPACT))
		return -ENOTSUP;
	if (!may_command(ctl, uid))
		return -EPERM;
	if (!((len == 1 && value[0] == '1') ||
	      (len == 2 && value[0] == '1' && value[1] == '\n')))
		return -EINVAL;
	zsfs_budget_reclaim(ctl->budget, ZSFS_RECLAIM_MANUAL);
	return 0;
}
