/*
 * fsx.c - the model exerciser: random file operations checked against an
 * in-memory model of every file's bytes and size.
 *
 * In the spirit of the classic fsx (Apple/BSD, later xfstests): a seeded
 * random sequence of writes, reads, truncates up and down, hole punches,
 * zero ranges, fallocates (mode 0 and KEEP_SIZE), shared mmap reads and
 * writes (msync), copy_file_range and close/reopen (sometimes with O_TRUNC),
 * on one or more files in the directory given as argument.  Offsets and lengths are unaligned and
 * biased toward page boundaries and small sizes, where page stores break.
 * Every read is compared with the model, the size is compared via fstat
 * after every operation, and every few operations a whole file is read
 * back.  Every -c K operations "compact" is written to the ctl file given
 * by -C, so objects move under the files while they are being used.
 *
 * On a miscompare it prints the seed, the operation number, the last
 * LOG_KEEP operations and the first differing offset, and exits 1.  The run
 * is reproducible from the seed (-S) as long as the same options are used.
 *
 * -B injects a deliberate bug into the model (punch hole leaves one byte)
 * so that one can check by hand that the exerciser catches bugs.
 *
 * Output: "# " diagnostic lines (TAP comments) and, with -t, one TAP line
 * and a plan, so it can run alone under the TAP driver.
 *
 * Exit: 0 all good, 1 miscompare or unexpected error, 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define PAGE 4096u
#define LOG_KEEP 50
#define LOG_LINE 160
#define MAX_FILES 16

enum op {
	OP_WRITE,
	OP_READ,
	OP_TRUNCATE,
	OP_PUNCH,
	OP_ZERO,
	OP_FALLOC,
	OP_FALLOC_KEEP,
	OP_MMAP_READ,
	OP_MMAP_WRITE,
	OP_COPY,
	OP_REOPEN,
	OP_FSYNC,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[OP_WRITE] = "write",
	[OP_READ] = "read",
	[OP_TRUNCATE] = "truncate",
	[OP_PUNCH] = "punch_hole",
	[OP_ZERO] = "zero_range",
	[OP_FALLOC] = "fallocate",
	[OP_FALLOC_KEEP] = "fallocate_keep",
	[OP_MMAP_READ] = "mmap_read",
	[OP_MMAP_WRITE] = "mmap_write",
	[OP_COPY] = "copy_file_range",
	[OP_REOPEN] = "reopen",
	[OP_FSYNC] = "fsync",
};

/* Relative weights of the operations. */
static const unsigned op_weight[OP_COUNT] = {
	[OP_WRITE] = 30,
	[OP_READ] = 20,
	[OP_TRUNCATE] = 6,
	[OP_PUNCH] = 6,
	[OP_ZERO] = 5,
	[OP_FALLOC] = 3,
	[OP_FALLOC_KEEP] = 3,
	[OP_MMAP_READ] = 5,
	[OP_MMAP_WRITE] = 5,
	[OP_COPY] = 6,
	[OP_REOPEN] = 2,
	[OP_FSYNC] = 1,
};

struct mfile {
	char path[4096];
	int fd;
	unsigned char *model;	/* max_len bytes, beyond size always zero */
	size_t size;
};

struct fsx {
	uint64_t seed;
	uint64_t rng;
	unsigned long nops;	/* 0 = until time runs out */
	double seconds;		/* 0 = no time limit */
	unsigned long compact_every;
	const char *ctl_path;
	unsigned nfiles;
	size_t max_len;
	size_t max_op;
	unsigned full_check_every;
	int inject_bug;
	int strict;		/* EOPNOTSUPP is a failure */
	int tap;
	int verbose;
	int disabled[OP_COUNT];
	unsigned long done[OP_COUNT];
	unsigned long compactions;
	unsigned long opno;
	char log[LOG_KEEP][LOG_LINE];
	unsigned long logn;
	struct mfile files[MAX_FILES];
	unsigned char *buf;
	unsigned char *buf2;
};

static uint64_t rnd(struct fsx *f)
{
	return t_rand(&f->rng);
}

static size_t rnd_below(struct fsx *f, size_t n)
{
	return n ? (size_t)(rnd(f) % n) : 0;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void logop(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logop(struct fsx *f, const char *fmt, ...)
{
	char *line = f->log[f->logn % LOG_KEEP];
	va_list ap;
	int n;

	n = snprintf(line, LOG_LINE, "%lu ", f->opno);
	va_start(ap, fmt);
	vsnprintf(line + n, LOG_LINE - (size_t)n, fmt, ap);
	va_end(ap);
	f->logn++;
	if (f->verbose)
		printf("# op %s\n", line);
}

static void dump_log(struct fsx *f)
{
	unsigned long i = f->logn > LOG_KEEP ? f->logn - LOG_KEEP : 0;

	printf("# last %lu operations (opno file op args):\n", f->logn - i);
	for (; i < f->logn; i++)
		printf("#   %s\n", f->log[i % LOG_KEEP]);
}

static void finish_fail(struct fsx *f) __attribute__((noreturn));
static void finish_fail(struct fsx *f)
{
	dump_log(f);
	printf("# FAILED: seed %" PRIu64 " at op %lu; reproduce with -S %" PRIu64
	       " (same options)\n", f->seed, f->opno, f->seed);
	if (f->tap)
		printf("not ok 1 - fsx seed %" PRIu64 "\n1..1\n", f->seed);
	fflush(stdout);
	exit(1);
}

static void fail(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void fail(struct fsx *f, const char *fmt, ...)
{
	va_list ap;

	printf("# FAIL at op %lu: ", f->opno);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	finish_fail(f);
}

/* Compare @got with the model at [@off, @off + @len). */
static void compare(struct fsx *f, struct mfile *m, const unsigned char *got,
		    size_t off, size_t len, const char *what)
{
	const unsigned char *want = m->model + off;
	size_t i, bad = 0, first;

	if (memcmp(got, want, len) == 0)
		return;
	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	first = i;
	for (; i < len; i++)
		bad += got[i] != want[i];
	printf("# MISCOMPARE in %s of %s [0x%zx, +0x%zx): first differing offset"
	       " 0x%zx (%zu; page %zu + 0x%zx): got 0x%02x, want 0x%02x;"
	       " %zu bytes differ\n", what, m->path, off, len, off + first,
	       off + first, (off + first) / PAGE, (off + first) % PAGE,
	       got[first], want[first], bad);
	printf("#   got : ");
	for (i = first; i < len && i < first + 16; i++)
		printf("%02x", got[i]);
	printf("\n#   want: ");
	for (i = first; i < len && i < first + 16; i++)
		printf("%02x", want[i]);
	printf("\n");
	finish_fail(f);
}

/* An offset in [0, limit], biased toward page boundaries. */
static size_t pick_off(struct fsx *f, size_t limit)
{
	size_t off, pages = limit / PAGE;

	switch (rnd_below(f, 8)) {
	case 0:
	case 1:		/* on a page boundary */
		off = rnd_below(f, pages + 1) * PAGE;
		break;
	case 2:		/* just around a page boundary */
		off = rnd_below(f, pages + 1) * PAGE + rnd_below(f, 17);
		off = off >= 8 ? off - 8 : off;
		break;
	case 3:		/* near the start */
		off = rnd_below(f, 2 * PAGE);
		break;
	default:
		off = rnd_below(f, limit + 1);
		break;
	}
	return off > limit ? limit : off;
}

/* A length in [1, f->max_op], biased toward small and page sizes. */
static size_t pick_len(struct fsx *f)
{
	size_t len;

	switch (rnd_below(f, 8)) {
	case 0:
	case 1:		/* tiny */
		len = 1 + rnd_below(f, 16);
		break;
	case 2:		/* small */
		len = 1 + rnd_below(f, 512);
		break;
	case 3:		/* whole pages */
		len = (1 + rnd_below(f, 4)) * PAGE;
		break;
	case 4:		/* a page give or take a little */
		len = (1 + rnd_below(f, 4)) * PAGE + rnd_below(f, 17);
		len = len > 8 ? len - 8 : 1;
		break;
	default:
		len = 1 + rnd_below(f, f->max_op);
		break;
	}
	return len > f->max_op ? f->max_op : len;
}

/* Clip [off, off+len) to the file's maximum length; 0 means nothing left. */
static size_t clip(struct fsx *f, size_t off, size_t len)
{
	if (off >= f->max_len)
		return 0;
	return len > f->max_len - off ? f->max_len - off : len;
}

/* Data to write: a pattern that names the op, or sometimes compressible
 * runs or zeros, so all the page kinds of the store are exercised. */
static void fill(struct fsx *f, unsigned char *p, size_t len)
{
	size_t i;
	uint64_t r;

	switch (rnd_below(f, 6)) {
	case 0:		/* zeros: same-filled pages and holes */
		memset(p, 0, len);
		break;
	case 1:		/* one repeated byte */
		memset(p, (int)(1 + rnd_below(f, 255)), len);
		break;
	case 2:		/* compressible text-ish */
		for (i = 0; i < len; i++)
			p[i] = (unsigned char)('a' + (f->opno + i / 7) % 26);
		break;
	default:	/* incompressible */
		for (i = 0; i + 8 <= len; i += 8) {
			r = rnd(f);
			memcpy(p + i, &r, 8);
		}
		r = rnd(f);
		for (; i < len; i++, r >>= 8)
			p[i] = (unsigned char)r;
		break;
	}
}

static void open_file(struct fsx *f, struct mfile *m, int create)
{
	m->fd = open(m->path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (m->fd < 0)
		fail(f, "open %s: %s", m->path, strerror(errno));
}

static void check_size(struct fsx *f, struct mfile *m, const char *when)
{
	struct stat st;

	if (fstat(m->fd, &st) < 0)
		fail(f, "fstat %s: %s", m->path, strerror(errno));
	if ((size_t)st.st_size != m->size)
		fail(f, "size of %s after %s: got %lld (0x%llx), want %zu (0x%zx)",
		     m->path, when, (long long)st.st_size,
		     (long long)st.st_size, m->size, m->size);
}

static void full_check(struct fsx *f, struct mfile *m)
{
	size_t done = 0;
	ssize_t n;

	check_size(f, m, "full check");
	while (done < m->size + 1) {
		n = pread(m->fd, f->buf + done, f->max_len + 1 - done, (off_t)done);
		if (n < 0)
			fail(f, "full read of %s: %s", m->path, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done != m->size)
		fail(f, "full read of %s returned %zu bytes, size is %zu",
		     m->path, done, m->size);
	compare(f, m, f->buf, 0, m->size, "full read");
}

/* An error from an operation: EOPNOTSUPP disables it unless strict. */
static int op_error(struct fsx *f, enum op op, struct mfile *m, int err)
{
	if ((err == EOPNOTSUPP || err == ENOSYS) && !f->strict) {
		printf("# %s not supported here (%s): disabled\n",
		       op_names[op], strerror(err));
		f->disabled[op] = 1;
		return 0;
	}
	fail(f, "%s on %s: %s", op_names[op], m->path, strerror(err));
}

static void do_write(struct fsx *f, struct mfile *m)
{
	size_t off = pick_off(f, m->size + (m->size < f->max_len / 2 ? PAGE : 0));
	size_t len = clip(f, off, pick_len(f));
	ssize_t n;

	if (!len)
		return;
	fill(f, f->buf, len);
	logop(f, "%s write 0x%zx +0x%zx (size 0x%zx)", m->path, off, len, m->size);
	n = pwrite(m->fd, f->buf, len, (off_t)off);
	if (n < 0)
		fail(f, "write: %s", strerror(errno));
	if ((size_t)n != len)
		fail(f, "short write: %zd of %zu", n, len);
	memcpy(m->model + off, f->buf, len);
	if (off + len > m->size)
		m->size = off + len;
}

static void do_read(struct fsx *f, struct mfile *m)
{
	size_t off = pick_off(f, m->size);
	size_t len = clip(f, off, pick_len(f)), want;
	ssize_t n;

	if (!len)
		return;
	logop(f, "%s read 0x%zx +0x%zx (size 0x%zx)", m->path, off, len, m->size);
	n = pread(m->fd, f->buf, len, (off_t)off);
	if (n < 0)
		fail(f, "read: %s", strerror(errno));
	want = off >= m->size ? 0 : (m->size - off < len ? m->size - off : len);
	if ((size_t)n != want)
		fail(f, "read of 0x%zx +0x%zx returned %zd, want %zu (size 0x%zx)",
		     off, len, n, want, m->size);
	compare(f, m, f->buf, off, want, "read");
}

static void do_truncate(struct fsx *f, struct mfile *m)
{
	size_t nsize;

	switch (rnd_below(f, 4)) {
	case 0:		/* down */
		nsize = pick_off(f, m->size);
		break;
	case 1:		/* to zero or one page */
		nsize = rnd_below(f, 2) * PAGE;
		break;
	default:	/* anywhere, up or down */
		nsize = pick_off(f, f->max_len);
		break;
	}
	logop(f, "%s truncate 0x%zx -> 0x%zx", m->path, m->size, nsize);
	if (ftruncate(m->fd, (off_t)nsize) < 0)
		fail(f, "ftruncate: %s", strerror(errno));
	if (nsize < m->size)
		memset(m->model + nsize, 0, m->size - nsize);
	m->size = nsize;
}

static void do_falloc(struct fsx *f, struct mfile *m, enum op op)
{
	size_t off = pick_off(f, op == OP_PUNCH ? m->size : m->size + PAGE);
	size_t len = clip(f, off, pick_len(f)), end;
	int mode = 0, keep = 1;

	if (!len)
		return;
	switch (op) {
	case OP_PUNCH:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		break;
	case OP_ZERO:
		keep = rnd_below(f, 2);
		mode = FALLOC_FL_ZERO_RANGE | (keep ? FALLOC_FL_KEEP_SIZE : 0);
		break;
	case OP_FALLOC:
		keep = 0;
		break;
	default:
		mode = FALLOC_FL_KEEP_SIZE;
		break;
	}
	logop(f, "%s %s%s 0x%zx +0x%zx (size 0x%zx)", m->path, op_names[op],
	      op == OP_ZERO && keep ? "(keep)" : "", off, len, m->size);
	if (fallocate(m->fd, mode, (off_t)off, (off_t)len) < 0) {
		op_error(f, op, m, errno);
		return;
	}
	end = off + len;
	if (op == OP_PUNCH || op == OP_ZERO) {
		size_t zend = keep && end > m->size ? m->size : end;

		if (zend > off)
			memset(m->model + off, 0, zend - off);
		/* The deliberate bug: forget to zero the punched range's
		 * first byte. */
		if (f->inject_bug && op == OP_PUNCH && zend > off &&
		    m->model[off] == 0)
			m->model[off] = 0x5a;
	}
	if (!keep && end > m->size)
		m->size = end;
}

/* Map the pages covering [off, off+len) of the file; returns the pointer to
 * @off inside the mapping. */
static unsigned char *map_range(struct fsx *f, struct mfile *m, size_t off,
				size_t len, int prot, void **basep,
				size_t *maplenp)
{
	size_t start = off & ~(size_t)(PAGE - 1);
	size_t maplen = off + len - start;
	void *p;

	p = mmap(NULL, maplen, prot, MAP_SHARED, m->fd, (off_t)start);
	if (p == MAP_FAILED)
		return NULL;
	*basep = p;
	*maplenp = maplen;
	return (unsigned char *)p + (off - start);
}

static void do_mmap(struct fsx *f, struct mfile *m, enum op op)
{
	size_t off, len, maplen;
	unsigned char *p;
	void *base;

	if (m->size == 0)
		return;
	off = pick_off(f, m->size - 1);
	len = pick_len(f);
	if (len > m->size - off)
		len = m->size - off;
	logop(f, "%s %s 0x%zx +0x%zx (size 0x%zx)", m->path, op_names[op], off,
	      len, m->size);
	p = map_range(f, m, off, len,
		      op == OP_MMAP_READ ? PROT_READ : PROT_READ | PROT_WRITE,
		      &base, &maplen);
	if (!p) {
		op_error(f, op, m, errno);
		return;
	}
	if (op == OP_MMAP_READ) {
		memcpy(f->buf, p, len);
		compare(f, m, f->buf, off, len, "mmap read");
	} else {
		fill(f, f->buf, len);
		memcpy(p, f->buf, len);
		memcpy(m->model + off, f->buf, len);
		if (msync(base, maplen, MS_SYNC) < 0)
			fail(f, "msync: %s", strerror(errno));
	}
	if (munmap(base, maplen) < 0)
		fail(f, "munmap: %s", strerror(errno));
}

static void do_copy(struct fsx *f, struct mfile *m)
{
	struct mfile *src = &f->files[rnd_below(f, f->nfiles)];
	size_t soff, doff, len;
	loff_t so, dof;
	ssize_t n;

	if (src->size == 0)
		return;
	soff = pick_off(f, src->size - 1);
	len = pick_len(f);
	doff = pick_off(f, m->size + PAGE);
	if (rnd_below(f, 4) == 0) {
		/* Whole aligned pages: the filesystem may share them. */
		soff &= ~(size_t)(PAGE - 1);
		doff &= ~(size_t)(PAGE - 1);
		len = (1 + rnd_below(f, 8)) * PAGE;
	}
	len = clip(f, doff, len);
	if (!len)
		return;
	/* Overlapping ranges in one file are EINVAL: move the target. */
	if (src == m && doff < soff + len && soff < doff + len) {
		if (soff >= len)
			doff = rnd_below(f, soff - len + 1);
		else if (soff + 2 * len <= f->max_len)
			doff = soff + len + rnd_below(f, f->max_len - soff - 2 * len + 1);
		else
			return;
	}
	logop(f, "%s copy_file_range from %s 0x%zx -> 0x%zx +0x%zx "
	      "(sizes 0x%zx 0x%zx)", m->path, src->path, soff, doff, len,
	      src->size, m->size);
	so = (loff_t)soff;
	dof = (loff_t)doff;
	n = copy_file_range(src->fd, &so, m->fd, &dof, len, 0);
	if (n < 0) {
		op_error(f, OP_COPY, m, errno);
		return;
	}
	if ((size_t)n > len || (size_t)n > src->size - soff)
		fail(f, "copy_file_range returned %zd for %zu bytes", n, len);
	if ((size_t)n < len && (size_t)n < src->size - soff && n == 0)
		fail(f, "copy_file_range copied nothing inside the source");
	memmove(m->model + doff, src->model + soff, (size_t)n);
	if (n > 0 && doff + (size_t)n > m->size)
		m->size = doff + (size_t)n;
}

static void compact(struct fsx *f)
{
	static const char cmd[] = "compact\n";
	int fd = open(f->ctl_path, O_WRONLY);

	if (fd < 0)
		fail(f, "open %s: %s", f->ctl_path, strerror(errno));
	if (write(fd, cmd, sizeof(cmd) - 1) != (ssize_t)sizeof(cmd) - 1)
		fail(f, "write compact to %s: %s", f->ctl_path, strerror(errno));
	if (close(fd) < 0)
		fail(f, "close %s: %s", f->ctl_path, strerror(errno));
	f->compactions++;
}

static enum op pick_op(struct fsx *f)
{
	unsigned total = 0, r, i;

	for (i = 0; i < OP_COUNT; i++)
		total += f->disabled[i] ? 0 : op_weight[i];
	r = (unsigned)rnd_below(f, total);
	for (i = 0; i < OP_COUNT; i++) {
		if (f->disabled[i])
			continue;
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_READ;
}

static void step(struct fsx *f)
{
	struct mfile *m = &f->files[rnd_below(f, f->nfiles)];
	enum op op = pick_op(f);

	switch (op) {
	case OP_WRITE:
		do_write(f, m);
		break;
	case OP_READ:
		do_read(f, m);
		break;
	case OP_TRUNCATE:
		do_truncate(f, m);
		break;
	case OP_PUNCH:
	case OP_ZERO:
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
		do_falloc(f, m, op);
		break;
	case OP_MMAP_READ:
	case OP_MMAP_WRITE:
		do_mmap(f, m, op);
		break;
	case OP_COPY:
		do_copy(f, m);
		break;
	case OP_REOPEN:
		/* One reopen in four truncates: open(O_TRUNC) must empty the
		 * file (FUSE sends it inside OPEN with atomic_o_trunc). */
		if (rnd_below(f, 4) == 0) {
			logop(f, "%s reopen O_TRUNC (size 0x%zx)", m->path, m->size);
			if (close(m->fd) < 0)
				fail(f, "close: %s", strerror(errno));
			m->fd = open(m->path, O_RDWR | O_TRUNC);
			if (m->fd < 0)
				fail(f, "open O_TRUNC %s: %s", m->path, strerror(errno));
			memset(m->model, 0, m->size);
			m->size = 0;
			break;
		}
		logop(f, "%s reopen", m->path);
		if (close(m->fd) < 0)
			fail(f, "close: %s", strerror(errno));
		open_file(f, m, 0);
		break;
	case OP_FSYNC:
		logop(f, "%s fsync", m->path);
		if (fsync(m->fd) < 0)
			fail(f, "fsync: %s", strerror(errno));
		break;
	default:
		break;
	}
	f->done[op]++;
	check_size(f, m, op_names[op]);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: fsx [options] DIR\n"
		"  -S SEED   random seed (default: from the clock; printed)\n"
		"  -N OPS    number of operations (default 10000; 0 = until -T)\n"
		"  -T SECS   stop after this many seconds (default: no limit)\n"
		"  -f FILES  number of files (1..%d, default 2)\n"
		"  -l LEN    maximum file length (default 262144)\n"
		"  -o LEN    maximum length of one operation (default 65536)\n"
		"  -r K      full-file check every K operations (default 100)\n"
		"  -C PATH   ctl file to write \"compact\" to\n"
		"  -c K      compact every K operations (default 300 with -C)\n"
		"  -x OPS    disable operations (comma list of names)\n"
		"  -U        unsupported operations (EOPNOTSUPP) are failures\n"
		"  -B        inject a deliberate model bug (to test fsx itself)\n"
		"  -t        TAP output (one test line and a plan)\n"
		"  -v        log every operation\n", MAX_FILES);
	exit(2);
}

static void disable_ops(struct fsx *f, char *list)
{
	char *tok, *save = NULL;
	int i, found;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		found = 0;
		for (i = 0; i < OP_COUNT; i++)
			if (strcmp(tok, op_names[i]) == 0)
				f->disabled[i] = found = 1;
		if (!found) {
			fprintf(stderr, "fsx: unknown operation '%s'\n", tok);
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	static struct fsx fx;
	struct fsx *f = &fx;
	double start, elapsed;
	unsigned i;
	int c, have_seed = 0;

	f->nops = 10000;
	f->nfiles = 2;
	f->max_len = 256 * 1024;
	f->max_op = 64 * 1024;
	f->full_check_every = 100;
	while ((c = getopt(argc, argv, "S:N:T:f:l:o:r:C:c:x:UBtv")) != -1) {
		switch (c) {
		case 'S': f->seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'N': f->nops = strtoul(optarg, NULL, 0); break;
		case 'T': f->seconds = strtod(optarg, NULL); break;
		case 'f': f->nfiles = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': f->max_len = strtoul(optarg, NULL, 0); break;
		case 'o': f->max_op = strtoul(optarg, NULL, 0); break;
		case 'r': f->full_check_every = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'C': f->ctl_path = optarg; break;
		case 'c': f->compact_every = strtoul(optarg, NULL, 0); break;
		case 'x': disable_ops(f, optarg); break;
		case 'U': f->strict = 1; break;
		case 'B': f->inject_bug = 1; break;
		case 't': f->tap = 1; break;
		case 'v': f->verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || f->nfiles < 1 || f->nfiles > MAX_FILES ||
	    f->max_len < PAGE || f->max_op < 1 || (!f->nops && !f->seconds))
		usage();
	if (f->max_op > f->max_len)
		f->max_op = f->max_len;
	if (f->ctl_path && !f->compact_every)
		f->compact_every = 300;
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		f->seed = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			   (uint64_t)getpid()) % 1000000000ULL;
	}
	f->rng = f->seed;
	setvbuf(stdout, NULL, _IOLBF, 0);

	f->buf = malloc(f->max_len + 1);
	f->buf2 = malloc(f->max_len + 1);
	if (!f->buf || !f->buf2)
		return 2;
	for (i = 0; i < f->nfiles; i++) {
		struct mfile *m = &f->files[i];

		snprintf(m->path, sizeof(m->path), "%s/fsx.%u", argv[optind], i);
		m->model = calloc(1, f->max_len);
		if (!m->model)
			return 2;
		open_file(f, m, 1);
	}
	printf("# fsx: seed %" PRIu64 " dir %s files %u max_len %zu ops %lu"
	       " time %.0fs compact every %lu%s\n", f->seed, argv[optind],
	       f->nfiles, f->max_len, f->nops, f->seconds,
	       f->ctl_path ? f->compact_every : 0, f->inject_bug ? " BUG INJECTED" : "");

	start = now_sec();
	for (f->opno = 1; !f->nops || f->opno <= f->nops; f->opno++) {
		step(f);
		if (f->full_check_every && f->opno % f->full_check_every == 0)
			for (i = 0; i < f->nfiles; i++)
				full_check(f, &f->files[i]);
		if (f->ctl_path && f->opno % f->compact_every == 0)
			compact(f);
		if (f->seconds && (f->opno & 63) == 0 &&
		    now_sec() - start >= f->seconds)
			break;
	}
	if (f->opno > f->nops && f->nops)
		f->opno = f->nops;
	for (i = 0; i < f->nfiles; i++) {
		full_check(f, &f->files[i]);
		if (close(f->files[i].fd) < 0)
			fail(f, "close: %s", strerror(errno));
		/* And once more through a fresh open. */
		open_file(f, &f->files[i], 0);
		full_check(f, &f->files[i]);
		close(f->files[i].fd);
	}
	elapsed = now_sec() - start;

	printf("# fsx: seed %" PRIu64 ": %lu ops in %.1fs (%.0f ops/s),"
	       " %lu compactions; per op:", f->seed, f->opno, elapsed,
	       elapsed > 0 ? f->opno / elapsed : 0.0, f->compactions);
	for (i = 0; i < OP_COUNT; i++)
		printf(" %s=%lu%s", op_names[i], f->done[i],
		       f->disabled[i] ? "(off)" : "");
	printf("\n");
	if (f->tap)
		printf("ok 1 - fsx seed %" PRIu64 " %lu ops\n1..1\n", f->seed,
		       f->opno);
	for (i = 0; i < f->nfiles; i++)
		free(f->files[i].model);
	free(f->buf);
	free(f->buf2);
	return 0;
}
