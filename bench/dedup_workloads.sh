# bench/dedup_workloads.sh - workloads 9 and 10 of bench/compare (sourced
# by it; uses its mount_target, rec, rec_mem, run, val ... helpers):
# what a second copy and repeated content cost on each target.
#
#  9  second copy: untar the tree ($TREE_TAR) into DIR/a, then
#     `cp -a DIR/a DIR/b` inside the same mount.  Time of the second copy,
#     and the memory it adds against the memory after the first.  On zsfs
#     three variants, each on a fresh mount with dedup=off unless named:
#       copy       cp -a: coreutils 9.1 copies with copy_file_range, which
#                  zsfs answers by sharing whole pages (whatever dedup= says)
#       rw         cp -a --reflink=never: the same cp, but coreutils 9.1 then
#                  reads and writes (no copy_file_range; checked with strace),
#                  so every page is compressed and stored again: "the same
#                  copy without sharing", the baseline of the speed-up
#       rw_dedup   cp -a --reflink=never with dedup=on: the write path finds
#                  the pages stored already
#     tmpfs and ext4-on-zram run the plain cp -a (neither shares).
#     For zsfs, the growth is split into the pool (mem_used_total) and the
#     rest of the daemon (inodes, names, page maps: "meta"), per inode.
# 10  repeated content: cp -a of a tree with many whole-file duplicates
#     ($DUP_TREE, default /usr/include: about 40% of its bytes are files
#     that exist elsewhere in it) from outside into a fresh mount; memory
#     (as workload 1) with zsfs dedup=on and dedup=off.

# The memory of the current mount once settled: MEM_MAIN, MEM_POOL absolute.
snap_mem() {
	case $CUR in zsfs-*) settle_wait ;; esac
	mem_now
}

# w9_variant T NAME ZSFS-OPTS CP-ARGS...: one fresh mount, untar, copy.
w9_variant() {
	local t=$1 name=$2 opts=$3 t0 m0 p0 n0 m1 p1 k=w9.$2
	shift 3
	MOUNT_EXTRA=$opts
	mount_target "$t" || { MOUNT_EXTRA=; recfail "$t" "$k.time"; return; }
	MOUNT_EXTRA=
	if ! run bash -c 'mkdir "$2/a" && tar -C "$2/a" -xf "$1" && sync -f "$2"' _ "$TREE_TAR" "$MNT" 2>>"$LOGS/w9-$t.log"; then
		recfail "$t" "$k.time"; unmount_current; return
	fi
	snap_mem
	m0=$MEM_MAIN; p0=$MEM_POOL
	[ "$name" = copy ] && rec "$t" w9.first.mem $((m0 - BASE_MAIN))
	n0=$(find "$MNT/a" | wc -l)
	t0=$(now)
	if run bash -c 'm=$1; shift; cp -a "$@" "$m/a" "$m/b" && sync -f "$m"' _ "$MNT" "$@" 2>>"$LOGS/w9-$t.log"; then
		rec "$t" "$k.time" "$(elapsed "$t0")"
		snap_mem
		m1=$MEM_MAIN; p1=$MEM_POOL
		rec "$t" "$k.mem" $((m1 - m0))
		rec "$t" "$k.pct" "$(awk -v a="$m1" -v b="$m0" -v z="$BASE_MAIN" 'BEGIN { printf "%.3f", 100 * (a - b) / (b - z) }')"
		if [ -n "$p0" ] && [ -n "$p1" ]; then
			rec "$t" "$k.mem.pool" $((p1 - p0))
			case $t in zsfs-*)
				rec "$t" "$k.meta" $(((m1 - m0) - (p1 - p0)))
				rec "$t" "$k.meta_inode" $((((m1 - m0) - (p1 - p0)) / n0)) ;;
			esac
		fi
		[ "$name" = rw_dedup ] && rec "$t" w9.rw_dedup.hits "$(zsctl_get dedup_hits)"
	else
		recfail "$t" "$k.time"
	fi
	unmount_current
}

w9_second_copy() {
	local t=$1
	[ -n "$TREE_TAR" ] || { recfail "$t" w9.copy.time; return; }
	warm_file "$TREE_TAR"
	case $t in
	zsfs-*)
		w9_variant "$t" copy dedup=off
		w9_variant "$t" rw dedup=off --reflink=never
		w9_variant "$t" rw_dedup dedup=on --reflink=never
		;;
	*) w9_variant "$t" copy "" ;;
	esac
}

w10_repeated() {
	local t=$1 d opts
	warm_tree "${DUP_TREE#/}"
	for d in on off; do
		case $t in
		zsfs-*) opts=dedup=$d ;;
		*) [ "$d" = on ] || continue; opts= ;;
		esac
		MOUNT_EXTRA=$opts
		mount_target "$t" || { MOUNT_EXTRA=; recfail "$t" "w10.$d.mem"; continue; }
		MOUNT_EXTRA=
		if run bash -c 'cp -a "$1" "$2/" && sync -f "$2"' _ "$DUP_TREE" "$MNT" 2>>"$LOGS/w10-$t.log"; then
			rec_mem "$t" "w10.$d.mem"
			case $t in zsfs-*) [ "$d" = on ] && rec "$t" w10.on.hits "$(zsctl_get dedup_hits)" ;; esac
		else
			recfail "$t" "w10.$d.mem"
		fi
		unmount_current
	done
}

DUP_TREE=${DUP_TREE:-/usr/include}
FIRST_KEY[w9]=copy.time
FIRST_KEY[w10]=on.mem
ROWS+=(
"w9.first.mem|m|9 untarred tree (first copy): mem (MiB)"
"w9.copy.time|t|9 second copy, cp -a: time (s)"
"w9.copy.mem|m|9 second copy, cp -a: mem added (MiB)"
"w9.copy.pct|t|9 second copy, cp -a: mem added (% of the first)"
"w9.copy.mem.pool|m|9 second copy, cp -a: pool added (MiB)"
"w9.copy.meta|m|9 second copy, cp -a: zsfs meta added (MiB)"
"w9.copy.meta_inode|r|9 second copy, cp -a: zsfs meta per inode (B)"
"w9.rw.time|t|9 second copy, cp -a --reflink=never (dedup=off): time (s)"
"w9.rw.mem|m|9 second copy, --reflink=never (dedup=off): mem added (MiB)"
"w9.rw.mem.pool|m|9 second copy, --reflink=never (dedup=off): pool added (MiB)"
"w9.rw_dedup.time|t|9 second copy, --reflink=never, dedup=on: time (s)"
"w9.rw_dedup.mem|m|9 second copy, --reflink=never, dedup=on: mem added (MiB)"
"w9.rw_dedup.mem.pool|m|9 second copy, --reflink=never, dedup=on: pool added (MiB)"
"w9.rw_dedup.hits|r|9 second copy, --reflink=never, dedup=on: dedup_hits"
"w10.on.mem|m|10 cp -a $DUP_TREE (repeated content): mem (MiB; zsfs dedup=on)"
"w10.on.mem.pool|m|10 cp -a $DUP_TREE, zsfs dedup=on: pool (MiB)"
"w10.on.hits|r|10 cp -a $DUP_TREE, zsfs dedup=on: dedup_hits"
"w10.off.mem|m|10 cp -a $DUP_TREE, zsfs dedup=off: mem (MiB)"
"w10.off.mem.pool|m|10 cp -a $DUP_TREE, zsfs dedup=off: pool (MiB)"
)

report_dedup_targets() {
	local t
	for t in zsfs-lz4 zsfs-zstd; do
		case " $TARGETS " in *" $t "*) ;; *) continue ;; esac
		case " $WORKLOADS " in *" 9 "*)
			target_row "second copy: $t mem added (% of the first copy's)" \
				"$(v=$(val "$t" w9.copy.pct); [ -n "$v" ] && fmt t "$v")" "≤ 3" "x <= 3"
			target_row "second copy: $t speed-up, cp -a vs cp -a --reflink=never (dedup=off)" \
				"$(ratio "$(val "$t" w9.rw.time)" "$(val "$t" w9.copy.time)")" "≥ 5" "x >= 5" ;;
		esac
		case " $WORKLOADS " in *" 10 "*)
			target_row "repeated content: $t dedup=on mem ÷ ext4-zram" \
				"$(ratio "$(val "$t" w10.on.mem)" "$(val zram w10.on.mem)")" "≤ 0.65" "x <= 0.65" ;;
		esac
	done
}
