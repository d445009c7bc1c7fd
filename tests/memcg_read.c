/*
 * memcg_read.c - TAP test of memcg.c on fake /proc and cgroup trees: v1
 * (the smallest limit on the path wins, the v1 "unlimited" value is no
 * limit, a changed limit is seen at the next read), v2 (memory.max,
 * memory.high, "max"), the hybrid layout with memory on the unified
 * hierarchy, a container that sees only its own subtree, and no memory
 * controller at all.  Last, one reading of the real machine's (printed,
 * not compared: it is whatever the test runs in).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/memcg.h"
#include "tap.h"

static char base[PATH_MAX / 2];

/* Write @text to BASE/@path, creating the directories. */
static void put(const char *path, const char *text)
{
	char full[PATH_MAX], *p;
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", base, path);
	for (p = full + strlen(base) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(full, 0755);
		*p = '/';
	}
	f = fopen(full, "w");
	if (!f) {
		perror(full);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

/* A fresh fake root: BASE/NAME. */
static const char *fresh(const char *name)
{
	static char root[PATH_MAX];
	char cmd[PATH_MAX + 16];

	snprintf(root, sizeof(root), "%s/%s", base, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		exit(99);
	mkdir(root, 0755);
	return name;
}

static int read_root(const char *name, struct zsfs_memcg_reading *r)
{
	char root[PATH_MAX];
	struct zsfs_memcg *mc;
	int rc;

	snprintf(root, sizeof(root), "%s/%s", base, name);
	rc = zsfs_memcg_open(root, &mc);
	if (rc < 0)
		return rc;
	rc = zsfs_memcg_read(mc, r);
	zsfs_memcg_close(mc);
	return rc;
}

#define V1_UNLIMITED "9223372036854771712\n"
#define V1_MOUNTS \
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" \
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n" \
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

static void test_v1(void)
{
	struct zsfs_memcg_reading r;
	const char *n = fresh("v1");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	put(F("proc/self/cgroup"),
	    "9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n");
	put(F("proc/self/mountinfo"), V1_MOUNTS);
	put(F("sys/fs/cgroup/memory/memory.limit_in_bytes"), V1_UNLIMITED);
	put(F("sys/fs/cgroup/memory/process_api/memory.limit_in_bytes"),
	    "1073741824\n");
	put(F("sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes"),
	    V1_UNLIMITED);
	put(F("sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes"),
	    "12345\n");
	TAP_OK(read_root(n, &r) == 0, "v1: read");
	TAP_OK(r.version == 1, "v1: version 1 (got %d)", r.version);
	TAP_OK(r.limit == 1073741824, "v1: the parent's 1 GiB limit applies (got %llu)",
	       (unsigned long long)r.limit);
	TAP_OK(strcmp(r.source, "cgroup v1 /sys/fs/cgroup/memory/process_api/memory.limit_in_bytes") == 0,
	       "v1: source names the parent's file (%s)", r.source);
	TAP_OK(r.has_usage && r.usage == 12345, "v1: usage from the cgroup's own usage_in_bytes");

	/* A smaller limit set later on the cgroup itself is seen. */
	put(F("sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes"),
	    "268435456\n");
	read_root(n, &r);
	TAP_OK(r.limit == 268435456 &&
	       strcmp(r.source, "cgroup v1 /sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes") == 0,
	       "v1: the cgroup's own smaller limit wins (%llu, %s)",
	       (unsigned long long)r.limit, r.source);

	/* Unlimited everywhere: no limit, named by the cgroup's file. */
	put(F("sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes"),
	    V1_UNLIMITED);
	put(F("sys/fs/cgroup/memory/process_api/memory.limit_in_bytes"),
	    V1_UNLIMITED);
	read_root(n, &r);
	TAP_OK(r.version == 1 && r.limit == 0, "v1 unlimited: limit 0 = none (got %llu)",
	       (unsigned long long)r.limit);
	TAP_OK(strstr(r.source, "abc/memory.limit_in_bytes: no limit") != NULL,
	       "v1 unlimited: source says no limit (%s)", r.source);
#undef F
}

/* One open context, limit changed between reads (the poll case). */
static void test_reread(void)
{
	struct zsfs_memcg_reading r1, r2;
	struct zsfs_memcg *mc;
	char root[PATH_MAX];
	const char *n = fresh("reread");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	put(F("proc/self/cgroup"), "4:memory:/a\n0::/\n");
	put(F("proc/self/mountinfo"), V1_MOUNTS);
	put(F("sys/fs/cgroup/memory/memory.limit_in_bytes"), V1_UNLIMITED);
	put(F("sys/fs/cgroup/memory/a/memory.limit_in_bytes"), "536870912\n");
	snprintf(root, sizeof(root), "%s/%s", base, n);
	TAP_OK(zsfs_memcg_open(root, &mc) == 0, "reread: open");
	zsfs_memcg_read(mc, &r1);
	put(F("sys/fs/cgroup/memory/a/memory.limit_in_bytes"), "134217728\n");
	zsfs_memcg_read(mc, &r2);
	TAP_OK(r1.limit == 536870912 && r2.limit == 134217728,
	       "reread: the same context sees the lowered limit (%llu -> %llu)",
	       (unsigned long long)r1.limit, (unsigned long long)r2.limit);
	TAP_OK(!r2.has_usage, "reread: no usage file, no usage");
	zsfs_memcg_close(mc);
#undef F
}

static void test_v2(void)
{
	struct zsfs_memcg_reading r;
	int rc;
	const char *n = fresh("v2");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	put(F("proc/self/cgroup"), "0::/system.slice/zsfs.service\n");
	put(F("proc/self/mountinfo"),
	    "24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n");
	put(F("sys/fs/cgroup/cgroup.controllers"), "cpu io memory pids\n");
	put(F("sys/fs/cgroup/system.slice/memory.max"), "1073741824\n");
	put(F("sys/fs/cgroup/system.slice/memory.high"), "max\n");
	put(F("sys/fs/cgroup/system.slice/zsfs.service/memory.max"), "max\n");
	put(F("sys/fs/cgroup/system.slice/zsfs.service/memory.high"), "536870912\n");
	put(F("sys/fs/cgroup/system.slice/zsfs.service/memory.current"), "4096\n");
	rc = read_root(n, &r);
	TAP_OK(rc == 0 && r.version == 2, "v2: version 2 (got %d)", r.version);
	TAP_OK(r.limit == 536870912, "v2: memory.high below the parent's memory.max wins (got %llu)",
	       (unsigned long long)r.limit);
	TAP_OK(strcmp(r.source, "cgroup v2 /sys/fs/cgroup/system.slice/zsfs.service/memory.high") == 0,
	       "v2: source names memory.high (%s)", r.source);
	TAP_OK(r.has_usage && r.usage == 4096, "v2: usage from memory.current");

	put(F("sys/fs/cgroup/system.slice/zsfs.service/memory.high"), "max\n");
	read_root(n, &r);
	TAP_OK(r.limit == 1073741824 &&
	       strcmp(r.source, "cgroup v2 /sys/fs/cgroup/system.slice/memory.max") == 0,
	       "v2: without memory.high the parent's memory.max (%llu, %s)",
	       (unsigned long long)r.limit, r.source);

	put(F("sys/fs/cgroup/system.slice/memory.max"), "max\n");
	read_root(n, &r);
	TAP_OK(r.version == 2 && r.limit == 0 && strstr(r.source, "no limit"),
	       "v2: \"max\" everywhere is no limit (%s)", r.source);
#undef F
}

/* Hybrid: v1 hierarchies for some controllers, memory on the unified. */
static void test_hybrid(void)
{
	struct zsfs_memcg_reading r;
	int rc;
	const char *n = fresh("hybrid");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	put(F("proc/self/cgroup"), "3:cpu,cpuacct:/x\n1:name=systemd:/user.slice\n0::/user.slice\n");
	put(F("proc/self/mountinfo"),
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:4 - cgroup2 cgroup2 rw\n");
	put(F("sys/fs/cgroup/cpu,cpuacct/x/cpu.shares"), "1024\n");
	put(F("sys/fs/cgroup/unified/user.slice/memory.max"), "2147483648\n");
	put(F("sys/fs/cgroup/unified/user.slice/memory.high"), "max\n");
	rc = read_root(n, &r);
	TAP_OK(rc == 0 && r.version == 2 && r.limit == 2147483648u,
	       "hybrid, memory on the unified hierarchy: v2 limit (v%d, %llu)",
	       r.version, (unsigned long long)r.limit);
	TAP_OK(strcmp(r.source, "cgroup v2 /sys/fs/cgroup/unified/user.slice/memory.max") == 0,
	       "hybrid: source (%s)", r.source);
#undef F
}

/* A container that sees only its own subtree of the v1 hierarchy. */
static void test_container(void)
{
	struct zsfs_memcg_reading r;
	int rc;
	const char *n = fresh("container");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	put(F("proc/self/cgroup"), "5:memory:/docker/abc\n0::/\n");
	put(F("proc/self/mountinfo"),
	    "600 590 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n");
	put(F("sys/fs/cgroup/memory/memory.limit_in_bytes"), "104857600\n");
	rc = read_root(n, &r);
	TAP_OK(rc == 0 && r.version == 1 && r.limit == 104857600,
	       "container: the mount's root is the cgroup (v%d, %llu)",
	       r.version, (unsigned long long)r.limit);
	TAP_OK(strcmp(r.source, "cgroup v1 /sys/fs/cgroup/memory/memory.limit_in_bytes") == 0,
	       "container: source (%s)", r.source);
#undef F
}

static void test_none(void)
{
	struct zsfs_memcg_reading r;
	const char *n = fresh("none");
	char p[256];

#define F(rel) (snprintf(p, sizeof(p), "%s/%s", n, rel), p)
	/* a memory line, but no memory hierarchy mounted, no cgroup2 */
	put(F("proc/self/cgroup"), "4:memory:/a\n1:cpu:/\n");
	put(F("proc/self/mountinfo"),
	    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n");
	TAP_OK(read_root(n, &r) == 0 && r.version == 0 && r.limit == 0 && !r.has_usage,
	       "no memory hierarchy mounted: version 0, no limit");
	TAP_OK(strcmp(r.source, "no memory cgroup") == 0, "none: source (%s)", r.source);
	n = fresh("empty");
	TAP_OK(read_root(n, &r) == 0 && r.version == 0 && r.limit == 0,
	       "no /proc at all: version 0, no limit");
#undef F
}

int main(void)
{
	struct zsfs_memcg_reading r;
	struct zsfs_memcg *mc;
	const char *tmp = getenv("TMPDIR");
	char cmd[PATH_MAX + 16];

	snprintf(base, sizeof(base), "%s/zsfs-memcg.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 99;
	}
	test_v1();
	test_reread();
	test_v2();
	test_hybrid();
	test_container();
	test_none();

	memset(&r, 0, sizeof(r));
	TAP_OK(zsfs_memcg_open(NULL, &mc) == 0 && zsfs_memcg_read(mc, &r) == 0,
	       "this machine: open and read");
	tap_diag("this machine: v%d limit %llu usage %llu%s; %s", r.version,
		 (unsigned long long)r.limit, (unsigned long long)r.usage,
		 r.has_usage ? "" : " (unknown)", r.source);
	zsfs_memcg_close(mc);
	zsfs_memcg_close(NULL);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 99;
	return tap_done();
}
