/*
 * testrng.h - the seeded xorshift64 generator and the buffer fillers that
 * the data-layer tests share.  Each test keeps its own state (and seed), so
 * its data stay what they were; only the code lives here once.
 */
#ifndef ZSFS_TESTRNG_H
#define ZSFS_TESTRNG_H

#include <stddef.h>
#include <stdint.h>

/* One xorshift64 step of *@state (never 0); returns the new value. */
static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Fill @p with @n bytes of text: words drawn from @words (@nwords). */
static inline void fill_words(uint64_t *state, const char *const *words,
			      size_t nwords, unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *w = words[xorshift64(state) % nwords];

		while (*w && i < n)
			p[i++] = (unsigned char)*w++;
	}
}

/* Fill @p with @n random (incompressible) bytes. */
static inline void fill_bytes(uint64_t *state, unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)xorshift64(state);
}

#endif
