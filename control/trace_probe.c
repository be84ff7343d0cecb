/*
 * One site's probing (trace_int.h tr_probe_site; trace.c calls it as each
 * site's presence arrives).  The site's scans are grouped by pid in a small
 * hash table (reused scratch); a group no probe can reach is skipped; each
 * other subject's intervals are built once, and each interval is checked
 * only against the probes whose start can reach it (binary search over the
 * site's probes sorted by start).  The subject table is consulted only when
 * a contact is found.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* A contact (overlap, contact_ms, site, via) better than s's best (same degree)? */
static bool
better(const struct tr_subj *s, uint64_t overlap, uint64_t contact_ms, uint32_t site_id,
       const uint8_t via[PID_LEN])
{
	if (overlap != s->overlap_ms)
		return overlap > s->overlap_ms;
	if (contact_ms != s->contact_ms)
		return contact_ms < s->contact_ms;
	if (site_id != s->site_id)
		return site_id < s->site_id;
	return s->degree == 2 && memcmp(via, s->via, PID_LEN) < 0;
}

static void
record(struct tr_subj *s, int degree, const struct rules_interval *a,
       const struct rules_interval *k, uint64_t overlap, const uint8_t via[PID_LEN])
{
	uint64_t contact = a->from_ms > k->from_ms ? a->from_ms : k->from_ms;

	if (s->degree != degree) {
		s->degree = (uint8_t)degree;
		s->overlap_ms = overlap;
		s->first_ms = s->contact_ms = contact;
		s->site_id = a->site_id;
		if (degree == 2)
			memcpy(s->via, via, PID_LEN);
		else
			s->t1 = k->from_ms;
		return;
	}
	if (degree != 2 && k->from_ms < s->t1)
		s->t1 = k->from_ms;
	if (contact < s->first_ms)
		s->first_ms = contact;
	if (better(s, overlap, contact, a->site_id, via)) {
		s->overlap_ms = overlap;
		s->contact_ms = contact;
		s->site_id = a->site_id;
		if (degree == 2)
			memcpy(s->via, via, PID_LEN);
	}
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

struct tr_scratch {
	const struct tr_scan **sc;   /* the site's scans */
	uint32_t *next;              /* per scan: the next of its pid, UINT32_MAX = last */
	struct group *g;             /* g[0..ng): one per pid */
	struct rules_scan *rs;
	struct rules_interval *ivs;
	uint32_t *cand;              /* the groups some probe may meet */
	size_t cap;                  /* of each array above */
	size_t fresh_from;           /* sc[fresh_from..] are probed for the first time */
	uint64_t *slot;              /* tag | (group + 1); 0 = empty */
	size_t scap;                 /* slots, a power of two */
};

static int
scratch_reserve(struct tr_scratch *x, size_t n)
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
		/* Zeroed once: tr_probe_site() empties the slots it used. */
		free(x->slot);
		x->slot = calloc(scap, sizeof(*x->slot));
		x->scap = x->slot != NULL ? scap : 0;
		if (x->slot == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct tr_scratch *
tr_scratch_new(void)
{
	return calloc(1, sizeof(struct tr_scratch));
}

void
tr_scratch_free(struct tr_scratch *x)
{
	if (x == NULL)
		return;
	free(x->sc);
	free(x->next);
	free(x->g);
	free(x->rs);
	free(x->ivs);
	free(x->cand);
	free(x->slot);
	free(x);
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
 * proto/layout.h), counted in t->dup_scans when probed for the first time
 * (tr_site_scans.fresh), so a scan re-probed at depth 2 is not counted twice.
 */
static void
count_dups(struct tracer *t, const struct tr_scratch *x, const struct group *g)
{
	for (uint32_t k = g->head; k != UINT32_MAX; k = x->next[k]) {
		uint32_t j;

		if (k < x->fresh_from)
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
drop_dups(struct tracer *t, const struct tr_scratch *x, const struct group *g, size_t ns)
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
int
tr_probe_site(struct tracer *t, struct tr_scratch *x, const struct tr_site_scans *ss,
	      const struct tr_probe *p, size_t np, int degree)
{
	uint32_t site = p[0].iv.site_id;
	struct site_kind_ctx kc = { .kind = KIND_UNKNOWN };
	uint64_t w = t->q->window_ms, maxlen = 0, dwell = rules_max_dwell_ms();
	size_t n = 0, ng = 0, nc = 0;

	if (ss->total == 0)
		return 0;
	if (t->src->kind != NULL)
		kc.kind = t->src->kind(site, t->src->ctx);
	for (size_t a = 0; a < np; a++)
		if (p[a].iv.to_ms - p[a].iv.from_ms > maxlen)
			maxlen = p[a].iv.to_ms - p[a].iv.from_ms;
	if (scratch_reserve(x, ss->total) != 0)
		return -ENOMEM;
	x->fresh_from = SIZE_MAX;
	/* Group by pid, keeping each pid's scans in arrival order. */
	for (size_t c = 0; c < ss->n_spans; c++) {
		if (c == ss->fresh)
			x->fresh_from = n;
		for (size_t k = 0; k < ss->span[c].n; k++) {
			const struct tr_scan *sc = &ss->span[c].v[k];
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
