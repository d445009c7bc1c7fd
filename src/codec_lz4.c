/*
 * codec_lz4.c - lz4 block compression of one page: the default codec.
 *
 * Level 0 (what writes use) is lz4's fast compressor: the context is
 * lz4's compression state (LZ4_sizeofState() bytes), so
 * LZ4_compress_fast_extState() needs no allocation per page.  Levels
 * 1..12 are LZ4HC (the background recompression, recompress=lz4hc:N):
 * the context is an LZ4HC stream; its output is plain lz4 blocks, read by
 * the same decoder.  Decompression is LZ4_decompress_safe(), which is
 * bounded on both sides; we also insist that the output is exactly one
 * page.
 *
 * Dictionaries: lz4 uses the last 64 KiB of any content as a prefix, so a
 * trained zstd dictionary works as it is.  The compression side (cdict)
 * is an LZ4HC stream with the content loaded once (LZ4_loadDictHC); each
 * page copies that stream into the context and compresses after it.
 * The shared library has no LZ4_attach_HC_dictionary, and copying a
 * loaded stream is what lz4 documents as the alternative.  Decoding is
 * LZ4_decompress_safe_usingDict() with the content.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>

#include "codec.h"

/* lz4's default speed/ratio trade-off. */
#define LZ4_ACCEL 1
/* lz4 reads at most 64 KiB back: a longer dictionary keeps its tail. */
#define LZ4_DICT_WINDOW 65536u

struct lz4_dict {
	size_t size;
	unsigned char content[];
};

struct lz4_cdict {
	const struct lz4_dict *d;
	LZ4_streamHC_t stream; /* content loaded at the cdict's level */
};

static int lz4_ctx_create(int level, void **ctxp)
{
	void *state;

	if (level > 0) {
		state = malloc(sizeof(LZ4_streamHC_t));
		if (state && !LZ4_initStreamHC(state, sizeof(LZ4_streamHC_t))) {
			free(state);
			state = NULL;
		}
	} else {
		state = malloc((size_t)LZ4_sizeofState());
	}
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

	/* Both return 0 when the result does not fit in cap. */
	if (level > 0)
		n = LZ4_compress_HC_extStateHC(ctx, src, dst,
					       (int)ZSFS_CODEC_PAGE, cap, level);
	else
		n = LZ4_compress_fast_extState(ctx, src, dst,
					       (int)ZSFS_CODEC_PAGE, cap,
					       LZ4_ACCEL);
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

static int lz4_dict_create(const void *content, size_t size, void **dp)
{
	const unsigned char *c = content;
	struct lz4_dict *d;

	if (size == 0)
		return -EINVAL;
	if (size > LZ4_DICT_WINDOW) {
		c += size - LZ4_DICT_WINDOW;
		size = LZ4_DICT_WINDOW;
	}
	d = malloc(sizeof(*d) + size);
	if (!d)
		return -ENOMEM;
	d->size = size;
	memcpy(d->content, c, size);
	*dp = d;
	return 0;
}

static void lz4_dict_destroy(void *d)
{
	free(d);
}

static size_t lz4_dict_bytes(const void *d)
{
	return sizeof(struct lz4_dict) + ((const struct lz4_dict *)d)->size;
}

static int lz4_cdict_create(const void *d, int level, void **cdp)
{
	const struct lz4_dict *ld = d;
	struct lz4_cdict *cd = malloc(sizeof(*cd));

	if (!cd)
		return -ENOMEM;
	cd->d = ld;
	LZ4_initStreamHC(&cd->stream, sizeof(cd->stream));
	/* Level 0 (recompress=off: a dictionary alone) uses LZ4HC's
	 * fastest level: lz4's fast compressor would need a stream of its
	 * own kind. */
	LZ4_resetStreamHC_fast(&cd->stream, level > 0 ? level : 2);
	LZ4_loadDictHC(&cd->stream, (const char *)ld->content, (int)ld->size);
	*cdp = cd;
	return 0;
}

static void lz4_cdict_destroy(void *cd)
{
	free(cd);
}

static size_t lz4_cdict_bytes(const void *cd)
{
	return sizeof(struct lz4_cdict);
}

/* @ctx is a level > 0 context: an LZ4HC stream. */
static int lz4_compress_dict(void *ctx, void *cdv, const void *src,
			     void *dst, size_t dst_cap, size_t *lenp)
{
	struct lz4_cdict *cd = cdv;
	int cap = dst_cap > INT_MAX ? INT_MAX : (int)dst_cap;
	int n;

	memcpy(ctx, &cd->stream, sizeof(cd->stream));
	n = LZ4_compress_HC_continue(ctx, src, dst, (int)ZSFS_CODEC_PAGE,
				     cap);
	if (n <= 0)
		return -E2BIG;
	*lenp = (size_t)n;
	return 0;
}

static int lz4_decompress_dict(void *ctx, const void *dv, const void *src,
			       size_t len, void *dst)
{
	const struct lz4_dict *d = dv;
	int n;

	if (len == 0 || len > INT_MAX)
		return -EIO;
	n = LZ4_decompress_safe_usingDict(src, dst, (int)len,
					  (int)ZSFS_CODEC_PAGE,
					  (const char *)d->content,
					  (int)d->size);
	return n == (int)ZSFS_CODEC_PAGE ? 0 : -EIO;
}

const struct zsfs_codec zsfs_codec_lz4 = {
	.name = "lz4",
	.ctx_create = lz4_ctx_create,
	.ctx_destroy = lz4_ctx_destroy,
	.compress = lz4_compress,
	.decompress = lz4_decompress,
	.dict_create = lz4_dict_create,
	.dict_destroy = lz4_dict_destroy,
	.dict_bytes = lz4_dict_bytes,
	.cdict_create = lz4_cdict_create,
	.cdict_destroy = lz4_cdict_destroy,
	.cdict_bytes = lz4_cdict_bytes,
	.compress_dict = lz4_compress_dict,
	.decompress_dict = lz4_decompress_dict,
};
