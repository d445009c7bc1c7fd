#!/usr/bin/env bash
# soak.sh - the long mode of the reliability suite; not part of make check.
# Run it by hand from the build directory, or with `make soak`:
#   SOAK_MINUTES      fsx minutes in all (default 20): runs of FSX_RUN
#                     seconds (default 120), each on a fresh mount, cycling
#                     lz4 / zstd / zstd:9 / none, a new random seed each,
#                     compaction forced every 300 ops, 1..8 files, bigger
#                     files every other run
#   SOAK_MT_MINUTES   mt_stress minutes (default 5), 16 threads
# Every seed is printed; a failing fsx run prints how to rerun it alone.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
FSX="$TOP_BUILDDIR/tests/fsx"
MT="$TOP_BUILDDIR/tests/mt_stress"
[ -x "$FSX" ] && [ -x "$MT" ] || { echo "Bail out! build tests/fsx and tests/mt_stress first (make check or make soak)"; exit 99; }
need_fuse

fsx_total=$(( ${SOAK_MINUTES:-20} * 60 ))
run=${FSX_RUN:-120}
codecs=(lz4 zstd zstd:9 none)
start=$(date +%s)
i=0
while [ $(( $(date +%s) - start )) -lt "$fsx_total" ]; do
	codec=${codecs[$((i % ${#codecs[@]}))]}
	seed=$(( (RANDOM << 15 | RANDOM) ))
	nf=$(( 1 + i % 8 ))
	maxlen=$(( i % 2 ? 4194304 : 262144 ))
	diag "soak fsx run $i: compress=$codec seed $seed files $nf max_len $maxlen ${run}s"
	zs_mount -o "size=1g,compress=$codec"
	check "soak fsx run $i (compress=$codec seed $seed)" \
		"$FSX" -S "$seed" -N 0 -T "$run" -f "$nf" -l "$maxlen" -C "$MNT/.zsctl" -c 300 -U "$MNT"
	failed=$T_FAILED
	check "soak fsx run $i: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
	check "soak fsx run $i: clean exit" zs_umount
	i=$((i + 1))
	if [ "$failed" -ne 0 ]; then
		diag "rerun: $FSX -S $seed -N 0 -T $run -f $nf -l $maxlen -C MNT/.zsctl -c 300 -U MNT (on a compress=$codec mount)"
		diag "stopping the fsx runs at the first failure"
		break
	fi
done

mt_secs=$(( ${SOAK_MT_MINUTES:-5} * 60 ))
seed=$(( (RANDOM << 15 | RANDOM) ))
zs_mount -o size=2g
out=$("$MT" -t 16 -T "$mt_secs" -S "$seed" -C "$MNT/.zsctl" "$MNT/")
rc=$?
echo "$out" | grep '^#'
check "soak mt_stress 16 threads ${mt_secs}s seed $seed" [ "$rc" -eq 0 ]
check "soak mt_stress: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
check "soak mt_stress: clean exit" zs_umount
diag "soak: $i fsx runs, $(( ($(date +%s) - start) / 60 )) minutes in all"
done_testing
