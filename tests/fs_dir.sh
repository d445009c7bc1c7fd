#!/bin/bash
# fs_dir.sh - a directory of 100k entries (create, O(1) lookups, one
# listing with every name exactly once), readdir stability while other
# names are created and removed, telldir/seekdir, and a storm of
# concurrent namespace operations followed by the daemon's consistency
# check.
. "$TOP_SRCDIR/tests/lib.sh"
DS="$TOP_BUILDDIR/tests/fs_dirstress"
[ -x "$DS" ] || { echo "Bail out! $DS not built"; exit 99; }
N=${ZSFS_BIGDIR_N:-100000}
zs_mount -o size=512m
mkdir "$MNT/big" "$MNT/small"

out=$("$DS" "$MNT/big" create "$N"); rc=$?; diag "$out"
check "create $N files" [ $rc -eq 0 ]
out=$("$DS" "$MNT/big" lookup "$N"); rc=$?; diag "$out"
check "look up names spread over $N (and missing names)" [ $rc -eq 0 ]
out=$("$DS" "$MNT/big" list "$N"); rc=$?; diag "$out"
check "readdir lists each of $N exactly once" [ $rc -eq 0 ]
check_eq "ls counts $N" "$N" "$(ls -U "$MNT/big" | wc -l)"
check_eq "directory nlink is 2" 2 "$(stat -c %h "$MNT/big")"

"$DS" "$MNT/small" create 2000 >/dev/null
out=$("$DS" "$MNT/small" churn 2000 3); rc=$?; diag "$out"
check "listings stable while names come and go" [ $rc -eq 0 ]
mkdir "$MNT/seek"
"$DS" "$MNT/seek" create 100 >/dev/null
out=$("$DS" "$MNT/seek" seek); rc=$?; diag "$out"
check "telldir/seekdir replay" [ $rc -eq 0 ]

mkdir "$MNT/storm"
out=$("$DS" "$MNT/storm" storm 4 3); rc=$?; diag "$(tr '\n' ' ' <<<"$out")"
check "namespace storm: 4 processes, no crash" [ $rc -eq 0 ]
check "consistency check after the storm (link counts, entries, pool)" \
	sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
check "storm tree removable" rm -rf "$MNT/storm"

# rm -rf of a big tree is fs_tree.sh's; here the unmount frees it all.
rm -rf "$MNT/small" "$MNT/seek"
check_eq "only big/ left after rm -rf" "big" "$(ls -A "$MNT")"
check "clean unmount" zs_umount
done_testing
