/*
 * options_parse.c - unit test of the mount option parser (options.h):
 * defaults, tmpfs's size syntax, every zsfs option, pass-through and
 * ignored generic options, and refusals naming the option.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "options.h"
#include "tap.h"

#define GiB (1024ull * 1024 * 1024)
#define RAM (8 * GiB)

static int parse(struct zsfs_options *o, const char *s, char *err, size_t cap)
{
	zsfs_options_init(o, RAM, 1000, 1000);
	return zsfs_options_parse(o, s, RAM, err, cap);
}

/* The option string is refused and the message contains @word. */
static void refused(const char *s, const char *word)
{
	struct zsfs_options o;
	char err[256];
	int rc = parse(&o, s, err, sizeof(err));

	TAP_OK(rc < 0 && strstr(err, word), "refused: %s (%s)", s, err);
}

int main(void)
{
	struct zsfs_options o;
	char err[256];
	uint64_t v;

	/* defaults */
	zsfs_options_init(&o, RAM, 1000, 1001);
	TAP_OK(o.size == RAM / 2, "default size is half of RAM");
	TAP_OK(o.nr_inodes == RAM / 4096 / 2, "default nr_inodes is half the RAM pages");
	TAP_OK(o.mode == 01777, "default mode 1777");
	TAP_OK(o.uid == 1000 && o.gid == 1001, "default owner is the mounter");
	TAP_OK(strcmp(o.compress, "lz4") == 0, "default codec lz4");
	TAP_OK(o.auto_compact == 1 && o.auto_unmount == 1, "auto_compact, auto_unmount on");
	TAP_OK(o.compact_share_bp == 500 && o.compact_min == 1 << 20 &&
	       o.compact_psi_bp == 1000,
	       "compactor thresholds default to 5%%, 1 MiB, PSI 10%%");
	TAP_OK(o.allow_other == 0 && o.fuse_opts[0] == '\0', "user mount: no allow_other, nothing passed");
	zsfs_options_init(&o, RAM, 0, 0);
	TAP_OK(o.allow_other == 1 && strcmp(o.fuse_opts, "suid,dev") == 0,
	       "root mount: allow_other, suid, dev");

	/* sizes */
	TAP_OK(zsfs_parse_size("4096", 0, RAM, &v) == 0 && v == 4096, "plain bytes");
	TAP_OK(zsfs_parse_size("64k", 0, RAM, &v) == 0 && v == 65536, "k suffix");
	TAP_OK(zsfs_parse_size("3M", 0, RAM, &v) == 0 && v == 3 << 20, "M suffix");
	TAP_OK(zsfs_parse_size("2g", 0, RAM, &v) == 0 && v == 2 * GiB, "g suffix");
	TAP_OK(zsfs_parse_size("1t", 0, RAM, &v) == 0 && v == 1024 * GiB, "t suffix");
	TAP_OK(zsfs_parse_size("25%", 1, RAM, &v) == 0 && v == 2 * GiB, "percent of RAM");
	TAP_OK(zsfs_parse_size("25%", 0, RAM, &v) == -EINVAL, "percent refused where not allowed");
	TAP_OK(zsfs_parse_size("101%", 1, RAM, &v) == -ERANGE, "more than 100%%");
	TAP_OK(zsfs_parse_size("16e", 0, RAM, &v) == -ERANGE, "16e overflows");
	TAP_OK(zsfs_parse_size("99999999999999999999", 0, RAM, &v) == -ERANGE, "overflow");
	TAP_OK(zsfs_parse_size("", 0, RAM, &v) == -EINVAL, "empty");
	TAP_OK(zsfs_parse_size("-1", 0, RAM, &v) == -EINVAL, "negative");
	TAP_OK(zsfs_parse_size("1kb", 0, RAM, &v) == -EINVAL, "two-letter suffix");
	TAP_OK(zsfs_parse_size(" 1", 0, RAM, &v) == -EINVAL, "leading space");

	/* zsfs options */
	TAP_OK(parse(&o, "size=64m,nr_inodes=10k,mode=0755,uid=5,gid=6", err, sizeof(err)) == 0 &&
	       o.size == 64 << 20 && o.nr_inodes == 10240 && o.mode == 0755 &&
	       o.uid == 5 && o.gid == 6, "size nr_inodes mode uid gid");
	TAP_OK(parse(&o, "size=50%", err, sizeof(err)) == 0 && o.size == 4 * GiB, "size=50%%");
	TAP_OK(parse(&o, "size=0,nr_inodes=0", err, sizeof(err)) == 0 && o.size == 0 &&
	       o.nr_inodes == 0, "0 means no limit");
	TAP_OK(parse(&o, "compress=zstd:5", err, sizeof(err)) == 0 &&
	       strcmp(o.compress, "zstd:5") == 0, "compress=zstd:5");
	TAP_OK(parse(&o, "compress=none", err, sizeof(err)) == 0, "compress=none");
	TAP_OK(parse(&o, "auto_compact=off", err, sizeof(err)) == 0 && o.auto_compact == 0,
	       "auto_compact=off");
	TAP_OK(parse(&o, "compact_share=2.5,compact_min=64k,compact_psi=20", err,
		     sizeof(err)) == 0 && o.compact_share_bp == 250 &&
	       o.compact_min == 65536 && o.compact_psi_bp == 2000,
	       "compact_share=2.5,compact_min=64k,compact_psi=20");
	TAP_OK(parse(&o, "compact_share=0,compact_min=0,compact_psi=0", err,
		     sizeof(err)) == 0 && o.compact_share_bp == 0 &&
	       o.compact_min == 0 && o.compact_psi_bp == 0,
	       "the thresholds at 0");
	TAP_OK(parse(&o, "compact_share=100,compact_min=1g,compact_psi=100.00", err,
		     sizeof(err)) == 0 && o.compact_share_bp == 10000 &&
	       o.compact_min == GiB && o.compact_psi_bp == 10000,
	       "the thresholds at 100%%, 1g");
	TAP_OK(parse(&o, "compact_share=0.01,compact_psi=99.99,compact_min=3M", err,
		     sizeof(err)) == 0 && o.compact_share_bp == 1 &&
	       o.compact_psi_bp == 9999 && o.compact_min == 3 << 20,
	       "hundredths, M suffix");
	TAP_OK(parse(&o, "compact_share=7.5,compact_share=05", err, sizeof(err)) == 0 &&
	       o.compact_share_bp == 500 && o.compact_psi_bp == 1000 &&
	       o.compact_min == 1 << 20,
	       "later compact_share wins; the others keep their defaults");
	TAP_OK(parse(&o, "size=1m,size=2m", err, sizeof(err)) == 0 && o.size == 2 << 20,
	       "later option wins");
	TAP_OK(parse(&o, ",,size=1m,", err, sizeof(err)) == 0 && o.size == 1 << 20,
	       "empty items ignored");
	TAP_OK(parse(&o, "noauto_unmount,allow_other", err, sizeof(err)) == 0 &&
	       o.auto_unmount == 0 && o.allow_other == 1, "auto_unmount/allow_other switches");

	/* pass-through and ignored */
	TAP_OK(parse(&o, "rw,nosuid,nodev,noexec,noatime,sync,dirsync", err, sizeof(err)) == 0 &&
	       strcmp(o.fuse_opts, "rw,nosuid,nodev,noexec,noatime,sync,dirsync") == 0 &&
	       o.atime == ZSFS_ATIME_NONE, "kernel flags passed through in order");
	TAP_OK(parse(&o, "ro", err, sizeof(err)) == 0 && o.read_only == 1 &&
	       strcmp(o.fuse_opts, "ro") == 0, "ro");
	TAP_OK(parse(&o, "defaults,auto,noauto,user,nouser,_netdev,nofail,x-systemd.automount,comment=foo",
		     err, sizeof(err)) == 0 && o.fuse_opts[0] == '\0', "mount(8) options ignored");
	TAP_OK(parse(&o, "default_permissions", err, sizeof(err)) == 0 && o.fuse_opts[0] == '\0',
	       "default_permissions accepted (always on)");
	TAP_OK(parse(&o, "fsname=a\\,b,subtype=x,max_read=131072", err, sizeof(err)) == 0 &&
	       o.has_fsname && o.has_subtype &&
	       strcmp(o.fuse_opts, "fsname=a\\,b,subtype=x,max_read=131072") == 0,
	       "fsname (escaped comma), subtype, max_read passed: %s", o.fuse_opts);

	/* refusals name the option */
	refused("size=abc", "size");
	refused("size=", "size");
	refused("size", "size");
	refused("size=10x", "size");
	refused("size=1k", "size");
	refused("nr_inodes=1q", "nr_inodes");
	refused("nr_inodes=5%", "nr_inodes");
	refused("mode=8", "mode");
	refused("mode=17777", "mode");
	refused("mode=", "mode");
	refused("uid=abc", "uid");
	refused("uid=-1", "uid");
	refused("gid=4294967295", "gid");
	refused("compress=lzma", "compress");
	refused("compress=zstd:99", "compress");
	refused("compress=", "compress");
	refused("auto_compact=maybe", "auto_compact");
	refused("compact_share", "compact_share");
	refused("compact_share=", "compact_share");
	refused("compact_share=abc", "compact_share");
	refused("compact_share=101", "compact_share");
	refused("compact_share=100.01", "compact_share");
	refused("compact_share=-1", "compact_share");
	refused("compact_share=+1", "compact_share");
	refused("compact_share=5%", "compact_share");
	refused("compact_share=5x", "compact_share");
	refused("compact_share=2.555", "compact_share");
	refused("compact_share=2.", "compact_share");
	refused("compact_share=.5", "compact_share");
	refused("compact_share=1e1", "compact_share");
	refused("compact_share= 5", "compact_share");
	refused("compact_share=99999999999999999999", "compact_share");
	zsfs_options_init(&o, RAM, 1000, 1000);
	TAP_OK(o.usrquota == 0 && o.grpquota == 0 && o.noswap == 0,
	       "quotas and noswap off by default");
	TAP_OK(parse(&o, "usrquota_block_hardlimit=10m,grpquota_inode_hardlimit=2k,noswap",
		     err, sizeof(err)) == 0 && o.usrquota && o.grpquota &&
	       o.usr_block_hardlimit == 10 << 20 && o.grp_inode_hardlimit == 2048 &&
	       o.usr_inode_hardlimit == 0 && o.noswap,
	       "quota hard limits imply usrquota/grpquota; noswap");
	refused("usrquota_block_hardlimit=0", "usrquota_block_hardlimit");
	refused("usrquota_inode_hardlimit=", "usrquota_inode_hardlimit");
	refused("grpquota_block_hardlimit=5%", "grpquota_block_hardlimit");
	refused("usrquota=on", "usrquota");
	refused("noswap=1", "noswap");
	refused("compact_min", "compact_min");
	refused("compact_min=", "compact_min");
	refused("compact_min=abc", "compact_min");
	refused("compact_min=-1", "compact_min");
	refused("compact_min=1x", "compact_min");
	refused("compact_min=1mb", "compact_min");
	refused("compact_min=1.5m", "compact_min");
	refused("compact_min=10%", "compact_min");
	refused("compact_min=16e", "compact_min");
	refused("compact_min=99999999999999999999", "compact_min");
	refused("compact_psi", "compact_psi");
	refused("compact_psi=", "compact_psi");
	refused("compact_psi=high", "compact_psi");
	refused("compact_psi=101", "compact_psi");
	refused("compact_psi=-5", "compact_psi");
	refused("compact_psi=10.123", "compact_psi");
	refused("compact_psi=10%", "compact_psi");
	refused("compact_psi=10,5", "5");	/* "5" alone is an unknown option */
	/* the backing file: the path and the size are parsed here, the file
	 * is checked at mount (tests/backing_basic) */
	zsfs_options_init(&o, RAM, 1000, 1000);
	TAP_OK(o.backing[0] == '\0' && o.backing_size == 0, "no backing file by default");
	TAP_OK(parse(&o, "backing=/var/tmp/zs\\,bd,backing_size=2g", err, sizeof(err)) == 0 &&
	       !strcmp(o.backing, "/var/tmp/zs,bd") && o.backing_size == 2 * GiB,
	       "backing=PATH (an escaped comma kept), backing_size=2g (%s)", err);
	TAP_OK(parse(&o, "backing=/d,backing_size=1m", err, sizeof(err)) == 0 &&
	       o.backing_size == 1 << 20, "backing_size=1m, the least");
	TAP_OK(parse(&o, "backing=/d,backing_size=2t", err, sizeof(err)) == 0 &&
	       o.backing_size == 2048 * GiB, "backing_size=2t, the most");
	TAP_OK(parse(&o, "backing=/d,backing_size=0", err, sizeof(err)) == 0 &&
	       o.backing_size == 0, "backing_size=0: the reused file's size");
	refused("backing", "backing");
	refused("backing=", "backing");
	refused("backing=relative/file", "absolute path");
	refused("backing_size", "backing_size");
	refused("backing_size=", "backing_size");
	refused("backing_size=512k", "1m..2t");
	refused("backing_size=3t", "1m..2t");
	refused("backing_size=10%", "backing_size");
	refused("backing_size=1.5g", "backing_size");
	refused("backing_size=-1", "backing_size");
	{
		char longp[1100] = "backing=/";

		memset(longp + 9, 'a', 1050);
		longp[1059] = '\0';
		refused(longp, "too long");
	}
	refused("bogus", "bogus");
	refused("bogus=1", "bogus");
	refused("rw=1", "rw");
	refused("fsname=", "fsname");
	refused("max_read=x", "max_read");
	refused("size=1m,bogus2", "bogus2");

	/* bounded output */
	{
		char big[9000];
		size_t i;

		for (i = 0; i + 7 < sizeof(big); i += 7)
			memcpy(big + i, "nosuid,", 7);
		big[i] = '\0';
		TAP_OK(parse(&o, big, err, sizeof(err)) == -E2BIG &&
		       strlen(o.fuse_opts) < sizeof(o.fuse_opts), "too many options: E2BIG");
		TAP_OK(parse(&o, "size=abc", err, 8) < 0 && strlen(err) == 7, "message truncated to err_cap");
	}
	/* a refused threshold leaves the struct's earlier value alone */
	zsfs_options_init(&o, RAM, 1000, 1000);
	TAP_OK(zsfs_options_parse(&o, "compact_share=3", RAM, err, sizeof(err)) == 0 &&
	       zsfs_options_parse(&o, "compact_share=300", RAM, err, sizeof(err)) < 0 &&
	       o.compact_share_bp == 300, "a refused compact_share changed nothing");
	TAP_OK(zsfs_options_parse(&o, "compact_min=2k", RAM, err, sizeof(err)) == 0 &&
	       zsfs_options_parse(&o, "compact_min=2q", RAM, err, sizeof(err)) < 0 &&
	       o.compact_min == 2048, "a refused compact_min changed nothing");
	TAP_OK(zsfs_options_parse(&o, "compact_psi=0", RAM, err, sizeof(err)) == 0 &&
	       zsfs_options_parse(&o, "compact_psi=x", RAM, err, sizeof(err)) < 0 &&
	       o.compact_psi_bp == 0, "a refused compact_psi changed nothing");
	return tap_done();
}
