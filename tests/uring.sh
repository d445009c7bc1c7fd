#!/usr/bin/env bash
# uring.sh - FUSE over io_uring (src/uring.c, -o io_uring): with the fuse
# module's enable_uring set to Y for the test (and put back on exit, also
# on failure or interrupt), a mount with io_uring=on says so in .zsctl and
# serves a real workload through its rings: a copy of /usr/include
# compared with diff -r and its metadata, large writes and reads (1 MiB
# requests, the whole payload of an entry), a directory of 3000 entries
# listed, and then the kill-suid semantics (tests/killpriv.sh), fsx
# (tests/fsx.sh, short) and what the daemon holds after large writes
# (tests/fs_memory.sh) run on io_uring mounts.  The daemon exits
# cleanly on unmount and on SIGTERM, and auto_unmount still removes the
# mount of a daemon killed with SIGKILL.  io_uring=auto falls back to
# /dev/fuse when enable_uring is N, and io_uring=on is then refused.
# Skipped when the kernel has no FUSE over io_uring or zsfs was built
# without liburing.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
need_fuse
[ "$(id -u)" = 0 ] || skip_all "needs root (enable_uring is a module parameter)"
PARAM=/sys/module/fuse/parameters/enable_uring
[ -w "$PARAM" ] || skip_all "the kernel has no FUSE over io_uring ($PARAM)"
OLD_PARAM=$(cat "$PARAM")
# lib.sh's EXIT trap unmounts; this one also puts the parameter back
trap 'zs_cleanup; echo "$OLD_PARAM" >"$PARAM"' EXIT
echo Y >"$PARAM" || skip_all "cannot set $PARAM"

if ! zs_mount_try -o io_uring=on,size=1g; then
	grep -q "without liburing" "$WORK/zsfs.log" && skip_all "zsfs built without liburing"
	echo "Bail out! zsfs -o io_uring=on did not mount: $(cat "$WORK/zsfs.log")"
	exit 99
fi

# --- the transport, and a tree through it -----------------------------------
ncpu=$(awk -F'[-,]' '{ print $NF + 1 }' /sys/devices/system/cpu/possible)
for _ in $(seq 20); do [ "$(ctl_get transport)" = io_uring ] && break; sleep 0.05; done
check_eq "transport is io_uring" io_uring "$(ctl_get transport)"
check_eq "one queue per possible CPU" "$ncpu" "$(ctl_get uring_queues)"
r0=$(ctl_get uring_requests)
check "cp -a /usr/include" cp -a /usr/include "$MNT/include"
check "diff -r /usr/include" diff -r --no-dereference /usr/include "$MNT/include"
meta() { (cd "$1" && find . -printf '%M %u %g %s %T@ %l %p\n' |
	awk '$1 ~ /^d/ { $4 = 0 } { print }' | sort); }
meta /usr/include >"$WORK/src.meta"
meta "$MNT/include" >"$WORK/dst.meta"
check "modes, owners, sizes, mtimes, link targets kept" cmp -s "$WORK/src.meta" "$WORK/dst.meta"
nfiles=$(find /usr/include -type f | wc -l)
r1=$(ctl_get uring_requests)
diag "$((r1 - r0)) requests through the rings for $nfiles files"
check "the copy went through the rings (more requests than files)" [ $((r1 - r0)) -gt "$nfiles" ]

# --- large requests: 1 MiB writes and reads fill an entry's payload ---------
head -c 48M /dev/urandom >"$WORK/big"
check "48 MiB written with 1 MiB writes" dd if="$WORK/big" of="$MNT/big" bs=1M status=none
check "and read back equal (1 MiB reads, page cache dropped)" sh -c \
	'echo 3 >/proc/sys/vm/drop_caches; dd if="$1" bs=1M status=none | cmp -s - "$2"' sh "$MNT/big" "$WORK/big"
rm -f "$WORK/big"

# --- readdir of a large directory -------------------------------------------
mkdir "$MNT/many"
(cd "$MNT/many" && seq 3000 | xargs touch)
check_eq "readdir lists 3000 entries" 3000 "$(ls -f "$MNT/many" | grep -cv '^\.\.\?$')"
check "rm -rf of it" rm -rf "$MNT/many" "$MNT/include" "$MNT/big"
check_eq "the counters still see every write (req_write > 0)" 1 "$([ "$(ctl_get req_write)" -gt 0 ] && echo 1)"
# Freed zspages go back a moment later (the allocator defers it); the
# check is run once they have (as tests/fs_tree.sh does).
for _ in $(seq 50); do [ "$(ctl_get pool_pages)" = 0 ] && break; sleep 0.1; done
check "consistency check" sh -c 'echo check >"$1"' sh "$MNT/.zsctl"
grep -h "check:" "$WORK/zsfs.log" | sed 's/^/#   /'
umount_clean "io_uring=on, unmount"

# --- the other tests' semantics, on io_uring mounts -------------------------
# A wrapper that adds io_uring=on to every mount they make.
cat >"$WORK/zsfs-uring" <<EOF
#!/bin/sh
exec "$ZSFS" "\$@" -o io_uring=on
EOF
chmod +x "$WORK/zsfs-uring"
# sub TEST [ENV...]: run another mounted test on io_uring; one check.
sub() {
	local t=$1 out="$WORK/sub.out"
	shift
	env "$@" ZSFS="$WORK/zsfs-uring" TOP_SRCDIR="$TOP_SRCDIR" \
		TOP_BUILDDIR="$TOP_BUILDDIR" bash "$TOP_SRCDIR/tests/$t" >"$out" 2>&1
	local rc=$? n
	n=$(grep -c '^ok' "$out")
	diag "$t on io_uring: $n passed, $(grep -c '^not ok' "$out") failed"
	grep -E '^not ok|^Bail out|# SKIP' "$out" | head -20 | sed 's/^/#   /'
	check "$t passes on io_uring mounts" [ $rc -eq 0 ] && [ "$n" -gt 0 ] &&
		! grep -q '^not ok' "$out"
}
sub killpriv.sh
sub fsx.sh FSX_SECONDS=4
# the rings' payload tails go back after large writes, as loop.c's do
# (its Rss checks mean nothing in a sanitizer build, and through the
# wrapper it cannot tell it is one)
if grep -qaE '__(asan|tsan)_init' "$ZSFS"; then
	T_N=$((T_N + 1))
	echo "ok $T_N - # SKIP fs_memory.sh on io_uring: Rss in a sanitizer build"
else
	sub fs_memory.sh
fi

# --- SIGTERM, and SIGKILL with auto_unmount ----------------------------------
zs_mount -o io_uring=on
echo x >"$MNT/f"
check_eq "mounted on io_uring again" io_uring "$(ctl_get transport)"
kill -TERM "$ZS_PID"
wait "$ZS_PID"
rc=$?
ZS_PID=""
check_eq "SIGTERM: the daemon exits with status 0" 0 "$rc"
for _ in $(seq 100); do grep -q " $MNT " /proc/mounts || break; sleep 0.1; done
check "SIGTERM: the mount is gone" sh -c '! grep -q " $1 " /proc/mounts' sh "$MNT"

zs_mount -o io_uring=on,auto_unmount
echo x >"$MNT/f"
kill -9 "$ZS_PID"
wait "$ZS_PID" 2>/dev/null
ZS_PID=""
for _ in $(seq 200); do grep -q " $MNT " /proc/mounts || break; sleep 0.1; done
check "SIGKILL with auto_unmount: the mount is gone" sh -c '! grep -q " $1 " /proc/mounts' sh "$MNT"

# --- fallback ---------------------------------------------------------------
echo N >"$PARAM"
zs_mount -o io_uring=auto
check_eq "enable_uring=N, io_uring=auto: transport devfuse" devfuse "$(ctl_get transport)"
echo hi >"$MNT/f"
check_eq "and it works" hi "$(cat "$MNT/f")"
umount_clean "io_uring=auto on /dev/fuse"
check "enable_uring=N, io_uring=on: refused" sh -c '! timeout 10 "$1" -f "$2" -o io_uring=on >"$3" 2>&1' \
	sh "$ZSFS" "$MNT" "$WORK/refused.log"
diag "$(grep io_uring "$WORK/refused.log")"
check "with a message that says how to turn it on" grep -q enable_uring "$WORK/refused.log"
echo Y >"$PARAM"
zs_mount -o io_uring=off
check_eq "io_uring=off: transport devfuse" devfuse "$(ctl_get transport)"
umount_clean "io_uring=off"
done_testing
