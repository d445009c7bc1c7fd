/*
 * fuzz_options.c - libFuzzer target for the mount option parser
 * (src/options.h: zsfs_options_parse and zsfs_parse_size).
 *
 * Input: byte 0 picks the error buffer's capacity (1..64, or the usual
 * 256) and byte 1 the RAM size the percent sizes are taken of (0, small,
 * typical, or near UINT64_MAX for overflow); the rest is split at '\n'
 * into up to four option strings, parsed one after another into the same
 * struct as repeated "-o" arguments would be.  Each string is also given
 * to zsfs_parse_size alone.
 *
 * Checked properties, besides no crash and no sanitizer report:
 *  - the result is one of 0, -EINVAL, -E2BIG;
 *  - on failure the message is non-empty and NUL-terminated within the
 *    capacity given (the bytes past it are untouched);
 *  - on success fuse_opts and compress are NUL-terminated within their
 *    arrays, compress is non-empty, mode has no bits above 07777, and
 *    auto_compact is 0 or 1;
 *  - parsing is deterministic: the same input gives the same struct;
 *  - zsfs_parse_size returns 0, -EINVAL or -ERANGE.
 *
 *	make fuzz-options && ./fuzz/fuzz_options -max_len=4096 fuzz/corpus/options
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STRINGS 4
#define CANARY 0xa5

static const uint64_t rams[8] = {
	0, 4096, 1ULL << 30, 24ULL << 30, 1ULL << 40,
	UINT64_MAX / 100, UINT64_MAX - 4095, UINT64_MAX,
};

static int parse_all(struct zsfs_options *o, char **strs, int n,
		     uint64_t ram, char *err, size_t err_cap)
{
	int i, rc = 0;

	zsfs_options_init(o, ram, 1000, 1000);
	for (i = 0; i < n && rc == 0; i++)
		rc = zsfs_options_parse(o, strs[i], ram, err, err_cap);
	return rc;
}

static void check_terminated(const char *s, size_t cap, const char *what)
{
	if (!memchr(s, '\0', cap)) {
		fprintf(stderr, "%s not NUL-terminated\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zsfs_options a, b;
	char *buf, *strs[MAX_STRINGS], *p, *nl;
	char err[256 + 64], err2[256 + 64];
	size_t err_cap, i;
	uint64_t ram, n;
	int nstr = 0, rc, rc2;

	if (size < 2)
		return 0;
	err_cap = data[0] < 64 ? (size_t)data[0] + 1 : 256;
	ram = rams[data[1] & 7];
	buf = malloc(size - 2 + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';

	for (p = buf; nstr < MAX_STRINGS; p = nl + 1) {
		strs[nstr++] = p;
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
	}

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(err, CANARY, sizeof(err));
	memset(err2, CANARY, sizeof(err2));
	rc = parse_all(&a, strs, nstr, ram, err, err_cap);
	rc2 = parse_all(&b, strs, nstr, ram, err2, err_cap);

	if (rc != 0 && rc != -EINVAL && rc != -E2BIG) {
		fprintf(stderr, "unexpected return %d\n", rc);
		abort();
	}
	if (rc != rc2 || (rc == 0 && memcmp(&a, &b, sizeof(a)) != 0)) {
		fprintf(stderr, "parsing is not deterministic\n");
		abort();
	}
	if (rc) {
		check_terminated(err, err_cap, "error message");
		if (err_cap > 1 && err[0] == '\0') {
			fprintf(stderr, "empty error message for %d\n", rc);
			abort();
		}
		for (i = err_cap; i < sizeof(err); i++)
			if ((unsigned char)err[i] != CANARY) {
				fprintf(stderr, "error message written past err_cap %zu\n",
					err_cap);
				abort();
			}
		if (strcmp(err, err2) != 0) {
			fprintf(stderr, "error message is not deterministic\n");
			abort();
		}
	} else {
		check_terminated(a.fuse_opts, sizeof(a.fuse_opts), "fuse_opts");
		check_terminated(a.compress, sizeof(a.compress), "compress");
		if (a.compress[0] == '\0' || (a.mode & ~07777u) ||
		    (a.auto_compact != 0 && a.auto_compact != 1)) {
			fprintf(stderr, "bad parsed values: compress '%s' mode %o"
				" auto_compact %d\n", a.compress,
				(unsigned)a.mode, a.auto_compact);
			abort();
		}
	}

	for (i = 0; i < (size_t)nstr; i++) {
		rc = zsfs_parse_size(strs[i], (int)(i & 1), ram, &n);
		if (rc != 0 && rc != -EINVAL && rc != -ERANGE) {
			fprintf(stderr, "zsfs_parse_size returned %d\n", rc);
			abort();
		}
	}
	free(buf);
	return 0;
}
