#!/usr/bin/env bash
# leak.sh - what is deleted is given back, and the daemon exits clean:
#  - fill a mount (files of every page kind, sparse files, directories,
#    symlinks, hard links, xattrs), rm -rf everything, compact: the pool
#    holds no pages and no objects, mem_used_total does not grow from
#    round to round and is within 1 MiB of its fresh value, and the daemon's RSS is back within LEAK_RSS_KIB (default
#    2048) of what it was after a first warm-up round (so a second and third
#    round of the same work must not grow it), and within LEAK_RSS_FRESH_KIB
#    (default 8192) of the fresh mount;
#  - unmount is clean: fusermount3 -u, the daemon exits with status 0, and
#    under an ASan build its log has no LeakSanitizer or ASan/UBSan report.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
need_fuse
need_tool dd

rss_kib() { echo $(($(smaps_bytes "$ZS_PID" Rss) / 1024)); }

asan=no
if grep -q 'fsanitize=address' "$TOP_BUILDDIR/config.log" 2>/dev/null ||
   nm "$ZSFS" 2>/dev/null | grep -q __asan_init; then
	asan=yes
fi
diag "sanitizer build: $asan"

head -c 1048576 /dev/urandom >"$WORK/rand"

# One round of work: ~40 MiB of data of every kind in a tree, then deleted.
fill() {
	local top=$MNT/tree d i
	mkdir "$top" || return 1
	for d in 0 1 2 3; do
		mkdir -p "$top/d$d/sub" || return 1
		for i in $(seq 6); do
			cp "$WORK/rand" "$top/d$d/rand$i" || return 1
			head -c 1048576 /dev/zero >"$top/d$d/zero$i" || return 1
			yes "zsfs leak test line $d $i" | head -c 600000 >"$top/d$d/text$i" || return 1
			ln "$top/d$d/rand$i" "$top/d$d/sub/link$i" || return 1
			ln -s "rand$i" "$top/d$d/sym$i" || return 1
			setfattr -n user.test -v "value $d $i" "$top/d$d/rand$i" || return 1
		done
		# Sparse: a few pages far apart, and a punched file.
		dd if="$WORK/rand" of="$top/d$d/sparse" bs=4096 count=3 seek=100000 status=none || return 1
		cp "$WORK/rand" "$top/d$d/punched" &&
			fallocate -p -o 4096 -l 500000 "$top/d$d/punched" || return 1
		touch "$top/d$d/sub/empty"{1..200} || return 1
	done
	# Parallel readers so the daemon spins up its worker threads.
	local pids=""
	for d in 0 1 2 3; do
		cat "$top"/d$d/* >/dev/null 2>&1 &
		pids="$pids $!"
	done
	wait $pids	# not a bare wait: the daemon is our child too
	rm -rf "$top"
}

settle() {
	echo compact >"$MNT/.zsctl"
	sleep 0.5
	echo compact >"$MNT/.zsctl"
}

need_tool setfattr fallocate
zs_mount -o size=256m
fresh_rss=$(rss_kib)
fresh_used=$(ctl_get mem_used_total)
diag "fresh: rss ${fresh_rss} KiB, mem_used_total $fresh_used, pool_pages $(ctl_get pool_pages)"

check "round 1 (warm-up): fill and rm -rf" fill
settle
base_rss=$(rss_kib)
base_used=$(ctl_get mem_used_total)
diag "after round 1: rss $base_rss KiB, mem_used_total $(ctl_get mem_used_total), pool_pages $(ctl_get pool_pages), pool_objects $(ctl_get pool_objects)"
for round in 2 3; do
	check "round $round: fill and rm -rf" fill
	settle
	diag "after round $round: rss $(rss_kib) KiB, mem_used_max $(ctl_get mem_used_max), pool_pages_max $(ctl_get pool_pages_max)"
done
check_eq "pool_pages back to 0" 0 "$(ctl_get pool_pages)"
check_eq "pool_objects back to 0" 0 "$(ctl_get pool_objects)"
check_eq "orig_data_size back to 0" 0 "$(ctl_get orig_data_size)"
check_eq "compr_data_size back to 0" 0 "$(ctl_get compr_data_size)"
# mem_used_total includes the allocator's own metadata (handle table),
# which may keep its high-water size: it must not grow round after round,
# and stay within 1 MiB of the fresh mount's.
used=$(ctl_get mem_used_total)
diag "mem_used_total: fresh $fresh_used, after round 1 $base_used, now $used"
check "mem_used_total does not grow after round 1 ($used vs $base_used, within 64 KiB)" \
	[ "$used" -le $(( base_used + 65536 )) ]
check "mem_used_total within 1 MiB of fresh ($used vs $fresh_used)" \
	[ "$used" -le $(( fresh_used + 1048576 )) ]
check_eq "only the root and .zsctl inodes left" "$(ctl_get inodes)" 2
rss=$(rss_kib)
if [ $asan = yes ]; then
	# ASan's quarantine and shadow memory make RSS meaningless; there
	# LeakSanitizer at exit (below) is the leak check.
	diag "RSS $rss KiB (fresh $fresh_rss, after round 1 $base_rss): not compared under ASan"
else
	check "RSS $rss KiB within ${LEAK_RSS_KIB:-2048} KiB of after round 1 ($base_rss KiB)" \
		[ "$rss" -le $(( base_rss + ${LEAK_RSS_KIB:-2048} )) ]
	check "RSS $rss KiB within ${LEAK_RSS_FRESH_KIB:-8192} KiB of the fresh mount ($fresh_rss KiB)" \
		[ "$rss" -le $(( fresh_rss + ${LEAK_RSS_FRESH_KIB:-8192} )) ]
fi
check "consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"

pid=$ZS_PID
check "unmount and daemon exit status 0" zs_umount
check "daemon process gone" eval "! kill -0 $pid 2>/dev/null"
check "no LeakSanitizer report in the daemon log" eval "! grep -q 'LeakSanitizer' '$WORK/zsfs.log'"
check "no AddressSanitizer/UBSan report in the daemon log" \
	eval "! grep -qE 'ERROR: AddressSanitizer|runtime error:' '$WORK/zsfs.log'"
if [ -s "$WORK/zsfs.log" ]; then
	diag "daemon log (first lines):"
	head -20 "$WORK/zsfs.log" | sed 's/^/#   /'
fi
done_testing
