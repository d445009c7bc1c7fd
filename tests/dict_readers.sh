#!/usr/bin/env bash
# dict_readers.sh - decompression never needs a dictionary that was freed.
#
# A mount with dict=auto,recompress=on,settle_delay=0,settle_cpu=100
# gets a tree of text (part of /usr/include, or generated text when it is
# missing).  Then, at once, for DICT_SECONDS (default 8):
#  - two readers compare the whole tree with the source copy, again and
#    again (cmp -r through diff): zero miscompares;
#  - a writer rewrites a few files of their own, so pages go pending
#    again while others settle;
#  - dict_retrain is sent every 0.3 s: each new dictionary makes every
#    settled page that does not use it pending again, and old
#    dictionaries are freed as their last page moves on.
# Afterwards: pending reaches 0, pages use a dictionary, fewer
# dictionaries are alive than were trained, `echo check > .zsctl`
# passes (every object decodes with the dictionary it names), and the
# tree still compares equal.
. "$TOP_SRCDIR/tests/lib.sh"
need_fuse
need_tool diff tar

secs=${DICT_SECONDS:-8}

# The source: up to ~24 MiB of headers, else generated text.
mkdir "$WORK/src"
if [ -d /usr/include ]; then
	(cd /usr/include && find . -type f -size -256k | sort | head -n 3000 |
		tar -cf - -T - 2>/dev/null) | tar -xf - -C "$WORK/src"
fi
if [ "$(du -sk "$WORK/src" | cut -f1)" -lt 4096 ]; then
	for i in $(seq 400); do
		seq -f "line %g of a generated header file number $i: int x$i;" 1 600 >"$WORK/src/gen$i.h"
	done
fi
diag "source: $(find "$WORK/src" -type f | wc -l) files, $(du -sk "$WORK/src" | cut -f1) KiB"

zs_mount -o dict=auto,recompress=on,settle_delay=0,settle_cpu=100
check "tree copied in" cp -a "$WORK/src" "$MNT/t"
mkdir "$MNT/w"

stop=$WORK/stop
reader() {
	local n=0 bad=0
	while [ ! -e "$stop" ]; do
		diff -r -q "$WORK/src" "$MNT/t" >"$WORK/diff.$1" 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$n $bad" >"$WORK/reader.$1"
}
writer() {
	local i=0
	while [ ! -e "$stop" ]; do
		cp "$WORK/src/$(cd "$WORK/src" && find . -type f | sed -n "$((i % 50 + 1))p")" "$MNT/w/f$((i % 8))" 2>/dev/null
		i=$((i + 1))
	done
}
retrainer() {
	local n=0
	while [ ! -e "$stop" ]; do
		echo dict_retrain >"$MNT/.zsctl" && n=$((n + 1))
		sleep 0.3
	done
	echo "$n" >"$WORK/retrains"
}
reader 1 & p1=$!
reader 2 & p2=$!
writer & p3=$!
retrainer & p4=$!
sleep "$secs"
touch "$stop"
wait $p1 $p2 $p3 $p4	# not a bare wait: the daemon is our child too

read -r n1 bad1 <"$WORK/reader.1"
read -r n2 bad2 <"$WORK/reader.2"
diag "readers: $n1 and $n2 passes; retrain sent $(cat "$WORK/retrains") times"
[ "$bad1" = 0 ] || head -5 "$WORK/diff.1" | sed 's/^/#   /'
[ "$bad2" = 0 ] || head -5 "$WORK/diff.2" | sed 's/^/#   /'
check "readers saw zero miscompares ($bad1 + $bad2 of $n1 + $n2 passes)" \
	[ "$bad1" = 0 ] && [ "$bad2" = 0 ] && [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]
check "consistency check while work may be pending" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"

# Settled: nothing pending and the settle thread idle (no codec state,
# no sample: settle_bytes 0; a retrain asked last may still run).
for _ in $(seq 1200); do
	[ "$(ctl_get recompress_pending)" = 0 ] && [ "$(ctl_get settle_bytes)" = 0 ] && break
	sleep 0.1
done
diag "$(grep -E '^(recompress_|dict_)' "$MNT/.zsctl" | tr '\n' ' ')"
check_eq "recompress_pending reaches 0" 0 "$(ctl_get recompress_pending)"
check "dictionaries were trained more than once" test "$(ctl_get dict_trainings)" -ge 2
check "pages use a dictionary" test "$(ctl_get dict_pages)" -gt 0
check "old dictionaries were freed ($(ctl_get dict_count) alive of $(ctl_get dict_trainings))" \
	test "$(ctl_get dict_count)" -lt "$(ctl_get dict_trainings)"
if command -v getfattr >/dev/null; then
	big=$(find "$MNT/t" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
	pages=$(getfattr --only-values -n user.zsfs.pages "$big" 2>/dev/null)
	diag "user.zsfs.pages of $big: $pages"
	check "user.zsfs.pages counts the file's dictionary pages" \
		awk '$11 == "dict" && $12 > 0 && $12 <= $2 { ok = 1 } END { exit !ok }' <<<"$pages"
fi
check "consistency check after settling" sh -c 'echo check > "$1/.zsctl"' sh "$MNT"
check "the tree still compares equal" diff -r -q "$WORK/src" "$MNT/t"
check "rm -rf of everything" rm -rf "$MNT/t" "$MNT/w"
check_eq "no page uses a dictionary after rm -rf" 0 "$(ctl_get dict_pages)"
check "at most the current dictionary is alive" test "$(ctl_get dict_count)" -le 1
umount_clean "end"
done_testing
