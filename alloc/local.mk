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
	alloc/arena.c \
	alloc/account.c \
	alloc/stats.c \
	alloc/check.c

# Unit tests (TAP), one program per module.
alloc_tests = \
	tests/alloc_class \
	tests/alloc_map \
	tests/alloc_limit \
	tests/alloc_oomhook \
	tests/alloc_stats \
	tests/alloc_compact \
	tests/alloc_random \
	tests/alloc_reserve \
	tests/alloc_threads

check_PROGRAMS += $(alloc_tests)
TESTS += $(alloc_tests)
tests_alloc_class_SOURCES = tests/alloc_class.c tests/tap.h tests/alloc_util.h
tests_alloc_class_LDADD = alloc/libzsalloc.a
tests_alloc_map_SOURCES = tests/alloc_map.c tests/tap.h tests/alloc_util.h
tests_alloc_map_LDADD = alloc/libzsalloc.a
tests_alloc_limit_SOURCES = tests/alloc_limit.c tests/tap.h tests/alloc_util.h
tests_alloc_limit_LDADD = alloc/libzsalloc.a
tests_alloc_oomhook_SOURCES = tests/alloc_oomhook.c tests/tap.h tests/alloc_util.h
tests_alloc_oomhook_LDADD = alloc/libzsalloc.a
tests_alloc_stats_SOURCES = tests/alloc_stats.c tests/tap.h tests/alloc_util.h
tests_alloc_stats_LDADD = alloc/libzsalloc.a
tests_alloc_compact_SOURCES = tests/alloc_compact.c tests/tap.h tests/alloc_util.h
tests_alloc_compact_LDADD = alloc/libzsalloc.a
tests_alloc_random_SOURCES = tests/alloc_random.c tests/tap.h tests/alloc_util.h
tests_alloc_random_LDADD = alloc/libzsalloc.a
tests_alloc_reserve_SOURCES = tests/alloc_reserve.c tests/tap.h
tests_alloc_reserve_LDADD = alloc/libzsalloc.a
tests_alloc_threads_SOURCES = tests/alloc_threads.c tests/tap.h tests/alloc_util.h
tests_alloc_threads_LDADD = alloc/libzsalloc.a
THREADED_TESTS += tests/alloc_threads

# The benchmark (bench/allocbench.md): `make bench/allocbench`.
EXTRA_DIST += bench/allocbench.md
noinst_PROGRAMS += bench/allocbench
bench_allocbench_SOURCES = bench/allocbench.c tests/test_util.h
bench_allocbench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_allocbench_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS)
bench_allocbench_LDADD = alloc/libzsalloc.a $(LZ4_LIBS) $(ZSTD_LIBS) -ldl
if HAVE_JEMALLOC
bench_allocbench_CFLAGS += -DHAVE_JEMALLOC
endif
if HAVE_MIMALLOC
bench_allocbench_CFLAGS += -DHAVE_MIMALLOC
endif

# libFuzzer target for the allocator: `make fuzz-alloc`, then
# ./fuzz/fuzz_alloc [corpus dir].  The allocator is compiled into it with
# the sanitizers.  Not built by default, not a test.
EXTRA_DIST += fuzz/fuzz_alloc.c
FUZZ_ALLOC_SRCS = \
	$(srcdir)/fuzz/fuzz_alloc.c \
	$(srcdir)/alloc/pool.c \
	$(srcdir)/alloc/class.c \
	$(srcdir)/alloc/zspage.c \
	$(srcdir)/alloc/handle.c \
	$(srcdir)/alloc/map.c \
	$(srcdir)/alloc/compact.c \
	$(srcdir)/alloc/os.c \
	$(srcdir)/alloc/arena.c \
	$(srcdir)/alloc/account.c \
	$(srcdir)/alloc/stats.c \
	$(srcdir)/alloc/check.c
fuzz/fuzz_alloc: $(FUZZ_ALLOC_SRCS) $(alloc_libzsalloc_a_SOURCES)
	$(AM_V_CCLD)$(FUZZ_LINK) -DZS_DEBUG $(FUZZ_ALLOC_SRCS) -pthread
fuzz-alloc: fuzz/fuzz_alloc
CLEANFILES += fuzz/fuzz_alloc
