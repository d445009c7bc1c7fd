#!/bin/bash
# tests/fstab.sh - mounting through an fstab line: mount(8) -> mount.fuse3
# -> zsfs, with zsfs's own options and the generic ones mount(8) adds.
#
# mount(8) runs its helpers without PATH, so mount.fuse3's /bin/sh finds a
# "fuse.zsfs" line's program only in the shell's default path
# (/usr/local/bin, /usr/bin, ...: where `make install` and the package put
# it).  The build tree is not there; the test uses fstab's other form,
# type "fuse" with the program named in the source ("PROGRAM#SOURCE"),
# which mount.fuse3 runs the same way.
. "$TOP_SRCDIR/tests/lib.sh"

need_fuse
need_tool mount umount
[ "$(id -u)" -eq 0 ] || skip_all "mount -T needs root"
command -v mount.fuse3 >/dev/null || [ -x /sbin/mount.fuse3 ] || skip_all "mount.fuse3 is missing (apt-get install fuse3)"
case $ZSFS in *[[:space:]#,]*) skip_all "the build path holds a space, # or comma, which fstab cannot carry" ;; esac

FSTAB="$WORK/fstab"
OPTS="size=64m,compress=zstd:5,compact_share=2.5,compact_min=256k,compact_psi=0,auto_compact=off,mode=0750,nr_inodes=1000,uid=65534,gid=65534,nosuid,nodev,noatime"
printf '# a comment\n%s#zsfs-fstab %s fuse %s 0 0\n' "$ZSFS" "$MNT" "$OPTS" >"$FSTAB"

check "mount -T FSTAB MOUNTPOINT" mount -T "$FSTAB" "$MNT"
line=$(grep " $MNT " /proc/mounts)
diag "$line"
check_eq "/proc/mounts: the fsname and type" "zsfs-fstab fuse.zsfs" "$(awk '{ print $1, $3 }' <<<"$line")"
check_eq "/proc/mounts: nosuid,nodev,noatime arrived" "noatime nodev nosuid" \
	"$(awk '{ print $4 }' <<<"$line" | tr , '\n' | grep -x -e nosuid -e nodev -e noatime | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "codec zstd:5" "zstd:5" "$(ctl_get codec)"
lim=$(ctl_get mem_limit)
check "mem_limit: size=64m less the metadata ($lim)" \
	test "$lim" -gt $((60 * 1048576)) -a "$lim" -le $((64 * 1048576))
check_eq "nr_inodes=1000" 1000 "$(ctl_get inodes_max)"
check_eq "auto_compact=off" 0 "$(ctl_get auto_compact)"
check_eq "compact_share=2.5, compact_min=256k, compact_psi=0" "2.5 262144 0" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
check_eq "mode=0750, uid=65534, gid=65534 on the root" "750 65534 65534" "$(stat -c '%a %u %g' "$MNT")"
pid=$(pgrep -f -x "$ZSFS zsfs-fstab $MNT -o .*" | head -1)
check "the daemon runs in the background (pid ${pid:-none})" test -n "$pid"
head -c 1M /etc/services >"$WORK/data" 2>/dev/null || yes data | head -c 1M >"$WORK/data"
cp "$WORK/data" "$MNT/f"
check "a file reads back" cmp -s "$WORK/data" "$MNT/f"
check "umount MOUNTPOINT" umount "$MNT"
for _ in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the daemon exits after umount" sh -c "! kill -0 ${pid:-0} 2>/dev/null"

# A bad option in the fstab line: refused, nothing mounted.
printf '%s#zsfs-fstab %s fuse size=64m,compress=brotli 0 0\n' "$ZSFS" "$MNT" >"$FSTAB"
err=$(mount -T "$FSTAB" "$MNT" 2>&1)
check "a bad option fails the mount ($err)" sh -c "! grep -q ' $MNT ' /proc/mounts"
check "... naming the option" grep -q compress <<<"$err"
done_testing
