/*
 * ctl_text.c - unit tests of the .zsctl text (zram's nine mm_stat names
 * first and in order, integers, the class table), the user.zsfs.* xattrs
 * and the background compactor (its policy, PSI parsing, a real run and a
 * prompt stop).  No FUSE.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_internal.h"
#include "ctl_util.h"
#include "tap.h"

#define OWNER 1000
#define OTHER 65534

static void fake_counts(void *arg, struct zsfs_fs_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->inodes = 7;
	out->inodes_max = 1000;
	out->files = 4;
	out->dirs = 2;
	out->symlinks = 1;
}

/* A percentage as the text prints it: an integer, or one or two decimals
 * of which the last is not 0 ("5", "2.5", "0.25"; not "2.50", "2."). */
static int pct_form(const char *v)
{
	size_t n = strspn(v, "0123456789"), d;

	if (!n)
		return 0;
	if (!v[n])
		return 1;
	if (v[n] != '.')
		return 0;
	d = strspn(v + n + 1, "0123456789");
	return (d == 1 || d == 2) && !v[n + 1 + d] && v[n + d] != '0';
}

/* Remove the line starting with @prefix from the NUL-terminated @text. */
static void drop_line(char *text, const char *prefix)
{
	char *p = strstr(text, prefix), *nl;

	if (!p || (p != text && p[-1] != '\n'))
		return;
	nl = strchr(p, '\n');
	if (nl)
		memmove(p, nl + 1, strlen(nl + 1) + 1);
	else
		*p = '\0';
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fill the pool with @n objects of sizes that spread over many classes,
 * then free every other one: plenty to compact. */
static void churn(zs_pool *pool, zs_handle *h, size_t n)
{
	char buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		size_t sz = 200 + (i * 37) % 3000;

		if (zs_malloc(pool, sz, &h[i])) {
			h[i] = 0;
			continue;
		}
		zs_write(pool, h[i], buf, sz);
	}
	for (size_t i = 0; i < n; i += 2) {
		zs_free(pool, h[i]);
		h[i] = 0;
	}
}

static void unchurn(zs_pool *pool, zs_handle *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		zs_free(pool, h[i]);
		h[i] = 0;
	}
}

static void test_text(struct zsfs_ctl *ctl, zs_pool *pool)
{
	static const char *const mm_stat[] = {
		"orig_data_size", "compr_data_size", "mem_used_total",
		"mem_limit", "mem_used_max", "same_pages", "pages_compacted",
		"huge_pages", "huge_pages_since",
	};
	static const char *const required[] = {
		"inodes", "inodes_max", "files", "dirs", "symlinks",
		"meta_bytes", "pool_pages", "pool_objects", "dirty_pages",
		"compactions_manual", "compactions_auto", "compactions_enospc",
		"last_compact_usec", "last_compact_pages", "auto_compact",
		"compact_share_pct", "compact_min_bytes", "compact_psi_pct",
		"heap_bytes", "compactions_waited", "size_bytes",
		"backing_bytes", "bd_count", "bd_reads", "bd_writes",
		"failed_reads", "failed_writes", "bd_size_bytes",
	};
	/* the last lines before the blank one, in order */
	static const char *const tail[] = {
		"auto_compact", "compact_share_pct", "compact_min_bytes",
		"compact_psi_pct", "codec",
	};
	char prev[5][64] = { "", "", "", "", "" };
	int tail_ok = 1;
	char *text, *p;
	size_t len, n = 0, rows = 0;
	int ints_ok = 1, order_ok = 1, codec = 0, blank = 0, header = 0;
	int rows_ok = 1, cols = 0;
	struct zs_pool_stats ps;

	TAP_OK(zsfs_ctl_stats_text(ctl, &text, &len) == 0 && text,
	       "stats text");
	TAP_OK(strlen(text) == len, "length matches");
	/* walk the lines by hand: strtok would skip the blank one */
	for (p = text; *p; ) {
		char *nl = strchr(p, '\n');
		char name[64];
		char val[64];

		if (!nl)
			break;
		*nl = '\0';
		if (blank) {
			if (!header) {
				static const char h[] = "class size "
					"objs_per_zspage pages_per_zspage ";

				header = !strncmp(p, h, sizeof(h) - 1) &&
					 strstr(p, " pages_freeable");
				for (char *q = p; *q; q++)
					cols += *q == ' ';
				cols++;
			} else {
				int c = 0;
				char *end;

				rows++;
				for (char *q = p; *q; ) {
					strtoull(q, &end, 10);
					if (end == q)
						rows_ok = 0;
					c++;
					q = end;
					while (*q == ' ')
						q++;
				}
				if (c != cols)
					rows_ok = 0;
			}
		} else if (!*p) {
			blank = 1;
		} else if (sscanf(p, "%63s %63s", name, val) == 2) {
			if (n < 9 && strcmp(name, mm_stat[n]))
				order_ok = 0;
			if (!strcmp(name, "codec"))
				codec = !strcmp(val, "lz4");
			else if (!strcmp(name, "size_source"))
				ints_ok &= !strcmp(val, "none"); /* no size= */
			else if (val[strspn(val, "0123456789")] || codec)
				ints_ok = 0; /* non-integer, or after codec */
			/* keep the last five names */
			memmove(prev[0], prev[1], sizeof(prev[0]) * 4);
			snprintf(prev[4], sizeof(prev[4]), "%s", name);
			n++;
		} else {
			ints_ok = 0;
		}
		p = nl + 1;
	}
	TAP_OK(order_ok && n > 9, "the nine mm_stat names come first, in order");
	TAP_OK(ints_ok, "every value is a plain integer (the default "
	       "percentages are whole), codec last");
	for (size_t i = 0; i < 5; i++)
		if (strcmp(prev[i], tail[i]))
			tail_ok = 0;
	TAP_OK(tail_ok, "auto_compact, the three thresholds, codec end the "
	       "list (%s %s %s %s %s)", prev[0], prev[1], prev[2], prev[3],
	       prev[4]);
	TAP_OK(codec, "codec lz4 line");
	TAP_OK(blank && header, "blank line, then the class table header");
	TAP_OK(rows > 0 && rows_ok, "%zu class rows of %d integers", rows, cols);
	free(text);

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		TAP_OK(stat_of(ctl, required[i]) != (size_t)-1, "has %s",
		       required[i]);
	TAP_OK(stat_of(ctl, "inodes") == 7 && stat_of(ctl, "files") == 4 &&
	       stat_of(ctl, "meta_bytes") == 12345,
	       "fs counts and the budget's holders come through");
	zs_pool_stats(pool, &ps);
	TAP_OK(stat_of(ctl, "mem_used_total") == ps.mem_bytes,
	       "mem_used_total = the pool's mem_bytes");
	TAP_OK(stat_of(ctl, "pool_pages") == ps.pages, "pool_pages");
	TAP_OK(stat_of(ctl, "mem_used_max") >= ps.mem_bytes,
	       "mem_used_max >= mem_used_total");
}

/* The thresholds' lines: defaults, then the form of each kind of value. */
static void test_thresholds_text(struct zsfs_ctl *ctl)
{
	static const struct {
		const char *cmd, *name, *shown;
	} cases[] = {
		{ "compact_share 2.5", "compact_share_pct", "2.5" },
		{ "compact_share 2.50", "compact_share_pct", "2.5" },
		{ "compact_share 0.25", "compact_share_pct", "0.25" },
		{ "compact_share 0.05", "compact_share_pct", "0.05" },
		{ "compact_share 99.99", "compact_share_pct", "99.99" },
		{ "compact_share 100", "compact_share_pct", "100" },
		{ "compact_share 007", "compact_share_pct", "7" },
		{ "compact_share 0", "compact_share_pct", "0" },
		{ "compact_psi 12.34", "compact_psi_pct", "12.34" },
		{ "compact_psi 0", "compact_psi_pct", "0" },
		{ "compact_min 4k", "compact_min_bytes", "4096" },
		{ "compact_min 0", "compact_min_bytes", "0" },
	};
	char v[64];

	TAP_OK(!strcmp(str_of(ctl, "compact_share_pct", v, sizeof(v)), "5"),
	       "default compact_share_pct 5 (%s)", v);
	TAP_OK(!strcmp(str_of(ctl, "compact_min_bytes", v, sizeof(v)),
		       "1048576"), "default compact_min_bytes 1048576 (%s)", v);
	TAP_OK(!strcmp(str_of(ctl, "compact_psi_pct", v, sizeof(v)), "10"),
	       "default compact_psi_pct 10 (%s)", v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = zsfs_ctl_command(ctl, OWNER, cases[i].cmd,
					  strlen(cases[i].cmd), NULL, 0);

		str_of(ctl, cases[i].name, v, sizeof(v));
		TAP_OK(rc == 0 && !strcmp(v, cases[i].shown) && pct_form(v),
		       "%s: %s %s (got %d, \"%s\")", cases[i].cmd,
		       cases[i].name, cases[i].shown, rc, v);
	}
	/* back to the defaults for what follows */
	zsfs_ctl_command(ctl, OWNER, "compact_share 5", 15, NULL, 0);
	zsfs_ctl_command(ctl, OWNER, "compact_min 1m", 14, NULL, 0);
	zsfs_ctl_command(ctl, OWNER, "compact_psi 10", 14, NULL, 0);
	TAP_OK(stat_of(ctl, "compact_share_pct") == 5 &&
	       stat_of(ctl, "compact_min_bytes") == 1 << 20 &&
	       stat_of(ctl, "compact_psi_pct") == 10, "defaults set back");
}

static void test_xattr(struct zsfs_ctl *ctl)
{
	struct zsfs_file_stats fst = {
		.stored_bytes = 5000,
		.pages_compressed = 3,
		.pages_raw = 1,
		.pages_same = 2,
		.pages_dirty = 1,
		.pages_dict = 2,
		.last_page_plus1 = 9,
	};
	char *v = NULL, *text = NULL;
	size_t len = 0, tlen = 0, n0;
	int rc;

	TAP_OK(zsfs_ctl_xattr_is_reserved("user.zsfs.stats") &&
	       zsfs_ctl_xattr_is_reserved("user.zsfs.whatever") &&
	       !zsfs_ctl_xattr_is_reserved("user.zsfs") &&
	       !zsfs_ctl_xattr_is_reserved("user.other") &&
	       !zsfs_ctl_xattr_is_reserved("trusted.zsfs.stats"),
	       "is_reserved");

	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.stored", &fst, 40000, &v,
				  &len) == 0 && len == 4 && !memcmp(v, "5000", 4),
	       "stored");
	free(v);
	/* 40000 bytes = 10 pages, 7 with data: 3 holes */
	/* Get first: the arguments of TAP_OK are evaluated in no set order,
	 * so "v" must not be read in the same call that sets it. */
	rc = zsfs_ctl_xattr_get(ctl, "user.zsfs.pages", &fst, 40000, &v, &len);
	TAP_OK(rc == 0 &&
	       !strcmp(v, "compressed 3 raw 1 same 2 holes 3 dirty 1 dict 2") &&
	       len == strlen(v), "pages: %s", rc == 0 ? v : "(error)");
	free(v);
	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.pages", NULL, 0, &v, &len) == 0 &&
	       !strcmp(v, "compressed 0 raw 0 same 0 holes 0 dirty 0 dict 0"),
	       "pages of a non-regular inode: zeros");
	free(v);
	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.stored", NULL, 0, &v, &len) == 0 &&
	       !strcmp(v, "0"), "stored of a non-regular inode: 0");
	free(v);

	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.stats", NULL, 0, &v, &len) == 0 &&
	       zsfs_ctl_stats_text(ctl, &text, &tlen) == 0,
	       "stats xattr and text");
	/* nothing runs in between, so they are equal but for the heap,
	 * which the first text itself may have grown */
	drop_line(v, "heap_bytes ");
	drop_line(text, "heap_bytes ");
	TAP_OK(!strcmp(v, text), "user.zsfs.stats is the .zsctl text");
	free(v);
	free(text);

	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.nope", &fst, 0, &v, &len) ==
	       -ENODATA, "unknown name: ENODATA");
	TAP_OK(zsfs_ctl_xattr_get(ctl, "user.zsfs.compact", &fst, 0, &v, &len) ==
	       -ENODATA, "compact is write-only: ENODATA");

	n0 = stat_of(ctl, "compactions_manual");
	TAP_OK(zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "1", 1) == 0,
	       "set compact 1");
	TAP_OK(zsfs_ctl_xattr_set(ctl, 0, "user.zsfs.compact", "1\n", 2) == 0,
	       "set compact 1\\n (root)");
	TAP_OK(stat_of(ctl, "compactions_manual") == n0 + 2,
	       "both counted as manual compactions");
	TAP_OK(zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "2", 1) == -EINVAL &&
	       zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "", 0) == -EINVAL &&
	       zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "1\0", 2) == -EINVAL &&
	       zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "11", 2) == -EINVAL &&
	       zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.compact", "1\n\n", 3) == -EINVAL,
	       "other values: EINVAL");
	TAP_OK(stat_of(ctl, "compactions_manual") == n0 + 2,
	       "bad values ran nothing");
	TAP_OK(zsfs_ctl_xattr_set(ctl, OTHER, "user.zsfs.compact", "1", 1) == -EPERM,
	       "another uid: EPERM");
	TAP_OK(zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.stats", "1", 1) == -EPERM &&
	       zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.stored", "1", 1) == -EPERM &&
	       zsfs_ctl_xattr_set(ctl, 0, "user.zsfs.pages", "1", 1) == -EPERM,
	       "read-only names: EPERM");
	TAP_OK(zsfs_ctl_xattr_set(ctl, OWNER, "user.zsfs.nope", "1", 1) == -ENOTSUP,
	       "unknown name: ENOTSUP");
}

static void test_policy(void)
{
	struct ac_thresholds c = {
		.min_share_bp = 500,
		.min_bytes = 1 << 20,
		.psi_bp = 1000,
	};
	double a = -1;

	TAP_OK(!compactor_should_run(&c, 0, 1000, 1, 1, 99.0),
	       "nothing freeable: never, even under pressure");
	TAP_OK(compactor_should_run(&c, 256, 1000, 0, 0, 0),
	       "25%% and 1 MiB: run");
	TAP_OK(!compactor_should_run(&c, 255, 1000, 0, 0, 0),
	       "under 1 MiB: not yet");
	TAP_OK(!compactor_should_run(&c, 300, 100000, 0, 0, 0),
	       "under 5%%: not yet");
	TAP_OK(compactor_should_run(&c, 300, 100000, 1, 0, 0),
	       "under 5%% but settled and over 1 MiB: run");
	TAP_OK(!compactor_should_run(&c, 255, 100000, 1, 0, 0),
	       "settled but under 1 MiB: not yet");
	TAP_OK(compactor_should_run(&c, 1, 100000, 0, 1, 12.5),
	       "memory pressure: run for one page");
	TAP_OK(!compactor_should_run(&c, 1, 100000, 0, 1, 9.99),
	       "pressure below the threshold: not yet");
	TAP_OK(!compactor_should_run(&c, 1, 100000, 0, 0, 50),
	       "no PSI: its figure is ignored");
	TAP_OK(compactor_should_run(&c, 41, 41, 1, 0, 0),
	       "settled and everything freeable (files gone): under 1 MiB too");
	TAP_OK(!compactor_should_run(&c, 41, 41, 0, 0, 0),
	       "everything freeable but still changing: wait");
	TAP_OK(!compactor_should_run(&c, 40, 41, 1, 0, 0),
	       "settled, small, something live: not worth it");
	TAP_OK(compactor_should_run(&c, 1, 100000, 0, 1, 10.0),
	       "pressure exactly at the threshold: run");

	/* tuned thresholds */
	c.min_share_bp = 250; /* 2.5% */
	TAP_OK(compactor_should_run(&c, 2500, 100000, 0, 0, 0) &&
	       !compactor_should_run(&c, 2499, 100000, 0, 0, 0),
	       "share 2.5%%: 2500 of 100000 pages run, 2499 do not");
	c.min_share_bp = 10000;
	TAP_OK(!compactor_should_run(&c, 99999, 100000, 0, 0, 0) &&
	       compactor_should_run(&c, 100000, 100000, 0, 0, 0),
	       "share 100%%: only when every page is freeable");
	c.min_share_bp = 0;
	TAP_OK(compactor_should_run(&c, 256, 1000000, 0, 0, 0) &&
	       !compactor_should_run(&c, 255, 1000000, 0, 0, 0),
	       "share 0: the bytes alone decide");
	c.min_bytes = 0;
	TAP_OK(compactor_should_run(&c, 1, 1000000, 0, 0, 0),
	       "share 0 and min 0: one freeable page is enough");
	TAP_OK(!compactor_should_run(&c, 0, 1000000, 1, 1, 99.0),
	       "... but never none");
	c.min_share_bp = 500;
	c.min_bytes = (size_t)1 << 30;
	TAP_OK(!compactor_should_run(&c, 200000, 1000000, 1, 0, 0),
	       "min 1 GiB: 20%% of the pool, settled, 781 MiB: not yet");
	TAP_OK(compactor_should_run(&c, 41, 41, 1, 0, 0),
	       "min 1 GiB: an emptied pool still goes back once settled");
	c.psi_bp = 2050; /* 20.5% */
	TAP_OK(!compactor_should_run(&c, 1, 100000, 0, 1, 20.49) &&
	       compactor_should_run(&c, 1, 100000, 0, 1, 20.5),
	       "psi 20.5: 20.49 does not trigger, 20.50 does");
	c.psi_bp = 0;
	TAP_OK(!compactor_should_run(&c, 1, 100000, 0, 1, 100.0),
	       "psi 0: no pressure triggers it, not even 100");

	TAP_OK(psi_parse_some_avg10("some avg10=12.34 avg60=1.00 avg300=0.00 "
				    "total=1234\nfull avg10=0.00 avg60=0.00 "
				    "avg300=0.00 total=0\n", &a) == 0 &&
	       a > 12.33 && a < 12.35, "PSI some avg10 parsed");
	TAP_OK(psi_parse_some_avg10("full avg10=1.00", &a) == -EINVAL &&
	       psi_parse_some_avg10("some avg60=1.00", &a) == -EINVAL &&
	       psi_parse_some_avg10("some avg10=x", &a) == -EINVAL &&
	       psi_parse_some_avg10("", &a) == -EINVAL,
	       "malformed PSI text refused");
}

static void test_auto(struct zsfs_store *store)
{
	struct zsfs_ctl_params cp = {
		.store = store,
		.owner = OWNER,
		.auto_compact = 0,
		.ac_interval_ms = 20,
		.ac_min_bytes = 4096,
	};
	zs_pool *pool = zsfs_store_pool(store);
	size_t n = 20000, can, auto0, manual0;
	zs_handle *h = calloc(n, sizeof(*h));
	struct zsfs_ctl *ctl;
	double t0;

	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0 && zsfs_ctl_start(ctl) == 0,
	       "ctl with auto compaction off, 20 ms polls");
	/* the counters are the store's budget's: earlier tests' count too */
	auto0 = stat_of(ctl, "compactions_auto");
	manual0 = stat_of(ctl, "compactions_manual");
	churn(pool, h, n);
	can = zs_can_compact(pool);
	TAP_OK(can > 0, "churn left %zu freeable pages", can);
	usleep(200 * 1000);
	TAP_OK(stat_of(ctl, "compactions_auto") == auto0 &&
	       zs_can_compact(pool) == can, "off: nothing compacted");
	TAP_OK(zsfs_ctl_command(ctl, OWNER, "auto_compact on", 15, NULL, 0) == 0,
	       "auto_compact on");
	t0 = now_sec();
	while (stat_of(ctl, "compactions_auto") == auto0 && now_sec() - t0 < 5)
		usleep(10 * 1000);
	TAP_OK(stat_of(ctl, "compactions_auto") > auto0,
	       "compacted without a command in %.0f ms",
	       (now_sec() - t0) * 1000);
	TAP_OK(stat_of(ctl, "last_compact_pages") > 0 &&
	       stat_of(ctl, "pages_compacted") > 0,
	       "last_compact_pages %zu, pages_compacted %zu",
	       stat_of(ctl, "last_compact_pages"),
	       stat_of(ctl, "pages_compacted"));
	TAP_OK(stat_of(ctl, "compactions_manual") == manual0,
	       "none counted as manual");
	TAP_OK(stat_of(ctl, "mem_used_max") > stat_of(ctl, "mem_used_total"),
	       "mem_used_max kept the peak before compaction");
	zsfs_ctl_command(ctl, OWNER, "reset_max", 9, NULL, 0);
	TAP_OK(stat_of(ctl, "mem_used_max") == stat_of(ctl, "mem_used_total"),
	       "reset_max brings it down");
	unchurn(pool, h, n);
	zsfs_ctl_destroy(ctl);

	/* a long interval must not delay destroy */
	cp.ac_interval_ms = 10000;
	cp.auto_compact = 1;
	zsfs_ctl_create(&cp, &ctl);
	zsfs_ctl_start(ctl);
	usleep(50 * 1000);
	t0 = now_sec();
	zsfs_ctl_destroy(ctl);
	TAP_OK(now_sec() - t0 < 0.5, "destroy wakes the thread at once (%.3f s)",
	       now_sec() - t0);
	free(h);
}

/*
 * Thresholds set at create (ac_exact: zeros are zeros) and lowered at run
 * time: with a 10 s interval, only the wake-up of the command can make the
 * thread compact within a second.
 */
static void test_tuned(struct zsfs_store *store)
{
	struct zsfs_ctl_params cp = {
		.store = store,
		.owner = OWNER,
		.auto_compact = 1,
		.ac_interval_ms = 10000,
		.ac_exact = 1,
		.ac_min_share_bp = 10000,
		.ac_min_bytes = (size_t)1 << 30,
		.ac_psi_bp = 0,
		.use_psi = 1,
	};
	zs_pool *pool = zsfs_store_pool(store);
	size_t n = 20000, can, auto0;
	zs_handle *h = calloc(n, sizeof(*h));
	struct zsfs_ctl *ctl;
	double t0;
	char v[64];

	cp.ac_min_share_bp = 10001;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == -EINVAL,
	       "create refuses a share over 100%%");
	cp.ac_min_share_bp = 10000;
	cp.ac_psi_bp = 10001;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == -EINVAL,
	       "create refuses a PSI threshold over 100%%");
	cp.ac_psi_bp = 0;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0 && zsfs_ctl_start(ctl) == 0,
	       "ctl with share 100%%, min 1 GiB, no PSI, 10 s polls");
	TAP_OK(!strcmp(str_of(ctl, "compact_psi_pct", v, sizeof(v)), "0"),
	       "ac_exact: a PSI threshold of 0 stays 0 (%s)", v);
	TAP_OK(stat_of(ctl, "compact_share_pct") == 100 &&
	       stat_of(ctl, "compact_min_bytes") == (size_t)1 << 30,
	       "the text shows the thresholds given");
	auto0 = stat_of(ctl, "compactions_auto");
	churn(pool, h, n);
	can = zs_can_compact(pool);
	TAP_OK(can > 0, "churn left %zu freeable pages", can);
	TAP_OK(zsfs_ctl_command(ctl, OWNER, "compact_share 99.99", 19, NULL,
				0) == 0, "compact_share 99.99 (wakes the thread)");
	usleep(300 * 1000);
	TAP_OK(stat_of(ctl, "compactions_auto") == auto0 &&
	       zs_can_compact(pool) == can,
	       "woken, but over the thresholds: nothing compacted");
	TAP_OK(zsfs_ctl_command(ctl, OWNER, "compact_min 0", 13, NULL, 0) == 0,
	       "compact_min 0");
	usleep(300 * 1000);
	TAP_OK(stat_of(ctl, "compactions_auto") == auto0,
	       "min 0 but share 99.99%%: still nothing");
	t0 = now_sec();
	TAP_OK(zsfs_ctl_command(ctl, OWNER, "compact_share 0", 15, NULL, 0) == 0,
	       "compact_share 0");
	while (stat_of(ctl, "compactions_auto") == auto0 && now_sec() - t0 < 5)
		usleep(10 * 1000);
	TAP_OK(stat_of(ctl, "compactions_auto") > auto0 && now_sec() - t0 < 2,
	       "compacted %.0f ms after the command, not at the 10 s poll",
	       (now_sec() - t0) * 1000);
	TAP_OK(zs_can_compact(pool) < can, "freeable pages went down (%zu -> %zu)",
	       can, zs_can_compact(pool));
	unchurn(pool, h, n);
	zsfs_ctl_destroy(ctl);

	/* zero-initialised thresholds without ac_exact: the defaults */
	memset(&cp, 0, sizeof(cp));
	cp.store = store;
	cp.owner = OWNER;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0 &&
	       stat_of(ctl, "compact_share_pct") == 5 &&
	       stat_of(ctl, "compact_min_bytes") == ZSFS_AC_MIN_BYTES &&
	       stat_of(ctl, "compact_psi_pct") == 10,
	       "zeroed params get the defaults 5%%, 1 MiB, 10%%");
	zsfs_ctl_destroy(ctl);
	free(h);
}

/* zram's bd_stat and io_stat lines come from the backing file's
 * counters, and its map shows as backing_bytes. */
static void test_backing_text(struct zsfs_store *store)
{
	struct zsfs_ctl_params cp = { .owner = OWNER, .store = store };
	struct zsfs_backing_params bp = { .size = 4 << 20,
					  .budget = zsfs_store_budget(store) };
	struct zsfs_backing *b;
	struct zsfs_ctl *ctl;
	const char *tmp = getenv("TMPDIR");
	char dir[256], err[256], obj[1000], in[4096];
	uint64_t l1, l2;

	snprintf(dir, sizeof(dir), "%s", tmp && *tmp ? tmp : "/var/tmp");
	bp.path = dir; /* a directory: an unnamed file, nothing to clean */
	if (zsfs_backing_open(&bp, &b, err, sizeof(err))) {
		TAP_OK(0, "backing file in %s: %s", dir, err);
		return;
	}
	cp.backing = b;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0, "ctl with a backing file");
	memset(obj, 'z', sizeof(obj));
	zsfs_backing_store(b, obj, sizeof(obj), &l1);
	zsfs_backing_store(b, obj, 10, &l2);
	zsfs_backing_load(b, l1, in, sizeof(in));
	zsfs_backing_debug_fail(b, 1, 1);
	zsfs_backing_load(b, l2, in, sizeof(in));
	zsfs_backing_store(b, obj, 10, &l2);
	TAP_OK(stat_of(ctl, "bd_count") == 2 && stat_of(ctl, "bd_writes") == 2 &&
	       stat_of(ctl, "bd_reads") == 1, "bd_stat: bd_count 2 bd_reads 1 bd_writes 2");
	TAP_OK(stat_of(ctl, "failed_reads") == 1 && stat_of(ctl, "failed_writes") == 1,
	       "io_stat: failed_reads 1 failed_writes 1");
	TAP_OK(stat_of(ctl, "bd_size_bytes") == 4 << 20 &&
	       stat_of(ctl, "bd_used_bytes") == (1008 + 63) / 64 * 64 + 64,
	       "bd_size_bytes, bd_used_bytes");
	TAP_OK(stat_of(ctl, "backing_bytes") == zsfs_backing_mem_bytes(b),
	       "backing_bytes is the map the budget holds (%zu)", zsfs_backing_mem_bytes(b));
	zsfs_ctl_destroy(ctl);
	zsfs_backing_close(b);
}

int main(void)
{
	struct zsfs_store_params sp = { .compress = "lz4" };
	struct zsfs_ctl_params cp = {
		.owner = OWNER,
		.auto_compact = 0,
		.fs_counts = fake_counts,
	};
	struct zsfs_store *store;
	struct zsfs_ctl *ctl;
	zs_handle *h;
	size_t n = 5000;
	char err[256];

	if (zsfs_store_create(&sp, &store, err, sizeof(err))) {
		printf("Bail out! store: %s\n", err);
		return 99;
	}
	cp.store = store;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0, "ctl create");
	h = calloc(n, sizeof(*h));
	churn(zsfs_store_pool(store), h, n);
	/* a holder's bytes show as "<name>_bytes": metadata as meta_bytes */
	zsfs_budget_add(zsfs_store_budget(store), ZSFS_HOLD_META, 12345);
	test_text(ctl, zsfs_store_pool(store));
	zsfs_budget_sub(zsfs_store_budget(store), ZSFS_HOLD_META, 12345);
	test_thresholds_text(ctl);
	test_xattr(ctl);
	unchurn(zsfs_store_pool(store), h, n);
	free(h);
	zsfs_ctl_destroy(ctl);

	test_policy();
	test_auto(store);
	test_tuned(store);
	test_backing_text(store);
	zsfs_store_destroy(store);
	return tap_done();
}
