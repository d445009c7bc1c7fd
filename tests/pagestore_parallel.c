/*
 * pagestore_parallel.c - large writes and reads shared with the store's
 * helper threads (params.threads): data, a dirty page inside the range,
 * same-filled and raw pages, ENOSPC part way (a prefix of whole pages
 * stored, what the serial path stores), and the throughput of 1 MiB
 * writes and reads with one thread and with the default.
 *
 *	ZS_DATA=FILE  data for the throughput run (default: generated text)
 *	ZS_BYTES=N    how much of it (default 32 MiB; FILE is cut or repeated)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define CHUNK ((size_t)1 << 20)

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

/* Pages of text, with a zero page every 7 and a random one every 11. */
static void fill(unsigned char *p, size_t npages)
{
	static const char words[] = "lorem ipsum dolor sit amet consectetur "
				    "adipiscing elit sed do eiusmod tempor ";
	size_t i, j;

	for (i = 0; i < npages; i++) {
		unsigned char *q = p + i * PG;

		if (i % 7 == 3)
			memset(q, 0, PG);
		else if (i % 11 == 5)
			for (j = 0; j < PG; j++)
				q[j] = (unsigned char)rnd();
		else
			for (j = 0; j < PG; j++)
				q[j] = (unsigned char)(j % 97 == 0 ? (unsigned char)
						       rnd() :
						       words[(j / 5 + i) % (sizeof(words) - 1)]);
	}
}

/* Raw pages fill() makes among @npages (zero wins where both fall). */
static size_t n_raw(size_t npages)
{
	size_t i, k = 0;

	for (i = 0; i < npages; i++)
		k += i % 11 == 5 && i % 7 != 3;
	return k;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Big writes over small ones and a dirty page; reads at odd places. */
static void test_data(unsigned threads)
{
	struct zsfs_store_params p = { .threads = threads };
	size_t n = 300, w;
	unsigned char *data = malloc(n * PG), *out = malloc(n * PG + PG);
	struct zsfs_file_stats fst;
	struct zsfs_store *s;
	struct zsfs_file *f;
	char msg[256] = "";
	int rc;

	if (zsfs_store_create(&p, &s, msg, sizeof(msg)) || zsfs_file_create(&f)) {
		tap_ok(0, "threads=%u: setup", threads);
		return;
	}
	fill(data, n);
	/* Page 40 dirty, page 41 stored: the big write goes over both. */
	TAP_OK(!zsfs_file_write(s, f, 40 * PG + 10, 100, data, &w) &&
	       !zsfs_file_write(s, f, 41 * PG, PG, data, &w),
	       "threads=%u: a dirty page and a stored one", threads);
	TAP_OK(!zsfs_file_write(s, f, 0, n * PG, data, &w) && w == n * PG,
	       "threads=%u: one write of %zu pages", threads, n);
	zsfs_file_stats(f, &fst);
	TAP_OK(fst.pages_dirty == 1 && fst.pages_raw == n_raw(n) &&
	       fst.pages_same == (n + 3) / 7,
	       "threads=%u: the dirty page stays dirty; %zu raw, %zu same",
	       threads, fst.pages_raw, fst.pages_same);
	memset(out, 0x55, n * PG);
	TAP_OK(!zsfs_file_read(s, f, 0, n * PG, out) &&
	       !memcmp(out, data, n * PG), "threads=%u: reads back whole",
	       threads);
	memset(out, 0x55, n * PG);
	TAP_OK(!zsfs_file_read(s, f, 123, 200 * PG + 5, out) &&
	       !memcmp(out, data + 123, 200 * PG + 5),
	       "threads=%u: unaligned read of 200 pages", threads);
	/* Unaligned big write: head and tail partial, middle parallel. */
	TAP_OK(!zsfs_file_write(s, f, 7 * PG + 99, 100 * PG, data, &w) &&
	       w == 100 * PG, "threads=%u: unaligned write of 100 pages",
	       threads);
	memmove(data + 7 * PG + 99, data, 100 * PG);
	TAP_OK(!zsfs_file_read(s, f, 0, n * PG, out) &&
	       !memcmp(out, data, n * PG), "threads=%u: reads back after",
	       threads);
	rc = t_store_check(s, f, msg, sizeof(msg));
	TAP_OK(rc == 0, "threads=%u: checks: %s", threads, rc ? msg : "ok");
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(data);
	free(out);
}

/* A write into a pool that fills part way: the same prefix either way. */
static size_t enospc_run(unsigned threads, int *okp)
{
	struct zsfs_store_params p = { .threads = threads,
				       .limit_bytes = 2 << 20 };
	size_t n = 2048, w = 0;
	unsigned char *data = malloc(n * PG), *out = malloc(n * PG);
	struct zsfs_store *s;
	struct zsfs_file *f;
	char msg[256] = "";
	int rc;

	*okp = 0;
	if (zsfs_store_create(&p, &s, msg, sizeof(msg)) || zsfs_file_create(&f))
		goto out;
	rng_state = 77;
	fill(data, n);
	rc = zsfs_file_write(s, f, 0, n * PG, data, &w);
	*okp = rc == -ENOSPC && w % PG == 0 && w > 0 && w < n * PG &&
	       !zsfs_file_read(s, f, 0, w, out) && !memcmp(out, data, w) &&
	       t_store_check(s, f, msg, sizeof(msg)) == 0;
	if (!*okp)
		tap_diag("threads=%u: rc %d written %zu %s", threads, rc, w, msg);
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
out:
	free(data);
	free(out);
	return w;
}

static void test_enospc(void)
{
	int ok1, ok4;
	size_t w1 = enospc_run(1, &ok1), w4 = enospc_run(4, &ok4);

	TAP_OK(ok1 && ok4, "ENOSPC part way: a prefix stored, checks ok");
	/* Helpers allocate from other shards of the pool, each with its
	 * partly filled zspages: in a 2 MiB pool that is a few percent. */
	TAP_OK(w4 >= w1 / 8 * 7 && w1 >= w4 / 8 * 7,
	       "ENOSPC: serial stored %zu pages, 4 threads %zu", w1 / PG,
	       w4 / PG);
}

/* 1 MiB writes, then 1 MiB reads, of @data: MB/s. */
static void speed(unsigned threads, const unsigned char *data, size_t len,
		  double *wr, double *rd, size_t *compr)
{
	struct zsfs_store_params p = { .threads = threads };
	unsigned char *out = malloc(CHUNK);
	struct zsfs_store_stats st;
	struct zsfs_store *s;
	struct zsfs_file *f;
	size_t off, w;
	double t0;
	int bad = 0;

	*wr = *rd = 0;
	if (!out || zsfs_store_create(&p, &s, NULL, 0) || zsfs_file_create(&f))
		return;
	t0 = now();
	for (off = 0; off < len; off += CHUNK)
		bad |= zsfs_file_write(s, f, off, CHUNK, data + off, &w);
	*wr = (double)len / (now() - t0) / 1e6;
	t0 = now();
	for (off = 0; off < len; off += CHUNK)
		bad |= zsfs_file_read(s, f, off, CHUNK, out);
	*rd = (double)len / (now() - t0) / 1e6;
	for (off = 0; off < len && !bad; off += CHUNK)
		bad = zsfs_file_read(s, f, off, CHUNK, out) ||
		      memcmp(out, data + off, CHUNK);
	zsfs_store_stats(s, &st);
	*compr = st.compr_data_size;
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(out);
	if (bad)
		*wr = *rd = -1;
}

static void test_speed(void)
{
	const char *path = getenv("ZS_DATA"), *b = getenv("ZS_BYTES");
	size_t len = b ? strtoull(b, NULL, 0) : (size_t)32 << 20, got = 0;
	unsigned char *data;
	double w1, r1, wn, rn;
	size_t c1, cn;
	ssize_t r;
	int fd;

	len = (len + CHUNK - 1) / CHUNK * CHUNK;
	data = malloc(len);
	if (!data)
		return (void)tap_ok(0, "speed: no memory for %zu bytes", len);
	if (path) {
		fd = open(path, O_RDONLY);
		while (fd >= 0 && got < len &&
		       (r = read(fd, data + got, len - got)) > 0)
			got += (size_t)r;
		if (fd >= 0)
			close(fd);
		if (got == 0)
			return (void)tap_ok(0, "speed: cannot read %s", path);
		for (; got < len; got++) /* repeat a short file */
			data[got] = data[got % (got / 2 + 1)];
	} else {
		fill(data, len / PG);
	}
	speed(1, data, len, &w1, &r1, &c1);
	speed(0, data, len, &wn, &rn, &cn);
	TAP_OK(w1 > 0 && wn > 0 && c1 == cn,
	       "speed on %zu MiB of %s (compressed %zu MiB): write 1 thread %.0f MB/s, default %.0f MB/s; read %.0f / %.0f MB/s",
	       len >> 20, path ? path : "generated text", cn >> 20, w1, wn, r1,
	       rn);
	free(data);
}

int main(void)
{
	test_data(1);
	test_data(2);
	test_data(4);
	test_enospc();
	test_speed();
	return tap_done();
}
