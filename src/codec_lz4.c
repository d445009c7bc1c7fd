/*
 * codec_lz4.c - lz4 block compression of one page: the default codec.
 *
 * The per-thread context is lz4's compression state (LZ4_sizeofState()
 * bytes), so LZ4_compress_fast_extState() needs no allocation per page.
 * Decompression is LZ4_decompress_safe(), which is bounded on both sides;
 * we also insist that the output is exactly one page.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <lz4.h>

#include "codec.h"

/* lz4's default speed/ratio trade-off. */
#define LZ4_ACCEL 1

static int lz4_ctx_create(int level, void **ctxp)
{
	void *state = malloc((size_t)LZ4_sizeofState());

	if (!state)
		return -ENOMEM;
	*ctxp = state;
	return 0;
}

static void lz4_ctx_destroy(void *ctx)
{
	free(ctx);
}

static int lz4_compress(void *ctx, int level, const void *src, void *dst,
			size_t dst_cap, size_t *lenp)
{
	int cap = dst_cap > INT_MAX ? INT_MAX : (int)dst_cap;
	int n;

	/* Returns 0 when the result does not fit in cap. */
	n = LZ4_compress_fast_extState(ctx, src, dst, (int)ZSFS_CODEC_PAGE,
				       cap, LZ4_ACCEL);
	if (n <= 0)
		return -E2BIG;
	*lenp = (size_t)n;
	return 0;
}

static int lz4_decompress(void *ctx, const void *src, size_t len, void *dst)
{
	int n;

	if (len == 0 || len > INT_MAX)
		return -EIO;
	n = LZ4_decompress_safe(src, dst, (int)len, (int)ZSFS_CODEC_PAGE);
	return n == (int)ZSFS_CODEC_PAGE ? 0 : -EIO;
}

const struct zsfs_codec zsfs_codec_lz4 = {
	.name = "lz4",
	.ctx_create = lz4_ctx_create,
	.ctx_destroy = lz4_ctx_destroy,
	.compress = lz4_compress,
	.decompress = lz4_decompress,
};
