/*
 * Counter names and the reason -> contract counter mapping (counters.h).
 * The mapping comes from proto/reason.h so a new reason can never be
 * counted under the wrong name.
 */
#include <string.h>

#include "counters.h"

const char *const dp_counter_names[DP_CTR__COUNT] = {
#define X(n) #n,
	DP_COUNTERS(X)
#undef X
};

void
dp_count_reason(struct dp_counters *c, enum chot_reason r)
{
	if ((unsigned)r >= CHOT_REASON__COUNT)
		return;
	c->reasons[r]++;
	switch (chot_reason_counter(r)) {
	case CTR_NOT_OURS:      c->not_ours++; break;
	case CTR_BAD_HEADER:    c->bad_header++; break;
	case CTR_BAD_TAG:       c->bad_tag++; break;
	case CTR_STALE_EPOCH:   c->stale_epoch++; break;
	case CTR_REPLAYED:      c->replayed++; break;
	case CTR_DECODE_ERRORS: c->decode_errors++; break;
	case CTR_BAD_EVENTS:    c->bad_events++; break;
	case CTR_DUP_SCANS:     c->dup_scans++; break;
	default: break;
	}
}

void
dp_counters_sum(struct dp_counters *out, const struct dp_counters *const *in, unsigned n)
{
	unsigned i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		for (j = 0; j < DP_CTR__COUNT; j++)
			*dp_counter_slot(out, j) += *dp_counter_slot((struct dp_counters *)(uintptr_t)in[i], j);
		for (j = 0; j < CHOT_REASON__COUNT; j++)
			out->reasons[j] += in[i]->reasons[j];
		for (j = 0; j < CHK_NREASONS; j++)
			out->alert_reasons[j] += in[i]->alert_reasons[j];
		for (j = 0; j < DP_VLAT_BUCKETS; j++)
			out->verdict_lat[j] += in[i]->verdict_lat[j];
	}
}

uint64_t
dp_vlat_quantile_us(const uint64_t lat[DP_VLAT_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;
	unsigned b;

	for (b = 0; b < DP_VLAT_BUCKETS; b++)
		total += lat[b];
	if (total == 0)
		return 0;
	for (b = 0; b < DP_VLAT_BUCKETS; b++) {
		seen += lat[b];
		if ((double)seen >= q * (double)total)
			return dp_vlat_upper_us(b);
	}
	return dp_vlat_upper_us(DP_VLAT_BUCKETS - 1);
}
