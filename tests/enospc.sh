#!/usr/bin/env bash
# enospc.sh - running out of room must mean ENOSPC and nothing lost:
#  - size= exhausted by incompressible data: the error is ENOSPC (not EIO),
#    every file written before keeps its checksum, deleting files makes
#    room again;
#  - size= exhausted by xattrs, and by directory entries;
#  - nr_inodes exhausted;
#  - mem_limit lowered below the current use through .zsctl: writes fail
#    with ENOSPC, data stays intact, raising it makes writes work again.
. "$TOP_SRCDIR/tests/lib.sh"
: "${TOP_BUILDDIR:=$(pwd)}"
PROBE="$TOP_BUILDDIR/tests/errno_probe"
[ -x "$PROBE" ] || { echo "Bail out! $PROBE not built"; exit 99; }
need_fuse

need_tool dd cksum

SRC="$WORK/src"
# put_file PATH MIB: copy MIB MiB of fresh random data to PATH (fsync'ed);
# saves its checksum in $WORK/sums on success; prints dd's error otherwise.
put_file() {
	head -c $(( $2 * 1048576 )) /dev/urandom >"$SRC"
	if dd if="$SRC" of="$1" bs=256k conv=fsync status=none 2>"$WORK/dd.err"; then
		echo "$(cksum <"$SRC") $1" >>"$WORK/sums"
		return 0
	fi
	cat "$WORK/dd.err"
	return 1
}

# verify_sums: every file in $WORK/sums still has its checksum.
verify_sums() {
	local a b f bad=0
	while read -r a b f; do
		[ -e "$f" ] || continue
		[ "$(cksum <"$f")" = "$a $b" ] || { diag "checksum changed: $f"; bad=1; }
	done <"$WORK/sums"
	return $bad
}

# --- data ------------------------------------------------------------
zs_mount -o size=16m
: >"$WORK/sums"
n=0
err=""
while [ $n -lt 64 ]; do
	if ! err=$(put_file "$MNT/d$n" 1); then
		break
	fi
	n=$((n + 1))
done
diag "data: $n MiB written before the first error: $err"
diag "$(grep -E '^(mem_used_total|mem_limit|enospc_errors|enospc_compactions|compactions_enospc) ' "$MNT/.zsctl" | tr '\n' ' ')"
check "data: size=16m filled before 64 MiB of random data" [ $n -lt 64 ]
check "data: at least 8 MiB fit in size=16m (got $n)" [ $n -ge 8 ]
check "data: the error is ENOSPC ($err)" grep -q "No space left on device" <<<"$err"
check "data: the error is not EIO" eval '! grep -q "Input/output error" <<<"$err"'
check "data: every complete file keeps its checksum" verify_sums
r=$("$PROBE" create "$MNT/empty_after_full")
diag "creating an empty file when the data is full: $r"
rm -f "$MNT/d$n" "$MNT/d0" "$MNT/d1" "$MNT/d2"
sed -i "\\#$MNT/d0\$#d; \\#$MNT/d1\$#d; \\#$MNT/d2\$#d" "$WORK/sums"
check "data: after deleting 3 MiB, a 2 MiB write succeeds" put_file "$MNT/again" 2
check "data: every file still keeps its checksum" verify_sums
check "data: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "data"

# --- small writes (the dirty set) until ENOSPC ------------------------
# Sub-page writes are absorbed uncompressed and stored later, so ENOSPC
# may come late; whatever write(2) acknowledged must read back, and a
# reader that only reads must not get an error (not even from close).
zs_mount -o size=16m
head -c $((32 * 1048576)) /dev/urandom >"$WORK/rand32"
err=$(dd if="$WORK/rand32" of="$MNT/small" bs=1000 2>&1)
diag "small writes: $(stat -c %s "$MNT/small") bytes acknowledged; dd said: $(tr '\n' ' ' <<<"$err")"
check "small writes: the error is ENOSPC" grep -q "No space left on device" <<<"$err"
sz=$(stat -c %s "$MNT/small")
check "small writes: more than 8 MiB acknowledged ($sz)" [ "$sz" -gt 8388608 ]
head -c "$sz" "$WORK/rand32" >"$WORK/want"
check "small writes: every acknowledged byte reads back" \
	sh -c 'dd if="$1" bs=65536 2>/dev/null | cmp -s - "$2"' sh "$MNT/small" "$WORK/want"
check "small writes: reading the full file with cat succeeds (close of a read-only fd must not fail)" \
	sh -c 'cat "$1" >/dev/null' sh "$MNT/small"
check_eq "small writes: open O_RDONLY + close -> OK" OK "$("$PROBE" open "$MNT/small")"
rm -f "$MNT/small"
check "small writes: after rm, a 1 MiB write succeeds" put_file "$MNT/after" 1
check "small writes: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "small writes"

# --- xattrs ----------------------------------------------------------
zs_mount -o size=16m
r=OK
nx=0
for f in $(seq 100); do
	touch "$MNT/x$f" || break
	for i in $(seq 8); do
		r=$("$PROBE" setxattr "$MNT/x$f" "user.a$i" 32768)
		[ "$r" = OK ] || break 2
		nx=$((nx + 1))
	done
done
diag "xattrs: $nx values of 32 KiB set before: $r"
check_eq "xattrs: size=16m exhausted by xattrs gives ENOSPC" ENOSPC "$r"
check "xattrs: that took at most 16 MiB of values (got $((nx / 32)) MiB)" [ $nx -le 512 ]
check_eq "xattrs: the first value reads back" "OK 32768" \
	"$("$PROBE" getxattr "$MNT/x1" user.a1 65536)"
rm -f "$MNT"/x*
check_eq "xattrs: after deleting the files, setting works again" OK \
	"$(touch "$MNT/y" && "$PROBE" setxattr "$MNT/y" user.a 32768)"
check "xattrs: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "xattrs"

# --- directory entries -----------------------------------------------
zs_mount -o size=8m,nr_inodes=10m
long=$(printf '%0200d' 0)
b=0
err=""
while [ $b -lt 400 ]; do
	mkdir "$MNT/dir$b" 2>"$WORK/e" || { err=$(head -1 "$WORK/e"); break; }
	if ! (cd "$MNT/dir$b" && touch $(seq -f "${long}%g" 1 500)) 2>"$WORK/e"; then
		err=$(head -1 "$WORK/e")
		break
	fi
	b=$((b + 1))
done
diag "entries: $((b * 500)) entries in $b directories before: $err"
check "entries: size=8m exhausted by directory entries" [ $b -lt 400 ]
check "entries: the error is ENOSPC ($err)" grep -q "No space left on device" <<<"$err"
# A long name no longer fit; shorter ones may: fill to the brim with the
# shortest names, so that nothing at all fits any more.
for i in $(seq 1000); do
	[ "$("$PROBE" create "$MNT/s$i")" = OK ] || break
done
diag "entries: $((i - 1)) short names fitted after the long one failed"
check "entries: the short names run out too" [ "$i" -lt 1000 ]
# A directory's inode is smaller than a file's (no page-store struct):
# fill with those too before asking for one more.
for j in $(seq 1000); do
	[ "$("$PROBE" mkdir "$MNT/m$j")" = OK ] || break
done
diag "entries: then $((j - 1)) directories"
check "entries: the directories run out too" [ "$j" -lt 1000 ]
check_eq "entries: mkdir when full -> ENOSPC" ENOSPC "$("$PROBE" mkdir "$MNT/d")"
rm -rf "$MNT/dir0" "$MNT/dir1"
check_eq "entries: after deleting, create works again" OK "$("$PROBE" create "$MNT/one_more")"
check "entries: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "entries"

# --- nr_inodes -------------------------------------------------------
zs_mount -o size=16m,nr_inodes=100
ni=0
r=OK
while [ $ni -lt 200 ]; do
	r=$("$PROBE" create "$MNT/i$ni")
	[ "$r" = OK ] || break
	ni=$((ni + 1))
done
diag "nr_inodes=100: $ni files created before: $r"
check_eq "nr_inodes: exhaustion gives ENOSPC" ENOSPC "$r"
check "nr_inodes: 96..100 files fit (got $ni)" [ $ni -ge 96 -a $ni -le 100 ]
check_eq "nr_inodes: mkdir -> ENOSPC too" ENOSPC "$("$PROBE" mkdir "$MNT/dd")"
check_eq "nr_inodes: symlink -> ENOSPC too" ENOSPC "$("$PROBE" symlink 10 "$MNT/sl")"
check_eq "nr_inodes: a hard link needs no inode" OK "$("$PROBE" link "$MNT/i0" "$MNT/hl")"
rm -f "$MNT/i1" "$MNT/i2"
check_eq "nr_inodes: after deleting, create works" OK "$("$PROBE" create "$MNT/new")"
check "nr_inodes: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "nr_inodes"

# --- mem_limit lowered at run time -----------------------------------
zs_mount -o size=64m
: >"$WORK/sums"
for i in 0 1 2 3 4 5 6 7; do put_file "$MNT/m$i" 1 >/dev/null; done
used=$(ctl_get mem_used_total)
diag "mem_limit: $used bytes used by 8 MiB of random data"
check "mem_limit: lowered to 4m (below use)" sh -c 'echo "mem_limit 4m" > "$1/.zsctl"' sh "$MNT"
diag "mem_limit: reads back as $(ctl_get mem_limit) (set 4194304)"
err=$(put_file "$MNT/over" 1)
check "mem_limit: a write past it fails with ENOSPC ($err)" grep -q "No space left on device" <<<"$err"
check "mem_limit: existing data intact" verify_sums
check "mem_limit: raised to 64m" sh -c 'echo "mem_limit 64m" > "$1/.zsctl"' sh "$MNT"
check "mem_limit: writes work again" put_file "$MNT/over" 1
check "mem_limit: all data intact" verify_sums
check "mem_limit: consistency check" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
umount_clean "mem_limit"
done_testing
