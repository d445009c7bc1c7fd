/*
 * transport.c - the daemon's side of /dev/fuse below libfuse: every
 * request is counted by opcode here, the INIT reply gets the flags
 * libfuse 3.14 cannot ask for, and each write's kill-suid/sgid flag is
 * handed to the write handler.
 *
 * libfuse 3.14 lets a filesystem read and write the device itself
 * (fuse_session_custom_io); the read hook sees each request's raw
 * fuse_in_header before libfuse parses it, and the writev hook each
 * reply.  loop.c's workers call fuse_session_receive_buf, which calls the
 * read hook in the same thread that then runs fuse_session_process_buf:
 * so a thread-local set in the read hook is what that thread's handler
 * sees.
 *
 * Counters: one relaxed atomic per opcode (FUSE_LOOKUP .. FUSE_TMPFILE),
 * counted as the request is read: every request passes here, FORGETs and
 * INTERRUPTs included, whatever libfuse then does with it.  .zsctl shows
 * them as req_<op> lines (ZSFS_TP_OPCODES), and which transport carries
 * them.
 *
 * INIT: libfuse 3.14 never sends FUSE_PARALLEL_DIROPS (lookups and
 * readdirs of one directory in parallel) nor FUSE_HANDLE_KILLPRIV_V2,
 * which it does not know.  The read hook keeps the INIT request's id and
 * the flags the kernel offered; the writev hook finds the reply with that
 * id (struct fuse_init_out in iov[1]) and adds those of the two bits the
 * kernel offered.  With KILLPRIV_V2 the kernel sets SB_NOSEC and stops
 * asking for security.capability before every write(2) and chown (one
 * GETXATTR each); in exchange the filesystem clears setuid/setgid and the
 * capability itself (ops_file.c: write; ops_entry.c: setattr), as the VFS
 * would: the kernel says when in FUSE_WRITE_KILL_SUIDGID, passed here
 * through zsfs_transport_write_flags(), and FATTR_KILL_SUIDGID, which
 * libfuse passes as FUSE_SET_ATTR_KILL_SUID.
 *
 * io_uring (uring.c): the same hooks serve it.  The INIT reply also
 * gets FUSE_OVER_IO_URING (a flags2 bit) when the rings exist and the
 * kernel offers it, and the rings start once the reply has been written;
 * a reply to a request that came by a ring goes back into its entry
 * (zsfs_uring_reply), and requests from the rings are counted by
 * zsfs_transport_count (reqcount.c) like those read here.
 *
 * lock ordering: no locks; the counters and flags are atomics.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "fs.h"
#include "uring.h"
#include "uring_abi.h"

/* opcode, name in .zsctl (req_<name>) */
#define ZSFS_TP_OPCODES(X)                                                   \
	X(FUSE_LOOKUP, lookup) X(FUSE_FORGET, forget)                        \
	X(FUSE_GETATTR, getattr) X(FUSE_SETATTR, setattr)                    \
	X(FUSE_READLINK, readlink) X(FUSE_SYMLINK, symlink)                  \
	X(FUSE_MKNOD, mknod) X(FUSE_MKDIR, mkdir) X(FUSE_UNLINK, unlink)     \
	X(FUSE_RMDIR, rmdir) X(FUSE_RENAME, rename) X(FUSE_LINK, link)       \
	X(FUSE_OPEN, open) X(FUSE_READ, read) X(FUSE_WRITE, write)           \
	X(FUSE_STATFS, statfs) X(FUSE_RELEASE, release)                      \
	X(FUSE_FSYNC, fsync) X(FUSE_SETXATTR, setxattr)                      \
	X(FUSE_GETXATTR, getxattr) X(FUSE_LISTXATTR, listxattr)              \
	X(FUSE_REMOVEXATTR, removexattr) X(FUSE_FLUSH, flush)                \
	X(FUSE_INIT, init) X(FUSE_OPENDIR, opendir)                          \
	X(FUSE_READDIR, readdir) X(FUSE_RELEASEDIR, releasedir)              \
	X(FUSE_FSYNCDIR, fsyncdir) X(FUSE_GETLK, getlk)                      \
	X(FUSE_SETLK, setlk) X(FUSE_SETLKW, setlkw) X(FUSE_ACCESS, access)   \
	X(FUSE_CREATE, create) X(FUSE_INTERRUPT, interrupt)                  \
	X(FUSE_BMAP, bmap) X(FUSE_DESTROY, destroy) X(FUSE_IOCTL, ioctl)     \
	X(FUSE_POLL, poll) X(FUSE_NOTIFY_REPLY, notify_reply)                \
	X(FUSE_BATCH_FORGET, batch_forget) X(FUSE_FALLOCATE, fallocate)      \
	X(FUSE_READDIRPLUS, readdirplus) X(FUSE_RENAME2, rename2)            \
	X(FUSE_LSEEK, lseek) X(FUSE_COPY_FILE_RANGE, copy_file_range)        \
	X(FUSE_SETUPMAPPING, setupmapping)                                   \
	X(FUSE_REMOVEMAPPING, removemapping) X(FUSE_SYNCFS, syncfs)          \
	X(FUSE_TMPFILE, tmpfile)

/* The bits we add to libfuse's INIT reply when the kernel offers them. */
#define ZSFS_TP_EXTRA_FLAGS (FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV_V2)

static struct zsfs_transport *tp_of(void *userdata)
{
	return &((struct zsfs *)userdata)->tp;
}

static ssize_t tp_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	zsfs_transport_count(tp_of(userdata), buf, n > 0 ? (size_t)n : 0);
	return n;
}

/* The payload an io_uring entry must hold, from the INIT reply: the
 * kernel's max(FUSE_MIN_READ_BUFFER, max_write, max_pages pages). */
static size_t uring_payload_cap(const struct fuse_init_out *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* without FUSE_MAX_PAGES the kernel's default: 32 pages */
	size_t pages = (out->flags & FUSE_MAX_PAGES) && out->max_pages ?
		       out->max_pages : 32;
	size_t cap = pages * page;

	if (cap < out->max_write)
		cap = out->max_write;
	return cap < 8192 ? 8192 : cap;
}

static ssize_t tp_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct zsfs_transport *tp = tp_of(userdata);
	uint64_t unique;
	ssize_t n;

	/* a reply to a request that came by a ring goes back by it */
	if (tp->uring && zsfs_uring_reply(tp->uring, iov, count, &n))
		return n;
	unique = atomic_load_explicit(&tp->init_unique, memory_order_relaxed);
	if (unique && count >= 2 && iov[0].iov_len >= sizeof(struct fuse_out_header) &&
	    ((const struct fuse_out_header *)iov[0].iov_base)->unique == unique &&
	    ((const struct fuse_out_header *)iov[0].iov_base)->error == 0 &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, max_background)) {
		struct fuse_init_out *out = iov[1].iov_base;
		uint32_t add = 0;
		size_t cap = 0;
		int uring = 0;

		if (tp->want_extra)
			add = atomic_load(&tp->kernel_flags) & ZSFS_TP_EXTRA_FLAGS;
		out->flags |= add;
		atomic_store(&tp->added_flags, add);
		atomic_store(&tp->killpriv_v2,
			     !!(add & FUSE_HANDLE_KILLPRIV_V2));
		atomic_store(&tp->init_unique, 0);
		/* io_uring only when the rings exist and the kernel offers it
		 * (enable_uring=Y): once asked for, the kernel holds every
		 * request until the rings are registered */
		if (tp->uring && (out->flags & FUSE_INIT_EXT) &&
		    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + 4 &&
		    (cap = uring_payload_cap(out)) != 0 &&
		    (atomic_load(&tp->kernel_flags2) &
		     ZSFS_FUSE_OVER_IO_URING_FLAGS2)) {
			out->flags2 |= ZSFS_FUSE_OVER_IO_URING_FLAGS2;
			uring = 1;
		}
		n = writev(fd, iov, count);
		/* the kernel has processed the reply when writev returns:
		 * registration may begin */
		if (tp->uring)
			zsfs_uring_start(tp->uring, uring && n > 0 ? cap : 0);
		return n;
	}
	return writev(fd, iov, count);
}

int zsfs_transport_attach(struct fuse_session *se, struct zsfs_transport *tp)
{
	static const struct fuse_custom_io io = {
		.read = tp_read,
		.writev = tp_writev,
	};

	(void)tp;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

void zsfs_transport_print(struct zsfs_transport *tp, FILE *f)
{
	fprintf(f, "transport %s\n",
		zsfs_uring_active(tp->uring) ? "io_uring" : "devfuse");
	fprintf(f, "init_flags_added %u\n", atomic_load(&tp->added_flags));
	zsfs_uring_print(tp->uring, f);
#define ZSFS_TP_PRINT(op, name)                                              \
	fprintf(f, "req_" #name " %llu\n",                                   \
		(unsigned long long)atomic_load_explicit(&tp->req[op],       \
							 memory_order_relaxed));
	ZSFS_TP_OPCODES(ZSFS_TP_PRINT)
#undef ZSFS_TP_PRINT
	fprintf(f, "req_other %llu\n",
		(unsigned long long)atomic_load_explicit(&tp->req[0],
							 memory_order_relaxed));
}
