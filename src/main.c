/*
 * main.c - the zsfs daemon: command line, session setup, signals,
 * daemonizing, and teardown.
 *
 *   zsfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]...
 *
 * mount(8) runs "zsfs SOURCE MOUNTPOINT -o rw,..." through mount.fuse3;
 * SOURCE is only shown as the fsname.  Every option is checked
 * (options.c) before anything is mounted: a bad one prints a message
 * naming it and exits with status 1.  The daemon runs on the low-level
 * API, multithreaded unless -s.  SIGTERM, SIGINT and SIGHUP end the loop;
 * the mount is then removed and everything freed.  With auto_unmount (the
 * default) a killed daemon's mount is removed by fusermount3, whose
 * socket a guard process keeps until the daemon is entirely gone
 * (autounmount.c); without it, access to the dead mount fails with
 * ENOTCONN until it is unmounted.  At start the daemon sets its
 * oom_score_adj (sysmem.h) and says once in the log when size= is more
 * than its memory cgroup allows (memcg.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>
#include <zstd.h>

#include "autounmount.h"
#include "fs.h"
#include "memcg.h"
#include "sysmem.h"
#include "uring.h"

/* FUSE workers at most (loop.c starts them as requests overlap); as
 * many as libfuse's loop would start by default. */
#define ZSFS_MAX_THREADS 10

struct cmdline {
	const char *source;
	const char *mountpoint;
	int foreground;
	int debug;
	int single;
	int help;
	int version;
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]\n"
		"\n"
		"zsfs: a compressed in-memory filesystem (a tmpfs that keeps its\n"
		"pages compressed with lz4 or zstd).\n"
		"\n"
		"    -h, --help             this text\n"
		"    -V, --version          print the version and those of libfuse,\n"
		"                           lz4 and zstd it runs with\n"
		"    -f                     stay in the foreground\n"
		"    -d, -o debug           debug output (implies -f)\n"
		"    -s                     single-threaded (and no io_uring unless\n"
		"                           io_uring=on)\n"
		"\n%s", prog, zsfs_options_help);
}

/* Parse argv; -o values are applied to @o at once.  Return 0 or 1. */
static int parse_cmdline(int argc, char **argv, struct cmdline *cl,
			 struct zsfs_options *o, uint64_t ram)
{
	char err[512];
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *ostr = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cl->help = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			cl->version = 1;
		} else if (strcmp(a, "-f") == 0) {
			cl->foreground = 1;
		} else if (strcmp(a, "-d") == 0) {
			cl->debug = cl->foreground = 1;
		} else if (strcmp(a, "-s") == 0) {
			cl->single = 1;
		} else if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "zsfs: -o needs an argument\n");
				return 1;
			}
			ostr = argv[++i];
		} else if (strncmp(a, "-o", 2) == 0) {
			ostr = a + 2;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "zsfs: unknown argument: '%s'\n", a);
			return 1;
		} else if (!cl->mountpoint) {
			cl->mountpoint = a;
		} else if (!cl->source) {
			cl->source = cl->mountpoint;
			cl->mountpoint = a;
		} else {
			fprintf(stderr, "zsfs: too many arguments: '%s'\n", a);
			return 1;
		}
		if (ostr) {
			/* "debug" is FUSE's spelling of -d. */
			if (strcmp(ostr, "debug") == 0) {
				cl->debug = cl->foreground = 1;
				continue;
			}
			if (zsfs_options_parse(o, ostr, ram, err, sizeof(err)) < 0) {
				fprintf(stderr, "zsfs: %s\n", err);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Turn glibc's per-thread malloc caches (tcache) off, by running the
 * daemon again with GLIBC_TUNABLES saying so; glibc reads it only at
 * start.  Each thread's tcache keeps up to 7 freed chunks of every small
 * size; left scattered over the heap, the chunks of half a dozen threads
 * pin pages that malloc_trim cannot give back.  After rm -rf of a 1.2 GB
 * tree the daemon held 7.2-9.3 MiB above its fresh mount for less than
 * 1 MiB of live allocations; without tcache, 2.3-2.9 MiB (ext4 on zram:
 * 2.8).  The daemon's malloc calls are few per request: sequential write
 * (dd bs=1M of 512 MiB, four alternating runs each) averaged 714 MB/s with
 * tcache and 710 without, and untar took as long.
 * Not done when the user's GLIBC_TUNABLES already sets tcache_count (that
 * also ends the loop), under valgrind (which would not follow the exec),
 * or when /proc/self/exe cannot be run: then the daemon goes on as it is.
 */
static void malloc_tcache_off(char **argv)
{
	static const char tune[] = "glibc.malloc.tcache_count=0";
	const char *env = getenv("GLIBC_TUNABLES");
	const char *pre = getenv("LD_PRELOAD");
	char *old = NULL, *val;

	if ((env && strstr(env, "glibc.malloc.tcache_count")) ||
	    (pre && strstr(pre, "vgpreload")))
		return;
	if (env && *env) {
		old = strdup(env);  /* setenv may drop the string env is */
		val = malloc(strlen(env) + sizeof(tune) + 1);
		if (!old || !val)
			goto out;
		sprintf(val, "%s:%s", old, tune);
	} else {
		val = strdup(tune);
		if (!val)
			goto out;
	}
	if (setenv("GLIBC_TUNABLES", val, 1) == 0) {
		execv("/proc/self/exe", argv);
		/* could not: back to what the user had */
		if (old)
			setenv("GLIBC_TUNABLES", old, 1);
		else
			unsetenv("GLIBC_TUNABLES");
	}
out:
	free(val);
	free(old);
}

/* The daemon's standing with the OOM killer; a failure is said once and
 * is not fatal. */
static void oom_setup(const struct zsfs_options *o)
{
	char msg[256];
	int rc = zsfs_oom_adjust("/", o->has_oom_score_adj, o->oom_score_adj,
				 NULL, msg, sizeof(msg));

	if (rc < 0 || (rc == 0 && o->has_oom_score_adj))
		fprintf(stderr, "zsfs: %s\n", msg);
}

/* Say once when size= is more than the memory cgroup allows: the kernel
 * kills the daemon at the cgroup's limit, whatever size= says. */
static void memcg_note(const struct zsfs_options *o)
{
	struct zsfs_memcg *mc;
	struct zsfs_memcg_reading r;

	if (zsfs_memcg_open("/", &mc) < 0)
		return;
	if (zsfs_memcg_read(mc, &r) == 0 && r.limit &&
	    (o->size == 0 || o->size > r.limit))
		fprintf(stderr, "zsfs: size=%llu is more than the memory cgroup "
			"allows: %llu bytes (%s)\n",
			(unsigned long long)o->size,
			(unsigned long long)r.limit, r.source);
	zsfs_memcg_close(mc);
}

/* The option string for fuse_session_new(). */
static int fuse_optstring(const struct zsfs_options *o, const char *source,
			  char *buf, size_t cap)
{
	char fsname[512];
	size_t n = 0, i;
	int w;

	fsname[0] = '\0';
	if (!o->has_fsname) {
		const char *s = source ? source : "zsfs";

		n = (size_t)snprintf(fsname, sizeof(fsname), ",fsname=");
		for (i = 0; s[i] && n + 3 < sizeof(fsname); i++) {
			if (s[i] == ',' || s[i] == '\\')
				fsname[n++] = '\\';
			fsname[n++] = s[i];
		}
		fsname[n] = '\0';
	}
	w = snprintf(buf, cap, "default_permissions%s%s%s%s%s%s",
		     o->allow_other ? ",allow_other" : "",
		     o->auto_unmount ? ",auto_unmount" : "",
		     fsname, o->has_subtype ? "" : ",subtype=zsfs",
		     o->fuse_opts[0] ? "," : "", o->fuse_opts);
	return w < 0 || (size_t)w >= cap ? -E2BIG : 0;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct zsfs_options o;
	struct zsfs fs;
	struct zsfs_ctl_params cp;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct zsfs_autounmount au;
	char aumsg[256];
	char fopts[ZSFS_FUSE_OPTS_CAP + 1024];
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	int rc = 1;

	memset(&cl, 0, sizeof(cl));
	zsfs_options_init(&o, ram, getuid(), getgid());
	if (parse_cmdline(argc, argv, &cl, &o, ram))
		return 1;
	if (cl.help) {
		usage(stdout, argv[0]);
		return 0;
	}
	if (cl.version) {
		/* the libraries this process runs with, not the headers'
		 * versions it was built against */
		printf("zsfs %s\nlibfuse %s\nlz4 %s\nzstd %s\n", PACKAGE_VERSION,
		       fuse_pkgversion(), LZ4_versionString(),
		       ZSTD_versionString());
		return 0;
	}
	if (!cl.mountpoint) {
		usage(stderr, argv[0]);
		return 1;
	}
	malloc_tcache_off(argv);
	oom_setup(&o);
	memcg_note(&o);
	if (fuse_optstring(&o, cl.source, fopts, sizeof(fopts)) < 0) {
		fprintf(stderr, "zsfs: options too long\n");
		return 1;
	}
	if (fuse_opt_add_arg(&args, argv[0]) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, fopts) ||
	    (cl.debug && fuse_opt_add_arg(&args, "-d"))) {
		fprintf(stderr, "zsfs: out of memory\n");
		goto out_args;
	}

	/* Test hook (zsfs(1), ENVIRONMENT): the OS "refuses" memory past
	 * this pool size, so the tests can see what a real refusal does. */
	if (getenv("ZSFS_DEBUG_OS_LIMIT") &&
	    zsfs_parse_size(getenv("ZSFS_DEBUG_OS_LIMIT"), 0, 0,
			    &o.debug_os_limit) < 0) {
		fprintf(stderr, "zsfs: bad ZSFS_DEBUG_OS_LIMIT '%s'\n",
			getenv("ZSFS_DEBUG_OS_LIMIT"));
		goto out_args;
	}
	/* Test hook (zsfs(1), ENVIRONMENT): the dedup index keeps only this
	 * many bits of each page's hash, so different pages collide. */
	if (getenv("ZSFS_DEBUG_DEDUP_BITS"))
		o.debug_dedup_bits = (unsigned)atoi(getenv("ZSFS_DEBUG_DEDUP_BITS"));
	if (zsfs_fs_init(&fs, &o, getuid()) < 0)
		goto out_args;
	fs.debug = cl.debug;

	memset(&cp, 0, sizeof(cp));
	cp.store = fs.store;
	cp.backing = fs.backing;
	cp.owner = getuid();
	cp.auto_compact = o.auto_compact;
	/* the options hold the defaults already: a 0 is the user's 0 */
	cp.ac_exact = 1;
	cp.ac_min_share_bp = o.compact_share_bp;
	cp.ac_psi_bp = o.compact_psi_bp;
	/* more than size_t holds is more than any pool frees: never */
	cp.ac_min_bytes = o.compact_min > SIZE_MAX ? SIZE_MAX
						   : (size_t)o.compact_min;
	cp.use_psi = 1;
	cp.watch_memory = 1;
	cp.min_free = o.min_free;
	cp.fs_counts = zsfs_fs_counts;
	cp.fs_check = zsfs_fs_check;
	cp.fs_each_file = zsfs_fs_each_file;
	cp.fs_print = zsfs_fs_print;
	cp.fs_arg = &fs;
	if (zsfs_ctl_create(&cp, &fs.ctl) < 0) {
		fprintf(stderr, "zsfs: cannot create the control plane\n");
		goto out_fs;
	}

	fs.se = fuse_session_new(&args, &zsfs_ops, sizeof(zsfs_ops), &fs);
	if (!fs.se)
		goto out_ctl;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto out_session;
	/* -s: one thread serves every request, so not the rings' one per
	 * CPU, unless io_uring=on asks for them */
	if (cl.single && o.io_uring == ZSFS_URING_AUTO)
		o.io_uring = ZSFS_URING_OFF;
	/* io_uring=on that cannot be had fails before anything is mounted */
	if (o.io_uring == ZSFS_URING_ON && !zsfs_uring_usable(aumsg, sizeof(aumsg))) {
		fprintf(stderr, "zsfs: io_uring=on: %s\n", aumsg);
		goto out_signals;
	}
	zsfs_autounmount_before(&au, cl.mountpoint);
	if (fuse_session_mount(fs.se, cl.mountpoint) != 0)
		goto out_signals;
	/* the request counters and the INIT flags (transport.c) */
	fs.tp.want_extra = 1;
	if (zsfs_transport_attach(fs.se, &fs.tp) != 0)
		goto out_unmount;
	if (fuse_daemonize(cl.foreground) != 0)
		goto out_unmount;
	if (zsfs_settle_start(&fs) < 0)
		fprintf(stderr, "zsfs: no background recompression: cannot start its thread\n");
	if (o.auto_unmount &&
	    zsfs_autounmount_guard(&au, fuse_session_fd(fs.se), aumsg,
				   sizeof(aumsg)) < 0)
		fprintf(stderr, "zsfs: %s\n", aumsg);

	/* the rings and their threads, before the kernel's INIT arrives
	 * (uring.c); without them the mount stays on /dev/fuse.  After the
	 * auto_unmount guard's fork: it must not inherit the rings. */
	if (o.io_uring != ZSFS_URING_OFF &&
	    zsfs_uring_usable(aumsg, sizeof(aumsg))) {
		int urc = zsfs_uring_create(fs.se, &fs.tp, &fs.tp.uring);

		if (urc < 0 && o.io_uring == ZSFS_URING_ON) {
			fprintf(stderr, "zsfs: io_uring=on: cannot set up the rings: %s\n",
				strerror(-urc));
			goto out_unmount;
		}
	}

	rc = zsfs_loop_run(fs.se, cl.single ? 1 : ZSFS_MAX_THREADS);
	/* A signal that ends the loop is a clean exit; an error is not. */
	rc = rc == 0 ? 0 : 1;

out_unmount:
	/* the ring threads end before the session and the inodes go */
	zsfs_uring_destroy(fs.tp.uring);
	fs.tp.uring = NULL;
	fuse_session_unmount(fs.se);
out_signals:
	fuse_remove_signal_handlers(fs.se);
out_session:
	fuse_session_destroy(fs.se);
out_ctl:
	zsfs_ctl_destroy(fs.ctl);
out_fs:
	zsfs_settle_stop(&fs); /* before the inodes it walks go */
	zsfs_fs_fini(&fs);
out_args:
	fuse_opt_free_args(&args);
	return rc;
}
