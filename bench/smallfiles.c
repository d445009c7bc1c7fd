/*
 * smallfiles: the small-file metadata benchmark (bench/compare workload 4).
 *
 * Creates N files of SIZE bytes under DIR, spread over subdirectories of
 * FILES_PER_DIR entries each, then times four phases over the same names:
 *
 *   create  open(O_CREAT|O_WRONLY|O_EXCL) + write(SIZE) + close
 *   stat    stat()
 *   read    open(O_RDONLY) + read(SIZE) + close
 *   unlink  unlink() (the subdirectories are removed afterwards, untimed)
 *
 * and prints one "name value" line per phase: <phase>_ops_per_s, plus
 * <phase>_s, the phase's wall time in seconds.  Single thread, no fsync:
 * it measures the filesystem's metadata and small-I/O path, not the disk.
 *
 * Exit status: 0 on success, 1 on a failed system call (the failing call and
 * path are printed to stderr), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 1000 entries per directory keeps every directory small enough that the
 * lookup cost being measured is the filesystem's, not a linear scan of one
 * 50k-entry directory, and still makes N/1000 directories. */
#define FILES_PER_DIR 1000

enum phase { PH_CREATE, PH_STAT, PH_READ, PH_UNLINK, PH_COUNT };

static const char *const phase_name[PH_COUNT] = {
	[PH_CREATE] = "create",
	[PH_STAT] = "stat",
	[PH_READ] = "read",
	[PH_UNLINK] = "unlink",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void file_path(char *dst, size_t dst_cap, const char *dir, size_t i)
{
	snprintf(dst, dst_cap, "%s/d%04zu/f%06zu", dir, i / FILES_PER_DIR, i);
}

/* Runs one phase on file i.  Returns 0 or a negative errno. */
static int file_op(enum phase ph, const char *path, char *buf, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	switch (ph) {
	case PH_CREATE:
		fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0)
			return -errno;
		n = write(fd, buf, size);
		if (n < 0)
			err = -errno;
		else if ((size_t)n != size)
			err = -EIO;
		if (close(fd) < 0 && !err)
			err = -errno;
		return err;
	case PH_STAT:
		if (stat(path, &st) < 0)
			return -errno;
		return (size_t)st.st_size == size ? 0 : -EIO;
	case PH_READ:
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, size);
		if (n < 0)
			err = -errno;
		else if ((size_t)n != size)
			err = -EIO;
		close(fd);
		return err;
	case PH_UNLINK:
		return unlink(path) < 0 ? -errno : 0;
	default:
		return -EINVAL;
	}
}

static int dirs_make(const char *dir, size_t nfiles, int remove)
{
	char path[PATH_MAX];
	size_t d, ndirs = (nfiles + FILES_PER_DIR - 1) / FILES_PER_DIR;

	for (d = 0; d < ndirs; d++) {
		snprintf(path, sizeof(path), "%s/d%04zu", dir, d);
		if (remove ? rmdir(path) : mkdir(path, 0755)) {
			fprintf(stderr, "smallfiles: %s %s: %s\n",
				remove ? "rmdir" : "mkdir", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: smallfiles [-n FILES] [-s BYTES] DIR\n"
		"  default: 50000 files of 1024 bytes\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], *buf;
	size_t nfiles = 50000, size = 1024, i;
	const char *dir;
	int opt, ph, err;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			nfiles = strtoul(optarg, NULL, 0);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || nfiles == 0)
		usage();
	dir = argv[optind];

	buf = malloc(size ? size : 1);
	if (!buf) {
		perror("smallfiles: malloc");
		return 1;
	}
	/* Text-like, compressible content that differs per file. */
	for (i = 0; i < size; i++)
		buf[i] = "smallfiles benchmark line\n"[i % 26];

	if (dirs_make(dir, nfiles, 0))
		return 1;
	for (ph = 0; ph < PH_COUNT; ph++) {
		double t0 = now_s(), dt;

		for (i = 0; i < nfiles; i++) {
			file_path(path, sizeof(path), dir, i);
			if (ph == PH_CREATE && size >= 8)
				memcpy(buf, &i, sizeof(i) < size ? sizeof(i) : size);
			err = file_op(ph, path, buf, size);
			if (err) {
				fprintf(stderr, "smallfiles: %s %s: %s\n",
					phase_name[ph], path, strerror(-err));
				return 1;
			}
		}
		dt = now_s() - t0;
		printf("%s_s %.3f\n%s_ops_per_s %.0f\n", phase_name[ph], dt,
		       phase_name[ph], dt > 0 ? nfiles / dt : 0.0);
		fflush(stdout);
	}
	if (dirs_make(dir, nfiles, 1))
		return 1;
	free(buf);
	return 0;
}
