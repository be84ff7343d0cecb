/*
 * The checkpoint lists as one read-only table (DESIGN §9): built once from
 * the entries of chot:{lists}:* as read from Redis (proto/lists.h
 * encodings), then only looked up, by any number of workers at once, until
 * it is freed after an RCU grace period (cplists.c).
 *
 *   watchlist   rte_hash pid -> (until_ms, status), behind a 128 KiB
 *               one-hash pre-filter (most scans are not on the list)
 *   green lane  rte_hash pid -> struct greenlane_entry
 *   sites       rte_hash of the registry's `checkpoint` sites
 *   zones       a flat array, commune 1..99999 -> level
 *
 * Builds allocate (rte_hash, malloc); lookups never do, never block and
 * take no lock.  No logging: a bad entry is returned as such and the
 * caller counts and logs it.  Needs EAL (rte_hash); unit-tested with a
 * private in-memory EAL (tests/dataplane/test_cptable.c).
 */
#ifndef CHOT_DP_CPTABLE_H
#define CHOT_DP_CPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

#define CPT_COMMUNES 100000u        /* commune codes 1..99999 */

enum cpt_list { CPT_WATCH, CPT_ZONES, CPT_GREENLANE, CPT_SITES };

struct dp_lists_table;
struct cpt_builder;

struct cpt_sizes {
	uint64_t watch, zones, greenlane, checkpoints;
};

struct cpt_builder *cpt_builder_create(void);
void cpt_builder_destroy(struct cpt_builder *b);

/*
 * One hash field of list l as read (field and value not NUL-terminated):
 * watch and green lane fields are 32 lowercase hex pids, zones' communes
 * 1..99999, sites' ids 1..2^32-1 with "kind,commune,name" values.
 * 0: taken (a repeated field replaces the earlier one), 1: malformed,
 * skipped, -ENOMEM.
 */
int cpt_builder_add(struct cpt_builder *b, enum cpt_list l, const char *f, size_t fl,
		    const char *v, size_t vl);

/* Bad entries seen by this builder. */
uint64_t cpt_builder_bad(const struct cpt_builder *b);

/*
 * The table of everything added; gen makes its rte_hash names unique among
 * the tables alive at once.  NULL with errno ENOMEM (or ENOSPC).  The
 * builder may be destroyed afterwards.
 */
struct dp_lists_table *cpt_build(const struct cpt_builder *b, uint64_t gen);

/* A table with nothing on it (every lookup misses).  NULL: ENOMEM. */
struct dp_lists_table *cpt_empty(void);

void cpt_free(struct dp_lists_table *t);

void cpt_get_sizes(const struct dp_lists_table *t, struct cpt_sizes *out);

/* The lookups over a table, for chk_event() (checkpoint.h). */
extern const struct chk_lookup cpt_lookup;

#endif /* CHOT_DP_CPTABLE_H */
