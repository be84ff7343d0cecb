/*
 * Ingest of one admitted batch (DESIGN §3), after dp_admit() opened it:
 *
 *   arena decode -> per-event validation -> pseudonym -> one bulk dedupe
 *   lookup -> the survivors in order, each with its vault hint
 *
 * The one copy of this step: chotd's workers (worker.c) and chot-sockbase
 * both call dp_ingest(), so the socket baseline runs exactly chotd's code.
 * What follows it (the store, the ACK queue) is the caller's.
 *
 * The checkpoint check (DESIGN §9, checkpoint.h): when the caller set a
 * lookup (lk, lt) every valid event is checked after its pseudonym; the
 * batch's verdict codes (one per event, in order: the most severe reason,
 * 0 clear, 1 invalid) land in codes[0..n_events), and each survivor carries
 * its reason mask and the caller's device_id to the store (its alert).
 *
 * The vault hint: a subject's vault unit is written once per Unix week
 * (proto/layout.h: appended to the subject's week key with its records).
 * A direct-mapped cache of (first 8 pid bytes, week) per worker says
 * whether this batch is the subject's first this week (a collision costs
 * one extra unit in the key, the same bytes, which readers skip).  Its
 * slots are prefetched while the dedupe lookups run.  The cache learns a
 * batch's subjects only once the store took the batch (dp_ingest_commit);
 * a refused batch is undone with dp_ingest_rollback (its dedupe inserts).
 */
#ifndef CHOT_DP_INGEST_H
#define CHOT_DP_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "checkpoint.h"
#include "counters.h"
#include "dedupe.h"
#include "keys.h"
#include "store.h"
#include "validate.h"

/*
 * Entries of the vault cache (a power of two, 16 B each).  On the
 * 100k-citizen week, when the cache was keyed by day (7 x 100k
 * subject-days): 2^16 entries sent 994,049 vault SETs, 2^18 724,201, 2^20
 * 633,095 (keyed by week the ideal is one a subject); but on 4 KiB pages (--no-huge)
 * the table's misses cost the null:// ingest path ~70 cycles an event at
 * 2^18 and ~380 at 2^20 over 2^16 (docs/BENCHMARKS.md).  2^18 (4 MiB a
 * worker) is the compromise.
 */
#define DP_VAULT_CACHE_SIZE (1u << 18)

struct dp_vault_seen {
	uint64_t pid8;
	uint32_t week;          /* layout_week() of the scan that wrote the vault */
};

struct dp_ingest {
	/* set by the caller before the first batch */
	const struct chot_keys *keys;
	uint64_t retention_ms;
	struct dp_dedupe *dedupe;
	struct dp_vault_seen *vault_seen;      /* DP_VAULT_CACHE_SIZE entries */
	/* set by the caller before each batch (lk NULL: no checkpoint check) */
	const struct chk_lookup *lk;
	const void *lt;
	uint32_t device_id;
	/* the last batch */
	unsigned n_events;                     /* decoded: codes[0..n_events) */
	uint16_t codes[WIRE_MAX_EVENTS];       /* verdict code per event (§9) */
	unsigned n;                            /* survivors: sevs[0..n) */
	unsigned dups;                         /* events that were duplicates */
	struct dp_store_event sevs[WIRE_MAX_EVENTS];
	/* scratch */
	struct wire_arena arena;
	struct scan_event evs[WIRE_MAX_EVENTS];
	struct dp_dedupe_key keys_dd[WIRE_MAX_EVENTS];
	uint64_t ts[WIRE_MAX_EVENTS];
	bool is_dup[WIRE_MAX_EVENTS];
	uint16_t masks[WIRE_MAX_EVENTS];       /* reason mask per valid event */
	uint8_t ev_of[WIRE_MAX_EVENTS];        /* valid event -> its index in the batch */
	struct dp_vault_seen vault_new[WIRE_MAX_EVENTS];
	unsigned n_vault_new;
};

/* Prepare in (zeroed by the caller): the arena. */
void dp_ingest_init(struct dp_ingest *in, const struct chot_keys *keys, uint64_t retention_ms,
		    struct dp_dedupe *dedupe, struct dp_vault_seen *vault_seen);

/*
 * Ingest the plaintext pt (len bytes) of an authentic batch, validated
 * against now_ms.  Counts into ctr: batches_accepted, events_decoded,
 * ingest_events and every bad / duplicate event (or the decode error).
 * Returns WIRE_OK with in->n survivors in in->sevs (they stay valid until
 * the next call), or the decode reason (already counted: the batch has
 * nothing to store).  vault_hints false: no write_vault hint is computed
 * (the batch is going to be dropped).
 */
enum chot_reason dp_ingest(struct dp_ingest *in, const uint8_t *pt, uint32_t len,
			   uint64_t now_ms, bool vault_hints, struct dp_counters *ctr);

/* The store took the last batch: remember its vault writes. */
void dp_ingest_commit(struct dp_ingest *in);

/* The store refused the last batch: undo its dedupe inserts. */
void dp_ingest_rollback(struct dp_ingest *in);

#endif /* CHOT_DP_INGEST_H */
