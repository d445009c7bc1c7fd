/*
 * errno_probe.c - perform one system call and print how it ended: "OK" or
 * the errno's name ("ENAMETOOLONG"), so shell tests can compare zsfs with
 * tmpfs call by call.
 *
 * Usage: errno_probe OP ARGS...
 *   create PATH                 open(O_CREAT|O_EXCL|O_WRONLY) + close
 *   open PATH                   open(O_RDONLY)
 *   stat PATH                   lstat
 *   mkdir PATH
 *   rmdir PATH
 *   unlink PATH
 *   rename OLD NEW
 *   whiteout OLD NEW            renameat2(RENAME_WHITEOUT), by syscall()
 *   link OLD NEW
 *   mknod PATH                  a fifo
 *   symlink TARGET_LEN LINKPATH target of TARGET_LEN 'a's ("aaa/aaa..."
 *                               with a '/' every 200 bytes)
 *   readlink_len PATH           prints the target's length on success
 *   setxattr PATH NAME LEN      value of LEN 'v' bytes
 *   getxattr PATH NAME BUFSIZE  prints OK LEN on success
 *   removexattr PATH NAME
 *   write PATH [CHUNK...]       open O_WRONLY|O_TRUNC, one write() per
 *                               CHUNK (C escapes \n \t \\ \xHH), or stdin in
 *                               one write when no CHUNK; then close.  The
 *                               first failing call's errno is printed.
 *   truncate PATH LEN
 *   fiemap PATH                 the FS_IOC_FIEMAP ioctl (extent count query)
 * A NAME or PATH argument may end in "@N": the "@N" is replaced by N 'n's
 * (long names without giant command lines).
 * Exit status: 0 when the probe ran (whatever the errno), 2 on usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr, "usage: errno_probe OP ARGS... (see the source)\n");
	exit(2);
}

/* "prefix@N" -> prefix followed by N 'n's; malloc'ed. */
static char *expand(const char *arg)
{
	const char *at = strrchr(arg, '@');
	size_t pre, n;
	char *end, *s;

	if (!at || !at[1])
		return strdup(arg);
	n = strtoul(at + 1, &end, 10);
	if (*end)
		return strdup(arg);
	pre = (size_t)(at - arg);
	s = malloc(pre + n + 1);
	if (!s)
		exit(2);
	memcpy(s, arg, pre);
	memset(s + pre, 'n', n);
	s[pre + n] = '\0';
	return s;
}

/* C escapes in @in, in place; returns the length. */
static size_t unescape(char *in)
{
	char *out = in, *p = in;
	unsigned v;

	while (*p) {
		if (*p != '\\' || !p[1]) {
			*out++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *out++ = '\n'; p++; break;
		case 't': *out++ = '\t'; p++; break;
		case '0': *out++ = '\0'; p++; break;
		case 'x':
			if (sscanf(p + 1, "%2x", &v) == 1) {
				*out++ = (char)v;
				p += 3;
				break;
			}
			/* fall through */
		default: *out++ = *p++; break;
		}
	}
	return (size_t)(out - in);
}

static int report(int rc)
{
	const char *name;

	if (rc >= 0) {
		printf("OK\n");
		fflush(stdout);
		return 0;
	}
	name = strerrorname_np(errno);
	printf("%s\n", name ? name : "E?");
	fflush(stdout);
	return 0;
}

static int do_write(const char *path, int nchunks, char **chunks)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, i, rc = 0, saved = 0;

	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return report(-1);
	if (nchunks == 0) {
		for (;;) {
			if (len == cap) {
				cap = cap ? cap * 2 : 65536;
				buf = realloc(buf, cap);
				if (!buf)
					exit(2);
			}
			n = read(0, buf + len, cap - len);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		n = write(fd, buf, len);
		if (n < 0) {
			rc = -1;
			saved = errno;
		} else if ((size_t)n != len) {
			printf("SHORT %zd\n", n);
			free(buf);
			close(fd);
			return 0;
		}
		free(buf);
	}
	for (i = 0; i < nchunks && rc == 0; i++) {
		len = unescape(chunks[i]);
		if (write(fd, chunks[i], len) < 0) {
			rc = -1;
			saved = errno;
		}
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	errno = saved;
	return report(rc);
}

int main(int argc, char **argv)
{
	const char *op;
	char *a, *b, *t = NULL, buf[PATH_MAX + 1];
	size_t n, i;
	ssize_t r;
	int rc, fd;

	if (argc < 3)
		usage();
	op = argv[1];
	a = expand(argv[2]);
	b = argc > 3 ? expand(argv[3]) : NULL;
	if (!strcmp(op, "create")) {
		fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
		rc = fd < 0 ? -1 : close(fd);
	} else if (!strcmp(op, "open")) {
		fd = open(a, O_RDONLY);
		rc = fd < 0 ? -1 : close(fd);
	} else if (!strcmp(op, "stat")) {
		struct stat st;

		rc = lstat(a, &st);
	} else if (!strcmp(op, "mkdir")) {
		rc = mkdir(a, 0755);
	} else if (!strcmp(op, "rmdir")) {
		rc = rmdir(a);
	} else if (!strcmp(op, "unlink")) {
		rc = unlink(a);
	} else if (!strcmp(op, "rename") && b) {
		rc = rename(a, b);
	} else if (!strcmp(op, "whiteout") && b) {
		rc = (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b,
				  1u << 2 /* RENAME_WHITEOUT */);
	} else if (!strcmp(op, "link") && b) {
		rc = link(a, b);
	} else if (!strcmp(op, "mknod")) {
		rc = mknod(a, S_IFIFO | 0644, 0);
	} else if (!strcmp(op, "symlink") && b) {
		n = strtoul(a, NULL, 0);
		t = malloc(n + 1);
		if (!t)
			return 2;
		for (i = 0; i < n; i++)
			t[i] = (i % 200 == 199) ? '/' : 'a';
		t[n] = '\0';
		rc = symlink(t, b);
	} else if (!strcmp(op, "readlink_len")) {
		r = readlink(a, buf, sizeof(buf));
		if (r >= 0) {
			printf("OK %zd\n", r);
			goto out;
		}
		rc = -1;
	} else if (!strcmp(op, "setxattr") && b && argc > 4) {
		n = strtoul(argv[4], NULL, 0);
		t = malloc(n + 1);
		if (!t)
			return 2;
		memset(t, 'v', n);
		rc = setxattr(a, b, t, n, 0);
	} else if (!strcmp(op, "getxattr") && b && argc > 4) {
		n = strtoul(argv[4], NULL, 0);
		t = malloc(n + 1);
		if (!t)
			return 2;
		r = getxattr(a, b, t, n);
		if (r >= 0) {
			printf("OK %zd\n", r);
			goto out;
		}
		rc = -1;
	} else if (!strcmp(op, "removexattr") && b) {
		rc = removexattr(a, b);
	} else if (!strcmp(op, "write")) {
		do_write(a, argc - 3, argv + 3);
		goto out;
	} else if (!strcmp(op, "fiemap")) {
		struct fiemap fm;

		memset(&fm, 0, sizeof(fm));
		fm.fm_length = FIEMAP_MAX_OFFSET;
		fd = open(a, O_RDONLY);
		if (fd < 0) {
			report(-1);
			goto out;
		}
		rc = ioctl(fd, FS_IOC_FIEMAP, &fm);
		if (rc == 0)
			printf("OK %u\n", fm.fm_mapped_extents);
		close(fd);
		if (rc == 0)
			goto out;
	} else if (!strcmp(op, "truncate") && b) {
		rc = truncate(a, (off_t)strtoll(b, NULL, 0));
	} else {
		usage();
	}
	report(rc);
out:
	fflush(stdout);
	free(t);
	free(a);
	free(b);
	return 0;
}
