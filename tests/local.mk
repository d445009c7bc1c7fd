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
	tests/enospc.sh \
	tests/leak.sh \
	tests/badinput.sh \
	tests/daemon_death.sh
dist_check_SCRIPTS += $(RELIABILITY_TESTS)
TESTS += $(RELIABILITY_TESTS)
THREADED_TESTS += tests/mt_stress.sh

# Shared by every mounted and C test.
EXTRA_DIST += tests/lib.sh tests/tap.h

# The long mode, by hand: make soak [SOAK_MINUTES=20 SOAK_MT_MINUTES=5].
EXTRA_DIST += tests/soak.sh
soak: tests/fsx tests/mt_stress src/zsfs
	$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/tests/soak.sh
.PHONY: soak

# Running zsfs for real: zsfsctl, mounting through fstab, a mount by a
# user who is not root.
ADMIN_TESTS = tests/zsfsctl.sh tests/fstab.sh tests/unpriv.sh
dist_check_SCRIPTS += $(ADMIN_TESTS)
TESTS += $(ADMIN_TESTS)
