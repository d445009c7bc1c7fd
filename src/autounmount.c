/*
 * autounmount.c - the guard process that holds fusermount3's auto_unmount
 * socket until the daemon is entirely gone (see autounmount.h for why).
 *
 * The guard is forked from a multithreaded process, so between fork and
 * _exit it makes only system calls (no malloc, no stdio, no locks).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "autounmount.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434   /* the same on every architecture */
#endif

void zsfs_autounmount_before(struct zsfs_autounmount *au,
			     const char *mountpoint)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char buf[PATH_MAX];

	au->mnt[0] = '\0';
	if (realpath(mountpoint, buf) && strlen(buf) < sizeof(au->mnt))
		strcpy(au->mnt, buf);
	au->nfds = 0;
	if (!d) {
		au->nfds = -1;
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (au->nfds == ZSFS_AU_MAX_FDS) {
			/* too many to compare: find no socket later */
			au->nfds = -1;
			break;
		}
		au->fds[au->nfds++] = atoi(e->d_name);
	}
	closedir(d);
}

static int was_open(const struct zsfs_autounmount *au, int fd)
{
	int i;

	for (i = 0; i < au->nfds; i++)
		if (au->fds[i] == fd)
			return 1;
	return 0;
}

static int is_unix_stream(int fd)
{
	struct stat st;
	int v;
	socklen_t len = sizeof(v);

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_UNIX)
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	       v == SOCK_STREAM;
}

/* The one new AF_UNIX stream socket: its fd, -ENOENT (none), -EEXIST
 * (several: we cannot tell which). */
static int find_socket(const struct zsfs_autounmount *au, int fuse_fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		if (fd == fuse_fd || fd == dirfd(d) || was_open(au, fd) ||
		    !is_unix_stream(fd))
			continue;
		found = found == -ENOENT ? fd : -EEXIST;
	}
	closedir(d);
	return found;
}

/* Close every fd but @a and @b (a < b). */
static void close_all_but(int a, int b)
{
	int fd;

	/* close_range(2) since Linux 5.9; else one by one. */
#ifdef SYS_close_range
	if (a > 0 && syscall(SYS_close_range, 0u, (unsigned)a - 1, 0u) == 0 &&
	    (b == a + 1 ||
	     syscall(SYS_close_range, (unsigned)a + 1, (unsigned)b - 1, 0u) == 0) &&
	    syscall(SYS_close_range, (unsigned)b + 1, ~0u, 0u) == 0)
		return;
#endif
	for (fd = 0; fd < 65536; fd++)
		if (fd != a && fd != b)
			close(fd);
}

/* The daemon is gone; wait until its connection is aborted too (see
 * autounmount.h: io_uring).  Until then a statfs fails with ECANCELED
 * (the kernel handed it to a ring entry of a dead thread) or
 * ECONNABORTED (ended by the abort), or waits; after it, ENOTCONN.
 * Bounded (10 s): a statfs that answers or fails otherwise, or the time
 * running out, ends the wait. */
static void wait_aborted(const char *mnt)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct statfs st;
	int i;

	if (!mnt[0])
		return;
	for (i = 0; i < 1000; i++) {
		if (statfs(mnt, &st) == 0 || (errno != ECONNABORTED &&
					       errno != ECANCELED &&
					       errno != EINTR))
			return;
		nanosleep(&tick, NULL);
	}
}

static void guard_main(int sock, pid_t daemon_pid, const char *mnt)
	__attribute__((noreturn));
static void guard_main(int sock, pid_t daemon_pid, const char *mnt)
{
	struct pollfd pfd;
	sigset_t all;
	int pidfd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	setsid();  /* no terminal signals, whatever the daemon's group */
	prctl(PR_SET_NAME, "zsfs-unmount", 0, 0, 0);
	pidfd = (int)syscall(SYS_pidfd_open, daemon_pid, 0);
	/* Our parent gone already (we were re-parented): nothing to wait
	 * for.  A pidfd opened before this check is the daemon's. */
	if (pidfd < 0 || getppid() != daemon_pid)
		_exit(0);
	if (sock < pidfd)
		close_all_but(sock, pidfd);
	else
		close_all_but(pidfd, sock);
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	wait_aborted(mnt);
	_exit(0);
}

int zsfs_autounmount_guard(const struct zsfs_autounmount *au, int fuse_fd,
			   char *msg, size_t msg_cap)
{
	pid_t daemon_pid = getpid(), pid;
	char self_name[17];  /* TASK_COMM_LEN + 1 */
	int sock, probe;

	if (msg_cap)
		msg[0] = '\0';
	if (au->nfds < 0)
		return 0;
	sock = find_socket(au, fuse_fd);
	if (sock == -ENOENT)
		return 0;
	if (sock < 0) {
		snprintf(msg, msg_cap, "auto_unmount socket not found: %s",
			 strerror(-sock));
		return sock;
	}
	/* Does this kernel have pidfd_open?  (Our own pid: always there.) */
	probe = (int)syscall(SYS_pidfd_open, daemon_pid, 0);
	if (probe < 0) {
		int rc = -errno;

		snprintf(msg, msg_cap, "pidfd_open: %s; auto_unmount as libfuse does it",
			 strerror(-rc));
		return rc;
	}
	close(probe);
	/* The child is named before it exists: the parent takes the name
	 * for the fork and then gets its own back, so that no one who looks
	 * for the guard right after the mount (tests/daemon_death.sh) finds
	 * it still named zsfs because it has not run yet (seen under load). */
	if (prctl(PR_GET_NAME, self_name, 0, 0, 0) != 0)
		strcpy(self_name, "zsfs");
	prctl(PR_SET_NAME, "zsfs-unmount", 0, 0, 0);
	pid = fork();
	if (pid != 0)
		prctl(PR_SET_NAME, self_name, 0, 0, 0);
	if (pid < 0) {
		int rc = -errno;

		snprintf(msg, msg_cap, "cannot start the auto_unmount guard: %s",
			 strerror(-rc));
		return rc;
	}
	if (pid == 0)
		guard_main(sock, daemon_pid, au->mnt);
	close(sock);
	return (int)pid;
}
