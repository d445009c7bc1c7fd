/*
 * autounmount.h - make auto_unmount reliable when the daemon is killed.
 *
 * How auto_unmount works: libfuse mounts through fusermount3, which stays
 * behind holding one end of a socketpair whose other end the daemon keeps
 * (libfuse leaks it on purpose).  When that socket closes, fusermount3
 * checks that the mount is still there, opens the mount point, and
 * unmounts only if the open fails with ENOTCONN (a dead connection).
 *
 * The race: a killed daemon's files are closed in an order the kernel
 * chooses; when the socket goes before the /dev/fuse fd, fusermount3 may
 * open the mount point while the connection is still up.  Its OPENDIR is
 * queued, then the /dev/fuse fd goes, the kernel aborts the connection
 * and fails the queued request with ECONNABORTED, not ENOTCONN, and
 * fusermount3 exits without unmounting, leaving a dead mount.  (Seen with
 * an LD_PRELOAD spy on fusermount3: 2 misses in 60 kill -9 cycles, both
 * with open() = ECONNABORTED; the other 58 got ENOTCONN.)
 *
 * The fix: the socket outlives the daemon.  After mounting, the daemon
 * forks a tiny guard process that keeps the socket, closes everything
 * else (the /dev/fuse fd first), and waits on a pidfd for the daemon to be
 * gone entirely; a process's pidfd becomes readable only after all its
 * threads have exited, which is after its files, the /dev/fuse fd
 * included, have been released and the connection aborted.  Then the
 * guard exits, the socket closes, and fusermount3's open gets ENOTCONN.
 * The daemon closes its own copy of the socket.  The guard blocks every
 * signal it can and leaves the daemon's session; killing it by hand (as
 * killing fusermount3 by hand) gives up auto_unmount for that mount.
 *
 * With FUSE over io_uring (uring.c) the daemon's death is not enough: the
 * rings' commands hold the /dev/fuse file too, and the kernel tears the
 * rings down in a worker after the process is gone, so the connection
 * can outlive the pidfd by a moment (tests/uring.sh saw the mount left
 * behind in half the kills).  So the guard then also waits for the
 * abort: a statfs of the mount point fails with ENOTCONN once the
 * connection is aborted (ECANCELED or ECONNABORTED, or a wait, before);
 * only then does it exit.
 *
 * Without pidfd_open (Linux < 5.3) or when the socket cannot be found
 * (another libfuse), nothing changes: the daemon keeps the socket, as
 * libfuse left it.
 */
#ifndef ZSFS_AUTOUNMOUNT_H
#define ZSFS_AUTOUNMOUNT_H

#include <stddef.h>

/* The fds open before mounting (up to a bound; see autounmount.c). */
#define ZSFS_AU_MAX_FDS 256

struct zsfs_autounmount {
	int nfds;                      /* -1: snapshot failed */
	int fds[ZSFS_AU_MAX_FDS];
	char mnt[4096];                /* absolute mount point; "" = unknown */
};

/* zsfs_autounmount_before() - note the open fds and where @mountpoint
 * is (the daemon may chdir("/") later); call just before
 * fuse_session_mount(). */
void zsfs_autounmount_before(struct zsfs_autounmount *au,
			     const char *mountpoint);

/*
 * zsfs_autounmount_guard() - find the auto_unmount socket libfuse opened
 * while mounting (a new AF_UNIX stream socket not among the fds noted
 * before), hand it to a guard process, and close it here.  Call after
 * fuse_daemonize(), in the process that serves the mount.
 * @fuse_fd: the session's /dev/fuse fd (never taken for the socket).
 * @msg: on failure, one line saying why (NUL-terminated within @msg_cap).
 * Return: the guard's pid; 0 when there is no socket (noauto_unmount, or
 *         mounted without fusermount3); -errno when the guard could not
 *         be started (the daemon then keeps the socket; auto_unmount
 *         works as libfuse does).
 */
int zsfs_autounmount_guard(const struct zsfs_autounmount *au, int fuse_fd,
			   char *msg, size_t msg_cap);

#endif
