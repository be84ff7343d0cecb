/*
 * Semantic dedupe (DESIGN §3): the same (pid, site, dir) within
 * dedupe.window_s is one visit.  An event is a duplicate when an earlier
 * *stored* event with the same key has |ts - ts_stored| < window; a
 * duplicate does not refresh the entry, a stored event does.
 *
 * Memory is bounded: one table of dedupe.capacity entries per worker
 * (ddtable.h: key 24 bytes + stored ts, on transparent huge pages).  Scans arrive
 * late: a scanner sends a batch once it holds up to 16 (sometimes 64)
 * scans, so its first scan may be hours older than the newest one the
 * worker has seen from other devices, and it must still find the entry it
 * duplicates.  So the table keeps as much history as it can hold and, when
 * it is full, a sweep evicts by event time: the oldest quarter of its
 * entries (DEDUPE_EVICT_DIV), never one that is still live (less than a
 * window older than the newest ts seen: an on-time scan may duplicate it).
 * The sweep histograms the entries' ages (dp_dedupe_age_bucket) and cuts
 * at the bucket where the oldest quarter ends.
 *
 * What can still go wrong is counted:
 *   - `full` (the `dedupe_full` counter): nothing could be evicted, every
 *     entry is live; the event is stored without dedupe.  After such a
 *     sweep (or one that freed less than a quarter) the next waits for a
 *     quarter window of progress;
 *   - `late`: an event whose key was not in the table while its ts is
 *     within a window of the newest entry ever evicted (evicted_max_ts): it
 *     may duplicate a scan the table forgot, and is stored.  Exact dedupe
 *     (as tools/flood's truth, which never evicts) holds while late is 0;
 *     it bounds the events stored beyond the truth.
 *   - `lateness_max_ms`: the largest newest-ts-seen minus event ts, to size
 *     dedupe.capacity against (the table must span it).
 *
 * Inserts of the batch being processed are journalled so a batch the store
 * refuses can be rolled back (its retransmission must not look like a
 * duplicate of itself).
 *
 * The decision rules are pure inline functions and the table plain C: all
 * unit-tested without EAL.
 */
#ifndef CHOT_DP_DEDUPE_H
#define CHOT_DP_DEDUPE_H

#include <stdbool.h>
#include <stdint.h>

#include "pseudonym.h"
#include "wire.h"

struct dp_dedupe_key {
	uint8_t  pid[PID_LEN];
	uint32_t site_id;
	uint8_t  dir;
	uint8_t  pad[3];
};

/* Pure rules. */
static inline bool
dp_dedupe_is_dup(uint64_t ts_stored, uint64_t ts, uint64_t window_ms)
{
	uint64_t d = ts > ts_stored ? ts - ts_stored : ts_stored - ts;

	return window_ms > 0 && d < window_ms;
}

static inline bool
dp_dedupe_is_stale(uint64_t ts_stored, uint64_t newest_ts, uint64_t window_ms)
{
	return ts_stored + window_ms <= newest_ts;
}

/*
 * The sweep's histogram of entry ages (ms): 8 buckets per power of two
 * (12.5 % resolution), monotonic in age; ages below 8 ms are exact.
 */
#define DP_DEDUPE_AGE_BUCKETS 512

static inline unsigned
dp_dedupe_age_bucket(uint64_t age_ms)
{
	unsigned e;

	if (age_ms < 8)
		return (unsigned)age_ms;
	e = 63u - (unsigned)__builtin_clzll(age_ms);      /* >= 3 */
	return (e - 2) * 8 + (unsigned)((age_ms >> (e - 3)) & 7);
}

static inline void
dp_dedupe_make_key(struct dp_dedupe_key *k, const uint8_t pid[PID_LEN], uint32_t site_id,
		   uint8_t dir)
{
	unsigned i;

	for (i = 0; i < PID_LEN; i++)
		k->pid[i] = pid[i];
	k->site_id = site_id;
	k->dir = dir;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* The rest of a key whose pid was written in place (k->pid): a pid copied
 * in right after SipHash stored it would be a 16-byte load of two 8-byte
 * stores, which the store buffer cannot forward (a stall an event). */
static inline void
dp_dedupe_key_finish(struct dp_dedupe_key *k, uint32_t site_id, uint8_t dir)
{
	k->site_id = site_id;
	k->dir = dir;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

struct dp_dedupe;

struct dp_dedupe_stats {
	uint64_t entries;
	uint64_t full;          /* events stored without dedupe: table full */
	uint64_t reclaimed;     /* entries evicted by sweeps */
	uint64_t sweeps;
	uint64_t late;          /* stored, maybe a duplicate of an evicted entry */
	uint64_t lateness_max_ms;
};

/* Create a table of capacity entries on socket; NULL with errno. window_s 0
 * disables dedupe.  name and socket are unused (kept for the callers). */
struct dp_dedupe *dp_dedupe_create(const char *name, uint32_t capacity, uint32_t window_s,
				   int socket);
void dp_dedupe_destroy(struct dp_dedupe *d);

/* Start fetching the table's bucket for k, as soon as the key is known:
 * the lookup of dp_dedupe_check_insert_bulk() comes later. */
void dp_dedupe_prefetch(const struct dp_dedupe *d, const struct dp_dedupe_key *k);
/* Some time after dp_dedupe_prefetch(k): start reading the entries k's
 * bucket points at (the second miss of a key seen before). */
void dp_dedupe_prefetch_entry(const struct dp_dedupe *d, const struct dp_dedupe_key *k);

/* Start journalling a new batch (forgets the previous journal). */
void dp_dedupe_begin(struct dp_dedupe *d);

/*
 * Decide for one event and, when it is not a duplicate, record it as stored
 * (journalled).  Returns true for a duplicate.
 */
bool dp_dedupe_check_insert(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t ts);

/*
 * The same decisions as n calls of dp_dedupe_check_insert() in order
 * (n <= WIRE_MAX_EVENTS), with the table lookups of all n done at once;
 * dup[i] is the answer for keys[i] / ts[i].
 */
void dp_dedupe_check_insert_bulk(struct dp_dedupe *d, const struct dp_dedupe_key *keys,
				 const uint64_t *ts, unsigned n, bool *dup);

/* Undo every insert since dp_dedupe_begin(). */
void dp_dedupe_rollback(struct dp_dedupe *d);

/* Insertions refused because the table was full (cheap: no table walk). */
uint64_t dp_dedupe_full(const struct dp_dedupe *d);

void dp_dedupe_get_stats(const struct dp_dedupe *d, struct dp_dedupe_stats *st);

#endif /* CHOT_DP_DEDUPE_H */
