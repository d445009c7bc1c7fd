#!/usr/bin/env bash
# badinput.sh - bad input must be refused cleanly:
#  - every mount option with an invalid value: non-zero exit, a message
#    naming the option, nothing mounted;
#  - garbage written to .zsctl (binary bytes, a 1 MiB line, commands split
#    across write calls, concurrent writers, empty lines): EINVAL (E2BIG for
#    an over-long line, as ctl.h says) where malformed, nothing changes,
#    the daemon lives;
#  - xattr names/values, file names and symlink targets past the limits:
#    the same errno as tmpfs gives for the same call.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
PROBE="$TOP_BUILDDIR/tests/errno_probe"
[ -x "$PROBE" ] || { echo "Bail out! $PROBE not built"; exit 99; }
need_fuse

need_tool timeout setfattr

# --- mount options -------------------------------------------------------
# bad_option OPTION NAME: zsfs -o OPTION must fail, name NAME, not mount.
bad_option() {
	local opt=$1 name=$2 rc out
	out=$(timeout 10 "$ZSFS" -f "$MNT" -o "$opt" 2>&1 </dev/null)
	rc=$?
	if mountpoint -q "$MNT"; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
		check "-o $opt: not mounted" false
	else
		check "-o $opt: not mounted" true
	fi
	check "-o $opt: exit status non-zero and not a timeout (got $rc)" \
		[ "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -lt 128 ]
	check "-o $opt: message names '$name' (${out%%$'\n'*})" \
		grep -qF -- "$name" <<<"$out"
}

bad_option size=abc size
bad_option size=-1 size
bad_option size=10x size
bad_option size= size
bad_option size=99999999999999999999999 size
bad_option nr_inodes=abc nr_inodes
bad_option nr_inodes=-5 nr_inodes
bad_option nr_inodes=1q nr_inodes
bad_option mode=999 mode
bad_option mode=abc mode
bad_option uid=notanumber uid
bad_option uid=-1 uid
bad_option gid=notanumber gid
bad_option compress=gzip compress
bad_option compress=zstd:99 compress
bad_option compress=zstd:abc compress
bad_option compress= compress
bad_option auto_compact=maybe auto_compact
bad_option compact_share=abc compact_share
bad_option compact_share=101 compact_share
bad_option compact_share=-1 compact_share
bad_option compact_share=2.555 compact_share
bad_option compact_share=5% compact_share
bad_option compact_share= compact_share
bad_option compact_share compact_share
bad_option compact_min=abc compact_min
bad_option compact_min=-1 compact_min
bad_option compact_min=1x compact_min
bad_option compact_min=10% compact_min
bad_option compact_min= compact_min
bad_option compact_min=99999999999999999999999 compact_min
bad_option compact_psi=abc compact_psi
bad_option compact_psi=100.5 compact_psi
bad_option compact_psi=10. compact_psi
bad_option compact_psi= compact_psi
bad_option no_such_option no_such_option
bad_option size=64m,bogus=1 bogus

# --- .zsctl garbage ------------------------------------------------------
zs_mount -o size=64m
CTL="$MNT/.zsctl"
limit0=$(ctl_get mem_limit)
diag "mem_limit at start: $limit0"

probe_ctl() { "$PROBE" write "$CTL" "$@"; }

r=$(head -c 2000 /dev/urandom | tr -d '\n' | "$PROBE" write "$CTL")
check_eq "2000 random bytes (one line) -> EINVAL" EINVAL "$r"
r=$(head -c 3000 /dev/urandom | "$PROBE" write "$CTL")
check_eq "3000 random bytes with newlines -> EINVAL" EINVAL "$r"
r=$(printf 'mem_limit 1m\x00garbage\n' | "$PROBE" write "$CTL")
check_eq "NUL byte inside a command -> EINVAL" EINVAL "$r"
r=$(head -c 1048576 /dev/zero | tr '\0' a | "$PROBE" write "$CTL")
check_eq "a 1 MiB line -> E2BIG" E2BIG "$r"
r=$( (head -c 1048576 /dev/zero | tr '\0' a; echo) | "$PROBE" write "$CTL")
check_eq "a 1 MiB line with its newline -> E2BIG" E2BIG "$r"
r=$(probe_ctl 'mem_limit 12345zz\n')
check_eq "mem_limit with a bad value -> EINVAL" EINVAL "$r"
r=$(probe_ctl 'mem_limit\n')
check_eq "mem_limit without a value -> EINVAL" EINVAL "$r"
r=$(probe_ctl 'mem_limit 1m 2m\n')
check_eq "mem_limit with two values -> EINVAL" EINVAL "$r"
r=$(probe_ctl 'mem_limit 99999999999999999999999\n')
check_eq "mem_limit overflowing -> EINVAL" EINVAL "$r"
r=$(probe_ctl 'compactt\n')
check_eq "unknown command -> EINVAL" EINVAL "$r"
r=$(probe_ctl 'mem_li' 'mit 12' '3zz\n')
check_eq "malformed command split over 3 writes -> EINVAL" EINVAL "$r"
check_eq "mem_limit unchanged after the garbage" "$limit0" "$(ctl_get mem_limit)"
r=$(probe_ctl '\n')
check_eq "empty line is accepted and ignored" OK "$r"
r=$(probe_ctl '   \t \n\n')
check_eq "blank lines are accepted and ignored" OK "$r"
check_eq "mem_limit unchanged after empty lines" "$limit0" "$(ctl_get mem_limit)"

# A valid command split across write calls runs once complete.
r=$(probe_ctl 'mem_li' 'mit 3' '2m' '\n')
check_eq "mem_limit 32m split over 4 writes -> OK" OK "$r"
check_eq "mem_limit is now 32 MiB" 33554432 "$(ctl_get mem_limit)"
# A last line without a newline runs at close.
r=$(probe_ctl 'mem_limit 48m')
check_eq "mem_limit 48m without newline -> OK at close" OK "$r"
# (mem_limit shows the pool's effective cap: the smaller of the command's
# value and size= less the metadata charged.  48m is under 64m less the
# metadata, so it is what was asked for: compare with that.)
limit0=$(ctl_get mem_limit)
check_eq "mem_limit is 48 MiB" 50331648 "$limit0"
# Good line then bad line in one write: error, and the bad one changed nothing.
r=$(probe_ctl 'compact\nmem_limit bogus\n')
check_eq "good line then bad line -> EINVAL" EINVAL "$r"
check_eq "mem_limit unchanged" "$limit0" "$(ctl_get mem_limit)"

# The compactor's thresholds: bad values fail and change nothing.
r=$(probe_ctl 'compact_share 3.5\ncompact_min 2m\ncompact_psi 20\n')
check_eq "thresholds set: compact_share 3.5, compact_min 2m, compact_psi 20" OK "$r"
thr0="3.5 2097152 20"
check_eq "thresholds shown" "$thr0" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
for bad in 'compact_share\n' 'compact_share 101\n' 'compact_share -1\n' \
	'compact_share 2.555\n' 'compact_share 5%\n' 'compact_share 5 6\n' \
	'compact_share 0x10\n' 'compact_share 99999999999999999999999\n' \
	'compact_min\n' 'compact_min 12x\n' 'compact_min 10%\n' \
	'compact_min -1\n' 'compact_min 1.5m\n' 'compact_min 16777216t\n' \
	'compact_min 99999999999999999999999\n' 'compact_psi\n' \
	'compact_psi 100.01\n' 'compact_psi abc\n' 'compact_psi 1 2\n' \
	'compact_sharing 5\n' 'compact_share 1\x00\n'; do
	r=$(probe_ctl "$bad")
	check_eq "${bad%\\n} -> EINVAL" EINVAL "$r"
done
r=$(probe_ctl 'compact_share 0\ncompact_min bogus\ncompact_psi 0\n')
check_eq "good line, bad line, good line -> EINVAL" EINVAL "$r"
check_eq "the first ran, the rest did not" "0 2097152 20" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
r=$(probe_ctl 'compact_share 3.5\n')
check_eq "thresholds unchanged by the bad commands" "$thr0" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
check "the daemon logged why" grep -q 'zsfs: .zsctl: compact_min: bad size "bogus"' "$WORK/zsfs.log"

# Concurrent writers: 6 processes of garbage and compactions at once.
for p in 1 2 3 4 5 6; do
	(
		for i in $(seq 24); do
			case $((i % 3)) in
			0) "$PROBE" write "$CTL" 'compact\n' ;;
			1) head -c 700 /dev/urandom | "$PROBE" write "$CTL" ;;
			2) "$PROBE" write "$CTL" "mem_limit ${p}x$i\\n" ;;
			esac
		done >"$WORK/conc.$p"
	) &
	pids="${pids:-} $!"
done
wait $pids	# not a bare wait: the daemon is our child too
check_eq "concurrent writers: every compact OK" 0 \
	"$(cat "$WORK"/conc.* | awk 'NR % 3 == 0 && $0 != "OK"' | wc -l)"
check_eq "concurrent writers: every garbage write EINVAL" 0 \
	"$(cat "$WORK"/conc.* | awk 'NR % 3 != 0 && $0 != "EINVAL"' | wc -l)"
check_eq "mem_limit unchanged after concurrent garbage" "$limit0" "$(ctl_get mem_limit)"
# Short reads of .zsctl closed at once, over and over: the reply must not
# use the handle's text after release freed it (ASan flags it when it does).
for i in $(seq 200); do head -c 100 "$CTL" >/dev/null 2>&1 || break; done
check "200 short reads of .zsctl closed at once: daemon alive" kill -0 "$ZS_PID"
if ! kill -0 "$ZS_PID" 2>/dev/null; then
	# Say why, and carry on with a fresh mount so the rest still runs.
	grep -m1 -A12 -E 'ERROR: AddressSanitizer|runtime error:' "$WORK/zsfs.log" | sed 's/^/#   /'
	fusermount3 -u "$MNT" 2>/dev/null
	ZS_PID=""
	zs_mount -o size=64m
	limit0=$(ctl_get mem_limit)
fi

# The reserved name cannot be removed, replaced, linked or re-created.
touch "$MNT/plain"
check_eq ".zsctl: unlink -> EPERM" EPERM "$("$PROBE" unlink "$CTL")"
check_eq ".zsctl: rename a file over it -> EPERM" EPERM "$("$PROBE" rename "$MNT/plain" "$CTL")"
check_eq ".zsctl: rename it away -> EPERM" EPERM "$("$PROBE" rename "$CTL" "$MNT/moved")"
check_eq ".zsctl: whiteout rename over it -> EPERM" EPERM "$("$PROBE" whiteout "$MNT/plain" "$CTL")"
check_eq ".zsctl: whiteout rename it away -> EPERM" EPERM "$("$PROBE" whiteout "$CTL" "$MNT/moved")"
check_eq ".zsctl: hard link to it -> EPERM" EPERM "$("$PROBE" link "$CTL" "$MNT/hl")"
check_eq ".zsctl: mkdir over it -> EEXIST" EEXIST "$("$PROBE" mkdir "$CTL")"
check_eq ".zsctl: O_CREAT|O_EXCL over it -> EEXIST" EEXIST "$("$PROBE" create "$CTL")"
check_eq ".zsctl: symlink over it -> EEXIST" EEXIST "$("$PROBE" symlink 5 "$CTL")"
rm -f "$MNT/plain"
check "daemon alive after the garbage" kill -0 "$ZS_PID"
check "consistency check passes" sh -c 'echo check > "$1"' sh "$CTL"

# --- limits, compared with tmpfs ----------------------------------------
tmpfs_mount
touch "$MNT/f" "$TMPFS_MNT/f"
# same_errno DESC OP ARGS...: ARGS use %D for the directory under test.
same_errno() {
	local desc=$1 op=$2 zs tm a
	shift 2
	local za=() ta=()
	for a in "$@"; do
		za+=("${a//%D/$MNT}")
		ta+=("${a//%D/$TMPFS_MNT}")
	done
	zs=$("$PROBE" "$op" "${za[@]}")
	tm=$("$PROBE" "$op" "${ta[@]}")
	check_eq "$desc: as tmpfs ($tm)" "$tm" "$zs"
}
# want_errno DESC EXPECTED OP ARGS...: zsfs gives EXPECTED, and so does tmpfs.
want_errno() {
	local desc=$1 want=$2 op=$3 zs tm a
	shift 3
	local za=() ta=()
	for a in "$@"; do
		za+=("${a//%D/$MNT}")
		ta+=("${a//%D/$TMPFS_MNT}")
	done
	zs=$("$PROBE" "$op" "${za[@]}")
	tm=$("$PROBE" "$op" "${ta[@]}")
	check_eq "$desc -> $want" "$want" "$zs"
	[ "$tm" = "$want" ] || diag "note: tmpfs gives $tm for: $desc"
}

want_errno "xattr name of 255 bytes" OK setxattr %D/f "user.@250" 10
want_errno "xattr name of 256 bytes" ERANGE setxattr %D/f "user.@251" 10
want_errno "get xattr name of 256 bytes" ERANGE getxattr %D/f "user.@251" 100
want_errno "remove xattr name of 256 bytes" ERANGE removexattr %D/f "user.@251"
want_errno "xattr value of 64 KiB + 1" E2BIG setxattr %D/f user.big 65537
want_errno "xattr value of 1 MiB" E2BIG setxattr %D/f user.big 1048576
want_errno "xattr value of 64 KiB" OK setxattr %D/f user.max 65536
same_errno "get xattr into a too small buffer" getxattr %D/f "user.@250" 5
same_errno "get xattr size query" getxattr %D/f "user.@250" 0
same_errno "get a missing xattr" getxattr %D/f user.missing 100
same_errno "empty xattr name" setxattr %D/f "" 1
same_errno "xattr in an unknown namespace" setxattr %D/f "bogus.x" 1
same_errno "xattr name 'user.' alone" setxattr %D/f "user." 1

want_errno "create a 255-byte name" OK create "%D/@255"
want_errno "create a 256-byte name" ENAMETOOLONG create "%D/@256"
want_errno "stat a 256-byte name" ENAMETOOLONG stat "%D/@256"
want_errno "mkdir a 256-byte name" ENAMETOOLONG mkdir "%D/d@255"
want_errno "mknod a 256-byte name" ENAMETOOLONG mknod "%D/p@255"
want_errno "symlink at a 256-byte name" ENAMETOOLONG symlink 10 "%D/s@255"
want_errno "rename to a 256-byte name" ENAMETOOLONG rename %D/f "%D/r@255"
want_errno "link to a 256-byte name" ENAMETOOLONG link %D/f "%D/l@255"
want_errno "create a 4000-byte name" ENAMETOOLONG create "%D/@4000"
want_errno "symlink target of 4095 bytes" OK symlink 4095 %D/sl1
same_errno "read back the 4095-byte target" readlink_len %D/sl1
want_errno "symlink target of 4096 bytes" ENAMETOOLONG symlink 4096 %D/sl2
want_errno "symlink target of 8000 bytes" ENAMETOOLONG symlink 8000 %D/sl3
same_errno "empty symlink target" symlink 0 %D/sl4

check "daemon alive at the end" kill -0 "$ZS_PID"
check "consistency check passes at the end" sh -c 'echo check > "$1"' sh "$CTL"
umount_clean "end"
done_testing
