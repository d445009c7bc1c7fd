/*
 * fuzz_ctl.c - libFuzzer target for the .zsctl command parser and writer.
 *
 * Input: the first byte picks the path and the user; the rest is fed
 * either as one command line (zsfs_ctl_command) or through a writer in
 * chunks whose lengths come from the input itself.  Checked properties:
 * no crash or sanitizer report; a command that fails with EINVAL, EPERM
 * or E2BIG changes nothing (the limit stays); the text stays well formed.
 *
 *	make fuzz-ctl && ./fuzz/fuzz_ctl -max_len=8192 [corpus]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OWNER 1000
#define SENTINEL ((size_t)123456789)

static struct zsfs_store *store;
static struct zsfs_ctl *ctl;

static void setup(void)
{
	struct zsfs_store_params sp = { .compress = "lz4" };
	struct zsfs_ctl_params cp = { .owner = OWNER };
	char err[128];

	if (zsfs_store_create(&sp, &store, err, sizeof(err)))
		abort();
	cp.store = store;
	/* no zsfs_ctl_start: no thread, runs stay deterministic */
	if (zsfs_ctl_create(&cp, &ctl))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	uid_t uid;
	int rc;

	if (!ctl)
		setup();
	if (size < 1)
		return 0;
	uid = (data[0] & 3) == 3 ? 65534 : (data[0] & 1) ? 0 : OWNER;
	zsfs_budget_set_mem_limit(zsfs_store_budget(store), SENTINEL);
	if (!(data[0] & 4)) {
		rc = zsfs_ctl_command(ctl, uid, (const char *)data + 1, size - 1,
				      why, sizeof(why));
		if (rc && zsfs_budget_pool_cap(zsfs_store_budget(store)) != SENTINEL)
			abort(); /* a failing command changed something */
		if (rc && rc != -EINVAL && rc != -EPERM && rc != -E2BIG)
			abort();
		if (uid == 65534 && rc != -EPERM && rc != 0)
			abort();
		if (rc && !why[0])
			abort(); /* every failure says why */
	} else {
		struct zsfs_ctl_writer *w;
		size_t off = 1;

		if (zsfs_ctl_writer_open(ctl, uid, &w))
			abort();
		while (off < size) {
			size_t chunk = 1 + data[off] % 64;

			off++;
			if (chunk > size - off)
				chunk = size - off;
			zsfs_ctl_writer_write(w, (const char *)data + off, chunk);
			off += chunk;
		}
		zsfs_ctl_writer_close(w);
	}
	if (data[0] & 8) {
		char *text;
		size_t len;

		if (zsfs_ctl_stats_text(ctl, &text, &len))
			abort();
		if (!len || text[len - 1] != '\n' || strlen(text) != len)
			abort();
		free(text);
	}
	return 0;
}
