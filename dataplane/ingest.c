/*
 * dp_ingest() (ingest.h): decode, validate and pseudonymise every event,
 * then dedupe them together (one bulk table lookup), then keep the
 * survivors in order with their vault hints.
 */
#include <string.h>

#include <rte_prefetch.h>

#include "ingest.h"
#include "layout.h"
#include "pseudonym.h"
#include "wire.h"

/* How many events (a validation and a SipHash each, ~200 cycles) after its
 * bucket's prefetch an event's dedupe entries are prefetched: about one
 * DRAM latency.  The batch's last ones are left to the bulk lookup. */
#define INGEST_ENTRY_LAG 3

/* A subject's first 8 pid bytes, and its slot in the vault cache. */
static inline uint64_t
ingest_pid8(const uint8_t pid[PID_LEN])
{
	uint64_t pid8;

	memcpy(&pid8, pid, sizeof(pid8));
	return pid8;
}

static inline uint32_t
ingest_vault_slot(uint64_t pid8)
{
	return (uint32_t)(pid8 & (DP_VAULT_CACHE_SIZE - 1));
}

void
dp_ingest_init(struct dp_ingest *in, const struct chot_keys *keys, uint64_t retention_ms,
	       struct dp_dedupe *dedupe, struct dp_vault_seen *vault_seen)
{
	in->keys = keys;
	in->retention_ms = retention_ms;
	in->dedupe = dedupe;
	in->vault_seen = vault_seen;
	wire_arena_init(&in->arena);
}

/* Should this event write the subject's vault entry ("first time this week",
 * proto/layout.h: the vault entry lives as long as the week's timeline)? */
static bool
ingest_vault_hint(struct dp_ingest *in, const uint8_t pid[PID_LEN], uint64_t ts_ms)
{
	uint32_t week = layout_week(ts_ms);
	uint64_t pid8 = ingest_pid8(pid);
	const struct dp_vault_seen *v = &in->vault_seen[ingest_vault_slot(pid8)];
	unsigned i;

	if (v->pid8 == pid8 && v->week == week)
		return false;
	for (i = 0; i < in->n_vault_new; i++)        /* twice in this batch */
		if (in->vault_new[i].pid8 == pid8 && in->vault_new[i].week == week)
			return false;
	in->vault_new[in->n_vault_new].pid8 = pid8;
	in->vault_new[in->n_vault_new].week = week;
	in->n_vault_new++;
	return true;
}

enum chot_reason
dp_ingest(struct dp_ingest *in, const uint8_t *pt, uint32_t len, uint64_t now_ms,
	  bool vault_hints, struct dp_counters *ctr)
{
	Chot__V1__ScanBatch *b;
	enum chot_reason r;
	uint8_t *pid;
	unsigned i, m = 0, n = 0, dups = 0;

	in->n = in->dups = in->n_events = 0;
	in->n_vault_new = 0;
	wire_arena_reset(&in->arena);
	r = wire_batch_decode(pt, len, &in->arena, &b);
	if (r != WIRE_OK) {
		dp_count_reason(ctr, r);
		return r;
	}
	ctr->batches_accepted++;
	ctr->events_decoded += b->n_events;
	ctr->ingest_events += b->n_events;
	in->n_events = (unsigned)b->n_events;
	for (i = 0; i < b->n_events; i++) {
		struct scan_event *ev = &in->evs[m];

		r = wire_event_validate(b->events[i], now_ms, in->retention_ms, ev);
		if (r != WIRE_OK) {
			dp_count_reason(ctr, r);
			in->codes[i] = CHK_INVALID;
			continue;
		}
		pid = in->keys_dd[m].pid;
		chot_pseudonym(pid, in->keys->pseudonym, ev->scheme, ev->subject,
			       ev->subject_len);
		dp_dedupe_key_finish(&in->keys_dd[m], ev->site_id, ev->dir);
		in->ts[m] = ev->ts_ms;
		in->ev_of[m] = (uint8_t)i;
		/* Three tables are read at random per event (the dedupe bucket in
		 * 16 MiB, the vault slot in 4 MiB, the watchlist filter): start
		 * every miss now, so they overlap the next events' validation
		 * and SipHash instead of stalling one by one. */
		dp_dedupe_prefetch(in->dedupe, &in->keys_dd[m]);
		/* INGEST_ENTRY_LAG events on, that bucket is in: its entries next. */
		if (m >= INGEST_ENTRY_LAG)
			dp_dedupe_prefetch_entry(in->dedupe, &in->keys_dd[m - INGEST_ENTRY_LAG]);
		rte_prefetch0(&in->vault_seen[ingest_vault_slot(ingest_pid8(pid))]);
		if (in->lk != NULL && in->lk->prefetch != NULL)
			in->lk->prefetch(in->lt, pid);
		m++;
	}
	/* The checkpoint check after all the pseudonyms: back to back, the
	 * lookups' misses overlap each other too. */
	for (i = 0; i < m; i++) {
		in->masks[i] = in->lk != NULL ?
			       chk_event(in->lk, in->lt, &in->evs[i], in->keys_dd[i].pid) : 0;
		in->codes[in->ev_of[i]] = chk_verdict_code(in->masks[i]);
	}
	dp_dedupe_begin(in->dedupe);
	dp_dedupe_check_insert_bulk(in->dedupe, in->keys_dd, in->ts, m, in->is_dup);
	for (i = 0; i < m; i++) {
		struct dp_store_event *se = &in->sevs[n];

		if (in->is_dup[i]) {
			dp_count_reason(ctr, EV_DUPLICATE);
			dups++;
			continue;
		}
		memcpy(se->pid, in->keys_dd[i].pid, PID_LEN);
		se->ev = &in->evs[i];
		se->reasons = in->masks[i];
		se->device_id = in->device_id;
		se->write_vault = vault_hints && ingest_vault_hint(in, se->pid, in->ts[i]);
		n++;
	}
	in->n = n;
	in->dups = dups;
	return WIRE_OK;
}

void
dp_ingest_commit(struct dp_ingest *in)
{
	unsigned i;

	for (i = 0; i < in->n_vault_new; i++)
		in->vault_seen[ingest_vault_slot(in->vault_new[i].pid8)] = in->vault_new[i];
	in->n_vault_new = 0;
}

void
dp_ingest_rollback(struct dp_ingest *in)
{
	dp_dedupe_rollback(in->dedupe);
	in->n_vault_new = 0;
}
