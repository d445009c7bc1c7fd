#!/usr/bin/env bash
# stressng.sh - stress-ng's file-system stressors on a zsfs mount, one at a
# time for STRESSNG_SECONDS each (default 3, xattr 3x; ~60 s in all), with --verify:
# every stressor must run with zero failures, the daemon must live and the
# mount keep working.  A stressor stress-ng skips because the file system
# lacks the feature (fiemap: FUSE has no FIEMAP) is reported as such, and
# the missing call is checked to fail cleanly with EOPNOTSUPP, not skipped
# silently.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
PROBE="$TOP_BUILDDIR/tests/errno_probe"
[ -x "$PROBE" ] || { echo "Bail out! $PROBE not built"; exit 99; }
need_fuse

need_tool stress-ng

secs=${STRESSNG_SECONDS:-3}
zs_mount -o size=1g
mkdir "$MNT/sng"

# stressor NAME [extra stress-ng args]
stressor() {
	local name=$1 rc out
	shift
	if ! grep -qw -- "$name" <<<"$AVAILABLE"; then
		diag "stress-ng $(stress-ng --version | awk '{print $3}') has no --$name stressor: not run"
		return 0
	fi
	out=$(stress-ng --temp-path "$MNT/sng" --"$name" 1 "$@" --timeout "${T:-$secs}s" \
		--metrics-brief --verify 2>&1)
	rc=$?
	echo "$out" | grep -E "^stress-ng: (metrc|fail|error|info).*($name |skipping|fail|error|successful)" |
		sed 's/^/# /' | head -8
	if grep -q "skipping stressor" <<<"$out"; then
		diag "$name: stress-ng skipped it: $(grep -o 'skipping stressor.*\|[^:]*not supported[^,]*' <<<"$out" | head -1)"
		SKIPPED="$SKIPPED $name"
	else
		# A stressor that completed no operation proved nothing.
		ops=$(awk -v n="$name" '$2 == "metrc:" && $4 == n && $5 ~ /^[0-9]+$/ { print $5; exit }' <<<"$out")
		check "stress-ng --$name: completed some operations (${ops:-none})" \
			[ "${ops:-0}" -gt 0 ]
	fi
	check "stress-ng --$name: exit status 0 (got $rc)" [ "$rc" -eq 0 ]
	check "stress-ng --$name: no failures reported" \
		eval '! grep -qiE "fail(ed|ure)|error:|corrupt|verif.*mismatch" <<<"$out"'
	check "stress-ng --$name: daemon alive" kill -0 "$ZS_PID"
}

SKIPPED=""
AVAILABLE=$(stress-ng --stressors)
stressor dir --dir-dirs 1024
stressor dentry --dentries 1024
stressor link
stressor symlink
stressor rename
# One xattr bogo op is ~8000 xattr calls: ~4 s through FUSE (1.3 s on tmpfs).
T=$((secs * 3)) stressor xattr
stressor hdd --hdd-bytes 32m --hdd-write-size 16k
stressor fallocate --fallocate-bytes 32m
stressor sparsefile   # newer stress-ng only; fpunch covers sparse files
stressor fpunch
stressor copy-file --copy-file-bytes 128m
stressor filename
stressor seek --seek-size 16m
stressor mmap --mmap-file --mmap-bytes 16m
stressor lockf
stressor flock
stressor fiemap --fiemap-bytes 16m

# Whatever stress-ng skipped must be a feature the FS really lacks, and the
# call must fail cleanly.
for s in $SKIPPED; do
	case $s in
	fiemap)
		head -c 100000 /dev/urandom >"$MNT/fm"
		r=$("$PROBE" fiemap "$MNT/fm")
		diag "fiemap is not supported by zsfs (FUSE has no FIEMAP): FS_IOC_FIEMAP gives $r"
		check "fiemap: unsupported, fails cleanly with EOPNOTSUPP" \
			[ "$r" = EOPNOTSUPP -o "$r" = ENOTTY ]
		;;
	*)
		check "stress-ng --$s was skipped: not expected on zsfs" false
		;;
	esac
done

check "mount still works: write and read back" \
	sh -c 'echo alive > "$1/after" && [ "$(cat "$1/after")" = alive ]' sh "$MNT"
check_eq "stress-ng left nothing behind" "" "$(ls -A "$MNT/sng")"
check "consistency check after the stressors" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "end"
done_testing
