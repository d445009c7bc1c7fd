#!/bin/bash
# tests/unpriv.sh - a user who is not root mounts zsfs on a directory of
# their own with fusermount3, uses it and unmounts it; root meanwhile
# cannot look in (no allow_other), as FUSE promises the mounting user.
#
# That takes a setuid fusermount3 (Debian's fuse3) and a /dev/fuse that
# the user may open: Debian's udev makes it 0666; where it is not, the
# test opens it up for its run and puts the mode back on exit, also when
# it fails or is interrupted.
. "$TOP_SRCDIR/tests/lib.sh"

need_fuse
need_tool setpriv stat
[ "$(id -u)" -eq 0 ] || skip_all "needs root to become another user"
FM=$(command -v fusermount3)
[ -u "$FM" ] || skip_all "$FM is not setuid root: users cannot mount with it"

U=65534
FUSE_MODE=$(stat -c %a /dev/fuse)
restore_fuse() { [ "$(stat -c %a /dev/fuse)" = "$FUSE_MODE" ] || chmod "$FUSE_MODE" /dev/fuse; }
trap 'restore_fuse; zs_cleanup' EXIT
chmod 0666 /dev/fuse

AS_USER="setpriv --reuid=$U --regid=$U --clear-groups env HOME=/ LC_ALL=C"
# the user reaches the binaries (the build tree may be private) and owns
# the mount point
chmod 755 "$WORK"
cp "$ZSFS" "$WORK/zsfs"
cp "$TOP_BUILDDIR/src/zsfsctl" "$WORK/zsfsctl"
chmod 755 "$WORK/zsfs" "$WORK/zsfsctl"
chown "$U:$U" "$MNT"

$AS_USER "$WORK/zsfs" -f "$MNT" -o size=64m,compress=zstd >"$WORK/zsfs.log" 2>&1 &
ZS_PID=$!
for _ in $(seq 100); do
	grep -q " $MNT " /proc/mounts && break
	kill -0 "$ZS_PID" 2>/dev/null || break
	sleep 0.05
done
line=$(grep " $MNT " /proc/mounts)
check "uid $U mounted zsfs on its own directory" test -n "$line"
[ -n "$line" ] || { diag "$(cat "$WORK/zsfs.log")"; done_testing; exit; }
diag "$line"
check "the mount is uid $U's (user_id=$U)" grep -q "user_id=$U," <<<"$line"
check_eq "no allow_other on a user's mount" 0 "$(grep -c allow_other <<<"$line")"
check_eq "the daemon runs as uid $U" "$U" "$(stat -c %u /proc/$ZS_PID)"

head -c 2M /etc/services >"$WORK/data" 2>/dev/null; yes zsfs | head -c 1M >>"$WORK/data"
chmod 644 "$WORK/data"
check "uid $U writes a file" $AS_USER cp "$WORK/data" "$MNT/f"
check "uid $U reads it back" $AS_USER cmp -s "$WORK/data" "$MNT/f"
check_eq "the file is uid $U's" "$U" "$($AS_USER stat -c %u "$MNT/f")"
stored=$($AS_USER "$WORK/zsfsctl" --json "$MNT" 2>&1 | awk -F'[:,]' '/"stored_bytes"/ { gsub(/ /, "", $2); print $2 }')
check "zsfsctl as uid $U: stored_bytes ($stored) covers the file" test "${stored:-0}" -ge "$(stat -c %s "$WORK/data")"
check "uid $U may command its .zsctl" $AS_USER sh -c "echo compact > '$MNT/.zsctl'"
err=$(stat "$MNT/f" 2>&1)
check "root cannot look in (no allow_other): $err" grep -q "Permission denied" <<<"$err"

check "uid $U unmounts with fusermount3 -u" $AS_USER fusermount3 -u "$MNT"
check "the mount is gone" sh -c "! grep -q ' $MNT ' /proc/mounts"
wait "$ZS_PID"; rc=$?
ZS_PID=""
check_eq "the daemon exits 0" 0 "$rc"

restore_fuse
check_eq "/dev/fuse has its mode back" "$FUSE_MODE" "$(stat -c %a /dev/fuse)"
done_testing
