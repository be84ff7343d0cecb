/*
 * chot's one clock (every program reads time through this file):
 *
 *   chot_mono_us()   CLOCK_MONOTONIC in microseconds: timers, rates, deadlines
 *   chot_real_ms()   CLOCK_REALTIME in unix milliseconds: scan times, the
 *                    validation clock
 *
 * and the same two clocks derived from a cycle counter (struct chot_clock),
 * for chotd's loop: clock_gettime is not free everywhere (in some VMs it is
 * a real syscall) and the loop reads a clock every burst.  chot_clock_anchor()
 * pins the counter to both system clocks once; afterwards a reading is one
 * counter read and a division.  The counter is the caller's (chotd passes
 * rte_rdtsc() and rte_get_tsc_hz()), so this header needs no DPDK and the
 * arithmetic is unit-tested (tests/proto/test_misc.c).
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

/* Both system clocks, anchored to a cycle counter. */
struct chot_clock {
	uint64_t cycles_per_us;   /* >= 1 */
	uint64_t base_cycles;
	uint64_t mono_base_us;
	uint64_t real_base_ms;
};

/* Anchor: the counter reads `cycles` now and runs at hz. */
static inline void
chot_clock_anchor_at(struct chot_clock *c, uint64_t cycles, uint64_t hz, uint64_t mono_us,
		     uint64_t real_ms)
{
	c->cycles_per_us = hz / 1000000 ? hz / 1000000 : 1;
	c->base_cycles = cycles;
	c->mono_base_us = mono_us;
	c->real_base_ms = real_ms;
}

static inline void
chot_clock_anchor(struct chot_clock *c, uint64_t cycles, uint64_t hz)
{
	chot_clock_anchor_at(c, cycles, hz, chot_mono_us(), chot_real_ms());
}

/* CLOCK_MONOTONIC microseconds when the counter reads `cycles`. */
static inline uint64_t
chot_clock_mono_us(const struct chot_clock *c, uint64_t cycles)
{
	return c->mono_base_us + (cycles - c->base_cycles) / c->cycles_per_us;
}

/* CLOCK_REALTIME milliseconds when the counter reads `cycles`. */
static inline uint64_t
chot_clock_real_ms(const struct chot_clock *c, uint64_t cycles)
{
	return c->real_base_ms + (cycles - c->base_cycles) / c->cycles_per_us / 1000;
}

#endif /* CHOT_CLOCK_H */
