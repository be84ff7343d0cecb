/*
 * The dedupe table (see dedupe.h): an rte_hash keyed by struct
 * dp_dedupe_key whose data pointer holds the stored event's ts_ms (this is
 * a 64-bit-only build, as DPDK 22.11 on x86-64 is).  The table is created
 * with the extendable-bucket flag so it really holds `capacity` keys before
 * refusing; it is per worker and only its lcore touches it, so the default
 * (single-writer, no lock) mode is right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dedupe.h"

#define DEDUPE_SWEEP_CHUNK 256
#define DEDUPE_SWEEP_GROUP RTE_HASH_LOOKUP_BULK_MAX   /* 64 */
#define DEDUPE_EVICT_DIV   4      /* a sweep evicts the oldest 1/4 of the table */

struct dedupe_undo {
	struct dp_dedupe_key key;
	uint64_t old_ts;
	bool existed;
};

struct dp_dedupe {
	struct rte_hash *h;
	uint64_t window_ms;
	uint64_t newest_ts;
	uint64_t evicted_max_ts;      /* the newest ts a sweep has evicted; 0: none */
	uint64_t next_sweep_ts;       /* after a poor sweep: not before newest_ts gets here */
	unsigned n_undo;
	struct dedupe_undo undo[WIRE_MAX_EVENTS];
	struct dp_dedupe_stats st;
};

/*
 * Key compare for rte_hash: the key is three 64-bit words (pad zeroed by
 * dp_dedupe_make_key), cheaper inline than the memcmp rte_hash falls back
 * to for a 24-byte key.  0 when equal, as memcmp.
 */
static int
dedupe_key_cmp(const void *a, const void *b, size_t len)
{
	uint64_t x[3], y[3];

	(void)len;
	RTE_BUILD_BUG_ON(sizeof(struct dp_dedupe_key) != sizeof(x));
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) != 0;
}

static inline bool
dedupe_key_eq(const struct dp_dedupe_key *a, const struct dp_dedupe_key *b)
{
	return dedupe_key_cmp(a, b, sizeof(*a)) == 0;
}

struct dp_dedupe *
dp_dedupe_create(const char *name, uint32_t capacity, uint32_t window_s, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = capacity,
		.key_len = sizeof(struct dp_dedupe_key),
		.hash_func = rte_hash_crc,     /* the pid is already a keyed hash */
		.hash_func_init_val = 0x63686f74,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dp_dedupe *d = rte_zmalloc_socket("dedupe", sizeof(*d), 0, socket);

	if (d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	d->window_ms = (uint64_t)window_s * 1000;
	if (d->window_ms > 0) {
		d->h = rte_hash_create(&p);
		if (d->h == NULL) {
			int e = rte_errno ? rte_errno : ENOMEM;

			rte_free(d);
			errno = e;
			return NULL;
		}
		rte_hash_set_cmp_func(d->h, dedupe_key_cmp);
	}
	return d;
}

void
dp_dedupe_destroy(struct dp_dedupe *d)
{
	if (d == NULL)
		return;
	rte_hash_free(d->h);
	rte_free(d);
}

void
dp_dedupe_begin(struct dp_dedupe *d)
{
	d->n_undo = 0;
}

/*
 * Delete keys[0..n) in order.  A bulk lookup first brings their buckets into
 * the cache together (a sweep of a big table otherwise waits for one bucket
 * per key); it changes nothing in the table.  Returns how many went.
 */
static unsigned
dedupe_del_group(struct dp_dedupe *d, const struct dp_dedupe_key *keys, unsigned n)
{
	const void *kp[DEDUPE_SWEEP_GROUP];
	hash_sig_t sig[DEDUPE_SWEEP_GROUP];
	int32_t pos[DEDUPE_SWEEP_GROUP];
	unsigned i, removed = 0;

	for (i = 0; i < n; i++) {
		kp[i] = &keys[i];
		sig[i] = rte_hash_hash(d->h, &keys[i]);
	}
	(void)rte_hash_lookup_with_hash_bulk(d->h, kp, sig, n, pos);
	for (i = 0; i < n; i++)
		if (rte_hash_del_key_with_hash(d->h, &keys[i], sig[i]) >= 0)
			removed++;
	return removed;
}

/* Does the sweep with cut bucket `cut` evict an entry stored at ts? */
static inline bool
dedupe_evicts(const struct dp_dedupe *d, uint64_t ts, unsigned cut)
{
	return dp_dedupe_is_stale(ts, d->newest_ts, d->window_ms) &&
	       dp_dedupe_age_bucket(d->newest_ts - ts) >= cut;
}

/* One pass over the table removing the entries dedupe_evicts() picks. */
static uint64_t
dedupe_sweep_pass(struct dp_dedupe *d, unsigned cut)
{
	struct dp_dedupe_key victims[DEDUPE_SWEEP_CHUNK];
	uint64_t removed = 0;
	uint32_t it = 0;
	const void *key;
	void *data;
	unsigned n;

	for (;;) {
		n = 0;
		while (n < DEDUPE_SWEEP_CHUNK && rte_hash_iterate(d->h, &key, &data, &it) >= 0) {
			uint64_t ts = (uint64_t)(uintptr_t)data;

			if (dedupe_evicts(d, ts, cut)) {
				memcpy(&victims[n++], key, sizeof(victims[0]));
				if (ts > d->evicted_max_ts)
					d->evicted_max_ts = ts;
			}
		}
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i += DEDUPE_SWEEP_GROUP)
			removed += dedupe_del_group(d, victims + i,
						    RTE_MIN(n - i, (unsigned)DEDUPE_SWEEP_GROUP));
	}
	return removed;
}

/*
 * The bucket of ages from which the oldest 1/DEDUPE_EVICT_DIV of the
 * entries starts: one pass building the age histogram.  Entries in the cut
 * bucket and above go (whole buckets: up to 12.5 % more than asked for),
 * but only the stale ones (dedupe_evicts).
 */
static unsigned
dedupe_sweep_cut(struct dp_dedupe *d, uint64_t *target)
{
	uint32_t hist[DP_DEDUPE_AGE_BUCKETS] = { 0 };
	uint64_t n = 0, acc = 0;
	uint32_t it = 0;
	const void *key;
	void *data;
	unsigned b, cut = DP_DEDUPE_AGE_BUCKETS;

	while (rte_hash_iterate(d->h, &key, &data, &it) >= 0) {
		hist[dp_dedupe_age_bucket(d->newest_ts - (uint64_t)(uintptr_t)data)]++;
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
 * many went.  With the extendable table a delete may move an entry of an
 * overflow bucket (not visited yet) into its main bucket (visited): a pass
 * can miss it, so pass again until a pass finds nothing, at most
 * DEDUPE_SWEEP_PASSES (each move needs a delete).  A sweep that freed less
 * than it aimed at (live entries in the way) holds the next one back for a
 * quarter window of progress: meanwhile a full table refuses (`full`).
 */
#define DEDUPE_SWEEP_PASSES 4
static uint64_t
dedupe_sweep(struct dp_dedupe *d)
{
	uint64_t removed = 0, r, target;
	unsigned pass = 0, cut;

	d->st.sweeps++;
	cut = dedupe_sweep_cut(d, &target);
	do
		removed += (r = dedupe_sweep_pass(d, cut));
	while (r > 0 && ++pass < DEDUPE_SWEEP_PASSES);
	d->st.reclaimed += removed;
	d->next_sweep_ts = removed < target ? d->newest_ts + d->window_ms / 4 : 0;
	return removed;
}

static int
dedupe_add(struct dp_dedupe *d, const struct dp_dedupe_key *k, hash_sig_t sig, uint64_t ts)
{
	int rc = rte_hash_add_key_with_hash_data(d->h, k, sig, (void *)(uintptr_t)ts);

	if (rc != -ENOSPC)
		return rc;
	if (d->newest_ts < d->next_sweep_ts)
		return rc;
	if (dedupe_sweep(d) == 0)
		return rc;
	return rte_hash_add_key_with_hash_data(d->h, k, sig, (void *)(uintptr_t)ts);
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
dedupe_decide(struct dp_dedupe *d, const struct dp_dedupe_key *k, hash_sig_t sig, uint64_t ts,
	      bool existed, uint64_t old_ts, bool *inserted)
{
	struct dedupe_undo *u;

	*inserted = false;
	if (existed && dp_dedupe_is_dup(old_ts, ts, d->window_ms))
		return true;
	if (!existed && d->evicted_max_ts != 0 && ts < d->evicted_max_ts + d->window_ms)
		d->st.late++;     /* its duplicate may have been evicted */
	if (dedupe_add(d, k, sig, ts) < 0) {
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

bool
dp_dedupe_check_insert(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t ts)
{
	hash_sig_t sig;
	void *data = NULL;
	bool existed, inserted;

	if (d->window_ms == 0)
		return false;
	dedupe_see(d, ts);
	sig = rte_hash_hash(d->h, k);     /* once for the lookup and the insert */
	existed = rte_hash_lookup_with_hash_data(d->h, k, sig, &data) >= 0;
	return dedupe_decide(d, k, sig, ts, existed, (uint64_t)(uintptr_t)data, &inserted);
}

/*
 * All the lookups of a batch first, in one rte_hash bulk lookup (it
 * prefetches every bucket and key slot before comparing, so the cache misses
 * of a big table overlap), then the decisions in event order, as n calls of
 * dp_dedupe_check_insert() would take them:
 *  - an earlier event of the batch with the same key that went into the
 *    table is what a lookup would now find (the latest one wins);
 *  - a sweep (table full) may remove entries, so after one the remaining
 *    events are looked up again one by one.
 */
void
dp_dedupe_check_insert_bulk(struct dp_dedupe *d, const struct dp_dedupe_key *keys,
			    const uint64_t *ts, unsigned n, bool *dup)
{
	const void *kp[WIRE_MAX_EVENTS];
	hash_sig_t sig[WIRE_MAX_EVENTS];
	void *data[WIRE_MAX_EVENTS];
	bool ins[WIRE_MAX_EVENTS];
	uint64_t hits = 0, sweeps;
	unsigned i, j;

	if (d->window_ms == 0) {
		for (i = 0; i < n; i++)
			dup[i] = false;
		return;
	}
	RTE_BUILD_BUG_ON(WIRE_MAX_EVENTS > RTE_HASH_LOOKUP_BULK_MAX);
	if (n > WIRE_MAX_EVENTS)
		n = WIRE_MAX_EVENTS;
	for (i = 0; i < n; i++) {
		kp[i] = &keys[i];
		sig[i] = rte_hash_hash(d->h, &keys[i]);
	}
	rte_hash_lookup_with_hash_bulk_data(d->h, kp, sig, n, &hits, data);
	sweeps = d->st.sweeps;
	for (i = 0; i < n; i++) {
		bool existed;
		uint64_t old_ts;
		void *v = NULL;

		dedupe_see(d, ts[i]);
		if (d->st.sweeps != sweeps) {
			existed = rte_hash_lookup_with_hash_data(d->h, &keys[i], sig[i], &v) >= 0;
			old_ts = (uint64_t)(uintptr_t)v;
		} else {
			existed = (hits >> i) & 1;
			old_ts = (uint64_t)(uintptr_t)data[i];
			for (j = i; j-- > 0;)
				if (ins[j] && sig[j] == sig[i] && dedupe_key_eq(&keys[j], &keys[i])) {
					existed = true;
					old_ts = ts[j];
					break;
				}
		}
		dup[i] = dedupe_decide(d, &keys[i], sig[i], ts[i], existed, old_ts, &ins[i]);
	}
}

void
dp_dedupe_rollback(struct dp_dedupe *d)
{
	while (d->n_undo > 0) {
		struct dedupe_undo *u = &d->undo[--d->n_undo];

		if (u->existed)
			(void)rte_hash_add_key_data(d->h, &u->key, (void *)(uintptr_t)u->old_ts);
		else
			(void)rte_hash_del_key(d->h, &u->key);
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
	st->entries = d->h ? (uint64_t)rte_hash_count(d->h) : 0;
}
