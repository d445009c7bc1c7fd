/*
 * backing_random.c - the backing file's allocator under random work: one
 * thread storing, loading and freeing objects of random sizes against a
 * model (every object's bytes known), with the invariant walker after
 * every step; then four threads at once, each checking its own objects,
 * and the walker at the end.  The file is an unnamed one in $TMPDIR (or
 * /var/tmp): nothing to clean up.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backing.h"
#include "tap.h"

#define MiB (1024u * 1024u)
#define NOBJ 800
#define STEPS 20000
#define THREADS 4
#define THREAD_STEPS 20000

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A length as compressed pages have: mostly 1-3 KiB, some tiny, some raw. */
static size_t rnd_len(uint64_t *s)
{
	unsigned r = (unsigned)(rnd(s) % 100);

	if (r < 10)
		return 1 + rnd(s) % 64;
	if (r < 20)
		return ZSFS_BACKING_OBJ_MAX;
	return 512 + rnd(s) % 3000;
}

/* The bytes of object @id, version @ver. */
static void obj_bytes(unsigned char *p, size_t len, unsigned id, unsigned ver)
{
	uint64_t x = (uint64_t)id << 32 | ver | 1;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(rnd(&x) >> 24);
}

struct obj {
	uint64_t loc;   /* 0 = not stored */
	size_t len;
	unsigned ver;
};

static const char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/var/tmp";
}

/* One thread's (or the single run's) work on its own objects; returns
 * the number of mismatches, and with @check the first walker failure. */
static size_t work(struct zsfs_backing *b, struct obj *objs, size_t n,
		   unsigned idbase, uint64_t seed, size_t steps, int check,
		   size_t *enospc, char *msg, size_t msg_cap)
{
	unsigned char buf[ZSFS_BACKING_OBJ_MAX], in[ZSFS_BACKING_OBJ_MAX];
	size_t bad = 0;

	for (size_t step = 0; step < steps; step++) {
		size_t i = rnd(&seed) % n;
		struct obj *o = &objs[i];
		unsigned op = (unsigned)(rnd(&seed) % 3);
		int rc;

		if (!o->loc || op == 0) {
			/* (re)store: free the old one first, as an overwrite does */
			if (o->loc && zsfs_backing_free(b, o->loc))
				bad++;
			o->loc = 0;
			o->len = rnd_len(&seed);
			o->ver++;
			obj_bytes(buf, o->len, idbase + (unsigned)i, o->ver);
			rc = zsfs_backing_store(b, buf, o->len, &o->loc);
			if (rc == -ENOSPC) {
				o->loc = 0;
				(*enospc)++;
			} else if (rc) {
				bad++;
			}
		} else if (op == 1) {
			obj_bytes(buf, o->len, idbase + (unsigned)i, o->ver);
			rc = zsfs_backing_load(b, o->loc, in, sizeof(in));
			if (rc != (int)o->len || memcmp(buf, in, o->len))
				bad++;
		} else {
			if (zsfs_backing_free(b, o->loc))
				bad++;
			o->loc = 0;
		}
		if (check && zsfs_backing_check(b, msg, msg_cap)) {
			bad++;
			break;
		}
	}
	return bad;
}

struct targ {
	struct zsfs_backing *b;
	struct obj objs[NOBJ / THREADS];
	unsigned id;
	size_t bad, enospc;
};

static void *thread_main(void *arg)
{
	struct targ *t = arg;
	char msg[8];

	t->bad = work(t->b, t->objs, NOBJ / THREADS, t->id * 100000,
		      0x1234567ull * (t->id + 1), THREAD_STEPS, 0, &t->enospc,
		      msg, sizeof(msg));
	return NULL;
}

int main(void)
{
	struct zsfs_backing_params p = { .path = tmpdir(), .size = 1 * MiB };
	struct zsfs_backing_stats bs;
	struct zsfs_backing *b;
	static struct obj objs[NOBJ];
	static struct targ targs[THREADS];
	pthread_t th[THREADS];
	char err[256], msg[256] = "";
	size_t bad, enospc = 0, live = 0, slots = 0;

	/* 1 MiB holds about 500 objects of these sizes: 800, about 2/3 live, fill
	 * it at times, so the full path and the wrap are exercised too */
	if (zsfs_backing_open(&p, &b, err, sizeof(err)))
		tap_skip_all(err);
	bad = work(b, objs, NOBJ, 0, 42, STEPS, 1, &enospc, msg, sizeof(msg));
	TAP_OK(bad == 0, "%d random steps: every load matched its model, the walker passed after each (%s)",
	       STEPS, msg);
	TAP_OK(enospc > 0, "the file filled up at times: %zu stores refused", enospc);
	for (size_t i = 0; i < NOBJ; i++)
		if (objs[i].loc) {
			live++;
			slots += (objs[i].len + ZSFS_BACKING_HDR + 63) / 64;
		}
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_count == live && bs.bd_used_bytes == slots * 64,
	       "bd_count %zu and bd_used_bytes %zu agree with the model (%zu, %zu)",
	       bs.bd_count, bs.bd_used_bytes, live, slots * 64);
	for (size_t i = 0; i < NOBJ; i++)
		if (objs[i].loc)
			zsfs_backing_free(b, objs[i].loc);
	zsfs_backing_stats(b, &bs);
	TAP_OK(bs.bd_count == 0 && bs.bd_used_bytes == 0 &&
	       zsfs_backing_check(b, msg, sizeof(msg)) == 0, "all freed, the map is empty");

	for (unsigned t = 0; t < THREADS; t++) {
		targs[t].b = b;
		targs[t].id = t + 1;
		pthread_create(&th[t], NULL, thread_main, &targs[t]);
	}
	bad = enospc = 0;
	for (unsigned t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		bad += targs[t].bad;
		enospc += targs[t].enospc;
	}
	TAP_OK(bad == 0, "%d threads x %d steps: no mismatch (%zu stores refused for room)",
	       THREADS, THREAD_STEPS, enospc);
	TAP_OK(zsfs_backing_check(b, msg, sizeof(msg)) == 0, "the walker passes after the threads (%s)", msg);
	zsfs_backing_close(b);
	return tap_done();
}
