/*
 * The truth: what chotd must count and store for this pcap, and for a sample
 * of F0s the exact F1/F2 sets (DESIGN §5), by brute force.
 *
 * Counting walks the frames in arrival order, exactly as chotd sees them:
 * each frame lands in one counter; accepted batches contribute their events,
 * and semantic dedupe is replayed with chotd's rule (an event is a duplicate
 * when an earlier *stored* event of the same (pid, site, dir) lies less than
 * the window away; duplicates do not refresh the entry).
 *
 * Tracing builds every subject's intervals with rules_intervals() and then
 * compares interval pairs site by site with rules_contact(): no time index,
 * no pruning, so it shares nothing with chotctl's indexed lookup except the
 * two rule functions themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "validate.h"

#define DEDUPE_WINDOW_MS 120000ULL
#define TRACE_DAYS 14

/* --- dedupe table: open addressing on (subject, site, dir) --- */
struct dd_entry {
	uint32_t subject, site;
	uint8_t dir, used;
	uint64_t ts;
};

struct dd_table {
	struct dd_entry *e;
	size_t cap;
};

static struct dd_entry *
dd_find(struct dd_table *t, uint32_t subject, uint32_t site, uint8_t dir)
{
	uint64_t h = ((uint64_t)subject * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)site << 3 | dir);
	size_t i;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	for (i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct dd_entry *e = &t->e[i];

		if (!e->used || (e->subject == subject && e->site == site && e->dir == dir))
			return e;
	}
}

/* --- per-subject intervals and the per-site index --- */
struct subj_iv {
	uint32_t off, n;      /* into ivs[] */
};

struct site_ref {
	uint32_t site;
	uint32_t subject;
	uint32_t iv;          /* index into ivs[] */
};

struct tracer {
	struct fl_province *p;
	struct rules_interval *ivs;
	uint32_t n_ivs;
	struct subj_iv *by_subj;
	struct site_ref *refs;      /* sorted by site */
	uint32_t n_refs;
	uint8_t *mark;              /* per subject: 0, 1 (F1), 2 (F2), 3 (F0) */
	uint64_t *t1;
};

struct counts {
	uint64_t ctr[CTR__COUNT];
	uint64_t reason[CHOT_REASON__COUNT];
	uint64_t batches_accepted, events_decoded, events_stored;
};

static uint8_t *stored_flag;   /* per scan: 1 when stored */

static void
count_frames(struct fl_province *p, struct counts *c)
{
	struct dd_table dd;

	dd.cap = 1;
	while (dd.cap < (size_t)p->n_scans * 2 + 16)
		dd.cap <<= 1;
	dd.e = calloc(dd.cap, sizeof(*dd.e));
	stored_flag = calloc(p->n_scans + 1, 1);
	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; i < p->n_frames; i++) {
		const struct fl_frame *f = &p->frames[i];

		if (f->reason != WIRE_OK) {
			c->ctr[chot_reason_counter(f->reason)]++;
			c->reason[f->reason]++;
			continue;
		}
		c->batches_accepted++;
		for (uint32_t k = 0; k < f->n_scans; k++) {
			uint32_t si = p->batch_scans[f->first_scan + k];
			const struct fl_scan *s = &p->scans[si];
			struct dd_entry *e;

			c->events_decoded++;
			if (s->bad) {
				c->ctr[CTR_BAD_EVENTS]++;
				c->reason[s->bad]++;
				continue;
			}
			e = dd_find(&dd, s->subject, s->site_id, s->dir);
			if (e->used && (s->ts_ms > e->ts ? s->ts_ms - e->ts : e->ts - s->ts_ms) <
					       DEDUPE_WINDOW_MS) {
				c->ctr[CTR_DUP_SCANS]++;
				c->reason[EV_DUPLICATE]++;
				continue;
			}
			e->used = 1;
			e->subject = s->subject;
			e->site = s->site_id;
			e->dir = s->dir;
			e->ts = s->ts_ms;
			stored_flag[si] = 1;
			c->events_stored++;
		}
	}
	free(dd.e);
}

static int
scan_subj_cmp(const void *a, const void *b, void *ctx)
{
	const struct fl_province *p = ctx;
	const struct fl_scan *x = &p->scans[*(const uint32_t *)a];
	const struct fl_scan *y = &p->scans[*(const uint32_t *)b];

	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct site_ref *x = a, *y = b;

	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->iv < y->iv ? -1 : x->iv > y->iv;
}

/* Build every subject's intervals from its stored scans in [from, to]. */
static void
tracer_build(struct tracer *t, struct fl_province *p, uint64_t from, uint64_t to)
{
	uint32_t *idx = malloc(((size_t)p->n_scans + 1) * sizeof(uint32_t)), n = 0;
	struct rules_scan *tmp = malloc(((size_t)p->n_scans + 1) * sizeof(*tmp));

	memset(t, 0, sizeof(*t));
	t->p = p;
	for (uint32_t i = 0; i < p->n_scans; i++)
		if (stored_flag[i] && p->scans[i].ts_ms >= from && p->scans[i].ts_ms <= to)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), scan_subj_cmp, p);
	t->ivs = malloc(((size_t)n + 1) * sizeof(*t->ivs));
	t->by_subj = calloc(p->n_subj, sizeof(*t->by_subj));
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i, subj = p->scans[idx[i]].subject, m;

		while (j < n && p->scans[idx[j]].subject == subj) {
			const struct fl_scan *s = &p->scans[idx[j]];

			tmp[j - i] = (struct rules_scan){ .ts_ms = s->ts_ms, .site_id = s->site_id,
							  .dir = s->dir };
			j++;
		}
		m = (uint32_t)rules_intervals(tmp, j - i, fl_site_kind, p, t->ivs + t->n_ivs);
		t->by_subj[subj].off = t->n_ivs;
		t->by_subj[subj].n = m;
		t->n_ivs += m;
		i = j;
	}
	t->refs = malloc(((size_t)t->n_ivs + 1) * sizeof(*t->refs));
	for (uint32_t s = 0; s < p->n_subj; s++)
		for (uint32_t k = 0; k < t->by_subj[s].n; k++) {
			uint32_t iv = t->by_subj[s].off + k;

			t->refs[t->n_refs++] = (struct site_ref){ .site = t->ivs[iv].site_id,
								  .subject = s, .iv = iv };
		}
	qsort(t->refs, t->n_refs, sizeof(*t->refs), ref_cmp);
	t->mark = calloc(p->n_subj, 1);
	t->t1 = calloc(p->n_subj, sizeof(uint64_t));
	free(idx);
	free(tmp);
}

static void
tracer_free(struct tracer *t)
{
	free(t->ivs);
	free(t->by_subj);
	free(t->refs);
	free(t->mark);
	free(t->t1);
}

/* First ref of a site (binary search). */
static uint32_t
site_first(const struct tracer *t, uint32_t site)
{
	uint32_t lo = 0, hi = t->n_refs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->refs[mid].site < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct trace_result {
	uint32_t *f1, n_f1;
	uint32_t *f2, n_f2;
};

static void
trace(struct tracer *t, uint32_t f0, uint64_t w, uint64_t mo, struct trace_result *r)
{
	uint32_t ns = t->p->n_subj;
	const struct subj_iv *a = &t->by_subj[f0];

	memset(t->mark, 0, ns);
	memset(r, 0, sizeof(*r));
	r->f1 = malloc(((size_t)ns + 1) * sizeof(uint32_t));
	r->f2 = malloc(((size_t)ns + 1) * sizeof(uint32_t));
	t->mark[f0] = 3;
	for (uint32_t k = 0; k < a->n; k++) {
		const struct rules_interval *A = &t->ivs[a->off + k];

		for (uint32_t i = site_first(t, A->site_id);
		     i < t->n_refs && t->refs[i].site == A->site_id; i++) {
			const struct site_ref *ref = &t->refs[i];
			const struct rules_interval *B = &t->ivs[ref->iv];

			if (ref->subject == f0 || !rules_contact(A, B, w, mo, NULL))
				continue;
			if (t->mark[ref->subject] != 1) {
				t->mark[ref->subject] = 1;
				t->t1[ref->subject] = B->from_ms;
				r->f1[r->n_f1++] = ref->subject;
			} else if (B->from_ms < t->t1[ref->subject]) {
				t->t1[ref->subject] = B->from_ms;
			}
		}
	}
	for (uint32_t j = 0; j < r->n_f1; j++) {
		uint32_t b = r->f1[j];
		const struct subj_iv *bi = &t->by_subj[b];

		for (uint32_t k = 0; k < bi->n; k++) {
			const struct rules_interval *B = &t->ivs[bi->off + k];

			if (B->from_ms < t->t1[b])
				continue;
			for (uint32_t i = site_first(t, B->site_id);
			     i < t->n_refs && t->refs[i].site == B->site_id; i++) {
				const struct site_ref *ref = &t->refs[i];

				if (t->mark[ref->subject] != 0)
					continue;
				if (!rules_contact(B, &t->ivs[ref->iv], w, mo, NULL))
					continue;
				t->mark[ref->subject] = 2;
				r->f2[r->n_f2++] = ref->subject;
			}
		}
	}
}

/* --- JSON --- */
static struct fl_province *sort_ctx;

static int
pid_idx_cmp(const void *a, const void *b)
{
	return memcmp(sort_ctx->subj[*(const uint32_t *)a].pid,
		      sort_ctx->subj[*(const uint32_t *)b].pid, PID_LEN);
}

static void
json_pids(FILE *f, struct fl_province *p, uint32_t *v, uint32_t n)
{
	char hex[PID_HEX_LEN + 1];

	sort_ctx = p;
	qsort(v, n, sizeof(*v), pid_idx_cmp);
	fputc('[', f);
	for (uint32_t i = 0; i < n; i++) {
		chot_pid_hex(hex, p->subj[v[i]].pid);
		fprintf(f, "%s\"%s\"", i ? "," : "", hex);
	}
	fputc(']', f);
}

void
fl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

struct stored_row {
	uint32_t scan;
};

static int
stored_cmp(const void *a, const void *b)
{
	const struct fl_scan *x = &sort_ctx->scans[*(const uint32_t *)a];
	const struct fl_scan *y = &sort_ctx->scans[*(const uint32_t *)b];
	int c = memcmp(sort_ctx->subj[x->subject].pid, sort_ctx->subj[y->subject].pid, PID_LEN);

	if (c != 0)
		return c;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	if (x->site_id != y->site_id)
		return x->site_id < y->site_id ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

static const struct { uint64_t w, mo; } variants[] = {
	{ 15 * 60 * 1000ULL, 0 },
	{ 5 * 60 * 1000ULL, 10 * 60 * 1000ULL },
};

/* Deterministic F0 sample: citizens with at least 2 stored scans in the window. */
static uint32_t
pick_f0s(struct fl_province *p, const struct tracer *t, uint32_t *out, uint32_t want)
{
	struct fl_rng r;
	uint32_t n = 0, tries = 0;

	fl_rng_seed(&r, p->o.seed ^ 0xf0f0f0f0ULL);
	while (n < want && tries++ < 100000 && p->n_citizens > 0) {
		uint32_t c = (uint32_t)fl_rng_below(&r, p->n_citizens);
		bool dup = false;

		if (t->by_subj[c].n < 2)
			continue;
		for (uint32_t i = 0; i < n; i++)
			dup |= out[i] == c;
		if (!dup)
			out[n++] = c;
	}
	return n;
}

int
fl_truth_write(struct fl_province *p, const char *path, FILE *summary)
{
	struct counts c;
	struct tracer t;
	uint64_t until = p->end_ms, from = until > TRACE_DAYS * 86400000ULL ?
					     until - TRACE_DAYS * 86400000ULL : 0;
	uint32_t f0s[64], n_f0, *rows, n_rows = 0;
	uint8_t *seen;
	char hex[PID_HEX_LEN + 1];
	FILE *f;

	count_frames(p, &c);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "chot-flood: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\n \"params\": {\"citizens\": %u, \"sites\": %u, \"devices\": %u, "
		   "\"hours\": %u, \"seed\": %llu, \"start_ms\": %llu, \"end_ms\": %llu, "
		   "\"dup_rate\": %g, \"hostile_rate\": %g, \"retention_days\": 21, "
		   "\"dedupe_window_s\": 120},\n",
		p->o.citizens, p->n_sites, p->n_devs, p->o.hours, (unsigned long long)p->o.seed,
		(unsigned long long)p->start_ms, (unsigned long long)p->end_ms, p->o.dup_rate,
		p->o.hostile_rate);
	fprintf(f, " \"counters\": {\"rx_packets\": %u, \"not_ours\": %llu, \"bad_header\": %llu, "
		   "\"bad_tag\": %llu, \"stale_epoch\": %llu, \"replayed\": %llu, "
		   "\"decode_errors\": %llu, \"batches_accepted\": %llu, \"events_decoded\": %llu, "
		   "\"bad_events\": %llu, \"dup_scans\": %llu, \"events_stored\": %llu, "
		   "\"events_pending\": 0, \"events_dropped\": 0, \"redis_errors\": 0},\n",
		p->n_frames, (unsigned long long)c.ctr[CTR_NOT_OURS],
		(unsigned long long)c.ctr[CTR_BAD_HEADER], (unsigned long long)c.ctr[CTR_BAD_TAG],
		(unsigned long long)c.ctr[CTR_STALE_EPOCH], (unsigned long long)c.ctr[CTR_REPLAYED],
		(unsigned long long)c.ctr[CTR_DECODE_ERRORS],
		(unsigned long long)c.batches_accepted, (unsigned long long)c.events_decoded,
		(unsigned long long)c.ctr[CTR_BAD_EVENTS], (unsigned long long)c.ctr[CTR_DUP_SCANS],
		(unsigned long long)c.events_stored);
	fprintf(f, " \"reasons\": {");
	for (unsigned r = 1, first = 1; r < CHOT_REASON__COUNT; r++) {
		if (c.reason[r] == 0)
			continue;
		fprintf(f, "%s\"%s.%s\": %llu", first ? "" : ", ",
			chot_counter_name(chot_reason_counter((enum chot_reason)r)),
			chot_reason_name((enum chot_reason)r), (unsigned long long)c.reason[r]);
		first = 0;
	}
	fprintf(f, "},\n \"stored\": [");
	if (p->o.counters_only) {
		fprintf(f, "],\n \"subjects\": [],\n \"f0\": [],\n");
		fl_truth_lists_write(p, stored_flag, f, summary);
		fprintf(f, "}\n");
		free(stored_flag);
		return fclose(f) != 0 ? -errno : 0;
	}
	rows = malloc(((size_t)p->n_scans + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < p->n_scans; i++)
		if (stored_flag[i])
			rows[n_rows++] = i;
	sort_ctx = p;
	qsort(rows, n_rows, sizeof(*rows), stored_cmp);
	seen = calloc(p->n_subj, 1);
	for (uint32_t i = 0; i < n_rows; i++) {
		const struct fl_scan *s = &p->scans[rows[i]];

		chot_pid_hex(hex, p->subj[s->subject].pid);
		fprintf(f, "%s\n  [\"%s\", %u, %llu, \"%s\"]", i ? "," : "", hex, s->site_id,
			(unsigned long long)s->ts_ms, wire_dir_name(s->dir));
		seen[s->subject] = 1;
	}
	fprintf(f, "\n ],\n \"subjects\": [");
	{
		uint32_t *subs = malloc(((size_t)p->n_subj + 1) * sizeof(uint32_t)), ns = 0;

		for (uint32_t s = 0; s < p->n_subj; s++)
			if (seen[s])
				subs[ns++] = s;
		qsort(subs, ns, sizeof(*subs), pid_idx_cmp);
		for (uint32_t i = 0; i < ns; i++) {
			const struct fl_subject *s = &p->subj[subs[i]];

			chot_pid_hex(hex, s->pid);
			fprintf(f, "%s\n  [\"%s\", \"%s\", ", i ? "," : "", hex,
				wire_scheme_name(s->scheme));
			fl_json_str(f, s->norm);
			fputc(']', f);
		}
		free(subs);
	}
	fprintf(f, "\n ],\n \"f0\": [");

	fl_progress(p, "truth", 0, 1);
	tracer_build(&t, p, from, until);
	n_f0 = pick_f0s(p, &t, f0s, p->o.f0_samples < 64 ? p->o.f0_samples : 64);
	if (p->o.scenario != NULL) {
		/* Scenario files name their F0s: subjects flagged by the loader. */
		n_f0 = 0;
		for (uint32_t s = 0; s < p->n_subj && n_f0 < 64; s++)
			if (p->subj[s].is_f0)
				f0s[n_f0++] = s;
	}
	for (uint32_t i = 0; i < n_f0; i++) {
		const struct fl_subject *s = &p->subj[f0s[i]];

		chot_pid_hex(hex, s->pid);
		fprintf(f, "%s\n  {\"pid\": \"%s\", \"scheme\": \"%s\", \"id\": ", i ? "," : "", hex,
			wire_scheme_name(s->scheme));
		fl_json_str(f, s->id);
		fprintf(f, ", \"until_ms\": %llu, \"days\": %d, \"traces\": [",
			(unsigned long long)until, TRACE_DAYS);
		for (unsigned v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			struct trace_result r;

			trace(&t, f0s[i], variants[v].w, variants[v].mo, &r);
			fprintf(f, "%s\n    {\"window_ms\": %llu, \"min_overlap_ms\": %llu, \"f1\": ",
				v ? "," : "", (unsigned long long)variants[v].w,
				(unsigned long long)variants[v].mo);
			json_pids(f, p, r.f1, r.n_f1);
			fprintf(f, ", \"f2\": ");
			json_pids(f, p, r.f2, r.n_f2);
			fputc('}', f);
			if (summary != NULL && i == 0)
				fprintf(summary, "sample F0 %s (%s %s): window %llu min, min-overlap "
						 "%llu min: F1 %u, F2 %u\n",
					hex, wire_scheme_name(s->scheme), s->id,
					(unsigned long long)variants[v].w / 60000,
					(unsigned long long)variants[v].mo / 60000, r.n_f1, r.n_f2);
			free(r.f1);
			free(r.f2);
		}
		fprintf(f, "\n  ]}");
		fl_progress(p, "truth", i + 1, n_f0);
	}
	fprintf(f, "\n ],\n");
	tracer_free(&t);
	if (fl_truth_lists_write(p, stored_flag, f, summary) != 0) {
		fclose(f);
		return -ENOMEM;
	}
	fprintf(f, "}\n");
	if (summary != NULL) {
		uint64_t hostile = 0;

		for (unsigned k = CTR_NOT_OURS; k <= CTR_DECODE_ERRORS; k++)
			hostile += c.ctr[k];
		fprintf(summary, "frames %u, legit batches %llu, events decoded %llu, stored %llu, "
				 "dup scans %llu, bad events %llu\n",
			p->n_frames, (unsigned long long)p->n_batches,
			(unsigned long long)c.events_decoded, (unsigned long long)c.events_stored,
			(unsigned long long)c.ctr[CTR_DUP_SCANS],
			(unsigned long long)c.ctr[CTR_BAD_EVENTS]);
		fprintf(summary, "hostile frames %llu:", (unsigned long long)hostile);
		for (unsigned k = CTR_NOT_OURS; k <= CTR_DECODE_ERRORS; k++)
			fprintf(summary, " %s %llu", chot_counter_name((enum chot_counter)k),
				(unsigned long long)c.ctr[k]);
		fputc('\n', summary);
	}
	free(rows);
	free(seen);
	free(stored_flag);
	if (fclose(f) != 0)
		return -errno;
	return 0;
}
