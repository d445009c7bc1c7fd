/*
 * ctl_xattr.c - the reserved xattrs user.zsfs.*: on any inode of the
 * mount, the same control plane as .zsctl, reachable from any path.
 *
 *	user.zsfs.stats     read-only: the .zsctl text (ctl_text.c)
 *	user.zsfs.stored    read-only: pool bytes of this file's pages, a
 *	                    shared object counted in full (what the file
 *	                    would hold alone)
 *	user.zsfs.shared    read-only: the part of stored in objects shared
 *	                    with other pages (of this file or others)
 *	user.zsfs.pages     read-only: "compressed N raw N same N holes N
 *	                    dirty N dict N" (dict: of the compressed, those
 *	                    stored with a dictionary), holes being the pages below the size
 *	                    that hold no data
 *	user.zsfs.compact   write-only: "1" (or "1\n") compacts now, for root
 *	                    and the mount's owner, as the compact command
 * The filesystem (ops_xattr.c) routes every user.zsfs.* name here and
 * never stores, lists or removes one; it passes the file's page
 * statistics, which this file only formats.
 *
 * lock ordering: none of its own; the text and compaction take theirs.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"

#define XATTR_COMPACT ZSFS_XATTR_PREFIX "compact"
#define XATTR_STATS ZSFS_XATTR_PREFIX "stats"
#define XATTR_STORED ZSFS_XATTR_PREFIX "stored"
#define XATTR_PAGES ZSFS_XATTR_PREFIX "pages"
#define XATTR_SHARED ZSFS_XATTR_PREFIX "shared"

int zsfs_ctl_xattr_is_reserved(const char *name)
{
	return name && !strncmp(name, ZSFS_XATTR_PREFIX,
				sizeof(ZSFS_XATTR_PREFIX) - 1);
}

static int xattr_printf(char **valuep, size_t *lenp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int xattr_printf(char **valuep, size_t *lenp, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	*valuep = v;
	if (lenp)
		*lenp = (size_t)n;
	return 0;
}

int zsfs_ctl_xattr_get(struct zsfs_ctl *ctl, const char *name,
		       const struct zsfs_file_stats *fst, uint64_t file_size,
		       char **valuep, size_t *lenp)
{
	static const struct zsfs_file_stats none;

	if (!ctl || !name || !valuep)
		return -EINVAL;
	if (!fst)
		fst = &none;
	if (!strcmp(name, XATTR_STATS))
		return zsfs_ctl_stats_text(ctl, valuep, lenp);
	if (!strcmp(name, XATTR_STORED))
		return xattr_printf(valuep, lenp, "%zu", fst->stored_bytes);
	if (!strcmp(name, XATTR_SHARED))
		return xattr_printf(valuep, lenp, "%zu", fst->shared_bytes);
	if (!strcmp(name, XATTR_PAGES)) {
		/* pages within the size that hold no data are holes */
		uint64_t in_size = fst == &none ? 0 :
			(file_size + ZSFS_PAGE_SIZE - 1) >> ZSFS_PAGE_SHIFT;
		uint64_t data = (uint64_t)fst->pages_compressed + fst->pages_raw +
				fst->pages_same + fst->pages_dirty;
		uint64_t holes = in_size > data ? in_size - data : 0;

		return xattr_printf(valuep, lenp,
				    "compressed %zu raw %zu same %zu holes %" PRIu64
				    " dirty %zu dict %zu", fst->pages_compressed,
				    fst->pages_raw, fst->pages_same, holes,
				    fst->pages_dirty, fst->pages_dict);
	}
	/* user.zsfs.compact is write-only; anything else is unknown */
	return -ENODATA;
}

int zsfs_ctl_xattr_set(struct zsfs_ctl *ctl, uid_t uid, const char *name,
		       const char *value, size_t len)
{
	if (!ctl || !name || (!value && len))
		return -EINVAL;
	if (!strcmp(name, XATTR_STATS) || !strcmp(name, XATTR_STORED) ||
	    !strcmp(name, XATTR_PAGES) || !strcmp(name, XATTR_SHARED))
		return -EPERM; /* read-only */
	if (strcmp(name, XATTR_COMPACT))
		return -ENOTSUP;
	if (!ctl_may_command(ctl, uid))
		return -EPERM;
	if (!((len == 1 && value[0] == '1') ||
	      (len == 2 && value[0] == '1' && value[1] == '\n')))
		return -EINVAL;
	zsfs_budget_reclaim(ctl->budget, ZSFS_RECLAIM_MANUAL);
	return 0;
}
