# src/ the daemon (src/zsfs) and its tests: part of the one Makefile.
#
# The daemon is built from the FUSE handlers (ops_*.c), the namespace
# (inode.c, dir.c, xattr.c) and the option parser (options.c), linked with
# the control plane, the page store and the allocator.

bin_PROGRAMS += src/zsfs
src_zsfs_SOURCES = \
	src/fs.h \
	src/main.c \
	src/loop.c \
	src/transport.h \
	src/transport.c \
	src/reqcount.c \
	src/uring.h \
	src/uring_abi.h \
	src/uring_internal.h \
	src/uring.c \
	src/uring_serve.c \
	src/autounmount.h \
	src/autounmount.c \
	src/options.h \
	src/options.c \
	src/inode.c \
	src/imeta.c \
	src/settle.c \
	src/fswalk.c \
	src/quota.h \
	src/quota.c \
	src/dir.c \
	src/xattr.c \
	src/ops_entry.c \
	src/ops_rename.c \
	src/ops_file.c \
	src/ops_dir.c \
	src/ops_xattr.c \
	src/ops_ctl.c \
	src/ops_fs.c
src_zsfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS) \
	$(URING_CFLAGS)
src_zsfs_LDADD = src/libzsfsctl.a src/libzsfsdata.a alloc/libzsalloc.a \
	$(FUSE_LIBS) $(LZ4_LIBS) $(ZSTD_LIBS) $(URING_LIBS)

# Unit test of the option parser (no FUSE, no mount).
check_PROGRAMS += tests/options_parse
TESTS += tests/options_parse
tests_options_parse_SOURCES = tests/options_parse.c tests/tap.h \
	src/options.h src/options.c
tests_options_parse_LDADD = src/libzsfsdata.a alloc/libzsalloc.a \
	$(LZ4_LIBS) $(ZSTD_LIBS)

# Unit test of the directory table (dir.c), no mount.
check_PROGRAMS += tests/dir_table
TESTS += tests/dir_table
tests_dir_table_SOURCES = tests/dir_table.c tests/tap.h src/dir.c src/imeta.c
tests_dir_table_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
tests_dir_table_LDADD = src/libzsfsdata.a alloc/libzsalloc.a \
	$(FUSE_LIBS) $(LZ4_LIBS) $(ZSTD_LIBS)

# Mounted tests: zsfs against tmpfs, run as root.
check_PROGRAMS += tests/fs_script
tests_fs_script_SOURCES = tests/fs_script.c
dist_check_SCRIPTS += tests/fs_compare.sh
TESTS += tests/fs_compare.sh

check_PROGRAMS += tests/fs_dirstress
tests_fs_dirstress_SOURCES = tests/fs_dirstress.c
dist_check_SCRIPTS += tests/fs_dir.sh
TESTS += tests/fs_dir.sh
dist_check_SCRIPTS += tests/fs_acl.sh
TESTS += tests/fs_acl.sh
dist_check_SCRIPTS += tests/killpriv.sh
TESTS += tests/killpriv.sh
dist_check_SCRIPTS += tests/fs_tree.sh
dist_check_SCRIPTS += tests/uring.sh
TESTS += tests/uring.sh
THREADED_TESTS += tests/uring.sh
TESTS += tests/fs_tree.sh
dist_check_SCRIPTS += tests/fs_mount.sh
TESTS += tests/fs_mount.sh
THREADED_TESTS += tests/fs_dir.sh
dist_check_SCRIPTS += tests/fs_memory.sh
TESTS += tests/fs_memory.sh
dist_check_SCRIPTS += tests/memcg_mount.sh
TESTS += tests/memcg_mount.sh
dist_check_SCRIPTS += tests/os_refuse.sh
TESTS += tests/os_refuse.sh
THREADED_TESTS += tests/fs_memory.sh

# zsfsctl, the human view of a mount: a bash script, its version filled in.
bin_SCRIPTS = src/zsfsctl
EXTRA_DIST += src/zsfsctl.in
CLEANFILES += src/zsfsctl
src/zsfsctl: src/zsfsctl.in Makefile
	$(AM_V_GEN)$(MKDIR_P) src && \
	sed -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' $(srcdir)/src/zsfsctl.in >$@.tmp && \
	chmod +x $@.tmp && mv -f $@.tmp $@
