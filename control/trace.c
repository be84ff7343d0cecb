/*
 * The trace engine (see trace.h for the contract and the exactness
 * argument).  Subjects are kept in an open-addressing table keyed by pid;
 * presence scans fetched from the source are cached per (site, hour) bucket
 * for the whole trace, so depth 2 re-reads nothing depth 1 already read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "trace.h"

#define TWO_STAYS (2 * RULES_MAX_STAY_MS)

int
tr_scanvec_push(struct tr_scanvec *v, const struct tr_scan *s)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *n = realloc(v->v, cap * sizeof(*v->v));

		if (n == NULL)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->n++] = *s;
	return 0;
}

void
tr_scanvec_free(struct tr_scanvec *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* --- subjects by pid --- */
struct subj {
	uint8_t pid[PID_LEN];
	bool used;
	int degree;          /* 0 none, 1 F1, 2 F2, 3 F0 */
	uint64_t t1;         /* F1: earliest start of an interval in contact with F0 */
	struct tr_contact best;
};

struct subjmap {
	struct subj *s;
	size_t cap, n;
};

static uint64_t
pid_hash(const uint8_t pid[PID_LEN])
{
	uint64_t h;

	memcpy(&h, pid, sizeof(h));   /* a pid is already a keyed hash */
	return h;
}

static struct subj *
subj_get(struct subjmap *m, const uint8_t pid[PID_LEN])
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct subjmap big = { .cap = m->cap ? m->cap * 2 : 1024 };

		big.s = calloc(big.cap, sizeof(*big.s));
		if (big.s == NULL)
			return NULL;
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->s[k].used)
				continue;
			for (i = pid_hash(m->s[k].pid) & (big.cap - 1); big.s[i].used;
			     i = (i + 1) & (big.cap - 1))
				;
			big.s[i] = m->s[k];
		}
		big.n = m->n;
		free(m->s);
		*m = big;
	}
	for (i = pid_hash(pid) & (m->cap - 1); m->s[i].used; i = (i + 1) & (m->cap - 1))
		if (memcmp(m->s[i].pid, pid, PID_LEN) == 0)
			return &m->s[i];
	m->s[i].used = true;
	memcpy(m->s[i].pid, pid, PID_LEN);
	m->n++;
	return &m->s[i];
}

static struct subj *
subj_find(const struct subjmap *m, const uint8_t pid[PID_LEN])
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = pid_hash(pid) & (m->cap - 1); m->s[i].used; i = (i + 1) & (m->cap - 1))
		if (memcmp(m->s[i].pid, pid, PID_LEN) == 0)
			return &m->s[i];
	return NULL;
}

/* --- the trace state --- */
struct probe {
	struct rules_interval iv;
	uint8_t owner[PID_LEN];   /* F0 or the F1 */
};

struct tracer {
	const struct tr_source *src;
	const struct tr_query *q;
	struct subjmap subj;
	struct tr_bucket *fetched;    /* sorted */
	size_t n_fetched, cap_fetched;
	struct tr_scanvec presence;   /* every fetched presence scan, sorted by site, pid, ts */
};

static int
bucket_cmp(const void *a, const void *b)
{
	const struct tr_bucket *x = a, *y = b;

	if (x->site_id != y->site_id)
		return x->site_id < y->site_id ? -1 : 1;
	return x->hour < y->hour ? -1 : x->hour > y->hour;
}

static int
presence_cmp(const void *a, const void *b)
{
	const struct tr_scan *x = a, *y = b;
	int c;

	if (x->site_id != y->site_id)
		return x->site_id < y->site_id ? -1 : 1;
	c = memcmp(x->pid, y->pid, PID_LEN);
	if (c != 0)
		return c;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

/* Fetch every bucket the probes need that is not cached yet. */
static int
fetch_buckets(struct tracer *t, const struct probe *p, size_t np)
{
	struct tr_bucket *need = NULL;
	size_t n = 0, cap = 0, m = 0;
	int rc = 0;

	for (size_t i = 0; i < np; i++) {
		const struct rules_interval *iv = &p[i].iv;
		uint64_t lo = iv->from_ms > t->q->window_ms + TWO_STAYS ?
				      iv->from_ms - t->q->window_ms - TWO_STAYS : 0;
		uint64_t hi = iv->to_ms + t->q->window_ms + TWO_STAYS;

		if (lo < t->q->from_ms)
			lo = t->q->from_ms;
		if (hi > t->q->to_ms)
			hi = t->q->to_ms;
		for (uint32_t h = layout_hour(lo); lo <= hi && h <= layout_hour(hi); h++) {
			struct tr_bucket b = { .site_id = iv->site_id, .hour = h };

			if (t->n_fetched > 0 && bsearch(&b, t->fetched, t->n_fetched, sizeof(b),
							bucket_cmp) != NULL)
				continue;
			if (n == cap) {
				void *nn = realloc(need, (cap = cap ? cap * 2 : 256) * sizeof(*need));

				if (nn == NULL) {
					free(need);
					return -ENOMEM;
				}
				need = nn;
			}
			need[n++] = b;
		}
	}
	if (n == 0)
		return 0;
	qsort(need, n, sizeof(*need), bucket_cmp);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || bucket_cmp(&need[m - 1], &need[i]) != 0)
			need[m++] = need[i];
	rc = t->src->site_hours(t->src->ctx, need, m, &t->presence);
	if (rc == 0) {
		if (t->n_fetched + m > t->cap_fetched) {
			size_t cap2 = (t->n_fetched + m) * 2;
			void *nn = realloc(t->fetched, cap2 * sizeof(*t->fetched));

			if (nn == NULL) {
				free(need);
				return -ENOMEM;
			}
			t->fetched = nn;
			t->cap_fetched = cap2;
		}
		memcpy(t->fetched + t->n_fetched, need, m * sizeof(*need));
		t->n_fetched += m;
		qsort(t->fetched, t->n_fetched, sizeof(*t->fetched), bucket_cmp);
		qsort(t->presence.v, t->presence.n, sizeof(*t->presence.v), presence_cmp);
	}
	free(need);
	return rc;
}

static bool
better(const struct tr_contact *a, const struct tr_contact *b)
{
	if (a->overlap_ms != b->overlap_ms)
		return a->overlap_ms > b->overlap_ms;
	if (a->contact_ms != b->contact_ms)
		return a->contact_ms < b->contact_ms;
	if (a->site_id != b->site_id)
		return a->site_id < b->site_id;
	return memcmp(a->via, b->via, PID_LEN) < 0;
}

static void
record(struct tracer *t, struct subj *s, int degree, const struct rules_interval *a,
       const struct rules_interval *k, uint64_t overlap, const uint8_t via[PID_LEN])
{
	struct tr_contact c = { .degree = degree, .site_id = a->site_id, .overlap_ms = overlap };

	(void)t;
	memcpy(c.pid, s->pid, PID_LEN);
	if (degree == 2)
		memcpy(c.via, via, PID_LEN);
	c.contact_ms = a->from_ms > k->from_ms ? a->from_ms : k->from_ms;
	c.first_ms = c.contact_ms;
	if (s->degree != degree) {
		s->degree = degree;
		s->best = c;
		s->t1 = k->from_ms;
		return;
	}
	if (k->from_ms < s->t1)
		s->t1 = k->from_ms;
	c.first_ms = s->best.first_ms < c.contact_ms ? s->best.first_ms : c.contact_ms;
	if (better(&c, &s->best))
		s->best = c;
	else
		s->best.first_ms = c.first_ms;
}

static int
probe_cmp(const void *a, const void *b)
{
	const struct probe *x = a, *y = b;

	if (x->iv.site_id != y->iv.site_id)
		return x->iv.site_id < y->iv.site_id ? -1 : 1;
	return x->iv.from_ms < y->iv.from_ms ? -1 : x->iv.from_ms > y->iv.from_ms;
}

/*
 * Find every subject (not excluded) in contact with one of the probes and
 * record it at `degree`.  Excluded: F0 always; at degree 2 also every F1.
 */
static int
probe_all(struct tracer *t, struct probe *p, size_t np, int degree)
{
	struct rules_scan *scans = NULL;
	struct rules_interval *ivs = NULL;
	size_t cap = 0;
	int rc;

	rc = fetch_buckets(t, p, np);
	if (rc != 0)
		return rc;
	qsort(p, np, sizeof(*p), probe_cmp);
	for (size_t i = 0; i < np;) {
		uint32_t site = p[i].iv.site_id;
		size_t j = i, lo = 0, hi = t->presence.n;
		struct tr_scan key = { .site_id = site };

		while (j < np && p[j].iv.site_id == site)
			j++;
		/* First presence scan at this site. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (t->presence.v[mid].site_id < key.site_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < t->presence.n && t->presence.v[lo].site_id == site) {
			size_t e = lo, n = 0, m;
			const uint8_t *pid = t->presence.v[lo].pid;
			struct subj *s;

			while (e < t->presence.n && t->presence.v[e].site_id == site &&
			       memcmp(t->presence.v[e].pid, pid, PID_LEN) == 0)
				e++;
			s = subj_find(&t->subj, pid);
			if (s != NULL && (s->degree == 3 || (degree == 2 && s->degree == 1))) {
				lo = e;
				continue;
			}
			if (e - lo > cap) {
				cap = (e - lo) * 2;
				free(scans);
				free(ivs);
				scans = malloc(cap * sizeof(*scans));
				ivs = malloc(cap * sizeof(*ivs));
				if (scans == NULL || ivs == NULL) {
					free(scans);
					free(ivs);
					return -ENOMEM;
				}
			}
			for (size_t k = lo; k < e; k++) {
				const struct tr_scan *sc = &t->presence.v[k];

				if (sc->ts_ms < t->q->from_ms || sc->ts_ms > t->q->to_ms)
					continue;
				scans[n++] = (struct rules_scan){ .ts_ms = sc->ts_ms,
								  .site_id = sc->site_id,
								  .dir = sc->dir };
			}
			m = rules_intervals(scans, n, t->src->kind, t->src->ctx, ivs);
			for (size_t a = i; a < j; a++) {
				for (size_t k = 0; k < m; k++) {
					uint64_t ov;

					if (!rules_contact(&p[a].iv, &ivs[k], t->q->window_ms,
							   t->q->min_overlap_ms, &ov))
						continue;
					if (s == NULL && (s = subj_get(&t->subj, pid)) == NULL) {
						free(scans);
						free(ivs);
						return -ENOMEM;
					}
					record(t, s, degree, &p[a].iv, &ivs[k], ov, p[a].owner);
				}
			}
			lo = e;
		}
		i = j;
	}
	free(scans);
	free(ivs);
	return 0;
}

static int
pid_first_cmp(const void *a, const void *b)
{
	const struct tr_scan *x = a, *y = b;
	int c = memcmp(x->pid, y->pid, PID_LEN);

	if (c != 0)
		return c;
	return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* Intervals of each of n subjects from their timelines. */
static int
timelines(struct tracer *t, const uint8_t (*pids)[PID_LEN], size_t n, struct probe **out,
	  size_t *nout, struct rules_interval **f0_visits)
{
	struct tr_scanvec v = { 0 };
	struct rules_scan *rs;
	struct probe *p;
	size_t np = 0;
	int rc = t->src->timelines(t->src->ctx, pids, n, t->q->from_ms, t->q->to_ms, &v);

	if (rc != 0) {
		tr_scanvec_free(&v);
		return rc;
	}
	/* Group by pid: sort, then one pass per subject in the order asked. */
	qsort(v.v, v.n, sizeof(*v.v), pid_first_cmp);
	rs = malloc((v.n + 1) * sizeof(*rs));
	p = malloc((v.n + 1) * sizeof(*p));
	if (rs == NULL || p == NULL) {
		free(rs);
		free(p);
		tr_scanvec_free(&v);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		size_t ns = 0, m, lo = 0, hi = v.n;
		struct rules_interval *ivs;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (memcmp(v.v[mid].pid, pids[k], PID_LEN) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < v.n && memcmp(v.v[i].pid, pids[k], PID_LEN) == 0; i++)
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
contact_cmp(const void *a, const void *b)
{
	const struct tr_contact *x = a, *y = b;

	if (x->overlap_ms != y->overlap_ms)
		return x->overlap_ms > y->overlap_ms ? -1 : 1;
	if (x->degree != y->degree)
		return x->degree - y->degree;
	if (x->first_ms != y->first_ms)
		return x->first_ms < y->first_ms ? -1 : 1;
	return memcmp(x->pid, y->pid, PID_LEN);
}

static int
visit_time_cmp(const void *a, const void *b)
{
	const struct rules_interval *x = a, *y = b;

	if (x->from_ms != y->from_ms)
		return x->from_ms < y->from_ms ? -1 : 1;
	return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

void
tr_rank(struct tr_contact *c, size_t n)
{
	qsort(c, n, sizeof(*c), contact_cmp);
}

int
tr_run(const struct tr_source *src, const struct tr_query *q, struct tr_result *out)
{
	struct tracer t = { .src = src, .q = q };
	struct probe *p = NULL;
	size_t np = 0, nv = 0;
	struct subj *f0;
	int rc;

	memset(out, 0, sizeof(*out));
	f0 = subj_get(&t.subj, q->pid);
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
	rc = probe_all(&t, p, np, 1);
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
		for (size_t i = 0; i < t.subj.cap; i++)
			if (t.subj.s[i].used && t.subj.s[i].degree == 1)
				memcpy(f1[n1++], t.subj.s[i].pid, PID_LEN);
		np = 0;   /* no F1: no probes (np still held F0's visit count) */
		rc = n1 > 0 ? timelines(&t, (const uint8_t (*)[PID_LEN])f1, n1, &p, &np, NULL) : 0;
		free(f1);
		if (rc != 0)
			goto done;
		/* Only an F1's visits from its first contact with F0 on spread. */
		for (size_t i = 0; i < np; i++) {
			struct subj *s = subj_find(&t.subj, p[i].owner);

			if (s != NULL && p[i].iv.from_ms >= s->t1)
				p[keep++] = p[i];
		}
		rc = keep > 0 ? probe_all(&t, p, keep, 2) : 0;
		free(p);
		p = NULL;
		if (rc != 0)
			goto done;
	}
	out->contacts = malloc((t.subj.n + 1) * sizeof(*out->contacts));
	if (out->contacts == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < t.subj.cap; i++)
		if (t.subj.s[i].used && (t.subj.s[i].degree == 1 || t.subj.s[i].degree == 2))
			out->contacts[out->n_contacts++] = t.subj.s[i].best;
	tr_rank(out->contacts, out->n_contacts);
done:
	free(t.subj.s);
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
	free(r->contacts);
	memset(r, 0, sizeof(*r));
}
