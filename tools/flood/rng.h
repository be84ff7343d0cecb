/*
 * The generator's only source of randomness: xoshiro256** seeded through
 * splitmix64.  Never rand() or the clock: the same seed gives the same bytes.
 */
#ifndef CHOT_FLOOD_RNG_H
#define CHOT_FLOOD_RNG_H

#include <stdint.h>

struct fl_rng {
	uint64_t s[4];
};

static inline uint64_t
fl_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
fl_rng_seed(struct fl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = fl_splitmix64(&seed);
}

static inline uint64_t
fl_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
fl_rng_next(struct fl_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = fl_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = fl_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n) (n > 0). */
static inline uint64_t
fl_rng_below(struct fl_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)fl_rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint64_t
fl_rng_range(struct fl_rng *r, uint64_t lo, uint64_t hi)
{
	return lo + fl_rng_below(r, hi - lo + 1);
}

/* True with probability p. */
static inline int
fl_rng_chance(struct fl_rng *r, double p)
{
	return (double)(fl_rng_next(r) >> 11) * 0x1.0p-53 < p;
}

#endif /* CHOT_FLOOD_RNG_H */
