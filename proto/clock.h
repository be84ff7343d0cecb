/*
 * The system clocks as the tools read them (chot-flood sim, chot-sockbase,
 * chot-impair): CLOCK_MONOTONIC in microseconds for timers and rates,
 * CLOCK_REALTIME in unix milliseconds for scan times.  chotd does not use
 * these: it derives both from the TSC (dataplane/worker.c).
 */
#ifndef CHOT_CLOCK_H
#define CHOT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
chot_mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static inline uint64_t
chot_real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

#endif /* CHOT_CLOCK_H */
