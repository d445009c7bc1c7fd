#!/bin/bash
# bench/meta.sh - what the daemon holds per file beside the data: copy a
# tree into a fresh mount (dict=off,recompress=off: no background work,
# so two runs compare) and print, per inode the copy added,
#   meta      .zsctl meta_bytes growth (inodes, names, xattrs,
#             directory and page tables, as charged to the budget)
#   fs-meta   the same less meta_file_bytes (the page store's per-file
#             structs and page tables): inodes, names, xattrs, directories
#   heap      .zsctl heap_bytes growth (mallinfo2 arena + mmapped: what
#             malloc took from the OS, its free space included)
#   rss-pool  the daemon's smaps_rollup Rss growth minus the pool's
#             mem_used_total: everything that is not compressed data
# and the pool's figures per stored page for reference (pages live in the
# page table and the pool, not in the per-file figure).
#
#	sudo ZSFS=build/src/zsfs bench/meta.sh [TREE...]    (default /usr/include)
#	ZSFS_OPTS=...   extra mount options (after dict=off,recompress=off)
set -u
ZSFS=${ZSFS:-./src/zsfs}
OPTS="dict=off,recompress=off${ZSFS_OPTS:+,$ZSFS_OPTS}"
W=$(mktemp -d /tmp/zsfs-meta.XXXXXX)
MNT=$W/mnt
mkdir -p "$MNT"
PID=""
cleanup() {
	if [ -n "$PID" ]; then fusermount3 -u "$MNT" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "meta.sh: $*" >&2; exit 1; }
[ -x "$ZSFS" ] || die "no zsfs binary at $ZSFS (set ZSFS)"
[ $# -gt 0 ] || set -- /usr/include

smaps() { awk '$1 == "Rss:" { print $2 * 1024 }' "/proc/$PID/smaps_rollup"; }
get() { awk -v k="$1" '$1 == k { print $2; exit }' "$MNT/.zsctl"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? a / b : 0 }'; }

printf '%-16s %6s %6s %6s %8s %11s %8s %12s %9s\n' tree inodes files pages \
	meta/ino fs-meta/ino heap/ino rss-pool/ino pool/page
for tree in "$@"; do
	"$ZSFS" -f "$MNT" -o "$OPTS" >"$W/log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
	mountpoint -q "$MNT" || die "mount failed: $(cat "$W/log")"
	sleep 0.3
	r0=$(smaps); m0=$(get meta_bytes); h0=$(get heap_bytes); i0=$(get inodes)
	f0=$(get meta_file_bytes)
	cp -a "$tree" "$MNT/t" || die "copy into zsfs failed"
	sync -f "$MNT/t"
	echo compact >"$MNT/.zsctl"
	sleep 0.5
	r1=$(smaps); m1=$(get meta_bytes); h1=$(get heap_bytes); i1=$(get inodes)
	f1=$(get meta_file_bytes)
	pool=$(get mem_used_total); files=$(get files)
	pages=$(get pages_stored)
	n=$(( i1 - i0 ))
	# A daemon without the meta_file_bytes line (older than issue 13's
	# work): no split to show.
	if [ -n "$f1" ]; then fsm=$(div $(( m1 - m0 - f1 + f0 )) $n); else fsm=n/a; fi
	printf '%-16s %6d %6d %6d %8s %11s %8s %12s %9s\n' "$tree" "$n" "$files" \
		"$pages" "$(div $(( m1 - m0 )) $n)" \
		"$fsm" "$(div $(( h1 - h0 )) $n)" \
		"$(div $(( r1 - r0 - pool )) $n)" "$(div "$pool" "$pages")"
	[ -n "${META_VERBOSE:-}" ] && grep -E '^(meta_bytes|meta_file_bytes|heap_bytes|inodes|files|dirs|symlinks|pages_stored|same_pages|mem_used_total) ' "$MNT/.zsctl"
	fusermount3 -u "$MNT"; wait "$PID"; PID=""
done
