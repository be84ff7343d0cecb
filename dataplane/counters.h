/*
 * The dataplane counters (DESIGN §3).  One struct per worker and one for
 * the RX lcore, each written by exactly one lcore and cache-aligned, summed
 * on read by telemetry and at exit.  Reads from another lcore may see a
 * counter a few packets old; the accounting identities hold exactly at
 * quiescent points (nothing in the rings, nothing in flight):
 *
 *   rx_packets     = not_ours + bad_header + bad_tag + stale_epoch
 *                    + replayed + decode_errors + batches_accepted
 *   events_decoded = bad_events + dup_scans + events_stored
 *                    + events_pending + events_dropped
 */
#ifndef CHOT_DP_COUNTERS_H
#define CHOT_DP_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

#include "lists.h"
#include "reason.h"

/*
 * Verdict latency buckets: 1 us wide up to 128 us (so a p99 near the 100 us
 * target of DESIGN §7 reads to the microsecond), then one per power of two
 * up to 2^21 us (about two seconds), the last one open.  Bucket b's upper
 * bound is dp_vlat_upper_us(b).
 */
#define DP_VLAT_LINEAR_LOG2 7
#define DP_VLAT_LINEAR  (1u << DP_VLAT_LINEAR_LOG2)
#define DP_VLAT_BUCKETS (DP_VLAT_LINEAR + 14)

static inline unsigned
dp_vlat_bucket(uint64_t us)
{
	unsigned b;

	if (us < DP_VLAT_LINEAR)
		return (unsigned)us;
	b = DP_VLAT_LINEAR + (unsigned)(63 - __builtin_clzll(us)) - DP_VLAT_LINEAR_LOG2;
	return b < DP_VLAT_BUCKETS ? b : DP_VLAT_BUCKETS - 1;
}

static inline uint64_t
dp_vlat_upper_us(unsigned b)
{
	return b < DP_VLAT_LINEAR ? b + 1 : 1ull << (b - DP_VLAT_LINEAR + DP_VLAT_LINEAR_LOG2 + 1);
}

/* The smallest bucket upper bound below which a fraction q of the samples lie (0: none). */
uint64_t dp_vlat_quantile_us(const uint64_t lat[DP_VLAT_BUCKETS], double q);

/* X(name): every counter in /chot/stats order.  The first 16 are the contract. */
#define DP_COUNTERS(X) \
	X(rx_packets) X(not_ours) X(bad_header) X(bad_tag) X(stale_epoch) \
	X(replayed) X(decode_errors) X(batches_accepted) X(events_decoded) \
	X(bad_events) X(dup_scans) X(events_stored) X(events_pending) \
	X(events_dropped) X(redis_errors) X(acks_sent) \
	X(batches_dropped) X(acks_dropped) X(acks_deferred_dropped) X(tx_dropped) \
	X(dedupe_full) \
	X(arp_replies) X(nd_replies) X(ring_full_spins) X(rx_paused) \
	X(ingest_cycles) X(ingest_events) \
	X(verdicts_sent) X(verdicts_dropped) X(alerts_raised) X(alerts_dropped) \
	X(lists_reloaded) X(lists_bad_entries) X(lists_errors) \
	X(redis_moved) X(redis_ask) X(redis_tryagain) X(redis_clusterdown) \
	X(redis_map_refreshes) X(redis_wait_short) X(redis_resent)

struct dp_counters {
#define X(n) uint64_t n;
	DP_COUNTERS(X)
#undef X
	uint64_t reasons[CHOT_REASON__COUNT];
	/* Alerts of stored events, by reason (chk_reasons[] index): /chot/alerts. */
	uint64_t alert_reasons[CHK_NREASONS];
	/* RX -> verdict TX latency, TSC-stamped (dp_vlat_bucket): /chot/verdict. */
	uint64_t verdict_lat[DP_VLAT_BUCKETS];
} __rte_cache_aligned;

enum dp_counter_idx {
#define X(n) DP_CTR_ ## n,
	DP_COUNTERS(X)
#undef X
	DP_CTR__COUNT,
};

static inline uint64_t *
dp_counter_slot(struct dp_counters *c, unsigned idx)
{
	return &((uint64_t *)c)[idx];
}

extern const char *const dp_counter_names[DP_CTR__COUNT];

/* Count one reject: its per-reason counter and its contract counter. */
void dp_count_reason(struct dp_counters *c, enum chot_reason r);

/* Sum n structs into out (also summing reasons). */
void dp_counters_sum(struct dp_counters *out, const struct dp_counters *const *in, unsigned n);

#endif /* CHOT_DP_COUNTERS_H */
