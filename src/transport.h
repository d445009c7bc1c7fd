/*
 * transport.h - how requests reach the daemon: the /dev/fuse hooks that
 * count every request by opcode, negotiate the INIT flags libfuse 3.14
 * leaves out, and pass each write's kill-suid/sgid flag to its handler.
 * See transport.c.
 */
#ifndef ZSFS_TRANSPORT_H
#define ZSFS_TRANSPORT_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

struct fuse_session;
struct zsfs_uring;

/* The highest FUSE opcode counted (FUSE_TMPFILE); others count as
 * req_other. */
#define ZSFS_TP_MAX_OPCODE 51

struct zsfs_transport {
	/* requests received, by opcode; [0] counts unknown ones */
	_Atomic uint64_t req[ZSFS_TP_MAX_OPCODE + 1];
	/* set by the INIT exchange, read by every handler after it */
	_Atomic uint32_t kernel_flags;   /* what the kernel offered */
	_Atomic uint32_t added_flags;    /* what we added to libfuse's reply */
	_Atomic int killpriv_v2;         /* FUSE_HANDLE_KILLPRIV_V2 is on */
	_Atomic uint32_t kernel_flags2;  /* what the kernel offered, bits 32+ */
	_Atomic uint64_t init_unique;    /* the INIT request's id; 0 = done */
	int want_extra;                  /* add the flags at all */
	/* FUSE over io_uring (uring.c): set before the session's first
	 * request, then immutable; NULL = /dev/fuse only */
	struct zsfs_uring *uring;
};

/* Route the session's reads and writes of /dev/fuse through the hooks.
 * Call after fuse_session_mount(); @userdata of the session must be the
 * struct zsfs that holds @tp (fs->tp). */
int zsfs_transport_attach(struct fuse_session *se, struct zsfs_transport *tp);

/* Count one request (@buf: fuse_in_header and arguments, @len bytes)
 * and note what its handler needs (a write's kill-suid flag, INIT's
 * offer): the read hook calls it for /dev/fuse, uring.c for the rings.
 * Call in the thread that then handles the request. */
void zsfs_transport_count(struct zsfs_transport *tp, const void *buf,
			  size_t len);

/* The write_flags of the FUSE_WRITE this thread is handling (0 for any
 * other request). */
uint32_t zsfs_transport_write_flags(void);

/* Print "transport devfuse|io_uring", "init_flags_added N", the uring_*
 * lines (uring.h) and one "req_<op> N" line per opcode. */
void zsfs_transport_print(struct zsfs_transport *tp, FILE *f);

#endif
