/*
 * Unit tests of the trace engine (control/trace.h) over an in-memory data
 * source: a hand-made tiny dataset whose F1/F2 sets, `via`, overlaps,
 * first_ms and ranking were worked out by hand from the rules.h definitions.
 *
 * Dataset (site 1 and 2, default 60 min dwell, PASS 5 min, window 15 min;
 * times in minutes from T):
 *   A (F0)  site 1 IN 0, OUT 60                 -> [0, 60]
 *   B       site 1 IN 30, OUT 90                -> [30, 90]   F1, overlap 30
 *           site 2 IN 180, OUT 240              -> [180, 240] (after t1 = 30)
 *           site 2 IN -180, OUT -120            -> before t1: not spreading
 *   C       site 1 PASS 70                      -> [70, 75]   F1 through the window, overlap 0
 *   D       site 1 PASS 76                      -> [76, 81]   76 > 60 + 15: not F1;
 *                                                  meets B (overlap 5) and C (0): F2 via B
 *   E       site 2 IN 210, OUT 300              -> [210, 300] F2 via B, overlap 30
 *   F       site 2 IN -180, OUT -120            -> meets B only before t1: nobody
 *   H       site 1 PASS 80                      -> [80, 85]   F2 via B, overlap 5, first 80
 *   Z       site 1 IN -2000 (outside [from,to]) -> ignored
 * Ranking: B (30, deg 1), E (30, deg 2), D (5, first 76), H (5, first 80), C (0).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "trace.h"
#include "trace_int.h"
#include "validate.h"

#define MIN (60ULL * 1000)
#define T (1795000000000ULL - 1795000000000ULL % LAYOUT_HOUR_MS)  /* an hour boundary */
#define FROM (T - 24 * 60 * MIN)
#define TO (T + 24 * 60 * MIN)

enum { A = 1, B, C, D, E, F, H, Z };

struct mem_scan {
	int who;
	long long at_min;
	uint32_t site;
	uint8_t dir;
};

static const struct mem_scan data[] = {
	{ A, 0, 1, DIR_IN }, { A, 60, 1, DIR_OUT },
	{ B, 30, 1, DIR_IN }, { B, 90, 1, DIR_OUT },
	{ B, 180, 2, DIR_IN }, { B, 240, 2, DIR_OUT },
	{ B, -180, 2, DIR_IN }, { B, -120, 2, DIR_OUT },
	{ C, 70, 1, DIR_PASS },
	{ D, 76, 1, DIR_PASS },
	{ E, 210, 2, DIR_IN }, { E, 300, 2, DIR_OUT },
	{ F, -180, 2, DIR_IN }, { F, -120, 2, DIR_OUT },
	{ H, 80, 1, DIR_PASS },
	{ Z, -2000, 1, DIR_IN },
};
#define N_DATA (sizeof(data) / sizeof(data[0]))

static void
pid_of(uint8_t pid[PID_LEN], int who)
{
	memset(pid, 0, PID_LEN);
	pid[0] = 0xa0;
	pid[PID_LEN - 1] = (uint8_t)who;
}

static int
who_of(const uint8_t pid[PID_LEN])
{
	return pid[PID_LEN - 1];
}

static void
scan_of(const struct mem_scan *m, struct tr_scan *s)
{
	pid_of(s->pid, m->who);
	s->ts_ms = (uint64_t)((long long)T + m->at_min * (long long)MIN);
	s->site_id = m->site;
	s->dir = m->dir;
}

struct mem_source {
	unsigned timeline_calls, bucket_calls;
};

static int
mem_timelines(void *ctx, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from, uint64_t to,
	      struct tr_scanvec *out)
{
	struct mem_source *ms = ctx;

	ms->timeline_calls++;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < N_DATA; j++) {
			struct tr_scan s;

			scan_of(&data[j], &s);
			if (memcmp(s.pid, pids[i], PID_LEN) != 0 || s.ts_ms < from || s.ts_ms > to)
				continue;
			if (tr_scanvec_push(out, &s) != 0)
				return -ENOMEM;
		}
	return 0;
}

static int
mem_site_blocks(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out,
	       tr_bucket_done_fn done, void *arg)
{
	struct mem_source *ms = ctx;
	int rc;

	ms->bucket_calls++;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < N_DATA; j++) {
			struct tr_scan s;

			scan_of(&data[j], &s);
			if (s.site_id != b[i].site_id || layout_block(s.ts_ms) != b[i].block)
				continue;
			if (tr_scanvec_push(out, &s) != 0)
				return -ENOMEM;
		}
		if (done != NULL && (rc = done(arg, i)) != 0)
			return rc;
	}
	return 0;
}

static struct mem_source ms;
static const struct tr_source src = {
	.timelines = mem_timelines, .site_blocks = mem_site_blocks, .kind = NULL, .ctx = &ms,
};

/*
 * The same scans as Redis may hand them over (proto/layout.h): a bucket's
 * records in append order, not sorted (here: reversed), and a resent
 * generation's exact duplicates (here: every scan twice).  dups_in_range
 * counts the copies dropped that the engine must report: those in [FROM, TO].
 */
static uint64_t dups_in_range;

static int
resent_site_blocks(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out,
		   tr_bucket_done_fn done, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = N_DATA; j-- > 0;) {
			struct tr_scan s;

			scan_of(&data[j], &s);
			if (s.site_id != b[i].site_id || layout_block(s.ts_ms) != b[i].block)
				continue;
			if (tr_scanvec_push(out, &s) != 0 || tr_scanvec_push(out, &s) != 0)
				return -ENOMEM;
			if (s.ts_ms >= FROM && s.ts_ms <= TO)
				dups_in_range++;
		}
		if (done != NULL) {
			int rc = done(arg, i);

			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static const struct tr_source resent_src = {
	.timelines = mem_timelines, .site_blocks = resent_site_blocks, .kind = NULL, .ctx = &ms,
};

/* The last pass's threads and batch size (tr_query.threads, batch_scans). */
static unsigned run_threads = 1;
static size_t run_batch;

static struct tr_result
run_on(const struct tr_source *from, int depth, uint64_t window_ms, uint64_t min_overlap_ms)
{
	struct tr_query q = { .from_ms = FROM, .to_ms = TO, .window_ms = window_ms,
			      .min_overlap_ms = min_overlap_ms, .depth = depth,
			      .threads = run_threads, .batch_scans = run_batch };
	struct tr_result r;
	int rc;

	pid_of(q.pid, A);
	memset(&r, 0, sizeof(r));
	rc = tr_run(from, &q, &r);
	cr_assert_eq(rc, 0, "tr_run over the in-memory source: expected 0, got %d", rc);
	return r;
}

static struct tr_result
run(int depth, uint64_t window_ms, uint64_t min_overlap_ms)
{
	return run_on(&src, depth, window_ms, min_overlap_ms);
}

struct want {
	int who, degree, via;
	uint32_t site;
	uint64_t overlap_min, first_min;
};

static void
expect_contacts(const struct tr_result *r, const struct want *w, size_t n, const char *what)
{
	cr_assert_eq(r->n_contacts, n, "%s: expected %zu contacts, got %zu", what, n, r->n_contacts);
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &r->contacts[i];

		cr_expect_eq(who_of(c->pid), w[i].who, "%s: rank %zu: expected subject %d, got %d",
			     what, i, w[i].who, who_of(c->pid));
		cr_expect_eq(c->degree, w[i].degree, "%s: subject %d: expected degree %d, got %d",
			     what, w[i].who, w[i].degree, c->degree);
		cr_expect_eq(c->site_id, w[i].site, "%s: subject %d: expected site %u, got %u", what,
			     w[i].who, w[i].site, c->site_id);
		cr_expect_eq(c->overlap_ms, w[i].overlap_min * MIN,
			     "%s: subject %d: expected overlap %llu min, got %llu ms", what, w[i].who,
			     (unsigned long long)w[i].overlap_min, (unsigned long long)c->overlap_ms);
		cr_expect_eq(c->first_ms, T + w[i].first_min * MIN,
			     "%s: subject %d: expected first_ms T+%llu min, got T%+lld ms", what,
			     w[i].who, (unsigned long long)w[i].first_min,
			     (long long)(c->first_ms - T));
		if (w[i].degree == 2)
			cr_expect_eq(who_of(c->via), w[i].via, "%s: subject %d: expected via %d, got %d",
				     what, w[i].who, w[i].via, who_of(c->via));
	}
}

Test(trace_engine, f0_visits_in_window)
{
	struct tr_result r = run(1, RULES_WINDOW_DEFAULT_MS, 0);

	cr_assert_eq(r.n_visits, 1, "F0 has one visit (IN/OUT at site 1), got %zu", r.n_visits);
	cr_expect_eq(r.visits[0].site_id, 1, "F0's visit is at site 1");
	cr_expect_eq(r.visits[0].from_ms, T, "F0's visit starts at T");
	cr_expect_eq(r.visits[0].to_ms, T + 60 * MIN, "F0's visit ends at T + 60 min");
	tr_result_free(&r);
}

Test(trace_engine, depth1_f1_only)
{
	static const struct want w[] = {
		{ B, 1, 0, 1, 30, 30 },
		{ C, 1, 0, 1, 0, 70 },
	};
	struct tr_result r = run(1, RULES_WINDOW_DEFAULT_MS, 0);

	expect_contacts(&r, w, 2, "depth 1");
	tr_result_free(&r);
}

Test(trace_engine, depth2_sets_via_and_ranking)
{
	static const struct want w[] = {
		{ B, 1, 0, 1, 30, 30 },
		{ E, 2, B, 2, 30, 210 },
		{ D, 2, B, 1, 5, 76 },
		{ H, 2, B, 1, 5, 80 },
		{ C, 1, 0, 1, 0, 70 },
	};
	struct tr_result r = run(2, RULES_WINDOW_DEFAULT_MS, 0);

	/* Not in any set: A (the F0), F (met B before B was exposed), Z (outside the window). */
	expect_contacts(&r, w, 5, "depth 2");
	tr_result_free(&r);
}

Test(trace_engine, presence_out_of_order_and_resent_changes_nothing)
{
	for (int depth = 1; depth <= 2; depth++) {
		struct tr_result a = run(depth, RULES_WINDOW_DEFAULT_MS, 0), b;

		dups_in_range = 0;
		b = run_on(&resent_src, depth, RULES_WINDOW_DEFAULT_MS, 0);
		cr_assert_eq(b.n_contacts, a.n_contacts, "depth %d: %zu contacts with duplicates, "
			     "%zu without", depth, b.n_contacts, a.n_contacts);
		cr_expect_eq(memcmp(b.contacts, a.contacts, a.n_contacts * sizeof(*a.contacts)), 0,
			     "depth %d: the contacts differ when presence comes reversed and twice",
			     depth);
		cr_expect_eq(a.dup_scans, 0, "depth %d: no duplicates in the clean source, got %llu",
			     depth, (unsigned long long)a.dup_scans);
		cr_expect(dups_in_range > 0, "the resent source sent no duplicate in range");
		cr_expect_eq(b.dup_scans, dups_in_range, "depth %d: expected %llu duplicates "
			     "dropped (each counted once, depth 2 re-probes depth 1's), got %llu",
			     depth, (unsigned long long)dups_in_range,
			     (unsigned long long)b.dup_scans);
		tr_result_free(&a);
		tr_result_free(&b);
	}
}

/*
 * The last pass read on one thread and probed on another (trace_pipe.c),
 * in batches of one site, of a few, and of everything, gives the one-thread
 * pass's answer exactly: contacts, visits and duplicates dropped.
 */
Test(trace_engine, piped_pass_equals_one_thread)
{
	static const size_t batches[] = { 1, 3, 0 };
	const struct tr_source *sources[] = { &src, &resent_src };

	for (size_t si = 0; si < 2; si++)
		for (int depth = 1; depth <= 2; depth++)
			for (int v = 0; v < 3; v++) {
				uint64_t win = v == 1 ? 30 * MIN : RULES_WINDOW_DEFAULT_MS;
				uint64_t mo = v == 2 ? 10 * MIN : 0;
				struct tr_result a, b;

				run_threads = 1;
				run_batch = 0;
				a = run_on(sources[si], depth, win, mo);
				cr_assert_gt(a.n_contacts, 0, "the case has contacts");
				for (size_t k = 0; k < 3; k++) {
					run_threads = 2;
					run_batch = batches[k];
					b = run_on(sources[si], depth, win, mo);
					cr_assert_eq(b.n_contacts, a.n_contacts,
						     "source %zu depth %d case %d batch %zu: %zu "
						     "contacts piped, %zu on one thread", si, depth,
						     v, batches[k], b.n_contacts, a.n_contacts);
					cr_expect_eq(memcmp(b.contacts, a.contacts,
							    a.n_contacts * sizeof(*a.contacts)), 0,
						     "source %zu depth %d case %d batch %zu: the "
						     "contacts differ", si, depth, v, batches[k]);
					cr_expect_eq(b.n_visits, a.n_visits, "visits differ");
					cr_expect_eq(b.dup_scans, a.dup_scans,
						     "source %zu depth %d batch %zu: %llu duplicates "
						     "piped, %llu on one thread", si, depth, batches[k],
						     (unsigned long long)b.dup_scans,
						     (unsigned long long)a.dup_scans);
					tr_result_free(&b);
				}
				tr_result_free(&a);
			}
	run_threads = 1;
	run_batch = 0;
}

Test(trace_engine, min_overlap_filters_both_degrees)
{
	static const struct want w[] = {
		{ B, 1, 0, 1, 30, 30 },
		{ E, 2, B, 2, 30, 210 },
	};
	struct tr_result r = run(2, RULES_WINDOW_DEFAULT_MS, 10 * MIN);

	expect_contacts(&r, w, 2, "depth 2, min-overlap 10 min");
	tr_result_free(&r);
}

Test(trace_engine, wider_window_promotes_d_and_h_to_f1)
{
	/* w = 20 min: D [76, 81] and H [80, 85] now start <= 60 + 20. */
	static const struct want w[] = {
		{ B, 1, 0, 1, 30, 30 },
		{ E, 2, B, 2, 30, 210 },
		{ C, 1, 0, 1, 0, 70 },
		{ D, 1, 0, 1, 0, 76 },
		{ H, 1, 0, 1, 0, 80 },
	};
	struct tr_result r = run(2, 20 * MIN, 0);

	expect_contacts(&r, w, 5, "depth 2, window 20 min");
	tr_result_free(&r);
}

Test(trace_engine, source_called_in_batches)
{
	struct tr_result r;

	memset(&ms, 0, sizeof(ms));
	r = run(2, RULES_WINDOW_DEFAULT_MS, 0);
	/* F0's timeline, then all F1 timelines at once; presence rounds per depth. */
	cr_expect_leq(ms.timeline_calls, 2, "expected <= 2 timeline rounds, got %u",
		      ms.timeline_calls);
	cr_expect_leq(ms.bucket_calls, 2, "expected <= 2 presence rounds, got %u", ms.bucket_calls);
	tr_result_free(&r);
}

/*
 * An F0 with visits but nobody around: depth 2 has no F1 to expand and must
 * return an empty, successful result (regression: chotctl crashed here on a
 * real province, reading F0's probes as F1 probes).
 */
Test(trace_engine, depth2_with_no_f1)
{
	struct tr_query q = { .from_ms = T + 2 * 60 * MIN, .to_ms = T + 3 * 60 * MIN,
			      .window_ms = 0, .min_overlap_ms = 0, .depth = 2 };
	struct tr_result r;
	int rc;

	/* In [T+2h, T+3h] only B (site 2, IN at 180 min) has scans: trace B alone. */
	pid_of(q.pid, B);
	memset(&r, 0, sizeof(r));
	rc = tr_run(&src, &q, &r);
	cr_assert_eq(rc, 0, "expected 0, got %d", rc);
	cr_expect_eq(r.n_visits, 1, "B has one visit in the window, got %zu", r.n_visits);
	cr_expect_eq(r.n_contacts, 0, "nobody met B in [T+2h, T+3h] with w = 0, got %zu",
		     r.n_contacts);
	tr_result_free(&r);
}

Test(trace_engine, rank_order)
{
	struct tr_contact c[4];

	memset(c, 0, sizeof(c));
	pid_of(c[0].pid, 4); c[0].overlap_ms = 5; c[0].degree = 2; c[0].first_ms = 10;
	pid_of(c[1].pid, 3); c[1].overlap_ms = 5; c[1].degree = 2; c[1].first_ms = 10;
	pid_of(c[2].pid, 2); c[2].overlap_ms = 5; c[2].degree = 1; c[2].first_ms = 99;
	pid_of(c[3].pid, 1); c[3].overlap_ms = 9; c[3].degree = 2; c[3].first_ms = 50;
	tr_rank(c, 4);
	/* overlap desc, degree asc, first_ms asc, pid asc */
	cr_expect_eq(who_of(c[0].pid), 1, "largest overlap first, got %d", who_of(c[0].pid));
	cr_expect_eq(who_of(c[1].pid), 2, "then the lower degree, got %d", who_of(c[1].pid));
	cr_expect_eq(who_of(c[2].pid), 3, "then the smaller pid on a full tie, got %d",
		     who_of(c[2].pid));
	cr_expect_eq(who_of(c[3].pid), 4, "last, got %d", who_of(c[3].pid));
}

/*
 * A big list (more than 64: tr_rank's merge-sort path) with many ties on
 * overlap, degree and first_ms: the result must be in rank order and be a
 * permutation of the input.
 */
Test(trace_engine, rank_order_many)
{
	enum { N = 1000 };
	static struct tr_contact c[N];
	uint32_t seed = 12345, seen[N] = { 0 };

	memset(c, 0, sizeof(c));
	for (uint32_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		c[i].overlap_ms = (seed >> 16) % 7;
		c[i].degree = 1 + (int)((seed >> 8) % 2);
		c[i].first_ms = (seed >> 20) % 5;
		c[i].pid[0] = (uint8_t)((seed >> 4) % 3);   /* ties on the first byte too */
		memcpy(&c[i].pid[PID_LEN - 4], &i, sizeof(i));
	}
	tr_rank(c, N);
	for (size_t i = 0; i < N; i++) {
		uint32_t id;

		memcpy(&id, &c[i].pid[PID_LEN - 4], sizeof(id));
		cr_assert_lt(id, N, "rank %zu: a contact that was not in the input", i);
		cr_assert_eq(seen[id], 0, "contact %u appears twice after ranking", id);
		seen[id] = 1;
		if (i == 0)
			continue;
		const struct tr_contact *a = &c[i - 1], *b = &c[i];
		bool ok = a->overlap_ms != b->overlap_ms ? a->overlap_ms > b->overlap_ms :
			  a->degree != b->degree ? a->degree < b->degree :
			  a->first_ms != b->first_ms ? a->first_ms < b->first_ms :
			  memcmp(a->pid, b->pid, PID_LEN) < 0;

		cr_assert(ok, "ranks %zu and %zu out of order (overlap %llu/%llu, degree %d/%d, "
			  "first %llu/%llu)", i - 1, i, (unsigned long long)a->overlap_ms,
			  (unsigned long long)b->overlap_ms, a->degree, b->degree,
			  (unsigned long long)a->first_ms, (unsigned long long)b->first_ms);
	}
}

/*
 * tr_rank_packed (the trace's own ranking, keys packed in 16 bytes):
 * first_ms differing only in its 2 low bits (split across the key's words),
 * pids equal in their first 38 bits (the key's share) and differing after,
 * or inside them; against a plain comparison sort.
 */
static int
plain_cmp(const void *pa, const void *pb)
{
	const struct tr_contact *a = pa, *b = pb;

	if (a->overlap_ms != b->overlap_ms)
		return a->overlap_ms > b->overlap_ms ? -1 : 1;
	if (a->degree != b->degree)
		return a->degree < b->degree ? -1 : 1;
	if (a->first_ms != b->first_ms)
		return a->first_ms < b->first_ms ? -1 : 1;
	return memcmp(a->pid, b->pid, PID_LEN);
}

/* tr_rank_packed(c), on one thread and on two, equals want (c sorted by
 * plain_cmp), contact by contact. */
static void
expect_packed_rank(const struct tr_contact *c, size_t n, uint64_t base, struct tr_rkey *work,
		   struct tr_contact *got, const struct tr_contact *want)
{
	for (int two = 0; two < 2; two++) {
		memset(got, 0, n * sizeof(*got));
		cr_assert(tr_rank_packed(c, n, base, work, got, two),
			  "tr_rank_packed refused keys in range");
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(memcmp(got[i].pid, want[i].pid, PID_LEN), 0,
				     "rank %zu (%s): not the contact a plain sort puts there", i,
				     two ? "two threads" : "one thread");
	}
}

Test(trace_engine, rank_inplace_packed_keys)
{
	enum { N = 3000 };
	static struct tr_contact c[N], want[N], got[N];
	static struct tr_rkey work[2 * N];
	uint32_t seed = 777;
	const uint64_t base = 1000000;

	memset(c, 0, sizeof(c));
	for (uint32_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		c[i].overlap_ms = (seed >> 16) % 3;
		c[i].degree = 1 + (int)((seed >> 8) % 2);
		c[i].first_ms = base + (seed >> 20) % 8;      /* the low 2 bits decide often */
		memset(c[i].pid, 0xa5, 4);
		c[i].pid[4] = (uint8_t)((seed >> 3) & 0xc0); /* bits 32-33: inside the 38 */
		c[i].pid[5] = (uint8_t)(seed >> 11);         /* bits 40-47: past them */
		memcpy(&c[i].pid[PID_LEN - 4], &i, sizeof(i));
	}
	memcpy(want, c, sizeof(c));
	qsort(want, N, sizeof(*want), plain_cmp);
	expect_packed_rank(c, N, base, work, got, want);
}

/*
 * tr_rank_packed over keys spread across their whole range (overlap and
 * first_ms up to 2^32, so every radix digit of the sort moves keys), with
 * short runs of equal (overlap, degree, first_ms) mixed in: against a
 * plain comparison sort.
 */
Test(trace_engine, rank_packed_wide_keys)
{
	enum { N = 20000 };
	static struct tr_contact c[N], want[N], got[N];
	static struct tr_rkey work[2 * N];
	uint64_t seed = 12345;
	const uint64_t base = 1700000000000ULL;

	memset(c, 0, sizeof(c));
	for (uint32_t i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if (i % 7 == 3) {          /* a tie with the contact before on the key's a */
			c[i] = c[i - 1];
		} else {
			c[i].overlap_ms = (seed >> 32) % 4 == 0 ? 0 : seed >> 32;
			c[i].degree = 1 + (int)((seed >> 8) & 1);
			c[i].first_ms = base + ((seed >> 1) & 0xffffffffULL);
		}
		for (int b = 0; b < PID_LEN; b++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			c[i].pid[b] = (uint8_t)(seed >> 56);
		}
	}
	memcpy(want, c, sizeof(c));
	qsort(want, N, sizeof(*want), plain_cmp);
	expect_packed_rank(c, N, base, work, got, want);
}
