/*
 * The checkpoint lists' table (dataplane/cptable.c) inside a private,
 * in-memory EAL: entries as Redis holds them (proto/lists.h encodings) in,
 * the §9 checks out; malformed entries skipped and counted; the watchlist's
 * pre-filter loses nothing at 100,000 entries.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>

#include "eal.h"

#include "cptable.h"

#define T0 1637971200000ULL

static void
eal_up(void)
{
	test_eal_up("chotcpt", "128");
}


TestSuite(cptable, .init = eal_up, .fini = test_eal_down, .timeout = 60);

static int
add(struct cpt_builder *b, enum cpt_list l, const char *f, const char *v)
{
	return cpt_builder_add(b, l, f, strlen(f), v, strlen(v));
}

static void
pid_of(uint8_t pid[PID_LEN], unsigned i)
{
	memset(pid, 0, PID_LEN);
	for (unsigned k = 0; k < PID_LEN; k++)
		pid[k] = (uint8_t)((i * 2654435761u) >> (k % 4 * 8)) ^ (uint8_t)(k * 37 + i);
}

static void
hex_of(char out[PID_HEX_LEN + 1], const uint8_t pid[PID_LEN])
{
	for (unsigned k = 0; k < PID_LEN; k++)
		snprintf(out + 2 * k, 3, "%02x", pid[k]);
}

static uint16_t
check(const struct dp_lists_table *t, uint8_t scheme, uint32_t site, uint32_t commune,
      const uint8_t pid[PID_LEN], uint32_t passengers)
{
	struct scan_event e = { .ts_ms = T0, .site_id = site, .origin_commune = commune,
				.scheme = scheme, .dir = DIR_IN, .decl = 1, .passengers = passengers };

	return chk_event(&cpt_lookup, t, &e, pid);
}

Test(cptable, entries_to_checks)
{
	struct cpt_builder *b = cpt_builder_create();
	struct dp_lists_table *t;
	struct cpt_sizes sz;
	uint8_t p1[PID_LEN], p2[PID_LEN], g1[PID_LEN], none[PID_LEN] = { 0 };
	char h1[PID_HEX_LEN + 1], h2[PID_HEX_LEN + 1], hg[PID_HEX_LEN + 1], v[128];

	cr_assert_not_null(b);
	pid_of(p1, 1);
	pid_of(p2, 2);
	pid_of(g1, 3);
	hex_of(h1, p1);
	hex_of(h2, p2);
	hex_of(hg, g1);
	snprintf(v, sizeof(v), "f1 1 %llu", T0 + 1);
	cr_assert_eq(add(b, CPT_WATCH, h1, v), 0);
	snprintf(v, sizeof(v), "f0 1 %llu a note", T0 + 1);
	cr_assert_eq(add(b, CPT_WATCH, h1, v), 0, "a repeated field replaces (HSCAN may repeat)");
	snprintf(v, sizeof(v), "f2 1 %llu", T0 - 1);
	cr_assert_eq(add(b, CPT_WATCH, h2, v), 0);
	cr_assert_eq(add(b, CPT_ZONES, "33333", "4"), 0);
	cr_assert_eq(add(b, CPT_ZONES, "32222", "3"), 0);
	snprintf(v, sizeof(v), "%llu %llu 2 5,17", T0 - 10, T0 + 10);
	cr_assert_eq(add(b, CPT_GREENLANE, hg, v), 0);
	cr_assert_eq(add(b, CPT_SITES, "17", "checkpoint,16005,Chot A, km 3"), 0);
	cr_assert_eq(add(b, CPT_SITES, "18", "market,16005,Cho B"), 0, "kept out, not bad");
	/* malformed: each skipped and counted */
	cr_expect_eq(add(b, CPT_WATCH, "nothex", "f0 1 2"), 1);
	cr_expect_eq(add(b, CPT_WATCH, h2, "f9 1 2"), 1);
	cr_expect_eq(add(b, CPT_WATCH, "ABCDEF0123456789ABCDEF0123456789", "f0 1 2"), 1,
		     "upper-case hex is not chot's pid");
	cr_expect_eq(add(b, CPT_ZONES, "0", "4"), 1);
	cr_expect_eq(add(b, CPT_ZONES, "100000", "4"), 1);
	cr_expect_eq(add(b, CPT_ZONES, "123", "5"), 1);
	cr_expect_eq(add(b, CPT_GREENLANE, hg, "1 2 3"), 1);
	cr_expect_eq(add(b, CPT_SITES, "x", "checkpoint,1,a"), 1);
	cr_expect_eq(add(b, CPT_SITES, "19", "checkpoint"), 1);
	cr_expect_eq(cpt_builder_bad(b), 9);
	t = cpt_build(b, 1);
	cpt_builder_destroy(b);
	cr_assert_not_null(t);
	cpt_get_sizes(t, &sz);
	cr_expect_eq(sz.watch, 2);
	cr_expect_eq(sz.zones, 2);
	cr_expect_eq(sz.greenlane, 1);
	cr_expect_eq(sz.checkpoints, 1);

	cr_expect_eq(check(t, SCHEME_CCCD, 18, 0, p1, 0), 1u << CHK_WATCH_F0, "the later f0 won");
	cr_expect_eq(check(t, SCHEME_CCCD, 18, 0, p2, 0), 0, "until passed");
	cr_expect_eq(check(t, SCHEME_CCCD, 17, 33333, none, 0), 1u << CHK_ZONE_RED);
	cr_expect_eq(check(t, SCHEME_VNEID, 17, 32222, none, 0), 1u << CHK_ZONE_ORANGE);
	cr_expect_eq(check(t, SCHEME_CCCD, 18, 33333, none, 0), 0, "a market");
	cr_expect_eq(check(t, SCHEME_CCCD, 17, 31111, none, 0), 0, "no level");
	cr_expect_eq(check(t, SCHEME_CCCD, 17, 4000000000u, none, 0), 0, "no such commune");
	cr_expect_eq(check(t, SCHEME_GREEN_LANE, 17, 0, g1, 2), 0);
	cr_expect_eq(check(t, SCHEME_GREEN_LANE, 17, 0, g1, 3), 1u << CHK_PASSENGERS_OVER);
	cr_expect_eq(check(t, SCHEME_GREEN_LANE, 18, 0, none, 0), 1u << CHK_GREENLANE_UNKNOWN);
	cpt_free(t);
}

Test(cptable, empty_table)
{
	struct dp_lists_table *t = cpt_empty();
	uint8_t p[PID_LEN];
	struct cpt_sizes sz;

	cr_assert_not_null(t);
	pid_of(p, 9);
	cr_expect_eq(check(t, SCHEME_CCCD, 17, 33333, p, 0), 0);
	cr_expect_eq(check(t, SCHEME_GREEN_LANE, 17, 0, p, 0), 1u << CHK_GREENLANE_UNKNOWN);
	cpt_get_sizes(t, &sz);
	cr_expect_eq(sz.watch + sz.zones + sz.greenlane + sz.checkpoints, 0);
	cpt_free(t);
	cpt_free(NULL);
}

/* 100,000 entries: every one found with its status (the filter loses none), none other. */
Test(cptable, watchlist_at_scale)
{
	enum { N = 100000 };
	static const char *const st[] = { "f0", "quarantine", "f1", "f2" };
	static const unsigned bit[] = { CHK_WATCH_F0, CHK_WATCH_QUARANTINE, CHK_WATCH_F1,
					CHK_WATCH_F2 };
	struct cpt_builder *b = cpt_builder_create();
	struct dp_lists_table *t, *t2;
	uint8_t p[PID_LEN];
	char h[PID_HEX_LEN + 1], v[64];
	unsigned miss = 0, wrong = 0, false_hits = 0;

	cr_assert_not_null(b);
	for (unsigned i = 0; i < N; i++) {
		pid_of(p, 10 + i);
		hex_of(h, p);
		snprintf(v, sizeof(v), "%s 0 %llu", st[i % 4], T0 + 1000);
		cr_assert_eq(add(b, CPT_WATCH, h, v), 0);
	}
	t = cpt_build(b, 2);
	t2 = cpt_build(b, 3);          /* two generations alive at once (a reload) */
	cpt_builder_destroy(b);
	cr_assert_not_null(t);
	cr_assert_not_null(t2);
	for (unsigned i = 0; i < N; i++) {
		uint16_t m;

		pid_of(p, 10 + i);
		m = check(t, SCHEME_PASSPORT, 1, 0, p, 0);
		miss += m == 0;
		wrong += m != 0 && m != 1u << bit[i % 4];
		pid_of(p, 10 + N + i);
		false_hits += check(t2, SCHEME_PASSPORT, 1, 0, p, 0) != 0;
	}
	cr_expect_eq(miss, 0, "%u of %u listed pids missed", miss, N);
	cr_expect_eq(wrong, 0);
	cr_expect_eq(false_hits, 0);
	cpt_free(t);
	cpt_free(t2);
}
