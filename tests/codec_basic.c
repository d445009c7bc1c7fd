/*
 * codec_basic.c - the codecs: round trips, dst_cap, corrupt input, spec
 * parsing.  Corrupt input (random bytes, truncated or bit-flipped frames)
 * must never crash nor write past the page; truncations and random bytes
 * must be rejected.  Run it under ASan to catch out-of-bounds access: the
 * buffers are malloc'ed at their exact size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "tap.h"
#include "test_util.h"

#define PAGE ZSFS_CODEC_PAGE

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

static void test_codec(const struct zsfs_codec *c, int level)
{
	unsigned char *src = malloc(PAGE), *dst = malloc(PAGE);
	unsigned char *cbuf = malloc(PAGE + 64), *tmp;
	size_t len, cut, bit, flips = 0, caught = 0, rejected = 0, other = 0;
	int rc, kind, i, all;
	void *ctx = NULL;

	TAP_OK(c->ctx_create(level, &ctx) == 0, "%s:%d: context", c->name,
	       level);
	for (kind = 0; kind < 3; kind++) {
		if (kind == 0)
			memset(src, 0, PAGE);
		else if (kind == 1)
			fill_text(src, PAGE);
		else
			fill_random(src, PAGE);
		rc = c->compress(ctx, level, src, cbuf, PAGE, &len);
		if (rc == -E2BIG) {
			TAP_OK(kind == 2, "%s: only random data overflows a page",
			       c->name);
			continue;
		}
		TAP_OK(rc == 0 && len >= 1 && len <= PAGE,
		       "%s: compress kind %d -> %zu", c->name, kind, len);
		/* exact-size copy so ASan sees any over-read */
		tmp = malloc(len);
		memcpy(tmp, cbuf, len);
		memset(dst, 0xee, PAGE);
		rc = c->decompress(ctx, tmp, len, dst);
		TAP_OK(rc == 0 && !memcmp(src, dst, PAGE),
		       "%s: round trip kind %d", c->name, kind);
		free(tmp);
	}

	/* dst_cap is a hard bound: guard bytes after it stay untouched. */
	fill_text(src, PAGE);
	memset(cbuf, 0x5a, PAGE + 64);
	rc = c->compress(ctx, level, src, cbuf, 16, &len);
	for (cut = 16, all = 1; cut < PAGE + 64; cut++)
		all &= cbuf[cut] == 0x5a;
	TAP_OK(rc == -E2BIG && all, "%s: dst_cap 16 -> -E2BIG, nothing past it",
	       c->name);

	/* Truncated frames are rejected. */
	rc = c->compress(ctx, level, src, cbuf, PAGE, &len);
	all = rc == 0;
	for (cut = 0; all && cut < len; cut++) {
		tmp = malloc(cut ? cut : 1);
		memcpy(tmp, cbuf, cut);
		if (c->decompress(ctx, tmp, cut, dst) != -EIO)
			all = 0;
		free(tmp);
	}
	TAP_OK(all, "%s: every truncation of a %zu-byte frame is rejected",
	       c->name, len);

	/* Bit flips: never crash; a flip that decodes still fills one page. */
	tmp = malloc(len);
	for (bit = 0; bit < len * 8; bit += 3) {
		memcpy(tmp, cbuf, len);
		tmp[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		flips++;
		rc = c->decompress(ctx, tmp, len, dst);
		if (rc == -EIO)
			caught++;
		else if (memcmp(dst, src, PAGE))
			other++; /* no checksum in the frame, as in zram */
	}
	free(tmp);
	TAP_OK(1, "%s: %zu bit flips, %zu rejected, %zu decoded to other data, no crash",
	       c->name, flips, caught, other);

	/* Random bytes of random lengths are rejected. */
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + rnd() % (PAGE - 1);

		tmp = malloc(n);
		fill_random(tmp, n);
		if (c->decompress(ctx, tmp, n, dst) == -EIO)
			rejected++;
		free(tmp);
	}
	TAP_OK(rejected == 2000, "%s: %zu/2000 random inputs rejected", c->name,
	       rejected);
	c->ctx_destroy(ctx);
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
