/*
 * parse.h - the one grammar of sizes and percentages.  The mount options
 * (options.c: size=, nr_inodes=, compact_min=, compact_share=,
 * compact_psi=) and the .zsctl commands (ctl_cmd.c: mem_limit,
 * compact_min, compact_share, compact_psi) parse their values here, so a
 * value means the same in both places and is refused in both for the
 * same reason.
 *
 * Sizes: decimal digits, then at most one of
 *	k K m M g G t T p P e E    x 1024^1 .. 1024^6 (tmpfs's suffixes)
 *	%                          percent (0..100) of physical RAM, rounded
 *	                           down to whole 4 KiB pages; only where the
 *	                           caller allows it
 * Percentages: "N", "N.D" or "N.DD", 0..100, kept in hundredths of a
 * percent (basis points): "2.5" is 250.  No sign, no blanks, no "0x", no
 * exponent, nothing after the value in either grammar.
 *
 * Errors, the same for every caller: -EINVAL when the text is not of the
 * grammar (empty, a stray byte, an unknown or a second suffix, % where not
 * allowed, a third decimal, "5." or ".5"), -ERANGE when it is but the
 * value does not fit (past 2^64-1 bytes, past 100%).
 *
 * Thread safety: pure functions, but zsfs_ram_bytes() asks sysconf.
 */
#ifndef ZSFS_PARSE_H
#define ZSFS_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* 100% in hundredths of a percent. */
#define ZSFS_PCT_BP_MAX 10000u

/*
 * zsfs_parse_size_len() - a size, @len bytes at @s (need not be
 * NUL-terminated).  @allow_pct accepts "N%" of @ram_bytes, rounded down to
 * a multiple of 4096.
 * Return: 0 and *@out; -EINVAL or -ERANGE (see above), *@out untouched.
 */
int zsfs_parse_size_len(const char *s, size_t len, int allow_pct,
			uint64_t ram_bytes, uint64_t *out);

/* zsfs_parse_size() - the same for a NUL-terminated @s. */
int zsfs_parse_size(const char *s, int allow_pct, uint64_t ram_bytes,
		    uint64_t *out);

/*
 * zsfs_parse_pct() - a percentage, @len bytes at @s (need not be
 * NUL-terminated), into hundredths of a percent (0..ZSFS_PCT_BP_MAX).
 * Return: 0 and *@bp; -EINVAL or -ERANGE, *@bp untouched.
 */
int zsfs_parse_pct(const char *s, size_t len, unsigned *bp);

/*
 * zsfs_parse_strerror() - what the error @rc of the functions above says
 * about the text, for messages: "malformed" (-EINVAL) or "out of range"
 * (-ERANGE).
 */
const char *zsfs_parse_strerror(int rc);

/*
 * zsfs_ram_bytes() - physical RAM in bytes, what N% is taken of; 0 when
 * the system does not say.
 */
uint64_t zsfs_ram_bytes(void);

#endif
