#!/bin/bash
# fs_compare.sh - run each fs_script section on tmpfs and on zsfs and diff:
# results and errno of namespace ops, link counts, rename flags (and
# RENAME_WHITEOUT),
# unlink-while-open, xattrs and their limits, permissions/setgid,
# timestamps, and file data ops (truncate, fallocate, SEEK_DATA/HOLE,
# copy_file_range, mmap, flock/fcntl locks).
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (chown, mknod, other uids)"
SCRIPT="$TOP_BUILDDIR/tests/fs_script"
[ -x "$SCRIPT" ] || { echo "Bail out! $SCRIPT not built"; exit 99; }
tmpfs_mount
zs_mount -o size=256m

for sec in ns links rename whiteout unlinkopen xattr perms times data; do
	mkdir -m 777 "$MNT/$sec" "$TMPFS_MNT/$sec"
	"$SCRIPT" "$TMPFS_MNT/$sec" "$sec" >"$WORK/$sec.tmpfs" 2>&1
	"$SCRIPT" "$MNT/$sec" "$sec" >"$WORK/$sec.zsfs" 2>&1
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
