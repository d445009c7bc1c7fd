/*
 * ctl_parse.c - unit tests of the .zsctl command parser, the commands and
 * the buffered writer: every command, bad inputs (which must change
 * nothing), permissions, partial and concurrent writes.  No FUSE.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_internal.h"
#include "ctl_util.h"
#include "tap.h"

#define OWNER 1000
#define OTHER 65534

static int check_fails; /* what the fake fs_check says */

static void fake_counts(void *arg, struct zsfs_fs_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->inodes = 1;
	out->dirs = 1;
}

static int fake_check(void *arg, char *msg, size_t cap)
{
	if (!check_fails)
		return 0;
	snprintf(msg, cap, "inode 42: size below last page");
	return -EUCLEAN;
}

/* The three thresholds as the text shows them, in one string. */
static const char *thresholds(struct zsfs_ctl *ctl, char *buf, size_t cap)
{
	char a[32], b[32], c[32];

	snprintf(buf, cap, "%s %s %s",
		 str_of(ctl, "compact_share_pct", a, sizeof(a)),
		 str_of(ctl, "compact_min_bytes", b, sizeof(b)),
		 str_of(ctl, "compact_psi_pct", c, sizeof(c)));
	return buf;
}

static int cmd(struct zsfs_ctl *ctl, uid_t uid, const char *s)
{
	char why[256];

	return zsfs_ctl_command(ctl, uid, s, strlen(s), why, sizeof(why));
}

/* Bad lines fail with -EINVAL, leave the limit alone and say why. */
static void test_bad(struct zsfs_ctl *ctl, struct zsfs_store *store)
{
	static const char *const bad[] = {
		"compactx", "COMPACT", "compact now", "compact 1 2 3",
		"mem_limit", "mem_limit 12x", "mem_limit -1", "mem_limit +1",
		"mem_limit 0x10", "mem_limit 1.5g", "mem_limit 10kb",
		"mem_limit k", "mem_limit 1 2", "mem_limit 101%",
		"mem_limit 99999999999999999999999",
		"mem_limit 18446744073709551615k", "mem_limit 16777216t",
		"auto_compact", "auto_compact maybe", "auto_compact on off",
		"reset_max now", "check all", "\001compact", "compact\xff",
		"\xc3\xa9", "mem_limit\n1m", "#compact",
		/* the thresholds */
		"compact_share", "compact_share 101", "compact_share 100.01",
		"compact_share 1000", "compact_share -1", "compact_share +5",
		"compact_share 5%", "compact_share 5.", "compact_share .5",
		"compact_share 2.555", "compact_share 2,5", "compact_share x",
		"compact_share 5x", "compact_share 0x5", "compact_share 1e1",
		"compact_share 5 6", "compact_share 99999999999999999999",
		"compact_min", "compact_min x", "compact_min 1m 2m",
		"compact_min 10%", "compact_min 1.5m", "compact_min -1",
		"compact_min 1kb", "compact_min 99999999999999999999999",
		"compact_min 16777216t", "compact_psi", "compact_psi 101",
		"compact_psi abc", "compact_psi 10.", "compact_psi 10.001",
		"compact_psi 10 20", "compact_psi -0", "compact_psi nan",
		"compact_sharex 5", "COMPACT_SHARE 5", "compact_share\t",
	};
	/* lines with a NUL inside: their lengths */
	static const struct {
		const char *line;
		size_t len;
	} bad_nul[] = {
		{ "comp\0act", 8 }, { "compact\0", 8 },
		{ "mem_limit 1m\0garbage", 20 },
		{ "compact_share 5\0", 16 }, { "compact_min 1\0m", 15 },
	};
	char why[256], before[128], after[128];

	/* odd values, so that a stray write of a default would show */
	TAP_OK(cmd(ctl, OWNER, "compact_share 3.25") == 0 &&
	       cmd(ctl, OWNER, "compact_min 12345") == 0 &&
	       cmd(ctl, OWNER, "compact_psi 7.5") == 0 &&
	       !strcmp(thresholds(ctl, before, sizeof(before)),
		       "3.25 12345 7.5"), "thresholds before: %s", before);
	zsfs_budget_set_mem_limit(zsfs_store_budget(store), 12345);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = zsfs_ctl_command(ctl, OWNER, bad[i], strlen(bad[i]), why,
				      sizeof(why));
		TAP_OK(rc == -EINVAL && why[0],
		       "bad line %zu fails with EINVAL (rc %d: %s)", i, rc, why);
	}
	for (size_t i = 0; i < sizeof(bad_nul) / sizeof(bad_nul[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = zsfs_ctl_command(ctl, OWNER, bad_nul[i].line, bad_nul[i].len,
				      why, sizeof(why));
		TAP_OK(rc == -EINVAL && why[0],
		       "line with NUL %zu fails with EINVAL (rc %d: %s)", i, rc,
		       why);
	}
	TAP_OK(zsfs_budget_pool_cap(zsfs_store_budget(store)) == 12345, "bad lines changed nothing");
	TAP_OK(!strcmp(thresholds(ctl, after, sizeof(after)), before),
	       "... nor the thresholds (%s)", after);
}

static void test_commands(struct zsfs_ctl *ctl, struct zsfs_store *store)
{
	char why[256];
	char *big;
	size_t n0;
	int rc;

	n0 = stat_of(ctl, "compactions_manual");
	TAP_OK(cmd(ctl, OWNER, "compact") == 0, "compact");
	TAP_OK(stat_of(ctl, "compactions_manual") == n0 + 1,
	       "compact counts as manual");
	TAP_OK(cmd(ctl, 0, "  \tcompact \r") == 0, "compact with blanks around");

	TAP_OK(cmd(ctl, OWNER, "mem_limit 64m") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)64 << 20, "mem_limit 64m");
	TAP_OK(stat_of(ctl, "mem_limit") == (size_t)64 << 20,
	       "mem_limit shows in the text");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 3K") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == 3072, "mem_limit 3K");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 2g") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)2 << 30, "mem_limit 2g");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 1t") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)1 << 40, "mem_limit 1t");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 4097") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == 4097, "mem_limit in bytes");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 10%") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) > 0, "mem_limit 10%%");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 0") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == 0, "mem_limit 0 = none");

	TAP_OK(cmd(ctl, OWNER, "reset_max") == 0, "reset_max");
	TAP_OK(stat_of(ctl, "mem_used_max") == stat_of(ctl, "mem_used_total"),
	       "after reset_max, mem_used_max = mem_used_total");

	TAP_OK(cmd(ctl, OWNER, "auto_compact off") == 0 &&
	       stat_of(ctl, "auto_compact") == 0, "auto_compact off");
	TAP_OK(cmd(ctl, OWNER, "auto_compact on") == 0 &&
	       stat_of(ctl, "auto_compact") == 1, "auto_compact on");
	TAP_OK(cmd(ctl, OWNER, "auto_compact 0") == 0 &&
	       stat_of(ctl, "auto_compact") == 0, "auto_compact 0");

	/* the thresholds, and what the text shows of them */
	{
		static const struct {
			const char *line, *share, *min, *psi;
		} good[] = {
			{ "compact_share 5", "5", NULL, NULL },
			{ "compact_share 2.5", "2.5", NULL, NULL },
			{ "compact_share 0.01", "0.01", NULL, NULL },
			{ "compact_share 100", "100", NULL, NULL },
			{ "compact_share 100.00", "100", NULL, NULL },
			{ "compact_share 0", "0", NULL, NULL },
			{ "  compact_share\t 12.3 ", "12.3", NULL, NULL },
			{ "compact_min 0", NULL, "0", NULL },
			{ "compact_min 4096", NULL, "4096", NULL },
			{ "compact_min 64k", NULL, "65536", NULL },
			{ "compact_min 3M", NULL, "3145728", NULL },
			{ "compact_min 1g", NULL, "1073741824", NULL },
			{ "compact_min 2t", NULL, "2199023255552", NULL },
			{ "compact_psi 0", NULL, NULL, "0" },
			{ "compact_psi 10", NULL, NULL, "10" },
			{ "compact_psi 25.75", NULL, NULL, "25.75" },
			{ "compact_psi 100", NULL, NULL, "100" },
		};
		char v[64];

		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			const char *name = good[i].share ? "compact_share_pct" :
					   good[i].min ? "compact_min_bytes" :
					   "compact_psi_pct";
			const char *want = good[i].share ? good[i].share :
					   good[i].min ? good[i].min :
					   good[i].psi;

			rc = cmd(ctl, i % 2 ? 0 : OWNER, good[i].line);
			str_of(ctl, name, v, sizeof(v));
			TAP_OK(rc == 0 && !strcmp(v, want),
			       "\"%s\": %s %s (rc %d, got %s)", good[i].line,
			       name, want, rc, v);
		}
		TAP_OK(cmd(ctl, OWNER, "compact_share 5") == 0 &&
		       cmd(ctl, OWNER, "compact_min 1m") == 0 &&
		       cmd(ctl, OWNER, "compact_psi 10") == 0 &&
		       !strcmp(thresholds(ctl, v, sizeof(v)), "5 1048576 10"),
		       "back to the defaults: %s", v);
		TAP_OK(cmd(ctl, OTHER, "compact_share 1") == -EPERM &&
		       cmd(ctl, OTHER, "compact_min 0") == -EPERM &&
		       cmd(ctl, OTHER, "compact_psi 0") == -EPERM &&
		       !strcmp(thresholds(ctl, v, sizeof(v)), "5 1048576 10"),
		       "another uid may not change them: EPERM, unchanged");
	}

	check_fails = 0;
	TAP_OK(cmd(ctl, OWNER, "check") == 0, "check passes");
	check_fails = 1;
	rc = zsfs_ctl_command(ctl, OWNER, "check", 5, why, sizeof(why));
	TAP_OK(rc == -EIO && strstr(why, "inode 42"),
	       "failing check: EIO with the message (%s)", why);
	check_fails = 0;

	/* idle and writeback: parsed before anything runs; this control
	 * plane has no files (fs_each_file NULL) and no backing file */
	TAP_OK(cmd(ctl, OWNER, "idle all") == -ENOTSUP, "idle all without files: ENOTSUP");
	TAP_OK(cmd(ctl, OWNER, "idle 60") == -EINVAL, "idle 60: EINVAL (no ages)");
	TAP_OK(cmd(ctl, OWNER, "idle") == -EINVAL, "idle without argument: EINVAL");
	TAP_OK(cmd(ctl, OWNER, "writeback type=idle") == -ENODEV,
	       "writeback without a backing file: ENODEV");
	TAP_OK(cmd(ctl, OWNER, "writeback limit=3 type=huge") == -ENODEV,
	       "writeback arguments in any order");
	{
		static const char *const wbad[] = {
			"writeback", "writeback type=", "writeback type=cold",
			"writeback limit=5", "writeback type=idle limit=0",
			"writeback type=idle limit=", "writeback type=idle limit=1k",
			"writeback type=idle limit=99999999999999999999999",
			"writeback type=idle type=huge", "writeback type=idle limit=1 limit=2",
			"writeback type=idle limit=1 x",
		};
		int all = 1;

		for (size_t i = 0; i < sizeof(wbad) / sizeof(wbad[0]); i++) {
			rc = zsfs_ctl_command(ctl, OWNER, wbad[i], strlen(wbad[i]),
					      why, sizeof(why));
			if (rc != -EINVAL || !why[0]) {
				tap_diag("\"%s\": %d (%s)", wbad[i], rc, why);
				all = 0;
			}
		}
		TAP_OK(all, "malformed writeback lines: EINVAL with a reason");
	}
	TAP_OK(cmd(ctl, OTHER, "writeback type=idle") == -EPERM,
	       "another uid may not write back: EPERM");

	TAP_OK(cmd(ctl, OWNER, "") == 0, "empty line ignored");
	TAP_OK(cmd(ctl, OWNER, " \t \r ") == 0, "blank line ignored");
	TAP_OK(zsfs_ctl_command(ctl, OWNER, NULL, 0, NULL, 0) == 0,
	       "NULL empty line, no why buffer");

	big = malloc(ZSFS_CTL_LINE_MAX + 2);
	memset(big, ' ', ZSFS_CTL_LINE_MAX + 1);
	memcpy(big, "compact", 7);
	TAP_OK(zsfs_ctl_command(ctl, OWNER, big, ZSFS_CTL_LINE_MAX, why,
				sizeof(why)) == 0, "a line of exactly 4096 bytes runs");
	TAP_OK(zsfs_ctl_command(ctl, OWNER, big, ZSFS_CTL_LINE_MAX + 1, why,
				sizeof(why)) == -E2BIG, "4097 bytes: E2BIG");
	free(big);
}

static void test_perms(struct zsfs_ctl *ctl, struct zsfs_store *store)
{
	char why[256];
	struct zsfs_ctl_writer *w;

	zsfs_budget_set_mem_limit(zsfs_store_budget(store), 777);
	TAP_OK(zsfs_ctl_command(ctl, OTHER, "mem_limit 1m", 12, why,
				sizeof(why)) == -EPERM && why[0],
	       "another uid gets EPERM (%s)", why);
	TAP_OK(cmd(ctl, OTHER, "compact") == -EPERM, "... for compact too");
	TAP_OK(cmd(ctl, OTHER, "bogus") == -EPERM, "... and before parsing");
	TAP_OK(zsfs_budget_pool_cap(zsfs_store_budget(store)) == 777, "EPERM changed nothing");
	TAP_OK(cmd(ctl, OTHER, "") == 0, "an empty line is fine for anyone");
	TAP_OK(cmd(ctl, 0, "mem_limit 1m") == 0, "root may");
	TAP_OK(cmd(ctl, OWNER, "mem_limit 2m") == 0, "the owner may");

	TAP_OK(zsfs_ctl_writer_open(ctl, OTHER, &w) == 0,
	       "anyone may open a writer (reading needs no right)");
	TAP_OK(zsfs_ctl_writer_write(w, "mem_limit 5m\n", 13) == -EPERM,
	       "but its writes fail with EPERM");
	TAP_OK(zsfs_ctl_writer_close(w) == 0, "close");
	TAP_OK(zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)2 << 20, "limit unchanged");
}

#define WR(w, s) zsfs_ctl_writer_write((w), (s), strlen(s))

static void test_writer(struct zsfs_ctl *ctl, struct zsfs_store *store)
{
	struct zsfs_ctl_writer *a, *b;
	char *big;

	zsfs_budget_set_mem_limit(zsfs_store_budget(store), 0);
	TAP_OK(zsfs_ctl_writer_open(ctl, OWNER, &a) == 0, "writer open");
	TAP_OK(WR(a, "mem_li") == 0 && zsfs_budget_pool_cap(zsfs_store_budget(store)) == 0,
	       "partial line waits");
	TAP_OK(WR(a, "mit 5") == 0 && zsfs_budget_pool_cap(zsfs_store_budget(store)) == 0,
	       "still waiting");
	TAP_OK(WR(a, "m\nmem_limit 6m") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)5 << 20,
	       "the line ran at its newline");
	TAP_OK(zsfs_ctl_writer_close(a) == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)6 << 20,
	       "a last line without newline runs at close");

	/* two writers, interleaved: each has its own buffer */
	zsfs_ctl_writer_open(ctl, OWNER, &a);
	zsfs_ctl_writer_open(ctl, 0, &b);
	WR(a, "mem_limit 1");
	WR(b, "mem_limit 2");
	TAP_OK(WR(a, "1m\n") == 0 && zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)11 << 20,
	       "writer a's line");
	TAP_OK(WR(b, "2m\n") == 0 && zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)22 << 20,
	       "writer b's line");
	TAP_OK(zsfs_ctl_writer_close(a) == 0 && zsfs_ctl_writer_close(b) == 0,
	       "close both, nothing pending");

	/* the first bad line stops the write */
	zsfs_ctl_writer_open(ctl, OWNER, &a);
	TAP_OK(WR(a, "mem_limit 7m\nbogus\nmem_limit 8m\n") == -EINVAL,
	       "a bad line fails the write");
	TAP_OK(zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)7 << 20,
	       "lines before it ran, lines after it did not");
	TAP_OK(WR(a, "\n\n  \nmem_limit 9m\n") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)9 << 20,
	       "the writer goes on after an error; blank lines ignored");
	TAP_OK(WR(a, "bogus") == 0, "a bad partial line is not run yet");
	TAP_OK(zsfs_ctl_writer_close(a) == -EINVAL, "it fails at close");

	/* an over-long line */
	big = malloc(5000);
	memset(big, 'x', 5000);
	zsfs_ctl_writer_open(ctl, OWNER, &a);
	TAP_OK(zsfs_ctl_writer_write(a, big, 5000) == -E2BIG,
	       "5000 bytes without newline: E2BIG");
	TAP_OK(zsfs_ctl_writer_write(a, big, 100) == 0,
	       "the rest of that line is dropped");
	TAP_OK(WR(a, "\nmem_limit 10m\n") == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)10 << 20,
	       "the next line runs");
	memcpy(big, "mem_limit 1m", 12);
	big[4999] = '\n';
	TAP_OK(zsfs_ctl_writer_write(a, big, 5000) == -E2BIG &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)10 << 20,
	       "an over-long complete line: E2BIG, not run");
	TAP_OK(WR(a, "mem_limit 4096") == 0, "partial");
	TAP_OK(zsfs_ctl_writer_write(a, big, 4090) == -E2BIG,
	       "a partial line growing past 4096: E2BIG");
	TAP_OK(zsfs_ctl_writer_close(a) == 0 &&
	       zsfs_budget_pool_cap(zsfs_store_budget(store)) == (size_t)10 << 20,
	       "the refused line does not run at close");
	free(big);

	TAP_OK(zsfs_ctl_writer_close(NULL) == 0, "close(NULL)");
}

struct thr {
	struct zsfs_ctl *ctl;
	const char *line;
	int errors;
};

/* Write @line byte by byte, many times, through a writer of one's own. */
static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct zsfs_ctl_writer *w;

	if (zsfs_ctl_writer_open(t->ctl, OWNER, &w)) {
		t->errors++;
		return NULL;
	}
	for (int i = 0; i < 200; i++)
		for (const char *p = t->line; *p; p++)
			if (zsfs_ctl_writer_write(w, p, 1))
				t->errors++;
	if (zsfs_ctl_writer_close(w))
		t->errors++;
	return NULL;
}

static void test_concurrent(struct zsfs_ctl *ctl)
{
	/* the compactor thread runs too: the thresholds race with its
	 * reads (TSan checks them under ctl->lock) */
	struct thr t[4] = {
		{ ctl, "auto_compact on\n", 0 },
		{ ctl, "reset_max\n", 0 },
		{ ctl, "mem_limit 1g\n", 0 },
		{ ctl, "compact_share 2.5\ncompact_min 4k\ncompact_psi 0\n", 0 },
	};
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	TAP_OK(!t[0].errors && !t[1].errors && !t[2].errors && !t[3].errors,
	       "four writers at once, byte by byte: no error");
}

int main(void)
{
	struct zsfs_store_params sp = { .compress = "lz4" };
	struct zsfs_ctl_params cp = {
		.owner = OWNER,
		.auto_compact = 1,
		.use_psi = 1,
		.fs_counts = fake_counts,
		.fs_check = fake_check,
	};
	struct zsfs_store *store;
	struct zsfs_ctl *ctl;
	char err[256];

	if (zsfs_store_create(&sp, &store, err, sizeof(err))) {
		printf("Bail out! store: %s\n", err);
		return 99;
	}
	cp.store = store;
	TAP_OK(zsfs_ctl_create(&cp, &ctl) == 0, "ctl create");
	TAP_OK(zsfs_ctl_start(ctl) == 0, "ctl start");
	TAP_OK(zsfs_ctl_start(ctl) == 0, "start again is harmless");

	test_bad(ctl, store);
	test_commands(ctl, store);
	test_perms(ctl, store);
	test_writer(ctl, store);
	test_concurrent(ctl);

	zsfs_ctl_destroy(ctl);
	zsfs_ctl_destroy(NULL);
	zsfs_store_destroy(store);
	return tap_done();
}
