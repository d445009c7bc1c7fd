#!/bin/bash
# share.sh - copies inside the mount share stored pages: cp -a of a tree
# (coreutils cp uses copy_file_range) adds almost no pool memory, both
# copies read back right after writes into each (compared with copies in
# a plain directory), user.zsfs.shared and the .zsctl share lines say
# what is shared, small files (one partial page) share their page too,
# the check verifies every reference count, and removing
# everything frees every page.
. "$TOP_SRCDIR/tests/lib.sh"
need_tool getfattr
zs_mount -o size=1g

# A tree of compressible files of 1 to 97 pages, odd sizes (partial
# last pages), a few of them copies of each other.
mkdir -p "$WORK/ref/a/b"
for i in $(seq 24); do
	n=$(( (i * 37) % 97 + 1 ))
	head -c $((n * 4096 + i * 13)) /dev/urandom | base64 >"$WORK/ref/a/f$i"
done
cp "$WORK/ref/a/f3" "$WORK/ref/a/b/f3copy"
cp -a "$WORK/ref/a" "$MNT/a"
check "first copy into the mount" diff -r "$WORK/ref/a" "$MNT/a"
sync
mem0=$(ctl_get mem_used_total)
comp0=$(ctl_get compr_data_size)
cp -a "$MNT/a" "$MNT/b"
rc=$?
check "cp -a inside the mount" [ $rc -eq 0 ]
mem1=$(ctl_get mem_used_total)
diag "mem_used_total $mem0 -> $mem1, compr_data_size $comp0 -> $(ctl_get compr_data_size)"
diag "$(grep -E '^(shared_objects|shared_pages|shared_saved_bytes|share_bytes) ' "$MNT/.zsctl" | tr '\n' ' ')"
check "the second copy adds at most 3% to the pool ($mem0 -> $mem1)" \
	[ $((mem1 - mem0)) -le $((mem0 * 3 / 100)) ]
check "shared_objects > 0" [ "$(ctl_get shared_objects)" -gt 0 ]
check "shared_saved_bytes > 0" [ "$(ctl_get shared_saved_bytes)" -gt 0 ]
check "share_bytes (the table) in the budget" [ "$(ctl_get share_bytes)" -gt 0 ]
shared=$(getfattr --only-values -n user.zsfs.shared "$MNT/b/f7" 2>/dev/null)
stored=$(getfattr --only-values -n user.zsfs.stored "$MNT/b/f7" 2>/dev/null)
check "user.zsfs.shared of a copy ($shared) > 0 and <= stored ($stored)" \
	[ "${shared:-0}" -gt 0 ] && [ "$shared" -le "$stored" ]
check "user.zsfs.shared is read-only" \
	sh -c '! setfattr -n user.zsfs.shared -v 1 "$1" 2>/dev/null' sh "$MNT/b/f7"
check "consistency check with shared pages" \
	sh -c 'echo check > "$1"' sh "$MNT/.zsctl"
cp -a "$WORK/ref/a" "$WORK/ref/b"

# Write into both copies (copy on write): whole pages, partial pages,
# past the end, a truncate and a punch; the same in the reference.
i=0
for f in f1 f5 f7 f12 f20 b/f3copy; do
	for side in a b; do
		i=$((i + 1))
		for d in "$MNT" "$WORK/ref"; do
			printf 'side %s write %d' "$side" "$i" |
				dd of="$d/$side/$f" bs=1 seek=$((i * 1000)) conv=notrunc status=none
			head -c 8192 /dev/zero | tr '\0' "$side" |
				dd of="$d/$side/$f" bs=4096 seek=$((i % 3)) conv=notrunc status=none
		done
	done
done
for d in "$MNT" "$WORK/ref"; do
	truncate -s 5000 "$d/a/f9"
	fallocate -p -o 4096 -l 8192 "$d/b/f11" 2>/dev/null ||
		dd if=/dev/zero of="$d/b/f11" bs=4096 seek=1 count=2 conv=notrunc status=none
done
check "copy a reads what was written to it" diff -r "$WORK/ref/a" "$MNT/a"
check "copy b reads what was written to it" diff -r "$WORK/ref/b" "$MNT/b"
check "consistency check after copy-on-write" \
	sh -c 'echo check > "$1"' sh "$MNT/.zsctl"

# A copy of a copy, then the original goes: the others keep their data.
cp -a "$MNT/b" "$MNT/c"
rm -rf "$MNT/b"
check "a copy survives its source's removal" diff -r "$WORK/ref/b" "$MNT/c"
echo compact >"$MNT/.zsctl"
check "after compaction" diff -r "$WORK/ref/b" "$MNT/c"
check "consistency check after removal and compaction" \
	sh -c 'echo check > "$1"' sh "$MNT/.zsctl"

# Small files (one partial page each): cp -a shares their last pages too
# (the copy runs to the end of both files), then appends and writes into
# either side give that side its own page.
mkdir -p "$WORK/ref/s"
for i in $(seq 200); do
	head -c $(( (i * 151) % 3000 + 200 )) /dev/urandom | base64 -w 0 >"$WORK/ref/s/s$i"
done
cp -a "$WORK/ref/s" "$MNT/s"
sync
mem0=$(ctl_get mem_used_total)
cp -a "$MNT/s" "$MNT/s2"
mem1=$(ctl_get mem_used_total)
check "cp -a of 200 one-page files adds at most 3% to the pool ($mem0 -> $mem1)" \
	[ $((mem1 - mem0)) -le $((mem0 * 3 / 100)) ]
cp -a "$WORK/ref/s" "$WORK/ref/s2"
for d in "$MNT" "$WORK/ref"; do
	for i in 3 50 120; do
		printf 'appended to s%d' "$i" >>"$d/s/s$i"
		printf 'written into the copy' |
			dd of="$d/s2/s$((i + 1))" bs=1 seek=$((i * 7)) conv=notrunc status=none
		truncate -s $((i * 3)) "$d/s2/s$((i + 2))"
		truncate -s 5000 "$d/s/s$((i + 3))"
	done
done
check "small files: the originals read what was written to them" diff -r "$WORK/ref/s" "$MNT/s"
check "small files: the copies read what was written to them" diff -r "$WORK/ref/s2" "$MNT/s2"
check "consistency check after the small files" \
	sh -c 'echo check > "$1"' sh "$MNT/.zsctl"

rm -rf "$MNT/a" "$MNT/c" "$MNT/s" "$MNT/s2"
for _ in $(seq 50); do [ "$(ctl_get pool_pages)" = 0 ] && break; sleep 0.1; done
check_eq "pool holds zero pages" 0 "$(ctl_get pool_pages)"
check_eq "no shared objects left" 0 "$(ctl_get shared_objects)"
check_eq "no saved bytes left" 0 "$(ctl_get shared_saved_bytes)"
umount_clean "share"
done_testing
