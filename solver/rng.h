/*
 * rng.h - the one source of pseudo-random numbers in noriai: splitmix64 and
 * xoshiro256** (Blackman and Vigna, 2018) seeded by it.
 *
 * It lives at the bottom layer (pure, libc only) so that the solver, the
 * synthetic town generator, the simulator and the command line all draw
 * from the same code: a run is reproducible by seed on every machine and C
 * library, which rand()/random() do not promise.
 *
 * Two generators, because existing streams must stay bit-identical:
 *   slv_rng_splitmix64  one step of splitmix64 on a bare 64-bit counter;
 *                       the solver's search draws straight from it, and it
 *                       spreads a seed over xoshiro's four words;
 *   slv_rng             xoshiro256**, for everything else (towns, days,
 *                       load generators, tablets).
 *
 * Embedded by value; nothing to free.  Not thread-safe: one per thread.
 */
#ifndef NORIAI_SOLVER_RNG_H
#define NORIAI_SOLVER_RNG_H

#include <stdint.h>

/* Advances *state and returns the next splitmix64 output (inline: the
 * solver's search draws from it in its inner loops). */
static inline uint64_t slv_rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL); /* 2^64 / golden ratio */

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The top 53 bits of a 64-bit draw as a double in [0, 1). */
static inline double slv_rng_unit_of(uint64_t bits)
{
    return (double)(bits >> 11) * 0x1.0p-53;
}

typedef struct slv_rng {
    uint64_t s[4]; /* never all zero */
} slv_rng;

/* Any seed (0 included) gives a valid state. */
void slv_rng_seed(slv_rng *r, uint64_t seed);
uint64_t slv_rng_next(slv_rng *r);
/* Uniform in [0, 1). */
double slv_rng_uniform(slv_rng *r);
/* Uniform in [lo, hi). */
double slv_rng_range(slv_rng *r, double lo, double hi);
/* Uniform integer in 0..n-1 without bias (Lemire's multiply-and-reject);
 * 0 when n <= 1. */
int slv_rng_below(slv_rng *r, int n);
/* (int)(uniform * n), n > 0: one draw, bias under n / 2^53.  Kept beside
 * slv_rng_below because synthetic towns were made with it and must not
 * change. */
int slv_rng_scaled(slv_rng *r, int n);

#endif
