/*
 * The log rate limiter (dataplane/store/ratelimit.h): at most `burst`
 * messages per period; the rest are counted and reported with the next
 * message allowed (or by dp_ratelimit_flush once the period is over); it
 * never runs out for good, however many messages came before.  Pure, no EAL.
 */
#include <criterion/criterion.h>

#include "ratelimit.h"

#define SEC 1000000ull

Test(ratelimit, burst_per_second_then_suppressed)
{
	struct dp_ratelimit rl;
	uint64_t sup = 99;
	unsigned i, allowed = 0;

	dp_ratelimit_init(&rl, 5, SEC);
	for (i = 0; i < 20; i++)
		if (dp_ratelimit_allow(&rl, 1000 + i, &sup)) {
			allowed++;
			cr_assert_eq(sup, 0, "nothing suppressed yet before message %u", i);
		}
	cr_assert_eq(allowed, 5, "5 messages in the first second, got %u", allowed);
	/* Next second: the first message goes out and carries the 15 suppressed. */
	cr_assert(dp_ratelimit_allow(&rl, SEC + 2000, &sup), "a new second allows again");
	cr_assert_eq(sup, 15, "reports the 15 suppressed, got %lu", (unsigned long)sup);
	cr_assert(dp_ratelimit_allow(&rl, SEC + 3000, &sup));
	cr_assert_eq(sup, 0, "reported once only, got %lu", (unsigned long)sup);
}

Test(ratelimit, never_a_whole_process_budget)
{
	struct dp_ratelimit rl;
	uint64_t sup, t;
	unsigned allowed = 0;

	dp_ratelimit_init(&rl, 2, SEC);
	/* One message every 2 s for an hour: every single one goes out. */
	for (t = 0; t < 3600 * SEC; t += 2 * SEC)
		allowed += dp_ratelimit_allow(&rl, t, &sup);
	cr_assert_eq(allowed, 1800, "every spaced-out message logged, got %u", allowed);
	/* A storm, then an hour later one outage more: still logged. */
	for (t = 0; t < 1000; t++)
		(void)dp_ratelimit_allow(&rl, 3600 * SEC + t, &sup);
	cr_assert(dp_ratelimit_allow(&rl, 7200 * SEC, &sup), "a later message is logged");
	cr_assert_eq(sup, 998, "with the storm's 998 suppressed, got %lu", (unsigned long)sup);
}

Test(ratelimit, flush_reports_a_finished_period)
{
	struct dp_ratelimit rl;
	uint64_t sup;
	unsigned i;

	dp_ratelimit_init(&rl, 1, SEC);
	for (i = 0; i < 4; i++)
		(void)dp_ratelimit_allow(&rl, 10 + i, &sup);
	cr_assert_eq(dp_ratelimit_flush(&rl, 500000), 0, "the period is not over yet");
	cr_assert_eq(dp_ratelimit_flush(&rl, SEC + 20), 3, "3 suppressed once it is over");
	cr_assert_eq(dp_ratelimit_flush(&rl, 3 * SEC), 0, "and only once");
	cr_assert(dp_ratelimit_allow(&rl, 3 * SEC + 1, &sup));
	cr_assert_eq(sup, 0, "the flushed count is not reported again");
}

Test(ratelimit, clock_going_backwards_is_a_new_period)
{
	struct dp_ratelimit rl;
	uint64_t sup;

	dp_ratelimit_init(&rl, 1, SEC);
	cr_assert(dp_ratelimit_allow(&rl, 10 * SEC, &sup));
	cr_assert(!dp_ratelimit_allow(&rl, 10 * SEC + 1, &sup));
	cr_assert(dp_ratelimit_allow(&rl, 5 * SEC, &sup), "an earlier clock starts afresh");
	cr_assert_eq(sup, 1);
}
