#!/bin/bash
# backing_mount.sh - backing= and backing_size= on a real mount: the file
# is created 0600 at mount and removed at unmount, locked against a second
# mount (also after the daemon forks into the background), its map counted in .zsctl (backing_bytes, bd_size_bytes, the
# bd_stat and io_stat lines), a directory gets an unnamed file, and bad
# values are refused before anything is mounted, with a message that
# names them, leaving the user's files alone.  Nothing writes back without
# the writeback command (tests/writeback.sh): bd_count stays 0 while files are written.
. "$TOP_SRCDIR/tests/lib.sh"

MNT2="$WORK/mnt2"
mkdir -p "$MNT2"
EXTRA_MOUNTS="$MNT2"
BD="$WORK/bd"

# refuse OPTS WORD DESC: mounting with OPTS fails, says WORD, mounts nothing
refuse() {
	local out rc
	out=$("$ZSFS" -f "$MNT2" -o "$1" 2>&1)
	rc=$?
	check "$3: refused (exit $rc)" test "$rc" -ne 0
	check "$3: the message says '$2'" grep -q -- "$2" <<<"$out" || diag "got: $out"
	check "$3: nothing mounted" eval '! grep -q " $MNT2 " /proc/mounts'
}

zs_mount -o "size=64m,backing=$BD,backing_size=256m"
check "the backing file exists while mounted" test -f "$BD"
check_eq "it is 0600" 600 "$(stat -c %a "$BD")"
check_eq "its size is backing_size" $((256 << 20)) "$(stat -c %s "$BD")"
check_eq ".zsctl: bd_size_bytes" $((256 << 20)) "$(ctl_get bd_size_bytes)"
map=$(ctl_get backing_bytes)
check "the map is counted: backing_bytes $map >= 256m/512" test "${map:-0}" -ge $(((256 << 20) / 512))
for k in bd_count bd_reads bd_writes failed_reads failed_writes bd_used_bytes bd_full bd_punched; do
	check_eq ".zsctl: $k 0" 0 "$(ctl_get $k)"
done
head -c $((2 << 20)) /dev/urandom >"$WORK/data"
cp "$WORK/data" "$MNT/f"
check "files still work" cmp -s "$WORK/data" "$MNT/f"
check_eq "nothing is written back unasked: bd_count 0" 0 "$(ctl_get bd_count)"
check "check passes with a backing file" sh -c "echo check >'$MNT/.zsctl'"
refuse "backing=$BD,backing_size=256m" "in use by another mount" "a second mount of the same file"
umount_clean "backing"
check "the file the mount created is removed at unmount" test ! -e "$BD"

# in the background (no -f) the daemon forks after opening the file: the
# lock must go with it
MNT3="$WORK/mnt3"
mkdir -p "$MNT3"
EXTRA_MOUNTS="$MNT2 $MNT3"
"$ZSFS" "$MNT3" -o "backing=$BD,backing_size=16m" >"$WORK/bg.log" 2>&1
check "a daemonized mount with a backing file" grep -q " $MNT3 " /proc/mounts
refuse "backing=$BD,backing_size=16m" "in use by another mount" "a second mount while the first runs in the background"
fusermount3 -u "$MNT3"
for _ in $(seq 50); do [ -e "$BD" ] || break; sleep 0.1; done
check "the daemonized mount removes its file when it exits" test ! -e "$BD"

# a directory: an unnamed file, nothing shows in it
mkdir "$WORK/bdir"
zs_mount -o "backing=$WORK/bdir,backing_size=8m"
check_eq "a directory: bd_size_bytes" $((8 << 20)) "$(ctl_get bd_size_bytes)"
check_eq "a directory: nothing is named in it" "" "$(ls -A "$WORK/bdir")"
umount_clean "backing directory"

# without backing=: the lines are there, all 0
zs_mount -o size=64m
check_eq "without backing=: bd_size_bytes 0" 0 "$(ctl_get bd_size_bytes)"
check_eq "without backing=: backing_bytes 0" 0 "$(ctl_get backing_bytes)"
umount_clean "no backing"

echo "my notes" >"$WORK/notes"
chmod 600 "$WORK/notes"
refuse "backing=$WORK/notes,backing_size=8m" "not a zsfs backing file" "a user's file"
check_eq "the user's file is unchanged" "my notes" "$(cat "$WORK/notes")"
refuse "backing=rel/bd,backing_size=8m" "absolute path" "a relative path"
refuse "backing_size=8m" "needs backing=PATH" "backing_size without backing"
refuse "backing=$WORK/new,backing_size=1k" "1m..2t" "backing_size=1k"
refuse "backing=$WORK/new" "needs backing_size" "a new file without backing_size"
check "refused: no file is left behind" test ! -e "$WORK/new"
refuse "size=1m,backing=$WORK/new,backing_size=1t" "more than size=" "a map size= cannot hold"
check "refused for memory: no file is left behind" test ! -e "$WORK/new"
done_testing
