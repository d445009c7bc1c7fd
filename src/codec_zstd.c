/*
 * codec_zstd.c - zstd compression of one page (compress=zstd[:LEVEL]).
 *
 * The per-thread context is a ZSTD_CCtx plus a ZSTD_DCtx, so neither
 * direction allocates per page.  Frames carry their content size; a frame
 * that does not decode to exactly one page is rejected as corrupt.
 */
#include <errno.h>
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

struct zstd_ctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

static void zstd_ctx_destroy(void *ctx)
{
	struct zstd_ctx *z = ctx;

	if (!z)
		return;
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

static int zstd_ctx_create(int level, void **ctxp)
{
	struct zstd_ctx *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	z->cctx = ZSTD_createCCtx();
	z->dctx = ZSTD_createDCtx();
	if (!z->cctx || !z->dctx) {
		zstd_ctx_destroy(z);
		return -ENOMEM;
	}
	*ctxp = z;
	return 0;
}

static int zstd_compress(void *ctx, int level, const void *src, void *dst,
			 size_t dst_cap, size_t *lenp)
{
	struct zstd_ctx *z = ctx;
	size_t n;

	n = ZSTD_compressCCtx(z->cctx, dst, dst_cap, src, ZSFS_CODEC_PAGE,
			      level);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ?
			-E2BIG : -EIO;
	*lenp = n;
	return 0;
}

static int zstd_decompress(void *ctx, const void *src, size_t len, void *dst)
{
	struct zstd_ctx *z = ctx;
	size_t n;

	if (len == 0)
		return -EIO;
	n = ZSTD_decompressDCtx(z->dctx, dst, ZSFS_CODEC_PAGE, src, len);
	if (ZSTD_isError(n) || n != ZSFS_CODEC_PAGE)
		return -EIO;
	return 0;
}

const struct zsfs_codec zsfs_codec_zstd = {
	.name = "zstd",
	.ctx_create = zstd_ctx_create,
	.ctx_destroy = zstd_ctx_destroy,
	.compress = zstd_compress,
	.decompress = zstd_decompress,
};
