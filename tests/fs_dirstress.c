/*
 * fs_dirstress.c - big directories and readdir stability, for fs_dir.sh.
 *
 *   fs_dirstress DIR create N     create files s0..s(N-1); print the time
 *   fs_dirstress DIR lookup N     stat a fifth of them, spread (and some
 *                                 missing names)
 *   fs_dirstress DIR list N       one listing has every sI exactly once
 *   fs_dirstress DIR churn N SECS while a child creates and removes other
 *                                 names, listings keep returning every
 *                                 stable name exactly once
 *   fs_dirstress DIR seek         telldir/seekdir positions replay the
 *                                 same entries, also after changes
 *   fs_dirstress DIR storm P SECS P processes of random mkdir, rmdir,
 *                                 create, link, unlink, rename (all
 *                                 flags) and readdir over a few names in
 *                                 a few directories; the caller then runs
 *                                 the daemon's consistency check
 *
 * Exit status 0 when every check held; messages on stdout.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Two processes (the machine has two cores), even and odd names. */
static int do_create(long n)
{
	char name[32];
	long i;
	double t = now();
	pid_t pid = fork();
	int st, rc = 0;

	for (i = pid == 0 ? 1 : 0; i < n; i += 2) {
		int fd;

		snprintf(name, sizeof(name), "s%ld", i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			printf("create %s: %s\n", name, strerror(errno));
			if (pid == 0)
				_exit(1);
			rc = 1;
			break;
		}
		close(fd);
	}
	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
	printf("created %ld in %.2fs\n", n, now() - t);
	return rc;
}

static int do_lookup(long n)
{
	char name[32];
	struct stat st;
	long i;
	double t = now();

	for (i = 0; i < n; i += 5) {
		snprintf(name, sizeof(name), "s%ld", (i * 7919) % n);
		if (stat(name, &st) < 0) {
			printf("stat %s: %s\n", name, strerror(errno));
			return 1;
		}
		snprintf(name, sizeof(name), "m%ld", i);
		if (i % 10 == 0 && (stat(name, &st) == 0 || errno != ENOENT)) {
			printf("stat %s: should be ENOENT\n", name);
			return 1;
		}
	}
	printf("looked up %ld in %.2fs\n", n / 5, now() - t);
	return 0;
}

/* One full listing: count each sI; return 0 when each seen exactly once
 * and no name at all is returned twice. */
static int list_once(long n, unsigned char *seen, char **names, long cap)
{
	DIR *d = opendir(".");
	struct dirent *de;
	long i, total = 0, bad = 0;

	if (!d) {
		printf("opendir: %s\n", strerror(errno));
		return 1;
	}
	memset(seen, 0, (size_t)n);
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == 's') {
			char *end;
			long k = strtol(de->d_name + 1, &end, 10);

			if (*end || k < 0 || k >= n) {
				printf("unexpected name %s\n", de->d_name);
				bad++;
			} else if (seen[k]++) {
				printf("%s listed twice\n", de->d_name);
				bad++;
			}
		} else if (names && total < cap) {
			names[total] = strdup(de->d_name);
		}
		total++;
	}
	if (errno) {
		printf("readdir: %s\n", strerror(errno));
		bad++;
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		if (seen[i] != 1) {
			if (bad < 10)
				printf("s%ld listed %d times\n", i, seen[i]);
			bad++;
		}
	}
	return bad ? 1 : 0;
}

static int do_list(long n)
{
	unsigned char *seen = malloc((size_t)n);
	double t = now();
	int rc = list_once(n, seen, NULL, 0);

	printf("listed %ld in %.2fs\n", n, now() - t);
	free(seen);
	return rc;
}

static int do_churn(long n, int secs)
{
	unsigned char *seen = malloc((size_t)n);
	pid_t pid = fork();
	double end = now() + secs;
	int rounds = 0, rc = 0, st;

	if (pid == 0) {
		/* Create and remove names interleaved with the stable ones. */
		char name[32];
		long i = 0;

		for (;;) {
			snprintf(name, sizeof(name), "c%ld", i);
			close(open(name, O_WRONLY | O_CREAT, 0644));
			if (i >= 50) {
				snprintf(name, sizeof(name), "c%ld", i - 50);
				unlink(name);
			}
			if (i % 3 == 0) {
				snprintf(name, sizeof(name), "r%ld", i);
				mkdir(name, 0755);
				rename(name, "renamed");
				rmdir("renamed");
			}
			i++;
		}
	}
	while (now() < end && rc == 0) {
		rc = list_once(n, seen, NULL, 0);
		rounds++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	printf("churn: %d listings, %s\n", rounds, rc ? "FAILED" : "ok");
	free(seen);
	return rc;
}

static int do_seek(void)
{
	DIR *d = opendir(".");
	struct dirent *de;
	char first[256][256], again[256][256];
	long pos;
	int i, k = 0, m = 0, rc = 0;

	if (!d)
		return 1;
	for (i = 0; i < 20 && (de = readdir(d)); i++)
		;
	pos = telldir(d);
	while (k < 256 && (de = readdir(d)))
		snprintf(first[k++], 256, "%s", de->d_name);
	/* Remove a name before the position and add one: replay unchanged
	 * except for the new name at the end. */
	unlink("s0");
	close(open("zz_new", O_WRONLY | O_CREAT, 0644));
	seekdir(d, pos);
	while (m < 256 && (de = readdir(d)))
		snprintf(again[m++], 256, "%s", de->d_name);
	for (i = 0; i < k && i < m; i++) {
		if (strcmp(first[i], again[i]) != 0) {
			printf("seekdir replay differs at %d: %s vs %s\n", i,
			       first[i], again[i]);
			rc = 1;
			break;
		}
	}
	if (rc == 0 && (m != k + 1 || strcmp(again[m - 1], "zz_new") != 0)) {
		printf("seekdir replay: %d entries then %d, last %s\n", k, m,
		       m ? again[m - 1] : "-");
		rc = 1;
	}
	closedir(d);
	unlink("zz_new");
	close(open("s0", O_WRONLY | O_CREAT, 0644));
	printf("seek: %s (%d entries after position)\n", rc ? "FAILED" : "ok", k);
	return rc;
}

static const char *const storm_dirs[] = { ".", "a", "b", "a/c", "b/d" };

static void storm_path(char *buf, size_t cap, unsigned *seed)
{
	snprintf(buf, cap, "%s/n%u", storm_dirs[rand_r(seed) % 5], rand_r(seed) % 8);
}

/* Random namespace operations until @end; errors are expected (names
 * collide on purpose), crashes and hangs are not. */
static void storm_worker(unsigned seed, double end)
{
	char p1[64], p2[64];
	long ops = 0;

	while (now() < end) {
		storm_path(p1, sizeof(p1), &seed);
		storm_path(p2, sizeof(p2), &seed);
		switch (rand_r(&seed) % 9) {
		case 0: mkdir(p1, 0755); break;
		case 1: rmdir(p1); break;
		case 2: close(open(p1, O_WRONLY | O_CREAT, 0644)); break;
		case 3: link(p1, p2); break;
		case 4: unlink(p1); break;
		case 5: rename(p1, p2); break;
		case 6: renameat2(AT_FDCWD, p1, AT_FDCWD, p2, RENAME_EXCHANGE); break;
		case 7: renameat2(AT_FDCWD, p1, AT_FDCWD, p2, RENAME_NOREPLACE); break;
		case 8: {
			DIR *d = opendir(storm_dirs[rand_r(&seed) % 5]);

			if (d) {
				while (readdir(d))
					;
				closedir(d);
			}
			break;
		}
		}
		ops++;
	}
	printf("storm worker: %ld ops\n", ops);
}

static int do_storm(int procs, int secs)
{
	double end = now() + secs;
	int i, st, rc = 0;

	mkdir("a", 0755);
	mkdir("b", 0755);
	mkdir("a/c", 0755);
	mkdir("b/d", 0755);
	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			storm_worker((unsigned)(i * 7919 + getpid()), end);
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		wait(&st);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 3 ? atol(argv[3]) : 0;

	if (argc < 3 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: fs_dirstress DIR create|lookup|list|churn|seek [N] [SECS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[2], "create") == 0)
		return do_create(n);
	if (strcmp(argv[2], "lookup") == 0)
		return do_lookup(n);
	if (strcmp(argv[2], "list") == 0)
		return do_list(n);
	if (strcmp(argv[2], "churn") == 0)
		return do_churn(n, argc > 4 ? atoi(argv[4]) : 3);
	if (strcmp(argv[2], "seek") == 0)
		return do_seek();
	if (strcmp(argv[2], "storm") == 0)
		return do_storm((int)n, argc > 4 ? atoi(argv[4]) : 3);
	return 2;
}
