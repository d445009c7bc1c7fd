/*
 * mt_stress.c - concurrency: many threads creating, renaming, linking,
 * unlinking, writing, reading and truncating files in shared directories
 * while another thread forces compaction through the ctl file.
 *
 * Every file describes itself, so any thread can check any file it opens
 * and the survivors can all be checked at the end:
 *
 *  - "f*" files are immutable once visible: a thread builds one under a
 *    private tmp name (writes in random chunks, junk past the end, truncates
 *    down and up and down again, header last), then renames it over a shared
 *    name.  Content: struct rec_hdr {magic, id, len, sum} + len body bytes
 *    derived from id; sum is the hash of the body.  Shared names are also
 *    renamed, hard-linked and unlinked at random.  Readers verify the whole
 *    file every time: a rename is atomic, so a torn or mixed file is a bug.
 *  - "log*" files take appends (O_APPEND, one record per write call) from
 *    every thread at once: a sequence of records, each self-checking.  While
 *    the run goes on, a reader may see a last record still incomplete;
 *    at the end none may be.
 *  - "slot*" files are fixed arrays of BLOCK-byte blocks (unaligned to
 *    pages) that threads overwrite in place with pwrite; each block names its
 *    slot and index and carries its hash.  Checked at the end.
 *
 *  - "f*" files are also copied with copy_file_range (twice, a copy of
 *    the copy) and both copies rewritten in place as new "f*" files: the
 *    writes land on pages the filesystem may share with the source, which
 *    must read as before.
 *
 *  - "sub*" directories are made, emptied and removed, renamed over each
 *    other between the shared directories, and get hard links of "f*" files.
 *
 * At the end the directory is walked: every file verifies, no tmp file is
 * left over, each inode's st_nlink equals the names found for it, and each
 * directory's st_nlink is 2 + its subdirectories.
 *
 * Usage: mt_stress [-t THREADS] [-T SECONDS] [-S SEED] [-C CTLPATH] DIR
 * Output: "# " lines and a TAP line per final check.  Exit 0 or 1.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define NDIRS 4
#define NNAMES 48		/* shared f* names per directory */
#define NLOGS 3			/* log files per directory */
#define NSLOTS 2		/* slot files per directory */
#define NSUBS 6			/* sub* subdirectories per directory */
#define NSUBNAMES 4		/* f* names per subdirectory */
#define BLOCK 1500		/* slot block size: straddles pages */
#define NBLOCKS 40
#define MAX_BODY (48 * 1024)
#define LOG_MAX (512 * 1024)	/* a log past this is unlinked */
#define MAX_THREADS 64

#define MAGIC_FILE 0x7a7366696c653031ULL	/* "zsfile01" */
#define MAGIC_LOG 0x7a736c6f67726563ULL
#define MAGIC_SLOT 0x7a73736c6f746231ULL

struct rec_hdr {
	uint64_t magic;
	uint64_t id;
	uint64_t len;	/* body bytes after the header */
	uint64_t sum;	/* hash of the body */
};

enum op {
	OP_CREATE, OP_RENAME, OP_LINK, OP_UNLINK, OP_READ, OP_APPEND,
	OP_READLOG, OP_SLOT, OP_LIST, OP_SUBDIR, OP_COPY, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"create", "rename", "link", "unlink", "read", "append", "readlog",
	"slot_write", "list", "subdir", "copy",
};

static const unsigned op_weight[OP_COUNT] = {
	[OP_CREATE] = 16, [OP_RENAME] = 10, [OP_LINK] = 8, [OP_UNLINK] = 8,
	[OP_READ] = 20, [OP_APPEND] = 12, [OP_READLOG] = 4, [OP_SLOT] = 12,
	[OP_LIST] = 2, [OP_SUBDIR] = 10, [OP_COPY] = 8,
};

struct shared {
	const char *dir;
	const char *ctl;
	double seconds;
	uint64_t seed;
	atomic_int stop;
	atomic_uint_fast64_t next_id;
	atomic_int errors;
	atomic_ulong compactions;
};

struct worker {
	pthread_t th;
	struct shared *sh;
	unsigned tid;
	uint64_t rng;
	unsigned long tmpn;
	unsigned long done[OP_COUNT];
	unsigned long enoent;
	unsigned char *buf;
	unsigned char *buf2;
};

static uint64_t rnd(struct worker *w)
{
	return t_rand(&w->rng);
}

static size_t rnd_below(struct worker *w, size_t n)
{
	return n ? (size_t)(rnd(w) % n) : 0;
}

/* FNV-1a, 64 bit. */
static uint64_t hash(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* A body derived from @id: compressible or not depending on the id. */
static void body_fill(unsigned char *p, size_t len, uint64_t id)
{
	uint64_t s = id * 0x9e3779b97f4a7c15ULL, r;
	size_t i;

	switch (id % 4) {
	case 0:
		memset(p, (int)(id & 0xff), len);
		break;
	case 1:
		for (i = 0; i < len; i++)
			p[i] = (unsigned char)("zsfs compressed "[i % 16] ^ (i / 512));
		break;
	default:
		for (i = 0; i < len; i += 8) {
			r = t_rand(&s);
			memcpy(p + i, &r, len - i < 8 ? len - i : 8);
		}
		break;
	}
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void err(struct shared *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void err(struct shared *sh, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_fetch_add(&sh->errors, 1) < 50)
		printf("# ERROR: %s\n", line);
}

static int write_all(int fd, const void *p, size_t len, off_t off)
{
	const unsigned char *c = p;
	ssize_t n;

	while (len) {
		n = pwrite(fd, c, len, off);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		c += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read the whole file into @buf (cap bytes); -EFBIG if it does not fit. */
static ssize_t read_all(int fd, unsigned char *buf, size_t cap)
{
	size_t done = 0;
	ssize_t n;

	for (;;) {
		if (done == cap)
			return -EFBIG;
		n = pread(fd, buf + done, cap - done, (off_t)done);
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)done;
		done += (size_t)n;
	}
}

static void shared_name(struct worker *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s/d%zu/f%02zu", w->sh->dir, rnd_below(w, NDIRS),
		 rnd_below(w, NNAMES));
}

/* Verify an immutable file's bytes; returns 0 or a message. */
static const char *verify_file(const unsigned char *p, size_t n)
{
	struct rec_hdr h;

	if (n < sizeof(h))
		return "shorter than its header";
	memcpy(&h, p, sizeof(h));
	if (h.magic != MAGIC_FILE)
		return "bad magic";
	if (h.len != n - sizeof(h))
		return "length does not match the header";
	if (hash(p + sizeof(h), n - sizeof(h)) != h.sum)
		return "checksum mismatch";
	return NULL;
}

/* Verify a log; @final: an incomplete last record is an error. */
static const char *verify_log(const unsigned char *p, size_t n, int final,
			      size_t *recs)
{
	struct rec_hdr h;
	size_t off = 0;

	*recs = 0;
	while (off < n) {
		if (n - off < sizeof(h))
			return final ? "truncated record header" : NULL;
		memcpy(&h, p + off, sizeof(h));
		if (h.magic != MAGIC_LOG)
			return "bad record magic";
		if (h.len > MAX_BODY)
			return "bad record length";
		if (n - off - sizeof(h) < h.len)
			return final ? "truncated record" : NULL;
		if (hash(p + off + sizeof(h), h.len) != h.sum)
			return "record checksum mismatch";
		off += sizeof(h) + h.len;
		(*recs)++;
	}
	return NULL;
}

static const char *verify_slot(const unsigned char *p, size_t n,
			       unsigned slot_id)
{
	struct rec_hdr h;
	size_t i;

	if (n != (size_t)BLOCK * NBLOCKS)
		return "slot file has the wrong size";
	for (i = 0; i < NBLOCKS; i++) {
		memcpy(&h, p + i * BLOCK, sizeof(h));
		if (h.magic != MAGIC_SLOT)
			return "bad block magic";
		if (h.len != (uint64_t)slot_id * NBLOCKS + i)
			return "block in the wrong place";
		if (hash(p + i * BLOCK + sizeof(h), BLOCK - sizeof(h)) != h.sum)
			return "block checksum mismatch";
	}
	return NULL;
}

static size_t pick_body_len(struct worker *w)
{
	switch (rnd_below(w, 5)) {
	case 0:
		return rnd_below(w, 64);
	case 1:
		return 4096 * (1 + rnd_below(w, 4)) - sizeof(struct rec_hdr) +
		       rnd_below(w, 3) - 1;
	default:
		return rnd_below(w, MAX_BODY);
	}
}

static void op_create(struct worker *w)
{
	struct shared *sh = w->sh;
	char tmp[4200], dst[4200];
	struct rec_hdr h = { 0 };
	size_t len = pick_body_len(w), off, chunk, total;
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s/d%zu/tmp.%u.%lu", sh->dir,
		 rnd_below(w, NDIRS), w->tid, w->tmpn++);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		err(sh, "create %s: %s", tmp, strerror(errno));
		return;
	}
	h.magic = MAGIC_FILE;
	h.id = atomic_fetch_add(&sh->next_id, 1);
	h.len = len;
	body_fill(w->buf + sizeof(h), len, h.id);
	h.sum = hash(w->buf + sizeof(h), len);
	memset(w->buf, 0xee, sizeof(h));	/* header written last */
	total = sizeof(h) + len;
	/* Junk past the end first, sometimes, to be cut off below. */
	if (rnd_below(w, 3) == 0) {
		memset(w->buf2, 0xab, 9000);
		rc = write_all(fd, w->buf2, 9000, (off_t)total);
		if (rc)
			goto io_err;
	}
	/* The body in random chunks, back to front or front to back. */
	for (off = 0; off < total; off += chunk) {
		chunk = 1 + rnd_below(w, 6000);
		if (chunk > total - off)
			chunk = total - off;
		rc = write_all(fd, w->buf + off, chunk, (off_t)off);
		if (rc)
			goto io_err;
	}
	if (ftruncate(fd, (off_t)total) < 0)
		goto errno_err;
	if (rnd_below(w, 4) == 0) {
		/* Up and down again: the grown part must not come back. */
		if (ftruncate(fd, (off_t)(total + 1 + rnd_below(w, 20000))) < 0 ||
		    ftruncate(fd, (off_t)total) < 0)
			goto errno_err;
	}
	memcpy(w->buf, &h, sizeof(h));
	rc = write_all(fd, &h, sizeof(h), 0);
	if (rc)
		goto io_err;
	if (rnd_below(w, 8) == 0 && fsync(fd) < 0)
		goto errno_err;
	/* Check what we wrote before publishing it. */
	rc = (int)read_all(fd, w->buf2, MAX_BODY + 2 * sizeof(h));
	if (rc != (int)total || memcmp(w->buf, w->buf2, total) != 0) {
		err(sh, "%s: read back after building: %d of %zu bytes, %s", tmp,
		    rc, total, rc < 0 ? strerror(-rc) : "content differs");
	}
	if (close(fd) < 0)
		err(sh, "close %s: %s", tmp, strerror(errno));
	shared_name(w, dst, sizeof(dst));
	if (rename(tmp, dst) < 0) {
		err(sh, "rename %s -> %s: %s", tmp, dst, strerror(errno));
		unlink(tmp);
	}
	return;
errno_err:
	rc = -errno;
io_err:
	err(sh, "building %s: %s", tmp, strerror(-rc));
	close(fd);
	unlink(tmp);
}

static void op_read(struct worker *w)
{
	char path[4200];
	const char *why;
	ssize_t n;
	int fd;

	shared_name(w, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			w->enoent++;
		else
			err(w->sh, "open %s: %s", path, strerror(errno));
		return;
	}
	n = read_all(fd, w->buf, MAX_BODY + 2 * sizeof(struct rec_hdr));
	if (n < 0)
		err(w->sh, "read %s: %s", path, strerror((int)-n));
	else if ((why = verify_file(w->buf, (size_t)n)))
		err(w->sh, "%s (%zd bytes): %s", path, n, why);
	close(fd);
}

/* copy_file_range all @len bytes of @in to @out, both from offset 0.
 * Return 0 or -errno. */
static int copy_all(int in, int out, size_t len)
{
	loff_t so = 0, dof = 0;

	while ((size_t)so < len) {
		ssize_t n = copy_file_range(in, &so, out, &dof, len - (size_t)so, 0);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
	}
	return 0;
}

/* Overwrite the @total bytes of the copy @fd with a new file record of
 * the same length (a new id): body in random chunks, header last, then
 * read it back.  The writes land on pages shared with the copy's source.
 * Return 0 or -errno (reported). */
static int rewrite_copy(struct worker *w, int fd, const char *path,
			size_t total, unsigned char *out)
{
	struct rec_hdr h = { 0 };
	size_t len = total - sizeof(h), off, chunk;
	ssize_t n;
	int rc;

	h.magic = MAGIC_FILE;
	h.id = atomic_fetch_add(&w->sh->next_id, 1);
	h.len = len;
	body_fill(out + sizeof(h), len, h.id);
	h.sum = hash(out + sizeof(h), len);
	for (off = sizeof(h); off < total; off += chunk) {
		chunk = 1 + rnd_below(w, 9000);
		if (chunk > total - off)
			chunk = total - off;
		rc = write_all(fd, out + off, chunk, (off_t)off);
		if (rc)
			goto fail;
	}
	memcpy(out, &h, sizeof(h));
	rc = write_all(fd, &h, sizeof(h), 0);
	if (rc)
		goto fail;
	n = read_all(fd, w->buf2, MAX_BODY + 2 * sizeof(h));
	if (n != (ssize_t)total || memcmp(out, w->buf2, total))
		err(w->sh, "%s: rewritten copy reads back wrong (%zd of %zu bytes)",
		    path, n, total);
	return 0;
fail:
	err(w->sh, "rewriting copy %s: %s", path, strerror(-rc));
	return rc;
}

/*
 * A shared file is copied with copy_file_range to a tmp file A (the
 * filesystem may share its pages), A to a tmp file B, and both copies
 * are then rewritten in place as new files (copy on write on both sides
 * of the sharing); the source, whose fd stays open, must still read as
 * before, and the copies are published under shared names.
 */
static void op_copy(struct worker *w)
{
	struct shared *sh = w->sh;
	char src[4200], tmp[2][4200], dst[4200];
	unsigned char *orig = NULL, *out = NULL;
	int sfd, fd[2] = { -1, -1 }, rc = 0, i;
	const char *why;
	ssize_t n;

	shared_name(w, src, sizeof(src));
	sfd = open(src, O_RDONLY);
	if (sfd < 0) {
		if (errno == ENOENT)
			w->enoent++;
		else
			err(sh, "open %s: %s", src, strerror(errno));
		return;
	}
	orig = malloc(MAX_BODY + 2 * sizeof(struct rec_hdr));
	out = malloc(MAX_BODY + 2 * sizeof(struct rec_hdr));
	if (!orig || !out) {
		err(sh, "out of memory");
		goto out;
	}
	n = read_all(sfd, orig, MAX_BODY + 2 * sizeof(struct rec_hdr));
	if (n < 0 || (why = verify_file(orig, (size_t)n))) {
		err(sh, "copy source %s: %s", src,
		    n < 0 ? strerror((int)-n) : why);
		goto out;
	}
	if ((size_t)n <= sizeof(struct rec_hdr))
		goto out;
	for (i = 0; i < 2; i++) {
		snprintf(tmp[i], sizeof(tmp[i]), "%s/d%zu/tmp.%u.%lu", sh->dir,
			 rnd_below(w, NDIRS), w->tid, w->tmpn++);
		fd[i] = open(tmp[i], O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd[i] < 0) {
			err(sh, "create %s: %s", tmp[i], strerror(errno));
			goto out;
		}
		rc = copy_all(i ? fd[0] : sfd, fd[i], (size_t)n);
		if (rc) {
			err(sh, "copy_file_range to %s: %s", tmp[i], strerror(-rc));
			goto out;
		}
		if (read_all(fd[i], w->buf2, MAX_BODY + 2 * sizeof(struct rec_hdr)) != n ||
		    memcmp(w->buf2, orig, (size_t)n))
			err(sh, "%s: copy of %s reads back wrong", tmp[i], src);
	}
	for (i = 0; i < 2; i++)
		if (rewrite_copy(w, fd[i], tmp[i], (size_t)n, out))
			goto out;
	if (read_all(sfd, w->buf2, MAX_BODY + 2 * sizeof(struct rec_hdr)) != n ||
	    memcmp(w->buf2, orig, (size_t)n))
		err(sh, "%s changed when its copies were written", src);
	for (i = 0; i < 2; i++) {
		close(fd[i]);
		fd[i] = -1;
		shared_name(w, dst, sizeof(dst));
		if (rename(tmp[i], dst) < 0) {
			err(sh, "rename %s -> %s: %s", tmp[i], dst, strerror(errno));
			unlink(tmp[i]);
		}
	}
out:
	for (i = 0; i < 2; i++) {
		if (fd[i] >= 0) {
			close(fd[i]);
			unlink(tmp[i]);
		}
	}
	close(sfd);
	free(orig);
	free(out);
}

static void op_rename_link_unlink(struct worker *w, enum op op)
{
	char a[4200], b[4200];
	int rc;

	shared_name(w, a, sizeof(a));
	shared_name(w, b, sizeof(b));
	switch (op) {
	case OP_RENAME:
		rc = rename(a, b);
		break;
	case OP_LINK:
		rc = link(a, b);
		if (rc < 0 && errno == EEXIST)
			rc = 0;
		break;
	default:
		rc = unlink(a);
		break;
	}
	if (rc < 0) {
		if (errno == ENOENT)
			w->enoent++;
		else
			err(w->sh, "%s %s %s: %s", op_names[op], a, b,
			    strerror(errno));
	}
}

static void log_name(struct worker *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s/d%zu/log%zu", w->sh->dir, rnd_below(w, NDIRS),
		 rnd_below(w, NLOGS));
}

static void op_append(struct worker *w)
{
	char path[4200];
	struct rec_hdr h;
	struct stat st;
	size_t len = rnd_below(w, 3) ? rnd_below(w, 300) : rnd_below(w, 9000);
	int fd, rc;

	log_name(w, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0) {
		err(w->sh, "open %s: %s", path, strerror(errno));
		return;
	}
	h.magic = MAGIC_LOG;
	h.id = atomic_fetch_add(&w->sh->next_id, 1);
	h.len = len;
	body_fill(w->buf + sizeof(h), len, h.id);
	h.sum = hash(w->buf + sizeof(h), len);
	memcpy(w->buf, &h, sizeof(h));
	/* One write call: appends are atomic against each other. */
	rc = (int)write(fd, w->buf, sizeof(h) + len);
	if (rc != (int)(sizeof(h) + len))
		err(w->sh, "append to %s: %d: %s", path, rc,
		    rc < 0 ? strerror(errno) : "short");
	if (fstat(fd, &st) == 0 && st.st_size > LOG_MAX)
		unlink(path);	/* may race with another: ENOENT is fine */
	close(fd);
}

static void op_readlog(struct worker *w)
{
	char path[4200];
	const char *why;
	size_t recs;
	ssize_t n;
	int fd;

	log_name(w, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno != ENOENT)
			err(w->sh, "open %s: %s", path, strerror(errno));
		return;
	}
	n = read_all(fd, w->buf, LOG_MAX + 2 * MAX_BODY);
	if (n == -EFBIG)
		;	/* grew past what we read: nothing to say */
	else if (n < 0)
		err(w->sh, "read %s: %s", path, strerror((int)-n));
	else if ((why = verify_log(w->buf, (size_t)n, 0, &recs)))
		err(w->sh, "%s (%zd bytes): %s", path, n, why);
	close(fd);
}

static void slot_block(unsigned char *p, unsigned slot_id, size_t i,
		       uint64_t gen)
{
	struct rec_hdr h;

	h.magic = MAGIC_SLOT;
	h.id = gen;
	h.len = (uint64_t)slot_id * NBLOCKS + i;
	body_fill(p + sizeof(h), BLOCK - sizeof(h), gen);
	h.sum = hash(p + sizeof(h), BLOCK - sizeof(h));
	memcpy(p, &h, sizeof(h));
}

static void op_slot(struct worker *w)
{
	unsigned d = (unsigned)rnd_below(w, NDIRS), s = (unsigned)rnd_below(w, NSLOTS);
	size_t i = rnd_below(w, NBLOCKS), n = 1 + rnd_below(w, 3), k;
	char path[4200];
	int fd, rc;

	if (i + n > NBLOCKS)
		n = NBLOCKS - i;
	snprintf(path, sizeof(path), "%s/d%u/slot%u", w->sh->dir, d, s);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		err(w->sh, "open %s: %s", path, strerror(errno));
		return;
	}
	for (k = 0; k < n; k++)
		slot_block(w->buf + k * BLOCK, d * NSLOTS + s, i + k,
			   atomic_fetch_add(&w->sh->next_id, 1));
	rc = write_all(fd, w->buf, n * BLOCK, (off_t)(i * BLOCK));
	if (rc)
		err(w->sh, "pwrite %s: %s", path, strerror(-rc));
	close(fd);
}

static void op_list(struct worker *w)
{
	char path[4200], p2[4600];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/d%zu", w->sh->dir, rnd_below(w, NDIRS));
	d = opendir(path);
	if (!d) {
		err(w->sh, "opendir %s: %s", path, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		if (lstat(p2, &st) < 0 && errno != ENOENT)
			err(w->sh, "lstat %s: %s", p2, strerror(errno));
	}
	closedir(d);
}

static void sub_name(struct worker *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s/d%zu/sub%zu", w->sh->dir, rnd_below(w, NDIRS),
		 rnd_below(w, NSUBS));
}

/* Directories: mkdir, rmdir (emptying first), rename whole directories
 * between the shared ones (over empty ones too), hard links of shared
 * files into them, and reads there.  ENOENT, EEXIST and ENOTEMPTY are the
 * races a concurrent namespace gives; anything else is an error. */
static void op_subdir(struct worker *w)
{
	char a[4200], b[4300], c[4300];
	const char *what;
	ssize_t n;
	size_t k;
	int rc = 0, fd;

	sub_name(w, a, sizeof(a));
	switch (rnd_below(w, 6)) {
	case 0:
		what = "mkdir";
		rc = mkdir(a, 0755);
		break;
	case 1:
		what = "rmdir";
		for (k = 0; k < NSUBNAMES; k++) {
			snprintf(b, sizeof(b), "%s/f%zu", a, k);
			unlink(b);
		}
		rc = rmdir(a);
		break;
	case 2:
		what = "rename dir";
		sub_name(w, b, sizeof(b));
		rc = rename(a, b);
		break;
	case 3:
	case 4:
		what = "link into dir";
		shared_name(w, c, sizeof(c));
		snprintf(b, sizeof(b), "%s/f%zu", a, rnd_below(w, NSUBNAMES));
		rc = link(c, b);
		break;
	default:
		what = "read in dir";
		snprintf(b, sizeof(b), "%s/f%zu", a, rnd_below(w, NSUBNAMES));
		fd = open(b, O_RDONLY);
		if (fd < 0) {
			rc = -1;
			break;
		}
		n = read_all(fd, w->buf, MAX_BODY + 2 * sizeof(struct rec_hdr));
		if (n < 0)
			err(w->sh, "read %s: %s", b, strerror((int)-n));
		else if ((what = verify_file(w->buf, (size_t)n)))
			err(w->sh, "%s (%zd bytes): %s", b, n, what);
		close(fd);
		return;
	}
	if (rc < 0) {
		if (errno == ENOENT || errno == EEXIST || errno == ENOTEMPTY)
			w->enoent++;
		else
			err(w->sh, "%s %s: %s", what, a, strerror(errno));
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned total = 0, r, i;

	for (i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	while (!atomic_load(&w->sh->stop)) {
		r = (unsigned)rnd_below(w, total);
		for (i = 0; i < OP_COUNT - 1 && r >= op_weight[i]; i++)
			r -= op_weight[i];
		switch ((enum op)i) {
		case OP_CREATE: op_create(w); break;
		case OP_RENAME:
		case OP_LINK:
		case OP_UNLINK: op_rename_link_unlink(w, (enum op)i); break;
		case OP_READ: op_read(w); break;
		case OP_APPEND: op_append(w); break;
		case OP_READLOG: op_readlog(w); break;
		case OP_SLOT: op_slot(w); break;
		case OP_LIST: op_list(w); break;
		case OP_SUBDIR: op_subdir(w); break;
		case OP_COPY: op_copy(w); break;
		default: break;
		}
		w->done[i]++;
	}
	return NULL;
}

static void *compactor_main(void *arg)
{
	static const char cmd[] = "compact\n";
	struct shared *sh = arg;
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int fd;

	while (!atomic_load(&sh->stop)) {
		fd = open(sh->ctl, O_WRONLY);
		if (fd < 0) {
			err(sh, "open %s: %s", sh->ctl, strerror(errno));
			break;
		}
		if (write(fd, cmd, sizeof(cmd) - 1) != (ssize_t)sizeof(cmd) - 1)
			err(sh, "write compact: %s", strerror(errno));
		else
			atomic_fetch_add(&sh->compactions, 1);
		close(fd);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* The names found for each inode, to compare with st_nlink. */
struct ino_count {
	ino_t ino;
	nlink_t nlink;
	unsigned seen;
};

struct walk {
	struct ino_count *inos;
	size_t ninos, nfiles, nlogs, nrecs, nsubs;
	unsigned bad, tmps;
	unsigned char *buf;
	size_t cap;
};

static void count_name(struct walk *wk, const struct stat *st)
{
	size_t i;

	for (i = 0; i < wk->ninos && wk->inos[i].ino != st->st_ino; i++)
		;
	if (i == wk->ninos) {
		wk->inos = realloc(wk->inos, (wk->ninos + 1) * sizeof(*wk->inos));
		if (!wk->inos)
			abort();
		wk->inos[i].ino = st->st_ino;
		wk->inos[i].nlink = st->st_nlink;
		wk->inos[i].seen = 0;
		wk->ninos++;
	}
	wk->inos[i].seen++;
}

/* Check every entry of @path (directory d@d, or a sub* in it when @sub). */
static void walk_dir(struct walk *wk, const char *path, unsigned d, int sub)
{
	char p2[4600];
	unsigned slot, subdirs = 0;
	struct dirent *de;
	const char *why;
	struct stat st;
	ssize_t n;
	DIR *dir;
	int fd;

	dir = opendir(path);
	if (!dir) {
		printf("# opendir %s: %s\n", path, strerror(errno));
		wk->bad++;
		return;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		if (!sub && strncmp(de->d_name, "sub", 3) == 0) {
			if (lstat(p2, &st) < 0 || !S_ISDIR(st.st_mode)) {
				printf("# %s: not a directory\n", p2);
				wk->bad++;
				continue;
			}
			if (st.st_nlink != 2) {
				printf("# %s: st_nlink %llu, want 2\n", p2,
				       (unsigned long long)st.st_nlink);
				wk->bad++;
			}
			subdirs++;
			wk->nsubs++;
			walk_dir(wk, p2, d, 1);
			continue;
		}
		if (strncmp(de->d_name, "tmp.", 4) == 0) {
			printf("# left-over tmp file %s\n", p2);
			wk->tmps++;
		}
		fd = open(p2, O_RDONLY);
		if (fd < 0 || fstat(fd, &st) < 0) {
			printf("# open %s: %s\n", p2, strerror(errno));
			wk->bad++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		n = read_all(fd, wk->buf, wk->cap);
		close(fd);
		if (n < 0) {
			printf("# read %s: %s\n", p2, strerror((int)-n));
			wk->bad++;
			continue;
		}
		why = NULL;
		if (de->d_name[0] == 'f') {
			why = verify_file(wk->buf, (size_t)n);
			wk->nfiles++;
			count_name(wk, &st);
		} else if (!sub && strncmp(de->d_name, "log", 3) == 0) {
			size_t recs;

			why = verify_log(wk->buf, (size_t)n, 1, &recs);
			wk->nlogs++;
			wk->nrecs += recs;
		} else if (!sub && sscanf(de->d_name, "slot%u", &slot) == 1) {
			why = verify_slot(wk->buf, (size_t)n, d * NSLOTS + slot);
		} else {
			why = "unexpected name";
		}
		if (why) {
			printf("# %s (%zd bytes): %s\n", p2, n, why);
			wk->bad++;
		}
	}
	closedir(dir);
	if (!sub && (stat(path, &st) < 0 || st.st_nlink != 2 + subdirs)) {
		printf("# %s: st_nlink %llu, want %u (2 + %u subdirectories)\n",
		       path, (unsigned long long)st.st_nlink, 2 + subdirs, subdirs);
		wk->bad++;
	}
}

static int final_walk(struct shared *sh, unsigned char *buf, size_t cap)
{
	struct walk wk = { .buf = buf, .cap = cap };
	char path[4200];
	unsigned d;
	size_t i;

	for (d = 0; d < NDIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%u", sh->dir, d);
		walk_dir(&wk, path, d, 0);
	}
	for (i = 0; i < wk.ninos; i++) {
		if (wk.inos[i].seen != wk.inos[i].nlink) {
			printf("# inode %llu: st_nlink %llu but %u names\n",
			       (unsigned long long)wk.inos[i].ino,
			       (unsigned long long)wk.inos[i].nlink,
			       wk.inos[i].seen);
			wk.bad++;
		}
	}
	printf("# final walk: %zu names of %zu inodes in %zu subdirectories,"
	       " %zu logs with %zu records, %u bad, %u tmp left\n", wk.nfiles,
	       wk.ninos, wk.nsubs, wk.nlogs, wk.nrecs, wk.bad, wk.tmps);
	free(wk.inos);
	return (int)(wk.bad + wk.tmps);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr, "usage: mt_stress [-t THREADS] [-T SECONDS] [-S SEED]"
		" [-C CTLPATH] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_THREADS];
	struct shared sh;
	unsigned nthreads = 8, i, d, s, k, tn = 0;
	unsigned long totals[OP_COUNT] = { 0 }, all = 0, enoent = 0;
	pthread_t compactor;
	unsigned char *buf;
	char path[4200];
	size_t cap = LOG_MAX + 4 * MAX_BODY;
	uint64_t seed;
	double start;
	int c, have_seed = 0, fd, bad;

	memset(&sh, 0, sizeof(sh));
	sh.seconds = 10;
	while ((c = getopt(argc, argv, "t:T:S:C:")) != -1) {
		switch (c) {
		case 't': nthreads = (unsigned)atoi(optarg); break;
		case 'T': sh.seconds = atof(optarg); break;
		case 'S': sh.seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'C': sh.ctl = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nthreads < 1 || nthreads > MAX_THREADS)
		usage();
	sh.dir = argv[optind];
	if (!have_seed)
		sh.seed = ((uint64_t)time(NULL) ^ (uint64_t)getpid() << 16) % 1000000000;
	atomic_init(&sh.stop, 0);
	atomic_init(&sh.next_id, 1);
	atomic_init(&sh.errors, 0);
	atomic_init(&sh.compactions, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# mt_stress: seed %" PRIu64 ", %u threads, %.0f s, dir %s,"
	       " compaction %s\n", sh.seed, nthreads, sh.seconds, sh.dir,
	       sh.ctl ? sh.ctl : "off");

	buf = malloc(cap);
	if (!buf)
		return 2;
	for (d = 0; d < NDIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%u", sh.dir, d);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			printf("Bail out! mkdir %s: %s\n", path, strerror(errno));
			return 1;
		}
		for (s = 0; s < NSLOTS; s++) {
			snprintf(path, sizeof(path), "%s/d%u/slot%u", sh.dir, d, s);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) {
				printf("Bail out! %s: %s\n", path, strerror(errno));
				return 1;
			}
			for (k = 0; k < NBLOCKS; k++)
				slot_block(buf + k * BLOCK, d * NSLOTS + s, k, k);
			if (write_all(fd, buf, (size_t)NBLOCKS * BLOCK, 0)) {
				printf("Bail out! write %s\n", path);
				return 1;
			}
			close(fd);
		}
	}

	for (i = 0; i < nthreads; i++) {
		ws[i].sh = &sh;
		ws[i].tid = i;
		seed = sh.seed + 0x1000 * (i + 1);
		ws[i].rng = t_rand(&seed);
		ws[i].buf = malloc(LOG_MAX + 4 * MAX_BODY);
		ws[i].buf2 = malloc(MAX_BODY + 16384);
		if (!ws[i].buf || !ws[i].buf2)
			return 2;
	}
	start = now_sec();
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
			return 2;
	if (sh.ctl && pthread_create(&compactor, NULL, compactor_main, &sh) != 0)
		return 2;
	while (now_sec() - start < sh.seconds && atomic_load(&sh.errors) == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&sh.stop, 1);
	for (i = 0; i < nthreads; i++) {
		pthread_join(ws[i].th, NULL);
		for (k = 0; k < OP_COUNT; k++)
			totals[k] += ws[i].done[k];
		enoent += ws[i].enoent;
		free(ws[i].buf);
		free(ws[i].buf2);
	}
	if (sh.ctl)
		pthread_join(compactor, NULL);

	for (k = 0; k < OP_COUNT; k++)
		all += totals[k];
	printf("# %lu ops in %.1f s (%lu ENOENT races), %lu compactions:", all,
	       now_sec() - start, enoent, atomic_load(&sh.compactions));
	for (k = 0; k < OP_COUNT; k++)
		printf(" %s=%lu", op_names[k], totals[k]);
	printf("\n");
	printf("%s %u - no errors during the run (seed %" PRIu64 ")\n",
	       atomic_load(&sh.errors) ? "not ok" : "ok", ++tn, sh.seed);
	if (atomic_load(&sh.errors))
		printf("# %d errors\n", atomic_load(&sh.errors));
	bad = final_walk(&sh, buf, cap);
	printf("%s %u - every surviving file verifies, link counts match\n",
	       bad ? "not ok" : "ok", ++tn);
	printf("1..%u\n", tn);
	free(buf);
	return atomic_load(&sh.errors) || bad ? 1 : 0;
}
