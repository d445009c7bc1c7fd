/*
 * alloc_util.h - helpers shared by the allocator's unit tests: a seeded
 * PRNG, object fill patterns, and reading RSS from /proc.
 */
#ifndef ZSFS_TESTS_ALLOC_UTIL_H
#define ZSFS_TESTS_ALLOC_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zsmalloc.h"

/* splitmix64: small, seedable, good enough for tests. */
static inline uint64_t t_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Deterministic bytes for (key, len): verification recomputes them. */
static inline void t_fill(unsigned char *p, size_t len, uint64_t key)
{
	uint64_t s = key * 0x2545f4914f6cdd1dull + 1;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = t_rand(&s);
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(p + i, &v, n);
	}
}

static inline int t_check(const unsigned char *p, size_t len, uint64_t key)
{
	unsigned char want[ZS_MAX_ALLOC_SIZE];

	t_fill(want, len, key);
	return memcmp(p, want, len) == 0;
}

/* Anonymous RSS of the process in bytes, from smaps_rollup; 0 if absent. */
static inline size_t t_rss_anon(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Anonymous: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

#endif
