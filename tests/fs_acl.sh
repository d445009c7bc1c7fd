#!/bin/bash
# fs_acl.sh - POSIX ACLs: setfacl/getfacl on zsfs give what they give on
# tmpfs (mode/ACL sync, default ACL inheritance, umask), and the kernel
# enforces them: another uid (setpriv) gets exactly the access the ACL says.
. "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
need_tool setfacl getfacl setpriv
tmpfs_mount
zs_mount -o size=64m

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
can() { nobody sh -c "$1" >/dev/null 2>&1 && echo yes || echo no; }

# acl_script DIR: the same steps on either filesystem; prints what to diff.
acl_script() {
	local d=$1
	cd "$d" || return
	umask 022
	mkdir dir && echo data > dir/f && chmod 600 dir/f && chmod 755 dir
	echo "nobody reads 0600: $(can 'cat dir/f')"
	setfacl -m u:65534:r dir/f
	echo "mode after u:65534:r: $(stat -c %A dir/f)"
	echo "nobody reads with ACL: $(can 'cat dir/f')"
	echo "nobody writes with r ACL: $(can 'echo x >> dir/f')"
	setfacl -m m::- dir/f
	echo "mode after m::-: $(stat -c %A dir/f)"
	echo "nobody reads with mask ---: $(can 'cat dir/f')"
	chmod 640 dir/f
	echo "nobody reads after chmod 640 (mask r): $(can 'cat dir/f')"
	getfacl -cp dir/f
	setfacl -m g:65534:rw dir/f
	setfacl -x u:65534 dir/f
	echo "nobody reads after -x: $(can 'cat dir/f')"
	setfacl -b dir/f
	echo "mode after -b: $(stat -c %A dir/f)"
	getfacl -cp dir/f
	# default ACLs: inheritance for files and directories, umask ignored
	mkdir inh
	setfacl -d -m u:65534:rwx,g::r-x,o::- inh
	touch inh/file
	mkdir inh/sub
	mkfifo inh/fifo
	echo "new file: $(stat -c %A inh/file)"
	getfacl -cp inh/file
	echo "new dir: $(stat -c %A inh/sub)"
	getfacl -cp inh/sub
	echo "new fifo: $(stat -c %A inh/fifo)"
	echo "nobody writes inherited file: $(can 'echo y > inh/file')"
	echo "nobody creates in inh (no dir ACL): $(can 'touch inh/n')"
	setfacl -m u:65534:rwx inh
	echo "nobody creates in inh (dir ACL): $(can 'touch inh/n')"
	setfacl -k inh
	touch inh/after
	echo "after -k: $(stat -c %A inh/after)"
	getfacl -cp inh/after
	echo "xattr names: $(getfattr -m - --absolute-names inh/sub 2>/dev/null | grep -v '^#' | sort | tr '\n' ' ')"
	cd /
}

acl_script "$TMPFS_MNT" >"$WORK/acl.tmpfs" 2>&1
acl_script "$MNT" >"$WORK/acl.zsfs" 2>&1
if diff -u "$WORK/acl.tmpfs" "$WORK/acl.zsfs" >"$WORK/acl.diff"; then
	check "ACL behaviour as tmpfs ($(wc -l <"$WORK/acl.zsfs") lines)" true
else
	check "ACL behaviour as tmpfs" false
	sed 's/^/# /' "$WORK/acl.diff"
fi
check "ACL grants read to nobody" grep -q "nobody reads with ACL: yes" "$WORK/acl.zsfs"
check "mask denies" grep -q "nobody reads with mask ---: no" "$WORK/acl.zsfs"
check "default ACL inherited" grep -q "nobody writes inherited file: yes" "$WORK/acl.zsfs"
check "clean unmount" zs_umount
done_testing
