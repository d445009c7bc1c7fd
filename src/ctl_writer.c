/*
 * ctl_writer.c - the buffered writer of an open .zsctl: it cuts what
 * write(2) brings into lines and runs each through zsfs_ctl_command() as
 * its newline arrives, and logs why a line failed.
 *
 * Each open file has its own writer, so a command split over several
 * writes (echo -n, a shell's small writes) is put together before it
 * runs, and two files written at once do not mix their lines.  A last
 * line without a newline runs at close.  A line longer than
 * ZSFS_CTL_LINE_MAX fails with -E2BIG as soon as it passes the limit, and
 * the rest of it, up to its newline, is dropped unrun.  The first failing
 * line stops the write (the lines before it have run).
 *
 * lock ordering: w->lock is taken first, before any lock a command
 * takes: w->lock -> the budget's reclaim lock or the compactor's lock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"

struct zsfs_ctl_writer {
	struct zsfs_ctl *ctl;
	uid_t uid;
	pthread_mutex_t lock;  /* one write at a time on this open file */
	size_t len;            /* protected by lock: bytes in buf */
	int skipping;          /* protected by lock: inside an over-long line */
	char buf[ZSFS_CTL_LINE_MAX]; /* protected by lock */
};

static void ctl_log(const char *why, int rc)
{
	fprintf(stderr, "zsfs: " ZSFS_CTL_NAME ": %s (%s)\n",
		why[0] ? why : "failed", strerror(-rc));
}

static int writer_run(struct zsfs_ctl_writer *w, const char *line, size_t len)
{
	char why[640];
	int rc;

	rc = zsfs_ctl_command(w->ctl, w->uid, line, len, why, sizeof(why));
	if (rc)
		ctl_log(why, rc);
	return rc;
}

int zsfs_ctl_writer_open(struct zsfs_ctl *ctl, uid_t uid,
			 struct zsfs_ctl_writer **wp)
{
	struct zsfs_ctl_writer *w;

	if (!ctl || !wp)
		return -EINVAL;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ctl = ctl;
	w->uid = uid;
	w->len = 0;
	w->skipping = 0;
	if (pthread_mutex_init(&w->lock, NULL)) {
		free(w);
		return -ENOMEM;
	}
	*wp = w;
	return 0;
}

/*
 * Lines run in order as their newline arrives.  The first failing line
 * stops the write: the rest of @buf is dropped with the pending partial
 * line, and its error is returned (lines before it have run).
 */
int zsfs_ctl_writer_write(struct zsfs_ctl_writer *w, const char *buf,
			  size_t len)
{
	int rc = 0;

	if (!w || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	if (!ctl_may_command(w->ctl, w->uid)) {
		char why[128];

		snprintf(why, sizeof(why), "uid %u may not run commands",
			 (unsigned)w->uid);
		ctl_log(why, -EPERM);
		return -EPERM;
	}
	pthread_mutex_lock(&w->lock);
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t seg = nl ? (size_t)(nl - buf) : len;

		if (w->skipping) {
			/* the tail of a line already refused */
		} else if (seg > sizeof(w->buf) - w->len) {
			char why[128];

			snprintf(why, sizeof(why), "line longer than %u bytes",
				 ZSFS_CTL_LINE_MAX);
			ctl_log(why, -E2BIG);
			w->len = 0;
			w->skipping = 1;
			rc = -E2BIG;
		} else {
			memcpy(w->buf + w->len, buf, seg);
			w->len += seg;
		}
		if (!nl) {
			if (rc)
				w->skipping = 1;
			break;
		}
		buf += seg + 1;
		len -= seg + 1;
		if (w->skipping) {
			w->skipping = 0;
			w->len = 0;
			if (rc)
				break;
			continue;
		}
		rc = writer_run(w, w->buf, w->len);
		w->len = 0;
		if (rc)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int zsfs_ctl_writer_close(struct zsfs_ctl_writer *w)
{
	int rc = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (!w->skipping && w->len)
		rc = writer_run(w, w->buf, w->len);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return rc;
}
