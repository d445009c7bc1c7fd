#!/bin/bash
# bench/settle.sh - what background recompression and dictionaries give:
# whole-daemon memory after copying a tree, once background work has
# settled, against ext4 on a fresh zram device with the same codec.
#
# For each tree (default /usr/include and /usr/lib/gcc), in one run:
#   zsfs lz4 dict=off,recompress=off   (today's zsfs)
#   zsfs lz4 dict=auto,recompress=on (lz4hc:9)
#   zsfs zstd dict=auto,recompress=on (zstd:9)
#   ext4 on zram (lz4), hot-added and removed on exit, even on failure
# zsfs memory is the daemon's smaps_rollup Rss growth over the fresh
# mount, read after recompress_pending reached 0 (settle seconds and the
# daemon's CPU seconds from /proc/PID/stat are printed); zram's is its
# mm_stat mem_used_total.  Then 10 idle seconds: the daemon's CPU then.
#
#	sudo ZSFS=build/src/zsfs bench/settle.sh [TREE...]
set -u
ZSFS=${ZSFS:-./src/zsfs}
W=$(mktemp -d /tmp/zsfs-settle.XXXXXX)
MNT=$W/mnt
mkdir -p "$MNT"
PID=""
ZDEV=""
cleanup() {
	if [ -n "$PID" ]; then fusermount3 -u "$MNT" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	mountpoint -q "$MNT" && umount "$MNT"
	if [ -n "$ZDEV" ]; then
		echo "$ZDEV" >/sys/class/zram-control/hot_remove 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "settle.sh: $*" >&2; exit 1; }
[ -x "$ZSFS" ] || die "no zsfs binary at $ZSFS (set ZSFS)"
[ $# -gt 0 ] || set -- /usr/include /usr/lib/gcc

smaps() { awk '$1 == "Rss:" { print $2 * 1024 }' "/proc/$PID/smaps_rollup"; }
get() { awk -v k="$1" '$1 == k { print $2; exit }' "$MNT/.zsctl"; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$PID/stat"; }
now() { date +%s.%N; }

# zsfs OPTS TREE: prints "mem settle_s cpu_s idle_cpu_s"
zsfs_run() {
	local t0 t1 base p c0
	"$ZSFS" -f "$MNT" -o "$1" >"$W/log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
	mountpoint -q "$MNT" || die "mount failed: $(cat "$W/log")"
	sleep 0.3
	base=$(smaps)
	cp -a "$2" "$MNT/t" || die "copy into zsfs failed"
	t0=$(now)
	for _ in $(seq 2400); do
		p=$(get recompress_pending)
		[ -z "$p" ] || [ "$p" = 0 ] && break
		sleep 0.25
	done
	t1=$(now)
	sleep 0.5
	local mem=$(( $(smaps) - base )) cpu=$(cpu_s)
	c0=$cpu; sleep 10
	local idle=$(awk -v a="$(cpu_s)" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')
	echo "$mem $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') $cpu $idle $(get orig_data_size)"
	fusermount3 -u "$MNT"; wait "$PID"; PID=""
}

zram_run() {
	ZDEV=$(cat /sys/class/zram-control/hot_add) || die "no zram hot_add"
	echo lz4 >"/sys/block/zram$ZDEV/comp_algorithm"
	echo 4G >"/sys/block/zram$ZDEV/disksize"
	mkfs.ext4 -q -O ^has_journal "/dev/zram$ZDEV" >/dev/null || die "mkfs failed"
	mount "/dev/zram$ZDEV" "$MNT" || die "mount ext4 failed"
	cp -a "$1" "$MNT/t" || die "copy into ext4 failed"
	sync -f "$MNT"; fstrim "$MNT" 2>/dev/null
	umount "$MNT" 2>/dev/null || true
	mount "/dev/zram$ZDEV" "$MNT"
	awk '{ print $3 }' "/sys/block/zram$ZDEV/mm_stat"
	umount "$MNT"
	echo "$ZDEV" >/sys/class/zram-control/hot_remove; ZDEV=""
}

printf '%-14s %-34s %10s %7s %9s %8s %8s %9s\n' tree config mem_MiB x_zram settle_s cpu_s idle_cpu cpu_s/GiB
for tree in "$@"; do
	z=$(zram_run "$tree")
	for cfg in "compress=lz4,dict=off,recompress=off" "compress=lz4,dict=auto,recompress=on" "compress=zstd,dict=auto,recompress=on"; do
		read -r mem st cpu idle orig <<<"$(zsfs_run "$cfg" "$tree")"
		printf '%-14s %-34s %10.1f %7.3f %9s %8s %8s %9.1f\n' "$(basename "$tree")" "$cfg" \
			"$(awk -v m="$mem" 'BEGIN { print m / 1048576 }')" \
			"$(awk -v m="$mem" -v z="$z" 'BEGIN { print m / z }')" \
			"$st" "$cpu" "$idle" "$(awk -v c="$cpu" -v o="$orig" 'BEGIN { print o ? c / (o / 1073741824) : 0 }')"
	done
	printf '%-14s %-34s %10.1f %7.3f\n' "$(basename "$tree")" "ext4 on zram (lz4)" \
		"$(awk -v z="$z" 'BEGIN { print z / 1048576 }')" 1
done
