#!/usr/bin/env bash
# os_refuse.sh - when the OS refuses memory, writes get ENOSPC and nothing
# is lost.  The test hook ZSFS_DEBUG_OS_LIMIT makes the pool's OS layer
# refuse every request while the pool holds 32 MiB or more, as an OS out
# of memory would (size= is 1g, so the cap is not what stops it): a dd of
# random data must end in ENOSPC with the daemon alive, an earlier file
# intact and the refusals counted; after deleting and compacting, writes
# work again.
. "$TOP_SRCDIR/tests/lib.sh"
need_fuse
need_tool sha256sum dd

head -c 8000000 /dev/urandom >"$WORK/keep"
sum=$(sha256sum <"$WORK/keep")

ZSFS_DEBUG_OS_LIMIT=32m zs_mount -o size=1g,auto_compact=off
check "an 8 MB file copied in" cp "$WORK/keep" "$MNT/keep"
err=$(dd if=/dev/urandom of="$MNT/fill" bs=1M count=256 2>&1)
check "dd past what the OS gives fails with ENOSPC" \
	grep -q "No space left on device" <<<"$err"
fill=$(stat -c %s "$MNT/fill")
check "it stopped near the OS's 32 MiB ($fill bytes)" \
	test "$fill" -gt $((8 << 20)) -a "$fill" -lt $((40 << 20))
check "the daemon is alive" kill -0 "$ZS_PID"
check "refusals are counted (os_refusals $(ctl_get os_refusals))" \
	test "$(ctl_get os_refusals)" -gt 0
check_eq "the 8 MB file is intact" "$sum" "$(sha256sum <"$MNT/keep")"
check "consistency check" sh -c "echo check > '$MNT/.zsctl'"

rm -f "$MNT/fill"
check "compact" sh -c "echo compact > '$MNT/.zsctl'"
check "after rm, a 16 MB write succeeds" \
	dd if=/dev/urandom of="$MNT/again" bs=1M count=16 status=none
check_eq "and the 8 MB file is still intact" "$sum" "$(sha256sum <"$MNT/keep")"
check "consistency check after" sh -c "echo check > '$MNT/.zsctl'"
umount_clean "os refusal"

check "a bad ZSFS_DEBUG_OS_LIMIT is refused" \
	sh -c "! ZSFS_DEBUG_OS_LIMIT=12x '$ZSFS' -f '$MNT' 2>/dev/null"
done_testing
