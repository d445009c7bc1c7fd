/*
 * filemeta.c - the page store's bookkeeping per file: creates N files of
 * MIN..MAX pages (text, a partial last page, flushed) through the
 * pagestore API and prints, per file and per stored page, what malloc
 * really holds for them (mallinfo2's in-use bytes after minus before)
 * next to what zsfs_file_meta_bytes() says, and the pool's bytes.  "table
 * per page" is the page table's part: the bytes beyond what an empty
 * file takes, per page; small files keep their first pages in the file
 * struct, so use large ones (2000 64 256) for the cost of a page.
 *
 *	bench/filemeta [N [MIN_PAGES [MAX_PAGES]]]   (10000 1 3)
 *	bench/filemeta -d DIR...    every regular file under DIR, as it is
 */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pagestore.h"
#include "test_util.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

/* 0 without glibc: then only the meta figure means anything. */
static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 33)
	return mallinfo2().uordblks;
#endif
#endif
	return 0;
}

/* -d: the files found, and where the next one goes. */
static struct {
	struct zsfs_store *s;
	struct zsfs_file **f;
	size_t n, cap, pages;
	unsigned char *buf; /* CHUNK bytes */
} walk;

#define CHUNK (1u << 20)

static int walk_count(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	walk.cap += type == FTW_F && S_ISREG(st->st_mode);
	return 0;
}

static int walk_store(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	struct zsfs_file *f;
	size_t off = 0, w;
	ssize_t got;
	int fd;

	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode) || walk.n >= walk.cap)
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (zsfs_file_create(&f)) {
		close(fd);
		return 1;
	}
	while ((got = read(fd, walk.buf, CHUNK)) > 0) {
		if (zsfs_file_write(walk.s, f, off, (size_t)got, walk.buf, &w))
			break;
		off += (size_t)got;
	}
	close(fd);
	zsfs_file_flush(walk.s, f);
	walk.pages += (off + ZSFS_PAGE_SIZE - 1) / ZSFS_PAGE_SIZE;
	walk.f[walk.n++] = f;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	size_t lo = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
	size_t hi = argc > 3 ? strtoul(argv[3], NULL, 0) : 3;
	static const char *const words[] = { "int ", "struct ", "return ",
		"#define ", "(void)", " {\n", "}\n", "\tfoo_bar", " = 0;\n" };
	struct zsfs_store_stats st;
	struct zs_pool_stats ps;
	struct zsfs_file **f;
	struct zsfs_store *s;
	unsigned char *buf;
	size_t i, j, len, meta = 0, h0, h1, pages = 0, w, empty;
	char err[128];

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		for (i = 2; i < (size_t)argc; i++)
			nftw(argv[i], walk_count, 64, FTW_PHYS);
		n = walk.cap;
		lo = hi = 1;
	}
	if (!n || !lo || hi < lo)
		return 2;
	buf = malloc(hi * ZSFS_PAGE_SIZE);
	f = calloc(n, sizeof(*f));
	walk.buf = malloc(CHUNK);
	walk.f = f;
	if (!buf || !f || zsfs_store_create(NULL, &s, err, sizeof(err)))
		return 1;
	/* One warm-up file: per-thread state and the pool's first pages. */
	memset(buf, 'x', ZSFS_PAGE_SIZE);
	zsfs_file_create(&f[0]);
	zsfs_file_write(s, f[0], 0, ZSFS_PAGE_SIZE, buf, &w);
	zsfs_file_destroy(s, f[0]);
	zsfs_file_create(&f[0]);
	empty = zsfs_file_meta_bytes(f[0]);
	zsfs_file_destroy(s, f[0]);
	h0 = heap_in_use();
	walk.s = s;
	for (i = 2; walk.cap && i < (size_t)argc; i++)
		nftw(argv[i], walk_store, 64, FTW_PHYS);
	if (walk.cap) {
		n = walk.n;
		pages = walk.pages;
		lo = 0;
		hi = SIZE_MAX;
	}
	for (i = 0; !walk.cap && i < n; i++) {
		size_t np = lo + rnd() % (hi - lo + 1);

		for (len = 0; len < np * ZSFS_PAGE_SIZE;) {
			const char *wd = words[rnd() % 9];
			size_t k = strlen(wd);

			if (k > np * ZSFS_PAGE_SIZE - len)
				k = np * ZSFS_PAGE_SIZE - len;
			memcpy(buf + len, wd, k);
			len += k;
		}
		len -= rnd() % (ZSFS_PAGE_SIZE / 2); /* a partial last page */
		if (zsfs_file_create(&f[i]) ||
		    zsfs_file_write(s, f[i], 0, len, buf, &w) ||
		    zsfs_file_flush(s, f[i]))
			return 1;
		pages += np;
	}
	h1 = heap_in_use();
	for (i = 0; i < n; i++)
		meta += zsfs_file_meta_bytes(f[i]);
	zsfs_store_stats(s, &st);
	zs_pool_stats(zsfs_store_pool(s), &ps);
	if (walk.cap)
		printf("files %zu pages %zu (from the tree%s given)\n", n,
		       pages, argc > 3 ? "s" : "");
	else
		printf("files %zu pages %zu (%zu..%zu per file)\n", n, pages,
		       lo, hi);
	printf("heap per file %.1f bytes (malloc in use)\n",
	       (double)(h1 - h0) / (double)n);
	printf("meta per file %.1f bytes (zsfs_file_meta_bytes; empty file %zu)\n",
	       (double)meta / (double)n, empty);
	printf("heap per page %.2f bytes, meta per page %.2f, table per page %.2f\n",
	       (double)(h1 - h0) / (double)pages, (double)meta / (double)pages,
	       (double)(meta - n * empty) / (double)pages);
	printf("pool per file %.1f bytes (mem_bytes), compressed %.1f\n",
	       (double)ps.mem_bytes / (double)n,
	       (double)st.compr_data_size / (double)n);
	for (j = 0; j < n; j++)
		zsfs_file_destroy(s, f[j]);
	zsfs_store_destroy(s);
	free(f);
	free(buf);
	free(walk.buf);
	return 0;
}
