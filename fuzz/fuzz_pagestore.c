/*
 * fuzz_pagestore.c - libFuzzer target for the page store.
 *
 * The input is a little program: each op is one byte of opcode and a few
 * bytes of operands, run against two files of one store with a small pool
 * limit (so ENOSPC paths run too) and checked against an in-memory model:
 * every read must match, zsfs_file_check() and zs_pool_check() must pass
 * after every op.  Any mismatch aborts.  A second part feeds the rest of
 * the input to every codec's decompress() as a corrupt frame.
 *
 * Build: make fuzz-pagestore; run: ./fuzz/fuzz_pagestore [corpus dir].
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pagestore.h"

#define PG ZSFS_PAGE_SIZE
#define FZ_MAXSZ (20 * PG)
#define FZ_FILES 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in {
	const uint8_t *p;
	size_t left;
};

static unsigned fz_byte(struct fz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t fz_u16(struct fz_in *in)
{
	uint64_t v = fz_byte(in);

	return v | (uint64_t)fz_byte(in) << 8;
}

struct fz_model {
	struct zsfs_file *f;
	unsigned char data[FZ_MAXSZ];
	uint64_t size;
};

struct fz_state {
	struct zsfs_store *s;
	struct fz_model m[FZ_FILES];
	unsigned char buf[FZ_MAXSZ], out[FZ_MAXSZ];
};

static void fz_die(const char *what, uint64_t a, uint64_t b, int rc)
{
	fprintf(stderr, "fuzz_pagestore: %s (%llu, %llu) rc %d\n", what,
		(unsigned long long)a, (unsigned long long)b, rc);
	abort();
}

static void fz_check(struct fz_state *st)
{
	char msg[256];
	int i;

	for (i = 0; i < FZ_FILES; i++)
		if (zsfs_file_check(st->s, st->m[i].f, msg, sizeof(msg))) {
			fprintf(stderr, "file check: %s\n", msg);
			abort();
		}
	if (zs_pool_check(zsfs_store_pool(st->s), msg, sizeof(msg))) {
		fprintf(stderr, "pool check: %s\n", msg);
		abort();
	}
}

static void fz_fill(unsigned char *p, size_t n, unsigned kind, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		switch (kind % 4) {
		case 0: p[i] = 0; break;
		case 1: p[i] = (unsigned char)(seed + i % 8); break;
		case 2: /* incompressible: raw pages */
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[i] = (unsigned char)x;
			break;
		default: p[i] = "ab  c\n"[(i + seed) % 6]; break;
		}
	}
}

static void fz_ops(struct fz_state *st, struct fz_in *in)
{
	int steps = 0;

	while (in->left && steps++ < 64) {
		unsigned op = fz_byte(in);
		struct fz_model *a = &st->m[op >> 7 & 1];
		struct fz_model *b = &st->m[op >> 6 & 1];
		uint64_t off = fz_u16(in) * 3 % FZ_MAXSZ;
		size_t len = (size_t)(fz_u16(in) % (3 * PG) + 1), w;
		int rc;

		if (len > FZ_MAXSZ - off)
			len = (size_t)(FZ_MAXSZ - off);
		switch (op % 6) {
		case 0: /* write */
			fz_fill(st->buf, len, fz_byte(in), fz_byte(in));
			rc = zsfs_file_write(st->s, a->f, off, len, st->buf, &w);
			if (rc && rc != -ENOSPC)
				fz_die("write", off, len, rc);
			if (w > len || (rc == 0 && w != len))
				fz_die("write count", w, len, rc);
			memcpy(a->data + off, st->buf, w);
			if (w && off + w > a->size)
				a->size = off + w;
			/* A failed write changes nothing past w. */
			if (rc && (zsfs_file_read(st->s, a->f, off + w, len - w,
						  st->out) ||
				   memcmp(st->out, a->data + off + w, len - w)))
				fz_die("failed write changed data", off, len, rc);
			break;
		case 1: /* read */
			if (off >= a->size)
				break;
			if (len > a->size - off)
				len = (size_t)(a->size - off);
			rc = zsfs_file_read(st->s, a->f, off, len, st->out);
			if (rc || memcmp(st->out, a->data + off, len))
				fz_die("read", off, len, rc);
			break;
		case 2: { /* truncate */
			uint64_t ns = off;

			rc = zsfs_file_truncate(st->s, a->f, a->size, ns);
			if (rc == -ENOSPC && ns < a->size) {
				/* pages past the end may be gone: resync */
				if (zsfs_file_read(st->s, a->f, ns, a->size - ns,
						   a->data + ns))
					fz_die("truncate resync", ns, 0, rc);
				break;
			}
			if (rc)
				fz_die("truncate", a->size, ns, rc);
			if (ns < a->size)
				memset(a->data + ns, 0, a->size - ns);
			a->size = ns;
			break;
		}
		case 3: /* punch */
			rc = zsfs_file_punch(st->s, a->f, off, len);
			if (rc == 0)
				memset(a->data + off, 0, len);
			else if (rc != -ENOSPC)
				fz_die("punch", off, len, rc);
			else if (zsfs_file_read(st->s, a->f, off, len,
						a->data + off))
				fz_die("punch resync", off, len, rc);
			break;
		case 4: { /* copy */
			uint64_t soff = (fz_u16(in) * 7) % (a->size + 1);

			if (len > a->size - soff)
				len = (size_t)(a->size - soff);
			if (!len || (a == b && off < soff + len &&
				     soff < off + len))
				break;
			memcpy(st->buf, a->data + soff, len);
			rc = zsfs_file_copy(st->s, b->f, off, a->f, soff, len, &w);
			if (rc && rc != -ENOSPC)
				fz_die("copy", off, len, rc);
			if (w > len || (rc == 0 && w != len))
				fz_die("copy count", w, len, rc);
			memcpy(b->data + off, st->buf, w);
			if (w && off + w > b->size)
				b->size = off + w;
			if (rc && (zsfs_file_read(st->s, b->f, off + w, len - w,
						  st->out) ||
				   memcmp(st->out, b->data + off + w, len - w)))
				fz_die("failed copy changed data", off, len, rc);
			break;
		}
		default:
			rc = zsfs_file_flush(st->s, a->f);
			if (rc && rc != -ENOSPC)
				fz_die("flush", 0, 0, rc);
			break;
		}
		fz_check(st);
	}
}

static void fz_codecs(const uint8_t *data, size_t size)
{
	static const struct zsfs_codec *const codecs[] = {
		&zsfs_codec_lz4, &zsfs_codec_zstd, &zsfs_codec_none,
	};
	unsigned char *page = malloc(PG), *src;
	size_t i;
	void *ctx;

	if (!size || !page)
		goto out;
	src = malloc(size); /* exact size: ASan sees an over-read */
	if (!src)
		goto out;
	memcpy(src, data, size);
	for (i = 0; i < 3; i++) {
		if (codecs[i]->ctx_create(3, &ctx))
			continue;
		(void)codecs[i]->decompress(ctx, src, size, page);
		codecs[i]->ctx_destroy(ctx);
	}
	free(src);
out:
	free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zsfs_store_params p = { .compress = "lz4",
				       .limit_bytes = 512u << 10,
				       .dirty_max_bytes = 6 * PG };
	struct fz_in in = { data, size };
	struct fz_state *st;
	int i;

	fz_codecs(data, size);
	st = calloc(1, sizeof(*st));
	if (!st)
		return 0;
	if (size && data[0] & 1)
		p.compress = "zstd:1";
	if (size && data[0] & 2) /* tight: a few zspages, ENOSPC paths */
		p.limit_bytes = (size_t)(1 + (data[0] >> 2 & 7)) * 16 * PG;
	if (zsfs_store_create(&p, &st->s, NULL, 0))
		goto out;
	for (i = 0; i < FZ_FILES; i++)
		if (zsfs_file_create(&st->m[i].f))
			goto files;
	fz_ops(st, &in);
files:
	for (i = 0; i < FZ_FILES; i++)
		zsfs_file_destroy(st->s, st->m[i].f);
	zsfs_store_destroy(st->s);
out:
	free(st);
	return 0;
}
