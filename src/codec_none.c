/*
 * codec_none.c - the identity codec: compress=none.
 *
 * A page never gets smaller, so with any dst_cap below a page compress()
 * reports -E2BIG and the store keeps the page raw.  It exists so that the
 * store's raw path can be measured and tested on its own.
 */
#include <errno.h>
#include <string.h>

#include "codec.h"

static int none_ctx_create(int level, void **ctxp)
{
	*ctxp = NULL;
	return 0;
}

static void none_ctx_destroy(void *ctx)
{
}

static int none_compress(void *ctx, int level, const void *src, void *dst,
			 size_t dst_cap, size_t *lenp)
{
	if (dst_cap < ZSFS_CODEC_PAGE)
		return -E2BIG;
	memcpy(dst, src, ZSFS_CODEC_PAGE);
	*lenp = ZSFS_CODEC_PAGE;
	return 0;
}

static int none_decompress(void *ctx, const void *src, size_t len, void *dst)
{
	if (len != ZSFS_CODEC_PAGE)
		return -EIO;
	memcpy(dst, src, ZSFS_CODEC_PAGE);
	return 0;
}

const struct zsfs_codec zsfs_codec_none = {
	.name = "none",
	.ctx_create = none_ctx_create,
	.ctx_destroy = none_ctx_destroy,
	.compress = none_compress,
	.decompress = none_decompress,
};
