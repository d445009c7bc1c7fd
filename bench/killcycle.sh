#!/usr/bin/env bash
# bench/killcycle.sh [-z ZSFS] [-n CYCLES] [-p PARALLEL] - does a killed
# daemon ever leave a dead mount behind?
#
# PARALLEL loops (default 2) each mount zsfs on a mountpoint of their own,
# write a file, kill -9 the daemon and wait up to 5 s for auto_unmount to
# remove the mount; CYCLES times each (default 20).  stress-ng loads the
# machine meanwhile (CPU, I/O, memory) when it is installed.  Prints one
# line per miss and a total; exits 1 when any mount was left behind (each
# is unmounted by hand so nothing stays).  Needs root and /dev/fuse.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ZSFS=$top/build/src/zsfs
CYCLES=20
PAR=2
while getopts z:n:p: o; do
	case $o in
	z) ZSFS=$OPTARG ;;
	n) CYCLES=$OPTARG ;;
	p) PAR=$OPTARG ;;
	*) echo "usage: $0 [-z ZSFS] [-n CYCLES] [-p PARALLEL]" >&2; exit 2 ;;
	esac
done
W=$(mktemp -d /tmp/zsfs-killcycle.XXXXXX)
STRESS=""
cleanup() {
	[ -n "$STRESS" ] && kill "$STRESS" 2>/dev/null
	for m in "$W"/m*; do
		grep -q " $m " /proc/mounts && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	rm -rf "$W"
}
trap cleanup EXIT

# one loop: cycles on mountpoint $1; prints "miss" lines, then "misses N"
loop() {
	local m=$1 i p ok miss=0 nomount=0
	mkdir -p "$m"
	for i in $(seq "$CYCLES"); do
		"$ZSFS" -f "$m" >"$m.log" 2>&1 &
		p=$!
		for _ in $(seq 200); do
			mountpoint -q "$m" && stat "$m/.zsctl" >/dev/null 2>&1 && break
			sleep 0.05
		done
		if ! grep -q " $m fuse" /proc/mounts; then
			echo "$m cycle $i: zsfs did not mount: $(tail -1 "$m.log")"
			kill -9 "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			nomount=$((nomount + 1))
			continue
		fi
		echo data >"$m/f"
		kill -9 "$p"
		wait "$p" 2>/dev/null
		ok=0
		for _ in $(seq 100); do
			grep -q " $m " /proc/mounts || { ok=1; break; }
			sleep 0.05
		done
		if [ $ok = 0 ]; then
			miss=$((miss + 1))
			echo "$m cycle $i: dead mount left ($(stat "$m" 2>&1 | head -1))"
			fusermount3 -u "$m" 2>/dev/null || umount -l "$m"
		fi
	done
	echo "misses $((miss + nomount))"
}

if command -v stress-ng >/dev/null; then
	stress-ng --cpu 2 --io 1 --vm 1 --vm-bytes 128m --timeout 600s >/dev/null 2>&1 &
	STRESS=$!
fi
pids=()
for k in $(seq "$PAR"); do
	loop "$W/m$k" >"$W/out$k" &
	pids+=($!)
done
wait "${pids[@]}"
total=0
for k in $(seq "$PAR"); do
	grep -v '^misses' "$W/out$k"
	n=$(awk '/^misses/ { print $2 }' "$W/out$k")
	total=$((total + ${n:-$CYCLES}))
done
echo "$((PAR * CYCLES)) kill -9 cycles ($PAR in parallel$([ -n "$STRESS" ] && echo ", under stress-ng")): $total dead mounts left"
[ "$total" -eq 0 ]
