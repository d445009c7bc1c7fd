/*
 * memcg.c - finding and reading the daemon's memory cgroup limit (see
 * memcg.h for the contract).
 *
 * Resolution, once, at open:
 *  1. ROOT/proc/self/cgroup: "ID:CONTROLLERS:PATH" lines.  A v1 line
 *     whose controller list holds "memory" gives the v1 path; the line
 *     "0::PATH" gives the v2 (unified) path.
 *  2. ROOT/proc/self/mountinfo: a "cgroup" mount whose super options hold
 *     "memory" is the v1 memory hierarchy; a "cgroup2" mount is the
 *     unified one.  Field 4 is the part of the hierarchy the mount shows
 *     (not "/" in a container that sees only its own subtree), so the
 *     directory is MOUNTPOINT + (PATH less that prefix); when that is not
 *     a directory (a cgroup namespace), the mount point itself.
 *  3. v1 wins when both exist: a controller is bound to one hierarchy
 *     only, and in the "hybrid" layout the unified hierarchy has no memory
 *     controller.
 *  4. The limit files of the directory and of each parent up to the mount
 *     point are remembered, the cgroup's own first.
 *
 * The files are re-read on every zsfs_memcg_read(); nothing is cached
 * between reads, so a limit changed with `systemctl set-property` or by
 * writing the file is seen at the next read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memcg.h"

/* Levels walked up from the cgroup; systemd nests 3 to 6 deep. */
#define MEMCG_MAX_DEPTH 32
/* The files a level has: v1 one, v2 two. */
#define MEMCG_MAX_FILES (2 * MEMCG_MAX_DEPTH)
/* A value at or above this is "no limit": v1 reports PAGE_COUNTER_MAX
 * pages (LONG_MAX rounded down to a page, 9223372036854771712) for an
 * unlimited cgroup; no machine has 4 EiB. */
#define MEMCG_UNLIMITED (UINT64_C(1) << 62)
/* Longest line of /proc/self/mountinfo or /proc/self/cgroup we parse. */
#define MEMCG_LINE_CAP 8192

struct zsfs_memcg {
	int version;                 /* 0, 1, 2 */
	size_t root_len;             /* bytes of the root prefix to hide */
	unsigned nfiles;
	char *files[MEMCG_MAX_FILES]; /* limit files, the cgroup's first */
	char *usage;                 /* the cgroup's usage file, or NULL */
	char *leaf;                  /* the cgroup's directory, or NULL */
};

/* Join @root and @path ("/" root adds nothing). */
static char *path_join(const char *root, const char *path)
{
	size_t rl = strlen(root), pl = strlen(path);
	char *s;

	while (rl && root[rl - 1] == '/')
		rl--;
	s = malloc(rl + pl + 2);
	if (!s)
		return NULL;
	memcpy(s, root, rl);
	if (path[0] != '/')
		s[rl++] = '/';
	memcpy(s + rl, path, pl + 1);
	return s;
}

/* Does the comma-separated @list hold @word? */
static int list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == wl && strncmp(p, word, wl) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

struct cg_paths {
	char v1[MEMCG_LINE_CAP];     /* "" = none */
	char v2[MEMCG_LINE_CAP];
	int has_v1, has_v2;
};

static void read_proc_cgroup(const char *root, struct cg_paths *cp)
{
	char line[MEMCG_LINE_CAP];
	char *file = path_join(root, "/proc/self/cgroup");
	FILE *f = file ? fopen(file, "re") : NULL;

	free(file);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *nl;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = *c2 = '\0';
		nl = strchr(c2 + 1, '\n');
		if (nl)
			*nl = '\0';
		if (strcmp(line, "0") == 0 && c1[1] == '\0') {
			snprintf(cp->v2, sizeof(cp->v2), "%s", c2 + 1);
			cp->has_v2 = 1;
		} else if (list_has(c1 + 1, "memory")) {
			snprintf(cp->v1, sizeof(cp->v1), "%s", c2 + 1);
			cp->has_v1 = 1;
		}
	}
	fclose(f);
}

struct cg_mount {
	char dir[MEMCG_LINE_CAP];    /* mount point */
	char base[MEMCG_LINE_CAP];   /* the hierarchy's path shown there */
	int found;
};

/* Find the v1 memory mount (@want_v1) or the cgroup2 mount. */
static void read_mountinfo(const char *root, int want_v1, struct cg_mount *m)
{
	char line[MEMCG_LINE_CAP];
	char *file = path_join(root, "/proc/self/mountinfo");
	FILE *f = file ? fopen(file, "re") : NULL;

	free(file);
	if (!f)
		return;
	while (!m->found && fgets(line, sizeof(line), f)) {
		char *field[6], *rest, *tail, *fstype, *src, *opts, *save = NULL;
		char *p = line;
		int i;

		for (i = 0; i < 6; i++) {
			field[i] = strtok_r(p, " \n", &save);
			p = NULL;
			if (!field[i])
				break;
		}
		if (i < 6)
			continue;
		/* optional fields until "-", then type, source, super opts */
		rest = field[5] + strlen(field[5]) + 1;
		if (strncmp(rest, "- ", 2) == 0)
			tail = rest + 2;
		else if ((tail = strstr(rest, " - ")))
			tail += 3;
		else
			continue;
		fstype = strtok_r(tail, " \n", &save);
		src = fstype ? strtok_r(NULL, " \n", &save) : NULL;
		opts = src ? strtok_r(NULL, " \n", &save) : NULL;
		if (!fstype)
			continue;
		if (want_v1 ? strcmp(fstype, "cgroup") != 0 || !opts ||
				      !list_has(opts, "memory")
			    : strcmp(fstype, "cgroup2") != 0)
			continue;
		unescape_octal(field[3]);
		unescape_octal(field[4]);
		snprintf(m->base, sizeof(m->base), "%s", field[3]);
		snprintf(m->dir, sizeof(m->dir), "%s", field[4]);
		m->found = 1;
	}
	fclose(f);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The cgroup's directory under the root: mount point + (path - base). */
static char *leaf_dir(const char *root, const struct cg_mount *m,
		      const char *path)
{
	size_t bl = strlen(m->base);
	const char *rel = path;
	char *mnt, *dir;

	if (strcmp(m->base, "/") != 0) {
		if (strncmp(path, m->base, bl) == 0 &&
		    (path[bl] == '/' || path[bl] == '\0'))
			rel = path + bl;
		else
			rel = "";    /* not below what the mount shows */
	}
	mnt = path_join(root, m->dir);
	if (!mnt)
		return NULL;
	dir = path_join(mnt, rel);
	if (dir && (!is_dir(dir) || strcmp(rel, "/") == 0 || !*rel)) {
		free(dir);
		return mnt;
	}
	free(mnt);
	return dir;
}

static int add_file(struct zsfs_memcg *mc, const char *dir, const char *name)
{
	char *s;

	if (mc->nfiles >= MEMCG_MAX_FILES)
		return 0;
	s = path_join(dir, name);
	if (!s)
		return -ENOMEM;
	mc->files[mc->nfiles++] = s;
	return 0;
}

/* Remember the limit files from @leaf up to @top (both included). */
static int collect(struct zsfs_memcg *mc, char *leaf, const char *top)
{
	size_t tl = strlen(top);
	char *dir = strdup(leaf);
	unsigned depth;
	int rc = -ENOMEM;

	if (!dir)
		return -ENOMEM;
	for (depth = 0; depth < MEMCG_MAX_DEPTH; depth++) {
		char *slash;

		if (mc->version == 1)
			rc = add_file(mc, dir, "memory.limit_in_bytes");
		else if ((rc = add_file(mc, dir, "memory.max")) == 0)
			rc = add_file(mc, dir, "memory.high");
		if (rc < 0 || strlen(dir) <= tl)
			break;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < tl)
			break;
		*slash = '\0';
	}
	free(dir);
	return rc;
}

int zsfs_memcg_open(const char *root, struct zsfs_memcg **out)
{
	struct zsfs_memcg *mc;
	struct cg_paths *cp = NULL;
	struct cg_mount *m = NULL;
	char *top = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (!root || !*root)
		root = "/";
	mc = calloc(1, sizeof(*mc));
	cp = calloc(1, sizeof(*cp));
	m = calloc(1, sizeof(*m));
	if (!mc || !cp || !m)
		goto fail;
	mc->root_len = strlen(root);
	while (mc->root_len && root[mc->root_len - 1] == '/')
		mc->root_len--;

	read_proc_cgroup(root, cp);
	if (cp->has_v1) {
		read_mountinfo(root, 1, m);
		if (m->found)
			mc->version = 1;
	}
	if (!mc->version && cp->has_v2) {
		memset(m, 0, sizeof(*m));
		read_mountinfo(root, 0, m);
		if (m->found)
			mc->version = 2;
	}
	if (mc->version) {
		top = path_join(root, m->dir);
		mc->leaf = leaf_dir(root, m, mc->version == 1 ? cp->v1 : cp->v2);
		if (!top || !mc->leaf)
			goto fail;
		mc->usage = path_join(mc->leaf, mc->version == 1
				      ? "memory.usage_in_bytes" : "memory.current");
		if (!mc->usage)
			goto fail;
		rc = collect(mc, mc->leaf, top);
		if (rc < 0)
			goto fail;
	}
	rc = 0;
	*out = mc;
	mc = NULL;
fail:
	free(top);
	free(m);
	free(cp);
	zsfs_memcg_close(mc);
	return rc;
}

void zsfs_memcg_close(struct zsfs_memcg *mc)
{
	unsigned i;

	if (!mc)
		return;
	for (i = 0; i < mc->nfiles; i++)
		free(mc->files[i]);
	free(mc->usage);
	free(mc->leaf);
	free(mc);
}

/* Read one value file: 0 and *@v (UINT64_MAX for "max" or unlimited), or
 * -errno. */
static int read_value(const char *path, uint64_t *v)
{
	char buf[64];
	ssize_t n;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -EIO : -ENODATA;
	buf[n] = '\0';
	if (strncmp(buf, "max", 3) == 0 && (buf[3] == '\n' || !buf[3])) {
		*v = UINT64_MAX;
		return 0;
	}
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -EINVAL;
	if (*v >= MEMCG_UNLIMITED)
		*v = UINT64_MAX;
	return 0;
}

int zsfs_memcg_read(const struct zsfs_memcg *mc, struct zsfs_memcg_reading *r)
{
	uint64_t best = UINT64_MAX, v;
	const char *from = NULL;
	unsigned i;

	if (!mc || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->version = mc->version;
	if (!mc->version) {
		snprintf(r->source, sizeof(r->source), "no memory cgroup");
		return 0;
	}
	for (i = 0; i < mc->nfiles; i++) {
		if (read_value(mc->files[i], &v) == 0 && v < best) {
			best = v;
			from = mc->files[i];
		}
	}
	if (mc->usage && read_value(mc->usage, &v) == 0 && v != UINT64_MAX) {
		r->usage = v;
		r->has_usage = 1;
	}
	if (from) {
		r->limit = best;
		snprintf(r->source, sizeof(r->source), "cgroup v%d %s",
			 mc->version, from + mc->root_len);
	} else {
		r->limit = 0;
		snprintf(r->source, sizeof(r->source), "cgroup v%d %s: no limit",
			 mc->version, mc->nfiles ? mc->files[0] + mc->root_len
						 : mc->leaf + mc->root_len);
	}
	return 0;
}
