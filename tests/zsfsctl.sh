#!/bin/bash
# tests/zsfsctl.sh - zsfsctl shows the mount's own figures: the human view
# and --json (parsed with jq) against .zsctl, the class histogram's rows,
# --top against each file's user.zsfs.stored, the list of mounts, --watch,
# and bad arguments.
. "$TOP_SRCDIR/tests/lib.sh"

need_fuse
need_tool jq getfattr
CTL="$TOP_BUILDDIR/src/zsfsctl"
[ -x "$CTL" ] || { echo "Bail out! zsfsctl not found at $CTL"; exit 99; }
json_ok() { jq -e . "$1" >/dev/null; }
zs_mount -o auto_compact=off,size=256m,fsname=zsfs-ctltest

# incompressible files of known sizes (the top three), one with a name
# JSON must escape, and a tree of compressible text
NAME1='we"ird \ name'
head -c 400k /dev/urandom >"$MNT/$NAME1"
head -c 300k /dev/urandom >"$MNT/b300"
head -c 200k /dev/urandom >"$MNT/c200"
mkdir "$MNT/tree"
for i in $(seq 300); do
	seq "$i" $((i * 40)) >"$MNT/tree/f$i"
done
sync

# ---- the human view, in bytes ----
"$CTL" -b "$MNT" >"$WORK/view" 2>&1
check "zsfsctl -b MOUNT exits 0" test $? -eq 0
check_eq "stored is orig_data_size" "$(ctl_get orig_data_size)" \
	"$(awk '$1 == "stored" { print $2 }' "$WORK/view")"
check_eq "pool is mem_used_total" "$(ctl_get mem_used_total)" \
	"$(awk '$1 == "pool" { print $2 }' "$WORK/view")"
check_eq "metadata is meta_bytes" "$(ctl_get meta_bytes)" \
	"$(awk '$1 == "metadata" { print $2 }' "$WORK/view")"
busy() { awk 'f && $(c) > 0 { n++ } /^class / { f = 1; for (i = 1; i <= NF; i++) if ($i == "objs_used") c = i } END { print n + 0 }' "$MNT/.zsctl"; }
nbusy=$(busy)
check "some classes are busy ($nbusy)" test "$nbusy" -gt 5
check_eq "one histogram row per busy class" "$nbusy" \
	"$(awk '/^classes:/ { f = 1; next } f && NF == 0 { f = 0 } f && $1 ~ /^[0-9]+$/' "$WORK/view" | wc -l)"
check_eq "the classes line counts them" "$nbusy" "$(awk '/^classes:/ { print $2 }' "$WORK/view")"
# (heap_bytes moves between two reads: compare within one view)
check_eq "saved is stored less pool and heap, or none" \
	"$(awk '{ v[$1] = $2 } END { d = v["stored"] - v["pool"] - v["heap"]; print (d >= 0 ? d : "none") }' "$WORK/view")" \
	"$(awk '$1 == "saved" { print $2 }' "$WORK/view")"
check "a compaction section" grep -q '^compaction$' "$WORK/view"
check "the mount and codec in the title" grep -q "^$MNT: zsfs (source zsfs-ctltest, codec lz4" "$WORK/view"
"$CTL" "$MNT/" >"$WORK/view2" 2>&1
check "human sizes with units" grep -Eq '^  stored +[0-9.]+ (KiB|MiB)' "$WORK/view2"

# ---- --json: jq parses it, and the figures are .zsctl's ----
"$CTL" --json "$MNT" >"$WORK/json"
check "json parses" json_ok "$WORK/json"
check_eq "json: stored, pool, meta, codec" \
	"$(ctl_get orig_data_size) $(ctl_get mem_used_total) $(ctl_get meta_bytes) lz4" \
	"$(jq -r '"\(.stored_bytes) \(.pool_bytes) \(.meta_bytes) \(.codec)"' "$WORK/json")"
check_eq "json: cost = pool + heap" "$(jq '.pool_bytes + .heap_bytes' "$WORK/json")" "$(jq .cost_bytes "$WORK/json")"
check_eq "json: saved = stored - cost" "$(jq '.stored_bytes - .cost_bytes' "$WORK/json")" "$(jq .saved_vs_tmpfs_bytes "$WORK/json")"
check_eq "json: one entry per busy class" "$nbusy" "$(jq '.classes | length' "$WORK/json")"
check_eq "json: the classes' pages add up to pool_pages" "$(ctl_get pool_pages)" \
	"$(jq '[.classes[].pages_used] | add' "$WORK/json")"
check_eq "json: every .zsctl line is there" \
	"$(awk 'NF == 0 { exit } { print $1 }' "$MNT/.zsctl" | sort | tr '\n' ' ')" \
	"$(jq -r '.zsctl | keys[]' "$WORK/json" | sort | tr '\n' ' ')"

# ---- --top ----
"$CTL" --top 3 --json "$MNT" >"$WORK/top"
check "top json parses" json_ok "$WORK/top"
check_eq "top 3: the three largest, largest first" \
	"$MNT/$NAME1|$MNT/b300|$MNT/c200" "$(jq -r '[.top[].path] | join("|")' "$WORK/top")"
check_eq "top: stored is user.zsfs.stored" \
	"$(getfattr --only-values -n user.zsfs.stored "$MNT/b300")" "$(jq '.top[1].stored' "$WORK/top")"
check_eq "top: size is the file's" 307200 "$(jq '.top[1].size' "$WORK/top")"
"$CTL" -b --top 2 "$MNT" >"$WORK/toph"
check_eq "top 2 (human): a header and two rows" 3 "$(wc -l <"$WORK/toph")"
check "... the largest first" grep -q "we\"ird" <<<"$(sed -n 2p "$WORK/toph")"

# ---- the list of mounts ----
"$CTL" >"$WORK/list"
check "zsfsctl lists the mount" grep -q "^zsfs-ctltest *$MNT " "$WORK/list"
check "the list has a header" grep -q '^SOURCE *MOUNTPOINT *CODEC' "$WORK/list"
"$CTL" --json >"$WORK/listj"
check_eq "zsfsctl --json: the mount, its stored bytes" "$(ctl_get orig_data_size)" \
	"$(jq --arg m "$MNT" '.[] | select(.mount == $m) | .orig_data_size' "$WORK/listj")"

# ---- --watch ----
out=$("$CTL" --watch 0.2 --count 2 "$MNT")
check_eq "watch 0.2 --count 2: two views, then exit 0" "2 0" "$(grep -c '^every 0.2s' <<<"$out") $?"

# ---- after deleting half and compacting: the figures follow ----
find "$MNT/tree" -type f | awk 'NR % 2' | xargs rm -f
rm -f "$MNT/$NAME1"
echo compact >"$MNT/.zsctl"
"$CTL" --json "$MNT" >"$WORK/json2"
check_eq "json after compaction: one manual compaction" 1 "$(jq .compaction.compactions_manual "$WORK/json2")"
check_eq "json after compaction: stored follows" "$(ctl_get orig_data_size)" "$(jq .stored_bytes "$WORK/json2")"
check "json after compaction: less stored than before" \
	test "$(jq .stored_bytes "$WORK/json2")" -lt "$(jq .stored_bytes "$WORK/json")"
check_eq "top after the delete" "$MNT/b300" "$("$CTL" --top 1 --json "$MNT" | jq -r '.top[0].path')"

# ---- bad arguments: exit 2 with a message; not a zsfs: exit 1 ----
for args in "-x" "--top" "--top 0 $MNT" "--top abc $MNT" "--top 3" "$MNT $MNT" \
	"--count 2 $MNT" "--watch=0 $MNT" "--bogus $MNT"; do
	err=$("$CTL" $args 2>&1 >/dev/null); rc=$?
	check "zsfsctl $args: exit 2 and a message ($err)" test "$rc" -eq 2 -a -n "$err"
done
err=$("$CTL" "$WORK" 2>&1 >/dev/null); rc=$?
check "zsfsctl on a directory that is not a zsfs: exit 1 ($err)" test "$rc" -eq 1 -a -n "$err"
err=$("$CTL" "$WORK/nonexistent" 2>&1 >/dev/null); rc=$?
check "zsfsctl on a missing path: exit 1 ($err)" test "$rc" -eq 1 -a -n "$err"
check "zsfsctl --help exits 0" sh -c "'$CTL' --help >/dev/null"

umount_clean "zsfsctl"
done_testing
