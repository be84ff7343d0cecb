/*
 * The checkpoint check (DESIGN §9): one validated, pseudonymised event
 * against the lists, giving its reason mask (proto/lists.h: bit i =
 * chk_reasons[i], the lowest set bit the most severe).
 *
 * Pure: the lists are reached through a small lookup interface, so the rules
 * are unit-tested without EAL (tests/dataplane/test_checkpoint.c) and chotd
 * plugs in its rte_hash tables (lists.c).  The rules, as agreed with the
 * generator (chot-flood gen):
 *   watch_*      the pid is on the watchlist and ev.ts_ms <= until_ms
 *                (set_ms is informational); any scheme
 *   zone_*       a person scheme (CCCD, PCCOVID, VNEID, PASSPORT) at a
 *                checkpoint (the site's registry kind is `checkpoint`),
 *                origin_commune red / orange
 *   decl_*       the event's declaration is symptoms / exposed; any scheme
 *   64..67       GREEN_LANE scans only, pid of (GREEN_LANE, subject):
 *                64 no registration; otherwise 65 at a checkpoint not on
 *                the route, 66 ts_ms outside [from_ms, to_ms], 67
 *                passengers > allowed (each independently)
 */
#ifndef CHOT_DP_CHECKPOINT_H
#define CHOT_DP_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "lists.h"
#include "pseudonym.h"
#include "validate.h"

/* A watchlist entry as the check needs it. */
struct chk_watch {
	uint64_t until_ms;
	uint8_t status;            /* enum watch_status */
};

/* The lookups; every one must be safe to call from a worker (no blocking). */
struct chk_lookup {
	/* false when the pid is not on the watchlist, else true and *out. */
	bool (*watch)(const void *t, const uint8_t pid[PID_LEN], struct chk_watch *out);
	/* NULL when the pid (of GREEN_LANE, code) is not registered. */
	const struct greenlane_entry *(*greenlane)(const void *t, const uint8_t pid[PID_LEN]);
	bool (*is_checkpoint)(const void *t, uint32_t site_id);
	enum zone_level (*zone)(const void *t, uint32_t commune);
	/* Optional (NULL: none): start fetching what watch() will read for
	 * pid, called as soon as the pid is known (ingest.c), so the miss
	 * overlaps the rest of the batch's work. */
	void (*prefetch)(const void *t, const uint8_t pid[PID_LEN]);
};

/* The reason mask of one event (0 = clear). */
uint16_t chk_event(const struct chk_lookup *l, const void *t, const struct scan_event *ev,
		   const uint8_t pid[PID_LEN]);

/* A person scheme: CCCD, PCCOVID, VNEID, PASSPORT. */
static inline bool
chk_is_person(uint8_t scheme)
{
	return scheme >= SCHEME_CCCD && scheme <= SCHEME_PASSPORT;
}

#endif /* CHOT_DP_CHECKPOINT_H */
