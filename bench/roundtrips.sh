#!/bin/bash
# bench/roundtrips.sh - small-file workloads side by side, with the FUSE
# requests per file of each zsfs daemon given:
#
#   bench/roundtrips.sh [--runs N] [--zsfs LABEL=PATH]... [--opts LABEL=OPTS]...
#   bench/roundtrips.sh --uring [--runs N]
#
# Targets: tmpfs, ext4 on a fresh zram device (lz4), and each zsfs daemon
# (default: this build's src/zsfs).  Workloads, each on a fresh mount,
# median of N runs (default 3), interleaved by run:
#   untar   tar -C MNT -xf include.tar (/usr/include, made once), sync -f
#   cp      cp -a /usr/include MNT/, sync -f
# --opts adds mount options to one zsfs target.  --uring compares this
# build's zsfs on /dev/fuse (zsfs-devfuse: io_uring=off) and on FUSE over
# io_uring (zsfs-uring: io_uring=on), with the fuse module's enable_uring
# set to Y for the run and put back on exit.
# For zsfs, the req_* counters of .zsctl before and after give requests
# per regular file and the opcodes that make them up (last run), and the
# daemon's CPU time per file (/proc/PID/stat, median).
# Every mount and the zram device are released on exit, also on error or
# interrupt.  Needs root.  Not part of make check (timing).
set -u
export LC_ALL=C
SELF=$(cd "$(dirname "$0")" && pwd)
RUNS=3
# the zsfs binary of the default targets: $ZSFS, else this tree's src/zsfs
ZSFS_BIN=${ZSFS:-$SELF/../src/zsfs}
ZSFS_LIST=()
URING=0
declare -A OPTS
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--zsfs) ZSFS_LIST+=("$2"); shift ;;
	--opts) OPTS[${2%%=*}]=${2#*=}; shift ;;
	--uring) URING=1 ;;
	*) echo "usage: $0 [--runs N] [--zsfs LABEL=PATH]... [--opts LABEL=OPTS]... [--uring]" >&2; exit 2 ;;
	esac
	shift
done
if [ $URING = 1 ]; then
	ZSFS_LIST+=("zsfs-devfuse=$ZSFS_BIN" "zsfs-uring=$ZSFS_BIN")
	OPTS[zsfs-devfuse]=io_uring=off
	OPTS[zsfs-uring]=io_uring=on
fi
[ ${#ZSFS_LIST[@]} -gt 0 ] || ZSFS_LIST=("zsfs=$ZSFS_BIN")
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_OLD=""
if [ $URING = 1 ]; then
	[ -w $URING_PARAM ] || { echo "this kernel has no FUSE over io_uring ($URING_PARAM)" >&2; exit 1; }
	URING_OLD=$(cat $URING_PARAM)
fi

WORK=$(mktemp -d /tmp/roundtrips.XXXXXX)
MNT=$WORK/mnt
ZRAM=""
mkdir -p "$MNT"
cleanup() {
	if grep -q " $MNT " /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	zram_release
	[ -z "$URING_OLD" ] || echo "$URING_OLD" >$URING_PARAM
	rm -rf "$WORK"
}
trap cleanup EXIT
[ -z "$URING_OLD" ] || echo Y >$URING_PARAM
trap 'exit 130' INT TERM

tar -C /usr -cf "$WORK/include.tar" include
NFILES=$(find /usr/include -type f | wc -l)

mount_target() { # LABEL
	case $1 in
	tmpfs) mount -t tmpfs -o size=4g tmpfs "$MNT" ;;
	ext4-zram)
		ZRAM=$(cat /sys/class/zram-control/hot_add) || return 1
		echo lz4 >/sys/block/zram$ZRAM/comp_algorithm
		echo 4G >/sys/block/zram$ZRAM/disksize
		mkfs.ext4 -q /dev/zram$ZRAM && mount /dev/zram$ZRAM "$MNT" ;;
	*)
		local z
		for z in "${ZSFS_LIST[@]}"; do
			[ "${z%%=*}" = "$1" ] && "${z#*=}" zsfs "$MNT" -o "size=4g${OPTS[$1]:+,${OPTS[$1]}}" 2>>"$WORK/zsfs.log"
		done
		for _ in $(seq 100); do
			[ -e "$MNT/.zsctl" ] || { sleep 0.05; continue; }
			# an io_uring target must really be on io_uring
			case ${OPTS[$1]-} in *io_uring=on*)
				grep -q '^transport io_uring' "$MNT/.zsctl" || { sleep 0.05; continue; } ;;
			esac
			return 0
		done
		echo "$1: did not mount${OPTS[$1]:+ with ${OPTS[$1]}}" >&2
		return 1 ;;
	esac
}
# zram_release: reset and remove our zram device; right after umount the
# device can still be busy for a moment, so try for a few seconds.
zram_release() {
	[ -n "$ZRAM" ] || return 0
	for _ in $(seq 50); do
		echo 1 2>/dev/null >/sys/block/zram$ZRAM/reset &&
			echo "$ZRAM" 2>/dev/null >/sys/class/zram-control/hot_remove && break
		sleep 0.1
	done
	[ -e /sys/block/zram$ZRAM ] && echo "zram$ZRAM could not be removed" >&2
	ZRAM=""
}
umount_target() {
	if grep -q "^zsfs $MNT " /proc/mounts; then fusermount3 -u "$MNT"; else umount "$MNT"; fi
	zram_release
}
reqs() { [ -r "$MNT/.zsctl" ] && grep '^req_' "$MNT/.zsctl"; }
# (uring_requests is not a req_ line: the req_ counters count both paths)
# cpu_ticks PID: user + system time of a process, in clock ticks
cpu_ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

declare -A T R C
TARGETS="tmpfs ext4-zram"
for z in "${ZSFS_LIST[@]}"; do TARGETS="$TARGETS ${z%%=*}"; done
for run in $(seq "$RUNS"); do
	for w in untar cp; do
		for t in $TARGETS; do
			sync; echo 3 >/proc/sys/vm/drop_caches
			# (to a pipe: GNU tar reads nothing for /dev/null)
			tar -C /usr -cf - include | cat >/dev/null
			cat "$WORK/include.tar" >/dev/null
			mount_target "$t" || { echo "cannot mount $t" >&2; exit 1; }
			reqs >"$WORK/r0"
			pid=$(pgrep -of -- " zsfs $MNT ")  # the daemon, not its guard child
			c0=$(cpu_ticks "$pid")
			t0=$EPOCHREALTIME
			if [ $w = untar ]; then
				tar -C "$MNT" -xf "$WORK/include.tar"
			else
				cp -a /usr/include "$MNT/"
			fi
			sync -f "$MNT"
			T[$t|$w]="${T[$t|$w]-} $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
			if [ -s "$WORK/r0" ]; then
				reqs >"$WORK/r1"
				C[$t|$w]="${C[$t|$w]-} $(awk -v a="$c0" -v b="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" -v n="$NFILES" 'BEGIN { printf "%.0f", (b - a) / hz / n * 1e6 }')"
				R[$t|$w|$run]=$(paste "$WORK/r0" "$WORK/r1" | awk -v n="$NFILES" '
					{ d = $4 - $2; s += d; if (d / n >= 0.005) o = o sprintf(" %s=%.2f", substr($1, 5), d / n) }
					END { printf "%.2f:%s", s / n, o }')
			fi
			umount_target
		done
	done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "# $NFILES files (/usr/include), median of $RUNS runs, seconds; kernel $(uname -r), $(nproc) CPUs"
printf '%-12s %8s %8s %8s %8s\n' target untar ÷ext4 cp-a ÷ext4
for t in $TARGETS; do
	u=$(median "${T[$t|untar]}"); c=$(median "${T[$t|cp]}")
	ue=$(median "${T[ext4-zram|untar]}"); ce=$(median "${T[ext4-zram|cp]}")
	printf '%-12s %8s %8.2f %8s %8.2f\n' "$t" "$u" "$(awk -v a="$u" -v b="$ue" 'BEGIN{print a/b}')" \
		"$c" "$(awk -v a="$c" -v b="$ce" 'BEGIN{print a/b}')"
done
echo
echo "# every run, seconds, in run order"
for t in $TARGETS; do
	echo "$t: untar${T[$t|untar]}; cp -a${T[$t|cp]}"
done
echo
echo "# FUSE requests per file (last run), by opcode; the daemon's CPU time (user + system) per file, median"
for t in $TARGETS; do
	for w in untar cp; do
		[ -n "${R[$t|$w|$RUNS]-}" ] && echo "$t $w: ${R[$t|$w|$RUNS]/:/ per file:}; daemon $(median "${C[$t|$w]}") us/file"
	done
done
