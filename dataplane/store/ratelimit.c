/*
 * Fixed-window log rate limiting (ratelimit.h).
 */
#include "ratelimit.h"

void
dp_ratelimit_init(struct dp_ratelimit *rl, unsigned burst, uint64_t period_us)
{
	*rl = (struct dp_ratelimit){ .period_us = period_us ? period_us : 1, .burst = burst };
}

/* Start a new window at now_us if the current one is over (or the clock went back). */
static void
rl_roll(struct dp_ratelimit *rl, uint64_t now_us)
{
	if (!rl->started || now_us < rl->window_start_us ||
	    now_us - rl->window_start_us >= rl->period_us) {
		rl->started = true;
		rl->window_start_us = now_us;
		rl->used = 0;
	}
}

bool
dp_ratelimit_allow(struct dp_ratelimit *rl, uint64_t now_us, uint64_t *suppressed)
{
	rl_roll(rl, now_us);
	*suppressed = 0;
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->used++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

uint64_t
dp_ratelimit_flush(struct dp_ratelimit *rl, uint64_t now_us)
{
	uint64_t n;

	if (rl->suppressed == 0 || !rl->started ||
	    (now_us >= rl->window_start_us && now_us - rl->window_start_us < rl->period_us))
		return 0;
	n = rl->suppressed;
	rl->suppressed = 0;
	return n;
}
