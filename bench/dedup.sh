#!/bin/bash
# bench/dedup.sh - what sharing and dedup cost and save (not part of
# make check; needs root for the zram device and mounts).
#
#  1. Sequential write speed, dedup=on vs dedup=off: dd of a 512 MiB
#     file of compressible, never repeated data (base64 of random bytes,
#     kept in /dev/shm) into a fresh mount, RUNS runs each, alternating.
#  2. cp -a of a tree (default /usr/include) into the mount, then cp -a
#     of that copy to a second directory inside the same mount: time and
#     memory growth of the second copy, for zsfs dedup=on and dedup=off,
#     tmpfs, and ext4 on a fresh zram device (lz4), which is always
#     released (hot_remove) on exit.
#
# Usage: bench/dedup.sh [BUILD_DIR [TREE]]   (RUNS=3 by default)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
tree=${2:-/usr/include}
runs=${RUNS:-3}
zsfs=$build/src/zsfs
work=$(mktemp -d /tmp/zsfs-dedup-bench.XXXXXX)
mnt=$work/mnt
zdev=""
mkdir -p "$mnt"

cleanup() {
	grep -q " $mnt " /proc/mounts && { fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
	if [ -n "$zdev" ]; then
		echo 1 >"/sys/block/zram$zdev/reset" 2>/dev/null
		echo "$zdev" >/sys/class/zram-control/hot_remove 2>/dev/null
	fi
	rm -f /dev/shm/zsfs-dedup-bench.src
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

zs_mount() {
	"$zsfs" "$mnt" -o "$1" || exit 1
	for _ in $(seq 100); do [ -e "$mnt/.zsctl" ] && return 0; sleep 0.05; done
	exit 1
}
zs_umount() { fusermount3 -u "$mnt"; sleep 0.3; }
ctl() { awk -v k="$1" '$1 == k { print $2 }' "$mnt/.zsctl"; }
now() { date +%s.%N; }
echo "== sequential write, 512 MiB, dd bs=1M, $runs runs each, alternating"
src=/dev/shm/zsfs-dedup-bench.src
head -c 402653184 /dev/urandom | base64 -w 76 | head -c 536870912 >"$src"
for r in $(seq "$runs"); do
	for d in off on; do
		zs_mount "size=2g,dedup=$d"
		t0=$(now)
		dd if="$src" of="$mnt/f" bs=1M conv=fsync status=none
		t1=$(now)
		echo "run $r dedup=$d: $(echo "scale=1; 512 / ($t1 - $t0)" | bc) MiB/s"
		zs_umount
	done
done
rm -f "$src"

echo "== one 256 MiB file copied inside the mount: cp (copy_file_range) vs dd bs=1M (read + write)"
head -c 201326592 /dev/urandom | base64 -w 76 | head -c 268435456 >"$work/big"
for d in off on; do
	zs_mount "size=2g,dedup=$d"
	cp "$work/big" "$mnt/big"; sync
	p0=$(ctl mem_used_total)
	t0=$(now); cp "$mnt/big" "$mnt/cp"; t1=$(now)
	p1=$(ctl mem_used_total)
	dd if="$mnt/big" of="$mnt/cat" bs=1M status=none; t2=$(now)
	p2=$(ctl mem_used_total)
	cmp "$mnt/big" "$mnt/cp" && cmp "$mnt/big" "$mnt/cat" || echo "copies differ!"
	echo "dedup=$d: pool $p0; cp $(echo "$t1 - $t0" | bc)s +$((p1 - p0)) bytes; dd $(echo "$t2 - $t1" | bc)s +$((p2 - p1)) bytes"
	zs_umount
done
rm -f "$work/big"

echo "== cp -a $tree, then cp -a of that copy inside the same filesystem"
echo "fs               first_s  second_s  mem_before   mem_after   growth"
measure() { # NAME MEMCMD [POOLCMD]
	local name=$1 memcmd=$2 poolcmd=${3:-} t0 t1 t2 m0 m1 p0=""
	sync
	t0=$(now); cp -a "$tree" "$mnt/a"; t1=$(now)
	sync; m0=$($memcmd)
	[ -n "$poolcmd" ] && p0=$($poolcmd)
	cp -a "$mnt/a" "$mnt/b"; sync; t2=$(now)
	m1=$($memcmd)
	[ -n "$poolcmd" ] && echo "  $name: pool alone $p0 -> $($poolcmd) (the rest is metadata: inodes, names, page tables)"
	diff -r --no-dereference "$mnt/a" "$mnt/b" >/dev/null || echo "$name: copies differ!"
	printf '%-16s %7.2f %9.2f %11d %11d %7.2f%%\n' "$name" \
		"$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
		"$m0" "$m1" "$(echo "scale=2; 100 * ($m1 - $m0) / $m0" | bc)"
}
zsfs_mem() { echo $(( $(ctl mem_used_total) + $(ctl heap_bytes) )); }
zsfs_pool() { ctl mem_used_total; }
for d in on off; do
	zs_mount "size=4g,dedup=$d"
	measure "zsfs dedup=$d" zsfs_mem zsfs_pool
	echo "  zsfs dedup=$d: $(grep -E '^(shared_objects|shared_saved_bytes|dedup_hits|dedup_bytes|share_bytes) ' "$mnt/.zsctl" | tr '\n' ' ')"
	zs_umount
done
tmpfs_mem() { df --output=used -B1 "$mnt" | tail -1; }
mount -t tmpfs -o size=4g tmpfs "$mnt" && { measure tmpfs tmpfs_mem; umount "$mnt"; }
if [ -e /sys/class/zram-control/hot_add ]; then
	zdev=$(cat /sys/class/zram-control/hot_add)
	echo lz4 >"/sys/block/zram$zdev/comp_algorithm"
	echo 4G >"/sys/block/zram$zdev/disksize"
	mkfs.ext4 -q "/dev/zram$zdev"
	mount "/dev/zram$zdev" "$mnt"
	zram_mem() { awk '{ print $3 }' "/sys/block/zram$zdev/mm_stat"; }
	measure "ext4 on zram" zram_mem
	umount "$mnt"
fi
