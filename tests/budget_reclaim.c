/*
 * budget_reclaim.c - the budget: one owner for size= and mem_limit, and
 * one door to compaction that every caller goes through.
 *
 * First the caps alone: metadata and the pool share size=, mem_limit caps
 * the pool alone, the effective cap follows the holders, a charge that
 * does not fit fails after one compaction and changes nothing.  Then the
 * doors race: a thread compacts as the command does, another as the
 * background compactor does, a writer fills the pool until the store
 * compacts for space, and a fourth charges metadata and asks for
 * fallocate room against the full cap.  Every compaction must be counted
 * by its reason (their sum is the pool's own count of zs_compact calls)
 * and no two may ever run at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
#include "tap.h"
#include "test_util.h"

#define PG ZSFS_PAGE_SIZE
#define LIMIT ((size_t)4 << 20)

static atomic_int stop;
static struct zsfs_store *store;
static struct zsfs_budget *budget;

static void test_caps(void)
{
	struct zsfs_store_params p = { .compress = "lz4", .limit_bytes = LIMIT };
	struct zsfs_store *s;
	struct zsfs_budget *b;
	char err[128], src[64];
	size_t used, cap;

	TAP_OK(zsfs_store_create(&p, &s, err, sizeof(err)) == 0, "store");
	b = zsfs_store_budget(s);
	used = zsfs_budget_used(b);
	TAP_OK(zsfs_budget_size(b) == LIMIT && used > 0 && used < LIMIT,
	       "size= is the cap; an empty pool uses %zu bytes", used);
	cap = zsfs_budget_pool_cap(b);
	TAP_OK(cap == LIMIT, "the pool may take all of size= (%zu)", cap);
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, 1 << 20) == 0 &&
	       zsfs_budget_held(b, ZSFS_HOLD_META) == 1 << 20 &&
	       zsfs_budget_used(b) == used + (1 << 20),
	       "a 1 MiB metadata charge is counted in used");
	TAP_OK(zsfs_budget_pool_cap(b) == LIMIT - (1 << 20),
	       "and taken from the pool's cap");
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, LIMIT) == -ENOSPC &&
	       zsfs_budget_held(b, ZSFS_HOLD_META) == 1 << 20,
	       "a charge past size= fails and changes nothing");
	TAP_OK(zsfs_budget_room(b, LIMIT) == -ENOSPC &&
	       zsfs_budget_room(b, 4096) == 0, "fallocate room: no, then yes");
	zsfs_budget_set_mem_limit(b, 1 << 20);
	TAP_OK(zsfs_budget_pool_cap(b) == 1 << 20,
	       "mem_limit under size=: it is the pool's cap");
	TAP_OK(zsfs_budget_pool_may_grow(b, (1 << 20) + 1) == 0 &&
	       zsfs_budget_pool_may_grow(b, 1 << 20) == 1,
	       "the pool's growth check follows mem_limit");
	zsfs_budget_set_mem_limit(b, 0);
	TAP_OK(zsfs_budget_pool_may_grow(b, LIMIT - (1 << 20)) == 1 &&
	       zsfs_budget_pool_may_grow(b, LIMIT - (1 << 20) + 1) == 0,
	       "without it, size= less the holders");
	zsfs_budget_sub(b, ZSFS_HOLD_META, 1 << 20);
	TAP_OK(zsfs_budget_held(b, ZSFS_HOLD_META) == 0 &&
	       zsfs_budget_pool_cap(b) == LIMIT, "uncharged: all of it again");

	/* the machine's ceiling (a memory cgroup) lowers size= */
	zsfs_budget_size_source(b, src, sizeof(src));
	TAP_OK(!strcmp(src, "size="), "the cap comes from size= (%s)", src);
	zsfs_budget_set_ceiling(b, LIMIT / 2, "cgroup v2 /test/memory.max");
	zsfs_budget_size_source(b, src, sizeof(src));
	TAP_OK(zsfs_budget_size(b) == LIMIT / 2 &&
	       zsfs_budget_pool_cap(b) == LIMIT / 2 &&
	       !strcmp(src, "cgroup v2 /test/memory.max"),
	       "a lower ceiling is the cap, and says where it comes from");
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, LIMIT / 2) == -ENOSPC &&
	       zsfs_budget_pool_may_grow(b, LIMIT / 2 + 1) == 0,
	       "charges and the pool stop at the ceiling");
	zsfs_budget_set_ceiling(b, LIMIT * 2, "cgroup v2 /test/memory.max");
	zsfs_budget_size_source(b, src, sizeof(src));
	TAP_OK(zsfs_budget_size(b) == LIMIT && !strcmp(src, "size="),
	       "a ceiling above size= changes nothing");
	zsfs_budget_set_ceiling(b, 0, NULL);

	/* the machine's room (MemAvailable less min_free) */
	used = zsfs_budget_used(b);
	zsfs_budget_set_room(b, 1 << 20);
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, 2 << 20) == -ENOSPC &&
	       zsfs_budget_pool_may_grow(b, used + (2 << 20)) == 0 &&
	       zsfs_budget_room(b, 2 << 20) == -ENOSPC,
	       "past the machine's room: refused");
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, 512 << 10) == 0 &&
	       zsfs_budget_charge(b, ZSFS_HOLD_META, 512 << 10) == 0 &&
	       zsfs_budget_charge(b, ZSFS_HOLD_META, 4096) == -ENOSPC,
	       "within it: granted, until it is used up");
	zsfs_budget_sub(b, ZSFS_HOLD_META, 1 << 20);
	zsfs_budget_set_room(b, SIZE_MAX);
	TAP_OK(zsfs_budget_charge(b, ZSFS_HOLD_META, 2 << 20) == 0,
	       "no room check: granted");
	zsfs_budget_sub(b, ZSFS_HOLD_META, 2 << 20);
	zsfs_store_destroy(s);
}

static void *door_manual(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		zsfs_budget_reclaim(budget, ZSFS_RECLAIM_MANUAL);
	return NULL;
}

static void *door_auto(void *arg)
{
	size_t freed;

	(void)arg;
	while (!atomic_load(&stop))
		zsfs_budget_reclaim_try(budget, &freed);
	return NULL;
}

/* Fill the pool with incompressible pages until the store says ENOSPC
 * (it compacts once first), then free them all and start again. */
static void *door_write(void *arg)
{
	uint64_t rng = 0x1234567887654321ull;
	unsigned char page[PG];
	atomic_long *rounds = arg;

	while (!atomic_load(&stop)) {
		struct zsfs_file *f;
		size_t w;
		uint64_t i;

		if (zsfs_file_create(&f))
			break;
		for (i = 0; i < LIMIT / PG * 2; i++) {
			for (size_t k = 0; k < PG; k += 8) {
				uint64_t v = t_rand(&rng);

				memcpy(page + k, &v, 8);
			}
			if (zsfs_file_write(store, f, i * PG, PG, page, &w))
				break;
		}
		zsfs_file_destroy(store, f);
		atomic_fetch_add(rounds, 1);
	}
	return NULL;
}

/* Metadata charges and fallocate checks against the cap. */
static void *door_meta(void *arg)
{
	atomic_long *refused = arg;

	while (!atomic_load(&stop)) {
		if (zsfs_budget_charge(budget, ZSFS_HOLD_META, LIMIT / 2) == 0)
			zsfs_budget_sub(budget, ZSFS_HOLD_META, LIMIT / 2);
		else
			atomic_fetch_add(refused, 1);
		zsfs_budget_room(budget, LIMIT - PG);
	}
	return NULL;
}

static void test_race(void)
{
	struct zsfs_store_params p = { .compress = "lz4", .limit_bytes = LIMIT };
	struct zsfs_budget_stats bs;
	struct zs_pool_stats ps;
	pthread_t th[4];
	atomic_long rounds = 0, refused = 0;
	size_t sum;
	char err[128], msg[256] = "";

	TAP_OK(zsfs_store_create(&p, &store, err, sizeof(err)) == 0,
	       "store for the race");
	budget = zsfs_store_budget(store);
	pthread_create(&th[0], NULL, door_manual, NULL);
	pthread_create(&th[1], NULL, door_auto, NULL);
	pthread_create(&th[2], NULL, door_write, &rounds);
	pthread_create(&th[3], NULL, door_meta, &refused);
	/* until every door has been through at least a few times */
	for (int i = 0; i < 600; i++) {
		zsfs_budget_stats(budget, &bs);
		if (bs.compactions_manual > 20 && bs.compactions_auto > 20 &&
		    bs.compactions_enospc > 20 && atomic_load(&rounds) > 2 &&
		    atomic_load(&refused) > 2 &&
		    bs.compactions_waited > 20)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);

	zsfs_budget_stats(budget, &bs);
	zs_pool_stats(zsfs_store_pool(store), &ps);
	sum = bs.compactions_manual + bs.compactions_auto + bs.compactions_enospc;
	tap_diag("manual %zu auto %zu enospc %zu waited %zu; %ld fills, "
		 "%ld metadata refusals", bs.compactions_manual,
		 bs.compactions_auto, bs.compactions_enospc,
		 bs.compactions_waited, atomic_load(&rounds),
		 atomic_load(&refused));
	TAP_OK(bs.compactions_manual > 0 && bs.compactions_auto > 0 &&
	       bs.compactions_enospc > 0, "every door compacted");
	TAP_OK(atomic_load(&rounds) > 0 && atomic_load(&refused) > 0,
	       "the writer filled the pool, the metadata charge was refused");
	TAP_OK(sum == ps.compactions,
	       "every compaction counted: %zu by reason, %zu by the pool",
	       sum, ps.compactions);
	TAP_OK(bs.compactions_waited > 0,
	       "doors met: %zu compactions waited for another",
	       bs.compactions_waited);
	TAP_OK(zsfs_budget_debug_max_running(budget) == 1,
	       "never two at once (at most %u)",
	       zsfs_budget_debug_max_running(budget));
	TAP_OK(zsfs_budget_held(budget, ZSFS_HOLD_META) == 0,
	       "every charge given back");
	TAP_OK(zs_pool_check(zsfs_store_pool(store), msg, sizeof(msg)) == 0,
	       "pool check %s", msg[0] ? msg : "ok");
	zsfs_store_destroy(store);
}

int main(void)
{
	test_caps();
	test_race();
	return tap_done();
}
