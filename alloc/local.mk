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
	tests/alloc_class \
	tests/alloc_map \
	tests/alloc_limit \
	tests/alloc_stats

check_PROGRAMS += $(alloc_tests)
TESTS += $(alloc_tests)
noinst_HEADERS += tests/alloc_util.h

tests_alloc_class_LDADD = alloc/libzsalloc.a
tests_alloc_map_LDADD = alloc/libzsalloc.a
tests_alloc_limit_LDADD = alloc/libzsalloc.a
tests_alloc_stats_LDADD = alloc/libzsalloc.a

# The benchmark (bench/allocbench.md): `make bench/allocbench`.
noinst_PROGRAMS += bench/allocbench
bench_allocbench_SOURCES = bench/allocbench.c
bench_allocbench_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS)
bench_allocbench_LDADD = alloc/libzsalloc.a $(LZ4_LIBS) $(ZSTD_LIBS) -ldl
if HAVE_JEMALLOC
bench_allocbench_CFLAGS += -DHAVE_JEMALLOC
endif
if HAVE_MIMALLOC
bench_allocbench_CFLAGS += -DHAVE_MIMALLOC
endif
