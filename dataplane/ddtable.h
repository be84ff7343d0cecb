/*
 * The dedupe table's storage (dedupe.c is its policy): a bounded hash of
 * struct dp_dedupe_key -> stored ts, plain C on memory of its own
 * (thp.h: transparent huge pages), no EAL.
 *
 * Layout, for one cache line per probe:
 *   - entries: capacity slots of {key 24 B, ts 8 B}, never moved once
 *     inserted (a delete frees the slot), so a sweep walks them in order
 *     and may delete as it goes;
 *   - buckets: 64 B each, 7 (signature, entry index) pairs and an
 *     overflow flag; 1.75 x capacity bucket slots in all (headroom), and
 *     every key has two candidate buckets (the second derived from the
 *     first and the signature), so the table holds `capacity` keys before a
 *     bucket pair is full in practice: an insert finding both of its
 *     buckets full first moves one of their entries to its other bucket
 *     (cuckoo, depth 2); only if none can move does it fail (-ENOSPC,
 *     counted in `collisions`).
 *
 * One cache miss per lookup, not two: a key goes to its first bucket
 * whenever that has room, and a bucket's overflow flag is set as soon as a
 * key whose first bucket it is lands in (or is moved to) its second.  A
 * lookup reads the second bucket only behind that flag.  The flag is
 * sticky (a delete does not know whether other keys still overflowed);
 * ddt_overflow_rebuild() recomputes every flag, and the sweep calls it.
 * At the quick bench's load the second bucket is almost never read: the
 * lookup's miss in a 16 MiB bucket array was a quarter of the ingest
 * profile with both buckets read (docs/BENCHMARKS.md).
 *
 * The hash: the pid is already a keyed hash (SipHash, pseudonym.h), so its
 * first 8 bytes mixed with site and dir are enough.
 */
#ifndef CHOT_DP_DDTABLE_H
#define CHOT_DP_DDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dedupe.h"

#define DDT_NONE      UINT32_MAX
#define DDT_SLOTS     7
#define DDT_FREE_TS   UINT64_MAX     /* an entry slot not in use */

struct ddt_entry {
	struct dp_dedupe_key key;
	uint64_t ts;
};

struct ddt_bucket {
	uint32_t sig[DDT_SLOTS];     /* 0: empty */
	uint32_t ovf;                /* nonzero: a key of this first bucket may be in its second */
	uint32_t idx[DDT_SLOTS];
	uint32_t spare;
};

_Static_assert(sizeof(struct ddt_bucket) == 64, "a bucket is one cache line");

struct ddt {
	struct ddt_bucket *b;
	struct ddt_entry *e;
	uint32_t *free;              /* stack of free entry indexes */
	uint32_t n_free;
	uint32_t capacity;
	uint32_t mask;               /* buckets - 1 */
	uint32_t count;
	uint64_t collisions;         /* inserts refused with free entries left */
	size_t b_len, e_len, f_len;  /* mapped sizes */
};

/* Keys are three 64-bit words (pad zeroed by dp_dedupe_make_key). */
static inline bool
ddt_key_eq(const struct dp_dedupe_key *a, const struct dp_dedupe_key *b)
{
	uint64_t x[3], y[3];

	_Static_assert(sizeof(struct dp_dedupe_key) == sizeof(x), "key is 3 words");
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

/* 64-bit hash of a key. */
static inline uint64_t
ddt_hash(const struct dp_dedupe_key *k)
{
	uint64_t h, pid8;

	memcpy(&pid8, k->pid, sizeof(pid8));
	h = pid8 ^ ((uint64_t)k->site_id * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)k->dir << 59);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static inline uint32_t
ddt_sig(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1;
}

static inline uint32_t
ddt_b1(const struct ddt *t, uint64_t h)
{
	return (uint32_t)h & t->mask;
}

static inline uint32_t
ddt_b2(const struct ddt *t, uint64_t h)
{
	return ((uint32_t)h ^ (ddt_sig(h) * 0x5bd1e995u)) & t->mask;
}

/* Allocate for capacity keys (>= 1); 0 or -ENOMEM. */
int ddt_init(struct ddt *t, uint32_t capacity);
void ddt_fini(struct ddt *t);

/* Bring the first bucket of h into the cache (the second is rarely read). */
static inline void
ddt_prefetch(const struct ddt *t, uint64_t h)
{
	__builtin_prefetch(&t->b[ddt_b1(t, h)]);
}

/* Once the first bucket of h is in (ddt_prefetch): bring in the entries
 * its signature matches point at, so that ddt_find's key compare does not
 * wait on a second random miss (a key seen before: a duplicate, or the
 * same subject, site and direction outside the window). */
static inline void
ddt_prefetch_entry(const struct ddt *t, uint64_t h)
{
	const struct ddt_bucket *b = &t->b[ddt_b1(t, h)];
	uint32_t sig = ddt_sig(h);
	unsigned s;

	for (s = 0; s < DDT_SLOTS; s++)
		if (b->sig[s] == sig)
			__builtin_prefetch(&t->e[b->idx[s]]);
}

/* The entry index of k (hash h), or DDT_NONE. */
uint32_t ddt_find(const struct ddt *t, const struct dp_dedupe_key *k, uint64_t h);

/* Set k's ts (insert when absent).  0, or -ENOSPC: the table is full
 * (count == capacity), or, far more rarely, both buckets of k are full
 * and no entry of theirs could move (collisions). */
int ddt_put(struct ddt *t, const struct dp_dedupe_key *k, uint64_t h, uint64_t ts);

/* Remove k; true when it was there. */
bool ddt_del(struct ddt *t, const struct dp_dedupe_key *k, uint64_t h);

/* Recompute every bucket's overflow flag from the keys it holds (one pass
 * over the buckets: for the sweep, after deletes). */
void ddt_overflow_rebuild(struct ddt *t);

#endif /* CHOT_DP_DDTABLE_H */
