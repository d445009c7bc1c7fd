#!/bin/bash
# killpriv.sh - setuid, setgid and security.capability after write,
# truncate and chown, by root and by another uid, on zsfs as on tmpfs.
# With FUSE_HANDLE_KILLPRIV_V2 (src/transport.c) the daemon clears them
# itself, and the kernel must show the new mode at once (no stale cached
# attributes after a write).
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
need_tool setpriv stat truncate
chmod 755 "$WORK"  # uid 65534 goes through it
tmpfs_mount
zs_mount -o size=64m

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
have_setcap=0
command -v setcap >/dev/null && command -v getcap >/dev/null && have_setcap=1

# op ACTOR OP FILE: one operation as root or as uid/gid 65534.
op() {
	local run=""
	[ "$1" = nobody ] && run=nobody
	case $2 in
	write) $run sh -c 'printf x >>"$1"' sh "$3" ;;
	truncate) $run truncate -s 1 "$3" ;;
	otrunc) $run sh -c ': >"$1"' sh "$3" ;;
	chown) if [ "$1" = root ]; then chown 1:1 "$3"; else $run chgrp 65534 "$3"; fi ;;
	esac
}

# run DIR: one line per case, "owner mode actor op -> mode [cap]"
run() {
	local d=$1/kp i=0 owner mode actor o f
	mkdir -p "$d"
	chmod 777 "$d"
	for owner in 0:0 65534:65534; do
		for mode in 4777 2777 2767 6777 6767 4755 0777; do
			for actor in root nobody; do
				for o in write truncate otrunc chown; do
					i=$((i + 1))
					f=$d/f$i
					printf 'data' >"$f"
					chown "$owner" "$f"
					chmod "$mode" "$f"
					cap=""
					if [ $have_setcap = 1 ] && [ "$mode" = 0777 ]; then
						setcap cap_net_raw+ep "$f" 2>/dev/null
					fi
					op $actor $o "$f" 2>/dev/null; rc=$?
					[ $have_setcap = 1 ] && [ "$mode" = 0777 ] &&
						cap=" cap=$(getcap "$f" | awk '{ print $2 }')"
					echo "$owner $mode $actor $o rc=$rc -> $(stat -c %a "$f")$cap"
				done
			done
		done
	done
	rm -rf "$d"
}

chmod 755 "$TMPFS_MNT" "$MNT"
run "$TMPFS_MNT" >"$WORK/tmpfs.txt"
run "$MNT" >"$WORK/zsfs.txt"
check "the same modes (and capabilities) as tmpfs after each operation" \
	cmp -s "$WORK/tmpfs.txt" "$WORK/zsfs.txt"
diff "$WORK/tmpfs.txt" "$WORK/zsfs.txt" | sed 's/^/#   /'
# the cases are not all no-ops: tmpfs itself clears bits
check_eq "a write by another uid clears setuid (tmpfs and zsfs)" "777 777" \
	"$(awk '$1 == "0:0" && $2 == 4777 && $3 == "nobody" && $4 == "write" { printf "%s%s", s, $7; s = " " }' "$WORK/tmpfs.txt" "$WORK/zsfs.txt")"
check_eq "its own group's writer keeps a setgid that is not group-executable" "2767 2767" \
	"$(awk '$1 == "65534:65534" && $2 == 2767 && $3 == "nobody" && $4 == "write" { printf "%s%s", s, $7; s = " " }' "$WORK/tmpfs.txt" "$WORK/zsfs.txt")"
check_eq "root's write keeps setuid" "4777 4777" \
	"$(awk '$1 == "0:0" && $2 == 4777 && $3 == "root" && $4 == "write" { printf "%s%s", s, $7; s = " " }' "$WORK/tmpfs.txt" "$WORK/zsfs.txt")"
diag "kernel INIT flags added: $(ctl_get init_flags_added)"
umount_clean killpriv
done_testing
