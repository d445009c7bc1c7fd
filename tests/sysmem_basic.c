/*
 * sysmem_basic.c - TAP test of sysmem.c and of the options that feed it:
 * MemAvailable from a fake /proc/meminfo, the min_free decision at and
 * around its edge, the default min_free, oom_score_adj written to a fake
 * /proc/self/oom_score_adj (left alone when inherited, always written
 * when the user chose it), and min_free= / oom_score_adj= parsing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/options.h"
#include "../src/sysmem.h"
#include "tap.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static char base[PATH_MAX];

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

static int get_int(const char *rel)
{
	char path[PATH_MAX + 64], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "r");
	if (!f)
		return INT_MIN;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atoi(buf);
}

static void test_meminfo(void)
{
	struct zsfs_sysmem s;
	uint64_t avail = 0, total = 0;
	int rc;

	put("proc/meminfo",
	    "MemTotal:        8000000 kB\n"
	    "MemFree:          100000 kB\n"
	    "MemAvailable:     200000 kB\n"
	    "Buffers:            1000 kB\n");
	rc = zsfs_meminfo_read(base, &avail, &total);
	TAP_OK(rc == 0 &&
	       avail == UINT64_C(200000) * 1024 && total == UINT64_C(8000000) * 1024,
	       "meminfo: MemAvailable and MemTotal in bytes (%llu, %llu)",
	       (unsigned long long)avail, (unsigned long long)total);

	/* min_free 64 MiB; 200000 kB = 195.3 MiB available */
	zsfs_sysmem_init(&s, base, 64 * MiB);
	TAP_OK(zsfs_sysmem_low(&s, 1 << 20) == 0,
	       "before the first update: never low");
	TAP_OK(zsfs_sysmem_update(&s) == 0, "update reads the file");
	TAP_OK(zsfs_sysmem_low(&s, 4096) == 0, "195 MiB available, 4 KiB more: not low");
	TAP_OK(zsfs_sysmem_low(&s, (size_t)(UINT64_C(200000) * 1024 - 64 * MiB)) == 0,
	       "taking exactly down to min_free: not low");
	TAP_OK(zsfs_sysmem_low(&s, (size_t)(UINT64_C(200000) * 1024 - 64 * MiB + 1)) == 1,
	       "one byte past min_free: low");
	TAP_OK(zsfs_sysmem_low(&s, SIZE_MAX) == 1, "SIZE_MAX needed: low, no wrap");

	put("proc/meminfo", "MemTotal: 8000000 kB\nMemAvailable: 60000 kB\n");
	zsfs_sysmem_update(&s);
	TAP_OK(zsfs_sysmem_low(&s, 0) == 1, "58 MiB available, under 64 MiB: low even for 0 bytes");

	zsfs_sysmem_init(&s, base, 0);
	zsfs_sysmem_update(&s);
	TAP_OK(zsfs_sysmem_low(&s, SIZE_MAX) == 0, "min_free 0: the check is off");

	/* A kernel without MemAvailable: the last reading stays. */
	zsfs_sysmem_init(&s, base, 64 * MiB);
	zsfs_sysmem_update(&s);
	put("proc/meminfo", "MemTotal: 8000000 kB\nMemFree: 10 kB\n");
	TAP_OK(zsfs_sysmem_update(&s) == -ENODATA, "no MemAvailable line: -ENODATA");
	TAP_OK(zsfs_sysmem_low(&s, 0) == 1, "after a failed update the last reading (low) stays");
	TAP_OK(zsfs_meminfo_read("/nonexistent-root", &avail, NULL) == -ENOENT,
	       "missing meminfo: -ENOENT");
	rc = zsfs_meminfo_read(NULL, &avail, &total);
	TAP_OK(rc == 0 && avail > 0 && total >= avail,
	       "this machine: MemAvailable %llu MiB of %llu MiB",
	       (unsigned long long)(avail >> 20), (unsigned long long)(total >> 20));
}

static void test_default(void)
{
	TAP_OK(zsfs_min_free_default(2 * GiB) == 64 * MiB, "default min_free, 2 GiB RAM: 64 MiB");
	TAP_OK(zsfs_min_free_default(64 * GiB) == 64 * GiB / 100,
	       "default min_free, 64 GiB RAM: 1%% (%llu)",
	       (unsigned long long)zsfs_min_free_default(64 * GiB));
	TAP_OK(zsfs_min_free_default(0) == 64 * MiB, "default min_free, RAM unknown: 64 MiB");
}

static void test_oom_adjust(void)
{
	char msg[256];
	int old = 12345, rc;

	put("proc/self/oom_score_adj", "0\n");
	rc = zsfs_oom_adjust(base, 0, ZSFS_OOM_SCORE_ADJ_DEFAULT, &old, msg, sizeof(msg));
	TAP_OK(rc == 1 && old == 0 && get_int("proc/self/oom_score_adj") == -900,
	       "oom: 0 found, the default -900 written (rc %d, now %d)", rc,
	       get_int("proc/self/oom_score_adj"));

	put("proc/self/oom_score_adj", "300\n");
	rc = zsfs_oom_adjust(base, 0, ZSFS_OOM_SCORE_ADJ_DEFAULT, &old, msg, sizeof(msg));
	TAP_OK(rc == 0 && old == 300 && get_int("proc/self/oom_score_adj") == 300,
	       "oom: inherited 300 left alone (rc %d: %s)", rc, msg);

	rc = zsfs_oom_adjust(base, 1, -500, &old, msg, sizeof(msg));
	TAP_OK(rc == 1 && get_int("proc/self/oom_score_adj") == -500,
	       "oom: the user's -500 replaces an inherited value");
	rc = zsfs_oom_adjust(base, 1, 0, &old, msg, sizeof(msg));
	TAP_OK(rc == 1 && old == -500 && get_int("proc/self/oom_score_adj") == 0,
	       "oom: the user's 0 is written too");

	rc = zsfs_oom_adjust("/nonexistent-root", 0, -900, NULL, msg, sizeof(msg));
	TAP_OK(rc == -ENOENT && strstr(msg, "oom_score_adj"),
	       "oom: missing file: -ENOENT and a message (%s)", msg);
}

static void test_options(void)
{
	struct zsfs_options o;
	char err[256];

	zsfs_options_init(&o, 16 * GiB, 0, 0);
	TAP_OK(o.min_free == 16 * GiB / 100 * 1 && o.oom_score_adj == -900 &&
	       !o.has_oom_score_adj, "options: defaults (min_free 1%% of 16 GiB, oom -900)");
	TAP_OK(zsfs_options_parse(&o, "min_free=128m,oom_score_adj=-100", 16 * GiB,
				  err, sizeof(err)) == 0 &&
	       o.min_free == 128 * MiB && o.oom_score_adj == -100 && o.has_oom_score_adj,
	       "options: min_free=128m,oom_score_adj=-100");
	TAP_OK(zsfs_options_parse(&o, "min_free=2%", 16 * GiB, err, sizeof(err)) == 0 &&
	       o.min_free == (16 * GiB / 100 * 2) / 4096 * 4096,
	       "options: min_free=2%% of RAM");
	TAP_OK(zsfs_options_parse(&o, "min_free=0", 16 * GiB, err, sizeof(err)) == 0 &&
	       o.min_free == 0, "options: min_free=0 turns the check off");
	TAP_OK(zsfs_options_parse(&o, "oom_score_adj=1000", 0, err, sizeof(err)) == 0 &&
	       o.oom_score_adj == 1000, "options: oom_score_adj=1000");
	TAP_OK(zsfs_options_parse(&o, "oom_score_adj=-1000", 0, err, sizeof(err)) == 0 &&
	       o.oom_score_adj == -1000, "options: oom_score_adj=-1000");
	TAP_OK(zsfs_options_parse(&o, "oom_score_adj=-1001", 0, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "oom_score_adj"), "options: oom_score_adj=-1001 refused (%s)", err);
	TAP_OK(zsfs_options_parse(&o, "oom_score_adj=5x", 0, err, sizeof(err)) == -EINVAL,
	       "options: oom_score_adj=5x refused");
	TAP_OK(zsfs_options_parse(&o, "oom_score_adj", 0, err, sizeof(err)) == -EINVAL,
	       "options: oom_score_adj without a value refused");
	TAP_OK(zsfs_options_parse(&o, "min_free=lots", 0, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "min_free"), "options: min_free=lots refused (%s)", err);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX + 32], cmd[PATH_MAX + 16];

	snprintf(base, sizeof(base), "%s/zsfs-sysmem.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(dir, sizeof(dir), "%s/proc", base);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/proc/self", base);
	mkdir(dir, 0755);

	test_meminfo();
	test_default();
	test_oom_adjust();
	test_options();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 99;
	return tap_done();
}
