/*
 * pagestore_random.c - a seeded randomized run of the page store against
 * an in-memory model: writes, reads, truncates, punches, copies (between
 * files and inside one) and flushes at random unaligned offsets, with
 * every read compared to the model and zsfs_file_check() + zs_pool_check()
 * after every step.  Ranges and truncates often stay near the end of the
 * direct slots, so files move between their small (direct) and large
 * (tree) forms all the time; a step's diag says how often each was seen.
 *
 * ZS_SEED=N replays a run (the seed is printed); ZS_LONG=1 runs 50x longer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagemap.h"
#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define MAXSZ (96 * PG + 123)
/* Small files: a page either side of the direct slots (pagemap.h). */
#define SMALL_PAGES (ZSFS_PAGEMAP_DIRECT + 2)
#define NFILES 2

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return t_rand(&rng_state);
}

struct model {
	struct zsfs_file *f;
	unsigned char *data; /* MAXSZ */
	uint64_t size;
};

static void fill(unsigned char *p, size_t n)
{
	size_t i;
	uint64_t w = rnd();

	switch (rnd() % 5) {
	case 0:
		memset(p, 0, n);
		break;
	case 1: /* a repeated word, aligned to the page so pages are same */
		for (i = 0; i < n; i++)
			p[i] = ((unsigned char *)&w)[i % 8];
		break;
	case 2:
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)rnd();
		break;
	default:
		for (i = 0; i < n; i++)
			p[i] = "abcdefgh  \n"[rnd() % 11 % (1 + w % 11)];
		break;
	}
}

/*
 * An offset and a length: often page aligned, often tiny, inside MAXSZ.
 * One in six stays in the first SMALL_PAGES pages, so files also live
 * around the direct slots' end (pagemap.h), not only as large trees; one
 * in six is 16..80 pages long, shared with the store's helper threads.
 */
static void pick_range(uint64_t *offp, size_t *lenp)
{
	uint64_t off;
	size_t len;

	switch (rnd() % 6) {
	case 4:
		off = rnd() % (SMALL_PAGES * PG);
		len = 1 + rnd() % (2 * PG);
		break;
	case 5: /* 16..80 whole pages: the store's helper threads */
		off = rnd() % 2 ? (rnd() % (MAXSZ / PG)) * PG : rnd() % MAXSZ;
		if (rnd() % 2)
			off %= 16 * PG; /* room for 64+ pages: a shared read */
		len = (16 + rnd() % 65) * PG;
		break;
	case 0:
		off = (rnd() % (MAXSZ / PG)) * PG;
		len = (1 + rnd() % 4) * PG;
		break;
	case 1:
		off = rnd() % MAXSZ;
		len = 1 + rnd() % 200;
		break;
	default:
		off = rnd() % MAXSZ;
		len = 1 + rnd() % (3 * PG);
		break;
	}
	if (off >= MAXSZ)
		off = MAXSZ - 1;
	if (len > MAXSZ - off)
		len = MAXSZ - off;
	*offp = off;
	*lenp = len;
}

static int run(const char *codec, uint64_t seed, long steps,
	       size_t dirty_max)
{
	struct zsfs_store_params p = { .compress = codec,
				       .dirty_max_bytes = dirty_max,
				       .threads = 3 };
	struct model m[NFILES];
	unsigned char *buf = malloc(MAXSZ), *out = malloc(MAXSZ);
	struct zsfs_store *s;
	struct zs_pool_stats ps;
	char msg[256];
	long step;
	int i, rc, bad = 0;
	/* Per file: in the tree form (a page past the direct slots)? */
	int large[NFILES];
	size_t seen_small = 0, seen_large = 0, moves = 0;

	rng_state = seed;
	if (zsfs_store_create(&p, &s, msg, sizeof(msg)))
		return tap_ok(0, "store: %s", msg);
	for (i = 0; i < NFILES; i++) {
		zsfs_file_create(&m[i].f);
		m[i].data = calloc(1, MAXSZ);
		m[i].size = 0;
		large[i] = 0;
	}
	for (step = 0; step < steps && !bad; step++) {
		struct model *a = &m[rnd() % NFILES], *b = &m[rnd() % NFILES];
		uint64_t off, off2;
		size_t len, w;
		unsigned op = (unsigned)(rnd() % 100);
		const char *what = "";

		pick_range(&off, &len);
		if (op < 40) {
			what = "write";
			fill(buf, len);
			rc = zsfs_file_write(s, a->f, off, len, buf, &w);
			if (rc || w != len)
				goto fail;
			memcpy(a->data + off, buf, len);
			if (off + len > a->size)
				a->size = off + len;
		} else if (op < 65) {
			what = "read";
			if (off >= a->size)
				continue;
			if (len > a->size - off)
				len = (size_t)(a->size - off);
			memset(out, 0x77, len);
			rc = zsfs_file_read(s, a->f, off, len, out);
			if (rc || memcmp(out, a->data + off, len))
				goto fail;
		} else if (op < 73) {
			/* a third each: anywhere, page aligned, small */
			uint64_t ns = rnd() % 3;

			ns = ns == 0 ? rnd() % (MAXSZ + 1) :
			     ns == 1 ? (rnd() % (MAXSZ / PG)) * PG :
				       rnd() % (SMALL_PAGES * PG + 1);

			what = "truncate";
			rc = zsfs_file_truncate(s, a->f, a->size, ns);
			if (rc)
				goto fail;
			if (ns < a->size)
				memset(a->data + ns, 0, a->size - ns);
			a->size = ns;
		} else if (op < 81) {
			what = "punch";
			rc = zsfs_file_punch(s, a->f, off, len);
			if (rc)
				goto fail;
			memset(a->data + off, 0, len);
		} else if (op < 93) {
			what = "copy";
			if (a->size == 0)
				continue;
			off2 = rnd() % 2 ? (rnd() % (a->size / PG + 1)) * PG :
					   rnd() % a->size;
			if (off2 >= a->size)
				off2 = 0;
			if (len > a->size - off2)
				len = (size_t)(a->size - off2);
			if (rnd() % 2)
				off = (off / PG) * PG;
			if (len > MAXSZ - off)
				len = MAXSZ - off;
			if (a == b && off < off2 + len && off2 < off + len)
				continue; /* overlapping ranges: not allowed */
			memcpy(buf, a->data + off2, len);
			rc = zsfs_file_copy(s, b->f, off, a->f, off2, len, &w);
			if (rc || w != len)
				goto fail;
			memcpy(b->data + off, buf, len);
			if (off + len > b->size)
				b->size = off + len;
		} else {
			what = "flush";
			rc = zsfs_file_flush(s, a->f);
			if (rc)
				goto fail;
		}
		for (i = 0; i < NFILES; i++) {
			struct zsfs_file_stats fst;
			int l;

			rc = zsfs_file_check(s, m[i].f, msg, sizeof(msg));
			if (rc)
				goto fail_msg;
			zsfs_file_stats(m[i].f, &fst);
			l = fst.last_page_plus1 > ZSFS_PAGEMAP_DIRECT;
			moves += l != large[i];
			large[i] = l;
			if (l)
				seen_large++;
			else
				seen_small++;
		}
		rc = zs_pool_check(zsfs_store_pool(s), msg, sizeof(msg));
		if (rc)
			goto fail_msg;
		continue;
fail:
		snprintf(msg, sizeof(msg), "rc %d", rc);
fail_msg:
		tap_diag("%s: seed %llu step %ld: %s off %llu len %zu: %s",
			 codec, (unsigned long long)seed, step, what,
			 (unsigned long long)off, len, msg);
		bad = 1;
	}
	/* Full compare of both files at the end. */
	for (i = 0; i < NFILES && !bad; i++) {
		if (zsfs_file_read(s, m[i].f, 0, (size_t)m[i].size, out) ||
		    memcmp(out, m[i].data, (size_t)m[i].size))
			bad = 1;
	}
	tap_ok(!bad, "%s dirty_max=%zu: %ld random steps, seed %llu", codec,
	       dirty_max, step, (unsigned long long)seed);
	tap_ok(bad || (seen_small && seen_large && moves),
	       "%s: files seen small %zu and large %zu times, %zu moves between",
	       codec, seen_small, seen_large, moves);
	for (i = 0; i < NFILES; i++) {
		zsfs_file_destroy(s, m[i].f);
		free(m[i].data);
	}
	zs_pool_stats(zsfs_store_pool(s), &ps);
	bad = ps.objs || ps.bytes_stored;
	zs_compact(zsfs_store_pool(s)); /* returns the pool's reserve pages */
	zs_pool_stats(zsfs_store_pool(s), &ps);
	tap_ok(!bad && ps.pages == 0, "%s: destroy freed the pool (%zu pages)",
	       codec, ps.pages);
	zsfs_store_destroy(s);
	free(buf);
	free(out);
	return 0;
}

int main(void)
{
	const char *e = getenv("ZS_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 0) :
			    (uint64_t)time(NULL) * 2654435761u;
	long steps = getenv("ZS_LONG") ? 100000 : 4000;

	tap_diag("seed %llu (ZS_SEED=%llu to replay)", (unsigned long long)seed,
		 (unsigned long long)seed);
	run("lz4", seed, steps, 0);
	run("zstd:1", seed + 1, steps / 2, 0);
	/* A tiny global cap: the flush-own-set and write-through paths. */
	run("lz4", seed + 2, steps / 2, 3 * PG);
	run("lz4", seed + 3, steps / 4, 1);
	return tap_done();
}
