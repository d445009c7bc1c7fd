# alloc/ part of the one Makefile (included from Makefile.am).
#
# The allocator is a static library with no dependency on FUSE: src/ and
# the unit tests link it.

noinst_LIBRARIES += alloc/libzsalloc.a
alloc_libzsalloc_a_SOURCES = \
	alloc/zsmalloc.h \
	alloc/internal.h \
	alloc/pool.c \
	alloc/class.c \
	alloc/zspage.c \
	alloc/handle.c \
	alloc/map.c \
	alloc/compact.c \
	alloc/os.c \
	alloc/stats.c

# Unit tests (TAP), one program per module.
alloc_tests = \
	tests/alloc_map

check_PROGRAMS += $(alloc_tests)
TESTS += $(alloc_tests)
noinst_HEADERS += tests/alloc_util.h

tests_alloc_map_LDADD = alloc/libzsalloc.a
