#!/bin/bash
# noswap.sh - the noswap option (tmpfs 6.4): the daemon locks the pool's
# memory.  Mounted with noswap its VmLck grows as data is written and the
# locked pages really held (smaps "Locked:") go back when the data is
# deleted; without noswap nothing is locked; a mount the RLIMIT_MEMLOCK
# does not allow is refused with a message that says so.
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (locks memory past the default RLIMIT_MEMLOCK)"
need_tool setpriv

vmlck() { awk '/^VmLck:/ { print $2 }' "/proc/$ZS_PID/status"; }
smaps_locked() { awk '/^Locked:/ { s += $2 } END { print s + 0 }' "/proc/$ZS_PID/smaps"; }

zs_mount -o noswap,size=128m
before=$(vmlck)
# About 16 MiB (12 MiB of random bytes in base64) that compresses little.
head -c $((12 << 20)) /dev/urandom | base64 -w0 >"$WORK/data"
cp "$WORK/data" "$MNT/f"
sync "$MNT/f"
after=$(vmlck)
locked=$(smaps_locked)
diag "noswap: VmLck ${before} kB before, ${after} kB after 16 MiB; smaps Locked ${locked} kB"
check "noswap: VmLck grows with the pool" test "$after" -ge $((before + 8192))
check "noswap: at least 8 MiB of the pool is resident and locked" test "$locked" -ge 8192
check "noswap: the data reads back" cmp -s "$WORK/data" "$MNT/f"
rm "$MNT/f"
# compaction gives the pool's reserve of freed pages back too, so what
# stays locked is what is still resident: next to nothing
echo compact >"$MNT/.zsctl"
for _ in $(seq 50); do
	[ "$(smaps_locked)" -lt $((locked / 4)) ] && break
	sleep 0.1
done
gone=$(smaps_locked)
diag "noswap: smaps Locked ${gone} kB after the file is deleted and the pool compacted"
check "noswap: deleting gives the locked pages back" test "$gone" -lt $((locked / 4))
umount_clean "noswap"

zs_mount -o size=128m
head -c $((4 << 20)) /dev/urandom >"$MNT/f"
check_eq "without noswap: nothing is locked" 0 "$(vmlck)"
umount_clean "without noswap"

# A mount whose RLIMIT_MEMLOCK is too small, without CAP_IPC_LOCK.
out=$( (ulimit -l 1024; setpriv --bounding-set=-ipc_lock "$ZSFS" -f "$MNT" -o noswap,size=64m) 2>&1)
rc=$?
check "noswap refused under a small RLIMIT_MEMLOCK (exit $rc)" test "$rc" -ne 0
check "the refusal names RLIMIT_MEMLOCK" grep -q "noswap: may not lock.*RLIMIT_MEMLOCK is 1048576 bytes" <<<"$out"
check "nothing mounted" eval '! mountpoint -q "$MNT"'
done_testing
