/*
 * parse.c - sizes and percentages: the one grammar that the mount options
 * and the .zsctl commands share (see parse.h for the grammar and its
 * errors).
 *
 * Both parsers take a length, because the command parser's words point
 * into the written line and are not NUL-terminated.  Overflow is checked
 * before every multiplication, so any input is safe; nothing allocates.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pagestore.h"
#include "parse.h"

/* The binary shift a size suffix stands for; -1 for any other byte. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	case 'p': case 'P': return 50;
	case 'e': case 'E': return 60;
	default: return -1;
	}
}

int zsfs_parse_size_len(const char *s, size_t len, int allow_pct,
			uint64_t ram_bytes, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int shift;

	if (!s || !len || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		i++;
	}
	if (i == len) {
		*out = v;
		return 0;
	}
	if (i + 1 != len)
		return -EINVAL; /* junk, or a second suffix */
	if (s[i] == '%') {
		if (!allow_pct)
			return -EINVAL;
		if (v > 100)
			return -ERANGE;
		/* ram_bytes * v / 100 without overflow, rounded to pages. */
		v = ram_bytes / 100 * v + ram_bytes % 100 * v / 100;
		*out = v / ZSFS_PAGE_SIZE * ZSFS_PAGE_SIZE;
		return 0;
	}
	shift = suffix_shift(s[i]);
	if (shift < 0)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int zsfs_parse_size(const char *s, int allow_pct, uint64_t ram_bytes,
		    uint64_t *out)
{
	return zsfs_parse_size_len(s, s ? strlen(s) : 0, allow_pct, ram_bytes,
				   out);
}

int zsfs_parse_pct(const char *s, size_t len, unsigned *bp)
{
	size_t i = 0, dec = 0;
	unsigned v = 0;

	if (!s || !len || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 100) {
			/* checked per digit: cannot overflow; the rest must
			 * still be of the grammar to be "too large" */
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
			return i == len ? -ERANGE : -EINVAL;
		}
		i++;
	}
	v *= 100;
	if (i < len && s[i] == '.') {
		unsigned scale = 10;

		/* "5." and ".5" are refused: a digit on both sides */
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, dec++) {
			if (dec == 2)
				return -EINVAL;
			v += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
		if (dec == 0)
			return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	if (v > ZSFS_PCT_BP_MAX)
		return -ERANGE; /* 100.01 .. 100.99 */
	*bp = v;
	return 0;
}

const char *zsfs_parse_strerror(int rc)
{
	return rc == -ERANGE ? "out of range" : "malformed";
}

uint64_t zsfs_ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return 0;
	return (uint64_t)pages * (uint64_t)psz;
}
