/*
 * A log rate limiter: at most `burst` messages per `period_us`, the rest
 * counted and reported, never a budget for the whole process (issue 11: a
 * store that went quiet after its 50th message never logged a Redis outage
 * again).  The caller owns the clock: it passes now_us, so the limiter is
 * pure and a test can drive it through an hour in microseconds.
 *
 * Used by the store (store_log in store.c) per store instance, so one
 * lcore owns each limiter and it needs no lock.
 */
#ifndef CHOT_DP_RATELIMIT_H
#define CHOT_DP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct dp_ratelimit {
	uint64_t period_us;
	unsigned burst;
	bool started;
	uint64_t window_start_us;
	unsigned used;          /* messages allowed in the current window */
	uint64_t suppressed;    /* refused and not reported yet */
};

void dp_ratelimit_init(struct dp_ratelimit *rl, unsigned burst, uint64_t period_us);

/*
 * May a message go out at now_us?  true: log it, and if *suppressed > 0
 * say first that that many were suppressed (the count is then cleared).
 * false: it is counted as suppressed.  A clock that goes backwards starts
 * a new window.
 */
bool dp_ratelimit_allow(struct dp_ratelimit *rl, uint64_t now_us, uint64_t *suppressed);

/*
 * Once the window in which messages were suppressed is over, return their
 * number (and clear it) so the caller can report it without waiting for
 * the next message; 0 otherwise.
 */
uint64_t dp_ratelimit_flush(struct dp_ratelimit *rl, uint64_t now_us);

#endif /* CHOT_DP_RATELIMIT_H */
