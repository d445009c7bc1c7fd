/*
 * sysmem.c - the machine's memory and the OOM killer (see sysmem.h):
 * reading MemAvailable, the min_free check, and oom_score_adj.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmem.h"

static void root_path(char *buf, size_t cap, const char *root,
		      const char *path)
{
	size_t rl;

	if (!root || !*root)
		root = "/";
	rl = strlen(root);
	while (rl && root[rl - 1] == '/')
		rl--;
	snprintf(buf, cap, "%.*s%s", (int)rl, root, path);
}

/* Parse "Key:   N kB" lines of a meminfo text. */
static int meminfo_parse(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(p + kl + 1, &end, 10);
			if (errno || end == p + kl + 1)
				return -EINVAL;
			while (*end == ' ')
				end++;
			if (strncmp(end, "kB", 2) == 0) {
				if (v > UINT64_MAX / 1024)
					return -ERANGE;
				v *= 1024;
			}
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENODATA;
}

static int meminfo_read_path(const char *path, uint64_t *avail,
			     uint64_t *total)
{
	/* /proc/meminfo is about 1.5 KB; MemTotal and MemAvailable are in
	 * its first three lines. */
	char buf[4096];
	ssize_t n;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return rc;
	buf[n] = '\0';
	if (avail && (rc = meminfo_parse(buf, "MemAvailable", avail)) < 0)
		return rc;
	if (total && (rc = meminfo_parse(buf, "MemTotal", total)) < 0)
		return rc;
	return 0;
}

int zsfs_meminfo_read(const char *root, uint64_t *avail, uint64_t *total)
{
	char path[ZSFS_SYSMEM_PATH_CAP];

	root_path(path, sizeof(path), root, "/proc/meminfo");
	return meminfo_read_path(path, avail, total);
}

void zsfs_sysmem_init(struct zsfs_sysmem *s, const char *root,
		      uint64_t min_free)
{
	memset(s, 0, sizeof(*s));
	s->min_free = min_free;
	atomic_init(&s->avail, 0);
	atomic_init(&s->valid, 0);
	root_path(s->meminfo, sizeof(s->meminfo), root, "/proc/meminfo");
}

int zsfs_sysmem_update(struct zsfs_sysmem *s)
{
	uint64_t avail;
	int rc = meminfo_read_path(s->meminfo, &avail, NULL);

	if (rc < 0)
		return rc;
	atomic_store(&s->avail, avail);
	atomic_store(&s->valid, 1);
	return 0;
}

int zsfs_sysmem_low(const struct zsfs_sysmem *s, size_t need)
{
	uint64_t avail;

	if (!s->min_free || !atomic_load(&s->valid))
		return 0;
	avail = atomic_load(&s->avail);
	/* avail - need < min_free, without wrapping */
	return avail < s->min_free || avail - s->min_free < (uint64_t)need;
}

int zsfs_oom_adjust(const char *root, int user_set, int val, int *old,
		    char *msg, size_t msg_cap)
{
	char path[ZSFS_SYSMEM_PATH_CAP], buf[32];
	ssize_t n;
	int fd, cur, len, rc;

	if (msg_cap)
		msg[0] = '\0';
	root_path(path, sizeof(path), root, "/proc/self/oom_score_adj");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, msg_cap, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		rc = n < 0 ? -errno : -ENODATA;
		snprintf(msg, msg_cap, "cannot read %s: %s", path, strerror(-rc));
		goto out;
	}
	buf[n] = '\0';
	cur = atoi(buf);
	if (old)
		*old = cur;
	if (!user_set && cur != 0) {
		snprintf(msg, msg_cap,
			 "oom_score_adj %d inherited, left as it is", cur);
		rc = 0;
		goto out;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", val);
	rc = 0;
	if (lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	else if ((n = write(fd, buf, (size_t)len)) != len)
		rc = n < 0 ? -errno : -EIO;
	if (rc < 0) {
		snprintf(msg, msg_cap, "cannot set oom_score_adj to %d: %s%s",
			 val, strerror(-rc),
			 rc == -EACCES ? " (lowering it needs CAP_SYS_RESOURCE)" : "");
		goto out;
	}
	rc = 1;
out:
	close(fd);
	return rc;
}
