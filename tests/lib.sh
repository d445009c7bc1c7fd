# tests/lib.sh - shared helpers for the mounted tests (sourced, not run).
#
# Every mounted test gets its own temporary directory and mountpoint and
# unmounts it on exit, also when it fails or is interrupted.  Output is TAP.
#
#   . "$TOP_SRCDIR/tests/lib.sh"
#   zs_mount [-o OPTS]        mounts $ZSFS on $MNT (fresh tmp dir)
#   tmpfs_mount               mounts a tmpfs on $TMPFS_MNT for comparison
#   smaps_bytes PID FIELD     a field of /proc/PID/smaps_rollup, in bytes
#   ok COND_CMD... -- "desc"  via: check "desc" cmd args...
#   done_testing

set -u
: "${ZSFS:=$(pwd)/src/zsfs}"
: "${TOP_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

T_N=0
T_FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zsfs-test.XXXXXX")
MNT="$WORK/mnt"
TMPFS_MNT="$WORK/tmpfs"
ZS_PID=""
mkdir -p "$MNT" "$TMPFS_MNT"

# A skip under automake's TAP driver is the plan "1..0 # SKIP reason" with
# exit status 0 (the driver counts any other status, 77 included, as ERROR).
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

need_fuse() {
	[ -c /dev/fuse ] || skip_all "/dev/fuse is missing"
	[ -x "$ZSFS" ] || { echo "Bail out! zsfs binary not found at $ZSFS"; exit 99; }
	command -v fusermount3 >/dev/null || skip_all "fusermount3 is missing (apt-get install fuse3)"
}

need_tool() {
	for t in "$@"; do
		command -v "$t" >/dev/null || skip_all "$t is missing"
	done
}

zs_cleanup() {
	local m
	for m in "$MNT" "$TMPFS_MNT" ${EXTRA_MOUNTS:-}; do
		# /proc/mounts, not mountpoint(1): a dead FUSE mount answers
		# ENOTCONN, and mountpoint then says it is not one.
		if grep -q " $m " /proc/mounts; then
			fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	if [ -n "$ZS_PID" ]; then
		# Give the daemon a moment to exit after the unmount.
		for _ in $(seq 50); do kill -0 "$ZS_PID" 2>/dev/null || break; sleep 0.1; done
		kill "$ZS_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap zs_cleanup EXIT
trap 'exit 130' INT TERM

# zs_mount [extra zsfs args...]: mount a fresh zsfs on $MNT in the foreground
# mode, in the background, and wait until the mount is live.
zs_mount() {
	need_fuse
	zs_mount_try "$@" && return 0
	echo "Bail out! zsfs did not mount: $(cat "$WORK/zsfs.log")"
	exit 99
}

# zs_mount_try [extra zsfs args...]: zs_mount, but a failure is the
# caller's to judge: return 1 (the daemon reaped, its output in
# $WORK/zsfs.log).
zs_mount_try() {
	"$ZSFS" -f "$MNT" "$@" >"$WORK/zsfs.log" 2>&1 &
	ZS_PID=$!
	for _ in $(seq 100); do
		# Mounted, and the daemon answers: it has its /dev/fuse fd (a
		# daemon killed before that leaves fusermount3's auto_unmount
		# helper nobody to watch).
		mountpoint -q "$MNT" && stat "$MNT/.zsctl" >/dev/null 2>&1 && return 0
		kill -0 "$ZS_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$ZS_PID" 2>/dev/null
	ZS_PID=""
	return 1
}

# zs_umount: unmount $MNT and wait for the daemon; its exit status.  Another
# process passing through the mount (a walk of /tmp on a shared machine)
# makes the unmount fail with EBUSY for a moment: retry for up to 5 s, and
# if the mount stays, fail rather than wait for a daemon that will not
# exit (the EXIT trap then unmounts lazily and kills it).
zs_umount() {
	local rc=0 i
	for i in $(seq 10); do
		fusermount3 -u "$MNT" 2>"$WORK/umount.err" && break
		grep -q " $MNT " /proc/mounts || break
		sleep 0.5
	done
	if grep -q " $MNT " /proc/mounts; then
		echo "# zs_umount: $MNT still mounted: $(cat "$WORK/umount.err")"
		return 1
	fi
	[ "$i" = 1 ] || echo "# zs_umount: unmounted at try $i: $(cat "$WORK/umount.err")"
	if [ -n "$ZS_PID" ]; then
		wait "$ZS_PID"; rc=$?
		ZS_PID=""
	fi
	return $rc
}

# umount_clean LABEL: unmount, the daemon exits 0, and its log holds no
# sanitizer report (ASan/UBSan/LSan/TSan builds).
umount_clean() {
	check "$1: daemon exits cleanly (status 0)" zs_umount
	if grep -qE 'ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/zsfs.log"; then
		check "$1: no sanitizer report in the daemon log" false
		grep -m1 -A25 -E 'WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/zsfs.log" | sed 's/^/#   /'
	else
		check "$1: no sanitizer report in the daemon log" true
	fi
}

tmpfs_mount() {
	mount -t tmpfs -o size=1g tmpfs "$TMPFS_MNT" || skip_all "cannot mount tmpfs (not root?)"
}

# check "description" command args...: one TAP line from a command's status.
check() {
	local desc=$1; shift
	T_N=$((T_N + 1))
	if "$@"; then
		echo "ok $T_N - $desc"
	else
		echo "not ok $T_N - $desc"
		T_FAILED=$((T_FAILED + 1))
	fi
}

# check_eq "description" expected actual
check_eq() {
	T_N=$((T_N + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $T_N - $1"
	else
		echo "not ok $T_N - $1"
		echo "#   expected: $2"
		echo "#   got:      $3"
		T_FAILED=$((T_FAILED + 1))
	fi
}

diag() { echo "# $*"; }

# smaps_bytes PID FIELD: FIELD (Rss, Anonymous, ...) of /proc/PID/smaps_rollup
# in bytes; fails, printing nothing, when the file or the field is absent.
# The multiplication is the shell's: mawk prints products past 2^31 as
# floats.  Shared by the mounted tests and bench/churn.sh.
smaps_bytes() {
	local kb
	kb=$(awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null)
	[ -n "$kb" ] || return 1
	echo $((kb * 1024))
}

# ctl_get NAME: one value from the mount's .zsctl.
ctl_get() { awk -v k="$1" '$1 == k { print $2; exit }' "$MNT/.zsctl"; }

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}
