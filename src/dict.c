/*
 * dict.c - compression dictionaries: the store's table of them, their
 * references, loading one from a file (dict=PATH) and training one from
 * the mount's own pages (dict=auto).
 *
 * A dictionary lives in a slot of store->dicts (id 1..STORE_DICT_MAX-1;
 * an entry names it in 8 bits of its length word, pagemap.h).  It is
 * referenced once by each entry whose object needs it (entry.c takes and
 * drops those with the entry's accounting, so copies count too), once by
 * the store while it is the current one, and once by the recompression's
 * prepared copy (recompress.c).  The last reference frees it; only the
 * current dictionary ever gains references from nothing but an entry
 * that already holds one, so a count that reached 0 stays there, and no
 * entry can name a freed dictionary: decoding never needs one.
 *
 * Training (the settle thread, one at a time): a sample buffer of up to
 * DICT_SAMPLE_MAX bytes takes every stride-th compressed page of every
 * file, decoded (so the dictionary learns the data, not its encoding);
 * ZDICT's fastCover optimiser (d=8, a few k) makes a dictionary of
 * DICT_SIZE bytes, which becomes the current one.  The same content
 * serves both codecs: zstd reads the trained dictionary, lz4 its last
 * 64 KiB as a prefix.  The sample is freed after training.
 *
 * Memory: dictionaries are ZSFS_HOLD_DICT, the sample ZSFS_HOLD_SETTLE.
 *
 * lock ordering: store->dict_lock (leaf): the slots' writers, dict_cur,
 * retrain, trained_pages.  Not held while calling a codec or the pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>

#include "store_internal.h"

/* What a trained dictionary holds: what lz4 can use, and what the issue
 * measured (4-19% smaller pages with 64 KiB on text and binaries). */
#define DICT_SIZE ((size_t)64 << 10)
/* At most 4 MiB of pages sampled (1024 pages): fastCover on 4 MiB takes
 * about a second; more gave no smaller pages in the measurements. */
#define DICT_SAMPLE_MAX ((size_t)4 << 20)
/* Fewer than 256 stored pages (1 MiB) are not worth a dictionary. */
#define DICT_MIN_PAGES 256u
/* A new dictionary when the store holds this many times the pages the
 * last one was trained from: a growing mount converges. */
#define DICT_REGROW 4u
/* dict=PATH: sizes accepted. */
#define DICT_FILE_MIN 256u
#define DICT_FILE_MAX ((size_t)1 << 20)

void dict_get(struct zsfs_store *store, unsigned id)
{
	atomic_fetch_add_explicit(&dict_of(store, id)->refs, 1,
				  memory_order_relaxed);
}

void dict_put(struct zsfs_store *store, unsigned id)
{
	struct store_dict *sd = dict_of(store, id);

	if (atomic_fetch_sub_explicit(&sd->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&store->dict_lock);
	atomic_store_explicit(&store->dicts[id], NULL, memory_order_release);
	pthread_mutex_unlock(&store->dict_lock);
	store->codec->dict_destroy(sd->d);
	zsfs_budget_sub(store->budget, ZSFS_HOLD_DICT, sd->bytes);
	CNT_SUB(store, dict_count, 1);
	free(sd);
}

int zsfs_store_dict_set(struct zsfs_store *store, const void *content,
			size_t size)
{
	struct store_dict *sd;
	unsigned id, old;
	int rc;

	if (!store->codec->dict_create)
		return -EINVAL;
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return -ENOMEM;
	rc = store->codec->dict_create(content, size, &sd->d);
	if (rc) {
		free(sd);
		return rc;
	}
	sd->bytes = sizeof(*sd) + store->codec->dict_bytes(sd->d);
	atomic_init(&sd->refs, 1); /* the store's: it is the current one */
	pthread_mutex_lock(&store->dict_lock);
	for (id = 1; id < STORE_DICT_MAX; id++)
		if (!atomic_load_explicit(&store->dicts[id],
					  memory_order_relaxed))
			break;
	if (id == STORE_DICT_MAX) {
		pthread_mutex_unlock(&store->dict_lock);
		store->codec->dict_destroy(sd->d);
		free(sd);
		return -ENOSPC;
	}
	atomic_store_explicit(&store->dicts[id], sd, memory_order_release);
	old = store->dict_cur;
	store->dict_cur = id;
	pthread_mutex_unlock(&store->dict_lock);
	zsfs_budget_add(store->budget, ZSFS_HOLD_DICT, sd->bytes);
	CNT_ADD(store, dict_count, 1);
	if (old)
		dict_put(store, old);
	return 0;
}

void zsfs_store_dict_drop(struct zsfs_store *store)
{
	unsigned old;

	pthread_mutex_lock(&store->dict_lock);
	old = store->dict_cur;
	store->dict_cur = 0;
	pthread_mutex_unlock(&store->dict_lock);
	if (old)
		dict_put(store, old);
}

/* ---- dict=PATH ------------------------------------------------------- */

static int refuse(char *err, size_t err_cap, const char *path,
		  const char *why)
{
	if (err && err_cap)
		snprintf(err, err_cap, "dict=%s: %s", path, why);
	return -EINVAL;
}

/* Already compressed data is no dictionary: its bytes never match. */
static const char *foreign(const unsigned char *p, size_t n)
{
	static const struct { const char *what; unsigned char m[6]; size_t n; }
	magics[] = {
		{ "a zstd frame, not a dictionary", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
		{ "an lz4 frame", { 0x04, 0x22, 0x4d, 0x18 }, 4 },
		{ "gzip data", { 0x1f, 0x8b }, 2 },
		{ "xz data", { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6 },
		{ "bzip2 data", { 'B', 'Z', 'h' }, 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].n && !memcmp(p, magics[i].m, magics[i].n))
			return magics[i].what;
	return NULL;
}

static int dict_load(struct zsfs_store *store, const char *path, char *err,
		     size_t err_cap)
{
	static const unsigned char zdict_magic[4] = { 0x37, 0xa4, 0x30, 0xec };
	unsigned char *buf = NULL;
	const char *what;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char why[128];
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		rc = refuse(err, err_cap, path, why);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = refuse(err, err_cap, path, "not a regular file");
		goto out;
	}
	if (st.st_size == 0) {
		rc = refuse(err, err_cap, path, "empty");
		goto out;
	}
	if ((size_t)st.st_size < DICT_FILE_MIN ||
	    (size_t)st.st_size > DICT_FILE_MAX) {
		snprintf(why, sizeof(why),
			 "%lld bytes: a dictionary has %u bytes to 1 MiB",
			 (long long)st.st_size, DICT_FILE_MIN);
		rc = refuse(err, err_cap, path, why);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			snprintf(why, sizeof(why), "cannot read: %s",
				 n ? strerror(errno) : "file shrank");
			rc = refuse(err, err_cap, path, why);
			goto out;
		}
		got += (size_t)n;
	}
	what = foreign(buf, got);
	if (what) {
		rc = refuse(err, err_cap, path, what);
		goto out;
	}
	if (!memcmp(buf, zdict_magic, 4)) {
		/* A zstd dictionary: its tables must load, whatever the
		 * codec (lz4 uses its content). */
		ZSTD_DDict *dd = ZSTD_createDDict(buf, got);

		if (!dd || !ZDICT_getDictID(buf, got)) {
			ZSTD_freeDDict(dd);
			rc = refuse(err, err_cap, path,
				    "a damaged zstd dictionary");
			goto out;
		}
		ZSTD_freeDDict(dd);
	}
	rc = zsfs_store_dict_set(store, buf, got);
	if (rc == -EINVAL)
		rc = refuse(err, err_cap, path,
			    "not a dictionary this codec can use");
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int dict_init(struct zsfs_store *store, const char *path, char *err,
	      size_t err_cap)
{
	int rc = -pthread_mutex_init(&store->dict_lock, NULL);

	if (rc)
		return rc;
	if (path) {
		rc = dict_load(store, path, err, err_cap);
		if (rc) {
			pthread_mutex_destroy(&store->dict_lock);
			return rc;
		}
	}
	return 0;
}

static void sample_free(struct zsfs_store *store)
{
	struct store_sample *s = &store->sample;

	if (s->buf) {
		free(s->buf);
		zsfs_budget_sub(store->budget, ZSFS_HOLD_SETTLE, s->cap);
	}
	memset(s, 0, sizeof(*s));
}

/* Every file is gone: only the store's reference is left, and the
 * recompression's state was freed first (storelife.c). */
void dict_fini(struct zsfs_store *store)
{
	unsigned id;

	sample_free(store);
	zsfs_store_dict_drop(store);
	for (id = 1; id < STORE_DICT_MAX; id++) {
		struct store_dict *sd = dict_of(store, id);

		if (!sd)
			continue;
		/* A leak of references would be a bug; free it anyway. */
		store->codec->dict_destroy(sd->d);
		zsfs_budget_sub(store->budget, ZSFS_HOLD_DICT, sd->bytes);
		free(sd);
		store->dicts[id] = NULL;
	}
	pthread_mutex_destroy(&store->dict_lock);
}

/* ---- training ------------------------------------------------------- */

static size_t store_pages(struct zsfs_store *store)
{
	size_t all = atomic_load(&store->cnt.pages_stored);
	size_t same = atomic_load(&store->cnt.same_pages);

	return all > same ? all - same : 0;
}

/* After rm -rf of everything a trained dictionary only costs memory, and
 * what comes next may be other data. */
void dict_idle(struct zsfs_store *store)
{
	if (store->dict_mode != STORE_DICT_AUTO || store_pages(store))
		return;
	pthread_mutex_lock(&store->dict_lock);
	store->trained_pages = 0;
	pthread_mutex_unlock(&store->dict_lock);
	zsfs_store_dict_drop(store);
}

int zsfs_store_dict_due(struct zsfs_store *store)
{
	size_t pages = store_pages(store);
	int due = ZSFS_DICT_NOT_DUE;

	if (store->dict_mode != STORE_DICT_AUTO || !store->settle_on)
		return 0;
	pthread_mutex_lock(&store->dict_lock);
	if (store->retrain)
		due = ZSFS_DICT_ASKED;
	else if (pages >= DICT_MIN_PAGES &&
		 pages >= DICT_REGROW * store->trained_pages)
		due = store->dict_cur ? ZSFS_DICT_REGROWN : ZSFS_DICT_FIRST;
	pthread_mutex_unlock(&store->dict_lock);
	return due;
}

void zsfs_store_dict_retrain(struct zsfs_store *store)
{
	pthread_mutex_lock(&store->dict_lock);
	store->retrain = true;
	pthread_mutex_unlock(&store->dict_lock);
	if (store->work_hook)
		store->work_hook(store->work_arg);
}

int zsfs_store_dict_sample_begin(struct zsfs_store *store)
{
	struct store_sample *s = &store->sample;
	size_t pages = store_pages(store), cap;

	sample_free(store);
	pthread_mutex_lock(&store->dict_lock);
	store->retrain = false;
	store->trained_pages = pages;
	pthread_mutex_unlock(&store->dict_lock);
	cap = pages * ZSFS_PAGE_SIZE;
	if (cap > DICT_SAMPLE_MAX)
		cap = DICT_SAMPLE_MAX;
	if (pages < DICT_MIN_PAGES / 4)
		return -ENODATA;
	s->buf = malloc(cap);
	if (!s->buf)
		return -ENOMEM;
	zsfs_budget_add(store->budget, ZSFS_HOLD_SETTLE, cap);
	s->cap = cap;
	s->stride = pages / (cap / ZSFS_PAGE_SIZE);
	if (s->stride == 0)
		s->stride = 1;
	return 0;
}

/* Caller holds @file shared. */
void zsfs_file_dict_sample(struct zsfs_store *store,
			   const struct zsfs_file *file)
{
	struct store_sample *s = &store->sample;
	const struct zsfs_pentry *e;
	uint64_t idx, from = 0;

	while (s->buf && s->len + ZSFS_PAGE_SIZE <= s->cap &&
	       !zsfs_pagemap_next(&file->map, from, &idx, &e)) {
		from = idx + 1;
		if (zsfs_pentry_kind(e) != ZSFS_PK_COMP ||
		    s->seen++ % s->stride)
			continue;
		if (page_load(store, e, s->buf + s->len) == 0)
			s->len += ZSFS_PAGE_SIZE;
	}
}

int zsfs_store_dict_train(struct zsfs_store *store)
{
	struct store_sample *s = &store->sample;
	ZDICT_fastCover_params_t p;
	struct timespec t0, t1;
	size_t *sizes = NULL;
	unsigned n, i;
	void *dict = NULL;
	size_t cap, len;
	int rc = -ENODATA;

	n = (unsigned)(s->len / ZSFS_PAGE_SIZE);
	if (!s->buf || n < 16)
		goto out;
	cap = s->len / 16 < DICT_SIZE ? s->len / 16 : DICT_SIZE;
	sizes = malloc(n * sizeof(*sizes));
	dict = malloc(cap);
	rc = -ENOMEM;
	if (!sizes || !dict)
		goto out;
	for (i = 0; i < n; i++)
		sizes[i] = ZSFS_PAGE_SIZE;
	memset(&p, 0, sizeof(p));
	p.d = 8;
	p.steps = 4;
	p.nbThreads = 1;
	p.splitPoint = 0.75;
	p.zParams.compressionLevel = store->rlevel > 0 &&
		store->codec == &zsfs_codec_zstd ? store->rlevel : 3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	len = ZDICT_optimizeTrainFromBuffer_fastCover(dict, cap, s->buf, sizes,
						      n, &p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_store(&store->cnt.dict_train_usec,
		     (size_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
			      (t1.tv_nsec - t0.tv_nsec) / 1000));
	rc = -ENODATA;
	if (ZDICT_isError(len))
		goto out;
	rc = zsfs_store_dict_set(store, dict, len);
	if (rc == 0)
		CNT_ADD(store, dict_trainings, 1);
out:
	free(sizes);
	free(dict);
	sample_free(store);
	return rc;
}
