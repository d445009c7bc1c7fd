/*
 * alloc_util.h - the allocator's unit tests' object fill patterns; the
 * PRNG, the RSS reader and the pool check are test_util.h's, shared by
 * every test.
 */
#ifndef ZSFS_TESTS_ALLOC_UTIL_H
#define ZSFS_TESTS_ALLOC_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "zsmalloc.h"

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

#endif
