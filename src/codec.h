/*
 * codec.h - the internal codec table of the page store.
 *
 * A codec turns one 4 KiB page into at most @dst_cap bytes and back.  Each
 * library sits in its own file (codec_lz4.c, codec_zstd.c, codec_none.c)
 * behind struct zsfs_codec; codec.c parses and checks the compress= spec.  Codecs keep
 * no state of their own: the caller owns the contexts (the store lends one
 * to each operation), so every function is thread safe as long as a
 * context is used by one thread at a time.
 */
#ifndef ZSFS_CODEC_H
#define ZSFS_CODEC_H

#include <stddef.h>

/* The unit every codec works on: one page, in and out. */
#define ZSFS_CODEC_PAGE 4096u

/* Levels accepted by "zstd:N"; 3 is zstd's own default. */
#define ZSFS_ZSTD_LEVEL_MIN 1
#define ZSFS_ZSTD_LEVEL_MAX 19
#define ZSFS_ZSTD_LEVEL_DEFAULT 3

struct zsfs_codec {
	const char *name;
	/*
	 * ctx_create() - make a context for compression level
	 * @level (ignored by codecs without levels).
	 * Return: 0 and *@ctxp (may be NULL for a codec without state);
	 * -ENOMEM.
	 */
	int (*ctx_create)(int level, void **ctxp);
	/* Free a context from ctx_create.  NULL ok. */
	void (*ctx_destroy)(void *ctx);
	/*
	 * compress() - compress ZSFS_CODEC_PAGE bytes at @src into @dst.
	 * Never writes more than @dst_cap bytes.
	 * Return: 0 and *@lenp (1..@dst_cap); -E2BIG when the result would
	 * not fit in @dst_cap (the caller stores the page raw); -EIO for an
	 * internal codec error.
	 */
	int (*compress)(void *ctx, int level, const void *src, void *dst,
			size_t dst_cap, size_t *lenp);
	/*
	 * decompress() - decode @len bytes at @src into exactly
	 * ZSFS_CODEC_PAGE bytes at @dst.  Never reads past @src + @len and
	 * never writes past @dst + ZSFS_CODEC_PAGE, whatever the input.
	 * Return: 0; -EIO when the input is corrupt or does not decode to
	 * exactly one page.
	 */
	int (*decompress)(void *ctx, const void *src, size_t len, void *dst);

	/*
	 * Dictionaries (dict.c); NULL in a codec without them ("none").
	 * A dictionary is content (a zstd dictionary or raw bytes) prepared
	 * for decoding; compressing with it needs a second object prepared
	 * for one level (cdict), which only the background recompression
	 * makes.  Both are read-only once made: any thread.
	 *
	 * dict_create() - prepare @size bytes at @content (copied).
	 * Return 0 and *@dp; -EINVAL (not a dictionary this codec takes);
	 * -ENOMEM.
	 */
	int (*dict_create)(const void *content, size_t size, void **dp);
	void (*dict_destroy)(void *d);
	/* Heap bytes the dictionary holds (for the budget). */
	size_t (*dict_bytes)(const void *d);
	/* A compression-side object for @d at @level; @d must outlive it. */
	int (*cdict_create)(const void *d, int level, void **cdp);
	void (*cdict_destroy)(void *cd);
	size_t (*cdict_bytes)(const void *cd);
	/* As compress, with the dictionary @cd (the level is @cd's). */
	int (*compress_dict)(void *ctx, void *cd, const void *src, void *dst,
			     size_t dst_cap, size_t *lenp);
	/* As decompress, with the dictionary @d. */
	int (*decompress_dict)(void *ctx, const void *d, const void *src,
			       size_t len, void *dst);
};

/* lz4 levels: 0 is lz4's fast compressor (what writes use); 1..12 are
 * LZ4HC's levels, whose output the ordinary lz4 decoder reads. */
#define ZSFS_LZ4HC_LEVEL_MIN 1
#define ZSFS_LZ4HC_LEVEL_MAX 12

/* ---- codec_lz4.c ---------------------------------------------------- */
extern const struct zsfs_codec zsfs_codec_lz4;
/* ---- codec_zstd.c --------------------------------------------------- */
extern const struct zsfs_codec zsfs_codec_zstd;
/* ---- codec_none.c --------------------------------------------------- */
extern const struct zsfs_codec zsfs_codec_none;

/* ---- codec.c -------------------------------------------------------- */

/*
 * zsfs_codec_parse() - parse a compress= value: "lz4" (also NULL or ""),
 * "zstd", "zstd:LEVEL" with LEVEL in 1..19, "none".
 * Return: 0 with *@codecp and *@levelp; -EINVAL with a message naming the
 * bad value in @err (NUL-terminated, at most @err_cap bytes; @err may be
 * NULL).
 */
int zsfs_codec_parse(const char *spec, const struct zsfs_codec **codecp,
		     int *levelp, char *err, size_t err_cap);

/* Canonical spec of a parsed codec ("lz4", "zstd:3", "none") into @buf. */
void zsfs_codec_format(const struct zsfs_codec *codec, int level, char *buf,
		       size_t buf_cap);

/*
 * zsfs_codec_check() - validate a compress= value without making a store.
 * Return: 0, or -EINVAL with a message naming what is wrong in @err.
 * (Also declared in pagestore.h, for options.c.)
 */
int zsfs_codec_check(const char *spec, char *err, size_t err_cap);

#endif
