/*
 * test_util.h - the helpers every C test and bench program shares, once:
 *
 *   t_rand()            the seeded PRNG (splitmix64: any seed, 0 included,
 *                       gives a full-period stream, the same everywhere)
 *   t_fill_words()      text-like, compressible bytes from a word list
 *   t_fill_bytes()      random, incompressible bytes
 *   t_fill_weblog()     log-like text, the same every time
 *   t_smaps_rollup()    one field of /proc/self/smaps_rollup, in bytes
 *   t_rss_anon()        the process's anonymous RSS (the above, Anonymous)
 *   t_pool_check()      one zs_pool_check() walk as one TAP line
 *   t_store_check()     a file's table, then the pool: each walked once,
 *                       the message is that of the walk that failed
 *   t_checks()          t_store_check() as one TAP line
 *
 * Each program keeps its own PRNG state and seed, so a seed printed by a
 * failing run reproduces it.  Only static inline functions: a program
 * that does not link the page store (the allocator's tests and benches)
 * includes this header without pulling in the store's symbols.
 */
#ifndef ZSFS_TESTS_TEST_UTIL_H
#define ZSFS_TESTS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "zsmalloc.h"

/* splitmix64: the next value of the stream in *@s. */
static inline uint64_t t_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fill @p with @n bytes of text: words drawn from @words (@nwords). */
static inline void t_fill_words(uint64_t *s, const char *const *words,
				size_t nwords, unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *w = words[t_rand(s) % nwords];

		while (*w && i < n)
			p[i++] = (unsigned char)*w++;
	}
}

/* Fill @p with @n random (incompressible) bytes. */
/* Web-server-log-like text (the small-write test and bench share it): the
 * same bytes for the same @n every time. */
static inline void t_fill_weblog(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"GET ", "POST ", "/index.html ", "/api/v1/items ", "200 ",
		"404 ", "HTTP/1.1 ", "Mozilla/5.0 ", "2026-11-25T13:20:", "\n",
		"user=", "id=", "ms ", "bytes ",
	};
	uint64_t seed = 88172645463325252ull;

	t_fill_words(&seed, words, sizeof(words) / sizeof(words[0]), p, n);
}

static inline void t_fill_bytes(uint64_t *s, unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t v = t_rand(s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/*
 * The field @key ("Rss", "Anonymous", ...) of /proc/self/smaps_rollup in
 * bytes; 0 when the file or the field is absent.
 */
static inline size_t t_smaps_rollup(const char *key)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	size_t klen = strlen(key), kb = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Anonymous RSS of the process in bytes; 0 if smaps_rollup is absent. */
static inline size_t t_rss_anon(void)
{
	return t_smaps_rollup("Anonymous");
}

/* One walk of the pool; the TAP line carries that walk's message. */
static inline int t_pool_check(zs_pool *pool, const char *what)
{
	char msg[256] = "";
	int rc = zs_pool_check(pool, msg, sizeof(msg));

	return tap_ok(rc == 0, "%s: pool check %s", what, rc ? msg : "ok");
}

/*
 * Walk @f's table against the pool, then the pool, once each; stop at the
 * first that fails.  Return: 0, or its error with its message in @msg.
 */
static inline int t_store_check(struct zsfs_store *s,
				const struct zsfs_file *f, char *msg,
				size_t cap)
{
	int rc;

	msg[0] = '\0';
	rc = zsfs_file_check(s, f, msg, cap);
	if (!rc)
		rc = zs_pool_check(zsfs_store_pool(s), msg, cap);
	return rc;
}

/* t_store_check() as one TAP line. */
static inline int t_checks(struct zsfs_store *s, const struct zsfs_file *f,
			   const char *what)
{
	char msg[256];
	int rc = t_store_check(s, f, msg, sizeof(msg));

	return tap_ok(rc == 0, "%s: check %s", what, rc ? msg : "ok");
}

#endif
