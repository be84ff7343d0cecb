/*
 * Unit tests of the exposure rules (control/rules.h): the visit-interval
 * builder (IN/OUT pairing, lone scans, dwell by scan direction and by site
 * kind, the 6 h maximum stay) and the contact predicate (the +-window
 * boundaries exactly, overlap length, --min-overlap).  rules.h is THE
 * definition shared by chotctl's trace and chot-flood's truth, so every
 * boundary is pinned here with a hand-computed expectation.
 *
 * Pure: no Redis, no EAL.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "validate.h"

#define MIN (60ULL * 1000)
#define HOUR (60 * MIN)
#define T0 (1700000000000ULL)   /* an arbitrary epoch-ms origin */

/* Kind lookup used by the dwell-by-kind cases: site 10+k has kind k. */
static enum site_kind
kind_by_site(uint32_t site_id, void *ctx)
{
	(void)ctx;
	if (site_id >= 10 && site_id < 10 + KIND__COUNT)
		return (enum site_kind)(site_id - 10);
	return KIND_UNKNOWN;
}

/* ---- interval builder: a table of scan sequences and expected intervals ---- */

#define MAXS 6

struct iv_case {
	char name[64];
	size_t n_scans;
	struct rules_scan scans[MAXS];
	int use_kinds;
	size_t n_out;
	struct rules_interval out[MAXS];
};

static struct iv_case iv_cases[] = {
	{ "in-out pair", 2,
	  { { T0, 1, DIR_IN }, { T0 + 40 * MIN, 1, DIR_OUT } }, 0,
	  1, { { 1, T0, T0 + 40 * MIN } } },
	{ "pair given out of order", 2,
	  { { T0 + 40 * MIN, 1, DIR_OUT }, { T0, 1, DIR_IN } }, 0,
	  1, { { 1, T0, T0 + 40 * MIN } } },
	{ "zero-length stay: IN and OUT at the same ms pair", 2,
	  { { T0, 1, DIR_OUT }, { T0, 1, DIR_IN } }, 0,
	  1, { { 1, T0, T0 } } },
	{ "lone IN: default 60 min dwell", 1,
	  { { T0, 1, DIR_IN } }, 0,
	  1, { { 1, T0, T0 + 60 * MIN } } },
	{ "lone OUT: default 60 min dwell", 1,
	  { { T0, 1, DIR_OUT } }, 0,
	  1, { { 1, T0, T0 + 60 * MIN } } },
	{ "PASS: 5 min dwell", 1,
	  { { T0, 1, DIR_PASS } }, 0,
	  1, { { 1, T0, T0 + 5 * MIN } } },
	{ "OUT before IN does not pair", 2,
	  { { T0, 1, DIR_OUT }, { T0 + MIN, 1, DIR_IN } }, 0,
	  2, { { 1, T0, T0 + 60 * MIN }, { 1, T0 + MIN, T0 + 61 * MIN } } },
	{ "IN, IN, OUT: only the second IN pairs", 3,
	  { { T0, 1, DIR_IN }, { T0 + 10 * MIN, 1, DIR_IN }, { T0 + 20 * MIN, 1, DIR_OUT } }, 0,
	  2, { { 1, T0, T0 + 60 * MIN }, { 1, T0 + 10 * MIN, T0 + 20 * MIN } } },
	{ "IN, PASS, OUT: the PASS breaks the pair", 3,
	  { { T0, 1, DIR_IN }, { T0 + 10 * MIN, 1, DIR_PASS }, { T0 + 20 * MIN, 1, DIR_OUT } }, 0,
	  3, { { 1, T0, T0 + 60 * MIN }, { 1, T0 + 10 * MIN, T0 + 15 * MIN },
	       { 1, T0 + 20 * MIN, T0 + 80 * MIN } } },
	{ "IN and OUT at different sites never pair", 2,
	  { { T0, 1, DIR_IN }, { T0 + 10 * MIN, 2, DIR_OUT } }, 0,
	  2, { { 1, T0, T0 + 60 * MIN }, { 2, T0 + 10 * MIN, T0 + 70 * MIN } } },
	{ "pairing per site with interleaved sites", 4,
	  { { T0, 1, DIR_IN }, { T0 + MIN, 2, DIR_IN }, { T0 + 2 * MIN, 1, DIR_OUT },
	    { T0 + 3 * MIN, 2, DIR_OUT } }, 0,
	  2, { { 1, T0, T0 + 2 * MIN }, { 2, T0 + MIN, T0 + 3 * MIN } } },
	{ "stay of exactly 6 h still pairs", 2,
	  { { T0, 1, DIR_IN }, { T0 + 6 * HOUR, 1, DIR_OUT } }, 0,
	  1, { { 1, T0, T0 + 6 * HOUR } } },
	{ "stay of 6 h + 1 ms does not pair", 2,
	  { { T0, 1, DIR_IN }, { T0 + 6 * HOUR + 1, 1, DIR_OUT } }, 0,
	  2, { { 1, T0, T0 + 60 * MIN }, { 1, T0 + 6 * HOUR + 1, T0 + 7 * HOUR + 1 } } },
	{ "two visits at one site", 4,
	  { { T0, 1, DIR_IN }, { T0 + 30 * MIN, 1, DIR_OUT }, { T0 + 2 * HOUR, 1, DIR_IN },
	    { T0 + 3 * HOUR, 1, DIR_OUT } }, 0,
	  2, { { 1, T0, T0 + 30 * MIN }, { 1, T0 + 2 * HOUR, T0 + 3 * HOUR } } },
	{ "kind checkpoint: lone IN dwells 5 min", 1,
	  { { T0, 10 + KIND_CHECKPOINT, DIR_IN } }, 1,
	  1, { { 10 + KIND_CHECKPOINT, T0, T0 + 5 * MIN } } },
	{ "kind testing: lone OUT dwells 30 min", 1,
	  { { T0, 10 + KIND_TESTING, DIR_OUT } }, 1,
	  1, { { 10 + KIND_TESTING, T0, T0 + 30 * MIN } } },
	{ "kind market: 60 min", 1,
	  { { T0, 10 + KIND_MARKET, DIR_IN } }, 1,
	  1, { { 10 + KIND_MARKET, T0, T0 + 60 * MIN } } },
	{ "kind venue: 60 min", 1,
	  { { T0, 10 + KIND_VENUE, DIR_IN } }, 1,
	  1, { { 10 + KIND_VENUE, T0, T0 + 60 * MIN } } },
	{ "kind other: 60 min", 1,
	  { { T0, 10 + KIND_OTHER, DIR_IN } }, 1,
	  1, { { 10 + KIND_OTHER, T0, T0 + 60 * MIN } } },
	{ "PASS at a testing site stays 5 min (PASS wins over kind)", 1,
	  { { T0, 10 + KIND_TESTING, DIR_PASS } }, 1,
	  1, { { 10 + KIND_TESTING, T0, T0 + 5 * MIN } } },
	{ "unregistered site with a kind lookup: default dwell", 1,
	  { { T0, 99, DIR_IN } }, 1,
	  1, { { 99, T0, T0 + 60 * MIN } } },
	{ "a kinded pair ignores the dwell", 2,
	  { { T0, 10 + KIND_CHECKPOINT, DIR_IN }, { T0 + 2 * HOUR, 10 + KIND_CHECKPOINT, DIR_OUT } }, 1,
	  1, { { 10 + KIND_CHECKPOINT, T0, T0 + 2 * HOUR } } },
};

ParameterizedTestParameters(rules, intervals)
{
	return cr_make_param_array(struct iv_case, iv_cases, sizeof(iv_cases) / sizeof(iv_cases[0]));
}

ParameterizedTest(struct iv_case *c, rules, intervals)
{
	struct rules_scan scans[MAXS];
	struct rules_interval out[MAXS];
	size_t m;

	memcpy(scans, c->scans, sizeof(scans));
	memset(out, 0xee, sizeof(out));
	m = rules_intervals(scans, c->n_scans, c->use_kinds ? kind_by_site : NULL, NULL, out);
	cr_assert_eq(m, c->n_out, "%s: expected %zu intervals, got %zu", c->name, c->n_out, m);
	for (size_t i = 0; i < m; i++) {
		cr_expect_eq(out[i].site_id, c->out[i].site_id, "%s: interval %zu site %u, expected %u",
			     c->name, i, out[i].site_id, c->out[i].site_id);
		cr_expect_eq(out[i].from_ms, c->out[i].from_ms,
			     "%s: interval %zu from T0%+lld ms, expected T0%+lld", c->name, i,
			     (long long)(out[i].from_ms - T0), (long long)(c->out[i].from_ms - T0));
		cr_expect_eq(out[i].to_ms, c->out[i].to_ms,
			     "%s: interval %zu to T0%+lld ms, expected T0%+lld", c->name, i,
			     (long long)(out[i].to_ms - T0), (long long)(c->out[i].to_ms - T0));
	}
}

Test(rules, empty_input_gives_no_interval)
{
	struct rules_interval out[1];

	cr_assert_eq(rules_intervals(NULL, 0, NULL, NULL, out), 0, "no scans: expected 0 intervals");
}

Test(rules, output_sorted_by_site_then_from)
{
	struct rules_scan s[] = {
		{ T0 + 5 * HOUR, 3, DIR_PASS }, { T0, 7, DIR_PASS }, { T0 + HOUR, 3, DIR_PASS },
		{ T0 + 2 * HOUR, 1, DIR_PASS },
	};
	struct rules_interval out[4];
	size_t m = rules_intervals(s, 4, NULL, NULL, out);

	cr_assert_eq(m, 4, "4 lone PASS scans: expected 4 intervals, got %zu", m);
	for (size_t i = 1; i < m; i++)
		cr_expect(out[i - 1].site_id < out[i].site_id ||
			  (out[i - 1].site_id == out[i].site_id && out[i - 1].from_ms < out[i].from_ms),
			  "expected (site, from) order at %zu: (%u, %llu) then (%u, %llu)", i,
			  out[i - 1].site_id, (unsigned long long)out[i - 1].from_ms, out[i].site_id,
			  (unsigned long long)out[i].from_ms);
}

/* ---- kind names and dwell ---- */

struct kind_case {
	char name[64];
	enum site_kind kind;
	uint64_t dwell_ms;
};

static struct kind_case kind_cases[] = {
	{ "checkpoint", KIND_CHECKPOINT, 5 * MIN },
	{ "venue", KIND_VENUE, 60 * MIN },
	{ "market", KIND_MARKET, 60 * MIN },
	{ "testing", KIND_TESTING, 30 * MIN },
	{ "other", KIND_OTHER, 60 * MIN },
	{ "Checkpoint", KIND_UNKNOWN, 60 * MIN },  /* names are exact, lower case */
	{ "unknown", KIND_UNKNOWN, 60 * MIN },     /* not a registrable kind */
	{ "", KIND_UNKNOWN, 60 * MIN },
	{ "hospital", KIND_UNKNOWN, 60 * MIN },
};

ParameterizedTestParameters(rules, kinds)
{
	return cr_make_param_array(struct kind_case, kind_cases,
				   sizeof(kind_cases) / sizeof(kind_cases[0]));
}

ParameterizedTest(struct kind_case *c, rules, kinds)
{
	enum site_kind k = rules_kind_from_name(c->name);

	cr_expect_eq(k, c->kind, "kind name '%s': expected kind %d, got %d", c->name, c->kind, k);
	cr_expect_eq(rules_kind_dwell_ms(k), c->dwell_ms, "kind '%s': expected dwell %llu ms, got %llu",
		     c->name, (unsigned long long)c->dwell_ms,
		     (unsigned long long)rules_kind_dwell_ms(k));
	if (k != KIND_UNKNOWN)
		cr_expect_str_eq(rules_kind_name(k), c->name, "kind %d: expected name '%s'", k, c->name);
}

Test(rules, kind_out_of_range_is_default)
{
	cr_expect_eq(rules_kind_dwell_ms((enum site_kind)999), RULES_DWELL_DEFAULT_MS,
		     "an out-of-range kind must fall back to the 60 min default");
	cr_expect_eq(rules_kind_from_name(NULL), KIND_UNKNOWN, "NULL name: expected KIND_UNKNOWN");
}

/* ---- contact predicate ---- */

struct ct_case {
	char name[64];
	struct rules_interval a, b;
	uint64_t w, min_ov;
	bool contact;
	uint64_t overlap;
};

#define IV(s, f, t) { (s), T0 + (f), T0 + (t) }
#define W15 (15 * MIN)

static struct ct_case ct_cases[] = {
	{ "same interval", IV(1, 0, HOUR), IV(1, 0, HOUR), W15, 0, true, HOUR },
	{ "b inside a", IV(1, 0, HOUR), IV(1, 10 * MIN, 20 * MIN), W15, 0, true, 10 * MIN },
	{ "partial overlap", IV(1, 0, HOUR), IV(1, 40 * MIN, 2 * HOUR), W15, 0, true, 20 * MIN },
	{ "touching ends: overlap 0", IV(1, 0, HOUR), IV(1, HOUR, 2 * HOUR), 0, 0, true, 0 },
	{ "b starts exactly at b_a + w", IV(1, 0, HOUR), IV(1, HOUR + W15, 2 * HOUR), W15, 0, true, 0 },
	{ "b starts at b_a + w + 1 ms", IV(1, 0, HOUR), IV(1, HOUR + W15 + 1, 2 * HOUR), W15, 0,
	  false, 0 },
	{ "b ends exactly at a - w", IV(1, HOUR, 2 * HOUR), IV(1, 0, HOUR - W15), W15, 0, true, 0 },
	{ "b ends at a - w - 1 ms", IV(1, HOUR, 2 * HOUR), IV(1, 0, HOUR - W15 - 1), W15, 0, false, 0 },
	{ "window 0: a 1 ms gap is no contact", IV(1, 0, HOUR), IV(1, HOUR + 1, 2 * HOUR), 0, 0,
	  false, 0 },
	{ "different sites never meet", IV(1, 0, HOUR), IV(2, 0, HOUR), W15, 0, false, 0 },
	{ "min-overlap met exactly", IV(1, 0, HOUR), IV(1, 50 * MIN, 2 * HOUR), W15, 10 * MIN, true,
	  10 * MIN },
	{ "min-overlap missed by 1 ms", IV(1, 0, HOUR), IV(1, 50 * MIN + 1, 2 * HOUR), W15, 10 * MIN,
	  false, 0 },
	{ "min-overlap > 0 rejects a window-only meeting", IV(1, 0, HOUR),
	  IV(1, HOUR + MIN, 2 * HOUR), W15, 1, false, 0 },
	{ "zero-length b at a's end", IV(1, 0, HOUR), IV(1, HOUR, HOUR), 0, 0, true, 0 },
	{ "a near epoch 0 with a wide window (no underflow)", { 1, 0, 10 }, { 1, 5 * HOUR, 6 * HOUR },
	  24 * HOUR, 0, true, 0 },
};

ParameterizedTestParameters(rules, contact)
{
	return cr_make_param_array(struct ct_case, ct_cases, sizeof(ct_cases) / sizeof(ct_cases[0]));
}

ParameterizedTest(struct ct_case *c, rules, contact)
{
	uint64_t ov = 0xdeadbeef, ov2 = 0xdeadbeef;
	bool got = rules_contact(&c->a, &c->b, c->w, c->min_ov, &ov);
	bool sym = rules_contact(&c->b, &c->a, c->w, c->min_ov, &ov2);

	cr_assert_eq(got, c->contact, "%s: expected contact=%d, got %d", c->name, c->contact, got);
	cr_expect_eq(sym, got, "%s: the predicate must be symmetric (a,b)=%d (b,a)=%d", c->name, got,
		     sym);
	if (c->contact) {
		cr_expect_eq(ov, c->overlap, "%s: expected overlap %llu ms, got %llu", c->name,
			     (unsigned long long)c->overlap, (unsigned long long)ov);
		cr_expect_eq(ov2, c->overlap, "%s: symmetric overlap expected %llu ms, got %llu",
			     c->name, (unsigned long long)c->overlap, (unsigned long long)ov2);
	}
}

Test(rules, contact_overlap_pointer_may_be_null)
{
	struct rules_interval a = IV(1, 0, HOUR), b = IV(1, 0, HOUR);

	cr_expect(rules_contact(&a, &b, 0, 0, NULL), "identical intervals must meet with a NULL out");
}

/* The builder and the predicate together: F0 scanned IN/OUT, B a lone PASS. */
Test(rules, built_intervals_meet_at_the_window_edge)
{
	struct rules_scan f0[] = { { T0, 5, DIR_IN }, { T0 + 30 * MIN, 5, DIR_OUT } };
	/* PASS at 30 min + 15 min: starts exactly at b + w. */
	struct rules_scan b_edge[] = { { T0 + 45 * MIN, 5, DIR_PASS } };
	struct rules_scan b_late[] = { { T0 + 45 * MIN + 1, 5, DIR_PASS } };
	struct rules_interval ia[2], ib[1];
	uint64_t ov = 1;

	cr_assert_eq(rules_intervals(f0, 2, NULL, NULL, ia), 1, "F0's IN/OUT: one interval");
	cr_assert_eq(rules_intervals(b_edge, 1, NULL, NULL, ib), 1, "one PASS: one interval");
	cr_expect(rules_contact(&ia[0], &ib[0], W15, 0, &ov), "PASS at b + w must be a contact");
	cr_expect_eq(ov, 0, "window-only contact: expected overlap 0, got %llu",
		     (unsigned long long)ov);
	cr_assert_eq(rules_intervals(b_late, 1, NULL, NULL, ib), 1, "one PASS: one interval");
	cr_expect_not(rules_contact(&ia[0], &ib[0], W15, 0, NULL),
		      "PASS at b + w + 1 ms must not be a contact");
}
