# tests/ part of the one Makefile (included from Makefile.am).
#
# The reliability suite: model exerciser (fsx), concurrency (mt_stress),
# stress-ng stressors, ENOSPC, bad input, leaks, daemon death.  The C
# helpers are check programs run by the .sh tests on a live mount; soak.sh
# is the long mode (`make soak`), not part of `make check`.

check_PROGRAMS += tests/fsx
tests_fsx_SOURCES = tests/fsx.c

dist_check_SCRIPTS += tests/fsx.sh
TESTS += tests/fsx.sh

EXTRA_DIST += tests/lib.sh tests/tap.h

check_PROGRAMS += tests/mt_stress
tests_mt_stress_SOURCES = tests/mt_stress.c
dist_check_SCRIPTS += tests/mt_stress.sh
TESTS += tests/mt_stress.sh
THREADED_TESTS += tests/mt_stress.sh

check_PROGRAMS += tests/errno_probe
tests_errno_probe_SOURCES = tests/errno_probe.c
dist_check_SCRIPTS += tests/badinput.sh
TESTS += tests/badinput.sh
dist_check_SCRIPTS += tests/enospc.sh tests/leak.sh tests/daemon_death.sh tests/stressng.sh
TESTS += tests/enospc.sh tests/leak.sh tests/daemon_death.sh tests/stressng.sh

# The long mode, by hand: make soak [SOAK_MINUTES=20 SOAK_MT_MINUTES=5].
EXTRA_DIST += tests/soak.sh
soak: tests/fsx tests/mt_stress src/zsfs
	$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/tests/soak.sh
.PHONY: soak
