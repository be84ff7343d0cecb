/*
 * What the trace engine reads from its source (trace_int.h): the presence
 * buckets a set of probes needs, the cache of those already read, and the
 * subjects' timelines.  No contact logic here (that is trace.c).
 *
 * Presence scans are cached per (site, block) bucket for the whole trace (a
 * sorted list of the buckets read), so depth 2 re-reads nothing depth 1
 * already read.  Each fetch appends one chunk of scans in (site, block)
 * order; nothing is ever sorted globally, and the caller hears of each site
 * as soon as its last bucket has arrived, while Redis is still answering the
 * rest of the pipeline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "trace_int.h"

/* One fetch in flight: the buckets asked, and whom to tell. */
struct fetch {
	struct tracer *t;
	const struct tr_bucket *b;
	size_t nb;
	bool last, into;
	tr_site_ready_fn ready;
	void *arg;
};

/* tr_bucket_done_fn: after a site's last bucket, the site is ready. */
static int
bucket_done(void *arg, size_t i)
{
	struct fetch *f = arg;
	struct tr_chunk *c = &f->t->chunks[f->t->n_chunks - 1];
	int rc;

	if (i + 1 < f->nb && f->b[i + 1].site_id == f->b[i].site_id)
		return 0;
	if (f->into)
		return f->ready(f->arg, f->b[i].site_id);   /* the scans are not a chunk */
	c->hi = f->t->presence.n;
	rc = f->ready(f->arg, f->b[i].site_id);
	if (rc == 0 && f->last) {
		/* Nothing will read these again: reuse their memory (already faulted in). */
		f->t->presence.n = c->lo;
		c->hi = c->lo;
	}
	return rc;
}

/* Append k to need[0..*n), growing it. 0 or -ENOMEM (need freed). */
static int
need_push(uint64_t **need, size_t *n, size_t *cap, uint64_t k)
{
	if (*n == *cap) {
		void *nn = realloc(*need, (*cap = *cap ? *cap * 2 : 1024) * sizeof(**need));

		if (nn == NULL) {
			free(*need);
			*need = NULL;
			return -ENOMEM;
		}
		*need = nn;
	}
	(*need)[(*n)++] = k;
	return 0;
}

/*
 * Per site the probes' block ranges are merged as they come (starts ascend),
 * and each new range is walked against the sorted list of buckets already
 * read: no hashing, no sort.
 */
int
tr_fetch_presence(struct tracer *t, const struct tr_probe *p, size_t np, bool last,
		  struct tr_scanvec *into, tr_site_ready_fn ready, void *arg)
{
	uint64_t before = t->q->window_ms + RULES_MAX_STAY_MS + rules_max_dwell_ms();
	uint64_t after = t->q->window_ms + RULES_MAX_STAY_MS;
	uint64_t *need = NULL, *all;
	struct tr_bucket *b;
	struct fetch f = { .t = t, .last = last, .into = into != NULL, .ready = ready,
			   .arg = arg };
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
				if (need_push(&need, &n, &cap, k) != 0)
					return -ENOMEM;
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
	f.b = b;
	f.nb = n;
	if (into != NULL) {
		rc = t->src->site_blocks(t->src->ctx, b, n, into, bucket_done, &f);
		free(need);
		return rc;
	}
	if (t->n_chunks == TR_MAX_CHUNKS) {
		free(need);
		return -E2BIG;   /* tr_run fetches twice */
	}
	t->chunks[t->n_chunks++] = (struct tr_chunk){ lo, lo };
	rc = t->src->site_blocks(t->src->ctx, b, n, &t->presence, bucket_done, &f);
	t->chunks[t->n_chunks - 1].hi = t->presence.n;
	free(need);
	return rc;
}

/* The scans at `site` in v[lo..hi) (grouped by site, ascending), added to ss
 * when there are some. */
static size_t
first_site_above(const struct tr_scan *v, size_t lo, size_t hi, uint32_t site)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].site_id <= site)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Both ends by binary search: walking to the end read every scan of the
 * site once more before the probing read them (3 % of a depth-2 trace). */
static void
span_add(struct tr_site_scans *ss, const struct tr_scan *v, size_t lo, size_t hi, uint32_t site)
{
	size_t l = site > 0 ? first_site_above(v, lo, hi, site - 1) : lo;
	size_t h = first_site_above(v, l, hi, site);

	if (h > l) {
		ss->span[ss->n_spans++] = (struct tr_span){ v + l, h - l };
		ss->total += h - l;
	}
}

void
tr_presence_site(const struct tracer *t, uint32_t site, struct tr_site_scans *ss)
{
	ss->n_spans = 0;
	ss->total = 0;
	ss->fresh = SIZE_MAX;
	for (size_t c = 0; c < t->n_chunks; c++) {
		if (c == t->fresh_chunk)
			ss->fresh = ss->n_spans;
		span_add(ss, t->presence.v, t->chunks[c].lo, t->chunks[c].hi, site);
	}
	if (ss->fresh == SIZE_MAX)
		ss->fresh = ss->n_spans;
}

void
tr_site_scans_add(struct tr_site_scans *ss, const struct tr_scanvec *v, uint32_t site)
{
	span_add(ss, v->v, 0, v->n, site);   /* after every chunk's: fresh */
}

/* LSD radix sort of a[0..n) (tmp as large): four byte passes, the two
 * buffers trading places, so a holds the result. */
static void
u32_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
	for (unsigned shift = 0; shift < 32; shift += 8) {
		size_t count[257] = { 0 };
		uint32_t *t;

		for (size_t i = 0; i < n; i++)
			count[((a[i] >> shift) & 0xff) + 1]++;
		for (unsigned b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
}

/* Tell the source which sites these scans are at (tr_source.sites). */
static int
announce_sites(struct tracer *t, const struct tr_scanvec *v)
{
	uint32_t *ids;
	size_t n = 0;
	int rc;

	if (t->src->sites == NULL || v->n == 0)
		return 0;
	ids = malloc(2 * v->n * sizeof(*ids));
	if (ids == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++)
		ids[i] = v->v[i].site_id;
	/* A depth-2 trace announces ~70k scans' sites: qsort took ~10 ms. */
	u32_sort(ids, ids + v->n, v->n);
	for (size_t i = 0; i < v->n; i++)
		if (n == 0 || ids[n - 1] != ids[i])
			ids[n++] = ids[i];
	rc = t->src->sites(t->src->ctx, ids, n);
	free(ids);
	return rc;
}

/* Which of pids[0..n) each scan is of (UINT32_MAX: none asked), through a
 * small table of the pids (a pid asked twice: its first place). */
static int
subject_of_scans(const uint8_t (*pids)[PID_LEN], size_t n, const struct tr_scanvec *v,
		 uint32_t *kof)
{
	size_t cap = 16;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot));
	if (slot == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)(tr_pid_hash(pids[k]) >> 20) & (cap - 1);

		for (; slot[i] != 0; i = (i + 1) & (cap - 1))
			if (memcmp(pids[slot[i] - 1], pids[k], PID_LEN) == 0)
				break;
		if (slot[i] == 0)
			slot[i] = (uint32_t)k + 1;
	}
	for (size_t j = 0; j < v->n; j++) {
		size_t i = (size_t)(tr_pid_hash(v->v[j].pid) >> 20) & (cap - 1);

		kof[j] = UINT32_MAX;
		for (; slot[i] != 0; i = (i + 1) & (cap - 1))
			if (memcmp(pids[slot[i] - 1], v->v[j].pid, PID_LEN) == 0) {
				kof[j] = slot[i] - 1;
				break;
			}
	}
	free(slot);
	return 0;
}

/*
 * v grouped by subject in the order asked (a counting sort on the
 * subject's place; within a subject the source's order: rules_intervals()
 * sorts a subject's scans itself, by (site, ts, dir)).  A depth-2 trace
 * groups ~70k scans of ~1,800 F1s: a qsort by (pid, ts) with a 16-byte
 * memcmp took ~20 ms.
 */
static int
group_by_subject(const uint8_t (*pids)[PID_LEN], size_t n, struct tr_scanvec *v, size_t *at)
{
	uint32_t *kof = malloc((v->n + 1) * sizeof(*kof));
	struct tr_scanvec g = { 0 };
	int rc;

	if (kof == NULL)
		return -ENOMEM;
	rc = subject_of_scans(pids, n, v, kof);
	if (rc == 0)
		rc = tr_scanvec_reserve(&g, v->n + 1);
	if (rc != 0) {
		free(kof);
		return rc;
	}
	memset(at, 0, (n + 1) * sizeof(*at));
	for (size_t j = 0; j < v->n; j++)
		if (kof[j] != UINT32_MAX)
			at[kof[j] + 1]++;
	for (size_t k = 0; k < n; k++)
		at[k + 1] += at[k];
	for (size_t j = 0; j < v->n; j++)
		if (kof[j] != UINT32_MAX)
			g.v[at[kof[j]]++] = v->v[j];
	/* at[k] is now where k's scans end: shift back to starts. */
	memmove(at + 1, at, n * sizeof(*at));
	at[0] = 0;
	g.n = at[n];
	free(kof);
	tr_scanvec_free(v);
	*v = g;
	return 0;
}

int
tr_fetch_timelines(struct tracer *t, const uint8_t (*pids)[PID_LEN], size_t n,
		   struct tr_scanvec *v, size_t **at)
{
	int rc = t->src->timelines(t->src->ctx, pids, n, t->q->from_ms, t->q->to_ms, v);

	*at = NULL;
	if (rc == 0)
		rc = announce_sites(t, v);
	if (rc == 0 && (*at = malloc((n + 1) * sizeof(**at))) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = group_by_subject(pids, n, v, *at);
	if (rc != 0) {
		free(*at);
		*at = NULL;
		tr_scanvec_free(v);
	}
	return rc;
}
