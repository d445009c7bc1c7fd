/*
 * codec_zstd.c - zstd compression of one page (compress=zstd[:LEVEL]).
 *
 * The per-thread context is a ZSTD_CCtx plus a ZSTD_DCtx, so neither
 * direction allocates per page.  Frames carry their content size; a frame
 * that does not decode to exactly one page is rejected as corrupt.
 *
 * Dictionaries: a DDict (decoding) made from a zstd dictionary or raw
 * content; the compression side is a CDict for one level, with the
 * parameters zstd picks for a 4 KiB input (ZSTD_getCParams), so its
 * tables stay small.  A trained dictionary has an id that each frame
 * names, so decoding with the wrong one fails instead of returning
 * wrong bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY
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

/* The content is kept beside the DDict: a CDict is made from it later. */
struct zstd_dict {
	ZSTD_DDict *ddict;
	size_t size;
	unsigned char content[];
};

static int zstd_dict_create(const void *content, size_t size, void **dp)
{
	struct zstd_dict *d;

	if (size == 0)
		return -EINVAL;
	d = malloc(sizeof(*d) + size);
	if (!d)
		return -ENOMEM;
	d->size = size;
	memcpy(d->content, content, size);
	d->ddict = ZSTD_createDDict(d->content, size);
	if (!d->ddict) {
		free(d);
		return -EINVAL;
	}
	*dp = d;
	return 0;
}

static void zstd_dict_destroy(void *dv)
{
	struct zstd_dict *d = dv;

	if (!d)
		return;
	ZSTD_freeDDict(d->ddict);
	free(d);
}

static size_t zstd_dict_bytes(const void *dv)
{
	const struct zstd_dict *d = dv;

	return sizeof(*d) + d->size + ZSTD_sizeof_DDict(d->ddict);
}

static int zstd_cdict_create(const void *dv, int level, void **cdp)
{
	const struct zstd_dict *d = dv;
	ZSTD_compressionParameters cp;
	ZSTD_CDict *cd;

	cp = ZSTD_getCParams(level, ZSFS_CODEC_PAGE, d->size);
	cd = ZSTD_createCDict_advanced(d->content, d->size, ZSTD_dlm_byCopy,
				       ZSTD_dct_auto, cp, ZSTD_defaultCMem);
	if (!cd)
		return -ENOMEM;
	*cdp = cd;
	return 0;
}

static void zstd_cdict_destroy(void *cd)
{
	ZSTD_freeCDict(cd);
}

static size_t zstd_cdict_bytes(const void *cd)
{
	return ZSTD_sizeof_CDict(cd);
}

static int zstd_compress_dict(void *ctx, void *cd, const void *src,
			      void *dst, size_t dst_cap, size_t *lenp)
{
	struct zstd_ctx *z = ctx;
	size_t n;

	n = ZSTD_compress_usingCDict(z->cctx, dst, dst_cap, src,
				     ZSFS_CODEC_PAGE, cd);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ?
			-E2BIG : -EIO;
	*lenp = n;
	return 0;
}

static int zstd_decompress_dict(void *ctx, const void *dv, const void *src,
				size_t len, void *dst)
{
	const struct zstd_dict *d = dv;
	struct zstd_ctx *z = ctx;
	size_t n;

	if (len == 0)
		return -EIO;
	n = ZSTD_decompress_usingDDict(z->dctx, dst, ZSFS_CODEC_PAGE, src, len,
				       d->ddict);
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
	.dict_create = zstd_dict_create,
	.dict_destroy = zstd_dict_destroy,
	.dict_bytes = zstd_dict_bytes,
	.cdict_create = zstd_cdict_create,
	.cdict_destroy = zstd_cdict_destroy,
	.cdict_bytes = zstd_cdict_bytes,
	.compress_dict = zstd_compress_dict,
	.decompress_dict = zstd_decompress_dict,
};
