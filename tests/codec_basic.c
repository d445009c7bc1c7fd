/*
 * codec_basic.c - the codecs against the contract in codec.h: round trips,
 * sizes, dst_cap, corrupt input, spec parsing.
 *
 *  - compress() returns 0 with a length in 1..dst_cap, or -E2BIG when the
 *    result does not fit (then, and for every cap below the unbounded
 *    length, nothing is written past dst_cap); its output decodes back.
 *  - decompress() returns 0 with exactly the page, or -EIO: truncations
 *    and random bytes are -EIO; a bit-flipped frame is -EIO or decodes to
 *    some page (the frames carry no checksum, as in zram), and never
 *    writes past the page.
 *
 * Guard bytes after each output buffer catch writes past it; run under
 * ASan to catch reads past the input: inputs are malloc'ed at their exact
 * size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "tap.h"
#include "test_util.h"

#define PAGE ZSFS_CODEC_PAGE
#define GUARD 64
#define GUARD_BYTE 0x5a

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

static void fill_text(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"page ", "store ", "zsmalloc ", "compress ", "the ", "of ",
		"lz4 ", "zstd ", "handle ", "class ", "\n", "0123 ",
	};

	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), p, n);
}

static void fill_random(unsigned char *p, size_t n)
{
	t_fill_bytes(&rng_state, p, n);
}

/* Every byte of @p[0..@n) still holds the guard pattern. */
static int guard_ok(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != GUARD_BYTE)
			return 0;
	return 1;
}

/* Decode @len bytes of @frame from an exact-size copy into @dst (a page
 * and GUARD guard bytes).  Return: decompress()'s value, or -ENOTRECOVERABLE
 * when it wrote past the page. */
static int decode(const struct zsfs_codec *c, void *ctx,
		  const unsigned char *frame, size_t len, unsigned char *dst)
{
	unsigned char *tmp = malloc(len ? len : 1);
	int rc;

	memcpy(tmp, frame, len);
	memset(dst, GUARD_BYTE, PAGE + GUARD);
	rc = c->decompress(ctx, tmp, len, dst);
	free(tmp);
	return guard_ok(dst + PAGE, GUARD) ? rc : -ENOTRECOVERABLE;
}

/* Zeros, text and random pages: each compresses within the page (or, for
 * random data with a real codec, reports -E2BIG) and decodes back. */
static void test_kinds(const struct zsfs_codec *c, int level, void *ctx,
		       unsigned char *src, unsigned char *cbuf,
		       unsigned char *dst)
{
	static const char *const kinds[] = { "zeros", "text", "random" };
	int squeezes = c != &zsfs_codec_none;
	size_t len;
	int rc, kind;

	for (kind = 0; kind < 3; kind++) {
		if (kind == 0)
			memset(src, 0, PAGE);
		else if (kind == 1)
			fill_text(src, PAGE);
		else
			fill_random(src, PAGE);
		memset(cbuf, GUARD_BYTE, PAGE + GUARD);
		len = 0;
		rc = c->compress(ctx, level, src, cbuf, PAGE, &len);
		if (kind == 2 && squeezes) {
			TAP_OK(rc == -E2BIG && guard_ok(cbuf + PAGE, GUARD),
			       "%s:%d: a random page does not fit in a page: %d",
			       c->name, level, rc);
			continue;
		}
		if (squeezes)
			TAP_OK(rc == 0 && len >= 1 &&
			       len <= (kind == 0 ? 64 : PAGE / 2),
			       "%s:%d: %s page -> %zu bytes (at most %u)",
			       c->name, level, kinds[kind], len,
			       kind == 0 ? 64 : PAGE / 2);
		else
			TAP_OK(rc == 0 && len == PAGE && !memcmp(cbuf, src, PAGE),
			       "%s: %s page -> itself, %zu bytes", c->name,
			       kinds[kind], len);
		TAP_OK(guard_ok(cbuf + PAGE, GUARD),
		       "%s:%d: %s: nothing written past dst_cap", c->name,
		       level, kinds[kind]);
		rc = decode(c, ctx, cbuf, len, dst);
		TAP_OK(rc == 0 && !memcmp(src, dst, PAGE),
		       "%s:%d: %s: round trip (%d)", c->name, level,
		       kinds[kind], rc);
	}
}

/*
 * dst_cap is a hard bound.  For caps from 1 up to past the unbounded
 * length L of a text page: below L -E2BIG; a success is L bytes at most
 * cap that decode back; in both cases nothing is written at or past cap.
 * Some cap must fit (a cap of L itself need not: zstd wants headroom),
 * and any cap from PAGE up must.
 */
static void test_caps(const struct zsfs_codec *c, int level, void *ctx,
		      unsigned char *src, unsigned char *cbuf,
		      unsigned char *dst)
{
	size_t full, len, cap, tried = 0, fits = 0, wrong = 0;
	int rc;

	fill_text(src, PAGE);
	rc = c->compress(ctx, level, src, cbuf, PAGE, &full);
	if (!TAP_OK(rc == 0, "%s:%d: text page compresses: %d", c->name,
		    level, rc))
		return;
	for (cap = 1; cap <= full + GUARD / 2 && cap <= PAGE + GUARD / 2;
	     cap += cap < 32 || cap + 40 > full ? 1 : 37) {
		tried++;
		memset(cbuf, GUARD_BYTE, PAGE + GUARD);
		len = 0;
		rc = c->compress(ctx, level, src, cbuf, cap, &len);
		if (!guard_ok(cbuf + cap, PAGE + GUARD - cap)) {
			wrong++;
			tap_diag("cap %zu: rc %d, written past cap", cap, rc);
		} else if (rc == -E2BIG) {
			if (cap >= PAGE) {
				wrong++;
				tap_diag("cap %zu: -E2BIG for a %zu-byte frame",
					 cap, full);
			}
		} else if (rc != 0 || cap < full || len != full ||
			   decode(c, ctx, cbuf, len, dst) != 0 ||
			   memcmp(dst, src, PAGE)) {
			wrong++;
			tap_diag("cap %zu: rc %d len %zu (unbounded %zu)", cap,
				 rc, len, full);
		} else {
			fits++;
		}
	}
	TAP_OK(!wrong && fits > 0,
	       "%s:%d: %zu caps around a %zu-byte frame: -E2BIG below it, "
	       "%zu fit, nothing past cap", c->name, level, tried, full, fits);
}

/* Corrupt frames: truncations, bit flips, random bytes. */
static void test_corrupt(const struct zsfs_codec *c, int level, void *ctx,
			 unsigned char *src, unsigned char *cbuf,
			 unsigned char *dst)
{
	size_t len, cut, bit, flips = 0, caught = 0, decoded = 0, bad = 0;
	size_t itself = 0, rejected = 0, overrun = 0;
	unsigned char *tmp;
	int rc, i;

	fill_text(src, PAGE);
	rc = c->compress(ctx, level, src, cbuf, PAGE, &len);
	if (!TAP_OK(rc == 0, "%s:%d: frame to corrupt: %zu bytes", c->name,
		    level, len))
		return;

	/* Every truncation is -EIO. */
	for (cut = 0; cut < len; cut++)
		if (decode(c, ctx, cbuf, cut, dst) != -EIO)
			bad++;
	TAP_OK(bad == 0, "%s:%d: every truncation of a %zu-byte frame is "
	       "-EIO (%zu not)", c->name, level, len, bad);

	/* A flip is -EIO or decodes to a page; the identity codec gives the
	 * flipped page back; a compressing one rejects some. */
	tmp = malloc(len);
	for (bit = 0, bad = 0; bit < len * 8; bit += 3) {
		memcpy(tmp, cbuf, len);
		tmp[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		flips++;
		rc = decode(c, ctx, tmp, len, dst);
		if (rc == -EIO) {
			caught++;
		} else if (rc == 0) {
			decoded++;
			itself += !memcmp(dst, tmp, PAGE < len ? PAGE : len);
		} else {
			bad++;
			tap_diag("flip of bit %zu: %d", bit, rc);
		}
	}
	free(tmp);
	TAP_OK(bad == 0, "%s:%d: %zu bit flips: %zu -EIO, %zu decoded to a "
	       "page, no other result, nothing past the page", c->name, level,
	       flips, caught, decoded);
	if (c == &zsfs_codec_none)
		TAP_OK(itself == flips, "%s: every flipped page decodes to itself",
		       c->name);
	else
		TAP_OK(caught > 0, "%s:%d: the decoder rejects some flips",
		       c->name, level);

	/* Random bytes of random lengths are -EIO. */
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + rnd() % (PAGE - 1);

		tmp = malloc(n);
		fill_random(tmp, n);
		rc = decode(c, ctx, tmp, n, dst);
		rejected += rc == -EIO;
		overrun += rc == -ENOTRECOVERABLE;
		free(tmp);
	}
	TAP_OK(rejected == 2000, "%s:%d: %zu/2000 random inputs -EIO, %zu "
	       "wrote past the page", c->name, level, rejected, overrun);
}

static void test_codec(const struct zsfs_codec *c, int level)
{
	unsigned char *src = malloc(PAGE), *dst = malloc(PAGE + GUARD);
	unsigned char *cbuf = malloc(PAGE + GUARD);
	void *ctx = NULL;

	if (TAP_OK(c->ctx_create(level, &ctx) == 0, "%s:%d: context",
		   c->name, level)) {
		test_kinds(c, level, ctx, src, cbuf, dst);
		test_caps(c, level, ctx, src, cbuf, dst);
		test_corrupt(c, level, ctx, src, cbuf, dst);
		c->ctx_destroy(ctx);
	}
	free(src);
	free(dst);
	free(cbuf);
}

static void test_parse(void)
{
	static const struct {
		const char *spec;
		const struct zsfs_codec *codec;
		int level;
	} good[] = {
		{ NULL, &zsfs_codec_lz4, 0 },
		{ "", &zsfs_codec_lz4, 0 },
		{ "lz4", &zsfs_codec_lz4, 0 },
		{ "zstd", &zsfs_codec_zstd, 3 },
		{ "zstd:1", &zsfs_codec_zstd, 1 },
		{ "zstd:19", &zsfs_codec_zstd, 19 },
		{ "none", &zsfs_codec_none, 0 },
	};
	static const char *const bad[] = {
		"gzip", "LZ4", "lz4:1", "zstd:0", "zstd:20", "zstd:", "zstd:3x",
		"zstd:-1", "zstd: 3", "none:0", "lz", "zstdx", "zstd:99999999999",
	};
	const struct zsfs_codec *c;
	char err[128], fmt[32];
	size_t i;
	int level;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = zsfs_codec_parse(good[i].spec, &c, &level, err,
					  sizeof(err));

		TAP_OK(rc == 0 && c == good[i].codec && level == good[i].level,
		       "parse \"%s\"", good[i].spec ? good[i].spec : "(null)");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		err[0] = 0;
		rc = zsfs_codec_parse(bad[i], &c, &level, err, sizeof(err));
		TAP_OK(rc == -EINVAL && strstr(err, bad[i]),
		       "reject \"%s\": %s", bad[i], err);
	}
	zsfs_codec_format(&zsfs_codec_zstd, 7, fmt, sizeof(fmt));
	TAP_OK(!strcmp(fmt, "zstd:7"), "format zstd:7");
	zsfs_codec_format(&zsfs_codec_lz4, 0, fmt, sizeof(fmt));
	TAP_OK(!strcmp(fmt, "lz4"), "format lz4");
}

int main(void)
{
	test_codec(&zsfs_codec_lz4, 0);
	test_codec(&zsfs_codec_zstd, 1);
	test_codec(&zsfs_codec_zstd, 3);
	test_codec(&zsfs_codec_zstd, 19);
	test_codec(&zsfs_codec_none, 0);
	test_parse();
	return tap_done();
}
