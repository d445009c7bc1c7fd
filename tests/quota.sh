#!/bin/bash
# quota.sh - tmpfs's per-user and per-group limits (usrquota, grpquota,
# *_hardlimit): a uid at its byte limit gets EDQUOT, as on tmpfs, while
# another uid keeps writing; the inode limit gives EDQUOT too; chown and
# chgrp move the usage; deleting gives it back; bad values are refused.
# The usage is read from the user.zsfs.quota xattr.
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (files of other uids)"
need_tool setpriv
need_tool getfattr
chmod 755 "$WORK" # the other uids reach $MNT through it

A=65534 B=65533
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
stored() { getfattr --only-values -n user.zsfs.stored "$1" 2>/dev/null; }
# usage user|group FILE FIELD: one figure of user.zsfs.quota on FILE
usage() {
	getfattr --only-values -n user.zsfs.quota "$2" 2>/dev/null |
		awk -v kind="$1" -v f="$3" '$1 == kind { for (i = 3; i <= NF; i += 2) if ($i == f) { print $(i + 1); exit } }'
}

zs_mount -o size=256m,usrquota_block_hardlimit=1m,usrquota_inode_hardlimit=4,grpquota
head -c $((4 << 20)) /dev/urandom >"$WORK/rand"

out=$(as $A dd if="$WORK/rand" of="$MNT/a1" bs=64k 2>&1)
check "uid $A: writing past its 1 MiB limit fails with EDQUOT" grep -q "Disk quota exceeded" <<<"$out"
size=$(stat -c %s "$MNT/a1")
diag "uid $A stored $size bytes of $((4 << 20)) before EDQUOT"
check "uid $A: stopped near the limit ($size bytes)" test "$size" -ge $((1 << 20)) -a "$size" -le $((2 << 20))
used=$(usage user "$MNT/a1" bytes)
check_eq "uid $A: user.zsfs.quota limit" 1048576 "$(usage user "$MNT/a1" limit)"
check "uid $A: usage at the limit ($used bytes)" test "$used" -ge $((1 << 20))
check_eq "uid $A: usage is the file's stored bytes" \
	"$(stored "$MNT/a1")" "$used"
check_eq "gid $A: counted too (grpquota)" "$used" "$(usage group "$MNT/a1" bytes)"
out=$(as $A sh -c "printf x >>'$MNT/a1'" 2>&1)
check "uid $A: a small append at the limit fails too" test -n "$out"
check "uid $B: keeps writing" as $B dd if="$WORK/rand" of="$MNT/b1" bs=64k count=8 status=none
check "uid $B: 512 KiB stored" cmp -s <(head -c $((512 << 10)) "$WORK/rand") "$MNT/b1"
check "root: not held to the limit (CAP_SYS_RESOURCE on tmpfs)" \
	dd if="$WORK/rand" of="$MNT/a1" bs=64k count=1 oflag=append conv=notrunc status=none

# The inode limit: a1 is one of 4.
check "uid $A: inodes 2..4" as $A touch "$MNT/a2" "$MNT/a3" "$MNT/a4"
check_eq "uid $A: 4 inodes counted" 4 "$(usage user "$MNT/a2" inodes)"
out=$(as $A mkdir "$MNT/a5" 2>&1)
check "uid $A: a fifth inode fails with EDQUOT" grep -q "Disk quota exceeded" <<<"$out"
check "uid $B: still creates" as $B touch "$MNT/b2"

# chown moves the usage, bytes and inode, to the new owner.
before_b=$(usage user "$MNT/b1" bytes)
moved=$(usage user "$MNT/a1" bytes)
check "chown a1 to uid $B" chown $B "$MNT/a1"
check_eq "uid $A: nothing left after chown" 0 "$(usage user "$MNT/a2" bytes)"
check_eq "uid $A: 3 inodes after chown" 3 "$(usage user "$MNT/a2" inodes)"
check_eq "uid $B: got a1's bytes" $((before_b + moved)) "$(usage user "$MNT/b1" bytes)"
check "uid $A: writes again after chown" as $A dd if="$WORK/rand" of="$MNT/a2" bs=64k count=2 status=none
check "chgrp a2 to gid $B" chgrp $B "$MNT/a2"
check_eq "gid $B: counts a2's bytes after chgrp" \
	"$(( $(stored "$MNT/a2") + $(stored "$MNT/b1") + $(stored "$MNT/b2") ))" \
	"$(usage group "$MNT/b1" bytes)"
check "rm a1" rm "$MNT/a1"
check_eq "uid $B: a1's bytes gone with it" "$before_b" "$(usage user "$MNT/b1" bytes)"
check "user.zsfs.quota is read-only" eval '! setfattr -n user.zsfs.quota -v 1 "$MNT/b1" 2>/dev/null'
check "daemon still alive" kill -0 "$ZS_PID"
echo check >"$MNT/.zsctl"
check "consistency check" test $? = 0
umount_clean "quota"

zs_mount -o size=64m
check "no quota: user.zsfs.quota has no data" eval '! getfattr -n user.zsfs.quota "$MNT" 2>/dev/null'
umount_clean "no quota"

for bad in usrquota_block_hardlimit=0 usrquota_block_hardlimit=1x \
	   grpquota_inode_hardlimit= usrquota=1 noswap=1 \
	   grpquota_block_hardlimit=9223372036854775808; do
	out=$("$ZSFS" -f "$MNT" -o "$bad" 2>&1)
	rc=$?
	check "refused: $bad (exit $rc)" test "$rc" = 1
	check "message names it: $bad" grep -q "${bad%%=*}" <<<"$out"
done
check "nothing mounted" eval '! mountpoint -q "$MNT"'
done_testing
