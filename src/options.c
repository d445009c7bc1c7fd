/*
 * options.c - mount option parsing: tmpfs's names, zsfs's own options, and
 * the generic options of mount(8), the kernel and FUSE.  Sizes and
 * percentages are read by parse.c, the grammar the .zsctl commands share.
 *
 * The parser is a pure function (see options.h): it never mounts, prints
 * or exits, so a bad option is refused before anything is mounted.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backing.h"
#include "ctl.h"
#include "options.h"
#include "pagestore.h"
#include "parse.h"
#include "sysmem.h"

const char zsfs_options_help[] =
"zsfs options (-o opt[,opt...]):\n"
"    size=SIZE              cap on the memory used: the compressed data's\n"
"                           pool plus metadata (inodes, names, xattrs);\n"
"                           bytes with k/m/g/t/p/e suffix, or N% of RAM;\n"
"                           0 = no cap (default: 50%)\n"
"    nr_inodes=N            most inodes, k/m/g suffix; 0 = no limit\n"
"                           (default: half the RAM pages)\n"
"    mode=OCTAL             permissions of the root directory (default 1777)\n"
"    uid=N                  owner of the root directory (default: mounter)\n"
"    gid=N                  group of the root directory (default: mounter)\n"
"    compress=ALGO          lz4 (default), zstd, zstd:LEVEL (1..19) or none\n"
"    auto_compact=on|off    background compaction of the pool (default on)\n"
"    compact_share=PCT      compact when this share of the pool's pages is\n"
"                           freeable: 0..100, two decimals at most; 0 = any\n"
"                           (default 5)\n"
"    compact_min=SIZE       and when at least this many bytes are: k..e\n"
"                           suffix; 0 = any (default 1m)\n"
"    compact_psi=PCT        compact any freeable page when memory pressure\n"
"                           (PSI some avg10) reaches PCT; 0 = never\n"
"                           (default 10)\n"
"    min_free=SIZE          new writes get ENOSPC while the machine's\n"
"                           MemAvailable is below this: bytes with k/m/g/t\n"
"                           suffix, or N% of RAM; 0 = never (default: the\n"
"                           larger of 64m and 1%)\n"
"    noswap                 lock the pool's memory so the kernel never swaps\n"
"                           it out (needs RLIMIT_MEMLOCK >= size= + 8m, or\n"
"                           root)\n"
"    usrquota, grpquota     count, per uid (gid), the bytes their files\n"
"                           hold in the pool (compressed) and their inodes\n"
"    usrquota_block_hardlimit=SIZE, grpquota_block_hardlimit=SIZE\n"
"                           most pool bytes per uid (gid), k..e suffix;\n"
"                           writes past it get EDQUOT (implies usrquota or\n"
"                           grpquota)\n"
"    usrquota_inode_hardlimit=N, grpquota_inode_hardlimit=N\n"
"                           most inodes per uid (gid), k/m/g suffix\n"
"    oom_score_adj=N        the daemon's OOM killer score adjustment,\n"
"                           -1000..1000 (default -900, unless the daemon\n"
"                           inherited a non-zero value)\n"
"    recompress=off|on|lz4hc:N|zstd:N  settled pages recompressed in the\n"
"                           background at this level of the mount's codec\n"
"                           (default on = lz4hc:9 / zstd:9)\n"
"    dedup=on|off           pages whose bytes are stored already share them\n"
"                           (default " ZSFS_DEDUP_DEFAULT_STR ")\n"
"    dict=auto|off|PATH     compression dictionaries: trained from the\n"
"                           mount's pages (default), none, or this file\n"
"    settle_delay=SECONDS   a file settles this long after its last write\n"
"                           (default 2; 0 = at once)\n"
"    settle_cpu=PCT         CPU the background recompression may use, in\n"
"                           percent of one core (default 25; 100 = no cap)\n"
"    backing=PATH           a file where compressed pages can go when RAM\n"
"                           is short: created 0600, or reused when it is\n"
"                           empty or a zsfs backing file; a directory gets\n"
"                           an unnamed file; absolute path (default: none)\n"
"    backing_size=SIZE      its size, k/m/g/t suffix, 1m..2t (default: the\n"
"                           reused file's size)\n"
"    io_uring=on|off|auto   FUSE over io_uring, one queue per CPU: required,\n"
"                           never, or when the kernel allows it (default\n"
"                           " ZSFS_URING_DEFAULT_STR ")\n"
"    allow_other            let every user access the mount (default when\n"
"                           mounted by root)\n"
"    noallow_other          only the mounting user may access the mount\n"
"    allow_root             let the mounting user and root access it\n"
"    auto_unmount           unmount when the daemon dies (default)\n"
"    noauto_unmount         leave a dead mount behind when the daemon dies\n"
"    default_permissions    kernel permission checks (always on)\n"
"    fsname=NAME            source shown in /proc/mounts (default: the\n"
"                           SOURCE argument, else \"zsfs\")\n"
"    subtype=NAME           type shown as fuse.NAME (default: zsfs)\n"
"    max_read=N             largest read request (at least 4096)\n"
"    ro, rw, suid, nosuid, dev, nodev, exec, noexec, sync, async, dirsync\n"
"                           generic mount flags, passed to the kernel;\n"
"                           mounted by root, suid and dev are on (as on\n"
"                           tmpfs) unless nosuid/nodev; mount.fuse3 adds\n"
"                           nosuid,nodev unless suid/dev are given\n"
"    relatime (default), strictatime, norelatime, noatime, atime\n"
"                           when reads update access times (zsfs keeps\n"
"                           them; the kernel leaves that to FUSE)\n"
"    nodiratime, diratime   whether listing a directory updates its atime\n"
"    nostrictatime, lazytime, nolazytime\n"
"                           accepted, no effect\n"
"    defaults, auto, noauto, user, nouser, users, owner, group, _netdev,\n"
"    nofail, comment=..., x-...\n"
"                           used by mount(8) and fstab; ignored\n";

/* Options handed to FUSE unchanged: kernel mount flags and FUSE's own. */
static const char *const pass_flags[] = {
	"rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"async", "sync", "dirsync", "atime", "noatime", NULL,
};

/* Access-time flags libfuse cannot pass to mount(2): the kernel leaves
 * atime to a FUSE filesystem anyway, so zsfs applies them itself. */
static const char *const atime_flags[] = {
	"diratime", "nodiratime", "relatime", "norelatime", "strictatime",
	"nostrictatime", "lazytime", "nolazytime", NULL,
};

/* Options for mount(8) and fstab only. */
static const char *const ignored_flags[] = {
	"defaults", "auto", "noauto", "user", "nouser", "users", "owner",
	"group", "_netdev", "nofail", "default_permissions", "loop", "silent",
	"loud", NULL,
};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* A decimal id that fits uid_t/gid_t and is not (uid_t)-1. */
static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= 0xffffffffULL)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_mode(const char *s, mode_t *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (unsigned long)(*s - '0');
		if (v > 07777)
			return -EINVAL;
	}
	*out = (mode_t)v;
	return 0;
}

/* Append one option (already escaped as needed) to fuse_opts. */
static int pass_opt(struct zsfs_options *o, const char *opt, char *err,
		    size_t err_cap)
{
	size_t have = strlen(o->fuse_opts), len = strlen(opt);

	if (have + (have ? 1 : 0) + len + 1 > sizeof(o->fuse_opts)) {
		snprintf(err, err_cap, "options too long at '%s'", opt);
		return -E2BIG;
	}
	if (have)
		o->fuse_opts[have++] = ',';
	memcpy(o->fuse_opts + have, opt, len + 1);
	return 0;
}

/* Append "key=value" with commas and backslashes in value escaped. */
static int pass_kv(struct zsfs_options *o, const char *key, const char *val,
		   char *err, size_t err_cap)
{
	char buf[1024];
	size_t n = 0, i;
	int w = snprintf(buf, sizeof(buf), "%s=", key);

	if (w < 0 || (size_t)w >= sizeof(buf))
		goto toolong;
	n = (size_t)w;
	for (i = 0; val[i]; i++) {
		if (n + 3 > sizeof(buf))
			goto toolong;
		if (val[i] == ',' || val[i] == '\\')
			buf[n++] = '\\';
		buf[n++] = val[i];
	}
	buf[n] = '\0';
	return pass_opt(o, buf, err, err_cap);
toolong:
	snprintf(err, err_cap, "option %s= value too long", key);
	return -E2BIG;
}

void zsfs_options_init(struct zsfs_options *o, uint64_t ram_bytes,
		       uid_t uid, gid_t gid)
{
	memset(o, 0, sizeof(*o));
	o->size = ram_bytes / 2 / ZSFS_PAGE_SIZE * ZSFS_PAGE_SIZE;
	o->nr_inodes = ram_bytes / ZSFS_PAGE_SIZE / 2;
	o->mode = 01777;
	o->uid = uid;
	o->gid = gid;
	strcpy(o->compress, "lz4");
	o->auto_compact = 1;
	o->compact_share_bp = ZSFS_AC_MIN_SHARE_BP;
	o->compact_psi_bp = ZSFS_AC_PSI_BP;
	o->compact_min = ZSFS_AC_MIN_BYTES;
	o->allow_other = uid == 0;
	o->auto_unmount = 1;
	o->min_free = zsfs_min_free_default(ram_bytes);
	o->oom_score_adj = ZSFS_OOM_SCORE_ADJ_DEFAULT;
	o->settle_delay = ZSFS_SETTLE_DELAY_DEFAULT;
	o->settle_cpu = ZSFS_SETTLE_CPU_DEFAULT;
	o->io_uring = ZSFS_URING_DEFAULT;
#ifdef HAVE_XXHASH
	o->dedup = ZSFS_DEDUP_DEFAULT;
#endif
	/* libfuse mounts nosuid,nodev unless told otherwise; tmpfs mounted by
	 * root has device nodes and setuid files working.  Later nosuid/nodev
	 * options override these. */
	if (uid == 0)
		strcpy(o->fuse_opts, "suid,dev");
}

#define BAD(...) do { snprintf(err, err_cap, __VA_ARGS__); return -EINVAL; } while (0)

/* The memory-safety options (sysmem.h).  Return 1 when @key is not one
 * of them, else 0 or -EINVAL. */
static int apply_mem_opt(struct zsfs_options *o, const char *key,
			 const char *val, uint64_t ram_bytes, char *err,
			 size_t err_cap)
{
	uint64_t n;

	if (strcmp(key, "min_free") == 0) {
		if (!val || zsfs_parse_size(val, 1, ram_bytes, &n) < 0)
			BAD("bad value for min_free: '%s' (bytes with k/m/g/t suffix, or N%%)",
			    val ? val : "");
		o->min_free = n;
		return 0;
	}
	if (strcmp(key, "oom_score_adj") == 0) {
		char *end;
		long v;

		errno = 0;
		v = val && *val ? strtol(val, &end, 10) : 0;
		if (!val || !*val || errno || *end || v < ZSFS_OOM_SCORE_ADJ_MIN ||
		    v > ZSFS_OOM_SCORE_ADJ_MAX)
			BAD("bad value for oom_score_adj: '%s' (-1000..1000)",
			    val ? val : "");
		o->oom_score_adj = (int)v;
		o->has_oom_score_adj = 1;
		return 0;
	}
	return 1;
}

/* Background recompression and dictionaries, dedup= and io_uring=.  Return 1
 * when @key is not
 * one of them, else 0 or -EINVAL.  recompress= and dict= are checked
 * against the codec when the store is made (mount time). */
static int apply_settle_opt(struct zsfs_options *o, const char *key,
			    const char *val, char *err, size_t err_cap)
{
	unsigned long v;
	char *end;

	if (strcmp(key, "recompress") == 0) {
		if (!val || !*val || strlen(val) >= sizeof(o->recompress))
			BAD("bad value for recompress: '%s' (off, lz4hc:N or zstd:N)",
			    val ? val : "");
		strcpy(o->recompress, val);
		return 0;
	}
	if (strcmp(key, "dedup") == 0) {
		if (!val || (strcmp(val, "on") && strcmp(val, "off")))
			BAD("bad value for dedup: '%s' (on or off)",
			    val ? val : "");
		o->dedup = !strcmp(val, "on");
		return 0;
	}
	if (strcmp(key, "io_uring") == 0) {
		if (!val || !strcmp(val, "on"))
			o->io_uring = ZSFS_URING_ON;
		else if (!strcmp(val, "off"))
			o->io_uring = ZSFS_URING_OFF;
		else if (!strcmp(val, "auto"))
			o->io_uring = ZSFS_URING_AUTO;
		else
			BAD("bad value for io_uring: '%s' (on, off or auto)", val);
		return 0;
	}
	if (strcmp(key, "dict") == 0) {
		if (!val || !*val || strlen(val) >= sizeof(o->dict))
			BAD("bad value for dict: '%s' (auto, off or a file)",
			    val ? val : "");
		strcpy(o->dict, val);
		return 0;
	}
	if (strcmp(key, "settle_delay") == 0 || strcmp(key, "settle_cpu") == 0) {
		bool cpu = key[7] == 'c';

		errno = 0;
		v = val && *val ? strtoul(val, &end, 10) : 0;
		if (!val || !*val || errno || *end || *val == '-' ||
		    (cpu ? v < 1 || v > 100 : v > 3600))
			BAD("bad value for %s: '%s' (%s)", key, val ? val : "",
			    cpu ? "1..100 percent of one core" : "0..3600 seconds");
		if (cpu)
			o->settle_cpu = (unsigned)v;
		else
			o->settle_delay = (unsigned)v;
		return 0;
	}
	return 1;
}

/* backing= and backing_size= (backing.h).  Return 1 when @key is not one
 * of them, else 0 or -EINVAL.  The file itself is checked at mount. */
static int apply_backing_opt(struct zsfs_options *o, const char *key,
			     const char *val, char *err, size_t err_cap)
{
	uint64_t n;
	int rc;

	if (strcmp(key, "backing") == 0) {
		if (!val || !*val)
			BAD("bad value for backing: '%s' (a file or a directory)",
			    val ? val : "");
		if (val[0] != '/')
			BAD("bad value for backing: '%s' (an absolute path)", val);
		if (strlen(val) >= sizeof(o->backing))
			BAD("bad value for backing: '%.40s...' (path too long: %d bytes at most)",
			    val, ZSFS_BACKING_PATH_CAP - 1);
		strcpy(o->backing, val);
		return 0;
	}
	if (strcmp(key, "backing_size") == 0) {
		/* no N%: RAM says nothing about the disk */
		rc = val ? zsfs_parse_size(val, 0, 0, &n) : -EINVAL;
		if (rc == 0 && n && (n < ZSFS_BACKING_SIZE_MIN ||
				     n > ZSFS_BACKING_SIZE_MAX))
			rc = -ERANGE;
		if (rc < 0)
			BAD("bad value for backing_size: '%s' (%s: bytes with k/m/g/t suffix, 1m..2t)",
			    val ? val : "", zsfs_parse_strerror(rc));
		o->backing_size = n;
		return 0;
	}
	return 1;
}

/* tmpfs's quota options and noswap.  Return 1 when @key is not one of
 * them, else 0 or -EINVAL. */
static int apply_quota_opt(struct zsfs_options *o, const char *key,
			   const char *val, char *err, size_t err_cap)
{
	static const struct {
		const char *key;
		size_t off;
		int grp, inodes;
	} lim[] = {
		{ "usrquota_block_hardlimit",
		  offsetof(struct zsfs_options, usr_block_hardlimit), 0, 0 },
		{ "usrquota_inode_hardlimit",
		  offsetof(struct zsfs_options, usr_inode_hardlimit), 0, 1 },
		{ "grpquota_block_hardlimit",
		  offsetof(struct zsfs_options, grp_block_hardlimit), 1, 0 },
		{ "grpquota_inode_hardlimit",
		  offsetof(struct zsfs_options, grp_inode_hardlimit), 1, 1 },
	};
	uint64_t n;
	size_t i;
	int rc;

	if (!strcmp(key, "noswap") || !strcmp(key, "usrquota") ||
	    !strcmp(key, "grpquota")) {
		if (val)
			BAD("option %s takes no value: '%s=%s'", key, key, val);
		if (key[0] == 'n')
			o->noswap = 1;
		else if (key[0] == 'u')
			o->usrquota = 1;
		else
			o->grpquota = 1;
		return 0;
	}
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if (strcmp(key, lim[i].key))
			continue;
		rc = val ? zsfs_parse_size(val, 0, 0, &n) : -EINVAL;
		if (rc == 0 && (n == 0 || n >= (UINT64_C(1) << 63)))
			rc = n ? -ERANGE : -EINVAL;
		if (rc < 0)
			BAD("bad value for %s: '%s' (%s: %s with k/m/g/t/p/e suffix, more than 0)",
			    key, val ? val : "", zsfs_parse_strerror(rc),
			    lim[i].inodes ? "a count" : "bytes");
		memcpy((char *)o + lim[i].off, &n, sizeof(n));
		if (lim[i].grp)
			o->grpquota = 1;
		else
			o->usrquota = 1;
		return 0;
	}
	return 1;
}

/* Apply one option: @key, and @val (NULL when there was no '='). */
static int apply_opt(struct zsfs_options *o, const char *key, const char *val,
		     uint64_t ram_bytes, char *err, size_t err_cap)
{
	uint64_t n;
	unsigned id;
	int rc;

	rc = apply_mem_opt(o, key, val, ram_bytes, err, err_cap);
	if (rc != 1)
		return rc;
	rc = apply_settle_opt(o, key, val, err, err_cap);
	if (rc != 1)
		return rc;
	rc = apply_quota_opt(o, key, val, err, err_cap);
	if (rc != 1)
		return rc;
	rc = apply_backing_opt(o, key, val, err, err_cap);
	if (rc != 1)
		return rc;
	if (strcmp(key, "size") == 0) {
		rc = val ? zsfs_parse_size(val, 1, ram_bytes, &n) : -EINVAL;
		if (rc < 0)
			BAD("bad value for size: '%s' (%s)", val ? val : "",
			    zsfs_parse_strerror(rc));
		if (n && n < 64 * ZSFS_PAGE_SIZE)
			BAD("bad value for size: '%s' (at least 256k, or 0 for no cap)", val);
		o->size = n;
	} else if (strcmp(key, "nr_inodes") == 0) {
		rc = val ? zsfs_parse_size(val, 0, ram_bytes, &n) : -EINVAL;
		if (rc < 0)
			BAD("bad value for nr_inodes: '%s' (%s)", val ? val : "",
			    zsfs_parse_strerror(rc));
		if (n && n < 2)
			BAD("bad value for nr_inodes: '%s' (at least 2)", val);
		o->nr_inodes = n;
	} else if (strcmp(key, "mode") == 0) {
		if (!val || parse_mode(val, &o->mode) < 0)
			BAD("bad value for mode: '%s' (octal, at most 7777)", val ? val : "");
	} else if (strcmp(key, "uid") == 0) {
		if (!val || parse_id(val, &id) < 0)
			BAD("bad value for uid: '%s'", val ? val : "");
		o->uid = id;
	} else if (strcmp(key, "gid") == 0) {
		if (!val || parse_id(val, &id) < 0)
			BAD("bad value for gid: '%s'", val ? val : "");
		o->gid = id;
	} else if (strcmp(key, "compress") == 0) {
		char why[256];

		if (!val || !*val || strlen(val) >= sizeof(o->compress))
			BAD("bad value for compress: '%s'", val ? val : "");
		why[0] = '\0';
		if (zsfs_codec_check(val, why, sizeof(why)) < 0)
			BAD("bad value for compress: '%s'%s%s", val,
			    why[0] ? ": " : "", why);
		strcpy(o->compress, val);
	} else if (strcmp(key, "auto_compact") == 0) {
		if (val && (strcmp(val, "on") == 0 || strcmp(val, "1") == 0 ||
			    strcmp(val, "yes") == 0))
			o->auto_compact = 1;
		else if (val && (strcmp(val, "off") == 0 || strcmp(val, "0") == 0 ||
				 strcmp(val, "no") == 0))
			o->auto_compact = 0;
		else
			BAD("bad value for auto_compact: '%s' (on or off)", val ? val : "");
	} else if (strcmp(key, "compact_share") == 0 || strcmp(key, "compact_psi") == 0) {
		unsigned bp;

		rc = val ? zsfs_parse_pct(val, strlen(val), &bp) : -EINVAL;
		if (rc < 0)
			BAD("bad value for %s: '%s' (%s: a percent 0..100, at most two decimals, e.g. 5 or 2.5)",
			    key, val ? val : "", zsfs_parse_strerror(rc));
		if (strcmp(key, "compact_share") == 0)
			o->compact_share_bp = bp;
		else
			o->compact_psi_bp = bp;
	} else if (strcmp(key, "compact_min") == 0) {
		/* no N%: RAM has nothing to do with what is freeable */
		rc = val ? zsfs_parse_size(val, 0, ram_bytes, &n) : -EINVAL;
		if (rc < 0)
			BAD("bad value for compact_min: '%s' (%s: bytes, with k/m/g/t/p/e suffix)",
			    val ? val : "", zsfs_parse_strerror(rc));
		o->compact_min = n;
	} else if (strcmp(key, "fsname") == 0 || strcmp(key, "subtype") == 0) {
		if (!val || !*val)
			BAD("bad value for %s: '%s'", key, val ? val : "");
		if (key[0] == 'f')
			o->has_fsname = 1;
		else
			o->has_subtype = 1;
		return pass_kv(o, key, val, err, err_cap);
	} else if (strcmp(key, "max_read") == 0) {
		if (!val || parse_id(val, &id) < 0 || id < 4096)
			BAD("bad value for max_read: '%s' (at least 4096)", val ? val : "");
		o->max_read = id;
		return pass_kv(o, key, val, err, err_cap);
	} else if (strcmp(key, "comment") == 0 || strncmp(key, "x-", 2) == 0) {
		/* fstab annotations */
	} else if (val) {
		BAD("unknown option: '%s=%s'", key, val);
	} else if (strcmp(key, "allow_other") == 0) {
		o->allow_other = 1;
	} else if (strcmp(key, "noallow_other") == 0) {
		o->allow_other = 0;
	} else if (strcmp(key, "allow_root") == 0) {
		o->allow_other = 0;
		return pass_opt(o, key, err, err_cap);
	} else if (strcmp(key, "auto_unmount") == 0) {
		o->auto_unmount = 1;
	} else if (strcmp(key, "noauto_unmount") == 0) {
		o->auto_unmount = 0;
	} else if (strcmp(key, "ro") == 0 || strcmp(key, "rw") == 0) {
		o->read_only = key[1] == 'o';
		return pass_opt(o, key, err, err_cap);
	} else if (in_list(pass_flags, key) || in_list(atime_flags, key)) {
		if (strcmp(key, "noatime") == 0)
			o->atime = ZSFS_ATIME_NONE;
		else if (strcmp(key, "strictatime") == 0 || strcmp(key, "norelatime") == 0)
			o->atime = ZSFS_ATIME_STRICT;
		else if (strcmp(key, "relatime") == 0 || strcmp(key, "atime") == 0)
			o->atime = ZSFS_ATIME_RELATIME;
		else if (strcmp(key, "nodiratime") == 0 || strcmp(key, "diratime") == 0)
			o->nodiratime = key[1] == 'o';
		if (in_list(atime_flags, key))
			return 0;
		rc = pass_opt(o, key, err, err_cap);
		if (rc < 0)
			return rc;
	} else if (in_list(ignored_flags, key)) {
		/* mount(8)'s business */
	} else {
		BAD("unknown option: '%s'", key);
	}
	return 0;
}

int zsfs_options_parse(struct zsfs_options *o, const char *optstring,
		       uint64_t ram_bytes, char *err, size_t err_cap)
{
	char item[1024];
	const char *p = optstring;
	int rc;

	if (err_cap)
		err[0] = '\0';
	while (*p) {
		size_t n = 0;
		char *eq;

		/* Split at unescaped commas; keep escapes out of the item. */
		while (*p && *p != ',') {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 >= sizeof(item)) {
				snprintf(err, err_cap, "option too long: '%.40s...'", item);
				return -EINVAL;
			}
			item[n++] = *p++;
			item[n] = '\0';
		}
		if (*p == ',')
			p++;
		if (n == 0)
			continue;
		item[n] = '\0';
		eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		rc = apply_opt(o, item, eq ? eq + 1 : NULL, ram_bytes, err, err_cap);
		if (rc < 0)
			return rc;
	}
	return 0;
}
