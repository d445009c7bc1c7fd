#!/usr/bin/env bash
# fsx.sh - the model exerciser (tests/fsx) on a live zsfs mount: a
# time-bounded run with lz4 and compaction forced every 300 operations,
# then shorter runs with zstd and with no compression, with dedup=on
# (also with hash keys forced to collide), then with
# dictionaries training and settled pages recompressing under it (lz4 and
# zstd, dict=auto,recompress=on,settle_delay=0,settle_cpu=100, a retrain
# asked for every half second), then with a backing file and every page
# marked idle and written back every 0.3 s (idle all, writeback
# type=idle), then three at once on one mount; after
# each run the daemon's consistency check must pass.
# Seeds are random and printed; FSX_SEED=N reproduces a run, FSX_SECONDS
# scales the lz4 run (default 15; the others get a third of it).
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
FSX="$TOP_BUILDDIR/tests/fsx"
[ -x "$FSX" ] || { echo "Bail out! $FSX not built"; exit 99; }
need_fuse

secs=${FSX_SECONDS:-15}
short=$(( secs / 3 > 2 ? secs / 3 : 2 ))

# run_fsx CODEC SECONDS FILES [OPTS]: one mount, one fsx run, one check.
# With OPTS (more mount options), dict_retrain is sent every 0.5 s and
# the files grow to 2 MiB (enough pages to train a dictionary from).
# With CMDS (lines for .zsctl) those are sent every 0.3 s instead.
run_fsx() {
	local codec=$1 t=$2 nf=$3 more=${4:-} cmds=${5:-} seed rt="" len=262144
	seed=${FSX_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
	diag "compress=$codec$more: fsx seed $seed for ${t}s on $nf files (FSX_SEED=$seed to reproduce)"
	zs_mount -o "size=256m,compress=$codec$more"
	if [ -n "$cmds" ]; then
		( while [ ! -e "$WORK/stop" ]; do
			printf '%b' "$cmds" >"$MNT/.zsctl"; sleep 0.3; done ) &
		rt=$!
	elif [ -n "$more" ]; then
		len=2097152
		( while [ ! -e "$WORK/stop" ]; do
			echo dict_retrain >"$MNT/.zsctl"; sleep 0.5; done ) &
		rt=$!
	fi
	check "fsx compress=$codec$more seed $seed" \
		"$FSX" -S "$seed" -N 0 -T "$t" -f "$nf" -l "$len" -C "$MNT/.zsctl" -c 300 -U "$MNT"
	if [ -n "$rt" ]; then
		touch "$WORK/stop"; wait "$rt"; rm -f "$WORK/stop"
		diag "$(grep -E '^(recompress_(done|kept)|dict_(count|pages|trainings)) ' "$MNT/.zsctl" | tr '\n' ' ')"
	fi
	check "consistency check after fsx (compress=$codec)" \
		sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
	diag "$(grep -E '^(orig_data_size|compr_data_size|mem_used_total|pages_compacted|same_pages|huge_pages|shared_since|dedup_hits|dedup_collisions) ' "$MNT/.zsctl" | tr '\n' ' ')"
	[ -n "$cmds" ] &&
		check "pages were written back under fsx (bd_writes $(ctl_get bd_writes), bd_reads $(ctl_get bd_reads))" \
			[ "$(ctl_get bd_writes)" -gt 0 ]
	[ -n "${ZSFS_DEBUG_DEDUP_BITS:-}" ] &&
		check "index keys collided under fsx (dedup_collisions $(ctl_get dedup_collisions))" \
			[ "$(ctl_get dedup_collisions)" -gt 0 ]
	[ "$codec" = lz4 ] &&
		check "fsx's copies shared pages (shared_since $(ctl_get shared_since))" \
			[ "$(ctl_get shared_since)" -gt 0 ]
	umount_clean "compress=$codec$more"
}

run_fsx lz4 "$secs" 3
run_fsx zstd "$short" 2
run_fsx none "$short" 2
run_fsx lz4 "$short" 3 ,dedup=on
# The same with the index cut to 6 bits (ZSFS_DEBUG_DEDUP_BITS): keys
# collide all the time, and the model still must read back every byte.
ZSFS_DEBUG_DEDUP_BITS=6 run_fsx lz4 "$short" 3 ,dedup=on
bg=,dict=auto,recompress=on,settle_delay=0,settle_cpu=100
run_fsx lz4 "$short" 2 "$bg"
run_fsx zstd "$short" 2 "$bg"
# Pages written back all the time: reads, overwrites, truncates, punches
# and copies of pages in the backing file, checked against the model.
run_fsx lz4 "$short" 3 ",backing=$WORK/bd,backing_size=256m" 'idle all\nwriteback type=idle\n'

# Three fsx processes at once in their own directories of one mount, each
# forcing a compaction every 50 ops: the page store and the compactor
# under concurrent files.
zs_mount -o size=256m
pids=""
for d in a b c; do
	seed=${FSX_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
	diag "parallel fsx in $d: seed $seed for ${short}s"
	mkdir "$MNT/$d"
	"$FSX" -S "$seed" -N 0 -T "$short" -f 2 -C "$MNT/.zsctl" -c 50 -U "$MNT/$d" >"$WORK/fsx.$d" 2>&1 &
	pids="$pids $!"
done
rcs=""
for pid in $pids; do	# not a bare wait: the daemon is our child too
	wait "$pid"; rcs="$rcs $?"
done
cat "$WORK"/fsx.[abc] | grep -v '^#   [0-9]' | head -40
check "three parallel fsx runs pass (exit statuses:$rcs)" [ "$(echo $rcs)" = "0 0 0" ]
check "consistency check after the parallel runs" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "parallel"
done_testing
