/*
 * codec.c - the codec table and the compress= spec: parsing, checking
 * (zsfs_codec_check, for option parsing before any store exists) and the
 * canonical form.  No state, no locks; called by pagestore.c (store
 * create) and options.c (through zsfs_codec_check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const struct zsfs_codec *const codec_table[] = {
	&zsfs_codec_lz4,
	&zsfs_codec_zstd,
	&zsfs_codec_none,
};

static int parse_fail(char *err, size_t err_cap, const char *fmt,
		      const char *spec)
{
	if (err && err_cap)
		snprintf(err, err_cap, fmt, spec);
	return -EINVAL;
}

int zsfs_codec_parse(const char *spec, const struct zsfs_codec **codecp,
		     int *levelp, char *err, size_t err_cap)
{
	const struct zsfs_codec *codec = NULL;
	const char *colon;
	size_t namelen, i;
	int level = 0;

	if (!spec || !*spec)
		spec = "lz4";
	colon = strchr(spec, ':');
	namelen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (i = 0; i < sizeof(codec_table) / sizeof(codec_table[0]); i++) {
		if (strlen(codec_table[i]->name) == namelen &&
		    !strncmp(codec_table[i]->name, spec, namelen)) {
			codec = codec_table[i];
			break;
		}
	}
	if (!codec)
		return parse_fail(err, err_cap,
				  "compress=%s: unknown codec (use lz4, zstd, zstd:1..19 or none)",
				  spec);
	if (codec == &zsfs_codec_zstd) {
		level = ZSFS_ZSTD_LEVEL_DEFAULT;
		if (colon) {
			char *end;
			long v;

			if (colon[1] < '0' || colon[1] > '9')
				return parse_fail(err, err_cap,
						  "compress=%s: zstd level must be a number 1..19",
						  spec);
			v = strtol(colon + 1, &end, 10);
			if (*end || v < ZSFS_ZSTD_LEVEL_MIN ||
			    v > ZSFS_ZSTD_LEVEL_MAX)
				return parse_fail(err, err_cap,
						  "compress=%s: zstd level must be a number 1..19",
						  spec);
			level = (int)v;
		}
	} else if (colon) {
		return parse_fail(err, err_cap,
				  "compress=%s: only zstd takes a level", spec);
	}
	*codecp = codec;
	*levelp = level;
	return 0;
}

void zsfs_codec_format(const struct zsfs_codec *codec, int level, char *buf,
		       size_t buf_cap)
{
	if (codec == &zsfs_codec_zstd)
		snprintf(buf, buf_cap, "%s:%d", codec->name, level);
	else
		snprintf(buf, buf_cap, "%s", codec->name);
}

int zsfs_codec_check(const char *spec, char *err, size_t err_cap)
{
	const struct zsfs_codec *codec;
	int level;

	return zsfs_codec_parse(spec, &codec, &level, err, err_cap);
}
