#!/bin/bash
# tests/ctl_mount.sh - the control plane on a live mount: the .zsctl text,
# its commands, the user.zsfs.* xattrs, permissions, the background
# compactor doing its job without a command, and its thresholds tuned by
# mount options and lowered at run time.
. "$TOP_SRCDIR/tests/lib.sh"

need_fuse
need_tool getfattr setfattr setpriv
# uid 65534 must reach the mount point below our private temp dir
chmod 755 "$WORK"
zs_mount -o auto_compact=off,size=4g

C="$MNT/.zsctl"

# ---- the text ----
cat "$C" >"$WORK/text" 2>"$WORK/err"
check "cat .zsctl" test -s "$WORK/text"
check_eq "zram's mm_stat names come first, in order" \
	"orig_data_size compr_data_size mem_used_total mem_limit mem_used_max same_pages pages_compacted huge_pages huge_pages_since" \
	"$(head -9 "$WORK/text" | awk '{ printf "%s%s", sep, $1; sep = " " }')"
# (the *_pct thresholds may carry two decimals; the defaults are whole)
check_eq "every value before the blank line is an integer (codec, size_source and transport aside)" "" \
	"$(awk 'NF == 0 { exit } $1 == "codec" || $1 == "size_source" || $1 == "transport" { next } NF != 2 || $2 !~ /^[0-9]+$/' "$WORK/text")"
# size=4g: from size=, unless the test runs in a memory cgroup that allows less
check "size_source names size= or a cgroup limit file" \
	grep -Eq '^size_source (size=|cgroup_v[12]:/.*/memory\.(limit_in_bytes|max|high))$' "$WORK/text"
check "a codec line" grep -Eq '^codec (lz4|zstd|none)' "$WORK/text"
check "the class table follows a blank line" \
	awk 'b && /^class size objs_per_zspage pages_per_zspage / { f = 1 } NF == 0 { b = 1 } END { exit !f }' "$WORK/text"
for n in inodes inodes_max files dirs symlinks meta_bytes pool_pages \
	pool_objects dirty_pages compactions_manual compactions_auto \
	compactions_enospc last_compact_usec last_compact_pages auto_compact \
	compact_share_pct compact_min_bytes compact_psi_pct; do
	check "has $n" grep -q "^$n [0-9]*\$" "$WORK/text"
done
check_eq "auto_compact=off shows" 0 "$(ctl_get auto_compact)"
check_eq "the thresholds' defaults: 5%, 1 MiB, PSI 10%" "5 1048576 10" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"

# ---- data and the per-file xattrs ----
yes "zsfs keeps this line compressed, page after page" | head -c 4M >"$MNT/comp"
head -c 4M /dev/zero >"$MNT/zero"
head -c 4096 /etc/services >"$WORK/page"
truncate -s 1M "$MNT/sparse"
dd if="$WORK/page" of="$MNT/sparse" bs=4096 seek=3 conv=notrunc status=none
sync

stored=$(getfattr --only-values -n user.zsfs.stored "$MNT/comp" 2>/dev/null)
check "user.zsfs.stored of a compressible file ($stored) < its size" \
	test -n "$stored" -a "${stored:-0}" -lt 4194304
check_eq "user.zsfs.stored of a zero-filled file" 0 \
	"$(getfattr --only-values -n user.zsfs.stored "$MNT/zero" 2>/dev/null)"
pages=$(getfattr --only-values -n user.zsfs.pages "$MNT/comp" 2>/dev/null)
check "user.zsfs.pages format: $pages" \
	grep -Eq '^compressed [0-9]+ raw [0-9]+ same [0-9]+ holes [0-9]+ dirty [0-9]+ dict [0-9]+$' <<<"$pages"
check_eq "comp: its 1024 pages all hold data" "1024 0" \
	"$(awk '{ print $2 + $4 + $6 + $10, $8 }' <<<"$pages")"
zpages=$(getfattr --only-values -n user.zsfs.pages "$MNT/zero" 2>/dev/null)
check_eq "zero: 1024 pages, none compressed nor raw" "0 0 1024" \
	"$(awk '{ print $2, $4, $6 + $8 + $10 }' <<<"$zpages")"
spages=$(getfattr --only-values -n user.zsfs.pages "$MNT/sparse" 2>/dev/null)
check_eq "sparse 1 MiB file with one page: 255 holes" "1 255" \
	"$(awk '{ print $2 + $4 + $6 + $10, $8 }' <<<"$spages")"

# ---- stats xattr = the text, modulo values that change ----
getfattr --only-values -n user.zsfs.stats "$MNT" >"$WORK/xstats" 2>/dev/null
cat "$C" >"$WORK/text2"
check_eq "user.zsfs.stats has the lines of .zsctl" \
	"$(awk 'NF == 0 { exit } { print $1 }' "$WORK/text2" | tr '\n' ' ')" \
	"$(awk 'NF == 0 { exit } { print $1 }' "$WORK/xstats" | tr '\n' ' ')"
check_eq "... and the same table header" \
	"$(grep '^class ' "$WORK/text2")" "$(grep '^class ' "$WORK/xstats")"

# ---- listxattr hides user.zsfs.* ----
setfattr -n user.mine -v 1 "$MNT/comp"
getfattr -d -m - "$MNT/comp" >"$WORK/list" 2>/dev/null
check "listxattr shows ordinary names" grep -q '^user.mine=' "$WORK/list"
check "listxattr does not show user.zsfs.*" sh -c "! grep -q 'user\.zsfs\.' '$WORK/list'"
check "user.zsfs.stored cannot be set" sh -c "! setfattr -n user.zsfs.stored -v 1 '$MNT/comp' 2>/dev/null"
check "user.zsfs.* cannot be removed" sh -c "! setfattr -x user.zsfs.stats '$MNT/comp' 2>/dev/null"

# ---- commands ----
m0=$(ctl_get compactions_manual)
check "echo compact > .zsctl" sh -c "echo compact > '$C'"
check_eq "counted as a manual compaction" $((m0 + 1)) "$(ctl_get compactions_manual)"
check "setfattr -n user.zsfs.compact -v 1" setfattr -n user.zsfs.compact -v 1 "$MNT"
check_eq "counted too" $((m0 + 2)) "$(ctl_get compactions_manual)"
check "user.zsfs.compact with another value fails" \
	sh -c "! setfattr -n user.zsfs.compact -v 2 '$MNT' 2>/dev/null"
check_eq "and does not compact" $((m0 + 2)) "$(ctl_get compactions_manual)"

check "mem_limit 1g" sh -c "echo 'mem_limit 1g' > '$C'"
check_eq "mem_limit shows it" 1073741824 "$(ctl_get mem_limit)"
check "several lines in one write" sh -c "printf 'reset_max\n\n  \ncheck\n' > '$C'"
check "check passes" sh -c "echo check > '$C'"

# bad commands: EINVAL, nothing changes
i=0
while IFS= read -r bad; do
	i=$((i + 1))
	printf "$bad" >"$WORK/bad$i"
	err=$( { cat "$WORK/bad$i" >"$C"; } 2>&1 )
	check "bad command $i fails with EINVAL ($err)" grep -q "Invalid argument" <<<"$err"
done <<'EOF'
bogus\n
mem_limit 12x\n
mem_limit\n
compact now\n
mem_limit 99999999999999999999999\n
mem_limit 16777216t\n
comp\0act\n
\001\002\n
auto_compact maybe\n
mem_limit 5m garbage\n
EOF
check_eq "mem_limit unchanged after bad commands" 1073741824 "$(ctl_get mem_limit)"
check_eq "auto_compact unchanged" 0 "$(ctl_get auto_compact)"
check "the daemon logged why" grep -q 'zsfs: .zsctl: ' "$WORK/zsfs.log"

# a limit below what is in use: allowed, and writes fail until it is lifted
check "mem_limit 64k, below the use" sh -c "echo 'mem_limit 64k' > '$C'"
check_eq "mem_limit shows it" 65536 "$(ctl_get mem_limit)"
err=$(dd if=/dev/urandom of="$MNT/full" bs=1M count=4 conv=fsync 2>&1)
check "a write under the lowered limit fails with ENOSPC" \
	grep -q "No space left on device" <<<"$err"
check "files written before read back" cmp -s "$MNT/sparse" "$MNT/sparse"
rm -f "$MNT/full"
check "mem_limit 0" sh -c "echo 'mem_limit 0' > '$C'"
# no cap of its own: 0, until the daemon puts back size= (4g here) minus
# its metadata at its next metadata change
lim=$(ctl_get mem_limit)
check "no cap, or back to size= less metadata ($lim)" \
	test "$lim" -eq 0 -o \( "$lim" -gt $((4096 * 1048576 - 64 * 1048576)) -a "$lim" -le $((4096 * 1048576)) \)
check "writes work again" dd if=/dev/urandom of="$MNT/full" bs=1M count=4 conv=fsync status=none
rm -f "$MNT/full"

# ---- another user ----
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
check "uid 65534 can read .zsctl" sh -c "$NOBODY cat '$C' >/dev/null"
err=$( { $NOBODY sh -c "echo compact > '$C'"; } 2>&1 )
check "uid 65534 cannot write commands ($err)" \
	grep -Eq "Operation not permitted|Permission denied" <<<"$err"
lim=$(ctl_get mem_limit)
err=$( { $NOBODY sh -c "echo 'mem_limit 1m' > '$C'"; } 2>&1 )
check_eq "uid 65534 changed nothing" "$lim" "$(ctl_get mem_limit)"
check "uid 65534 cannot compact through the xattr" \
	sh -c "! $NOBODY setfattr -n user.zsfs.compact -v 1 '$MNT' 2>/dev/null"

# ---- background compaction ----
mkdir "$MNT/churn"
cp -r /usr/include/linux /usr/include/x86_64-linux-gnu /usr/include/c++ "$MNT/churn/"
find "$MNT/churn" -type f | awk 'NR % 2' | xargs rm -f
freeable() { awk 'f { s += $NF } /^class / { f = 1 } END { print s + 0 }' "$C"; }
f0=$(freeable)
a0=$(ctl_get compactions_auto)
diag "after churn: $f0 freeable pages, pool_pages $(ctl_get pool_pages)"
check "churn left freeable pages" test "$f0" -gt 0
check "auto_compact on" sh -c "echo 'auto_compact on' > '$C'"
for _ in $(seq 50); do
	[ "$(ctl_get compactions_auto)" -gt "$a0" ] && break
	sleep 0.1
done
check "the background thread compacted within 5 s" \
	test "$(ctl_get compactions_auto)" -gt "$a0"
f1=$(freeable)
diag "after auto compaction: $f1 freeable pages"
check "freeable pages went down ($f0 -> $f1)" test "$f1" -lt "$f0"
check "files still read back" cmp -s "$MNT/churn/linux/$(ls "$MNT/churn/linux" | grep '\.h$' | head -1)" \
	"/usr/include/linux/$(ls "$MNT/churn/linux" | grep '\.h$' | head -1)"
check "check after everything" sh -c "echo check > '$C'"

zs_umount
check "clean unmount" test $? -eq 0

# ---- thresholds: high at mount, lowered at run time ----
# auto_compact on (the default), but nothing short of every page freeable
# (or 1 GiB) passes these; PSI off so that a loaded machine cannot trigger.
zs_mount -o size=256m,compact_share=100,compact_min=1g,compact_psi=0
check_eq "mount options show in .zsctl" "100 1073741824 0" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
# ~2700 files of 3000 bytes (base64: compresses to ~75%) in one process,
# then every other one deleted: their zspages end up half empty
mkdir "$MNT/t" "$WORK/t"
head -c 6M /dev/urandom | base64 -w 0 >"$WORK/data"
(cd "$MNT/t" && split -b 3000 -a 4 - f) <"$WORK/data"
(cd "$WORK/t" && split -b 3000 -a 4 - f) <"$WORK/data"
sync
ls "$MNT/t" | awk 'NR % 2' >"$WORK/odd"
(cd "$MNT/t" && xargs rm -f) <"$WORK/odd"
(cd "$WORK/t" && xargs rm -f) <"$WORK/odd"
sync
f0=$(freeable)
diag "files left: $(ls "$MNT/t" | wc -l), freeable pages: $f0, pool_pages $(ctl_get pool_pages)"
check "deleting every other file left freeable pages" test "$f0" -gt 0
# longer than the 2 s after which a settled pool counts (ZSFS_AC_SETTLE_POLLS)
sleep 2.5
check_eq "over the thresholds: no automatic compaction in 2.5 s" 0 \
	"$(ctl_get compactions_auto)"
f1=$(freeable)
check "... and the freeable pages are still there ($f1)" test "$f1" -gt 0
check "compact_share 0, compact_min 0 in one write" \
	sh -c "printf 'compact_share 0\ncompact_min 0\n' > '$C'"
check_eq ".zsctl shows the new values" "0 0 0" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
t0=$(date +%s%N)
for _ in $(seq 100); do
	[ "$(ctl_get compactions_auto)" -gt 0 ] && break
	sleep 0.1
done
t1=$(date +%s%N)
check "lowered thresholds: compacted within 10 s ($(( (t1 - t0) / 1000000 )) ms)" \
	test "$(ctl_get compactions_auto)" -gt 0
f2=$(freeable)
check "freeable pages went down ($f1 -> $f2)" test "$f2" -lt "$f1"
check "compact_share 2.5" sh -c "echo 'compact_share 2.5' > '$C'"
check "compact_min 64k, compact_psi 12.25" \
	sh -c "printf 'compact_min 64k\ncompact_psi 12.25\n' > '$C'"
check_eq ".zsctl shows decimals as given" "2.5 65536 12.25" \
	"$(ctl_get compact_share_pct) $(ctl_get compact_min_bytes) $(ctl_get compact_psi_pct)"
check "the remaining files read back as written" diff -r "$WORK/t" "$MNT/t"
check "check after compaction" sh -c "echo check > '$C'"
umount_clean "thresholds"
done_testing
