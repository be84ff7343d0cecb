/*
 * The trace engine's logic (see trace.h for the contract and the exactness
 * argument; trace_fetch.c reads the source).  Subjects are kept in a table
 * keyed by pid (trace_store.c).  Each site is probed as soon as its last
 * presence bucket has arrived, while Redis is still answering the rest of
 * the pipeline; a site's probing is trace_probe.c's.  Here: F0's visits,
 * the F1s and F2s in turn, and the ranked result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_int.h"

/*
 * Probing runs while the presence is still arriving: buckets are read in
 * (site, block) order, so once a site's last bucket is in, every probe at that
 * site (and at the sites before it, whose buckets were all cached) can be
 * checked while Redis keeps answering the rest of the pipeline.
 */
struct pump {
	struct tracer *t;
	const struct tr_probe *p; /* sorted by site, then start */
	size_t np, next;          /* p[next..np) not probed yet */
	int degree;
	struct tr_scratch *x;
};

/* Probe every site group up to and including `site` (tr_site_ready_fn). 0 or -errno. */
static int
pump_to(void *arg, uint32_t site)
{
	struct pump *u = arg;

	while (u->next < u->np && u->p[u->next].iv.site_id <= site) {
		size_t j = u->next;
		int rc;

		struct tr_site_scans ss;

		while (j < u->np && u->p[j].iv.site_id == u->p[u->next].iv.site_id)
			j++;
		tr_presence_site(u->t, u->p[u->next].iv.site_id, &ss);
		rc = tr_probe_site(u->t, u->x, &ss, u->p + u->next, j - u->next, u->degree);
		if (rc != 0)
			return rc;
		u->next = j;
	}
	return 0;
}

static int
probe_cmp(const void *a, const void *b)
{
	const struct tr_probe *x = a, *y = b;

	if (x->iv.site_id != y->iv.site_id)
		return x->iv.site_id < y->iv.site_id ? -1 : 1;
	return x->iv.from_ms < y->iv.from_ms ? -1 : x->iv.from_ms > y->iv.from_ms;
}

/*
 * A last pass with at least this many probes is read and probed on two
 * threads when the query lets it (tr_query.threads 0) and a second CPU is
 * online: at 1 M citizens a depth-2 pass has ~10k probes, reads ~100k
 * buckets and probes ~6 M scans; a depth-1 pass has tens of probes and
 * takes a millisecond.
 */
#define TR_PIPE_MIN_PROBES 256

static bool
piped(const struct tracer *t, size_t np, bool last)
{
	if (!last || t->q->threads == 1)
		return false;
	if (t->q->threads >= 2)
		return true;
	return np >= TR_PIPE_MIN_PROBES && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

/*
 * Find every subject (not excluded) in contact with one of the probes and
 * record it at `degree`.  Excluded: F0 always; at degree 2 also every F1.
 * `last`: no probing follows, so the scans fetched now need not be kept.
 */
static int
probe_all(struct tracer *t, struct tr_probe *p, size_t np, int degree, bool last)
{
	struct pump u = { .t = t, .p = p, .np = np, .degree = degree };
	int rc;

	qsort(p, np, sizeof(*p), probe_cmp);
	t->fresh_chunk = t->n_chunks;
	if (piped(t, np, last) && (rc = tr_probe_piped(t, p, np, degree)) != 1)
		return rc;
	if ((u.x = tr_scratch_new()) == NULL)
		return -ENOMEM;
	rc = tr_fetch_presence(t, p, np, last, NULL, pump_to, &u);
	if (rc == 0)
		rc = pump_to(&u, UINT32_MAX);   /* sites with nothing new to read, the rest */
	tr_scratch_free(u.x);
	return rc;
}

/* Intervals of each of n subjects from their timelines. */
static int
timelines(struct tracer *t, const uint8_t (*pids)[PID_LEN], size_t n, struct tr_probe **out,
	  size_t *nout, struct rules_interval **f0_visits)
{
	struct tr_scanvec v = { 0 };
	struct rules_scan *rs;
	struct tr_probe *p;
	size_t np = 0, *at;
	int rc = tr_fetch_timelines(t, pids, n, &v, &at);

	if (rc != 0)
		return rc;
	/* One pass per subject in the order asked. */
	rs = malloc((v.n + 1) * sizeof(*rs));
	p = malloc((v.n + 1) * sizeof(*p));
	if (rs == NULL || p == NULL) {
		free(rs);
		free(p);
		free(at);
		tr_scanvec_free(&v);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		size_t ns = 0, m;
		struct rules_interval *ivs;

		for (size_t i = at[k]; i < at[k + 1]; i++)
			if (v.v[i].ts_ms >= t->q->from_ms && v.v[i].ts_ms <= t->q->to_ms)
				rs[ns++] = (struct rules_scan){ .ts_ms = v.v[i].ts_ms,
								.site_id = v.v[i].site_id,
								.dir = v.v[i].dir };
		ivs = malloc((ns + 1) * sizeof(*ivs));
		if (ivs == NULL) {
			rc = -ENOMEM;
			break;
		}
		m = rules_intervals(rs, ns, t->src->kind, t->src->ctx, ivs);
		for (size_t i = 0; i < m; i++) {
			p[np].iv = ivs[i];
			memcpy(p[np].owner, pids[k], PID_LEN);
			np++;
		}
		if (f0_visits != NULL) {
			*f0_visits = ivs;
			*nout = m;
		} else {
			free(ivs);
		}
	}
	free(rs);
	free(at);
	tr_scanvec_free(&v);
	if (rc != 0) {
		free(p);
		return rc;
	}
	*out = p;
	if (f0_visits == NULL)
		*nout = np;
	return 0;
}

static int
visit_time_cmp(const void *a, const void *b)
{
	const struct rules_interval *x = a, *y = b;

	if (x->from_ms != y->from_ms)
		return x->from_ms < y->from_ms ? -1 : 1;
	return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

/*
 * Rank on two threads from this many contacts (a depth-2 trace at 1 M
 * citizens ranks ~700k: ~65 ms on one thread, while the other CPU idles),
 * as the last pass is piped: tr_query.threads 2 always, 1 never.
 */
#define TR_RANK_TWO_MIN 65536

static bool
two_threads(const struct tracer *t, size_t n)
{
	if (t->q->threads == 1)
		return false;
	if (t->q->threads >= 2)
		return true;
	return n >= TR_RANK_TWO_MIN && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

/* Subject s's best contact, as reported. */
static struct tr_contact
contact_of(const struct tr_subj *s)
{
	struct tr_contact c = { .degree = s->degree, .site_id = s->site_id,
				.overlap_ms = s->overlap_ms, .first_ms = s->first_ms,
				.contact_ms = s->contact_ms };

	memcpy(c.pid, s->pid, PID_LEN);
	if (s->degree == 2)
		memcpy(c.via, s->via, PID_LEN);
	return c;
}

/*
 * The contacts (F1 and F2), ranked, into out.  Each contact is written over
 * the front of the subject table (a tr_contact is as big as a tr_subj and
 * written no further than the record it came from, so the moves never
 * overwrite a record not read yet), their packed keys are sorted in the
 * table's tail (grown by mremap when it is short), and the contacts gathered
 * in rank order into the result.  The subject table is gone afterwards.
 */
static int
rank_contacts(struct tracer *t, struct tr_result *out)
{
	struct tr_subjmap *m = &t->subj;
	struct tr_contact *c = (struct tr_contact *)(void *)m->s;
	size_t nc = 0, bytes_s, want;
	const struct tr_contact **src_c;
	int rc;

	for (size_t i = 0; i < m->n; i++)
		if (m->s[i].degree == 1 || m->s[i].degree == 2) {
			struct tr_contact x = contact_of(&m->s[i]);

			c[nc++] = x;
		}
	m->n = 0;   /* the records are gone; tr_subjmap_free() still frees the memory */
	want = nc * (sizeof(*c) + 2 * sizeof(struct tr_rkey));
	if (want > m->cap_s * sizeof(*m->s)) {
		size_t cap = (want + sizeof(*m->s) - 1) / sizeof(*m->s);
		void *ns = tr_mem_grow(m->s, m->cap_s * sizeof(*m->s), cap * sizeof(*m->s));

		if (ns != NULL) {   /* else the pointer path below, in the memory there is */
			m->s = ns;
			m->cap_s = cap;
			c = (struct tr_contact *)(void *)m->s;
		}
	}
	bytes_s = m->cap_s * sizeof(*m->s);
	/* Sized exactly: tr_result_free() frees by n_contacts. */
	out->contacts = tr_mem_grow(NULL, 0, (nc + 1) * sizeof(*c));
	if (out->contacts == NULL)
		return -ENOMEM;
	out->n_contacts = nc;
	if (nc * (sizeof(*c) + 2 * sizeof(struct tr_rkey)) <= bytes_s &&
	    tr_rank_packed(c, nc, t->q->from_ms, (struct tr_rkey *)(void *)(c + nc),
			   out->contacts, two_threads(t, nc)))
		return 0;
	/* A key out of the packed sort's range: rank through pointers. */
	src_c = malloc((nc + 1) * sizeof(*src_c));
	if (src_c == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < nc; i++)
		src_c[i] = &c[i];
	rc = tr_rank_gather(src_c, nc, out->contacts);
	free(src_c);
	return rc;
}

int
tr_run(const struct tr_source *src, const struct tr_query *q, struct tr_result *out)
{
	struct tracer t = { .src = src, .q = q };
	struct tr_probe *p = NULL;
	size_t np = 0, nv = 0;
	struct tr_subj *f0;
	int rc;

	memset(out, 0, sizeof(*out));
	f0 = tr_subj_get(&t.subj, q->pid);
	if (f0 == NULL)
		return -ENOMEM;
	f0->degree = 3;
	rc = timelines(&t, (const uint8_t (*)[PID_LEN])q->pid, 1, &p, &nv, &out->visits);
	if (rc != 0)
		goto done;
	out->n_visits = nv;
	np = nv;
	/* Probes work per site; the operator reads the visits in time order. */
	qsort(out->visits, nv, sizeof(*out->visits), visit_time_cmp);
	rc = probe_all(&t, p, np, 1, q->depth < 2);
	free(p);
	p = NULL;
	if (rc != 0)
		goto done;
	if (q->depth >= 2) {
		uint8_t (*f1)[PID_LEN] = malloc((t.subj.n + 1) * PID_LEN);
		size_t n1 = 0, keep = 0;

		if (f1 == NULL) {
			rc = -ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < t.subj.n; i++)
			if (t.subj.s[i].degree == 1)
				memcpy(f1[n1++], t.subj.s[i].pid, PID_LEN);
		np = 0;   /* no F1: no probes (np still held F0's visit count) */
		rc = n1 > 0 ? timelines(&t, (const uint8_t (*)[PID_LEN])f1, n1, &p, &np, NULL) : 0;
		free(f1);
		if (rc != 0)
			goto done;
		/* Only an F1's visits from its first contact with F0 on spread. */
		for (size_t i = 0; i < np; i++) {
			struct tr_subj *s = tr_subj_find(&t.subj, p[i].owner);

			if (s != NULL && p[i].iv.from_ms >= s->t1)
				p[keep++] = p[i];
		}
		rc = keep > 0 ? probe_all(&t, p, keep, 2, true) : 0;
		free(p);
		p = NULL;
		if (rc != 0)
			goto done;
	}
	rc = rank_contacts(&t, out);
	out->dup_scans = t.dup_scans;
done:
	tr_subjmap_free(&t.subj);
	free(t.fetched);
	tr_scanvec_free(&t.presence);
	if (rc != 0)
		tr_result_free(out);
	return rc;
}

void
tr_result_free(struct tr_result *r)
{
	free(r->visits);
	if (r->contacts != NULL)
		tr_mem_free(r->contacts, (r->n_contacts + 1) * sizeof(*r->contacts));
	memset(r, 0, sizeof(*r));
}
