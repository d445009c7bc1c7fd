/*
 * ctl_cmd.c - the .zsctl commands: the line parser, the table of commands
 * and each command.
 *
 * Commands, one per line written to .zsctl (root or the mount's owner):
 *	compact               run a compaction now; the write returns when done
 *	mem_limit SIZE        cap the pool: what size= takes (parse.c): bytes,
 *	                      or with k/m/g/t/p/e (x1024^n), or N% of RAM
 *	                      rounded down to pages; 0 removes the cap
 *	reset_max             mem_used_max := mem_used_total
 *	auto_compact on|off   the background compactor (also 1|0)
 *	compact_share PCT     its thresholds, as the mount options of the
 *	compact_min SIZE      same names: PCT is 0..100 with at most two
 *	compact_psi PCT       decimals, SIZE bytes or with k..e (no %);
 *	                      the thread is woken to apply them at once
 *	check                 the filesystem's and the pool's consistency walk
 *	dict_retrain          train a new dictionary from the pages now stored
 *	idle all              mark every stored page idle (a read or write
 *	                      of it clears the mark): zram's idle
 *	writeback type=T [limit=PAGES]
 *	                      move pages to the backing file (backing=): T is
 *	                      idle, huge (stored raw), huge_idle or
 *	                      incompressible (raw even after recompression)
 * Empty and all-whitespace lines are ignored; tokens are separated by
 * blanks.  Errors: -EPERM (not root nor owner), -EINVAL (unknown or
 * malformed: binary bytes, NUL, extra tokens, bad or overflowing numbers;
 * nothing changes), -E2BIG (a line over ZSFS_CTL_LINE_MAX bytes, nothing
 * runs), -EIO (check found a broken invariant, or writeback's flush
 * failed), -ENODEV (writeback without backing=), -ENOSPC (writeback: the
 * backing file is full).  The reason is written to
 * @why; the writer (ctl_writer.c) logs it.
 *
 * A line is checked whole (permission, length, bytes) before it is split
 * into words, and a command parses all its arguments before it changes
 * anything, so a refused line changes nothing.
 *
 * lock ordering: a command takes the budget's reclaim lock (compact) or
 * the compactor's lock (the thresholds, auto_compact), never both at once.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_internal.h"
#include "parse.h"

int ctl_may_command(const struct zsfs_ctl *ctl, uid_t uid)
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

/* A bad argument as the messages show it: at most 64 bytes of it. */
#define TOK_SHOWN(t) (int)((t)->len > 64 ? 64 : (t)->len), (t)->p

static int tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && !memcmp(t->p, s, t->len);
}

#define CTL_MAX_ARGS 2

struct ctl_cmd {
	const char *name;
	unsigned nargs;
	unsigned nargs_opt;     /* optional ones after those */
	/* @args holds nargs + nargs_opt tokens, the missing ones empty;
	 * return 0 or a negative errno + @why */
	int (*run)(struct zsfs_ctl *ctl, const struct tok *args, char *why,
		   size_t why_cap);
};

static int cmd_compact(struct zsfs_ctl *ctl, const struct tok *args,
		       char *why, size_t why_cap)
{
	zsfs_budget_reclaim(ctl->budget, ZSFS_RECLAIM_MANUAL);
	return 0;
}

/*
 * mem_limit SIZE: what size= takes (parse.c), N% of RAM included.  Unlike
 * size= it has no 256 KiB floor: a cap below the use is how one stops
 * writes (tests/enospc.sh).
 */
static int cmd_mem_limit(struct zsfs_ctl *ctl, const struct tok *args,
			 char *why, size_t why_cap)
{
	uint64_t ram = zsfs_ram_bytes(), n;
	size_t v;
	int rc;

	/* N% of an unknown RAM size is refused, not taken as 0 (no cap) */
	rc = zsfs_parse_size_len(args[0].p, args[0].len, ram != 0, ram, &n);
	if (rc == 0 && n > SIZE_MAX)
		rc = -ERANGE;
	if (rc)
		return fail(why, why_cap, -EINVAL,
			    "mem_limit: bad size \"%.*s\" (%s; want N, N[kmgtpe] or N%%, as size=)",
			    TOK_SHOWN(&args[0]), zsfs_parse_strerror(rc));
	v = (size_t)n;
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
			    TOK_SHOWN(&args[0]));
	compactor_set_on(&ctl->comp, on);
	return 0;
}

/*
 * The compactor's thresholds.  Each command parses first, so that a bad
 * value changes nothing, then hands it to the compactor, which wakes its
 * thread so that a lowered threshold applies now rather than at the next
 * interval.
 */
/* Parse a percent threshold and give it to @set (hundredths); @hint ends
 * the error message. */
static int set_pct(struct zsfs_ctl *ctl, const struct tok *arg,
		   const char *name, const char *hint,
		   void (*set)(struct zsfs_compactor *, unsigned),
		   char *why, size_t why_cap)
{
	unsigned bp;
	int rc;

	rc = zsfs_parse_pct(arg->p, arg->len, &bp);
	if (rc)
		return fail(why, why_cap, -EINVAL,
			    "%s: bad percent \"%.*s\" (%s; want 0..100 with at most two decimals%s)",
			    name, TOK_SHOWN(arg), zsfs_parse_strerror(rc), hint);
	set(&ctl->comp, bp);
	return 0;
}

static int cmd_compact_share(struct zsfs_ctl *ctl, const struct tok *args,
			     char *why, size_t why_cap)
{
	return set_pct(ctl, &args[0], "compact_share", ", e.g. 5 or 2.5",
		       compactor_set_share, why, why_cap);
}

static int cmd_compact_min(struct zsfs_ctl *ctl, const struct tok *args,
			   char *why, size_t why_cap)
{
	uint64_t v;
	int rc;

	/* no N%: a share of RAM would be a second, confusing share rule */
	rc = zsfs_parse_size_len(args[0].p, args[0].len, 0, 0, &v);
	if (rc == 0 && v > SIZE_MAX)
		rc = -ERANGE;
	if (rc)
		return fail(why, why_cap, -EINVAL,
			    "compact_min: bad size \"%.*s\" (%s; want N or N[kmgtpe])",
			    TOK_SHOWN(&args[0]), zsfs_parse_strerror(rc));
	compactor_set_min(&ctl->comp, (size_t)v);
	return 0;
}

static int cmd_compact_psi(struct zsfs_ctl *ctl, const struct tok *args,
			   char *why, size_t why_cap)
{
	return set_pct(ctl, &args[0], "compact_psi", "; 0 = no PSI trigger",
		       compactor_set_psi, why, why_cap);
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

static int cmd_dict_retrain(struct zsfs_ctl *ctl, const struct tok *args,
			    char *why, size_t why_cap)
{
	zsfs_store_dict_retrain(ctl->store);
	return 0;
}

/* ---- idle and writeback (writeback.c) ---- */

static int idle_one(struct zsfs_store *store, struct zsfs_file *file,
		    void *arg)
{
	zsfs_file_idle(store, file);
	return 0;
}

/* idle all: mark every stored page idle.  No page has an age (yet), so
 * "idle SECONDS" is refused rather than taken as "all". */
static int cmd_idle(struct zsfs_ctl *ctl, const struct tok *args,
		    char *why, size_t why_cap)
{
	if (!tok_is(&args[0], "all"))
		return fail(why, why_cap, -EINVAL,
			    "idle: \"%.*s\": only \"idle all\" (pages keep no age)",
			    TOK_SHOWN(&args[0]));
	if (!ctl->fs_each_file)
		return fail(why, why_cap, -ENOTSUP, "idle: no files here");
	return ctl->fs_each_file(ctl->fs_arg, idle_one, NULL);
}

struct wb_walk {
	enum zsfs_wb_type type;
	size_t left;            /* pages still to move */
	size_t done;            /* pages moved */
};

static int wb_one(struct zsfs_store *store, struct zsfs_file *file, void *arg)
{
	struct wb_walk *w = arg;
	size_t n = 0;
	int rc;

	rc = zsfs_file_writeback(store, file, w->type, w->left, &n);
	w->done += n;
	w->left -= n;
	if (rc == 0 && !w->left)
		rc = 1; /* the limit: stop the walk */
	return rc;
}

/* Decimal digits only, 1 .. SIZE_MAX. */
static int parse_count(const char *p, size_t len, size_t *v)
{
	size_t n = 0, i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    n > (SIZE_MAX - (size_t)(p[i] - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (size_t)(p[i] - '0');
	}
	if (!n)
		return -EINVAL;
	*v = n;
	return 0;
}

/*
 * writeback type=idle|huge|huge_idle|incompressible [limit=PAGES]: move
 * such pages' objects to the backing file (zsfs_file_writeback), at most
 * PAGES of them.  -ENODEV without backing=, -ENOSPC when the file fills
 * (or a write to it fails), -EIO when its flush fails; the pages not
 * moved stay in RAM either way.
 */
static int cmd_writeback(struct zsfs_ctl *ctl, const struct tok *args,
			 char *why, size_t why_cap)
{
	static const struct { const char *name; enum zsfs_wb_type t; } types[] = {
		{ "type=idle", ZSFS_WB_IDLE },
		{ "type=huge", ZSFS_WB_HUGE },
		{ "type=huge_idle", ZSFS_WB_HUGE_IDLE },
		{ "type=incompressible", ZSFS_WB_INCOMPRESSIBLE },
	};
	struct wb_walk w = { .left = SIZE_MAX };
	bool typed = false, limited = false;
	int rc;

	for (unsigned a = 0; a < 2 && args[a].len; a++) {
		const struct tok *t = &args[a];
		bool known = false;

		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (!typed && tok_is(t, types[i].name)) {
				w.type = types[i].t;
				typed = known = true;
			}
		}
		if (!known && !limited && t->len > 6 &&
		    !memcmp(t->p, "limit=", 6)) {
			if (parse_count(t->p + 6, t->len - 6, &w.left))
				return fail(why, why_cap, -EINVAL,
					    "writeback: bad limit \"%.*s\" (pages: 1 or more, digits only)",
					    TOK_SHOWN(t));
			limited = known = true;
		}
		if (!known)
			return fail(why, why_cap, -EINVAL,
				    "writeback: bad argument \"%.*s\" (want type=idle|huge|huge_idle|incompressible and maybe limit=PAGES)",
				    TOK_SHOWN(t));
	}
	if (!typed)
		return fail(why, why_cap, -EINVAL,
			    "writeback: no type= (idle, huge, huge_idle or incompressible)");
	if (!ctl->backing)
		return fail(why, why_cap, -ENODEV,
			    "writeback: no backing file (mount with backing=PATH)");
	if (!ctl->fs_each_file)
		return fail(why, why_cap, -ENOTSUP, "writeback: no files here");
	rc = ctl->fs_each_file(ctl->fs_arg, wb_one, &w);
	if (rc == 1)
		rc = 0;
	if (rc == -ENOSPC)
		return fail(why, why_cap, rc,
			    "writeback: the backing file is full or a write to it failed after %zu pages; the rest stay in RAM",
			    w.done);
	if (rc)
		return fail(why, why_cap, rc,
			    "writeback: stopped after %zu pages: %s; the rest stay in RAM",
			    w.done, strerror(-rc));
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
	{ .name = "idle", .nargs = 1, .run = cmd_idle },
	{ .name = "writeback", .nargs = 1, .nargs_opt = 1,
	  .run = cmd_writeback },
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
	if (!ctl_may_command(ctl, uid))
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
		if (ntok - 1 < cmd->nargs ||
		    ntok - 1 > cmd->nargs + cmd->nargs_opt)
			return fail(why, why_cap, -EINVAL,
				    "%s takes %u%s argument%s, got %u", cmd->name,
				    cmd->nargs, cmd->nargs_opt ? " or more" : "",
				    cmd->nargs == 1 && !cmd->nargs_opt ? "" : "s",
				    ntok - 1);
		for (unsigned k = ntok; k <= CTL_MAX_ARGS; k++) {
			toks[k].p = "";
			toks[k].len = 0;
		}
		return cmd->run(ctl, toks + 1, why, why_cap);
	}
	return fail(why, why_cap, -EINVAL, "unknown command \"%.*s\"",
		    TOK_SHOWN(&toks[0]));
}
