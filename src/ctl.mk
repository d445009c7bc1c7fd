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
	src/ctl_text.c \
	src/ctl_cmd.c \
	src/ctl_writer.c \
	src/ctl_xattr.c \
	src/compactor.h \
	src/compactor.c \
	src/memcg.h \
	src/memcg.c \
	src/sysmem.h \
	src/sysmem.c

CTL_TEST_LIBS = src/libzsfsctl.a src/libzsfsdata.a alloc/libzsalloc.a \
	$(LZ4_LIBS) $(ZSTD_LIBS)

# TAP unit tests of the control plane (no FUSE): the parser, commands and
# writer; the text, the xattrs and the compactor.
CTL_TESTS = tests/ctl_parse tests/ctl_text
check_PROGRAMS += $(CTL_TESTS)
TESTS += $(CTL_TESTS)
tests_ctl_parse_SOURCES = tests/ctl_parse.c tests/ctl_util.h tests/tap.h
tests_ctl_parse_LDADD = $(CTL_TEST_LIBS)
tests_ctl_text_SOURCES = tests/ctl_text.c tests/ctl_util.h tests/tap.h
tests_ctl_text_LDADD = $(CTL_TEST_LIBS)

# The mount options and the commands read sizes and percentages alike:
# one table through both parsers (no FUSE).
check_PROGRAMS += tests/parse_agree
TESTS += tests/parse_agree
tests_parse_agree_SOURCES = tests/parse_agree.c tests/tap.h \
	src/options.h src/options.c
tests_parse_agree_LDADD = $(CTL_TEST_LIBS)

# Mounted test of .zsctl, the commands, the xattrs and auto compaction.
dist_check_SCRIPTS += tests/ctl_mount.sh
TESTS += tests/ctl_mount.sh

# Read latency while the pool compacts: bench/compact_latency [MiB].
noinst_PROGRAMS += bench/compact_latency
bench_compact_latency_SOURCES = bench/compact_latency.c tests/test_util.h
bench_compact_latency_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_compact_latency_LDADD = $(CTL_TEST_LIBS)

# Fragmentation and auto-compaction experiment on a real mount (root):
# ZSFS=src/zsfs bench/churn.sh
EXTRA_DIST += bench/churn.sh

# libFuzzer target for the command parser and the writer: `make fuzz-ctl`,
# then ./fuzz/fuzz_ctl [corpus dir].  Not built by default, not a test.
EXTRA_DIST += fuzz/fuzz_ctl.c
FUZZ_CTL_SRCS = \
	$(srcdir)/fuzz/fuzz_ctl.c \
	$(srcdir)/src/ctl.c \
	$(srcdir)/src/ctl_text.c \
	$(srcdir)/src/ctl_cmd.c \
	$(srcdir)/src/ctl_writer.c \
	$(srcdir)/src/ctl_xattr.c \
	$(srcdir)/src/compactor.c \
	$(srcdir)/src/memcg.c \
	$(srcdir)/src/sysmem.c
fuzz/fuzz_ctl: $(FUZZ_CTL_SRCS) src/libzsfsdata.a alloc/libzsalloc.a
	$(AM_V_CCLD)$(FUZZ_LINK) $(FUZZ_CTL_SRCS) \
		src/libzsfsdata.a alloc/libzsalloc.a \
		$(LZ4_LIBS) $(ZSTD_LIBS) $(XXHASH_LIBS) -pthread
fuzz-ctl: fuzz/fuzz_ctl
CLEANFILES += fuzz/fuzz_ctl
