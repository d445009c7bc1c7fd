# tests/ part of the one Makefile (included from Makefile.am).
#
# The reliability suite: the model exerciser (fsx), concurrency
# (mt_stress), stress-ng's stressors, ENOSPC, bad input, leaks and daemon
# death, all on a live mount through tests/lib.sh.  The C helpers are check
# programs the .sh tests run; soak.sh is the long mode (`make soak`), not
# part of `make check`.  The longest tests come first so that make -j
# starts them early.

# Helpers: the model exerciser, the threaded stress, one-syscall errno probe.
check_PROGRAMS += tests/fsx tests/mt_stress tests/errno_probe
tests_fsx_SOURCES = tests/fsx.c
tests_mt_stress_SOURCES = tests/mt_stress.c
tests_errno_probe_SOURCES = tests/errno_probe.c

RELIABILITY_TESTS = \
	tests/stressng.sh \
	tests/fsx.sh \
	tests/mt_stress.sh \
	tests/dict_readers.sh \
	tests/enospc.sh \
	tests/share.sh \
	tests/dedup.sh \
	tests/leak.sh \
	tests/badinput.sh \
	tests/daemon_death.sh
dist_check_SCRIPTS += $(RELIABILITY_TESTS)
TESTS += $(RELIABILITY_TESTS)
THREADED_TESTS += tests/mt_stress.sh

# The daemon's memory safety: cgroup limits and MemAvailable read from
# fake trees (no FUSE), and the daemon's oom_score_adj on a live mount.
MEM_UNIT_TESTS = tests/memcg_read tests/sysmem_basic
check_PROGRAMS += $(MEM_UNIT_TESTS)
TESTS += $(MEM_UNIT_TESTS)
tests_memcg_read_SOURCES = tests/memcg_read.c tests/tap.h
tests_memcg_read_LDADD = src/libzsfsctl.a
tests_sysmem_basic_SOURCES = tests/sysmem_basic.c tests/tap.h \
	src/options.h src/options.c
tests_sysmem_basic_LDADD = src/libzsfsctl.a src/libzsfsdata.a \
	alloc/libzsalloc.a $(LZ4_LIBS) $(ZSTD_LIBS)
dist_check_SCRIPTS += tests/oom_score.sh
TESTS += tests/oom_score.sh

# Shared by every mounted and C test.
EXTRA_DIST += tests/lib.sh tests/tap.h

# The long mode, by hand: make soak [SOAK_MINUTES=20 SOAK_MT_MINUTES=5].
EXTRA_DIST += tests/soak.sh
soak: tests/fsx tests/mt_stress src/zsfs
	$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/tests/soak.sh
.PHONY: soak

# Running zsfs for real: zsfsctl, mounting through fstab, a mount by a
# user who is not root.
ADMIN_TESTS = tests/zsfsctl.sh tests/fstab.sh tests/unpriv.sh \
	tests/noswap.sh tests/quota.sh tests/backing_mount.sh tests/writeback.sh
dist_check_SCRIPTS += $(ADMIN_TESTS)
TESTS += $(ADMIN_TESTS)
