/*
 * allocbench.c - replay a realistic stream of compressed-page sizes into
 * the pool and into general-purpose mallocs, and compare memory held and
 * speed.  See bench/allocbench.md for what it measures and the results.
 *
 * The stream: every 4 KiB page of the regular files under the given
 * directories (default /usr/include and /usr/lib/gcc), compressed with
 * LZ4_compress_default and with zstd level 3; pages whose bytes are all
 * the same are skipped (zsfs stores them without an object), and pages
 * that compress to >= 3/4 of 4096 are stored raw as 4096 bytes.
 *
 * Each allocator runs in its own child process (this binary re-executed
 * with --child), so RSS figures do not mix.  jemalloc and mimalloc are
 * used through their explicit APIs (mallocx / dallocx, mi_malloc /
 * mi_free) and not linked, because linking them would replace glibc's
 * malloc in the whole binary: mimalloc is loaded with dlopen, jemalloc
 * (whose TLS model cannot be dlopened) with LD_PRELOAD into its child.
 *
 * Usage: allocbench [-d DIR[:DIR...]] [-n OPS_PER_THREAD] [-s SEED]
 *                   [-a ALLOCATOR] [-c lz4|zstd]
 *        allocbench --child ALLOC SIZES_FILE OPS SEED   (internal)
 */
#include "config.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lz4.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "test_util.h" /* t_rand, t_rss_anon */
#include "zsmalloc.h"

/* ---- the size stream ------------------------------------------------ */

struct stream {
	uint16_t *lz4, *zstd;
	size_t n, cap;
	size_t files, pages, same;
};

static struct stream *walk_stream; /* nftw has no user pointer */

static void stream_add(struct stream *s, const unsigned char *pg)
{
	char out[LZ4_COMPRESSBOUND(4096) + 512];
	static ZSTD_CCtx *cctx;
	size_t zl, ll;
	size_t i;

	s->pages++;
	for (i = 1; i < 4096 && pg[i] == pg[0]; i++)
		;
	if (i == 4096) {
		s->same++;
		return;
	}
	if (!cctx)
		cctx = ZSTD_createCCtx();
	ll = (size_t)LZ4_compress_default((const char *)pg, out, 4096,
					  (int)sizeof(out));
	zl = ZSTD_compressCCtx(cctx, out, sizeof(out), pg, 4096, 3);
	if (ZSTD_isError(zl))
		zl = 4096;
	if (ll == 0 || ll >= 3072)
		ll = 4096;
	if (zl >= 3072)
		zl = 4096;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->lz4 = realloc(s->lz4, s->cap * sizeof(uint16_t));
		s->zstd = realloc(s->zstd, s->cap * sizeof(uint16_t));
		if (!s->lz4 || !s->zstd) {
			perror("realloc");
			exit(1);
		}
	}
	s->lz4[s->n] = (uint16_t)ll;
	s->zstd[s->n] = (uint16_t)zl;
	s->n++;
}

static int walk_file(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	unsigned char pg[4096];
	ssize_t r;
	int fd;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	walk_stream->files++;
	while ((r = read(fd, pg, sizeof(pg))) > 0) {
		if (r < 4096)
			memset(pg + r, 0, 4096 - (size_t)r);
		stream_add(walk_stream, pg);
	}
	close(fd);
	return 0;
}

/* ---- allocators ----------------------------------------------------- */

struct alloc_ops {
	const char *name;
	int (*init)(void);
	uintptr_t (*alloc)(size_t size);
	void (*free)(uintptr_t t);
	void (*write)(uintptr_t t, const void *src, size_t len);
};

static zs_pool *bench_pool;
static void *(*je_mallocx)(size_t, int);
static void (*je_dallocx)(void *, int);
static void *(*mi_malloc_fn)(size_t);
static void (*mi_free_fn)(void *);

static int pool_init(void)
{
	return zs_pool_create(NULL, &bench_pool);
}

static uintptr_t pool_alloc(size_t size)
{
	zs_handle h;

	return zs_malloc(bench_pool, size, &h) ? 0 : (uintptr_t)h;
}

static void pool_free(uintptr_t t)
{
	zs_free(bench_pool, (zs_handle)t);
}

static void pool_write(uintptr_t t, const void *src, size_t len)
{
	zs_write(bench_pool, (zs_handle)t, src, len);
}

static int glibc_init(void)
{
	return 0;
}

static uintptr_t glibc_alloc(size_t size)
{
	return (uintptr_t)malloc(size);
}

static void glibc_free(uintptr_t t)
{
	free((void *)t);
}

static void mem_write(uintptr_t t, const void *src, size_t len)
{
	memcpy((void *)t, src, len);
}

static int je_init(void)
{
	void *lib = RTLD_DEFAULT; /* preloaded by run_child() */

	if (!dlsym(lib, "mallocx")) {
		lib = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
		if (!lib)
			return -ENOENT;
	}
	je_mallocx = (void *(*)(size_t, int))dlsym(lib, "mallocx");
	je_dallocx = (void (*)(void *, int))dlsym(lib, "dallocx");
	return je_mallocx && je_dallocx ? 0 : -ENOENT;
}

static uintptr_t je_alloc(size_t size)
{
	return (uintptr_t)je_mallocx(size, 0);
}

static void je_free(uintptr_t t)
{
	je_dallocx((void *)t, 0);
}

static int mi_init(void)
{
	void *lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return -ENOENT;
	mi_malloc_fn = (void *(*)(size_t))dlsym(lib, "mi_malloc");
	mi_free_fn = (void (*)(void *))dlsym(lib, "mi_free");
	return mi_malloc_fn && mi_free_fn ? 0 : -ENOENT;
}

static uintptr_t mi_alloc(size_t size)
{
	return (uintptr_t)mi_malloc_fn(size);
}

static void mi_free(uintptr_t t)
{
	mi_free_fn((void *)t);
}

static const struct alloc_ops allocators[] = {
	{ "zspool", pool_init, pool_alloc, pool_free, pool_write },
	{ "glibc", glibc_init, glibc_alloc, glibc_free, mem_write },
#ifdef HAVE_JEMALLOC
	{ "jemalloc", je_init, je_alloc, je_free, mem_write },
#endif
#ifdef HAVE_MIMALLOC
	{ "mimalloc", mi_init, mi_alloc, mi_free, mem_write },
#endif
};
#define NR_ALLOCATORS (sizeof(allocators) / sizeof(allocators[0]))

/* ---- measurement ---------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct tput_arg {
	const struct alloc_ops *a;
	const uint16_t *sizes;
	size_t n, ops, start;
	const unsigned char *src;
};

#define RING 1024
#define REPS 5

static void *tput_thread(void *p)
{
	struct tput_arg *t = p;
	uintptr_t ring[RING] = { 0 };

	for (size_t i = 0; i < t->ops; i++) {
		size_t size = t->sizes[(t->start + i) % t->n];
		uintptr_t *slot = &ring[i % RING];

		if (*slot)
			t->a->free(*slot);
		*slot = t->a->alloc(size);
		t->a->write(*slot, t->src, size);
	}
	for (size_t i = 0; i < RING; i++)
		if (ring[i])
			t->a->free(ring[i]);
	return NULL;
}

static double throughput(const struct alloc_ops *a, const uint16_t *sizes,
			 size_t n, size_t ops, unsigned nthreads,
			 const unsigned char *src)
{
	pthread_t th[8];
	struct tput_arg arg[8];
	double t0 = now();

	for (unsigned i = 0; i < nthreads; i++) {
		arg[i] = (struct tput_arg){ a, sizes, n, ops, i * n / nthreads,
					    src };
		pthread_create(&th[i], NULL, tput_thread, &arg[i]);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return (double)(ops * nthreads) / (now() - t0);
}

/* With ALLOCBENCH_BREAKDOWN set: where the pool's memory goes, to stderr. */
static void pool_breakdown(const char *when)
{
	struct zs_pool_stats ps;
	struct zs_class_stats cs;
	size_t slots = 0, pages = 0;

	if (!bench_pool || !getenv("ALLOCBENCH_BREAKDOWN"))
		return;
	zs_pool_stats(bench_pool, &ps);
	for (unsigned i = 0; i < zs_class_count(bench_pool); i++) {
		zs_class_stats(bench_pool, i, &cs);
		slots += cs.objs_used * cs.size;
		pages += cs.pages_used;
	}
	fprintf(stderr,
		"%s: stored %zu; rounding to slot %.3f%%; free slots and "
		"tails %.3f%%; other pages %zu; metadata %.3f%%\n",
		when, ps.bytes_stored,
		100.0 * (double)(slots - ps.bytes_stored) /
			(double)ps.bytes_stored,
		100.0 * ((double)pages * 4096 - (double)slots) /
			(double)ps.bytes_stored,
		ps.pages - pages,
		100.0 * (double)ps.meta_bytes / (double)ps.bytes_stored);
}

static int child(const char *name, const char *file, size_t ops,
		 uint64_t seed)
{
	const struct alloc_ops *a = NULL;
	unsigned char src[4096];
	uintptr_t *tok;
	uint16_t *sizes;
	size_t n, live = 0, base, rss_fill, rss_free, rss_after = 0;
	size_t freed_pages = 0, rss_before_compact = 0;
	double mem_fill = 0, mem_after = 0;
	struct stat st;
	FILE *f;

	for (size_t i = 0; i < NR_ALLOCATORS; i++)
		if (!strcmp(allocators[i].name, name))
			a = &allocators[i];
	if (!a || a->init()) {
		printf("SKIP\n");
		return 0;
	}
	f = fopen(file, "rb");
	if (!f || fstat(fileno(f), &st))
		return 1;
	n = (size_t)st.st_size / sizeof(uint16_t);
	sizes = malloc(n * sizeof(*sizes) + 1);
	tok = malloc(n * sizeof(*tok) + 1);
	if (!sizes || !tok || fread(sizes, sizeof(*sizes), n, f) != n)
		return 1;
	fclose(f);
	memset(tok, 0xff, n * sizeof(*tok));
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(t_rand(&seed) | 1);
	base = t_rss_anon();

	/* fill */
	for (size_t i = 0; i < n; i++) {
		tok[i] = a->alloc(sizes[i]);
		if (!tok[i])
			return 1;
		a->write(tok[i], src, sizes[i]);
		live += sizes[i];
	}
	rss_fill = t_rss_anon() - base;
	if (bench_pool) {
		struct zs_pool_stats ps;

		zs_pool_stats(bench_pool, &ps);
		mem_fill = (double)ps.mem_bytes / (double)live;
		pool_breakdown("fill");
	}
	/* free a random half */
	for (size_t i = 0; i < n; i++)
		if (t_rand(&seed) & 1) {
			a->free(tok[i]);
			tok[i] = 0;
			live -= sizes[i];
		}
	rss_free = t_rss_anon() - base;
	if (bench_pool) {
		struct zs_pool_stats ps;

		rss_before_compact = rss_free;
		freed_pages = zs_compact(bench_pool);
		/* As zsfs's compaction entry point does: the pool leaves
		 * trimming the C heap to its caller (zsmalloc.h). */
		if (freed_pages)
			malloc_trim(0);
		rss_after = t_rss_anon() - base;
		zs_pool_stats(bench_pool, &ps);
		mem_after = (double)ps.mem_bytes / (double)live;
		pool_breakdown("compact");
	} else if (!strcmp(name, "glibc")) {
		malloc_trim(0);
		rss_after = t_rss_anon() - base;
	}
	for (size_t i = 0; i < n; i++)
		if (tok[i])
			a->free(tok[i]);
	/* The best of REPS runs, alternating 1 and 2 threads, so that other
	 * load on the machine disturbs both alike and shows least. */
	double t1 = 0, t2 = 0;

	for (int r = 0; r < REPS; r++) {
		double x = throughput(a, sizes, n, ops, 1, src);
		double y = throughput(a, sizes, n, ops, 2, src);

		t1 = x > t1 ? x : t1;
		t2 = y > t2 ? y : t2;
	}

	printf("RESULT %zu %zu %zu %zu %zu %zu %.4f %.4f %.0f %.0f\n", live,
	       rss_fill, rss_free, rss_after, freed_pages,
	       rss_before_compact - rss_after, mem_fill, mem_after, t1, t2);
	free(sizes);
	free(tok);
	zs_pool_destroy(bench_pool);
	return 0;
}

/* ---- driver --------------------------------------------------------- */

struct result {
	int ok;
	size_t live, rss_fill, rss_free, rss_after, freed_pages, rss_drop;
	double mem_fill, mem_after, t1, t2;
};

static int run_child(const char *self, const char *name, const char *file,
		     size_t ops, uint64_t seed, struct result *r)
{
	char ops_s[32], seed_s[32], line[512];
	int pfd[2];
	pid_t pid;
	FILE *f;
	int status;

	memset(r, 0, sizeof(*r));
	snprintf(ops_s, sizeof(ops_s), "%zu", ops);
	snprintf(seed_s, sizeof(seed_s), "%llu", (unsigned long long)seed);
	if (pipe(pfd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (!strcmp(name, "jemalloc"))
			setenv("LD_PRELOAD", "libjemalloc.so.2", 1);
		execl(self, self, "--child", name, file, ops_s, seed_s,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RESULT %zu %zu %zu %zu %zu %zu %lf %lf %lf %lf",
			   &r->live, &r->rss_fill, &r->rss_free, &r->rss_after,
			   &r->freed_pages, &r->rss_drop, &r->mem_fill,
			   &r->mem_after, &r->t1, &r->t2) == 10)
			r->ok = 1;
	fclose(f);
	waitpid(pid, &status, 0);
	return 0;
}

static size_t sum_sizes(const uint16_t *v, size_t n)
{
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

int main(int argc, char **argv)
{
	char dirs_buf[4096] = "/usr/include:/usr/lib/gcc";
	char self[4096], file[] = "/tmp/allocbench.XXXXXX";
	struct stream s = { 0 };
	size_t ops = 2000000;
	uint64_t seed = 1;
	const char *only = NULL, *only_codec = NULL;
	int opt, fd;

	if (argc == 6 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3], strtoull(argv[4], NULL, 10),
			     strtoull(argv[5], NULL, 10));
	while ((opt = getopt(argc, argv, "a:c:d:n:s:")) != -1) {
		switch (opt) {
		case 'a':
			only = optarg;
			break;
		case 'c':
			only_codec = optarg;
			break;
		case 'd':
			snprintf(dirs_buf, sizeof(dirs_buf), "%s", optarg);
			break;
		case 'n':
			ops = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: %s [-d DIR[:DIR...]] "
					"[-n OPS_PER_THREAD] [-s SEED] [-a ALLOC] "
					"[-c lz4|zstd]\n",
				argv[0]);
			return 2;
		}
	}
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		return 1;
	self[sl] = 0;

	walk_stream = &s;
	for (char *d = strtok(dirs_buf, ":"); d; d = strtok(NULL, ":"))
		nftw(d, walk_file, 64, FTW_PHYS);
	if (!s.n) {
		fprintf(stderr, "no pages found\n");
		return 1;
	}
	printf("stream: %zu files, %zu pages, %zu same-filled skipped, "
	       "%zu objects\n",
	       s.files, s.pages, s.same, s.n);
	printf("throughput: malloc+write+free, %zu ops per thread, ring of "
	       "%d live objects per thread, best of %d runs\n\n",
	       ops, RING, REPS);
	printf("| codec | allocator | live MiB after fill | RSS/live after fill"
	       " | RSS/live after free half | RSS/live after compact (pool) / "
	       "malloc_trim (glibc) | pool mem_bytes/live fill, compact | "
	       "RSS drop / pages freed | Mops/s 1 thr | Mops/s 2 thr |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (int codec = 0; codec < 2; codec++) {
		const uint16_t *v = codec ? s.zstd : s.lz4;
		size_t total = sum_sizes(v, s.n);

		if (only_codec && strcmp(only_codec, codec ? "zstd" : "lz4"))
			continue;
		fd = mkstemp(file);
		if (fd < 0 || write(fd, v, s.n * sizeof(*v)) !=
				      (ssize_t)(s.n * sizeof(*v)))
			return 1;
		close(fd);
		for (size_t i = 0; i < NR_ALLOCATORS; i++) {
			struct result r;
			char after[64] = "-", mem[64] = "-", drop[64] = "-";

			if (only && strcmp(only, allocators[i].name))
				continue;
			run_child(self, allocators[i].name, file, ops, seed, &r);
			if (!r.ok) {
				printf("| %s | %s | (not available) |||||||\n",
				       codec ? "zstd-3" : "lz4",
				       allocators[i].name);
				continue;
			}
			if (r.rss_after)
				snprintf(after, sizeof(after), "%.4f",
					 (double)r.rss_after /
						 (double)r.live);
			if (r.mem_fill > 0)
				snprintf(mem, sizeof(mem), "%.4f, %.4f",
					 r.mem_fill, r.mem_after);
			if (r.freed_pages)
				snprintf(drop, sizeof(drop), "%.3f",
					 (double)r.rss_drop /
						 (double)(r.freed_pages * 4096));
			printf("| %s | %s | %.1f | %.4f | %.4f | %s | %s | %s | "
			       "%.2f | %.2f |\n",
			       codec ? "zstd-3" : "lz4", allocators[i].name,
			       (double)total / 1048576.0,
			       (double)r.rss_fill / (double)total,
			       (double)r.rss_free / (double)r.live, after,
			       mem, drop, r.t1 / 1e6, r.t2 / 1e6);
		}
		unlink(file);
		strcpy(file, "/tmp/allocbench.XXXXXX");
	}
	return 0;
}
