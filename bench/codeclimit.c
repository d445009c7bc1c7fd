/*
 * codeclimit.c - the codecs' in-process speed limit on 4 KiB pages.
 *
 * Usage: bench/codeclimit FILE [SECONDS]
 *
 * Cuts FILE into 4 KiB pages (the last one zero padded) and, single
 * threaded, compresses every page with lz4 and with zstd level 3, then
 * decompresses the results, repeating each pass for at least SECONDS
 * (default 1) of wall time.  This is the ceiling the page store can reach
 * on one core, whatever FUSE and the allocator add.  Output is one
 * "name value" pair a line (MB = 10^6 bytes of uncompressed data):
 *
 *	cores N
 *	pages N
 *	<codec>_ratio R               input bytes / compressed bytes
 *	<codec>_compress_mbps V
 *	<codec>_decompress_mbps V
 *	<codec>_compress_mbps_allcores V     V * cores (ideal scaling)
 *	<codec>_decompress_mbps_allcores V
 *
 * Pages the codec cannot shrink below a page count as stored raw
 * (4096 bytes, no decompression), as in the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"

#define PAGE ZSFS_CODEC_PAGE

struct bench_input {
	unsigned char *data;   /* npages * PAGE */
	size_t npages;
};

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int input_load(const char *path, struct bench_input *in)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, len = 0, n;
	unsigned char *buf = NULL, *nb;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (!buf || len == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	in->npages = (len + PAGE - 1) / PAGE;
	if (!in->npages) {
		rc = -EINVAL;
		goto out;
	}
	nb = realloc(buf, in->npages * PAGE);
	if (!nb) {
		rc = -ENOMEM;
		goto out;
	}
	buf = nb;
	memset(buf + len, 0, in->npages * PAGE - len);
	in->data = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int bench_codec(const struct zsfs_codec *codec, int level,
		       const char *label, const struct bench_input *in,
		       double min_sec, long cores)
{
	unsigned char *out, page[PAGE];
	size_t *lens, i, total = 0, passes;
	double t0, tc, td;
	void *ctx;
	int rc;

	rc = codec->ctx_create(level, &ctx);
	if (rc)
		return rc;
	out = malloc(in->npages * PAGE);
	lens = malloc(in->npages * sizeof(*lens));
	if (!out || !lens) {
		rc = -ENOMEM;
		goto out;
	}
	passes = 0;
	t0 = now_sec();
	do {
		total = 0;
		for (i = 0; i < in->npages; i++) {
			rc = codec->compress(ctx, level, in->data + i * PAGE,
					     out + i * PAGE, PAGE - 1, &lens[i]);
			if (rc == -E2BIG) {
				lens[i] = PAGE; /* stored raw */
				rc = 0;
			}
			if (rc)
				goto out;
			total += lens[i];
		}
		passes++;
	} while ((tc = now_sec() - t0) < min_sec);
	tc /= (double)passes;

	passes = 0;
	t0 = now_sec();
	do {
		for (i = 0; i < in->npages; i++) {
			if (lens[i] == PAGE)
				continue;
			rc = codec->decompress(ctx, out + i * PAGE, lens[i], page);
			if (rc || memcmp(page, in->data + i * PAGE, PAGE)) {
				fprintf(stderr, "%s: page %zu does not round trip\n",
					label, i);
				rc = -EIO;
				goto out;
			}
		}
		passes++;
	} while ((td = now_sec() - t0) < min_sec);
	td /= (double)passes;

	{
		double mb = (double)(in->npages * PAGE) / 1e6;

		printf("%s_ratio %.3f\n", label,
		       (double)(in->npages * PAGE) / (double)total);
		printf("%s_compress_mbps %.1f\n", label, mb / tc);
		printf("%s_decompress_mbps %.1f\n", label, mb / td);
		printf("%s_compress_mbps_allcores %.1f\n", label,
		       mb / tc * (double)cores);
		printf("%s_decompress_mbps_allcores %.1f\n", label,
		       mb / td * (double)cores);
	}
out:
	free(out);
	free(lens);
	codec->ctx_destroy(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	struct bench_input in = { NULL, 0 };
	double min_sec = 1.0;
	long cores;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE [SECONDS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		min_sec = atof(argv[2]);
	rc = input_load(argv[1], &in);
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	printf("cores %ld\n", cores);
	printf("pages %zu\n", in.npages);
	rc = bench_codec(&zsfs_codec_lz4, 0, "lz4", &in, min_sec, cores);
	if (!rc)
		rc = bench_codec(&zsfs_codec_zstd, ZSFS_ZSTD_LEVEL_DEFAULT,
				 "zstd3", &in, min_sec, cores);
	free(in.data);
	if (rc) {
		fprintf(stderr, "codeclimit: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
