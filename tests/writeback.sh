#!/bin/bash
# writeback.sh - idle marking and writeback to the backing file on a real
# mount (src/writeback.c): "idle all" marks every stored page, a read
# clears the mark, "writeback type=..." moves pages to the backing file
# and the pool shrinks, every file still reads back its bytes, written
# back pages that are overwritten, truncated or removed give their slots
# back, the consistency check verifies the BACKED entries against the
# file's slot map; and a backing file that fills (a tiny tmpfs under it,
# or a small backing_size) makes the command fail with ENOSPC while
# losing nothing.
. "$TOP_SRCDIR/tests/lib.sh"
need_tool diff cmp dd

SRC="$WORK/src"
BD="$WORK/bd"
ctl() { echo "$*" >"$MNT/.zsctl"; }
# ctl_fails ERRTEXT CMD...: the command's write fails, saying ERRTEXT
ctl_fails() {
	local want=$1 out
	shift
	out=$( (echo "$*" >"$MNT/.zsctl") 2>&1) && return 1
	grep -q -- "$want" <<<"$out" || { diag "got: $out"; return 1; }
}

# same_tree: every file of $SRC and $MNT alike, the mount's read with
# O_DIRECT so the daemon (not the kernel's page cache) answers.
same_tree() {
	local f
	diff <(cd "$SRC" && find . | sort) <(cd "$MNT" && find . ! -name .zsctl | sort) || return 1
	while IFS= read -r f; do
		dd if="$MNT/$f" bs=1M iflag=direct status=none | cmp -s - "$SRC/$f" ||
			{ diag "differs: $f"; return 1; }
	done < <(cd "$SRC" && find . -type f)
}

# The source tree: text (compresses), random bytes (stored raw), zeros.
mkdir -p "$SRC/txt" "$SRC/bin"
for d in /usr/include/linux /usr/include/x86_64-linux-gnu; do
	[ -d "$d" ] && cp -rL "$d" "$SRC/txt/" 2>/dev/null
done
[ -n "$(ls "$SRC/txt")" ] || skip_all "no /usr/include/linux to copy"
find "$SRC/txt" -type f -size +1M -delete
head -c $((1 << 20)) /dev/urandom >"$SRC/bin/random1"
head -c $((512 << 10)) /dev/urandom >"$SRC/bin/random2"
head -c $((256 << 10)) /dev/zero >"$SRC/bin/zeros"
seq 1 200000 >"$SRC/bin/numbers"
files=$(find "$SRC" -type f | wc -l)
diag "source tree: $files files, $(du -sk "$SRC" | cut -f1) KiB"

zs_mount -o "size=256m,backing=$BD,backing_size=64m,recompress=off"
cp -a "$SRC/." "$MNT/"
sync "$MNT/bin/numbers" 2>/dev/null
stored=$(ctl_get pages_stored)
check "idle all is accepted" ctl idle all
idle=$(ctl_get idle_pages)
check_eq "idle all marks every stored page: idle_pages = pages_stored" "$stored" "$idle"
# O_DIRECT: the kernel's page cache would answer a plain read
dd if="$MNT/bin/numbers" of=/dev/null bs=64k iflag=direct status=none
idle2=$(ctl_get idle_pages)
npages=$(( ($(stat -c %s "$SRC/bin/numbers") + 4095) / 4096 ))
check_eq "reading a file clears its pages' marks" $((idle - npages)) "$idle2"
for d in "$SRC" "$MNT"; do
	printf 'x' | dd of="$d/bin/random2" bs=1 seek=100 conv=notrunc status=none
done
check_eq "a write clears its page's mark" $((idle2 - 1)) "$(ctl_get idle_pages)"

comp0=$(ctl_get compr_data_size)
ctl compact
used0=$(ctl_get mem_used_total)
check "writeback type=idle is accepted" ctl writeback type=idle
bd=$(ctl_get bd_count)
check "pages went to the backing file: bd_count $bd > 0" test "${bd:-0}" -gt 0
check_eq "backed_pages = bd_count" "$bd" "$(ctl_get backed_pages)"
check "bd_writes >= bd_count" test "$(ctl_get bd_writes)" -ge "$bd"
comp1=$(ctl_get compr_data_size)
check "compr_data_size shrank: $comp0 -> $comp1" test "$comp1" -lt $((comp0 / 2))
ctl compact
used1=$(ctl_get mem_used_total)
check "the pool shrank after compact: $used0 -> $used1" test "$used1" -lt "$used0"
check "the written-back pages are no longer idle-counted twice: idle_pages <= pages_stored" \
	test "$(ctl_get idle_pages)" -le "$(ctl_get pages_stored)"
check "the backing file holds the bytes (st_blocks > 0)" test "$(stat -c %b "$BD")" -gt 8
check "check passes with written-back pages" ctl check
check "every file reads back after writeback (O_DIRECT)" same_tree
check "reads came from the backing file: bd_reads > 0" test "$(ctl_get bd_reads)" -gt 0

# overwrite, truncate, punch, remove written-back pages
bd_before=$(ctl_get bd_count)
head -c $((100 << 10)) /dev/urandom >"$WORK/new"
dd if="$WORK/new" of="$SRC/bin/numbers" bs=4k seek=3 conv=notrunc status=none
dd if="$WORK/new" of="$MNT/bin/numbers" bs=4k seek=3 conv=notrunc status=none
truncate -s 300000 "$SRC/bin/random1" "$MNT/bin/random1"
truncate -s 400000 "$SRC/bin/random1" "$MNT/bin/random1"
f=$(cd "$SRC/txt" && find . -type f -size +8k | head -1)
if [ -n "$f" ]; then
	fallocate -p -o 4096 -l 8192 "$SRC/txt/$f" 2>/dev/null &&
		fallocate -p -o 4096 -l 8192 "$MNT/txt/$f"
fi
printf 'x' | dd of="$MNT/bin/random2" bs=1 seek=5000 conv=notrunc status=none
printf 'x' | dd of="$SRC/bin/random2" bs=1 seek=5000 conv=notrunc status=none
g=$(cd "$SRC/txt" && find . -type f | tail -1)
rm -f "$SRC/txt/$g" "$MNT/txt/$g"
cp "$MNT/bin/numbers" "$MNT/bin/numbers.copy"
cp "$SRC/bin/numbers" "$SRC/bin/numbers.copy"
check "every file reads back after overwrite/truncate/punch/remove (O_DIRECT)" same_tree
bd_after=$(ctl_get bd_count)
check "overwritten and freed pages left the backing file: bd_count $bd_before -> $bd_after" \
	test "$bd_after" -lt "$bd_before"
check_eq "backed_pages = bd_count after the changes" "$bd_after" "$(ctl_get backed_pages)"
check "check passes after the changes" ctl check

# huge pages with a limit; writeback again of what is already there: nothing
w0=$(ctl_get bd_writes)
head -c $((256 << 10)) /dev/urandom >"$SRC/bin/random3"
cp "$SRC/bin/random3" "$MNT/bin/random3"
check "writeback type=huge limit=10" ctl writeback type=huge limit=10
check_eq "limit=10 moved 10 pages" $((w0 + 10)) "$(ctl_get bd_writes)"
check "writeback type=incompressible (nothing settled: recompress=off)" ctl writeback type=incompressible
check_eq "type=incompressible took no unsettled raw page" $((w0 + 10)) "$(ctl_get bd_writes)"
check "writeback type=huge" ctl writeback type=huge
check "type=huge took the rest of the raw pages" test "$(ctl_get bd_writes)" -ge $((w0 + 64))
check "writeback type=idle again: nothing idle is left in RAM" ctl writeback type=idle
check "files read back after huge writeback" same_tree
check "check passes after huge writeback" ctl check

# bad input: refused, nothing changes
w1=$(ctl_get bd_writes)
check "writeback type=bogus is refused" ctl_fails "Invalid argument" writeback type=bogus
check "writeback without type= is refused" ctl_fails "Invalid argument" writeback limit=5
check "writeback limit=0 is refused" ctl_fails "Invalid argument" writeback type=idle limit=0
check "writeback with three arguments is refused" ctl_fails "Invalid argument" writeback type=idle limit=1 x
check "idle 60 is refused (no ages)" ctl_fails "Invalid argument" idle 60
check_eq "refused commands wrote nothing" "$w1" "$(ctl_get bd_writes)"
rm -rf "$MNT/txt" "$MNT/bin"
# an inode is freed at the kernel's FORGET, which may come a little later
for _ in $(seq 50); do [ "$(ctl_get bd_count)" = 0 ] && break; sleep 0.1; done
check_eq "removing every file empties the backing file: bd_count 0" 0 "$(ctl_get bd_count)"
check_eq "backed_pages 0" 0 "$(ctl_get backed_pages)"
check "check passes on the emptied mount" ctl check
umount_clean "writeback"

# without backing=: ENODEV
zs_mount -o size=64m
echo hi >"$MNT/f"
ctl idle all
check "writeback without backing= fails (ENODEV)" ctl_fails "No such device" writeback type=idle
check_eq "the file is intact" hi "$(cat "$MNT/f")"
umount_clean "no backing"

# A backing file on a tiny tmpfs: its writes fail with ENOSPC part way.
TINY="$WORK/tiny"
mkdir -p "$TINY"
if mount -t tmpfs -o size=1m tmpfs "$TINY" 2>/dev/null; then
	EXTRA_MOUNTS="$TINY"
	zs_mount -o "size=256m,backing=$TINY/bd,backing_size=32m"
	cp -a "$SRC/." "$MNT/"
	ctl idle all
	check "a backing file on a full disk: writeback fails with ENOSPC" \
		ctl_fails "No space left on device" writeback type=idle
	check "failed_writes counts it" test "$(ctl_get failed_writes)" -gt 0
	check "some pages went before it filled: bd_count > 0" test "$(ctl_get bd_count)" -gt 0
	check "every file still reads back (O_DIRECT)" same_tree
	check "check passes after the failed writeback" ctl check
	umount_clean "full tmpfs"
	umount "$TINY"
else
	diag "no tmpfs: the full-disk case is not run"
fi

# A small backing_size: the file has no room (bd_full).
zs_mount -o "size=256m,backing=$BD,backing_size=1m"
cp -a "$SRC/." "$MNT/"
ctl idle all
check "a full backing file: writeback fails with ENOSPC" \
	ctl_fails "No space left on device" writeback type=idle
check "bd_full counts it" test "$(ctl_get bd_full)" -gt 0
check "every file still reads back (O_DIRECT)" same_tree
check "check passes" ctl check
umount_clean "full backing file"

done_testing
