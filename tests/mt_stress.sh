#!/usr/bin/env bash
# mt_stress.sh - tests/mt_stress on a live zsfs mount: 8 threads create,
# rename, link, unlink, append, overwrite and read self-describing files
# in shared directories while a thread writes "compact" to .zsctl again and
# again; then every survivor must verify and the daemon's consistency check
# must pass.  STRESS_SECONDS (default 15) sets the length, STRESS_THREADS
# the threads, STRESS_SEED the seed.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
MT="$TOP_BUILDDIR/tests/mt_stress"
[ -x "$MT" ] || { echo "Bail out! $MT not built"; exit 99; }
need_fuse

secs=${STRESS_SECONDS:-15}
threads=${STRESS_THREADS:-8}
seed=${STRESS_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
diag "mt_stress: $threads threads, ${secs}s, seed $seed (STRESS_SEED=$seed to reproduce the start)"

zs_mount -o size=512m
# mt_stress prints its own TAP lines; renumber them into ours.
out=$("$MT" -t "$threads" -T "$secs" -S "$seed" -C "$MNT/.zsctl" "$MNT/")
rc=$?
echo "$out" | grep '^#'
echo "$out" | grep -E '^(not )?ok ' >"$WORK/mt.tap"
while read -r status rest; do
	if [ "$status" = ok ]; then
		check "mt_stress: ${rest#* - }" true
	else
		check "mt_stress: ${rest#ok * - }" false
	fi
done <"$WORK/mt.tap"
check "mt_stress exit status 0 (got $rc)" [ "$rc" -eq 0 ]
check "consistency check after the run" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
check "daemon still serves the mount" test -s "$MNT/d0/slot0"
check "rm -rf of everything" rm -rf "$MNT"/d0 "$MNT"/d1 "$MNT"/d2 "$MNT"/d3
check "consistency check after rm -rf" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "end"
done_testing
