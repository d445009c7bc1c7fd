/*
 * fs_script.c - run a fixed sequence of syscalls in a directory and print
 * one line per step: its result and errno name, or a value derived from
 * it that does not depend on the filesystem (no inode numbers, no raw
 * times).  fs_compare.sh runs each section once on tmpfs and once on zsfs
 * and diffs the two outputs, so zsfs must answer every call as tmpfs does.
 *
 *   fs_script DIR SECTION     SECTION: ns links rename whiteout
 *                             unlinkopen xattr perms times data
 * Run as root (some steps switch to uid 65534 in a child).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

static const char *errname(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EEXIST, "EEXIST" },
		{ ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ ENOTEMPTY, "ENOTEMPTY" }, { ENAMETOOLONG, "ENAMETOOLONG" },
		{ EACCES, "EACCES" }, { ENODATA, "ENODATA" }, { ERANGE, "ERANGE" },
		{ E2BIG, "E2BIG" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { EBUSY, "EBUSY" },
		{ EXDEV, "EXDEV" }, { ENXIO, "ENXIO" }, { EAGAIN, "EAGAIN" },
		{ EBADF, "EBADF" }, { ENOSPC, "ENOSPC" }, { EMLINK, "EMLINK" },
		{ EFBIG, "EFBIG" }, { ELOOP, "ELOOP" }, { ESPIPE, "ESPIPE" },
	};
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* Print a step: the call's return, and errno when it failed. */
static long step(const char *what, long rc)
{
	if (rc < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, rc);
	fflush(stdout);
	return rc;
}
#define S(what, call) step(what, (long)(errno = 0, (call)))

static void show(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void show(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void show_stat(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		printf("stat %s: -1 %s\n", path, errname(errno));
		return;
	}
	printf("stat %s: mode %06o nlink %lu uid %u gid %u size %lld\n", path,
	       (unsigned)st.st_mode, (unsigned long)st.st_nlink, st.st_uid,
	       st.st_gid, S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
}

static long writefile(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long rc;

	if (fd < 0)
		return -1;
	rc = write(fd, s, strlen(s));
	close(fd);
	return rc;
}

static void show_file(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		printf("read %s: -1 %s\n", path, errname(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	printf("read %s: '%s'\n", path, buf);
}

/* Run @fn as uid/gid 65534 in a child; print its exit status. */
static void as_nobody(const char *what, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(99);
		_exit(fn());
	}
	waitpid(pid, &st, 0);
	show(what, "child %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* --- sections --- */

static void sec_ns(void)
{
	char name[300];
	char *target = malloc(5000);
	struct stat st;

	S("mkdir d", mkdir("d", 0755));
	S("mkdir d again", mkdir("d", 0755));
	S("creat d/f", open("d/f", O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : -1);
	S("excl d/f", open("d/f", O_WRONLY | O_CREAT | O_EXCL, 0644));
	S("mkfifo", mkfifo("fifo", 0644));
	S("mknod sock", mknod("sock", S_IFSOCK | 0644, 0));
	S("mknod chr", mknod("chr", S_IFCHR | 0600, makedev(1, 3)));
	S("mknod blk", mknod("blk", S_IFBLK | 0600, makedev(7, 0)));
	S("stat chr rdev", stat("chr", &st) == 0 ? (long)st.st_rdev : -1);
	S("symlink", symlink("d/f", "sl"));
	S("symlink exists", symlink("x", "sl"));
	S("readlink", readlink("sl", name, sizeof(name)));
	S("stat via symlink", stat("sl", &st));
	S("symlink dangling", symlink("nowhere", "dang"));
	S("open dangling", open("dang", O_RDONLY));
	S("creat via dangling", open("dang", O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : -1);
	show_stat("nowhere");
	memset(name, 'a', 255);
	name[255] = '\0';
	S("creat 255", open(name, O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : -1);
	S("stat 255", stat(name, &st));
	S("unlink 255", unlink(name));
	name[255] = 'a';
	name[256] = '\0';
	S("creat 256", open(name, O_WRONLY | O_CREAT, 0644));
	S("mkdir 256", mkdir(name, 0755));
	S("stat 256", stat(name, &st));
	memset(target, 'x', 4095);
	target[4095] = '\0';
	S("symlink 4095", symlink(target, "longlink"));
	S("readlink 4095", readlink("longlink", target, 5000));
	memset(target, 'x', 4096);
	target[4096] = '\0';
	S("symlink 4096", symlink(target, "longlink2"));
	S("rmdir nonempty", rmdir("d"));
	S("rmdir file", rmdir("d/f"));
	S("unlink dir", unlink("d"));
	S("open missing", open("missing", O_RDONLY));
	S("mkdir under file", mkdir("d/f/x", 0755));
	S("creat under file", open("d/f/x", O_CREAT | O_WRONLY, 0644));
	S("rmdir dot", rmdir("d/."));
	S("unlink missing", unlink("missing"));
	S("mkdir trailing slash", mkdir("e/", 0755));
	S("rmdir e", rmdir("e"));
	show_stat("d");
	show_stat("d/f");
	show_stat("fifo");
	show_stat("sock");
	show_stat("chr");
	show_stat("blk");
	show_stat("sl");
	S("unlink all", unlink("d/f") | rmdir("d") | unlink("fifo") |
	  unlink("sock") | unlink("chr") | unlink("blk") | unlink("sl") |
	  unlink("dang") | unlink("nowhere") | unlink("longlink"));
	free(target);
}

static void sec_links(void)
{
	S("mkdir a", mkdir("a", 0755));
	show_stat("a");
	S("mkdir a/b", mkdir("a/b", 0755));
	S("mkdir a/c", mkdir("a/c", 0755));
	show_stat("a");
	S("rmdir a/c", rmdir("a/c"));
	show_stat("a");
	S("write f", writefile("f", "data"));
	S("link f g", link("f", "g"));
	S("link f a/h", link("f", "a/h"));
	show_stat("f");
	S("link exists", link("f", "g"));
	S("link dir", link("a", "a2"));
	S("link missing", link("nope", "x"));
	S("link into missing dir", link("f", "nodir/x"));
	S("unlink g", unlink("g"));
	show_stat("f");
	show_file("a/h");
	S("mkdir z", mkdir("z", 0755));
	S("rename a/b z/b", rename("a/b", "z/b"));
	show_stat("a");
	show_stat("z");
	show_stat("z/b");
	S("mkdir z/b/c", mkdir("z/b/c", 0755));
	S("rename z/b/c .", rename("z/b/c", "c"));
	show_stat("z/b");
	show_stat(".");
	S("cleanup", rmdir("c") | rmdir("z/b") | rmdir("z") | unlink("a/h") |
	  rmdir("a") | unlink("f"));
}

static void sec_rename(void)
{
	S("mkdir d1", mkdir("d1", 0755));
	S("mkdir d1/sub", mkdir("d1/sub", 0755));
	S("mkdir d2", mkdir("d2", 0755));
	S("mkdir full", mkdir("full", 0755));
	S("write full/x", writefile("full/x", "x"));
	S("write a", writefile("a", "A"));
	S("write b", writefile("b", "B"));
	S("rename a b", rename("a", "b"));
	show_file("b");
	show_stat("a");
	S("rename b b", rename("b", "b"));
	S("link b b2", link("b", "b2"));
	S("rename b b2 (same inode)", rename("b", "b2"));
	show_stat("b");
	S("unlink b2", unlink("b2"));
	S("rename dir onto empty dir", rename("d2", "d1/sub"));
	show_stat("d1");
	S("rename dir onto nonempty", rename("d1", "full"));
	S("rename dir onto file", rename("d1", "b"));
	S("rename file onto dir", rename("b", "d1"));
	S("rename into own subtree", rename("d1", "d1/sub/x"));
	S("rename dir into itself", rename("d1", "d1/x"));
	S("rename missing", rename("nope", "x"));
	S("rename to missing dir", rename("b", "nodir/x"));
	S("rename dot", rename("d1/.", "y"));
	S("noreplace onto existing", renameat2(AT_FDCWD, "b", AT_FDCWD, "full/x", RENAME_NOREPLACE));
	S("noreplace to new", renameat2(AT_FDCWD, "b", AT_FDCWD, "c", RENAME_NOREPLACE));
	show_file("c");
	S("exchange file/dir", renameat2(AT_FDCWD, "c", AT_FDCWD, "d1", RENAME_EXCHANGE));
	show_stat("c");
	show_stat("d1");
	show_file("d1");
	S("exchange missing", renameat2(AT_FDCWD, "c", AT_FDCWD, "zz", RENAME_EXCHANGE));
	S("exchange both flags", renameat2(AT_FDCWD, "c", AT_FDCWD, "d1",
					   RENAME_EXCHANGE | RENAME_NOREPLACE));
	S("exchange dirs across parents", renameat2(AT_FDCWD, "c/sub", AT_FDCWD, "full", RENAME_EXCHANGE));
	show_stat("c");
	show_stat("c/sub");
	show_stat("sub");
	show_stat("full");
	show_file("c/sub/x");
	S("exchange into own subtree", renameat2(AT_FDCWD, "c", AT_FDCWD, "c/sub/x", RENAME_EXCHANGE));
	S("cleanup", unlink("c/sub/x") | rmdir("c/sub") | rmdir("c") |
	  rmdir("full") | unlink("d1"));
}

/* renameat2 through syscall(), so the flags reach the kernel as given
 * whatever the C library knows of them. */
static long rename2(const char *from, const char *to, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

/* A whiteout: type, mode, owner, links and its device number. */
static void show_whiteout(const char *path)
{
	struct stat st;

	show_stat(path);
	if (lstat(path, &st) == 0)
		show(path, "rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
}

static int nobody_whiteout(void)
{
	if (writefile("nb", "N") != 1 || rename2("nb", "nb2", RENAME_WHITEOUT) < 0)
		return 1;
	return 0;
}

static void sec_whiteout(void)
{
	S("write a", writefile("a", "A"));
	S("whiteout a b", rename2("a", "b", RENAME_WHITEOUT));
	show_whiteout("a");
	show_file("b");
	S("write c", writefile("c", "C"));
	S("whiteout b onto c", rename2("b", "c", RENAME_WHITEOUT));
	show_whiteout("b");
	show_file("c");
	S("whiteout|exchange", rename2("c", "a", RENAME_WHITEOUT | RENAME_EXCHANGE));
	S("whiteout|noreplace onto existing", rename2("c", "b", RENAME_WHITEOUT | RENAME_NOREPLACE));
	S("whiteout|noreplace to new", rename2("c", "e", RENAME_WHITEOUT | RENAME_NOREPLACE));
	show_whiteout("c");
	S("whiteout missing", rename2("nope", "x", RENAME_WHITEOUT));
	S("bad flag", rename2("e", "x", 1u << 7));
	S("rename onto whiteout", rename2("e", "a", 0));
	show_file("a");
	S("whiteout onto whiteout", rename2("a", "b", RENAME_WHITEOUT));
	show_whiteout("a");
	show_file("b");
	S("mkdir d", mkdir("d", 0755));
	S("mkdir d/sub", mkdir("d/sub", 0755));
	S("whiteout dir", rename2("d", "d2", RENAME_WHITEOUT));
	show_whiteout("d");
	show_stat("d2");
	show_stat("d2/sub");
	S("whiteout dir across parents", rename2("d2/sub", "sub", RENAME_WHITEOUT));
	show_whiteout("d2/sub");
	show_stat("d2");
	show_stat("sub");
	S("mkdir sg", mkdir("sg", 0777));
	S("chown sg", chown("sg", 65534, 100));
	S("chmod sg", chmod("sg", 02777));
	S("write sg/f", writefile("sg/f", "F"));
	S("whiteout in setgid dir", rename2("sg/f", "sg/g", RENAME_WHITEOUT));
	show_whiteout("sg/f");
	S("chmod 777 .", chmod(".", 0777));
	as_nobody("nobody whiteout", nobody_whiteout);
	show_whiteout("nb");
	show_file("nb2");
	S("cleanup", unlink("a") | unlink("b") | unlink("c") |
	  unlink("d") | unlink("d2/sub") | rmdir("d2") | rmdir("sub") |
	  unlink("sg/f") | unlink("sg/g") | rmdir("sg") | unlink("nb") |
	  unlink("nb2"));
}

static void sec_unlinkopen(void)
{
	char buf[64];
	struct stat st;
	int fd, fd2;
	DIR *dp;

	fd = S("open", open("f", O_RDWR | O_CREAT, 0644));
	S("write", write(fd, "hello world", 11));
	fd2 = S("open ro", open("f", O_RDONLY));
	S("unlink", unlink("f"));
	S("stat gone", stat("f", &st));
	S("pread", pread(fd2, buf, sizeof(buf), 0));
	S("fstat", fstat(fd, &st));
	show("nlink", "%lu size %lld", (unsigned long)st.st_nlink, (long long)st.st_size);
	S("write more", pwrite(fd, "!!", 2, 11));
	S("pread more", pread(fd2, buf, sizeof(buf), 0));
	buf[13] = '\0';
	show("data", "'%s'", buf);
	S("fchmod", fchmod(fd, 0600));
	S("ftruncate", ftruncate(fd, 5));
	S("close", close(fd));
	S("pread after close", pread(fd2, buf, sizeof(buf), 0));
	S("close ro", close(fd2));
	S("mkdir d", mkdir("d", 0755));
	dp = opendir("d");
	S("opendir", dp ? 0 : -1);
	S("rmdir open dir", rmdir("d"));
	if (dp) {
		long n = 0;

		while (readdir(dp))
			n++;
		show("readdir of removed dir", "%ld entries", n);
		closedir(dp);
	}
	S("creat in removed dir", open("d/x", O_CREAT | O_WRONLY, 0644));
}

static int nobody_write_suid(void)
{
	int fd = open("suid", O_WRONLY);

	if (fd < 0)
		return 1;
	if (write(fd, "x", 1) != 1)
		return 2;
	close(fd);
	return 0;
}

static int nobody_open_private(void)
{
	int fd = open("private", O_RDONLY);

	if (fd >= 0)
		return 0;
	return errno == EACCES ? 13 : 1;
}

static int nobody_unlink_sticky(void)
{
	if (unlink("sticky/rootfile") == 0)
		return 0;
	return errno == EPERM ? 1 : errno == EACCES ? 13 : 2;
}

static int nobody_chmod(void)
{
	return chmod("private", 0777) == 0 ? 0 : errno == EPERM ? 1 : 2;
}

static int nobody_create_in_sgid(void)
{
	int fd = open("sgid/byn", O_WRONLY | O_CREAT, 02755);

	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

static void sec_perms(void)
{
	umask(022);
	S("creat 0666 under umask 022", open("um", O_CREAT | O_WRONLY, 0666) >= 0 ? 0 : -1);
	show_stat("um");
	S("mkdir 0777 under umask", mkdir("umd", 0777));
	show_stat("umd");
	umask(0);
	S("write suid", writefile("suid", "abc"));
	S("chmod 06777", chmod("suid", 06777));
	S("chown 65534", chown("suid", 65534, 65534));
	show_stat("suid");
	S("chmod 06777 again", chmod("suid", 06777));
	show_stat("suid");
	as_nobody("nobody writes suid file", nobody_write_suid);
	show_stat("suid");
	S("chmod 06755", chmod("suid", 06755));
	S("root chown", chown("suid", 0, 0));
	show_stat("suid");
	S("chmod 02755 (sgid no x)", chmod("suid", 02745));
	S("chown back", chown("suid", 65534, 65534));
	show_stat("suid");
	S("write private", writefile("private", "secret"));
	S("chmod 0600", chmod("private", 0600));
	as_nobody("nobody opens 0600", nobody_open_private);
	as_nobody("nobody chmods root's file", nobody_chmod);
	S("mkdir sticky", mkdir("sticky", 01777));
	S("write sticky/rootfile", writefile("sticky/rootfile", "r"));
	as_nobody("nobody unlinks in sticky dir", nobody_unlink_sticky);
	S("mkdir sgid", mkdir("sgid", 02777));
	S("chown sgid", chown("sgid", 0, 100));
	S("chmod sgid", chmod("sgid", 02777));
	S("creat in sgid", open("sgid/f", O_CREAT | O_WRONLY, 0644) >= 0 ? 0 : -1);
	S("mkdir in sgid", mkdir("sgid/d", 0755));
	S("mknod fifo in sgid", mkfifo("sgid/p", 0644));
	show_stat("sgid/f");
	show_stat("sgid/d");
	show_stat("sgid/p");
	as_nobody("nobody creates 02755 in sgid dir", nobody_create_in_sgid);
	show_stat("sgid/byn");
	S("symlink in sgid", symlink("f", "sgid/l"));
	show_stat("sgid/l");
	S("cleanup", unlink("um") | rmdir("umd") | unlink("suid") |
	  unlink("private") | unlink("sticky/rootfile") | rmdir("sticky") |
	  unlink("sgid/f") | rmdir("sgid/d") | unlink("sgid/p") |
	  unlink("sgid/byn") | unlink("sgid/l") | rmdir("sgid"));
	umask(022);
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static void sec_times(void)
{
	struct timespec ts[2], before;
	struct stat st, st2, dst, dst2;
	int fd;

	S("write f", writefile("f", "x"));
	ts[0].tv_sec = 1000000000; ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1200000000; ts[1].tv_nsec = 987654321;
	S("utimensat", utimensat(AT_FDCWD, "f", ts, 0));
	stat("f", &st);
	show("times", "atime %lld.%09ld mtime %lld.%09ld",
	     (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1300000000; ts[1].tv_nsec = 5;
	S("utimensat omit atime", utimensat(AT_FDCWD, "f", ts, 0));
	stat("f", &st);
	show("times", "atime %lld.%09ld mtime %lld.%09ld",
	     (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	clock_gettime(CLOCK_REALTIME, &before);
	before.tv_sec -= 1;
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	S("utimensat now/omit", utimensat(AT_FDCWD, "f", ts, 0));
	stat("f", &st);
	show("atime recent", "%d", ts_cmp(st.st_atim, before) > 0);
	show("mtime kept", "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	S("utimensat NULL", utimensat(AT_FDCWD, "f", NULL, 0));
	stat("f", &st);
	show("mtime recent", "%d", ts_cmp(st.st_mtim, before) > 0);
	S("symlink l", symlink("f", "l"));
	ts[0].tv_sec = 5; ts[0].tv_nsec = 6;
	ts[1].tv_sec = 7; ts[1].tv_nsec = 8;
	S("utimensat nofollow", utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	lstat("l", &st);
	show("symlink mtime", "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

	/* Changes move mtime/ctime forward. */
	S("mkdir d", mkdir("d", 0755));
	utimensat(AT_FDCWD, "d", ts, 0);
	utimensat(AT_FDCWD, "f", ts, 0);
	stat("f", &st);
	stat("d", &dst);
	fd = open("f", O_WRONLY);
	S("write", write(fd, "yy", 2));
	close(fd);
	stat("f", &st2);
	show("write: mtime/ctime moved", "%d %d", ts_cmp(st2.st_mtim, st.st_mtim) > 0,
	     ts_cmp(st2.st_ctim, st.st_ctim) > 0);
	st = st2;
	usleep(10000);
	S("chmod", chmod("f", 0600));
	stat("f", &st2);
	show("chmod: mtime same, ctime moved", "%d %d", ts_cmp(st2.st_mtim, st.st_mtim) == 0,
	     ts_cmp(st2.st_ctim, st.st_ctim) > 0);
	st = st2;
	usleep(10000);
	S("link", link("f", "d/g"));
	stat("f", &st2);
	stat("d", &dst2);
	show("link: ctime moved, dir mtime moved", "%d %d", ts_cmp(st2.st_ctim, st.st_ctim) > 0,
	     ts_cmp(dst2.st_mtim, dst.st_mtim) > 0);
	st = st2;
	dst = dst2;
	usleep(10000);
	S("truncate", truncate("f", 1));
	stat("f", &st2);
	show("truncate: mtime/ctime moved", "%d %d", ts_cmp(st2.st_mtim, st.st_mtim) > 0,
	     ts_cmp(st2.st_ctim, st.st_ctim) > 0);
	usleep(10000);
	S("unlink d/g", unlink("d/g"));
	stat("d", &dst2);
	show("unlink: dir mtime moved", "%d", ts_cmp(dst2.st_mtim, dst.st_mtim) > 0);
	/* relatime: a read moves an atime older than mtime, once. */
	ts[0].tv_sec = 100; ts[0].tv_nsec = 0;
	ts[1].tv_sec = 200; ts[1].tv_nsec = 0;
	S("utimensat old atime", utimensat(AT_FDCWD, "f", ts, 0));
	usleep(20000); /* past the ctime's coarse clock tick on tmpfs */
	show_file("f");
	stat("f", &st);
	show("read: atime moved", "%d", st.st_atim.tv_sec > 200);
	st2 = st;
	show_file("f");
	stat("f", &st);
	show("second read: atime kept", "%d", ts_cmp(st.st_atim, st2.st_atim) == 0);
	/* Listing a directory moves its atime the same way. */
	S("utimensat dir", utimensat(AT_FDCWD, "d", ts, 0));
	usleep(20000);
	{
		DIR *dp = opendir("d");

		while (dp && readdir(dp))
			;
		if (dp)
			closedir(dp);
	}
	stat("d", &dst);
	show("readdir: dir atime moved", "%d", dst.st_atim.tv_sec > 200);
	S("setxattr", setxattr("f", "user.t", "v", 1, 0));
	stat("f", &st);
	show("setxattr: ctime moved", "%d", ts_cmp(st.st_ctim, st2.st_ctim) > 0);
	S("cleanup", unlink("f") | unlink("l") | rmdir("d"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_list(const char *path)
{
	char buf[70000], *names[1000];
	ssize_t n = listxattr(path, buf, sizeof(buf));
	size_t k = 0, i;
	char *p;

	if (n < 0) {
		printf("listxattr %s: -1 %s\n", path, errname(errno));
		return;
	}
	for (p = buf; p < buf + n && k < 1000; p += strlen(p) + 1)
		if (strncmp(p, "security.selinux", 16) != 0)
			names[k++] = p;
	qsort(names, k, sizeof(names[0]), cmp_names);
	printf("listxattr %s:", path);
	for (i = 0; i < k; i++)
		printf(" %s", names[i]);
	printf("\n");
}

static void sec_xattr(void)
{
	char *big = calloc(1, 70000), name[300], small[4];
	int fd;

	S("write f", writefile("f", "x"));
	S("set user.a", setxattr("f", "user.a", "hello", 5, 0));
	S("get size", getxattr("f", "user.a", NULL, 0));
	S("get", getxattr("f", "user.a", big, 100));
	S("get small buf", getxattr("f", "user.a", small, sizeof(small)));
	S("create existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE));
	S("replace missing", setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
	S("replace existing", setxattr("f", "user.a", "bye", 3, XATTR_REPLACE));
	S("get", getxattr("f", "user.a", big, 100));
	S("set empty", setxattr("f", "user.empty", "", 0, 0));
	S("get empty", getxattr("f", "user.empty", big, 100));
	S("set 64k", setxattr("f", "user.big", big, 65536, 0));
	S("get 64k", getxattr("f", "user.big", big, 70000));
	S("set 64k+1", setxattr("f", "user.big2", big, 65537, 0));
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[255] = '\0';
	S("set name 255", setxattr("f", name, "v", 1, 0));
	name[255] = 'n';
	name[256] = '\0';
	S("set name 256", setxattr("f", name, "v", 1, 0));
	S("get name 256", getxattr("f", name, big, 10));
	S("get missing", getxattr("f", "user.missing", big, 10));
	S("set trusted", setxattr("f", "trusted.t", "1", 1, 0));
	S("set security", setxattr("f", "security.s", "1", 1, 0));
	S("set unknown ns", setxattr("f", "foo.bar", "1", 1, 0));
	S("set system.other", setxattr("f", "system.foo", "1", 1, 0));
	S("set bare user.", setxattr("f", "user.", "1", 1, 0));
	show_list("f");
	S("list size", listxattr("f", NULL, 0) > 0 ? 0 : -1);
	S("list small buf", listxattr("f", small, sizeof(small)));
	S("remove", removexattr("f", "user.a"));
	S("remove again", removexattr("f", "user.a"));
	S("remove long", removexattr("f", name));
	name[255] = '\0';
	S("remove 255", removexattr("f", name));
	show_list("f");
	S("symlink l", symlink("f", "l"));
	S("lsetxattr user on symlink", lsetxattr("l", "user.x", "1", 1, 0));
	S("lsetxattr trusted on symlink", lsetxattr("l", "trusted.x", "1", 1, 0));
	S("setxattr via symlink", setxattr("l", "user.via", "1", 1, 0));
	show_list("f");
	S("mkfifo p", mkfifo("p", 0644));
	S("user xattr on fifo", setxattr("p", "user.x", "1", 1, 0));
	S("mkdir d", mkdir("d", 0755));
	S("user xattr on dir", setxattr("d", "user.x", "1", 1, 0));
	fd = open("f", O_RDONLY);
	S("fgetxattr", fgetxattr(fd, "user.via", big, 10));
	close(fd);
	S("cleanup", unlink("f") | unlink("l") | unlink("p") | rmdir("d"));
	free(big);
}

static void show_seek(int fd, off_t off)
{
	off_t d = lseek(fd, off, SEEK_DATA);
	int ed = errno;
	off_t h = lseek(fd, off, SEEK_HOLE);
	int eh = errno;

	printf("seek %lld: data %lld%s%s hole %lld%s%s\n", (long long)off,
	       (long long)d, d < 0 ? " " : "", d < 0 ? errname(ed) : "",
	       (long long)h, h < 0 ? " " : "", h < 0 ? errname(eh) : "");
}

static unsigned long sum_file(const char *path)
{
	unsigned char buf[65536];
	unsigned long s = 0;
	ssize_t n, i;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			s = s * 31 + buf[i];
	close(fd);
	return s;
}

static void sec_data(void)
{
	char buf[8192], *p;
	struct stat st;
	int fd, fd2, i, st2;
	loff_t oi, oo;
	pid_t pid;

	fd = S("open", open("f", O_RDWR | O_CREAT | O_TRUNC, 0644));
	S("write", write(fd, "0123456789", 10));
	S("ftruncate 4", ftruncate(fd, 4));
	S("ftruncate 8", ftruncate(fd, 8));
	memset(buf, 'z', sizeof(buf));
	S("pread", pread(fd, buf, 20, 0));
	show("bytes", "%d %d %d %d %d", buf[0], buf[3], buf[4], buf[7], buf[8]);
	S("truncate neg", ftruncate(fd, -1));
	S("fallocate 0", fallocate(fd, 0, 0, 100000));
	fstat(fd, &st);
	show("size", "%lld", (long long)st.st_size);
	S("fallocate keep", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 300000));
	fstat(fd, &st);
	show("size", "%lld", (long long)st.st_size);
	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < 10; i++)
		pwrite(fd, buf, sizeof(buf), i * 8192);
	S("punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
	S("punch no keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 4096, 8192));
	/* tmpfs has no FALLOC_FL_ZERO_RANGE; fs_misc.sh tests ours. */
	S("collapse", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
	pread(fd, buf, 4, 4095);
	show("around punch", "%d %d %d %d", buf[0], buf[1], buf[2], buf[3]);
	show("sum", "%lu", sum_file("f"));
	S("close", close(fd));

	fd = S("sparse", open("s", O_RDWR | O_CREAT | O_TRUNC, 0644));
	S("write at 0", pwrite(fd, "data", 4, 0));
	S("write at 1M", pwrite(fd, "data", 4, 1 << 20));
	S("ftruncate 4M", ftruncate(fd, 4 << 20));
	show_seek(fd, 0);
	show_seek(fd, 100);
	show_seek(fd, 8192);
	show_seek(fd, (1 << 20) + 2);
	show_seek(fd, (2 << 20));
	show_seek(fd, 4 << 20);
	show_seek(fd, 5 << 20);
	S("lseek end", lseek(fd, 0, SEEK_END));
	fd2 = S("open copy", open("c", O_RDWR | O_CREAT | O_TRUNC, 0644));
	oi = 0;
	oo = 0;
	S("copy_file_range", copy_file_range(fd, &oi, fd2, &oo, (1 << 20) + 10, 0));
	oi = 1 << 20;
	oo = 3 << 20;
	S("copy_file_range 2", copy_file_range(fd, &oi, fd2, &oo, 4096, 0));
	oi = 4 << 20;
	oo = 0;
	S("copy_file_range past eof", copy_file_range(fd, &oi, fd2, &oo, 4096, 0));
	oi = 0;
	oo = 100;
	S("copy_file_range overlap same", copy_file_range(fd, &oi, fd, &oo, 4096, 0));
	fstat(fd2, &st);
	show("copy size", "%lld", (long long)st.st_size);
	show("copy sum", "%lu", sum_file("c"));
	S("close", close(fd2));

	/* mmap shared and private */
	S("ftruncate 8k", ftruncate(fd, 8192));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	S("mmap shared", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		memcpy(p + 100, "SHARED", 6);
		S("msync", msync(p, 8192, MS_SYNC));
		munmap(p, 8192);
	}
	fd2 = open("s", O_RDONLY);
	memset(buf, 0, sizeof(buf));
	pread(fd2, buf, 6, 100);
	show("shared visible", "'%.6s'", buf);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	S("mmap private", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		memcpy(p + 100, "PRIVAT", 6);
		show("private sees own", "'%.6s'", p + 100);
		munmap(p, 8192);
	}
	pread(fd2, buf, 6, 100);
	show("private not visible", "'%.6s'", buf);

	/* flock and fcntl locks */
	S("flock ex", flock(fd, LOCK_EX | LOCK_NB));
	S("flock ex other fd", flock(fd2, LOCK_EX | LOCK_NB));
	S("flock sh other fd", flock(fd2, LOCK_SH | LOCK_NB));
	S("unlock", flock(fd, LOCK_UN));
	S("flock ex other fd now", flock(fd2, LOCK_EX | LOCK_NB));
	flock(fd2, LOCK_UN);
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = 0, .l_len = 100 };

		S("fcntl setlk", fcntl(fd, F_SETLK, &fl));
	}
	pid = fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = 50, .l_len = 10 };
		int c = open("s", O_RDWR);

		if (fcntl(c, F_SETLK, &fl) == 0)
			_exit(0);
		if (fcntl(c, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK &&
		    fl.l_pid == getppid())
			_exit(errno == EAGAIN || errno == EACCES ? 3 : 4);
		_exit(5);
	}
	waitpid(pid, &st2, 0);
	show("child conflicting lock", "%d", WEXITSTATUS(st2));
	close(fd2);
	S("close", close(fd));

	S("write long", writefile("tr", "0123456789"));
	S("O_TRUNC rewrite", writefile("tr", "ab"));
	show_file("tr");
	show_stat("tr");
	fd = S("O_TRUNC|O_RDONLY", open("tr", O_RDONLY | O_TRUNC));
	close(fd);
	show_stat("tr");
	S("unlink tr", unlink("tr"));
	fd = S("append", open("ap", O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644));
	S("write", write(fd, "abc", 3));
	S("pwrite at 0 appends", pwrite(fd, "de", 2, 0));
	S("write", write(fd, "f", 1));
	close(fd);
	show_file("ap");
	fd = open("ap", O_RDONLY);
	S("write to O_RDONLY", write(fd, "x", 1));
	close(fd);
	S("open dir for write", open(".", O_WRONLY));
	S("read dir", (fd = open(".", O_RDONLY)) >= 0 ? read(fd, buf, 10) : -1);
	close(fd);
	S("cleanup", unlink("f") | unlink("s") | unlink("c") | unlink("ap"));
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } secs[] = {
		{ "ns", sec_ns }, { "links", sec_links }, { "rename", sec_rename },
		{ "whiteout", sec_whiteout },
		{ "unlinkopen", sec_unlinkopen }, { "xattr", sec_xattr },
		{ "perms", sec_perms }, { "times", sec_times }, { "data", sec_data },
	};
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: fs_script DIR SECTION\n");
		return 2;
	}
	if (chdir(argv[1]) < 0) {
		perror(argv[1]);
		return 2;
	}
	umask(022);
	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (strcmp(argv[2], secs[i].name) == 0) {
			secs[i].fn();
			return 0;
		}
	}
	fprintf(stderr, "fs_script: unknown section %s\n", argv[2]);
	return 2;
}
