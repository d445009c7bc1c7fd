# src/ control plane library: part of the one Makefile.
#
# libzsfsctl.a: the .zsctl text and commands, the user.zsfs.* xattrs and
# the background compactor.  It links without FUSE (the daemon passes
# callbacks), so its unit tests and the fuzz target need only the data
# and allocator libraries.

noinst_LIBRARIES += src/libzsfsctl.a
src_libzsfsctl_a_SOURCES = \
	src/ctl.h \
	src/ctl_internal.h \
	src/ctl.c \
	src/compactor.c
