/*
 * The trace engine's logic (see trace.h for the contract and the exactness
 * argument; trace_fetch.c reads the source).  Subjects are kept in a table
 * keyed by pid (trace_store.c).  Each site is probed as soon as its last
 * presence bucket has arrived, while Redis is still answering the rest of
 * the pipeline.  Probing works site by site: the site's scans are grouped by
 * pid in a small hash table (reused scratch), each subject's intervals are
 * built once, and each interval is checked only against the probes whose
 * start can reach it (binary search over the site's probes sorted by
 * start).  The subject table is consulted only when a contact is found.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/*
 * Probing runs while the presence is still arriving: buckets are read in
 * (site, block) order, so once a site's last bucket is in, every probe at that
 * site (and at the sites before it, whose buckets were all cached) can be
 * checked while Redis keeps answering the rest of the pipeline.
 */
struct scratch;
struct pump {
	struct tracer *t;
	const struct tr_probe *p; /* sorted by site, then start */
	size_t np, next;          /* p[next..np) not probed yet */
	int degree;
	struct scratch *x;
};

static int probe_site(struct tracer *t, struct scratch *x, const struct tr_probe *p, size_t np,
		      int degree);

/* Probe every site group up to and including `site` (tr_site_ready_fn). 0 or -errno. */
static int
pump_to(void *arg, uint32_t site)
{
	struct pump *u = arg;

	while (u->next < u->np && u->p[u->next].iv.site_id <= site) {
		size_t j = u->next;
		int rc;

		while (j < u->np && u->p[j].iv.site_id == u->p[u->next].iv.site_id)
			j++;
		rc = probe_site(u->t, u->x, u->p + u->next, j - u->next, u->degree);
		if (rc != 0)
			return rc;
		u->next = j;
	}
	return 0;
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
record(struct tr_subj *s, int degree, const struct rules_interval *a,
       const struct rules_interval *k, uint64_t overlap, const uint8_t via[PID_LEN])
{
	struct tr_contact c = { .degree = degree, .site_id = a->site_id, .overlap_ms = overlap };

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
	const struct tr_probe *x = a, *y = b;

	if (x->iv.site_id != y->iv.site_id)
		return x->iv.site_id < y->iv.site_id ? -1 : 1;
	return x->iv.from_ms < y->iv.from_ms ? -1 : x->iv.from_ms > y->iv.from_ms;
}

/* The one site being probed: its kind, looked up once. */
struct site_kind_ctx {
	enum site_kind kind;
};

static enum site_kind
site_kind_fixed(uint32_t site_id, void *ctx)
{
	(void)site_id;
	return ((const struct site_kind_ctx *)ctx)->kind;
}

/*
 * Scratch reused across sites: the site's scans grouped by pid.  Groups are
 * dense, in first-seen order; the table holds their numbers under 32 bits of
 * the pid's hash (8 bytes a slot, as in trace_store.c's subject table), so
 * a probe past another pid rarely reads that group.
 */
struct group {
	const uint8_t *pid;
	uint64_t h;           /* tr_pid_hash(pid) */
	uint64_t last_ts;     /* of the scan at tail */
	uint64_t lo_ts, hi_ts; /* the earliest and latest of its scans here */
	uint32_t head, tail;  /* the pid's scans: x->sc[head], then x->next[] */
	uint32_t slot;        /* where the table holds it */
	uint8_t last_dir;
	bool dups;            /* some scan not after the one before it: look for duplicates */
};

#define GROUP_TAG 0xffffffff00000000ULL

struct scratch {
	const struct tr_scan **sc;   /* the site's scans */
	uint32_t *next;              /* per scan: the next of its pid, UINT32_MAX = last */
	struct group *g;             /* g[0..ng): one per pid */
	struct rules_scan *rs;
	struct rules_interval *ivs;
	uint32_t *cand;              /* the groups some probe may meet */
	size_t cap;                  /* of each array above */
	uint64_t *slot;              /* tag | (group + 1); 0 = empty */
	size_t scap;                 /* slots, a power of two */
};

static int
scratch_reserve(struct scratch *x, size_t n)
{
	size_t scap = 64;

	if (n > x->cap) {
		size_t cap = n * 2;

		free(x->sc);
		free(x->next);
		free(x->g);
		free(x->rs);
		free(x->ivs);
		free(x->cand);
		x->sc = malloc(cap * sizeof(*x->sc));
		x->next = malloc(cap * sizeof(*x->next));
		x->g = malloc(cap * sizeof(*x->g));
		x->rs = malloc(cap * sizeof(*x->rs));
		x->ivs = malloc(cap * sizeof(*x->ivs));
		x->cand = malloc(cap * sizeof(*x->cand));
		x->cap = cap;
		if (x->sc == NULL || x->next == NULL || x->g == NULL || x->rs == NULL ||
		    x->ivs == NULL || x->cand == NULL) {
			x->cap = 0;
			return -ENOMEM;
		}
	}
	while (scap < n * 2)
		scap *= 2;
	if (scap > x->scap) {
		/* Zeroed once: probe_site() empties the slots it used. */
		free(x->slot);
		x->slot = calloc(scap, sizeof(*x->slot));
		x->scap = x->slot != NULL ? scap : 0;
		if (x->slot == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
scratch_free(struct scratch *x)
{
	free(x->sc);
	free(x->next);
	free(x->g);
	free(x->rs);
	free(x->ivs);
	free(x->cand);
	free(x->slot);
}

static int
rs_cmp(const void *a, const void *b)
{
	const struct rules_scan *x = a, *y = b;

	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

/*
 * The exact duplicates among a pid's scans at one site (a resent
 * generation's; records are stored in append order, not sorted:
 * proto/layout.h), counted in t->dup_scans when in chunks probed for the
 * first time, so a scan re-probed at depth 2 is not counted twice.
 */
static void
count_dups(struct tracer *t, const struct scratch *x, const struct group *g)
{
	const struct tr_scan *fresh = t->presence.v + (t->fresh_chunk < t->n_chunks ?
						      t->chunks[t->fresh_chunk].lo : t->presence.n);

	for (uint32_t k = g->head; k != UINT32_MAX; k = x->next[k]) {
		uint32_t j;

		if (x->sc[k] < fresh)
			continue;
		for (j = x->next[k]; j != UINT32_MAX; j = x->next[j])
			if (x->sc[j]->ts_ms == x->sc[k]->ts_ms && x->sc[j]->dir == x->sc[k]->dir)
				break;
		if (j != UINT32_MAX)
			t->dup_scans++;   /* a later copy exists: this one is dropped */
	}
}

/*
 * A pid's scans at one site x->rs[0..ns), out of order: sorted by (ts, dir)
 * and exact duplicates dropped (and counted).  Returns the number kept.
 */
static size_t
drop_dups(struct tracer *t, const struct scratch *x, const struct group *g, size_t ns)
{
	size_t kept = 0;

	/* Which stored scan each rs came from is lost by the sort: count first. */
	count_dups(t, x, g);
	qsort(x->rs, ns, sizeof(*x->rs), rs_cmp);
	for (size_t i = 0; i < ns; i++)
		if (kept == 0 || rs_cmp(&x->rs[kept - 1], &x->rs[i]) != 0)
			x->rs[kept++] = x->rs[i];
	return kept;
}

/* The first of the probes p[0..np) (sorted by start) starting at or after `from`. */
static size_t
first_probe(const struct tr_probe *p, size_t np, uint64_t from)
{
	size_t a = 0, h = np;

	while (a < h) {
		size_t mid = a + (h - a) / 2;

		if (p[mid].iv.from_ms < from)
			a = mid + 1;
		else
			h = mid;
	}
	return a;
}

/*
 * Every subject at this site (all its fetched scans) checked against the
 * probes p[0..np) at the site, sorted by start.  A subject's intervals are
 * built from all its scans at the site in [from, to] (rules_intervals), and
 * each is checked only against the probes that can meet it: those starting
 * in [c - w - maxlen, d + w], maxlen the longest probe here.
 */
static int
probe_site(struct tracer *t, struct scratch *x, const struct tr_probe *p, size_t np, int degree)
{
	uint32_t site = p[0].iv.site_id;
	struct site_kind_ctx kc = { .kind = KIND_UNKNOWN };
	uint64_t w = t->q->window_ms, maxlen = 0, dwell = rules_max_dwell_ms();
	size_t n = 0, ng = 0, nc = 0, total = 0;
	size_t lo[TR_MAX_CHUNKS], hi[TR_MAX_CHUNKS];

	if (t->src->kind != NULL)
		kc.kind = t->src->kind(site, t->src->ctx);
	for (size_t a = 0; a < np; a++)
		if (p[a].iv.to_ms - p[a].iv.from_ms > maxlen)
			maxlen = p[a].iv.to_ms - p[a].iv.from_ms;
	tr_presence_site(t, site, lo, hi);
	for (size_t c = 0; c < t->n_chunks; c++)
		total += hi[c] - lo[c];
	if (total == 0)
		return 0;
	if (scratch_reserve(x, total) != 0)
		return -ENOMEM;
	/* Group by pid, keeping each pid's scans in arrival order. */
	for (size_t c = 0; c < t->n_chunks; c++)
		for (size_t k = lo[c]; k < hi[c]; k++) {
			const struct tr_scan *sc = &t->presence.v[k];
			uint64_t h;
			size_t i;

			if (sc->ts_ms < t->q->from_ms || sc->ts_ms > t->q->to_ms)
				continue;
			x->sc[n] = sc;
			x->next[n] = UINT32_MAX;
			h = tr_pid_hash(sc->pid);
			for (i = (size_t)(h >> 20) & (x->scap - 1);; i = (i + 1) & (x->scap - 1)) {
				uint64_t v = x->slot[i];

				if (v == 0) {
					x->g[ng] = (struct group){ .pid = sc->pid, .h = h,
								   .last_ts = sc->ts_ms,
								   .lo_ts = sc->ts_ms,
								   .hi_ts = sc->ts_ms,
								   .head = (uint32_t)n,
								   .tail = (uint32_t)n,
								   .slot = (uint32_t)i,
								   .last_dir = sc->dir };
					x->slot[i] = (h & GROUP_TAG) | ++ng;
					break;
				}
				if ((v & GROUP_TAG) == (h & GROUP_TAG) &&
				    memcmp(x->g[(uint32_t)v - 1].pid, sc->pid, PID_LEN) == 0) {
					struct group *g = &x->g[(uint32_t)v - 1];

					/* Not after the pid's last scan here: maybe a duplicate. */
					if (sc->ts_ms < g->last_ts ||
					    (sc->ts_ms == g->last_ts && sc->dir <= g->last_dir))
						g->dups = true;
					g->last_ts = sc->ts_ms;
					g->last_dir = sc->dir;
					if (sc->ts_ms < g->lo_ts)
						g->lo_ts = sc->ts_ms;
					if (sc->ts_ms > g->hi_ts)
						g->hi_ts = sc->ts_ms;
					x->next[g->tail] = (uint32_t)n;
					g->tail = (uint32_t)n;
					break;
				}
			}
			n++;
		}
	/*
	 * Only groups some probe may meet: every interval of a group lies in
	 * [lo_ts, hi_ts + D] (a pair between its scans, a lone scan [ts, ts +
	 * dwell]), so the probes checked below start in [lo_ts - w - maxlen,
	 * hi_ts + D + w]; a group with no probe starting there is skipped
	 * before its intervals are built (most of a depth-2 trace's groups:
	 * the buckets read reach hours past the probes); its duplicates are
	 * still counted.
	 */
	for (size_t gi = 0; gi < ng; gi++) {
		const struct group *g = &x->g[gi];
		size_t a = first_probe(p, np, g->lo_ts > w + maxlen ? g->lo_ts - w - maxlen : 0);

		if (a < np && p[a].iv.from_ms <= g->hi_ts + dwell + w)
			x->cand[nc++] = (uint32_t)gi;
		else if (g->dups)
			count_dups(t, x, g);   /* dropped all the same: counted as ever */
	}
	for (size_t ci = 0; ci < nc; ci++) {
		const struct group *g = &x->g[x->cand[ci]];
		struct tr_subj *s = NULL;
		bool looked = false;
		size_t ns = 0, m;

		/*
		 * The subject table is big and cold: start loading the slot of the
		 * group 16 ahead, and the record named by the slot (loaded by then)
		 * of the group 4 ahead: the record's pid compare was 87 % of the
		 * lookup's samples (a guess: the search may go on past that slot).
		 */
		if (ci + 16 < nc && t->subj.cap > 0)
			__builtin_prefetch(&t->subj.slot[(size_t)(x->g[x->cand[ci + 16]].h >> 20) &
							 (t->subj.cap - 1)]);
		if (ci + 4 < nc && t->subj.cap > 0) {
			uint64_t v = t->subj.slot[(size_t)(x->g[x->cand[ci + 4]].h >> 20) &
						  (t->subj.cap - 1)];

			if (v != 0) {   /* a record spans two cache lines */
				const char *rec = (const char *)&t->subj.s[(uint32_t)v - 1];

				__builtin_prefetch(rec);
				__builtin_prefetch(rec + sizeof(*t->subj.s) - 1);
			}
		}

		for (uint32_t k = g->head; k != UINT32_MAX; k = x->next[k])
			x->rs[ns++] = (struct rules_scan){ .ts_ms = x->sc[k]->ts_ms,
							   .site_id = site, .dir = x->sc[k]->dir };
		if (g->dups)
			ns = drop_dups(t, x, g, ns);
		m = rules_intervals(x->rs, ns, site_kind_fixed, &kc, x->ivs);
		for (size_t k = 0; k < m; k++) {
			const struct rules_interval *iv = &x->ivs[k];
			size_t a = first_probe(p, np, iv->from_ms > w + maxlen ?
						      iv->from_ms - w - maxlen : 0);

			for (; a < np && p[a].iv.from_ms <= iv->to_ms + w; a++) {
				uint64_t ov;

				if (!rules_contact(&p[a].iv, iv, w, t->q->min_overlap_ms, &ov))
					continue;
				if (!looked) {
					looked = true;
					s = tr_subj_find(&t->subj, g->pid);
					if (s != NULL &&
					    (s->degree == 3 || (degree == 2 && s->degree == 1)))
						goto next_group;   /* F0, or an F1 at depth 2 */
					if (s == NULL && (s = tr_subj_get(&t->subj, g->pid)) == NULL)
						return -ENOMEM;
				}
				record(s, degree, &p[a].iv, iv, ov, p[a].owner);
			}
		}
next_group:;
	}
	for (size_t gi = 0; gi < ng; gi++)
		x->slot[x->g[gi].slot] = 0;   /* the table is empty again */
	return 0;
}

/*
 * Find every subject (not excluded) in contact with one of the probes and
 * record it at `degree`.  Excluded: F0 always; at degree 2 also every F1.
 * `last`: no probing follows, so the scans fetched now need not be kept.
 */
static int
probe_all(struct tracer *t, struct tr_probe *p, size_t np, int degree, bool last)
{
	struct scratch x = { 0 };
	struct pump u = { .t = t, .p = p, .np = np, .degree = degree, .x = &x };
	int rc;

	qsort(p, np, sizeof(*p), probe_cmp);
	t->fresh_chunk = t->n_chunks;
	rc = tr_fetch_presence(t, p, np, last, pump_to, &u);
	if (rc == 0)
		rc = pump_to(&u, UINT32_MAX);   /* sites with nothing new to read, the rest */
	scratch_free(&x);
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
 * The contacts (F1 and F2), ranked, into out.  Each contact is moved to the
 * front of the subject table (a tr_contact is smaller than a tr_subj, so
 * the moves never overwrite a record not read yet), their packed keys are
 * sorted in the table's tail (memory already faulted in), and the contacts
 * gathered in rank order into the result.  The subject table is gone
 * afterwards.
 */
static int
rank_contacts(struct tracer *t, struct tr_result *out)
{
	struct tr_subjmap *m = &t->subj;
	struct tr_contact *c = (struct tr_contact *)(void *)m->s;
	size_t nc = 0, bytes_s = m->cap_s * sizeof(*m->s);
	const struct tr_contact **src_c;
	int rc;

	for (size_t i = 0; i < m->n; i++)
		if (m->s[i].degree == 1 || m->s[i].degree == 2)
			memmove(&c[nc++], &m->s[i].best, sizeof(*c));
	m->n = 0;   /* the records are gone; tr_subjmap_free() still frees the memory */
	/* Sized exactly: tr_result_free() frees by n_contacts. */
	out->contacts = tr_mem_grow(NULL, 0, (nc + 1) * sizeof(*c));
	if (out->contacts == NULL)
		return -ENOMEM;
	out->n_contacts = nc;
	if (nc * (sizeof(*c) + 2 * sizeof(struct tr_rkey)) <= bytes_s &&
	    tr_rank_packed(c, nc, t->q->from_ms, (struct tr_rkey *)(void *)(c + nc),
			   out->contacts))
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
