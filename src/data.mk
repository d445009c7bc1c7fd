# src/ data path library (codecs, page table, page store): part of the one
# Makefile (included from Makefile.am).  It also holds parse.c, the grammar
# of sizes and percentages, because it is the one library that both the
# mount options (the daemon, tests/options_parse, fuzz_options) and the
# control plane link.
noinst_LIBRARIES += src/libzsfsdata.a
src_libzsfsdata_a_SOURCES = \
	src/parse.h \
	src/parse.c \
	src/pagestore.h \
	src/budget.h \
	src/budget.c \
	src/backing.h \
	src/backing.c \
	src/backing_file.c \
	src/codec.h \
	src/codec.c \
	src/codec_lz4.c \
	src/codec_zstd.c \
	src/codec_none.c \
	src/pagemap.h \
	src/pagemap.c \
	src/store_internal.h \
	src/workers.c \
	src/pagestore.c \
	src/storelife.c \
	src/pagecodec.c \
	src/dict.c \
	src/recompress.c \
	src/entry.c \
	src/share.c \
	src/dedup.c \
	src/dedup_hash.c \
	src/dirty.c \
	src/pagejob.c \
	src/fileio.c \
	src/range.c \
	src/writeback.c
src_libzsfsdata_a_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS) $(XXHASH_CFLAGS)

ZSFSDATA_TEST_LIBS = src/libzsfsdata.a alloc/libzsalloc.a $(LZ4_LIBS) $(ZSTD_LIBS)

# TAP unit tests of the data path: no FUSE needed.
ZSFSDATA_TESTS = \
	tests/codec_basic \
	tests/pagemap_basic \
	tests/pagestore_basic \
	tests/pagestore_inline \
	tests/pagestore_random \
	tests/pagestore_enospc \
	tests/pagestore_share \
	tests/pagestore_smallwrite \
	tests/pagestore_threads \
	tests/pagestore_parallel \
	tests/budget_reclaim \
	tests/pagestore_recompress \
	tests/backing_basic \
	tests/backing_random \
	tests/pagestore_writeback
check_PROGRAMS += $(ZSFSDATA_TESTS)
TESTS += $(ZSFSDATA_TESTS)

tests_codec_basic_SOURCES = tests/codec_basic.c tests/tap.h
tests_codec_basic_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS)
tests_codec_basic_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagemap_basic_SOURCES = tests/pagemap_basic.c tests/tap.h
tests_pagemap_basic_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_basic_SOURCES = tests/pagestore_basic.c tests/tap.h
tests_pagestore_basic_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_inline_SOURCES = tests/pagestore_inline.c tests/tap.h
tests_pagestore_inline_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_random_SOURCES = tests/pagestore_random.c tests/tap.h
tests_pagestore_random_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_enospc_SOURCES = tests/pagestore_enospc.c tests/tap.h
tests_pagestore_enospc_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_writeback_SOURCES = tests/pagestore_writeback.c tests/tap.h tests/test_util.h
tests_pagestore_writeback_LDADD = $(ZSFSDATA_TEST_LIBS) -lpthread
tests_pagestore_share_SOURCES = tests/pagestore_share.c tests/tap.h tests/test_util.h
tests_pagestore_share_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_smallwrite_SOURCES = tests/pagestore_smallwrite.c tests/tap.h
tests_pagestore_smallwrite_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_threads_SOURCES = tests/pagestore_threads.c tests/tap.h
tests_pagestore_threads_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_parallel_SOURCES = tests/pagestore_parallel.c tests/tap.h
tests_pagestore_parallel_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_budget_reclaim_SOURCES = tests/budget_reclaim.c tests/tap.h tests/test_util.h
tests_budget_reclaim_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_pagestore_recompress_SOURCES = tests/pagestore_recompress.c tests/tap.h tests/test_util.h
tests_pagestore_recompress_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_backing_basic_SOURCES = tests/backing_basic.c tests/tap.h
tests_backing_basic_LDADD = $(ZSFSDATA_TEST_LIBS)
tests_backing_random_SOURCES = tests/backing_random.c tests/tap.h
tests_backing_random_LDADD = $(ZSFSDATA_TEST_LIBS)

# In-process codec throughput: bench/codeclimit FILE (used by bench/compare).
noinst_PROGRAMS += bench/codeclimit
bench_codeclimit_SOURCES = bench/codeclimit.c
bench_codeclimit_CFLAGS = $(AM_CFLAGS) $(LZ4_CFLAGS) $(ZSTD_CFLAGS)
bench_codeclimit_LDADD = src/libzsfsdata.a $(LZ4_LIBS) $(ZSTD_LIBS)

# Heap per small file, real (malloc) and as zsfs_file_meta_bytes counts
# it: bench/filemeta [N [MIN_PAGES [MAX_PAGES]]].
noinst_PROGRAMS += bench/filemeta
bench_filemeta_SOURCES = bench/filemeta.c tests/test_util.h
bench_filemeta_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_filemeta_LDADD = $(ZSFSDATA_TEST_LIBS)

# libFuzzer target for the page store: `make fuzz-pagestore`, then
# ./fuzz/fuzz_pagestore [corpus dir].  Not built by default, not a test.
EXTRA_DIST += fuzz/fuzz_pagestore.c
FUZZ_PAGESTORE_SRCS = \
	$(srcdir)/fuzz/fuzz_pagestore.c \
	$(srcdir)/src/budget.c \
	$(srcdir)/src/backing.c \
	$(srcdir)/src/backing_file.c \
	$(srcdir)/src/codec.c \
	$(srcdir)/src/codec_lz4.c \
	$(srcdir)/src/codec_zstd.c \
	$(srcdir)/src/codec_none.c \
	$(srcdir)/src/pagemap.c \
	$(srcdir)/src/workers.c \
	$(srcdir)/src/pagestore.c \
	$(srcdir)/src/storelife.c \
	$(srcdir)/src/pagecodec.c \
	$(srcdir)/src/dict.c \
	$(srcdir)/src/recompress.c \
	$(srcdir)/src/entry.c \
	$(srcdir)/src/share.c \
	$(srcdir)/src/dedup.c \
	$(srcdir)/src/dedup_hash.c \
	$(srcdir)/src/dirty.c \
	$(srcdir)/src/pagejob.c \
	$(srcdir)/src/fileio.c \
	$(srcdir)/src/range.c \
	$(srcdir)/src/writeback.c
fuzz/fuzz_pagestore: $(FUZZ_PAGESTORE_SRCS) alloc/libzsalloc.a
	$(AM_V_CCLD)$(FUZZ_LINK) $(LZ4_CFLAGS) $(ZSTD_CFLAGS) \
		$(FUZZ_PAGESTORE_SRCS) alloc/libzsalloc.a \
		$(LZ4_LIBS) $(ZSTD_LIBS) $(XXHASH_LIBS) -pthread
fuzz-pagestore: fuzz/fuzz_pagestore
CLEANFILES += fuzz/fuzz_pagestore
THREADED_TESTS += tests/pagestore_threads tests/pagestore_parallel \
	tests/budget_reclaim tests/backing_random tests/pagestore_writeback
noinst_HEADERS += tests/test_util.h
