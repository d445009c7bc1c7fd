/*
 * parse_agree.c - the mount options and the .zsctl commands read sizes
 * and percentages alike: one table of good and bad values is given to
 * both parsers (zsfs_options_parse: size=, compact_min=, compact_share=,
 * compact_psi=; zsfs_ctl_command: mem_limit, compact_min, compact_share,
 * compact_psi), and each row must be accepted by both with the same value
 * or refused by both for the same reason.  No FUSE, no mount.
 *
 * The one intended difference: size= also refuses a cap under 256 KiB
 * (a mount that small is useless), which mem_limit allows (lowering the
 * cap below the use is how one stops writes); the size rows below 256 KiB
 * check exactly that.  Values are printable ASCII without blanks or
 * commas: the command line refuses other bytes and splits at blanks, and
 * the option string splits at commas, before any value is parsed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_internal.h"
#include "options.h"
#include "parse.h"
#include "tap.h"

#define OWNER 1000
#define SIZE_FLOOR ((uint64_t)256 << 10) /* size='s least cap but 0 */
#define SENTINEL ((size_t)12345)         /* mem_limit before each row */

enum { OK = 0, BAD = -EINVAL, BIG = -ERANGE };

/* A size: what both parsers must make of it.  @pct: "N%", whose bytes are
 * N% of this machine's RAM, worked out below. */
struct size_row {
	const char *text;
	int want;        /* OK, BAD or BIG */
	uint64_t bytes;  /* for OK rows without % */
	unsigned pct;    /* for OK rows with %: N */
	int is_pct;
};

#define Y(t, b) { t, OK, (b), 0, 0 }
#define P(t, n) { t, OK, 0, (n), 1 }
#define N(t, e) { t, (e), 0, 0, 0 }
#define NP(t, e) { t, (e), 0, 0, 1 } /* refused, and written with % */

static const struct size_row sizes[] = {
	Y("0", 0), Y("1", 1), Y("4096", 4096), Y("000", 0),
	Y("007k", 7 << 10), Y("64k", 64 << 10), Y("255k", 255 << 10),
	Y("262143", 262143), Y("262144", 262144), Y("256k", 256 << 10),
	Y("256K", 256 << 10), Y("64m", 64 << 20), Y("3M", 3 << 20),
	Y("2g", (uint64_t)2 << 30), Y("1t", (uint64_t)1 << 40),
	Y("1p", (uint64_t)1 << 50), Y("1E", (uint64_t)1 << 60),
	Y("15e", (uint64_t)15 << 60), Y("16383p", (uint64_t)16383 << 50),
	Y("18446744073709551615", UINT64_MAX),
	P("0%", 0), P("1%", 1), P("10%", 10), P("33%", 33), P("50%", 50),
	P("100%", 100), P("007%", 7),
	N("-1", BAD), N("+1", BAD), N("0x10", BAD), N("1.5g", BAD),
	N("10kb", BAD), N("k", BAD), N("1z", BAD), N("12x", BAD),
	N("1e3", BAD), N("1_000", BAD), N("1kk", BAD),
	NP("%", BAD), NP("1%%", BAD), NP("1k%", BAD), NP("5%k", BAD),
	NP("0.5%", BAD), NP("-5%", BAD),
	NP("101%", BIG), NP("1000%", BIG),
	N("16e", BIG), N("16384p", BIG), N("16777216t", BIG),
	N("18446744073709551616", BIG), N("99999999999999999999999", BIG),
	N("18446744073709551615k", BIG),
};

/* A percentage, in hundredths when good. */
struct pct_row {
	const char *text;
	int want;
	unsigned bp;
};

static const struct pct_row pcts[] = {
	{ "0", OK, 0 }, { "5", OK, 500 }, { "2.5", OK, 250 },
	{ "2.50", OK, 250 }, { "0.01", OK, 1 }, { "99.99", OK, 9999 },
	{ "100", OK, 10000 }, { "100.00", OK, 10000 }, { "12.3", OK, 1230 },
	{ "007", OK, 700 },
	{ "-1", BAD, 0 }, { "+5", BAD, 0 }, { "5%", BAD, 0 }, { "5.", BAD, 0 },
	{ ".5", BAD, 0 }, { "2.555", BAD, 0 }, { "x", BAD, 0 },
	{ "5x", BAD, 0 }, { "0x5", BAD, 0 }, { "1e1", BAD, 0 },
	{ "nan", BAD, 0 }, { "1.2.3", BAD, 0 }, { "101x", BAD, 0 },
	{ "101", BIG, 0 }, { "100.01", BIG, 0 }, { "1000", BIG, 0 },
	{ "99999999999999999999", BIG, 0 },
};

/* N% of @ram as the grammar says: rounded down to 4 KiB pages. */
static uint64_t pct_of(uint64_t ram, unsigned n)
{
	unsigned __int128 v = (unsigned __int128)ram * n / 100;

	return (uint64_t)v / 4096 * 4096;
}

/* The reason a message gives, as parse.c words it; "" for none. */
static const char *reason(const char *msg)
{
	if (strstr(msg, zsfs_parse_strerror(-ERANGE)))
		return zsfs_parse_strerror(-ERANGE);
	if (strstr(msg, zsfs_parse_strerror(-EINVAL)))
		return zsfs_parse_strerror(-EINVAL);
	return "";
}

static const char *want_reason(int want)
{
	return want == OK ? "" : zsfs_parse_strerror(want);
}

/* "key=text" through the option parser; *@o as it stands after. */
static int opt(struct zsfs_options *o, uint64_t ram, const char *key,
	       const char *text, char *err, size_t cap)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s", key, text);
	zsfs_options_init(o, ram, OWNER, OWNER);
	err[0] = '\0';
	return zsfs_options_parse(o, buf, ram, err, cap);
}

/* "name text" through the command parser. */
static int cmd(struct zsfs_ctl *ctl, const char *name, const char *text,
	       char *why, size_t cap)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s %s", name, text);
	why[0] = '\0';
	return zsfs_ctl_command(ctl, OWNER, buf, strlen(buf), why, cap);
}

static void ac_now(struct zsfs_ctl *ctl, struct ac_thresholds *th)
{
	compactor_get(&ctl->comp, NULL, th);
}

static void test_sizes(struct zsfs_ctl *ctl, struct zsfs_store *store,
		       uint64_t ram)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const struct size_row *r = &sizes[i];
		uint64_t want = r->is_pct ? pct_of(ram, r->pct) : r->bytes;
		int gram_ok = r->want == OK;
		int floor_ok = want == 0 || want >= SIZE_FLOOR;
		struct zsfs_options o;
		char err[256], why[256];
		int orc, crc;

		/* size= and mem_limit */
		orc = opt(&o, ram, "size", r->text, err, sizeof(err));
		zsfs_budget_set_mem_limit(zsfs_store_budget(store), SENTINEL);
		crc = cmd(ctl, "mem_limit", r->text, why, sizeof(why));
		if (gram_ok && floor_ok)
			TAP_OK(orc == 0 && crc == 0 && o.size == want &&
			       zsfs_budget_pool_cap(zsfs_store_budget(store)) == want,
			       "\"%s\": size= and mem_limit both %llu (size= %d %llu, mem_limit %d %zu)",
			       r->text, (unsigned long long)want, orc,
			       (unsigned long long)o.size, crc,
			       zsfs_budget_pool_cap(zsfs_store_budget(store)));
		else if (gram_ok)
			TAP_OK(orc == -EINVAL && strstr(err, "at least 256k") &&
			       crc == 0 && zsfs_budget_pool_cap(zsfs_store_budget(store)) == want,
			       "\"%s\": %llu, under size='s floor: mem_limit takes it, size= says \"%s\"",
			       r->text, (unsigned long long)want, err);
		else
			TAP_OK(orc == -EINVAL && crc == -EINVAL &&
			       zsfs_budget_pool_cap(zsfs_store_budget(store)) == SENTINEL &&
			       !strcmp(reason(err), want_reason(r->want)) &&
			       !strcmp(reason(why), want_reason(r->want)),
			       "\"%s\": both refuse it as %s (size=: %s; mem_limit: %s)",
			       r->text, want_reason(r->want), err, why);

		/* compact_min, the same grammar without % */
		{
			struct ac_thresholds th;
			int ok = gram_ok && !r->is_pct;
			/* % is not of this grammar, whatever follows */
			const char *why_not = r->is_pct ? zsfs_parse_strerror(-EINVAL) :
					      want_reason(r->want);

			cmd(ctl, "compact_min", "12345", why, sizeof(why));
			orc = opt(&o, ram, "compact_min", r->text, err, sizeof(err));
			crc = cmd(ctl, "compact_min", r->text, why, sizeof(why));
			ac_now(ctl, &th);
			if (ok)
				TAP_OK(orc == 0 && crc == 0 && o.compact_min == want &&
				       th.min_bytes == want,
				       "\"%s\": compact_min= and compact_min both %llu",
				       r->text, (unsigned long long)want);
			else
				TAP_OK(orc == -EINVAL && crc == -EINVAL &&
				       th.min_bytes == 12345 &&
				       !strcmp(reason(err), why_not) &&
				       !strcmp(reason(why), why_not),
				       "\"%s\": compact_min= and compact_min both refuse it as %s (%s; %s)",
				       r->text, why_not, err, why);
		}
	}
}

static void test_pcts(struct zsfs_ctl *ctl, uint64_t ram)
{
	static const char *const keys[] = { "compact_share", "compact_psi" };

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
			const struct pct_row *r = &pcts[i];
			struct zsfs_options o;
			struct ac_thresholds th;
			char err[256], why[256];
			unsigned obp, cbp;
			int orc, crc;

			cmd(ctl, keys[k], "3.25", why, sizeof(why));
			orc = opt(&o, ram, keys[k], r->text, err, sizeof(err));
			crc = cmd(ctl, keys[k], r->text, why, sizeof(why));
			ac_now(ctl, &th);
			obp = k ? o.compact_psi_bp : o.compact_share_bp;
			cbp = k ? th.psi_bp : th.min_share_bp;
			if (r->want == OK)
				TAP_OK(orc == 0 && crc == 0 && obp == r->bp &&
				       cbp == r->bp,
				       "%s \"%s\": both %u hundredths (option %u, command %u)",
				       keys[k], r->text, r->bp, obp, cbp);
			else
				TAP_OK(orc == -EINVAL && crc == -EINVAL &&
				       cbp == 325 &&
				       !strcmp(reason(err), want_reason(r->want)) &&
				       !strcmp(reason(why), want_reason(r->want)),
				       "%s \"%s\": both refuse it as %s (%s; %s)",
				       keys[k], r->text, want_reason(r->want), err,
				       why);
		}
	}
}

int main(void)
{
	struct zsfs_store_params sp = { .compress = "lz4" };
	struct zsfs_ctl_params cp = { .owner = OWNER };
	uint64_t ram = zsfs_ram_bytes();
	struct zsfs_store *store;
	struct zsfs_ctl *ctl;
	char err[256];

	if (!ram) {
		printf("1..0 # SKIP the system does not say how much RAM it has\n");
		return 77;
	}
	if (zsfs_store_create(&sp, &store, err, sizeof(err))) {
		printf("Bail out! store: %s\n", err);
		return 99;
	}
	cp.store = store;
	if (zsfs_ctl_create(&cp, &ctl)) {
		printf("Bail out! ctl create\n");
		return 99;
	}
	/* the compactor thread is not started: nothing else changes the
	 * thresholds or the cap */
	test_sizes(ctl, store, ram);
	test_pcts(ctl, ram);
	zsfs_ctl_destroy(ctl);
	zsfs_store_destroy(store);
	return tap_done();
}
