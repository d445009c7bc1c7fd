/*
 * tap.h - a tiny TAP producer for the C unit tests.
 *
 * Each test program prints "1..N" at the end (tap_done), one "ok"/"not ok"
 * line per check, and exits 0 when every check passed, 1 otherwise.  When
 * something it needs is really missing, tap_skip_all() prints the plan
 * "1..0 # SKIP reason" and exits 0: that plan is how a skip reads under
 * automake's TAP driver, which counts any non-zero exit (77 included) as
 * an error.
 */
#ifndef ZSFS_TAP_H
#define ZSFS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct tap_state {
	int n;
	int failed;
};

static struct tap_state tap_st;

static inline void tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_st.n++;
	if (!cond)
		tap_st.failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_st.n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline int tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

static inline void tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/* Print the plan and return the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_st.n);
	return tap_st.failed ? 1 : 0;
}

#define TAP_OK(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#endif
