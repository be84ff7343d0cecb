/*
 * The dedupe table (see dedupe.h): its policy (decisions, journal, sweeps)
 * over ddtable.h's storage, a hash of struct dp_dedupe_key -> stored ts_ms
 * on transparent huge pages.  Per worker, only its lcore touches it: no
 * lock.  Plain C: no EAL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddtable.h"
#include "dedupe.h"

#define DEDUPE_EVICT_DIV   4      /* a sweep evicts the oldest 1/4 of the table */

struct dedupe_undo {
	struct dp_dedupe_key key;
	uint64_t old_ts;
	bool existed;
};

struct dp_dedupe {
	struct ddt t;
	uint64_t window_ms;
	uint64_t newest_ts;
	uint64_t evicted_max_ts;      /* the newest ts a sweep has evicted; 0: none */
	uint64_t next_sweep_ts;       /* after a poor sweep: not before newest_ts gets here */
	unsigned n_undo;
	struct dedupe_undo undo[WIRE_MAX_EVENTS];
	struct dp_dedupe_stats st;
};

struct dp_dedupe *
dp_dedupe_create(const char *name, uint32_t capacity, uint32_t window_s, int socket)
{
	struct dp_dedupe *d = calloc(1, sizeof(*d));

	(void)name;
	(void)socket;       /* one NUMA node on the boxes chot runs on */
	if (d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	d->window_ms = (uint64_t)window_s * 1000;
	if (d->window_ms > 0 && ddt_init(&d->t, capacity) != 0) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

void
dp_dedupe_destroy(struct dp_dedupe *d)
{
	if (d == NULL)
		return;
	ddt_fini(&d->t);
	free(d);
}

void
dp_dedupe_prefetch(const struct dp_dedupe *d, const struct dp_dedupe_key *k)
{
	if (d->window_ms > 0)
		ddt_prefetch(&d->t, ddt_hash(k));
}

void
dp_dedupe_prefetch_entry(const struct dp_dedupe *d, const struct dp_dedupe_key *k)
{
	if (d->window_ms > 0)
		ddt_prefetch_entry(&d->t, ddt_hash(k));
}

void
dp_dedupe_begin(struct dp_dedupe *d)
{
	d->n_undo = 0;
}

/* Does the sweep with cut bucket `cut` evict an entry stored at ts? */
static inline bool
dedupe_evicts(const struct dp_dedupe *d, uint64_t ts, unsigned cut)
{
	return dp_dedupe_is_stale(ts, d->newest_ts, d->window_ms) &&
	       dp_dedupe_age_bucket(d->newest_ts - ts) >= cut;
}

/*
 * The bucket of ages from which the oldest 1/DEDUPE_EVICT_DIV of the
 * entries starts: one pass over the entry array building the age
 * histogram.  Entries in the cut bucket and above go (whole buckets: up to
 * 12.5 % more than asked for), but only the stale ones (dedupe_evicts).
 */
static unsigned
dedupe_sweep_cut(struct dp_dedupe *d, uint64_t *target)
{
	uint32_t hist[DP_DEDUPE_AGE_BUCKETS] = { 0 };
	uint64_t n = 0, acc = 0;
	unsigned b, cut = DP_DEDUPE_AGE_BUCKETS;
	uint32_t i;

	for (i = 0; i < d->t.capacity; i++) {
		uint64_t ts = d->t.e[i].ts;

		if (ts == DDT_FREE_TS)
			continue;
		hist[dp_dedupe_age_bucket(d->newest_ts - ts)]++;
		n++;
	}
	*target = n / DEDUPE_EVICT_DIV ? n / DEDUPE_EVICT_DIV : 1;
	for (b = DP_DEDUPE_AGE_BUCKETS; b-- > 0 && acc < *target;) {
		acc += hist[b];
		if (hist[b] != 0)
			cut = b;
	}
	return cut;
}

/*
 * Evict the oldest quarter by event time, never a live entry; returns how
 * many went.  Entries never move, so one pass over the entry array deleting
 * as it goes sees every one.  A sweep that freed less than it aimed at
 * (live entries in the way) holds the next one back for a quarter window
 * of progress: meanwhile a full table refuses (`full`).
 */
static uint64_t
dedupe_sweep(struct dp_dedupe *d)
{
	uint64_t removed = 0, target;
	unsigned cut;
	uint32_t i;

	d->st.sweeps++;
	cut = dedupe_sweep_cut(d, &target);
	for (i = 0; i < d->t.capacity; i++) {
		const struct ddt_entry *e = &d->t.e[i];
		uint64_t ts = e->ts;

		if (ts == DDT_FREE_TS || !dedupe_evicts(d, ts, cut))
			continue;
		if (ts > d->evicted_max_ts)
			d->evicted_max_ts = ts;
		removed += ddt_del(&d->t, &e->key, ddt_hash(&e->key));
	}
	/* The deletes left sticky overflow flags behind: clear what no
	 * longer holds, so lookups stay at one bucket (ddtable.h). */
	ddt_overflow_rebuild(&d->t);
	d->st.reclaimed += removed;
	d->next_sweep_ts = removed < target ? d->newest_ts + d->window_ms / 4 : 0;
	return removed;
}

static int
dedupe_add(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t h, uint64_t ts)
{
	int rc = ddt_put(&d->t, k, h, ts);

	if (rc != -ENOSPC)
		return rc;
	/* Only a full table sweeps: a refusal with free entries left is a
	 * bucket collision (ddtable.h), which evicting would not cure. */
	if (d->t.count < d->t.capacity || d->newest_ts < d->next_sweep_ts)
		return rc;
	if (dedupe_sweep(d) == 0)
		return rc;
	return ddt_put(&d->t, k, h, ts);
}

/* Every event's ts: the newest seen, and how late this one is. */
static inline void
dedupe_see(struct dp_dedupe *d, uint64_t ts)
{
	if (ts > d->newest_ts)
		d->newest_ts = ts;
	else if (d->newest_ts - ts > d->st.lateness_max_ms)
		d->st.lateness_max_ms = d->newest_ts - ts;
}

/*
 * The decision for one event once the table's entry for k is known
 * (existed, old_ts): a duplicate, or record ts (journalled).  Returns true
 * for a duplicate, and sets *inserted when ts went into the table.
 */
static bool
dedupe_decide(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t h, uint64_t ts,
	      bool existed, uint64_t old_ts, bool *inserted)
{
	struct dedupe_undo *u;

	*inserted = false;
	if (existed && dp_dedupe_is_dup(old_ts, ts, d->window_ms))
		return true;
	if (!existed && d->evicted_max_ts != 0 && ts < d->evicted_max_ts + d->window_ms)
		d->st.late++;     /* its duplicate may have been evicted */
	if (dedupe_add(d, k, h, ts) < 0) {
		d->st.full++;
		return false;
	}
	*inserted = true;
	if (d->n_undo < WIRE_MAX_EVENTS) {
		u = &d->undo[d->n_undo++];
		u->key = *k;
		u->existed = existed;
		u->old_ts = existed ? old_ts : 0;
	}
	return false;
}

/* The ts stored for entry i, or none. */
static inline bool
dedupe_get(const struct dp_dedupe *d, uint32_t i, uint64_t *ts)
{
	if (i == DDT_NONE)
		return false;
	*ts = d->t.e[i].ts;
	return true;
}

bool
dp_dedupe_check_insert(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t ts)
{
	uint64_t h, old_ts = 0;
	bool existed, inserted;

	if (d->window_ms == 0)
		return false;
	dedupe_see(d, ts);
	h = ddt_hash(k);     /* once for the lookup and the insert */
	existed = dedupe_get(d, ddt_find(&d->t, k, h), &old_ts);
	return dedupe_decide(d, k, h, ts, existed, old_ts, &inserted);
}

/*
 * All the lookups of a batch first, their buckets prefetched together (the
 * cache misses of a big table overlap), then the decisions in event order,
 * as n calls of dp_dedupe_check_insert() would take them:
 *  - an earlier event of the batch with the same key that went into the
 *    table is what a lookup would now find (the latest one wins);
 *  - a sweep (table full) may remove entries, so after one the remaining
 *    events are looked up again one by one.
 */
void
dp_dedupe_check_insert_bulk(struct dp_dedupe *d, const struct dp_dedupe_key *keys,
			    const uint64_t *ts, unsigned n, bool *dup)
{
	uint64_t h[WIRE_MAX_EVENTS];
	uint32_t idx[WIRE_MAX_EVENTS];
	bool ins[WIRE_MAX_EVENTS];
	uint64_t sweeps, seen = 0;    /* bit h & 63 of every key inserted so far */
	unsigned i, j;

	if (d->window_ms == 0) {
		for (i = 0; i < n; i++)
			dup[i] = false;
		return;
	}
	if (n > WIRE_MAX_EVENTS)
		n = WIRE_MAX_EVENTS;
	for (i = 0; i < n; i++) {
		h[i] = ddt_hash(&keys[i]);
		ddt_prefetch(&d->t, h[i]);
	}
	/* Most keys are new: the entries they will take are the next ones on
	 * the free stack (ddt_put). */
	for (i = 0; i < n && i < d->t.n_free; i++)
		__builtin_prefetch(&d->t.e[d->t.free[d->t.n_free - 1 - i]], 1);
	/* The buckets, prefetched since each event's pseudonym, say which
	 * entries the keys compare against: all their misses at once. */
	for (i = 0; i < n; i++)
		ddt_prefetch_entry(&d->t, h[i]);
	for (i = 0; i < n; i++)
		idx[i] = ddt_find(&d->t, &keys[i], h[i]);
	sweeps = d->st.sweeps;
	for (i = 0; i < n; i++) {
		bool existed;
		uint64_t old_ts = 0, bit = 1ULL << (h[i] & 63);

		dedupe_see(d, ts[i]);
		if (d->st.sweeps != sweeps) {
			existed = dedupe_get(d, ddt_find(&d->t, &keys[i], h[i]), &old_ts);
		} else {
			existed = dedupe_get(d, idx[i], &old_ts);
			/* An earlier insert of the same key: only where its hash
			 * bit is set in seen (a key twice in a batch is rare). */
			for (j = i; (seen & bit) && j-- > 0;)
				if (ins[j] && h[j] == h[i] && ddt_key_eq(&keys[j], &keys[i])) {
					existed = true;
					old_ts = ts[j];
					break;
				}
		}
		dup[i] = dedupe_decide(d, &keys[i], h[i], ts[i], existed, old_ts, &ins[i]);
		if (ins[i])
			seen |= bit;
	}
}

void
dp_dedupe_rollback(struct dp_dedupe *d)
{
	while (d->n_undo > 0) {
		struct dedupe_undo *u = &d->undo[--d->n_undo];

		uint64_t h = ddt_hash(&u->key);

		if (u->existed)
			(void)ddt_put(&d->t, &u->key, h, u->old_ts);
		else
			(void)ddt_del(&d->t, &u->key, h);
	}
}

uint64_t
dp_dedupe_full(const struct dp_dedupe *d)
{
	return d->st.full;
}

void
dp_dedupe_get_stats(const struct dp_dedupe *d, struct dp_dedupe_stats *st)
{
	*st = d->st;
	st->entries = d->t.count;
}
