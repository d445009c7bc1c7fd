/*
 * ctl_util.h - reading one value out of the .zsctl text, for the control
 * plane's unit tests (ctl_parse.c, ctl_text.c).
 */
#ifndef ZSFS_TESTS_CTL_UTIL_H
#define ZSFS_TESTS_CTL_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* The value of @name in the text, as text, into @buf ("" when absent):
 * the percentages may have decimals. */
static inline const char *str_of(struct zsfs_ctl *ctl, const char *name,
				 char *buf, size_t cap)
{
	char *text, *line, *save = NULL;
	size_t len, nlen = strlen(name);

	buf[0] = '\0';
	if (zsfs_ctl_stats_text(ctl, &text, &len))
		return buf;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, name, nlen) && line[nlen] == ' ') {
			snprintf(buf, cap, "%s", line + nlen + 1);
			break;
		}
	free(text);
	return buf;
}

/* The value of @name in the text as a number, or (size_t)-1 when absent. */
static inline size_t stat_of(struct zsfs_ctl *ctl, const char *name)
{
	char buf[64];

	if (!*str_of(ctl, name, buf, sizeof(buf)))
		return (size_t)-1;
	return strtoull(buf, NULL, 10);
}

#endif
