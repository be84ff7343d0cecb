/*
 * Semantic dedupe (dataplane/dedupe.c).  The rules are pure and tested
 * without EAL; the table (an rte_hash) is tested inside a private,
 * in-memory EAL (--no-huge --no-pci --in-memory), one per test process.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>

#include "eal.h"

#include "dedupe.h"

#define W 120000ULL   /* 120 s in ms */

Test(dedupe_rules, window_is_strict)
{
	cr_assert(dp_dedupe_is_dup(1000000, 1000000, W), "same ts is a duplicate");
	cr_assert(dp_dedupe_is_dup(1000000, 1000000 + W - 1, W), "inside the window");
	cr_assert_not(dp_dedupe_is_dup(1000000, 1000000 + W, W), "|d| == window is a new visit");
	cr_assert(dp_dedupe_is_dup(1000000, 1000000 - W + 1, W), "earlier ts inside the window");
	cr_assert_not(dp_dedupe_is_dup(1000000, 1000000 - W, W), "earlier ts at the window");
	cr_assert_not(dp_dedupe_is_dup(5, 5, 0), "window 0 disables dedupe");
}

Test(dedupe_rules, stale)
{
	cr_assert(dp_dedupe_is_stale(1000, 1000 + W, W), "window old relative to newest");
	cr_assert_not(dp_dedupe_is_stale(1000, 1000 + W - 1, W), "still live");
}

Test(dedupe_rules, age_buckets_are_monotonic_and_fine)
{
	uint64_t a, prev = 0;
	unsigned b, last = 0;

	for (a = 0; a < 8; a++)
		cr_assert_eq(dp_dedupe_age_bucket(a), a, "small ages are exact");
	for (a = 1; a < (1ull << 62); a = a + a / 7 + 1) {
		b = dp_dedupe_age_bucket(a);
		cr_assert_geq(b, last, "bucket(%lu) = %u < bucket(%lu) = %u", (unsigned long)a, b,
			      (unsigned long)prev, last);
		cr_assert_lt(b, DP_DEDUPE_AGE_BUCKETS);
		last = b;
		prev = a;
	}
	cr_assert_lt(dp_dedupe_age_bucket(UINT64_MAX), DP_DEDUPE_AGE_BUCKETS);
	/* 12.5 % resolution: an hour and 1h10m are in different buckets. */
	cr_assert_neq(dp_dedupe_age_bucket(3600000), dp_dedupe_age_bucket(4200000));
}

static void
eal_up(void)
{
	test_eal_up("chottest", "64");
}

static void
key(struct dp_dedupe_key *k, uint8_t who, uint32_t site, uint8_t dir)
{
	uint8_t pid[PID_LEN] = { who, 1, 2, 3 };

	dp_dedupe_make_key(k, pid, site, dir);
}


TestSuite(dedupe_table, .init = eal_up, .fini = test_eal_down, .timeout = 30);

Test(dedupe_table, duplicate_and_no_refresh)
{
	struct dp_dedupe *d = dp_dedupe_create("t1", 1024, 120, 0);
	struct dp_dedupe_key k, other;

	cr_assert_not_null(d);
	key(&k, 1, 17, 1);
	key(&other, 1, 17, 2);
	dp_dedupe_begin(d);
	cr_assert_not(dp_dedupe_check_insert(d, &k, 1000000), "first scan is stored");
	cr_assert(dp_dedupe_check_insert(d, &k, 1000000 + 60000), "60 s later: duplicate");
	cr_assert(dp_dedupe_check_insert(d, &k, 1000000 + 119999), "duplicates do not refresh");
	cr_assert_not(dp_dedupe_check_insert(d, &k, 1000000 + W), "window passed: stored");
	cr_assert(dp_dedupe_check_insert(d, &k, 1000000 + W + 1000), "refreshed by the store");
	cr_assert_not(dp_dedupe_check_insert(d, &other, 1000000), "another dir is another key");
	dp_dedupe_destroy(d);
}

Test(dedupe_table, rollback)
{
	struct dp_dedupe *d = dp_dedupe_create("t2", 1024, 120, 0);
	struct dp_dedupe_key a, b;

	key(&a, 1, 1, 1);
	key(&b, 2, 1, 1);
	dp_dedupe_begin(d);
	cr_assert_not(dp_dedupe_check_insert(d, &a, 1000000));
	dp_dedupe_begin(d);
	cr_assert_not(dp_dedupe_check_insert(d, &b, 1000000));
	cr_assert_not(dp_dedupe_check_insert(d, &a, 1000000 + W), "a refreshed in batch 2");
	dp_dedupe_rollback(d);
	cr_assert_not(dp_dedupe_check_insert(d, &b, 1000000), "b forgotten after rollback");
	cr_assert(dp_dedupe_check_insert(d, &a, 1000000 + 1000),
		  "a's old entry restored after rollback");
	dp_dedupe_destroy(d);
}

Test(dedupe_table, full_then_reclaim)
{
	const uint32_t cap = 64;
	struct dp_dedupe *d = dp_dedupe_create("t3", cap, 120, 0);
	struct dp_dedupe_stats st;
	struct dp_dedupe_key k;
	uint32_t i, stored = 0;

	cr_assert_not_null(d);
	/* Fill with fresh entries, then some more: nothing is reclaimable. */
	for (i = 0; i < cap + 10; i++) {
		key(&k, (uint8_t)i, 1000 + i, 1);
		dp_dedupe_begin(d);
		stored += !dp_dedupe_check_insert(d, &k, 5000000);
	}
	cr_assert_eq(stored, cap + 10, "every distinct key is stored (with or without dedupe)");
	dp_dedupe_get_stats(d, &st);
	cr_assert_geq(st.full, 10, "overflow counted as dedupe_full, got %lu",
		      (unsigned long)st.full);
	cr_assert_leq(st.entries, cap, "the table never exceeds its capacity");
	/* Time moves past the window: the next insert reclaims stale entries. */
	key(&k, 200, 1, 1);
	cr_assert_not(dp_dedupe_check_insert(d, &k, 5000000 + W + 1));
	dp_dedupe_get_stats(d, &st);
	cr_assert_geq(st.reclaimed, 1, "stale entries reclaimed");
	cr_assert_geq(st.sweeps, 1, "a sweep ran");
	cr_assert(dp_dedupe_check_insert(d, &k, 5000000 + W + 2),
		  "the new key was inserted after the sweep");
	dp_dedupe_destroy(d);
}

/*
 * A table filled until inserts fail (overflow buckets in use), then time
 * moves past the window: one sweep must reclaim every stale entry, including
 * those a delete moved from an overflow bucket into a bucket already passed.
 */
Test(dedupe_table, sweep_leaves_no_stale_entry)
{
	const uint32_t cap = 1 << 14;
	struct dp_dedupe *d = dp_dedupe_create("t5", cap, 120, 0);
	struct dp_dedupe_stats st;
	struct dp_dedupe_key k;
	uint64_t sweeps;
	uint32_t i;

	cr_assert_not_null(d);
	for (i = 0; i < 2 * cap; i++) {
		key(&k, (uint8_t)i, i, (uint8_t)(1 + (i >> 8) % 3));
		k.pid[1] = (uint8_t)(i >> 8);
		k.pid[2] = (uint8_t)(i >> 16);
		dp_dedupe_begin(d);
		(void)dp_dedupe_check_insert(d, &k, 5000000);
	}
	dp_dedupe_get_stats(d, &st);
	cr_assert_gt(st.full, 0, "the table filled up");
	sweeps = st.sweeps;
	key(&k, 1, 1, 1);
	k.pid[3] = 0xee;
	dp_dedupe_begin(d);
	cr_assert_not(dp_dedupe_check_insert(d, &k, 5000000 + W + 1));
	dp_dedupe_get_stats(d, &st);
	cr_assert_eq(st.sweeps, sweeps + 1, "one more sweep, got %lu",
		     (unsigned long)(st.sweeps - sweeps));
	cr_assert_eq(st.entries, 1, "only the new entry is left after the sweep, got %lu "
		     "(reclaimed %lu)", (unsigned long)st.entries, (unsigned long)st.reclaimed);
	dp_dedupe_destroy(d);
}

Test(dedupe_table, disabled)
{
	struct dp_dedupe *d = dp_dedupe_create("t4", 64, 0, 0);
	struct dp_dedupe_key k;

	key(&k, 1, 1, 1);
	cr_assert_not(dp_dedupe_check_insert(d, &k, 1));
	cr_assert_not(dp_dedupe_check_insert(d, &k, 1), "window 0: never a duplicate");
	dp_dedupe_destroy(d);
}

/*
 * dp_dedupe_check_insert_bulk() decides exactly as the same calls of
 * dp_dedupe_check_insert() in order: two tables, one fed per event and one
 * per batch, over a random stream with repeats inside a batch, time going
 * forward (sweeps), a table small enough to fill, and rollbacks.
 */
Test(dedupe_table, bulk_equals_one_by_one)
{
	struct dp_dedupe *one = dp_dedupe_create("tb1", 128, 60, 0);
	struct dp_dedupe *bulk = dp_dedupe_create("tb2", 128, 60, 0);
	struct dp_dedupe_key k[WIRE_MAX_EVENTS];
	uint64_t ts[WIRE_MAX_EVENTS], t = 1000000, x = 0x9e3779b97f4a7c15ULL;
	bool dup[WIRE_MAX_EVENTS];
	struct dp_dedupe_stats s1, s2;
	unsigned dups = 0;

	cr_assert(one != NULL && bulk != NULL);
	for (unsigned b = 0; b < 3000; b++) {
		unsigned n = 1 + b % WIRE_MAX_EVENTS;

		for (unsigned i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			t += x % 700;                     /* ms; sweeps every 60 s */
			key(&k[i], (uint8_t)(x >> 20) % 90, (uint32_t)(x >> 40) % 4,
			    (uint8_t)(x >> 50) % 2);
			ts[i] = t - (x >> 33) % 5000;     /* a little out of order */
		}
		dp_dedupe_begin(one);
		dp_dedupe_begin(bulk);
		dp_dedupe_check_insert_bulk(bulk, k, ts, n, dup);
		for (unsigned i = 0; i < n; i++) {
			bool d = dp_dedupe_check_insert(one, &k[i], ts[i]);

			cr_assert_eq(dup[i], d, "batch %u event %u: bulk %d, one by one %d", b, i,
				     dup[i], d);
			dups += d;
		}
		if (b % 7 == 3) {
			dp_dedupe_rollback(one);
			dp_dedupe_rollback(bulk);
		}
	}
	dp_dedupe_get_stats(one, &s1);
	dp_dedupe_get_stats(bulk, &s2);
	cr_assert_eq(memcmp(&s1, &s2, sizeof(s1)), 0, "same table statistics");
	cr_assert_gt(dups, 100, "the stream has duplicates (%u)", dups);
	cr_assert_gt(s1.full, 0, "the table filled up at times");
	cr_assert_gt(s1.sweeps, 0, "sweeps ran");
	dp_dedupe_destroy(one);
	dp_dedupe_destroy(bulk);
}

/*
 * Issue 14: a late scan (a scanner's batch carries scans hours older than
 * the newest the worker has seen) must still find the entry it duplicates
 * after the table filled up and swept.  The old sweep evicted everything a
 * window older than the newest ts, so the late duplicate was stored; the
 * sweep now evicts the oldest quarter by event time only.
 */
Test(dedupe_table, late_scan_survives_a_sweep)
{
	const uint32_t cap = 256;
	const uint64_t t0 = 100000000, hour = 3600000;
	struct dp_dedupe *d = dp_dedupe_create("t6", cap, 120, 0);
	struct dp_dedupe_stats st;
	struct dp_dedupe_key k, late;
	uint32_t i;

	cr_assert_not_null(d);
	/* The late device's first scan, at t0 + 3 h. */
	key(&late, 250, 9, 1);
	dp_dedupe_begin(d);
	cr_assert_not(dp_dedupe_check_insert(d, &late, t0 + 3 * hour));
	/* Other devices: one scan a minute for 6 hours, 360 keys: the table
	 * (256) fills and sweeps. */
	for (i = 0; i < 360; i++) {
		key(&k, (uint8_t)i, 1000 + i, 2);
		k.pid[1] = (uint8_t)(i >> 8);
		dp_dedupe_begin(d);
		cr_assert_not(dp_dedupe_check_insert(d, &k, t0 + i * 60000));
	}
	dp_dedupe_get_stats(d, &st);
	cr_assert_gt(st.sweeps, 0, "the table swept");
	cr_assert_eq(st.full, 0, "nothing refused");
	cr_assert_gt(st.entries, cap / 2, "a sweep evicts a quarter, not all: %lu left",
		     (unsigned long)st.entries);
	/* The late device's batch arrives: its second scan, 30 s after its
	 * first, 3 hours behind the newest. */
	dp_dedupe_begin(d);
	cr_assert(dp_dedupe_check_insert(d, &late, t0 + 3 * hour + 30000),
		  "the late scan is a duplicate of its entry, 3 hours old");
	/* The oldest scans of the stream were evicted: a late scan of those
	 * keys is stored, and counted as maybe-late. */
	key(&k, 0, 1000, 2);
	k.pid[1] = 0;
	cr_assert_not(dp_dedupe_check_insert(d, &k, t0 + 30000), "evicted: stored again");
	dp_dedupe_get_stats(d, &st);
	cr_assert_geq(st.late, 1, "counted in late");
	cr_assert_geq(st.lateness_max_ms, 5 * hour, "lateness seen: %lu",
		      (unsigned long)st.lateness_max_ms);
	dp_dedupe_destroy(d);
}

/* A table full of live entries (all within the window) evicts nothing:
 * refused inserts are counted in full, and the table never exceeds cap. */
Test(dedupe_table, live_entries_are_never_evicted)
{
	const uint32_t cap = 64;
	struct dp_dedupe *d = dp_dedupe_create("t7", cap, 120, 0);
	struct dp_dedupe_stats st;
	struct dp_dedupe_key k;
	uint32_t i;

	cr_assert_not_null(d);
	for (i = 0; i < cap * 2; i++) {
		key(&k, (uint8_t)i, 7, 1);
		dp_dedupe_begin(d);
		(void)dp_dedupe_check_insert(d, &k, 5000000 + i * 100);  /* 12.8 s in all */
	}
	dp_dedupe_get_stats(d, &st);
	cr_assert_eq(st.reclaimed, 0, "no live entry evicted, %lu were",
		     (unsigned long)st.reclaimed);
	cr_assert_geq(st.full, cap, "refusals counted: %lu", (unsigned long)st.full);
	cr_assert_leq(st.entries, cap);
	/* Every one of the first keys still deduplicates. */
	key(&k, 0, 7, 1);
	cr_assert(dp_dedupe_check_insert(d, &k, 5000000 + 1000));
	dp_dedupe_destroy(d);
}
