# bench/ part of the one Makefile (included from Makefile.am).
#
# bench/compare is the one benchmark command: it mounts zsfs (lz4, zstd),
# tmpfs and ext4 on a fresh zram device, runs the same workloads on each and
# prints one markdown table.  `make bench` runs it against this build tree;
# pass options through BENCH_FLAGS, e.g. `make bench BENCH_FLAGS=--quick`.
# It needs root (mount, zram, drop_caches); see bench/README.md.

noinst_PROGRAMS += bench/smallfiles
bench_smallfiles_SOURCES = bench/smallfiles.c

# What the page store's dirty set buys (CPU time, 100-byte appends vs
# 128 KiB writes): bench/smallwrite [RUNS].  Not run by make check.
noinst_PROGRAMS += bench/smallwrite
bench_smallwrite_SOURCES = bench/smallwrite.c tests/test_util.h tests/tap.h
bench_smallwrite_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_smallwrite_LDADD = src/libzsfsdata.a alloc/libzsalloc.a \
	$(LZ4_LIBS) $(ZSTD_LIBS)

EXTRA_DIST += bench/compare bench/dedup_workloads.sh bench/chart bench/README.md bench/RESULTS.md bench/compare.png bench/killcycle.sh bench/roundtrips.sh \
	bench/meta.sh

BENCH_FLAGS =

bench: all
	$(srcdir)/bench/compare --zsfs $(abs_top_builddir)/src/zsfs \
		--builddir $(abs_top_builddir) --srcdir $(abs_top_srcdir) $(BENCH_FLAGS)

.PHONY: bench

# What dedup= costs a sequential write, in process: bench/dedupwrite
# [RUNS [MIB]].  bench/dedup.sh measures it and cp -a on mounts.
noinst_PROGRAMS += bench/dedupwrite
bench_dedupwrite_SOURCES = bench/dedupwrite.c tests/test_util.h
bench_dedupwrite_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_dedupwrite_LDADD = src/libzsfsdata.a alloc/libzsalloc.a \
	$(LZ4_LIBS) $(ZSTD_LIBS)
EXTRA_DIST += bench/dedup.sh

# The backing file's allocator and I/O, in process:
# bench/backingbench [DIR [SIZE_MIB]].  Not run by make check.
noinst_PROGRAMS += bench/backingbench
bench_backingbench_SOURCES = bench/backingbench.c
bench_backingbench_LDADD = src/libzsfsdata.a alloc/libzsalloc.a \
	$(LZ4_LIBS) $(ZSTD_LIBS)
