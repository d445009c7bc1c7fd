/*
 * pagestore_recompress.c - the data layer's background recompression and
 * dictionaries (recompress.c, dict.c), driven the way the settle thread
 * drives them, without a mount:
 *
 *	- every page round-trips after recompression, per codec, with and
 *	  without a dictionary, and after a trained one;
 *	- a page is replaced only by a strictly smaller object, and a
 *	  mismatched dictionary never makes one bigger;
 *	- dictionary references: a dropped dictionary lives while a page
 *	  uses it and is freed (count, budget) when the last one goes, by
 *	  truncate, punch, destroy or rewrite; a copy takes its own;
 *	- zsfs_file_check names a page whose dictionary does not exist;
 *	- a retrain makes settled pages pending again and converges.
 *
 * It looks at entries through store_internal.h: the lengths of single
 * objects are what "only when smaller" is about.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define NPAGES 64u

static uint64_t rng_state = 0x5eed5eed12345678ull;

/* Text with a shared vocabulary: what a dictionary is for. */
static void fill_text(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"#include <stdint.h>\n", "static inline ", "uint64_t ",
		"return -EINVAL;\n", "struct zsfs_store *store", "\tif (rc)\n",
		"pthread_mutex_lock(&lock);\n", "/* comment */ ", "size_t n, ",
		"memcpy(dst, src, len);\n", "#define FOO_BAR 1\n", "{\n", "}\n",
	};

	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), p, n);
}

/* Text of other words: a dictionary made from it does not match. */
static void fill_other(unsigned char *p, size_t n)
{
	static const char *const words[] = {
		"Lorem ", "ipsum ", "dolor ", "sit ", "amet, ", "consectetur ",
		"adipiscing ", "elit. ", "Sed ", "do ", "eiusmod\n",
	};

	t_fill_words(&rng_state, words, sizeof(words) / sizeof(words[0]), p, n);
}

static struct zsfs_store_stats stats(struct zsfs_store *s)
{
	struct zsfs_store_stats st;

	zsfs_store_stats(s, &st);
	return st;
}

static int check(struct zsfs_store *s, struct zsfs_file *f, const char *what)
{
	char msg[256] = "";
	int rc = zsfs_file_check(s, f, msg, sizeof(msg));

	if (!rc)
		rc = zs_pool_check(zsfs_store_pool(s), msg, sizeof(msg));
	return tap_ok(rc == 0, "%s: check %s", what, rc ? msg : "ok");
}

static struct zsfs_store *store_make(const char *codec, const char *rec,
				     const char *dict)
{
	struct zsfs_store_params p = {
		.compress = codec, .recompress = rec, .dict = dict, .threads = 1,
	};
	struct zsfs_store *s = NULL;
	char err[160] = "";

	if (zsfs_store_create(&p, &s, err, sizeof(err))) {
		tap_diag("store %s %s %s: %s", codec, rec, dict, err);
		exit(1);
	}
	return s;
}

/* Settle every pending page of @f, in batches as the thread does. */
static size_t settle_all(struct zsfs_store *s, struct zsfs_file *f)
{
	uint64_t cursor = 0;
	size_t done, total = 0;

	while (cursor != UINT64_MAX) {
		if (zsfs_file_recompress(s, f, &cursor, 7, &done))
			return (size_t)-1;
		total += done;
	}
	return total;
}

/* The stored length of every page of @f into @lens (0: not COMP/RAW). */
static void lens_of(struct zsfs_store *s, struct zsfs_file *f, uint32_t *lens,
		    unsigned *dicts)
{
	const struct zsfs_pentry *e;
	uint64_t i;

	for (i = 0; i < NPAGES; i++) {
		e = zsfs_pagemap_lookup(&f->map, i);
		lens[i] = e && (zsfs_pentry_kind(e) == ZSFS_PK_COMP ||
				zsfs_pentry_kind(e) == ZSFS_PK_RAW) ?
			  (uint32_t)entry_bytes(s, e) : 0;
		if (dicts)
			dicts[i] = e ? zsfs_pentry_dict(e) : 0;
	}
}

static int same_data(struct zsfs_store *s, struct zsfs_file *f,
		     const unsigned char *want, size_t len)
{
	unsigned char *got = malloc(len);
	int ok = got && zsfs_file_read(s, f, 0, len, got) == 0 &&
		 memcmp(got, want, len) == 0;

	free(got);
	return ok;
}

static struct zsfs_file *write_file(struct zsfs_store *s,
				    const unsigned char *data, size_t len)
{
	struct zsfs_file *f;
	size_t w;

	if (zsfs_file_create(&f) || zsfs_file_write(s, f, 0, len, data, &w) ||
	    zsfs_file_flush(s, f)) {
		tap_diag("write failed");
		exit(1);
	}
	return f;
}

/* Round trip, smaller-only and a trained dictionary for @codec. */
static void test_roundtrip(const char *codec, const char *rec)
{
	size_t len = NPAGES * PG;
	unsigned char *data = malloc(len);
	uint32_t before[NPAGES], after[NPAGES];
	struct zsfs_store_stats st0, st1, st2;
	struct zsfs_store *s = store_make(codec, rec, "auto");
	struct zsfs_file *f;
	unsigned i, grew = 0, same = 0, smaller = 0;

	fill_text(data, len);
	/* A few incompressible pages: stored raw, and stay raw. */
	t_fill_bytes(&rng_state, data + 5 * PG, PG);
	t_fill_bytes(&rng_state, data + 40 * PG, PG);
	f = write_file(s, data, len);
	st0 = stats(s);
	TAP_OK(st0.recompress_pending == NPAGES && zsfs_file_pending(f) == NPAGES,
	       "%s %s: every stored page is pending (%zu)", codec, rec,
	       st0.recompress_pending);
	lens_of(s, f, before, NULL);
	TAP_OK(settle_all(s, f) == NPAGES, "%s %s: settled them all", codec,
	       rec);
	st1 = stats(s);
	lens_of(s, f, after, NULL);
	for (i = 0; i < NPAGES; i++) {
		grew += after[i] > before[i];
		same += after[i] == before[i];
		smaller += after[i] < before[i];
	}
	TAP_OK(grew == 0, "%s %s: no page grew (%u same, %u smaller)", codec,
	       rec, same, smaller);
	TAP_OK(st1.recompress_kept == smaller &&
	       st1.recompress_done == NPAGES && st1.recompress_pending == 0 &&
	       zsfs_file_pending(f) == 0,
	       "%s %s: kept %zu = smaller pages, done %zu, pending 0", codec,
	       rec, st1.recompress_kept, st1.recompress_done);
	TAP_OK(before[5] == PG && after[5] == PG && after[40] == PG,
	       "%s %s: raw pages stay raw", codec, rec);
	TAP_OK(st1.compr_data_size + st1.recompress_saved_bytes ==
	       st0.compr_data_size,
	       "%s %s: compr_data_size %zu -> %zu, saved %zu", codec, rec,
	       st0.compr_data_size, st1.compr_data_size,
	       st1.recompress_saved_bytes);
	TAP_OK(same_data(s, f, data, len), "%s %s: data reads back", codec,
	       rec);
	check(s, f, "after recompression");
	/* A second pass finds nothing. */
	TAP_OK(settle_all(s, f) == 0 && stats(s).recompress_done == NPAGES,
	       "%s %s: settled pages are done once", codec, rec);

	/* Train from the file, as the settle thread does. */
	{
		size_t big = 16 * NPAGES * PG, w, held;
		unsigned char *more = malloc(big);
		struct zsfs_file *tiny;

		held = zsfs_budget_held(zsfs_store_budget(s), ZSFS_HOLD_SETTLE);
		tiny = write_file(s, data, 63 * PG);
		zsfs_file_destroy(s, f);
		TAP_OK(zsfs_store_dict_sample_begin(s) == -ENODATA &&
		       zsfs_budget_held(zsfs_store_budget(s),
					ZSFS_HOLD_SETTLE) == held,
		       "%s %s: 63 pages are too few to train", codec, rec);
		zsfs_file_destroy(s, tiny);
		f = write_file(s, data, len);
		settle_all(s, f);

		fill_text(more, big);
		if (zsfs_file_write(s, f, len, big, more, &w) ||
		    zsfs_file_flush(s, f))
			tap_diag("write more failed");
		settle_all(s, f);
		TAP_OK(zsfs_store_dict_sample_begin(s) == 0,
		       "%s %s: sampling begins at %u pages", codec, rec,
		       17 * NPAGES);
		zsfs_file_dict_sample(s, f);
		TAP_OK(zsfs_store_dict_train(s) == 0 &&
		       stats(s).dict_count == 1 && stats(s).dict_trainings == 1,
		       "%s %s: a dictionary is trained", codec, rec);
		TAP_OK(zsfs_budget_held(zsfs_store_budget(s),
					ZSFS_HOLD_SETTLE) == held,
		       "%s %s: the sample is freed after training", codec, rec);
		TAP_OK(zsfs_budget_held(zsfs_store_budget(s),
					ZSFS_HOLD_DICT) > 0,
		       "%s %s: the dictionary is in the budget", codec, rec);
		zsfs_file_unsettle(s, f);
		/* Raw pages too: with a dictionary they may compress. */
		TAP_OK(zsfs_file_pending(f) == 17 * NPAGES,
		       "%s %s: every page is pending again (%zu)",
		       codec, rec, zsfs_file_pending(f));
		st1 = stats(s);
		settle_all(s, f);
		st2 = stats(s);
		TAP_OK(st2.dict_pages > 0 &&
		       st2.compr_data_size < st1.compr_data_size,
		       "%s %s: %zu pages use it, %zu -> %zu bytes", codec,
		       rec, st2.dict_pages, st1.compr_data_size,
		       st2.compr_data_size);
		TAP_OK(same_data(s, f, data, len), "%s %s: first part reads back",
		       codec, rec);
		{
			unsigned char *got = malloc(big);

			TAP_OK(got && zsfs_file_read(s, f, len, big, got) == 0 &&
			       !memcmp(got, more, big),
			       "%s %s: second part reads back", codec, rec);
			free(got);
		}
		check(s, f, "with a trained dictionary");
		free(more);
	}
	zsfs_file_destroy(s, f);
	st2 = stats(s);
	TAP_OK(st2.dict_pages == 0 && st2.dict_count == 1,
	       "%s %s: destroy drops the pages' references, the current one stays",
	       codec, rec);
	/* The recompression's prepared copy holds one until idle. */
	zsfs_store_settle_idle(s);
	zsfs_store_dict_drop(s);
	TAP_OK(stats(s).dict_count == 0 &&
	       zsfs_budget_held(zsfs_store_budget(s), ZSFS_HOLD_DICT) == 0,
	       "%s %s: dropped with no page: freed, budget back to 0", codec,
	       rec);
	zsfs_store_settle_idle(s);
	TAP_OK(zsfs_budget_held(zsfs_store_budget(s), ZSFS_HOLD_SETTLE) == 0,
	       "%s %s: idle holds no codec state", codec, rec);
	zsfs_store_destroy(s);
	free(data);
}

/* The lengths @data settles to with no dictionary: what a dictionary
 * must never make worse. */
static void base_lens(const char *codec, const char *rec,
		      const unsigned char *data, uint32_t *lens)
{
	struct zsfs_store *s = store_make(codec, rec, "auto");
	struct zsfs_file *f = write_file(s, data, NPAGES * PG);

	settle_all(s, f);
	lens_of(s, f, lens, NULL);
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
}

/* A dictionary made from other text: pages never grow because of it. */
static void test_mismatch(const char *codec, const char *rec)
{
	size_t len = NPAGES * PG;
	unsigned char *data = malloc(len), dict[32768];
	uint32_t base[NPAGES], after[NPAGES];
	struct zsfs_store *s = store_make(codec, rec, "auto");
	struct zsfs_file *f;
	unsigned i, grew = 0;

	fill_text(data, len);
	base_lens(codec, rec, data, base);
	f = write_file(s, data, len);
	fill_other(dict, sizeof(dict));
	TAP_OK(zsfs_store_dict_set(s, dict, sizeof(dict)) == 0,
	       "%s %s: a foreign dictionary is set", codec, rec);
	settle_all(s, f);
	lens_of(s, f, after, NULL);
	for (i = 0; i < NPAGES; i++)
		grew += after[i] > base[i];
	TAP_OK(grew == 0, "%s %s mismatched: no page bigger than without it",
	       codec, rec);
	TAP_OK(same_data(s, f, data, len), "%s %s mismatched: data reads back",
	       codec, rec);
	check(s, f, "mismatched dictionary");
	/* Random content: with it every page would be bigger. */
	t_fill_bytes(&rng_state, dict, sizeof(dict));
	TAP_OK(zsfs_store_dict_set(s, dict, sizeof(dict)) == 0,
	       "%s %s: a random dictionary replaces it", codec, rec);
	zsfs_file_unsettle(s, f);
	settle_all(s, f);
	lens_of(s, f, after, NULL);
	for (i = 0, grew = 0; i < NPAGES; i++)
		grew += after[i] > base[i];
	TAP_OK(grew == 0, "%s %s random dictionary: no page bigger than without it",
	       codec, rec);
	TAP_OK(same_data(s, f, data, len), "%s %s random: data reads back",
	       codec, rec);
	zsfs_file_destroy(s, f);
	zsfs_store_settle_idle(s);
	TAP_OK(stats(s).dict_count == 0,
	       "%s %s: nothing stored, idle: no dictionary stays", codec, rec);
	zsfs_store_destroy(s);
	free(data);
}

/* Every retrain moves the pages off the older dictionaries: at most the
 * current one and none older stays alive, however many come. */
static void test_converge(const char *codec)
{
	size_t len = NPAGES * PG;
	unsigned char *data = malloc(len), *dict = malloc(65536);
	unsigned dicts[NPAGES];
	uint32_t lens[NPAGES];
	struct zsfs_store *s = store_make(codec, "on", "auto");
	struct zsfs_file *f;
	unsigned i, round, stale = 0;

	fill_text(data, len);
	f = write_file(s, data, len);
	for (round = 0; round < 40; round++) {
		fill_text(dict, 65536);
		if (zsfs_store_dict_set(s, dict, 65536))
			break;
		zsfs_file_unsettle(s, f);
		settle_all(s, f);
	}
	TAP_OK(round == 40, "%s: 40 dictionaries in turn (%u set)", codec,
	       round);
	lens_of(s, f, lens, dicts);
	for (i = 0; i < NPAGES; i++)
		stale += dicts[i] && dicts[i] != dicts[0];
	zsfs_store_settle_idle(s);
	TAP_OK(stale == 0 && stats(s).dict_count == 1,
	       "%s: pages use the newest only, %zu alive", codec,
	       stats(s).dict_count);
	TAP_OK(same_data(s, f, data, len), "%s: data reads back", codec);
	check(s, f, "after 40 dictionaries");
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(dict);
	free(data);
}

/* References: copy, punch, truncate, rewrite, destroy; the check. */
static void test_refs(const char *codec)
{
	size_t len = NPAGES * PG, w, n;
	unsigned char *data = malloc(len), *dict = malloc(65536);
	unsigned dicts[NPAGES];
	uint32_t lens[NPAGES];
	struct zsfs_store *s = store_make(codec, "on", "auto");
	struct zsfs_file *a, *b;
	struct zsfs_pentry *slot;
	struct zsfs_store_stats st;
	char msg[256] = "";
	unsigned i, first = NPAGES, old;
	uint64_t saved_rng;

	saved_rng = rng_state;
	fill_text(dict, 65536);
	rng_state = saved_rng ^ 0x9e3779b97f4a7c15ull;
	fill_text(data, len);
	TAP_OK(zsfs_store_dict_set(s, dict, 65536) == 0 &&
	       stats(s).dict_count == 1, "%s: dictionary set", codec);
	a = write_file(s, data, len);
	settle_all(s, a);
	lens_of(s, a, lens, dicts);
	for (i = 0, n = 0; i < NPAGES; i++) {
		n += dicts[i] != 0;
		if (dicts[i] && first == NPAGES)
			first = i;
	}
	st = stats(s);
	TAP_OK(n > NPAGES / 2 && st.dict_pages == n,
	       "%s: %zu of %u pages use the dictionary", codec, n, NPAGES);
	TAP_OK(st.dict_saved_bytes > 0, "%s: dict_saved_bytes %zu", codec,
	       st.dict_saved_bytes);
	zsfs_store_dict_drop(s);
	zsfs_store_settle_idle(s); /* its prepared copy's reference */
	TAP_OK(stats(s).dict_count == 1,
	       "%s: dropped, still alive while pages use it", codec);
	TAP_OK(same_data(s, a, data, len), "%s: pages decode after the drop",
	       codec);

	/* A copy takes its own references. */
	TAP_OK(zsfs_file_create(&b) == 0 &&
	       zsfs_file_copy(s, b, 0, a, 0, len, &w) == 0 && w == len,
	       "%s: copied", codec);
	TAP_OK(stats(s).dict_pages == 2 * n, "%s: copy counts %zu dict pages",
	       codec, stats(s).dict_pages);
	zsfs_file_destroy(s, a);
	TAP_OK(stats(s).dict_count == 1 && stats(s).dict_pages == n,
	       "%s: the source destroyed, the copy keeps the dictionary",
	       codec);
	TAP_OK(same_data(s, b, data, len), "%s: the copy reads back", codec);
	check(s, b, "copy");

	/* A page naming a dictionary that does not exist. */
	TAP_OK(zsfs_pagemap_slot(&b->map, first, &slot) == 0,
	       "%s: slot of page %u", codec, first);
	old = zsfs_pentry_dict(slot);
	slot->w = (slot->w & ~(ZSFS_PE_DICT_MASK << ZSFS_PE_DICT_SHIFT)) |
		  (uint64_t)(STORE_DICT_MAX - 1) << ZSFS_PE_DICT_SHIFT;
	TAP_OK(zsfs_file_check(s, b, msg, sizeof(msg)) == -EUCLEAN &&
	       strstr(msg, "dictionary"), "%s: check says: %s", codec, msg);
	slot->w = (slot->w & ~(ZSFS_PE_DICT_MASK << ZSFS_PE_DICT_SHIFT)) |
		  (uint64_t)old << ZSFS_PE_DICT_SHIFT;
	check(s, b, "restored");

	/* Punch the first half, truncate the rest bit by bit, rewrite. */
	TAP_OK(zsfs_file_punch(s, b, 0, len / 2) == 0,
	       "%s: punched the first half", codec);
	for (i = 0, n = 0; i < NPAGES; i++)
		n += i >= NPAGES / 2 && dicts[i];
	TAP_OK(stats(s).dict_pages == n, "%s: punch released (%zu left)",
	       codec, stats(s).dict_pages);
	TAP_OK(zsfs_file_truncate(s, b, len, len - 4 * PG) == 0,
	       "%s: truncated 4 pages", codec);
	for (i = NPAGES - 4; i < NPAGES; i++)
		n -= dicts[i] != 0;
	TAP_OK(stats(s).dict_pages == n, "%s: truncate released (%zu left)",
	       codec, stats(s).dict_pages);
	fill_other(data, PG);
	for (i = NPAGES / 2; i < NPAGES - 4; i++) {
		if (zsfs_file_write(s, b, (uint64_t)i * PG, PG, data, &w))
			break;
	}
	zsfs_file_flush(s, b);
	TAP_OK(stats(s).dict_pages == 0 && stats(s).dict_count == 0 &&
	       zsfs_budget_held(zsfs_store_budget(s), ZSFS_HOLD_DICT) == 0,
	       "%s: rewriting the last pages freed the dictionary", codec);
	check(s, b, "after the dictionary is gone");
	zsfs_file_destroy(s, b);

	/* Destroy alone releases too. */
	TAP_OK(zsfs_store_dict_set(s, dict, 65536) == 0, "%s: set again",
	       codec);
	a = write_file(s, data, len);
	settle_all(s, a);
	zsfs_store_dict_drop(s);
	zsfs_store_settle_idle(s);
	TAP_OK(stats(s).dict_count == 1, "%s: alive through its pages", codec);
	zsfs_file_destroy(s, a);
	st = stats(s);
	TAP_OK(st.dict_count == 0 && st.dict_pages == 0 &&
	       st.recompress_pending == 0 && st.compr_data_size == 0,
	       "%s: destroy freed it", codec);
	zsfs_store_destroy(s);
	free(dict);
	free(data);
}

/* A rewrite makes the page pending again, at the fast level. */
static void test_rewrite(const char *codec)
{
	size_t len = NPAGES * PG, w;
	unsigned char *data = malloc(len);
	struct zsfs_store *s = store_make(codec, "on", "off");
	struct zsfs_file *f;

	fill_text(data, len);
	f = write_file(s, data, len);
	settle_all(s, f);
	TAP_OK(zsfs_file_pending(f) == 0, "%s: settled", codec);
	fill_text(data + 3 * PG, 100);
	zsfs_file_write(s, f, 3 * PG, 100, data + 3 * PG, &w);
	zsfs_file_flush(s, f);
	TAP_OK(zsfs_file_pending(f) == 1 && stats(s).recompress_pending == 1,
	       "%s: a rewritten page is pending again", codec);
	settle_all(s, f);
	TAP_OK(same_data(s, f, data, len), "%s: reads back", codec);
	check(s, f, "rewrite");
	zsfs_file_destroy(s, f);
	zsfs_store_destroy(s);
	free(data);
}

int main(void)
{
	static const char *const codecs[][2] = {
		{ "lz4", "on" }, { "lz4", "off" }, { "lz4", "lz4hc:4" },
		{ "zstd", "on" }, { "zstd", "off" }, { "zstd:1", "zstd:3" },
	};
	size_t i;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		test_roundtrip(codecs[i][0], codecs[i][1]);
		test_mismatch(codecs[i][0], codecs[i][1]);
	}
	test_refs("lz4");
	test_refs("zstd");
	test_converge("lz4");
	test_converge("zstd");
	test_rewrite("lz4");
	test_rewrite("zstd");
	return tap_done();
}
