#!/usr/bin/env bash
# oom_score.sh - the daemon's standing with the OOM killer: by default it
# sets its oom_score_adj to -900 (last choice among ordinary processes,
# still killable); -o oom_score_adj=N sets N; a non-zero value it inherited
# (systemd's OOMScoreAdjust=, or a parent's choice) is left as it is,
# unless the option says otherwise.  Read from /proc/PID/oom_score_adj of
# the running daemon.  Nothing system-wide changes: the inherited value is
# set in a wrapper process that then becomes the daemon.
. "$TOP_SRCDIR/tests/lib.sh"
need_fuse

adj() { cat "/proc/$ZS_PID/oom_score_adj"; }
# log_says N: the daemon's log has exactly N lines about oom_score_adj.
log_says() { [ "$(grep -c oom_score_adj "$WORK/zsfs.log")" = "$1" ]; }

# Lowering needs CAP_SYS_RESOURCE (root in a container may lack it): then
# the daemon keeps the value it has and says so once, and mounts anyway.
if sh -c 'echo -1 >/proc/self/oom_score_adj' 2>/dev/null; then
	can_lower=1
else
	can_lower=0
	diag "this process cannot lower oom_score_adj (no CAP_SYS_RESOURCE)"
fi

zs_mount
if [ $can_lower = 1 ]; then
	check_eq "default: oom_score_adj -900" -900 "$(adj)"
	check "default: nothing about oom_score_adj in the log" log_says 0
else
	check_eq "default, cannot lower: oom_score_adj stays 0" 0 "$(adj)"
	check "default, cannot lower: one line in the log says so" log_says 1
	check "default, cannot lower: it names the capability" \
		grep -q "cannot set oom_score_adj to -900.*CAP_SYS_RESOURCE" "$WORK/zsfs.log"
fi
zs_umount

zs_mount -o oom_score_adj=-500
if [ $can_lower = 1 ]; then
	check_eq "oom_score_adj=-500" -500 "$(adj)"
else
	check_eq "oom_score_adj=-500, cannot lower: stays 0" 0 "$(adj)"
	check "oom_score_adj=-500, cannot lower: one line in the log" log_says 1
fi
zs_umount

zs_mount -o oom_score_adj=200
check_eq "oom_score_adj=200 (raising is allowed too)" 200 "$(adj)"
zs_umount

# Inherited: a wrapper sets its own value, then execs the daemon (same pid).
REAL_ZSFS=$ZSFS
cat >"$WORK/wrap.sh" <<WRAP
#!/bin/sh
echo 300 >/proc/self/oom_score_adj || exit 99
exec "$REAL_ZSFS" "\$@"
WRAP
chmod +x "$WORK/wrap.sh"
ZSFS="$WORK/wrap.sh"
zs_mount
check_eq "inherited 300: left alone" 300 "$(adj)"
check "inherited 300: nothing about oom_score_adj in the log" log_says 0
zs_umount
zs_mount -o oom_score_adj=100
check_eq "inherited 300, oom_score_adj=100: the option wins" 100 "$(adj)"
zs_umount
if [ $can_lower = 1 ]; then
	zs_mount -o oom_score_adj=-100
	check_eq "inherited 300, oom_score_adj=-100: the option wins" -100 "$(adj)"
	zs_umount
fi
ZSFS=$REAL_ZSFS

# A bad value is refused before anything is mounted.
out=$("$ZSFS" -f "$MNT" -o oom_score_adj=-2000 2>&1)
rc=$?
check_eq "oom_score_adj=-2000: exit status 1" 1 "$rc"
check "oom_score_adj=-2000: the message names the option" grep -q "oom_score_adj" <<<"$out"
check "oom_score_adj=-2000: nothing mounted" sh -c "! grep -q ' $MNT ' /proc/mounts"
done_testing
