/*
 * backing_file.c - the backing file itself: open or create it, refuse what
 * is not ours, lock it, label it, size it; and at the end unlink or empty
 * it.  The allocator and the I/O are backing.c's.  See backing.h for what
 * is accepted and why.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"

/* The label in block 0, so a reused file is known to be ours.  The rest
 * of the block is zeros. */
static const char backing_label[] =
	"ZSFS-BACKING-1\n"
	"This is a zsfs backing file: compressed pages of a mounted zsfs.\n"
	"Its contents mean nothing outside the mount that uses it.\n";

#define ERR(...) snprintf(err, err_cap, __VA_ARGS__)

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Is the open file at @fd (size @st_size) empty, all hole (as truncate -s
 * leaves it: nothing to lose), or one of ours? */
static int is_ours(int fd, off_t st_size)
{
	char buf[sizeof(backing_label) - 1];
	ssize_t n;

	if (st_size == 0 || (lseek(fd, 0, SEEK_DATA) < 0 && errno == ENXIO))
		return 1;
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(buf) && !memcmp(buf, backing_label, sizeof(buf));
}

/* Drop the old contents, write the label, set the size. */
static int backing_reset(int fd, uint64_t size)
{
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return write_all(fd, backing_label, sizeof(backing_label) - 1, 0);
}

/* A named file: create it or reuse it.  *@created says which. */
static int open_named(const char *path, int *fdp, int *created,
		      struct stat *st, char *err, size_t err_cap)
{
	int fd, rc;

	*created = 1;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		*created = 0;
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		rc = -errno;
		ERR("backing=%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, st) < 0) {
		rc = -errno;
		ERR("backing=%s: %s", path, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		ERR("backing=%s: not a regular file or a directory", path);
		rc = -EINVAL;
		goto fail;
	}
	if (!*created && st->st_uid != geteuid()) {
		ERR("backing=%s: owned by uid %u, not by the mounting user",
		    path, (unsigned)st->st_uid);
		rc = -EPERM;
		goto fail;
	}
	if (!*created && (st->st_mode & 077)) {
		ERR("backing=%s: mode %04o lets others read it; chmod 600 it",
		    path, (unsigned)(st->st_mode & 07777));
		rc = -EPERM;
		goto fail;
	}
	/* Before the label is read: a file another mount uses is busy,
	 * whatever it holds. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		if (rc == -EWOULDBLOCK) {
			ERR("backing=%s: in use by another mount", path);
			rc = -EBUSY;
		} else {
			ERR("backing=%s: cannot lock: %s", path, strerror(-rc));
		}
		goto fail;
	}
	if (!*created && !is_ours(fd, st->st_size)) {
		ERR("backing=%s: a non-empty file that is not a zsfs backing file (refused, not overwritten)",
		    path);
		rc = -EINVAL;
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	if (*created)
		unlink(path);
	return rc;
}

int backing_file_open(const char *path, uint64_t *sizep, int *fdp,
		      int *createdp, char *err, size_t err_cap)
{
	struct stat st;
	uint64_t size = *sizep;
	int fd = -1, rc, created = 0;

	if (!path || !*path) {
		ERR("backing_size= needs backing=PATH");
		return -EINVAL;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fd = open(path, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
			ERR("backing=%s: cannot make an unnamed file in this directory: %s",
			    path, strerror(-rc));
			return rc;
		}
		st.st_size = 0;
		created = 2; /* nothing to unlink */
	} else {
		rc = open_named(path, &fd, &created, &st, err, err_cap);
		if (rc < 0)
			return rc;
	}
	if (!size)
		size = (uint64_t)st.st_size;
	size -= size % ZSFS_BACKING_BLOCK;
	if (size < ZSFS_BACKING_SIZE_MIN || size > ZSFS_BACKING_SIZE_MAX) {
		if (!*sizep && size < ZSFS_BACKING_SIZE_MIN)
			ERR("backing=%s: needs backing_size= (the file is %s)",
			    path, st.st_size ? "smaller than 1m" : "empty");
		else
			ERR("backing_size=%llu: out of range (1m..2t)",
			    (unsigned long long)size);
		rc = -EINVAL;
		goto fail;
	}
	rc = backing_reset(fd, size);
	if (rc < 0) {
		ERR("backing=%s: cannot size it to %llu bytes: %s", path,
		    (unsigned long long)size, strerror(-rc));
		goto fail;
	}
	*sizep = size;
	*fdp = fd;
	*createdp = created;
	return 0;
fail:
	close(fd);
	if (created == 1)
		unlink(path);
	return rc;
}

void backing_file_close(const char *path, int fd, int created,
			uint64_t size)
{
	struct stat a, b;

	if (created == 1) {
		/* only if the path still names our file */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			unlink(path);
	} else if (created == 0) {
		/* reused: empty but labelled, its size kept for the next mount */
		(void)backing_reset(fd, size);
	}
	close(fd);
}
