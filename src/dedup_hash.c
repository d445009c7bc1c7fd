/*
 * dedup_hash.c - the dedup index's hash: XXH3-64 of a page's stored
 * bytes, at the speed of the CPU's widest vectors.
 *
 * Debian's libxxhash is built for baseline x86-64 (SSE2): about 0.35 us
 * for 4 KiB here, a few percent of a sequential write through FUSE.  The
 * header of the same package (libxxhash-dev) can also be compiled inline,
 * and XXH3 is defined to give the same value for every vector width, so on
 * a CPU with AVX2 the hash is compiled inline for AVX2 below (about 0.2 us
 * for 4 KiB), chosen once at run time and checked at that moment against
 * the library on a few lengths; anything else (no AVX2, another
 * architecture or compiler, a disagreement) uses the library.
 *
 * No shared state besides the choice, made once under pthread_once.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>

#include "store_internal.h"

#ifdef HAVE_XXHASH
#include <xxhash.h>

static uint64_t hash_lib(const void *p, size_t len)
{
	return XXH3_64bits_withSeed(p, len, len);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DEDUP_HASH_AVX2 1
/* The inline XXH3 of the same header (static, renamed XXH_INLINE_* by the
 * header: hash_lib above keeps calling the library), compiled for AVX2 in
 * this part of the file only (the ISA macros follow the pragma). */
#pragma GCC push_options
#pragma GCC target("avx2")
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

static uint64_t hash_avx2(const void *p, size_t len)
{
	return XXH3_64bits_withSeed(p, len, len);
}
#pragma GCC pop_options
#endif

static uint64_t (*hash_fn)(const void *, size_t) = hash_lib;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_choose(void)
{
#ifdef DEDUP_HASH_AVX2
	static const size_t lens[] = { 1, 17, 240, 241, 1000, 2049, 4096 };
	unsigned char buf[4096];
	size_t i;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2"))
		return;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 7));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (hash_avx2(buf, lens[i]) != hash_lib(buf, lens[i]))
			return;
	hash_fn = hash_avx2;
#endif
}

void dedup_hash_init(void)
{
	pthread_once(&hash_once, hash_choose);
}

uint64_t dedup_hash_bytes(const void *p, size_t len)
{
	return hash_fn(p, len);
}

const char *dedup_hash_impl(void)
{
#ifdef DEDUP_HASH_AVX2
	if (hash_fn == hash_avx2)
		return "xxh3-avx2";
#endif
	return "xxh3";
}

#else /* !HAVE_XXHASH: dedup= is refused at mount; nothing hashes. */

void dedup_hash_init(void)
{
}

uint64_t dedup_hash_bytes(const void *p, size_t len)
{
	(void)p;
	(void)len;
	return 0;
}

const char *dedup_hash_impl(void)
{
	return "none";
}
#endif
