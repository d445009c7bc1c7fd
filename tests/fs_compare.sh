#!/bin/bash
# fs_compare.sh - run each fs_script section on tmpfs and on zsfs and diff:
# results and errno of namespace ops, link counts, rename flags (and
# RENAME_WHITEOUT),
# unlink-while-open, xattrs and their limits, permissions/setgid,
# timestamps, and file data ops (truncate, fallocate, SEEK_DATA/HOLE,
# copy_file_range, mmap, flock/fcntl locks).
#
# Equal output is not enough: the probe must also exit 0 on both sides
# (a crash or an early exit that happens alike on both would diff clean)
# and print the number of steps (lines) each section has, below.
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (chown, mknod, other uids)"
SCRIPT="$TOP_BUILDDIR/tests/fs_script"
[ -x "$SCRIPT" ] || { echo "Bail out! $SCRIPT not built"; exit 99; }
tmpfs_mount
zs_mount -o size=256m

# The steps each section of tests/fs_script.c prints (one line each): a
# section that stops early, or loses or repeats a step, fails even when
# it does so on both filesystems.  Change a count with its section.
declare -A STEPS=(
	[ns]=44 [links]=28 [rename]=42 [whiteout]=48 [unlinkopen]=21
	[xattr]=42 [perms]=39 [times]=34 [data]=68
)

# probe FS SECTION: run the probe on $FS's copy of SECTION, its output in
# $WORK/SECTION.FS; one TAP line for its exit status, another for its
# step count.
probe() {
	local dir out rc n
	if [ "$1" = tmpfs ]; then dir=$TMPFS_MNT/$2; else dir=$MNT/$2; fi
	out=$WORK/$2.$1
	"$SCRIPT" "$dir" "$2" >"$out" 2>&1
	rc=$?
	if [ $rc -gt 128 ]; then
		check "section $2: probe on $1 killed by signal $((rc - 128))" false
		tail -5 "$out" | sed 's/^/# /'
	else
		check "section $2: probe on $1 exits 0 (status $rc)" [ $rc -eq 0 ]
	fi
	n=$(wc -l <"$out")
	check "section $2: probe on $1 ran $n of ${STEPS[$2]} steps" \
		steps_ok "$n" "${STEPS[$2]}"
}
steps_ok() { [ "$1" -gt 0 ] && [ "$1" -eq "$2" ]; }

for sec in ns links rename whiteout unlinkopen xattr perms times data; do
	mkdir -m 777 "$MNT/$sec" "$TMPFS_MNT/$sec"
	probe tmpfs "$sec"
	probe zsfs "$sec"
	if diff -u "$WORK/$sec.tmpfs" "$WORK/$sec.zsfs" >"$WORK/$sec.diff"; then
		check "section $sec: same results as tmpfs ($(wc -l <"$WORK/$sec.zsfs") steps)" true
	else
		check "section $sec: same results as tmpfs" false
		sed 's/^/# /' "$WORK/$sec.diff"
	fi
	check "section $sec: directory left empty" [ -z "$(ls -A "$MNT/$sec")" ]
done
check ".zsctl not listed in readdir" eval '! ls -a "$MNT" | grep -q zsctl'
check ".zsctl readable" grep -q . "$MNT/.zsctl"
check "daemon still alive" kill -0 "$ZS_PID"
check "clean unmount" zs_umount
done_testing
