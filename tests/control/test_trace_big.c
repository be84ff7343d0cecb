/*
 * The trace engine at a size where its big-array paths run (control/
 * trace_int.h: mmap'd subject table, in-place ranking, the table shrunk
 * into the result): 40,000 subjects at one site around F0's 6-hour stay, an
 * in-memory source, and every contact checked against a brute force over
 * rules.h (rules_intervals + rules_contact per subject) ranked by tr_rank()
 * (the pointer-sorting path), so the two rankings must agree element by
 * element.  Also checks the tr_source.sites announcement: the distinct sites
 * of the timelines, ascending, before any kind() question.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "trace.h"
#include "validate.h"

#define MIN (60ULL * 1000)
#define T (1795000000000ULL - 1795000000000ULL % LAYOUT_HOUR_MS)
#define FROM (T - 24 * 60 * MIN)
#define TO (T + 24 * 60 * MIN)
#define N_SUBJ 40000

/* Subject 0 is F0 (site 1, IN T, OUT T + 6 h); subject i > 0 has one stay at
 * site 1 or 2 (i % 7 == 0: site 2, so not every scan is at F0's site). */
struct big {
	struct tr_scan *s;   /* 2 scans a subject */
	size_t n;
	unsigned sites_calls;
	uint32_t sites_seen[8];
	size_t n_sites_seen;
	bool kind_before_sites;
};

static struct big big;

static void
pid_of(uint8_t pid[PID_LEN], uint32_t i)
{
	memset(pid, 0, PID_LEN);
	pid[0] = 0xb0;
	memcpy(pid + 4, &i, sizeof(i));
	pid[PID_LEN - 1] = (uint8_t)(i * 2654435761u >> 24);   /* pid order != i order */
}

static void
build(void)
{
	uint64_t x = 88172645463325252ULL;

	big.n = 0;
	big.s = malloc(2 * N_SUBJ * sizeof(*big.s));
	cr_assert_not_null(big.s);
	for (uint32_t i = 0; i < N_SUBJ; i++) {
		uint64_t in, out;
		uint32_t site = i % 7 == 0 && i > 0 ? 2 : 1;

		if (i == 0) {
			in = T;
			out = T + 360 * MIN;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* In [T - 7 h, T + 7 h] by the minute; stays of 1..360 min. */
			in = T - 420 * MIN + (x % 841) * MIN;
			out = in + (1 + (x >> 20) % 360) * MIN;
		}
		pid_of(big.s[big.n].pid, i);
		big.s[big.n].ts_ms = in;
		big.s[big.n].site_id = site;
		big.s[big.n++].dir = DIR_IN;
		pid_of(big.s[big.n].pid, i);
		big.s[big.n].ts_ms = out;
		big.s[big.n].site_id = site;
		big.s[big.n++].dir = DIR_OUT;
	}
}

static int
big_timelines(void *ctx, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from, uint64_t to,
	      struct tr_scanvec *out)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < big.n; j++)
			if (memcmp(big.s[j].pid, pids[i], PID_LEN) == 0 && big.s[j].ts_ms >= from &&
			    big.s[j].ts_ms <= to && tr_scanvec_push(out, &big.s[j]) != 0)
				return -ENOMEM;
	return 0;
}

static int
big_site_blocks(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out,
		tr_bucket_done_fn done, void *arg)
{
	int rc;

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < big.n; j++)
			if (big.s[j].site_id == b[i].site_id &&
			    layout_block(big.s[j].ts_ms) == b[i].block &&
			    tr_scanvec_push(out, &big.s[j]) != 0)
				return -ENOMEM;
		if (done != NULL && (rc = done(arg, i)) != 0)
			return rc;
	}
	return 0;
}

static enum site_kind
big_kind(uint32_t site_id, void *ctx)
{
	(void)ctx;
	if (big.sites_calls == 0)
		big.kind_before_sites = true;
	(void)site_id;
	return KIND_VENUE;
}

static int
big_sites(void *ctx, const uint32_t *ids, size_t n)
{
	(void)ctx;
	big.sites_calls++;
	for (size_t i = 0; i < n && big.n_sites_seen < 8; i++)
		big.sites_seen[big.n_sites_seen++] = ids[i];
	return 0;
}

static const struct tr_source src = {
	.timelines = big_timelines, .site_blocks = big_site_blocks, .kind = big_kind,
	.sites = big_sites, .ctx = &big,
};

Test(trace_big, ranking_in_place_equals_brute_force)
{
	struct tr_query q = { .from_ms = FROM, .to_ms = TO, .window_ms = RULES_WINDOW_DEFAULT_MS,
			      .depth = 1 };
	struct rules_interval f0 = { .site_id = 1, .from_ms = T, .to_ms = T + 360 * MIN };
	struct tr_contact *want = calloc(N_SUBJ, sizeof(*want));
	struct tr_result r;
	size_t nw = 0;
	int rc;

	cr_assert_not_null(want);
	build();
	/* Brute force: each subject's interval against F0's, by rules.h alone. */
	for (uint32_t i = 1; i < N_SUBJ; i++) {
		struct rules_scan rs[2];
		struct rules_interval iv[2];
		uint64_t ov;
		size_t m;

		for (int k = 0; k < 2; k++)
			rs[k] = (struct rules_scan){ .ts_ms = big.s[2 * i + k].ts_ms,
						     .site_id = big.s[2 * i + k].site_id,
						     .dir = big.s[2 * i + k].dir };
		m = rules_intervals(rs, 2, big_kind, NULL, iv);
		cr_assert_eq(m, 1, "subject %u: one IN/OUT pair, one interval", i);
		if (iv[0].site_id != 1 || !rules_contact(&f0, &iv[0], q.window_ms, 0, &ov))
			continue;
		pid_of(want[nw].pid, i);
		want[nw].degree = 1;
		want[nw].site_id = 1;
		want[nw].overlap_ms = ov;
		want[nw].contact_ms = iv[0].from_ms > f0.from_ms ? iv[0].from_ms : f0.from_ms;
		want[nw].first_ms = want[nw].contact_ms;
		nw++;
	}
	cr_assert_gt(nw, 20000, "the dataset must put most subjects in contact (got %zu)", nw);
	tr_rank(want, nw);

	pid_of(q.pid, 0);
	big.kind_before_sites = false;
	big.sites_calls = 0;
	big.n_sites_seen = 0;
	rc = tr_run(&src, &q, &r);
	cr_assert_eq(rc, 0, "tr_run: expected 0, got %d", rc);
	cr_expect_eq(big.sites_calls, 1, "sites() once (one batch of timelines), got %u",
		     big.sites_calls);
	cr_expect_eq(big.n_sites_seen, 1, "F0's timeline is at one site, announced %zu",
		     big.n_sites_seen);
	cr_expect_eq(big.sites_seen[0], 1, "the announced site is 1, got %u", big.sites_seen[0]);
	cr_expect(!big.kind_before_sites, "kind() was asked before sites() announced the site");
	cr_assert_eq(r.n_contacts, nw, "contacts: expected %zu (brute force), got %zu", nw,
		     r.n_contacts);
	for (size_t i = 0; i < nw; i++) {
		const struct tr_contact *c = &r.contacts[i], *w = &want[i];

		cr_assert(memcmp(c->pid, w->pid, PID_LEN) == 0,
			  "rank %zu: a different subject than tr_rank() of the brute force", i);
		cr_assert_eq(c->overlap_ms, w->overlap_ms, "rank %zu: overlap %llu, expected %llu",
			     i, (unsigned long long)c->overlap_ms,
			     (unsigned long long)w->overlap_ms);
		cr_assert_eq(c->first_ms, w->first_ms, "rank %zu: first_ms differs", i);
		cr_assert_eq(c->degree, 1, "rank %zu: degree %d", i, c->degree);
		cr_assert_eq(c->site_id, 1, "rank %zu: site %u", i, c->site_id);
	}
	tr_result_free(&r);
	free(want);
	free(big.s);
}
