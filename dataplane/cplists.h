/*
 * The checkpoint lists inside chotd (DESIGN §9): a loader that is never a
 * worker, and read-only tables the workers check every event against.
 *
 * Loader: a control thread ("chot-lists", rte_ctrl_thread_create) with a
 * blocking hiredis connection bounded by timeouts (store/lists_read.h), as
 * redis.user, from lists.url (default: redis.url; null:// has no lists, so a
 * benchmark may store to null:// and still read lists).  Every lists.poll_ms (500) it reads chot:{lists}:version; when
 * the version moved (or nothing was loaded yet) it reads every list (HSCAN),
 * builds a fresh table (cptable.h: rte_hash for the watchlist, green lane
 * and checkpoint sites, a flat array for the communes), publishes it by one
 * pointer swap, waits for an rte_rcu_qsbr grace period (every worker has
 * reported a quiescent state since the swap) and frees the old table.  A
 * change is live within poll_ms + the load, well inside 2 s.  Bad entries
 * are skipped and counted (lists_bad_entries, the first few logged); a read
 * that fails keeps the old table and is retried at the next poll
 * (lists_errors).  dp_lists_start() loads once before RX starts, so the
 * lists are in force from the first packet after a restart (when Redis is
 * up).
 *
 * Workers: dp_lists_get() (an acquire load) at the start of a batch, the
 * table only for that batch (chk_event() over cpt_lookup, in
 * dp_ingest), dp_lists_quiescent() once per loop turn.  They
 * never block, never talk to Redis, never see a table being built.
 */
#ifndef CHOT_DP_CPLISTS_H
#define CHOT_DP_CPLISTS_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "counters.h"
#include "pseudonym.h"
#include "validate.h"

struct dp_lists_table;

/*
 * Create the RCU state for n_readers workers (ids 0..n-1, all online), load
 * the lists once and start the loader thread.  null:// has no lists (the
 * table stays empty: only the declaration checks apply).  0 or -errno (a
 * bad lists.url, the thread could not start); Redis being down is not an
 * error.
 */
int dp_lists_start(const struct dp_conf *c, const char *user, const char *password,
		   unsigned n_readers);

/* Stop the loader thread and free the tables; after the workers stopped. */
void dp_lists_stop(void);

/* Worker: the current table (never NULL once started). */
const struct dp_lists_table *dp_lists_get(void);

/* Worker: the lookups over a table are cptable.h's cpt_lookup. */

/* Worker `reader`: holds no table now. */
void dp_lists_quiescent(unsigned reader);
/* Worker `reader` stops checking (drain): a grace period no longer waits for it. */
void dp_lists_offline(unsigned reader);

struct dp_lists_stats {
	uint64_t reloaded;        /* tables published */
	uint64_t bad_entries;     /* entries skipped, over all loads */
	uint64_t errors;          /* loads that failed (Redis down, refused) */
	uint64_t version;         /* chot:{lists}:version of the table in force */
	uint64_t watch, zones, greenlane, checkpoints;   /* its sizes */
	uint64_t load_ms;         /* how long its load took */
};

/* Any thread. */
void dp_lists_get_stats(struct dp_lists_stats *st);

/* Put the loader's counters (lists_*) into a sum of the lcores' counters. */
void dp_lists_add_counters(struct dp_counters *sum);

#endif /* CHOT_DP_CPLISTS_H */
