/*
 * Counters (dataplane/counters.c): every reason lands in exactly one
 * contract counter (the one proto/reason.h names) plus its own per-reason
 * slot, and summing per-lcore structs adds everything.  Pure, no EAL.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "counters.h"

Test(counters, every_reason_lands_once)
{
	unsigned r;

	for (r = 1; r < CHOT_REASON__COUNT; r++) {
		struct dp_counters c;
		uint64_t total = 0;
		unsigned i;

		memset(&c, 0, sizeof(c));
		dp_count_reason(&c, (enum chot_reason)r);
		for (i = 0; i < DP_CTR__COUNT; i++)
			total += *dp_counter_slot(&c, i);
		cr_assert_eq(total, 1, "reason %s must bump exactly one counter, bumped %lu",
			     chot_reason_name(r), (unsigned long)total);
		cr_assert_eq(c.reasons[r], 1, "reason %s has its own slot", chot_reason_name(r));
		const char *want = chot_counter_name(chot_reason_counter(r));
		for (i = 0; i < DP_CTR__COUNT; i++)
			if (*dp_counter_slot(&c, i))
				cr_assert_str_eq(dp_counter_names[i], want,
						 "reason %s counted under %s, expected %s",
						 chot_reason_name(r), dp_counter_names[i], want);
	}
}

Test(counters, contract_names_first)
{
	static const char *const contract[] = {
		"rx_packets", "not_ours", "bad_header", "bad_tag", "stale_epoch", "replayed",
		"decode_errors", "batches_accepted", "events_decoded", "bad_events", "dup_scans",
		"events_stored", "events_pending", "events_dropped", "redis_errors", "acks_sent",
	};
	unsigned i;

	for (i = 0; i < sizeof(contract) / sizeof(contract[0]); i++)
		cr_assert_str_eq(dp_counter_names[i], contract[i], "counter %u is %s", i, contract[i]);
}

Test(counters, sum)
{
	struct dp_counters a, b, s;
	const struct dp_counters *in[2] = { &a, &b };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.rx_packets = 3;
	b.rx_packets = 4;
	a.reasons[FRAME_FRAGMENT] = 2;
	b.reasons[FRAME_FRAGMENT] = 5;
	b.acks_sent = 9;
	dp_counters_sum(&s, in, 2);
	cr_assert_eq(s.rx_packets, 7);
	cr_assert_eq(s.acks_sent, 9);
	cr_assert_eq(s.reasons[FRAME_FRAGMENT], 7);
}

/* The verdict latency histogram (/chot/verdict): buckets and quantiles. */
Test(counters, verdict_latency_buckets)
{
	uint64_t lat[DP_VLAT_BUCKETS] = { 0 };

	cr_assert_eq(dp_vlat_bucket(0), 0);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(0)), 1);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(63)), 64);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(64)), 65);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(99)), 100, "the target reads exactly");
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(127)), 128);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(128)), 256);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(255)), 256);
	cr_assert_eq(dp_vlat_upper_us(dp_vlat_bucket(256)), 512);
	cr_assert_eq(dp_vlat_bucket(UINT64_MAX), DP_VLAT_BUCKETS - 1, "the last bucket is open");
	for (uint64_t us = 1; us < (1u << 22); us = us * 3 / 2 + 1)
		cr_assert_geq(dp_vlat_upper_us(dp_vlat_bucket(us)), us < (1u << 21) ? us + 1 : 0,
			      "%lu us lies below its bucket's upper bound", (unsigned long)us);
	cr_assert_eq(dp_vlat_quantile_us(lat, 0.99), 0, "no samples");
	for (unsigned i = 0; i < 98; i++)
		lat[dp_vlat_bucket(10)]++;
	lat[dp_vlat_bucket(300)]++;
	lat[dp_vlat_bucket(5000)]++;
	cr_expect_eq(dp_vlat_quantile_us(lat, 0.50), 11);
	cr_expect_eq(dp_vlat_quantile_us(lat, 0.98), 11);
	cr_expect_eq(dp_vlat_quantile_us(lat, 0.99), 512);
	cr_expect_eq(dp_vlat_quantile_us(lat, 0.999), 8192);
}
