#!/bin/bash
# bench/dedup.sh - what sharing and dedup cost and save (not part of
# make check; needs root for the zram device and mounts).
#
#  1. Sequential write speed, dedup=on vs dedup=off: dd bs=1M conv=fsync
#     of 512 MiB into a fresh mount, RUNS runs each, alternating (so a
#     burst of outside load hits both alike), and the median of the
#     per-pair ratios on/off.  Two inputs, kept in /dev/shm: base64 of
#     random bytes (lz4 cannot shrink it: raw pages, the whole page
#     hashed) and the first 512 MiB of SEQ_DATA (default bench/compare's
#     tar of /usr/lib in /var/tmp/zsfs-bench, if it is there: compressible
#     pages, their compressed bytes hashed).
#  2. cp -a of a tree (default /usr/include) into the mount, then cp -a
#     of that copy to a second directory inside the same mount: time and
#     memory growth of the second copy, for zsfs dedup=on and dedup=off,
#     tmpfs, and ext4 on a fresh zram device (lz4), which is always
#     released (hot_remove) on exit.
#
# Usage: bench/dedup.sh [BUILD_DIR [TREE]]   (RUNS=3 by default;
#        PARTS="1 2 3" by default, e.g. PARTS=1 for the write speed only)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
tree=${2:-/usr/include}
runs=${RUNS:-3}
parts=${PARTS:-1 2 3}
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
seq_pass() { # NAME FILE
	local name=$1 file=$2 r d t0 t1 v on off ratios=""
	echo "== sequential write of $name, 512 MiB, dd bs=1M conv=fsync, $runs runs each, alternating"
	for r in $(seq "$runs"); do
		for d in off on; do
			zs_mount "size=2g,dedup=$d"
			t0=$(now)
			dd if="$file" of="$mnt/f" bs=1M conv=fsync status=none
			t1=$(now)
			v=$(echo "scale=1; 512 / ($t1 - $t0)" | bc)
			if [ "$d" = on ]; then on=$v; else off=$v; fi
			zs_umount
		done
		ratios="$ratios $(echo "scale=3; $on / $off" | bc)"
		echo "run $r: dedup=off $off MiB/s, dedup=on $on MiB/s, on/off $(echo "scale=3; $on / $off" | bc) (load $(cut -d' ' -f1 /proc/loadavg))"
	done
	echo "$name: median on/off $(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
}
case " $parts " in *" 1 "*)
	src=/dev/shm/zsfs-dedup-bench.src
	head -c 402653184 /dev/urandom | base64 -w 76 | head -c 536870912 >"$src"
	seq_pass "base64 of random bytes (raw pages)" "$src"
	seq_data=${SEQ_DATA:-/var/tmp/zsfs-bench/seq-usr-lib-1g.dat}
	if [ -r "$seq_data" ]; then
		head -c 536870912 "$seq_data" >"$src"
		seq_pass "$seq_data (compressible)" "$src"
	fi
	rm -f "$src" ;;
esac

case " $parts " in *" 2 "*)
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

;; esac

case " $parts " in *" 3 "*) ;; *) exit 0 ;; esac
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
