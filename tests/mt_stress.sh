#!/usr/bin/env bash
# mt_stress.sh - tests/mt_stress on a live zsfs mount: 8 threads create,
# rename, link, unlink, append, overwrite and read self-describing files
# in shared directories while a thread writes "compact" to .zsctl again and
# again; then every survivor must verify and the daemon's consistency check
# must pass.  A second, shorter run does the same with dictionaries
# training and settled pages recompressing under it
# (dict=auto,recompress=on,settle_delay=0,settle_cpu=100, dict_retrain
# every half second), and a third with dedup=on and hash keys forced to
# collide (6 bits).  STRESS_SECONDS (default 15) sets the length, STRESS_THREADS
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

# run_mt SECONDS [OPTS]: one mount, one run, its checks.
run_mt() {
	local t=$1 more=${2:-} rt="" out rc
	diag "run for ${t}s with size=512m$more"
	zs_mount -o "size=512m$more"
	if [ -n "$more" ]; then
		( while [ ! -e "$WORK/stop" ]; do
			echo dict_retrain >"$MNT/.zsctl"; sleep 0.5; done ) &
		rt=$!
	fi
	# mt_stress prints its own TAP lines; renumber them into ours.
	out=$("$MT" -t "$threads" -T "$t" -S "$seed" -C "$MNT/.zsctl" "$MNT/")
	rc=$?
	if [ -n "$rt" ]; then
		touch "$WORK/stop"; wait "$rt"; rm -f "$WORK/stop"
		diag "$(grep -E '^(recompress_(done|kept)|dict_(count|pages|trainings)) ' "$MNT/.zsctl" | tr '\n' ' ')"
	fi
	echo "$out" | grep '^#'
	echo "$out" | grep -E '^(not )?ok ' >"$WORK/mt.tap"
	while read -r status rest; do
		if [ "$status" = ok ]; then
			check "mt_stress$more: ${rest#* - }" true
		else
			check "mt_stress$more: ${rest#ok * - }" false
		fi
	done <"$WORK/mt.tap"
	check "mt_stress exit status 0 (got $rc)" [ "$rc" -eq 0 ]
	check "consistency check after the run" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
	[ -n "${ZSFS_DEBUG_DEDUP_BITS:-}" ] &&
		check "index keys collided under the threads (dedup_collisions $(ctl_get dedup_collisions))" \
			[ "$(ctl_get dedup_collisions)" -gt 0 ]
	check "daemon still serves the mount" test -s "$MNT/d0/slot0"
	check "rm -rf of everything" rm -rf "$MNT"/d0 "$MNT"/d1 "$MNT"/d2 "$MNT"/d3
	check "consistency check after rm -rf" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
	umount_clean "end$more"
}
run_mt "$secs"
run_mt $(( secs / 3 > 3 ? secs / 3 : 3 )) ,dict=auto,recompress=on,settle_delay=0,settle_cpu=100
# dedup=on with the index cut to 6 bits (ZSFS_DEBUG_DEDUP_BITS): every
# stored page meets other pages under its key, so the threads' finds,
# adds and removals share buckets and compare bytes all the time, while
# copies are shared and rewritten on both sides.
ZSFS_DEBUG_DEDUP_BITS=6 run_mt $(( secs / 3 > 3 ? secs / 3 : 3 )) ,dedup=on
done_testing
