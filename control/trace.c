/*
 * The trace engine (see trace.h for the contract and the exactness
 * argument).  Subjects are kept in a table keyed by pid (trace_store.c);
 * presence scans fetched from the source are cached per (site, block) bucket
 * for the whole trace (a sorted list of the buckets read), so depth 2
 * re-reads nothing depth 1 already read.  Each fetch appends one chunk of
 * scans in (site, block) order; nothing is ever sorted globally, and each site
 * is probed as soon as its last bucket has arrived, while Redis is still
 * answering the rest of the pipeline.  Probing works site by
 * site: the site's scans are grouped by pid in a small hash table (reused
 * scratch), each subject's intervals are built once, and each interval is
 * checked only against the probes whose start can reach it (binary search
 * over the site's probes sorted by start).  The subject table is consulted
 * only when a contact is found.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "trace_int.h"

/* --- the trace state --- */
struct probe {
	struct rules_interval iv;
	uint8_t owner[PID_LEN];   /* F0 or the F1 */
};

/* A run of presence scans from one fetch: grouped by site (ascending). */
#define MAX_CHUNKS 4
struct chunk {
	size_t lo, hi;
};

struct tracer {
	const struct tr_source *src;
	const struct tr_query *q;
	struct tr_subjmap subj;
	uint64_t *fetched;            /* buckets read: site << 32 | block, ascending */
	size_t n_fetched;
	struct tr_scanvec presence;   /* every fetched presence scan, chunk after chunk */
	struct chunk chunks[MAX_CHUNKS];
	size_t n_chunks;
};

/*
 * Probing runs while the presence is still arriving: buckets are read in
 * (site, block) order, so once a site's last bucket is in, every probe at that
 * site (and at the sites before it, whose buckets were all cached) can be
 * checked while Redis keeps answering the rest of the pipeline.
 */
struct scratch;
struct pump {
	struct tracer *t;
	const struct probe *p;    /* sorted by site, then start */
	size_t np, next;          /* p[next..np) not probed yet */
	int degree;
	const struct tr_bucket *b; /* the buckets being read */
	size_t nb;
	bool last;                /* the trace's last fetch: drop a site's scans once probed */
	struct scratch *x;
};

static int probe_site(struct tracer *t, struct scratch *x, const struct probe *p, size_t np,
		      int degree);

/* Probe every site group up to and including `site`. 0 or -errno. */
static int
pump_to(struct pump *u, uint32_t site)
{
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

/* tr_bucket_done_fn: after a site's last bucket, probe up to it. */
static int
bucket_done(void *arg, size_t i)
{
	struct pump *u = arg;

	struct chunk *c = &u->t->chunks[u->t->n_chunks - 1];
	int rc;

	if (i + 1 < u->nb && u->b[i + 1].site_id == u->b[i].site_id)
		return 0;
	c->hi = u->t->presence.n;
	rc = pump_to(u, u->b[i].site_id);
	if (rc == 0 && u->last) {
		/* Nothing will read these again: reuse their memory (already faulted in). */
		u->t->presence.n = c->lo;
		c->hi = c->lo;
	}
	return rc;
}

/*
 * Fetch every bucket the probes (sorted by site, then start) need that is not
 * cached yet, in (site, block) order, as one more chunk of t->presence.  Per
 * site the probes' block ranges are merged as they come (starts ascend), and
 * each new range is walked against the sorted list of buckets already read:
 * no hashing, no sort.
 */
static int
fetch_buckets(struct tracer *t, struct pump *u)
{
	const struct probe *p = u->p;
	size_t np = u->np;
	uint64_t before = t->q->window_ms + RULES_MAX_STAY_MS + rules_max_dwell_ms();
	uint64_t after = t->q->window_ms + RULES_MAX_STAY_MS;
	uint64_t *need = NULL, *all;
	struct tr_bucket *b;
	size_t n = 0, cap = 0, lo = t->presence.n, j = 0;
	int rc = 0;

	uint32_t open_site = 0, open_h0 = 0, open_h1 = 0;
	bool open = false;

	/* One pass; i == np only flushes the last open range. */
	for (size_t i = 0; i <= np; i++) {
		uint32_t h0 = 0, h1 = 0;
		bool have = false;

		if (i < np) {
			uint64_t from = p[i].iv.from_ms > before ? p[i].iv.from_ms - before : 0;
			uint64_t to = p[i].iv.to_ms + after;

			if (from < t->q->from_ms)
				from = t->q->from_ms;
			if (to > t->q->to_ms)
				to = t->q->to_ms;
			if (from <= to) {
				h0 = layout_block(from);
				h1 = layout_block(to);
				have = true;
			}
		}
		if (have && open && p[i].iv.site_id == open_site && h0 <= open_h1 + 1) {
			if (h1 > open_h1)
				open_h1 = h1;   /* extends the open range */
			continue;
		}
		if (!have && i < np)
			continue;
		if (open) {
			/* Emit the open range, minus the buckets already read. */
			for (uint32_t h = open_h0; h <= open_h1; h++) {
				uint64_t k = (uint64_t)open_site << 32 | h;

				while (j < t->n_fetched && t->fetched[j] < k)
					j++;
				if (j < t->n_fetched && t->fetched[j] == k)
					continue;
				if (n == cap) {
					void *nn = realloc(need,
							   (cap = cap ? cap * 2 : 1024) * sizeof(*need));

					if (nn == NULL) {
						free(need);
						return -ENOMEM;
					}
					need = nn;
				}
				need[n++] = k;
			}
		}
		open = have;
		if (have) {
			open_site = p[i].iv.site_id;
			open_h0 = h0;
			open_h1 = h1;
		}
	}
	if (n == 0) {
		free(need);
		return 0;
	}
	/* Remember them: merge into the sorted list (disjoint from it). */
	all = malloc((t->n_fetched + n) * sizeof(*all));
	if (all == NULL) {
		free(need);
		return -ENOMEM;
	}
	{
		size_t x = 0, y = 0, z = 0;

		while (x < t->n_fetched || y < n)
			all[z++] = y == n || (x < t->n_fetched && t->fetched[x] < need[y]) ?
					   t->fetched[x++] : need[y++];
	}
	free(t->fetched);
	t->fetched = all;
	t->n_fetched += n;
	/* Same storage, now as buckets (8 bytes each, written in place front to back). */
	b = (struct tr_bucket *)need;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = need[i];

		b[i] = (struct tr_bucket){ .site_id = (uint32_t)(k >> 32), .block = (uint32_t)k };
	}
	if (t->n_chunks == MAX_CHUNKS) {
		free(need);
		return -E2BIG;   /* tr_run fetches twice */
	}
	t->chunks[t->n_chunks++] = (struct chunk){ lo, lo };
	u->b = b;
	u->nb = n;
	rc = t->src->site_blocks(t->src->ctx, b, n, &t->presence, bucket_done, u);
	t->chunks[t->n_chunks - 1].hi = t->presence.n;
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
	const struct probe *x = a, *y = b;

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

/* Scratch reused across sites: the site's scans grouped by pid. */
struct group {
	const uint8_t *pid;   /* NULL = empty slot */
	uint32_t head, tail, n;
};

struct scratch {
	const struct tr_scan **sc;   /* the site's scans */
	uint32_t *next;              /* per scan: the next of its pid, UINT32_MAX = last */
	size_t cap;
	struct group *g;             /* open addressing by pid */
	size_t gcap;
	uint32_t *order;             /* used slots, in first-seen order */
	struct rules_scan *rs;
	struct rules_interval *ivs;
};

static int
scratch_reserve(struct scratch *x, size_t n)
{
	size_t gcap = 64;

	if (n > x->cap) {
		size_t cap = n * 2;

		free(x->sc);
		free(x->next);
		free(x->order);
		free(x->rs);
		free(x->ivs);
		x->sc = malloc(cap * sizeof(*x->sc));
		x->next = malloc(cap * sizeof(*x->next));
		x->order = malloc(cap * sizeof(*x->order));
		x->rs = malloc(cap * sizeof(*x->rs));
		x->ivs = malloc(cap * sizeof(*x->ivs));
		x->cap = cap;
		if (x->sc == NULL || x->next == NULL || x->order == NULL || x->rs == NULL ||
		    x->ivs == NULL) {
			x->cap = 0;
			return -ENOMEM;
		}
	}
	while (gcap < n * 2)
		gcap *= 2;
	if (gcap > x->gcap) {
		free(x->g);
		x->g = malloc(gcap * sizeof(*x->g));
		x->gcap = x->g != NULL ? gcap : 0;
		if (x->g == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
scratch_free(struct scratch *x)
{
	free(x->sc);
	free(x->next);
	free(x->order);
	free(x->rs);
	free(x->ivs);
	free(x->g);
}

/* [lo, hi) of the scans at `site` in a chunk (grouped by site, ascending). */
static void
chunk_site(const struct tr_scanvec *v, const struct chunk *c, uint32_t site, size_t *lo,
	   size_t *hi)
{
	size_t l = c->lo, h = c->hi;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (v->v[mid].site_id < site)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	for (h = l; h < c->hi && v->v[h].site_id == site; h++)
		;
	*hi = h;
}

/*
 * Every subject at this site (all its fetched scans) checked against the
 * probes p[0..np) at the site, sorted by start.  A subject's intervals are
 * built from all its scans at the site in [from, to] (rules_intervals), and
 * each is checked only against the probes that can meet it: those starting
 * in [c - w - maxlen, d + w], maxlen the longest probe here.
 */
static int
probe_site(struct tracer *t, struct scratch *x, const struct probe *p, size_t np, int degree)
{
	uint32_t site = p[0].iv.site_id;
	struct site_kind_ctx kc = { .kind = KIND_UNKNOWN };
	uint64_t w = t->q->window_ms, maxlen = 0;
	size_t n = 0, ng = 0, total = 0;
	size_t lo[MAX_CHUNKS], hi[MAX_CHUNKS];

	if (t->src->kind != NULL)
		kc.kind = t->src->kind(site, t->src->ctx);
	for (size_t a = 0; a < np; a++)
		if (p[a].iv.to_ms - p[a].iv.from_ms > maxlen)
			maxlen = p[a].iv.to_ms - p[a].iv.from_ms;
	for (size_t c = 0; c < t->n_chunks; c++) {
		chunk_site(&t->presence, &t->chunks[c], site, &lo[c], &hi[c]);
		total += hi[c] - lo[c];
	}
	if (total == 0)
		return 0;
	if (scratch_reserve(x, total) != 0)
		return -ENOMEM;
	memset(x->g, 0, x->gcap * sizeof(*x->g));
	/* Group by pid, keeping each pid's scans in arrival order. */
	for (size_t c = 0; c < t->n_chunks; c++)
		for (size_t k = lo[c]; k < hi[c]; k++) {
			const struct tr_scan *sc = &t->presence.v[k];
			size_t i;

			if (sc->ts_ms < t->q->from_ms || sc->ts_ms > t->q->to_ms)
				continue;
			x->sc[n] = sc;
			x->next[n] = UINT32_MAX;
			for (i = (size_t)(tr_pid_hash(sc->pid) >> 20) & (x->gcap - 1);
			     x->g[i].pid != NULL && memcmp(x->g[i].pid, sc->pid, PID_LEN) != 0;
			     i = (i + 1) & (x->gcap - 1))
				;
			if (x->g[i].pid == NULL) {
				x->g[i] = (struct group){ .pid = sc->pid, .head = (uint32_t)n,
							  .tail = (uint32_t)n };
				x->order[ng++] = (uint32_t)i;
			} else {
				x->next[x->g[i].tail] = (uint32_t)n;
				x->g[i].tail = (uint32_t)n;
			}
			x->g[i].n++;
			n++;
		}
	for (size_t gi = 0; gi < ng; gi++) {
		const struct group *g = &x->g[x->order[gi]];
		struct tr_subj *s = NULL;
		bool looked = false;
		size_t ns = 0, m;

		/* The subject table is big and cold: start loading a later group's slot. */
		if (gi + 8 < ng && t->subj.cap > 0)
			__builtin_prefetch(&t->subj.slot[(size_t)(tr_pid_hash(x->g[x->order[gi + 8]].pid) >>
								  20) & (t->subj.cap - 1)]);

		for (uint32_t k = g->head; k != UINT32_MAX; k = x->next[k])
			x->rs[ns++] = (struct rules_scan){ .ts_ms = x->sc[k]->ts_ms,
							   .site_id = site, .dir = x->sc[k]->dir };
		m = rules_intervals(x->rs, ns, site_kind_fixed, &kc, x->ivs);
		for (size_t k = 0; k < m; k++) {
			const struct rules_interval *iv = &x->ivs[k];
			uint64_t first = iv->from_ms > w + maxlen ? iv->from_ms - w - maxlen : 0;
			size_t a = 0, h = np;

			/* First probe starting at or after `first`. */
			while (a < h) {
				size_t mid = a + (h - a) / 2;

				if (p[mid].iv.from_ms < first)
					a = mid + 1;
				else
					h = mid;
			}
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
	return 0;
}

/*
 * Find every subject (not excluded) in contact with one of the probes and
 * record it at `degree`.  Excluded: F0 always; at degree 2 also every F1.
 * `last`: no probing follows, so the scans fetched now need not be kept.
 */
static int
probe_all(struct tracer *t, struct probe *p, size_t np, int degree, bool last)
{
	struct scratch x = { 0 };
	struct pump u = { .t = t, .p = p, .np = np, .degree = degree, .last = last, .x = &x };
	int rc;

	qsort(p, np, sizeof(*p), probe_cmp);
	rc = fetch_buckets(t, &u);
	if (rc == 0)
		rc = pump_to(&u, UINT32_MAX);   /* sites with nothing new to read, the rest */
	scratch_free(&x);
	return rc;
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
visit_time_cmp(const void *a, const void *b)
{
	const struct rules_interval *x = a, *y = b;

	if (x->from_ms != y->from_ms)
		return x->from_ms < y->from_ms ? -1 : 1;
	return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

int
tr_run(const struct tr_source *src, const struct tr_query *q, struct tr_result *out)
{
	struct tracer t = { .src = src, .q = q };
	struct probe *p = NULL;
	const struct tr_contact **src_c = NULL;
	size_t np = 0, nv = 0, nc = 0;
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
	src_c = malloc((t.subj.n + 1) * sizeof(*src_c));
	if (src_c == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < t.subj.n; i++)
		if (t.subj.s[i].degree == 1 || t.subj.s[i].degree == 2)
			src_c[nc++] = &t.subj.s[i].best;
	/* Sized exactly: tr_result_free() frees by n_contacts. */
	out->contacts = tr_mem_grow(NULL, 0, (nc + 1) * sizeof(*out->contacts));
	if (out->contacts == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	out->n_contacts = nc;
	rc = tr_rank_gather(src_c, nc, out->contacts);
done:
	free(src_c);
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
