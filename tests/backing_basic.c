/*
 * backing_basic.c - unit test of the backing file (backing.h): opening,
 * refusing and locking the file; store/load round trips; reuse of freed
 * slots; punched blocks (st_blocks drops); flush gives the page cache
 * back; a full file is ENOSPC; a
 * failing disk (the test hook) is EIO for loads and ENOSPC for stores;
 * damaged bytes are EIO; the map is charged to the budget; and, as root,
 * a backing file on a tiny tmpfs that fills up: ENOSPC, never EIO, and
 * what was stored reads back.
 *
 * Work files live in a fresh directory under $TMPDIR (or /var/tmp); the
 * tiny tmpfs is mounted on a directory of its own inside it and unmounted
 * at exit, also when a check fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "backing.h"
#include "pagestore.h"
#include "tap.h"

#define MiB (1024u * 1024u)

static char work[256];
static char tiny_mnt[300];
static int tiny_mounted;

static void cleanup(void)
{
	char cmd[600];

	if (tiny_mounted && umount2(tiny_mnt, MNT_DETACH) == 0)
		tiny_mounted = 0;
	if (work[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", work);
	}
}

/* Deterministic bytes that compress badly, different for each @seed. */
static void fill(unsigned char *p, size_t len, unsigned seed)
{
	uint64_t x = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

static int open_at(const char *path, uint64_t size, struct zsfs_budget *bud,
		   struct zsfs_backing **bp, char *err, size_t cap)
{
	struct zsfs_backing_params p = { .path = path, .size = size,
					 .budget = bud };

	return zsfs_backing_open(&p, bp, err, cap);
}

static int check_ok(struct zsfs_backing *b)
{
	char msg[256];
	int rc = zsfs_backing_check(b, msg, sizeof(msg));

	if (rc)
		tap_diag("%s", msg);
	return rc == 0;
}

static long long blocks_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_blocks : -1;
}

/* Open, label, size, lock, refusals, unlink at close. */
static void test_open(void)
{
	char path[400], other[400], dir[400], err[256], buf[64];
	struct zsfs_backing *b, *b2;
	struct stat st;
	int fd, rc, n;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/bd", work);
	rc = open_at(path, 4 * MiB + 100, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "open creates %s (%s)", path, err);
	if (rc)
		return;
	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	TAP_OK((st.st_mode & 07777) == 0600 &&
	       st.st_size == 4 * MiB,
	       "created 0600, sized to backing_size rounded down to 4 KiB (%o, %lld)",
	       (unsigned)(st.st_mode & 07777), (long long)st.st_size);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? (int)pread(fd, buf, 15, 0) : -1;
	TAP_OK(n == 15 && !memcmp(buf, "ZSFS-BACKING-1\n", 15), "labelled in block 0");
	if (fd >= 0)
		close(fd);
	rc = open_at(path, 4 * MiB, NULL, &b2, err, sizeof(err));
	TAP_OK(rc == -EBUSY && strstr(err, "in use"),
	       "a second open is refused while the first holds it (%s)", err);
	zsfs_backing_close(b);
	TAP_OK(stat(path, &st) < 0 && errno == ENOENT, "a file the mount created is unlinked at close");

	/* a reused empty file is kept at close, labelled, and its size is
	 * the default next time */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	rc = open_at(path, 2 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "an empty file is reused (%s)", err);
	zsfs_backing_close(b);
	TAP_OK(stat(path, &st) == 0 && st.st_size == 2 * MiB, "a reused file stays at close");
	rc = open_at(path, 0, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "a labelled file is reused without backing_size (%s)", err);
	if (rc == 0) {
		struct zsfs_backing_stats bs;

		zsfs_backing_stats(b, &bs);
		TAP_OK(bs.bd_size_bytes == 2 * MiB, "its size is the file's (%zu)",
		       bs.bd_size_bytes);
		zsfs_backing_close(b);
	}
	/* a file that is all hole (truncate -s) holds nothing to lose */
	snprintf(other, sizeof(other), "%s/sparse", work);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	TAP_OK(fd >= 0 && ftruncate(fd, 3 * MiB) == 0, "a sparse 3m file (truncate -s)");
	close(fd);
	rc = open_at(other, 0, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "is reused, its size taken (%s)", err);
	if (rc == 0) {
		struct zsfs_backing_stats bs;

		zsfs_backing_stats(b, &bs);
		TAP_OK(bs.bd_size_bytes == 3 * MiB, "3m (%zu)", bs.bd_size_bytes);
		zsfs_backing_close(b);
	}

	/* refusals, and the user's file is untouched */
	snprintf(other, sizeof(other), "%s/precious", work);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	TAP_OK(fd >= 0 && write(fd, "my thesis", 9) == 9, "a user's file");
	close(fd);
	rc = open_at(other, 4 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -EINVAL && strstr(err, "not a zsfs backing file"),
	       "a non-empty foreign file is refused (%s)", err);
	TAP_OK(stat(other, &st) == 0 && st.st_size == 9, "and left as it was");
	chmod(path, 0644);
	rc = open_at(path, 4 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -EPERM && strstr(err, "chmod 600"), "a file others can read is refused (%s)", err);
	chmod(path, 0600);
	rc = open_at(path, 64 * 1024, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -EINVAL && strstr(err, "out of range"), "backing_size=64k is refused (%s)", err);
	rc = open_at(NULL, 4 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -EINVAL && strstr(err, "needs backing="), "backing_size without a path (%s)", err);
	snprintf(other, sizeof(other), "%s/nodir/bd", work);
	rc = open_at(other, 4 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -ENOENT && strstr(err, other), "a path in a missing directory (%s)", err);
	snprintf(other, sizeof(other), "%s/new-empty", work);
	rc = open_at(other, 0, NULL, &b, err, sizeof(err));
	TAP_OK(rc == -EINVAL && strstr(err, "needs backing_size"),
	       "a new file needs backing_size (%s)", err);
	TAP_OK(stat(other, &st) < 0 && errno == ENOENT, "and the refused new file is not left behind");

	/* a directory: an unnamed file, nothing appears in it */
	snprintf(dir, sizeof(dir), "%s/tmpdir", work);
	mkdir(dir, 0700);
	rc = open_at(dir, 4 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "a directory gets an unnamed file (%s)", err);
	n = 0;
	d = opendir(dir);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	TAP_OK(n == 0, "no name appears in the directory (%d)", n);
	if (rc == 0) {
		unsigned char o[100], in[100];
		uint64_t loc;

		fill(o, sizeof(o), 7);
		TAP_OK(zsfs_backing_store(b, o, sizeof(o), &loc) == 0 &&
		       zsfs_backing_load(b, loc, in, sizeof(in)) == sizeof(in) &&
		       !memcmp(o, in, sizeof(o)), "the unnamed file stores and loads");
		zsfs_backing_close(b);
	}
}

/* Round trips, bad locations, the counters, free and reuse, full. */
static void test_store(void)
{
	static const size_t lens[] = { 1, 7, 56, 57, 100, 1500, 4095, 4096 };
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	unsigned char o[ZSFS_BACKING_OBJ_MAX], in[ZSFS_BACKING_OBJ_MAX];
	uint64_t loc[N], l2, *all;
	char path[400], err[256];
	struct zsfs_backing *b;
	struct zsfs_backing_stats bs;
	size_t i, nall, fits, bad = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/bd-store", work);
	if (open_at(path, 1 * MiB, NULL, &b, err, sizeof(err))) {
		TAP_OK(0, "open %s: %s", path, err);
		return;
	}
	for (i = 0; i < N; i++) {
		fill(o, lens[i], (unsigned)i);
		rc = zsfs_backing_store(b, o, lens[i], &loc[i]);
		if (rc || zsfs_backing_loc_len(loc[i]) != lens[i] ||
		    loc[i] >> ZSFS_BACKING_LOC_BITS)
			bad++;
	}
	TAP_OK(bad == 0, "stored objects of %zu sizes, 1..4096 bytes", (size_t)N);
	for (i = 0, bad = 0; i < N; i++) {
		fill(o, lens[i], (unsigned)i);
		memset(in, 0xee, sizeof(in));
		rc = zsfs_backing_load(b, loc[i], in, sizeof(in));
		if (rc != (int)lens[i] || memcmp(o, in, lens[i]))
			bad++;
	}
	TAP_OK(bad == 0, "each loads back identical");
	TAP_OK(zsfs_backing_load(b, loc[6], in, 4094) == -EINVAL, "a destination too small is EINVAL");
	TAP_OK(zsfs_backing_load(b, 0, in, sizeof(in)) == -EINVAL, "location 0 is EINVAL");
	TAP_OK(zsfs_backing_load(b, (UINT64_C(1) << 40) << 13 | 10, in, sizeof(in)) == -EINVAL,
	       "a location past the file is EINVAL");
	TAP_OK(zsfs_backing_store(b, o, 0, &l2) == -EINVAL &&
	       zsfs_backing_store(b, o, 4097, &l2) == -EINVAL, "lengths 0 and 4097 are EINVAL");
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_count == N && bs.bd_writes == N && bs.bd_reads == N &&
	       bs.failed_reads == 0 && bs.failed_writes == 0,
	       "bd_count %zu, bd_writes %zu, bd_reads %zu", bs.bd_count,
	       bs.bd_writes, bs.bd_reads);
	{
		size_t want = 0;

		for (i = 0; i < N; i++)
			want += (lens[i] + 8 + 63) / 64 * 64;
		TAP_OK(bs.bd_used_bytes == want, "bd_used_bytes %zu = slots taken %zu",
		       bs.bd_used_bytes, want);
	}
	TAP_OK(check_ok(b), "the map checks");
	TAP_OK(zsfs_backing_free(b, loc[3]) == 0, "free");
	TAP_OK(zsfs_backing_free(b, loc[3]) == -EINVAL, "a double free is EINVAL");
	TAP_OK(check_ok(b), "the map still checks after the refused free");
	for (i = 0; i < N; i++)
		if (i != 3)
			zsfs_backing_free(b, loc[i]);
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_count == 0 && bs.bd_used_bytes == 0, "all freed: bd_count 0");

	/* fill with raw pages: 255 blocks of 64 slots, 65 slots each */
	fits = (1 * MiB / 4096 - 1) * 64 / 65;
	all = calloc(fits + 10, sizeof(*all));
	for (nall = 0; nall < fits + 10; nall++) {
		fill(o, 4096, (unsigned)nall + 100);
		rc = zsfs_backing_store(b, o, 4096, &all[nall]);
		if (rc)
			break;
	}
	TAP_OK(rc == -ENOSPC && nall == fits,
	       "a full file is ENOSPC after %zu raw pages (expected %zu)", nall, fits);
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_full == 1 && bs.failed_writes == 0, "counted in bd_full (%zu), not failed_writes",
	       bs.bd_full);
	TAP_OK(check_ok(b), "the full map checks");
	/* reuse: free one in the middle, the next store takes its place */
	zsfs_backing_free(b, all[nall / 2]);
	fill(o, 4096, 9999);
	rc = zsfs_backing_store(b, o, 4096, &l2);
	TAP_OK(rc == 0 && l2 == all[nall / 2], "a freed place is reused");
	all[nall / 2] = l2;
	TAP_OK(zsfs_backing_store(b, o, 4096, &l2) == -ENOSPC, "and then it is full again");
	/* a small object still fits in the tail left by 65-slot objects */
	fill(o, 56, 5);
	rc = zsfs_backing_store(b, o, 56, &l2);
	TAP_OK(rc == 0, "a small object fits in the leftover slots");
	if (rc == 0)
		zsfs_backing_free(b, l2);
	for (i = 0, bad = 0; i < nall; i++) {
		fill(o, 4096, i == nall / 2 ? 9999 : (unsigned)i + 100);
		if (zsfs_backing_load(b, all[i], in, sizeof(in)) != 4096 ||
		    memcmp(o, in, 4096))
			bad++;
	}
	TAP_OK(bad == 0, "every page of the full file reads back");
	for (i = 0; i < nall; i++)
		zsfs_backing_free(b, all[i]);
	TAP_OK(check_ok(b), "emptied, the map checks");
	free(all);
	zsfs_backing_close(b);
}

/* Freed blocks are punched: st_blocks goes down. */
static void test_punch(void)
{
	unsigned char o[3000];
	uint64_t loc[400];
	char path[400], err[256];
	struct zsfs_backing *b;
	struct zsfs_backing_stats bs;
	long long before, full, after;
	size_t i, n = sizeof(loc) / sizeof(loc[0]);

	snprintf(path, sizeof(path), "%s/bd-punch", work);
	if (open_at(path, 4 * MiB, NULL, &b, err, sizeof(err))) {
		TAP_OK(0, "open %s: %s", path, err);
		return;
	}
	before = blocks_of(path);
	for (i = 0; i < n; i++) {
		fill(o, sizeof(o), (unsigned)i);
		if (zsfs_backing_store(b, o, sizeof(o), &loc[i]))
			break;
	}
	TAP_OK(i == n, "stored %zu objects of 3000 bytes", i);
	n = i;
	full = blocks_of(path);
	TAP_OK(full - before >= (long long)(n * 3000 / 512),
	       "st_blocks grew by what was written (%lld -> %lld)", before, full);
	/* free every other: few blocks become empty */
	for (i = 0; i < n; i += 2)
		zsfs_backing_free(b, loc[i]);
	for (i = 1; i < n; i += 2)
		zsfs_backing_free(b, loc[i]);
	after = blocks_of(path);
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_punched >= n * 3000 / 4096 - 2,
	       "the emptied blocks were punched (%zu)", bs.bd_punched);
	TAP_OK(after <= before + 8, "st_blocks went back down (%lld -> %lld, started at %lld)",
	       full, after, before);
	TAP_OK(check_ok(b), "the map checks after punching");
	zsfs_backing_close(b);
}

/* A failing disk (the hook) and damaged bytes. */
static void test_errors(void)
{
	unsigned char o[2000], in[4096];
	uint64_t a, c;
	char path[400], err[256];
	struct zsfs_backing *b;
	struct zsfs_backing_stats bs;
	int fd;

	snprintf(path, sizeof(path), "%s/bd-err", work);
	if (open_at(path, 4 * MiB, NULL, &b, err, sizeof(err))) {
		TAP_OK(0, "open %s: %s", path, err);
		return;
	}
	fill(o, sizeof(o), 1);
	zsfs_backing_store(b, o, sizeof(o), &a);
	zsfs_backing_debug_fail(b, 1, 0);
	TAP_OK(zsfs_backing_load(b, a, in, sizeof(in)) == -EIO, "a failing read is EIO");
	TAP_OK(zsfs_backing_load(b, a, in, sizeof(in)) == (int)sizeof(o) &&
	       !memcmp(in, o, sizeof(o)), "the next read of the same object works");
	zsfs_backing_debug_fail(b, 0, 1);
	TAP_OK(zsfs_backing_store(b, o, sizeof(o), &c) == -ENOSPC, "a failing write is ENOSPC");
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.failed_reads == 1 && bs.failed_writes == 1 && bs.bd_count == 1 &&
	       bs.bd_used_bytes == (2000 + 8 + 63) / 64 * 64,
	       "failed_reads 1, failed_writes 1, the failed store holds nothing");
	TAP_OK(check_ok(b), "the map checks after the failed store");
	/* damage one byte of the object on disk */
	fd = open(path, O_WRONLY);
	TAP_OK(fd >= 0 && pwrite(fd, "X", 1, (off_t)((a >> 13) * 64 + 8 + 500)) == 1,
	       "one byte of the object damaged on disk");
	if (fd >= 0)
		close(fd);
	TAP_OK(zsfs_backing_load(b, a, in, sizeof(in)) == -EIO, "damaged bytes read as EIO");
	/* a location with the wrong length fails the check too */
	TAP_OK(zsfs_backing_load(b, (a & ~UINT64_C(8191)) | 1999, in, sizeof(in)) == -EIO,
	       "a stale location (wrong length) reads as EIO");
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.failed_reads == 3, "failed_reads counts them (%zu)", bs.failed_reads);

	/* A real read failure, no hook: the file cut short under the
	 * store.  Only the objects past the cut fail. */
	{
		uint64_t loc[200];
		size_t i, n = sizeof(loc) / sizeof(loc[0]), cut, past = 0, bad = 0, eio = 0;

		for (i = 0; i < n; i++) {
			fill(o, sizeof(o), (unsigned)i + 50);
			if (zsfs_backing_store(b, o, sizeof(o), &loc[i]))
				break;
		}
		TAP_OK(i == n, "stored %zu more objects", n);
		cut = (size_t)((loc[n / 2] >> 13) * 64 + 100);
		fd = open(path, O_WRONLY);
		TAP_OK(fd >= 0 && ftruncate(fd, (off_t)cut) == 0, "the file cut at %zu bytes", cut);
		if (fd >= 0)
			close(fd);
		for (i = 0; i < n; i++) {
			int rc;

			fill(o, sizeof(o), (unsigned)i + 50);
			rc = zsfs_backing_load(b, loc[i], in, sizeof(in));
			past += (loc[i] >> 13) * 64 + 8 + sizeof(o) > cut;
			if (rc == -EIO)
				eio++;
			else if (rc != (int)sizeof(o) || memcmp(in, o, sizeof(o)))
				bad++;
		}
		TAP_OK(eio == past && past >= n / 2 && bad == 0,
		       "only the %zu objects past the cut are EIO (%zu), the others read back",
		       past, eio);
	}
	zsfs_backing_close(b);
}

/* Pages of @path resident in the page cache, of its first @len bytes. */
static long resident(const char *path, size_t len)
{
	unsigned char *vec;
	long n = 0;
	size_t pages = len / 4096;
	void *m;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	vec = calloc(pages, 1);
	if (vec && mincore(m, len, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	else
		n = -1;
	free(vec);
	munmap(m, len);
	return n;
}

/* flush writes the stores out and gives their page cache back. */
static void test_flush(void)
{
	unsigned char o[3000], in[4096];
	uint64_t loc[1400];
	char path[400], err[256];
	struct zsfs_backing *b;
	size_t i, n = sizeof(loc) / sizeof(loc[0]), bad = 0;
	long before, after;

	snprintf(path, sizeof(path), "%s/bd-flush", work);
	if (open_at(path, 8 * MiB, NULL, &b, err, sizeof(err))) {
		TAP_OK(0, "open %s: %s", path, err);
		return;
	}
	TAP_OK(zsfs_backing_flush(b) == 0, "a flush with nothing stored does nothing");
	for (i = 0; i < n; i++) {
		fill(o, sizeof(o), (unsigned)i);
		if (zsfs_backing_store(b, o, sizeof(o), &loc[i]))
			break;
	}
	TAP_OK(i == n, "stored %zu objects, about 4 MiB", n);
	before = resident(path, 8 * MiB);
	TAP_OK(zsfs_backing_flush(b) == 0, "flush");
	after = resident(path, 8 * MiB);
	TAP_OK(before >= (long)(n * 3000 / 4096 / 2) && after >= 0 && after <= before / 10,
	       "the stores' page cache is given back: %ld pages resident before, %ld after",
	       before, after);
	for (i = 0; i < n; i++) {
		fill(o, sizeof(o), (unsigned)i);
		if (zsfs_backing_load(b, loc[i], in, sizeof(in)) != (int)sizeof(o) ||
		    memcmp(o, in, sizeof(o)))
			bad++;
	}
	TAP_OK(bad == 0, "every object reads back from the disk");
	zsfs_backing_close(b);
}

/* The map is charged to the budget, and refused when size= is too small. */
static void test_budget(void)
{
	struct zsfs_store_params sp = { .compress = "lz4", .limit_bytes = 1 * MiB };
	struct zsfs_store *store;
	struct zsfs_budget *bud;
	struct zsfs_backing *b;
	char path[400], err[256];
	size_t held0;
	int rc;

	if (zsfs_store_create(&sp, &store, err, sizeof(err))) {
		TAP_OK(0, "store: %s", err);
		return;
	}
	bud = zsfs_store_budget(store);
	held0 = zsfs_budget_held(bud, ZSFS_HOLD_BACKING);
	snprintf(path, sizeof(path), "%s/bd-budget", work);
	rc = open_at(path, 64 * MiB, bud, &b, err, sizeof(err));
	TAP_OK(rc == 0, "open 64m with size=1m (%s)", err);
	if (rc == 0) {
		size_t held = zsfs_budget_held(bud, ZSFS_HOLD_BACKING);

		TAP_OK(held == zsfs_backing_mem_bytes(b) && held >= 64 * MiB / 512,
		       "the map is charged: %zu bytes (1 bit per 64-byte slot)", held);
		zsfs_backing_close(b);
	}
	TAP_OK(zsfs_budget_held(bud, ZSFS_HOLD_BACKING) == held0, "and uncharged at close");
	rc = open_at(path, 1024 * MiB, bud, &b, err, sizeof(err));
	TAP_OK(rc == -ENOSPC && strstr(err, "more than size="),
	       "1g needs a 2 MiB map, more than size=1m: refused (%s)", err);
	TAP_OK(access(path, F_OK) < 0, "and the refused file is not left behind");
	TAP_OK(zsfs_budget_held(bud, ZSFS_HOLD_BACKING) == held0, "nothing stays charged");
	zsfs_store_destroy(store);
}

/* A backing file on a tiny filesystem that fills up. */
static void test_tiny_fs(void)
{
	unsigned char o[3000], in[4096];
	uint64_t loc[2000];
	char path[400], err[256];
	struct zsfs_backing *b;
	struct zsfs_backing_stats bs;
	size_t n, i, bad = 0;
	int rc = 0;

	snprintf(tiny_mnt, sizeof(tiny_mnt), "%s/tiny", work);
	mkdir(tiny_mnt, 0700);
	if (geteuid() != 0 || mount("tmpfs", tiny_mnt, "tmpfs", 0, "size=1m,mode=0700") < 0) {
		tap_diag("skipping the tiny filesystem: cannot mount a tmpfs (%s)",
			 geteuid() ? "not root" : strerror(errno));
		return;
	}
	tiny_mounted = 1;
	snprintf(path, sizeof(path), "%s/bd", tiny_mnt);
	rc = open_at(path, 16 * MiB, NULL, &b, err, sizeof(err));
	TAP_OK(rc == 0, "a 16m backing file on a 1m tmpfs opens (sparse) (%s)", err);
	if (rc)
		goto out;
	for (n = 0; n < sizeof(loc) / sizeof(loc[0]); n++) {
		fill(o, sizeof(o), (unsigned)n);
		rc = zsfs_backing_store(b, o, sizeof(o), &loc[n]);
		if (rc)
			break;
	}
	zsfs_backing_stats(b, &bs);
	TAP_OK(rc == -ENOSPC && n > 100 && n < 1000,
	       "the filesystem fills up: ENOSPC, not EIO, after %zu objects (rc %d)", n, rc);
	TAP_OK(bs.failed_writes == 1 && bs.bd_full == 0 && bs.bd_count == n,
	       "counted as a failed write (%zu); bd_count %zu", bs.failed_writes, bs.bd_count);
	for (i = 0; i < n; i++) {
		fill(o, sizeof(o), (unsigned)i);
		if (zsfs_backing_load(b, loc[i], in, sizeof(in)) != (int)sizeof(o) ||
		    memcmp(o, in, sizeof(o)))
			bad++;
	}
	TAP_OK(bad == 0, "all %zu earlier objects read back identical", n);
	TAP_OK(check_ok(b), "the map checks after the failed store");
	/* room again after frees (the punched blocks went back to tmpfs) */
	for (i = 0; i < n / 2; i++)
		zsfs_backing_free(b, loc[i]);
	fill(o, sizeof(o), 4242);
	rc = zsfs_backing_store(b, o, sizeof(o), &loc[0]);
	TAP_OK(rc == 0, "after frees, stores work again");
	zsfs_backing_close(b);
out:
	if (umount2(tiny_mnt, 0) == 0)
		tiny_mounted = 0;
	TAP_OK(!tiny_mounted, "the tiny tmpfs is unmounted");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(work, sizeof(work), "%s/zsfs-backing-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(work)) {
		work[0] = '\0';
		tap_skip_all("cannot make a work directory");
	}
	atexit(cleanup);
	test_open();
	test_store();
	test_punch();
	test_errors();
	test_flush();
	test_budget();
	test_tiny_fs();
	return tap_done();
}
