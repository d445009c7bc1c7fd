#!/bin/bash
# dedup.sh - content deduplication on write: a file written again with
# the same bytes (write(2), not copy_file_range) shares the stored pages,
# writes to either side leave the other intact, index keys forced to
# collide (ZSFS_DEBUG_DEDUP_BITS) never mix data, dedup=off stores every
# page, and the check verifies the reference counts.
. "$TOP_SRCDIR/tests/lib.sh"

head -c $((512 * 4096)) /dev/urandom | base64 -w 0 | head -c $((512 * 4096)) >"$WORK/a"

zs_mount -o size=256m,dedup=on
dd if="$WORK/a" of="$MNT/a" bs=64k status=none
sync
mem0=$(ctl_get mem_used_total)
dd if="$WORK/a" of="$MNT/b" bs=4k status=none
dd if="$WORK/a" of="$MNT/c" bs=1M status=none
mem1=$(ctl_get mem_used_total)
diag "mem_used_total $mem0 -> $mem1; $(grep -E '^(dedup_[a-z]*|shared_[a-z]*) ' "$MNT/.zsctl" | tr '\n' ' ')"
check "two more copies written add at most 3% ($mem0 -> $mem1)" \
	[ $((mem1 - mem0)) -le $((mem0 * 3 / 100)) ]
check "dedup_hits >= 1024 ($(ctl_get dedup_hits))" [ "$(ctl_get dedup_hits)" -ge 1024 ]
check_eq "no collisions with the full hash" 0 "$(ctl_get dedup_collisions)"
check "dedup_bytes (the index) in the budget" [ "$(ctl_get dedup_bytes)" -gt 0 ]
check "b reads right" cmp "$WORK/a" "$MNT/b"
cp "$WORK/a" "$WORK/b"
printf 'written into b' | dd of="$MNT/b" bs=1 seek=5000 conv=notrunc status=none
printf 'written into b' | dd of="$WORK/b" bs=1 seek=5000 conv=notrunc status=none
check "b has its write" cmp "$WORK/b" "$MNT/b"
check "a and c untouched" sh -c 'cmp "$1" "$2/a" && cmp "$1" "$2/c"' sh "$WORK/a" "$MNT"
check "consistency check" sh -c 'echo check > "$1"' sh "$MNT/.zsctl"
rm -f "$MNT/a" "$MNT/b"
check "c survives a and b" cmp "$WORK/a" "$MNT/c"
rm -f "$MNT/c"
for _ in $(seq 50); do [ "$(ctl_get pool_pages)" = 0 ] && break; sleep 0.1; done
check_eq "pool empty after rm" 0 "$(ctl_get pool_pages)"
check_eq "index empty after rm" 0 "$(ctl_get dedup_indexed)"
umount_clean "dedup=on"

# Collisions: 8 bits of hash (256 keys for 768 pages), so most pages
# meet a different page under their key.  Every file must read back
# exactly, and x2 still finds most of x's pages (8 candidates a key).
head -c $((256 * 4096)) /dev/urandom | base64 -w 0 | head -c $((256 * 4096)) >"$WORK/x"
head -c $((256 * 4096)) /dev/urandom | base64 -w 0 | head -c $((256 * 4096)) >"$WORK/y"
ZSFS_DEBUG_DEDUP_BITS=8 zs_mount -o size=256m,dedup=on
dd if="$WORK/x" of="$MNT/x" bs=64k status=none
dd if="$WORK/y" of="$MNT/y" bs=4k status=none
dd if="$WORK/x" of="$MNT/x2" bs=1M status=none
diag "$(grep -E '^(dedup_[a-z]*|shared_[a-z]*) ' "$MNT/.zsctl" | tr '\n' ' ')"
check "forced collisions happened ($(ctl_get dedup_collisions))" \
	[ "$(ctl_get dedup_collisions)" -gt 100 ]
check "x reads right" cmp "$WORK/x" "$MNT/x"
check "y (colliding with x) reads right" cmp "$WORK/y" "$MNT/y"
check "x2 reads right" cmp "$WORK/x" "$MNT/x2"
check "x2 shared x's pages despite the collisions" \
	[ "$(ctl_get dedup_hits)" -ge 128 ]
check "consistency check with collisions" sh -c 'echo check > "$1"' sh "$MNT/.zsctl"
umount_clean "collisions"

zs_mount -o size=256m,dedup=off
dd if="$WORK/a" of="$MNT/a" bs=64k status=none
dd if="$WORK/a" of="$MNT/b" bs=64k status=none
check_eq "dedup=off: no hits" 0 "$(ctl_get dedup_hits)"
check_eq "dedup=off: no index" 0 "$(ctl_get dedup_bytes)"
check "dedup=off: b reads right" cmp "$WORK/a" "$MNT/b"
umount_clean "dedup=off"
done_testing
