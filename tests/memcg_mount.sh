#!/usr/bin/env bash
# memcg_mount.sh - a mount inside a memory cgroup keeps its files.
#
# The daemon runs in a memory cgroup made for the test (the version the
# machine has: v1 memory.limit_in_bytes, or v2 memory.max) with a 256 MiB
# limit and is mounted with size=1g.  The effective cap must follow the
# cgroup (.zsctl size_bytes and size_source, df), a 20 MB file is copied
# in, and a 1 GiB dd of random data must end in ENOSPC, not in the OOM
# killer: the daemon lives, the mount stays, the file reads back with the
# same checksum.  Then the limit is lowered while the mount is full, and
# the same holds; deleting the fill file makes room again.  Last, outside
# the cgroup, min_free= keeps the machine's MemAvailable the same way.
# The cgroup is removed on exit, also when the test fails.
. "$TOP_SRCDIR/tests/lib.sh"
need_fuse
need_tool sha256sum dd df

CG=""
CG_VER=0
if [ -w /sys/fs/cgroup/memory/cgroup.procs ] && \
   [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	CG_VER=1
	CG=/sys/fs/cgroup/memory/zsfs-test.$$
	LIMIT_FILE=memory.limit_in_bytes
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && \
     grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
	CG_VER=2
	CG=/sys/fs/cgroup/zsfs-test.$$
	LIMIT_FILE=memory.max
else
	skip_all "no memory cgroup controller to make a test cgroup in"
fi

cg_cleanup() {
	zs_cleanup
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		# the daemon is gone; move anything left back to the root
		while read -r p; do
			echo "$p" >"${CG%/*}/cgroup.procs" 2>/dev/null
		done <"$CG/cgroup.procs"
		rmdir "$CG" 2>/dev/null || sleep 0.5
		rmdir "$CG" 2>/dev/null
	fi
}
trap cg_cleanup EXIT

mkdir "$CG" || skip_all "cannot make a cgroup in ${CG%/*} (not root?)"
LIMIT=$((256 << 20))
echo $LIMIT >"$CG/$LIMIT_FILE" || { echo "Bail out! cannot set $CG/$LIMIT_FILE"; exit 99; }
diag "cgroup v$CG_VER $CG, limit $LIMIT"

# The daemon joins the cgroup, then becomes zsfs (same pid).
REAL_ZSFS=$ZSFS
cat >"$WORK/incg.sh" <<WRAP
#!/bin/sh
echo \$\$ >"$CG/cgroup.procs" || exit 99
exec "$REAL_ZSFS" "\$@"
WRAP
chmod +x "$WORK/incg.sh"
ZSFS="$WORK/incg.sh"
zs_mount -o size=1g
check "the daemon runs in the test cgroup" \
	grep -qx "$ZS_PID" "$CG/cgroup.procs"

size_bytes=$(ctl_get size_bytes)
check "size=1g is capped under the cgroup's 256 MiB ($size_bytes)" \
	test "$size_bytes" -gt $((64 << 20)) -a "$size_bytes" -lt $LIMIT
check ".zsctl names the cgroup limit file as the source" \
	grep -Eq "^size_source cgroup_v$CG_VER:.*zsfs-test\\.$$/$LIMIT_FILE\$" "$MNT/.zsctl"
df_bytes=$(( $(stat -f -c '%b * %S' "$MNT") ))
check_eq "df shows the effective cap" "$(( size_bytes / 4096 * 4096 ))" "$df_bytes"
check "mem_limit is within it" test "$(ctl_get mem_limit)" -le "$size_bytes"

head -c 20000000 /dev/urandom >"$WORK/keep"
sum=$(sha256sum <"$WORK/keep")
check "a 20 MB file copied in" cp "$WORK/keep" "$MNT/keep"

# The experiment: fill with random (incompressible) data.
err=$(dd if=/dev/urandom of="$MNT/fill" bs=1M count=1024 2>&1)
check "dd of 1 GiB fails with ENOSPC" grep -q "No space left on device" <<<"$err"
check "the daemon is alive" kill -0 "$ZS_PID"
check "the mount is still there" mountpoint -q "$MNT"
check_eq "the 20 MB file is intact" "$sum" "$(sha256sum <"$MNT/keep")"
check "consistency check" sh -c "echo check > '$MNT/.zsctl'"
if [ "$CG_VER" = 1 ] && grep -q '^oom_kill ' "$CG/memory.oom_control"; then
	check_eq "no OOM kill in the cgroup" 0 \
		"$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control")"
elif [ "$CG_VER" = 2 ]; then
	check_eq "no OOM kill in the cgroup" 0 \
		"$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events")"
fi
used=$(( $(cat "$CG/memory.usage_in_bytes" 2>/dev/null || cat "$CG/memory.current") ))
diag "cgroup usage when full: $used of $LIMIT; fill: $(stat -c %s "$MNT/fill") bytes"

# Lower the limit while the mount is full: to what is used now plus a
# little (the kernel refuses a limit under the usage of unreclaimable
# memory).  The cap follows within a poll, and writes still end in ENOSPC.
newlim=$(( (used + (40 << 20)) / 4096 * 4096 ))
[ $newlim -lt $LIMIT ] || newlim=$(( LIMIT - (8 << 20) ))
if echo $newlim >"$CG/$LIMIT_FILE" 2>/dev/null; then
	diag "limit lowered to $newlim"
	sleep 0.6
	check "size_bytes followed the lower limit" \
		test "$(ctl_get size_bytes)" -lt "$size_bytes"
	err=$(dd if=/dev/urandom of="$MNT/fill2" bs=1M count=512 2>&1)
	check "lowered: dd fails with ENOSPC" grep -q "No space left on device" <<<"$err"
	check "lowered: the daemon is alive" kill -0 "$ZS_PID"
	check_eq "lowered: the 20 MB file is intact" "$sum" "$(sha256sum <"$MNT/keep")"
else
	check "lowering the limit to $newlim" false
fi

# Deleting makes room again.
rm -f "$MNT/fill" "$MNT/fill2"
sleep 0.6
check "after rm, a 10 MB write succeeds" \
	dd if=/dev/urandom of="$MNT/again" bs=1M count=10 status=none
check_eq "and the 20 MB file is still intact" "$sum" "$(sha256sum <"$MNT/keep")"
umount_clean "memcg"

# Global memory, outside the cgroup: with min_free set to leave only
# ~96 MiB of the machine's MemAvailable to the mount, a 1 GiB write ends
# in ENOSPC before the machine runs short, and nothing is lost.
ZSFS=$REAL_ZSFS
avail=$(( $(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo) * 1024 ))
minfree=$(( (avail - (96 << 20)) / 4096 * 4096 ))
zs_mount -o size=0,min_free=$minfree
check "min_free: a 20 MB file copied in" cp "$WORK/keep" "$MNT/keep"
err=$(dd if=/dev/urandom of="$MNT/fill" bs=1M count=1024 2>&1)
check "min_free: dd of 1 GiB fails with ENOSPC" grep -q "No space left on device" <<<"$err"
check "min_free: it stopped well before 1 GiB ($(stat -c %s "$MNT/fill") bytes)" \
	test "$(stat -c %s "$MNT/fill")" -lt $((512 << 20))
check_eq "min_free: the 20 MB file is intact" "$sum" "$(sha256sum <"$MNT/keep")"
rm -f "$MNT/fill"
umount_clean "min_free"
done_testing
