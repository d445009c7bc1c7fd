#!/bin/bash
# fs_tree.sh - real trees: cp -a /usr/include and /usr/lib/gcc into the
# mount, diff -r against the originals (contents, and with ls -l the
# metadata cp -a keeps), rm -rf, and then the pool holds no pages and
# only the root and .zsctl are left.
. "$TOP_SRCDIR/tests/lib.sh"
[ -d /usr/include ] || skip_all "/usr/include is missing"
zs_mount -o size=2g
meta0=$(ctl_get meta_bytes)

for src in /usr/include /usr/lib/gcc; do
	[ -d "$src" ] || continue
	name=$(basename "$src")
	t0=$(date +%s.%N)
	cp -a "$src" "$MNT/$name"
	rc=$?
	t1=$(date +%s.%N)
	diag "cp -a $src: $(du -sh "$src" | cut -f1) in $(echo "$t1 - $t0" | bc 2>/dev/null || echo ?)s"
	check "cp -a $src" [ $rc -eq 0 ]
	check "diff -r $src" diff -r --no-dereference "$src" "$MNT/$name"
	# Directory sizes are each filesystem's own: compare them as 0.
	meta() { (cd "$1" && find . -printf '%M %u %g %s %T@ %l %p\n' |
		awk '$1 ~ /^d/ { $4 = 0 } { print }' | sort); }
	meta "$src" >"$WORK/src.meta"
	meta "$MNT/$name" >"$WORK/dst.meta"
	check "modes, owners, sizes, mtimes, link targets kept ($src)" \
		cmp -s "$WORK/src.meta" "$WORK/dst.meta"
done
diag "$(grep -E '^(orig_data_size|compr_data_size|pool_pages|inodes) ' "$MNT/.zsctl" | tr '\n' ' ')"
check "statfs shows the memory in use" [ "$(df --output=used -B1 "$MNT" | tail -1)" -gt 1000000 ]
check "rm -rf everything" rm -rf "$MNT/include" "$MNT/gcc"
check_eq "root is empty" "" "$(ls -A "$MNT")"
# Freed zspages may go back a moment later (the allocator defers it).
for _ in $(seq 50); do [ "$(ctl_get pool_pages)" = 0 ] && break; sleep 0.1; done
check_eq "pool holds zero pages" 0 "$(ctl_get pool_pages)"
check_eq "pages_stored is zero" 0 "$(ctl_get pages_stored)"
check_eq "inodes: root and .zsctl" 2 "$(ctl_get inodes)"
check_eq "meta_bytes back to its start value" "$meta0" "$(ctl_get meta_bytes)"
check "consistency check" sh -c 'echo check > "$1"' sh "$MNT/.zsctl"
check "clean unmount" zs_umount
done_testing
