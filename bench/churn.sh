#!/bin/bash
# bench/churn.sh - fragmentation, compaction and memory accounting on a
# real mount (run as root).  Mounts zsfs itself ($ZSFS, else ./src/zsfs) on
# a temporary directory and always unmounts it.
#
# Mount and cleanup are tests/lib.sh's (zs_mount, zs_umount, the EXIT trap),
# and so is the smaps_rollup reader.
#
#  1. auto_compact=off: copy /usr/include and /usr/lib/gcc in, delete every
#     other file, print compr_data_size / mem_used_total, `echo compact >
#     .zsctl`, print it again (target >= 0.97).
#  2. auto_compact=on, same churn, no command: print the ratio every second
#     until >= 0.95 or 30 s (target: within 10 s); also says when nothing
#     was left to compact and the ratio of the manual compaction was reached.
#  3. both times, compare mem_used_total with the daemon's real memory:
#     the Rss of the pool's own mappings in /proc/PID/smaps (target: within
#     2%), and, for the whole daemon, Rss and Anonymous of
#     /proc/PID/smaps_rollup minus those of a fresh mount, against
#     mem_used_total plus the filesystem's metadata and malloc heap.
#  4. the same sources as 4 big files of 64 MiB (few inodes, so the pool
#     is nearly all the daemon grows by): the whole daemon's
#     smaps_rollup Rss growth against mem_used_total (target: within 2%),
#     after writing and after deleting two of them and compacting.
#
#	sudo ZSFS=src/zsfs bench/churn.sh [SOURCE_DIR...]
set -u
ZSFS=${ZSFS:-./src/zsfs}
[ $# -gt 0 ] || set -- /usr/include /usr/lib/gcc
# $WORK, $MNT, $ZS_PID, zs_mount, zs_umount, smaps_bytes, ctl_get, and the
# EXIT trap that unmounts and removes $WORK.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"

die() { echo "churn.sh: $*" >&2; exit 1; }
[ -x "$ZSFS" ] || die "no zsfs binary at $ZSFS (set ZSFS)"

# Mount with options $1, let it settle, and take the fresh mount's
# baseline that memcheck and bigcheck measure growth against.
mount_zs() {
	zs_mount -o "$1"
	sleep 0.3
	BASE_RSS=$(smaps Rss)
	BASE_ANON=$(smaps Anonymous)
	BASE_HEAP=$(get heap_bytes)
}

umount_zs() {
	zs_umount || die "unmount failed (or the daemon exited non-zero)"
}

get() { ctl_get "$1"; }
ratio() {
	awk '$1 == "compr_data_size" { c = $2 } $1 == "mem_used_total" { m = $2 }
	     END { printf "%.4f", m ? c / m : 0 }' "$MNT/.zsctl"
}
smaps() { smaps_bytes "$ZS_PID" "$1"; }
# The pool's own memory as the kernel sees it: the allocator maps every
# page it holds (zspages and its metadata) through alloc/os.c with
# MADV_NOHUGEPAGE, so its mappings are the ones whose VmFlags say "nh";
# nothing else in the daemon (glibc malloc, libfuse, stacks) sets it.
pool_rss() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { rss = 0 } $1 == "Rss:" { rss = $2 }
	     $1 == "VmFlags:" && / nh( |$)/ { s += rss } END { print s * 1024 }' "/proc/$ZS_PID/smaps"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

show() {
	printf '%-26s ratio %s  compr_data_size %s  mem_used_total %s  freeable %s pages\n' \
		"$1" "$(ratio)" "$(mib "$(get compr_data_size)")" \
		"$(mib "$(get mem_used_total)")" \
		"$(awk 'f { s += $NF } /^class / { f = 1 } END { print s + 0 }' "$MNT/.zsctl")"
}

# The FUSE workers give back what a large request dirtied in their
# receive buffers 100 ms after their last use (src/loop.c): let that pass
# before the daemon's memory is read.
settle() { sleep 0.3; }

# Daemon memory against the pool's figure.
memcheck() {
	local used meta dirty rss anon drss danon heap
	settle
	used=$(get mem_used_total)
	heap=$(get heap_bytes)
	meta=$(get meta_bytes)
	dirty=$(($(get dirty_pages) * 4096))
	rss=$(smaps Rss)
	anon=$(smaps Anonymous)
	drss=$((rss - BASE_RSS))
	danon=$((anon - BASE_ANON))
	printf '%-26s mem_used_total %s; daemon Rss-baseline %s (%+.2f%%), Anonymous-baseline %s (%+.2f%%)\n' \
		"$1" "$(mib "$used")" "$(mib "$drss")" \
		"$(awk -v a="$drss" -v b="$used" 'BEGIN { print b ? (a - b) * 100 / b : 0 }')" \
		"$(mib "$danon")" \
		"$(awk -v a="$danon" -v b="$used" 'BEGIN { print b ? (a - b) * 100 / b : 0 }')"
	local prss
	prss=$(pool_rss)
	printf '%-26s   the pool'"'"'s own mappings (VmFlags nh) hold %s in RAM: mem_used_total is %+.2f%% off (target within 2%%)\n' "" \
		"$(mib "$prss")" "$(awk -v a="$used" -v b="$prss" 'BEGIN { print b ? (a - b) * 100 / b : 0 }')"
	printf '%-26s   + meta_bytes %s + dirty %s = %s (%+.2f%% vs Rss-baseline)\n' "" \
		"$(mib "$meta")" "$(mib "$dirty")" "$(mib $((used + meta + dirty)))" \
		"$(awk -v a="$drss" -v b=$((used + meta + dirty)) 'BEGIN { print b ? (a - b) * 100 / b : 0 }')"
	printf '%-26s   + heap_bytes %s (malloc) = %s (%+.2f%% vs Anonymous-baseline)\n' "" \
		"$(mib $((heap - BASE_HEAP)))" "$(mib $((used + heap - BASE_HEAP)))" \
		"$(awk -v a="$danon" -v b=$((used + heap - BASE_HEAP)) 'BEGIN { print b ? (a - b) * 100 / b : 0 }')"
}

load() {
	local t0 t1
	t0=$(date +%s.%N)
	mkdir "$MNT/data"
	for src in "$@"; do
		cp -a "$src" "$MNT/data/$(echo "$src" | tr / _)"
	done
	sync
	find "$MNT/data" -type f -print0 | sort -z |
		awk 'BEGIN { RS = ORS = "\0" } NR % 2' | xargs -0 rm -f
	sync
	t1=$(date +%s.%N)
	echo "loaded $* and deleted every other file in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }');" \
		"$(get files) files, orig_data_size $(mib "$(get orig_data_size)")"
}

echo "== 1: auto_compact=off, then echo compact > .zsctl"
mount_zs auto_compact=off
echo "fresh mount: Rss $(mib "$BASE_RSS"), Anonymous $(mib "$BASE_ANON")"
load "$@"
show "after churn:"
memcheck "after churn:"
t0=$(date +%s.%N)
echo compact >"$MNT/.zsctl" || die "compact failed"
t1=$(date +%s.%N)
show "after compact:"
echo "compact took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f s", b - a }')" \
	"(last_compact_usec $(get last_compact_usec), last_compact_pages $(get last_compact_pages))"
R=$(ratio)
echo "ratio after compact: $R (target >= 0.97): $(awk -v r="$R" 'BEGIN { print ((r >= 0.97) ? "met" : "MISSED") }')"
MANUAL=$R
memcheck "after compact:"
umount_zs

echo "== 2: auto_compact=on, no command"
mount_zs auto_compact=on
load "$@"
show "after churn (t=0):"
t=0
best=""
while :; do
	R=$(ratio)
	F=$(awk 'f { s += $NF } /^class / { f = 1 } END { print s + 0 }' "$MNT/.zsctl")
	# what a manual compaction reached is the best there is
	[ -z "$best" ] && [ "$F" -eq 0 ] &&
		[ "$(awk -v r="$R" -v m="$MANUAL" 'BEGIN { print ((r >= m - 0.002) ? 1 : 0) }')" = 1 ] &&
		best=$t
	[ "$(awk -v r="$R" 'BEGIN { print ((r >= 0.95) ? 1 : 0) }')" = 1 ] && break
	[ -n "$best" ] && [ "$t" -ge $((best + 3)) ] && break
	[ "$t" -ge 30 ] && break
	echo "t=${t}s ratio $R freeable $F compactions_auto $(get compactions_auto)"
	sleep 1
	t=$((t + 1))
done
show "t=${t}s:"
if [ "$(awk -v r="$R" 'BEGIN { print ((r >= 0.95) ? 1 : 0) }')" = 1 ]; then
	echo "ratio >= 0.95 after ${t} s (target <= 10 s)"
else
	echo "ratio >= 0.95 NOT reached (${t} s)"
fi
[ -n "$best" ] && echo "nothing freeable and the manual compaction's ratio ($MANUAL) reached after ${best} s"
echo "compactions_auto $(get compactions_auto), last_compact_usec $(get last_compact_usec)"
memcheck "auto compacted:"
umount_zs

echo "== 3: four 64 MiB files of the same sources: the whole daemon against mem_used_total"
mount_zs auto_compact=off
find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null |
	head -c 256M >"$WORK/stream"
for i in 0 1 2 3; do
	dd if="$WORK/stream" of="$MNT/big$i" bs=1M skip=$((i * 64)) count=64 status=none
done
rm -f "$WORK/stream"
sync
bigcheck() {
	local used drss
	settle
	used=$(get mem_used_total)
	drss=$(($(smaps Rss) - BASE_RSS))
	printf '%-26s mem_used_total %s, daemon Rss-baseline %s: %+.2f%% (target within 2%%); meta_bytes %s\n' \
		"$1" "$(mib "$used")" "$(mib "$drss")" \
		"$(awk -v a="$drss" -v b="$used" 'BEGIN { print b ? (a - b) * 100 / b : 0 }')" \
		"$(mib "$(get meta_bytes)")"
}
bigcheck "4 files written:"
rm -f "$MNT/big1" "$MNT/big3"
echo compact >"$MNT/.zsctl" || die "compact failed"
bigcheck "2 deleted, compacted:"
umount_zs
