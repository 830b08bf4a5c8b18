/*
 * rng.c - the simulator's own random numbers: xoshiro256** (Blackman and
 * Vigna, 2018) seeded by splitmix64.
 *
 * Why our own: a simulated day must come out the same for the same scenario
 * and seed on every machine and C library, and rand()/random() promise
 * neither the algorithm nor the range.  xoshiro256** is small, fast, passes
 * the usual statistical batteries and has a period of 2^256 - 1.  Its state
 * must not be all zeros; splitmix64 spreads any 64-bit seed (0 included) over
 * the four words, and never yields four zero words in a row.
 *
 * Derived draws:
 *   uniform  the top 53 bits as a double in [0, 1)
 *   below    Lemire's multiply-and-reject: unbiased, usually one draw
 *   normal   Marsaglia's polar method; the second value of each pair is
 *            dropped so that the state advances the same way whatever
 *            sequence of calls is made (no hidden cache in the state)
 *   pick     one uniform against the cumulative weights (linear, O(n))
 *
 * Cost: a few nanoseconds per draw; nothing allocates.
 */
#include "simulator/sim.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_uniform(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

int sim_rng_below(sim_rng *r, int n)
{
    uint64_t range, x, lo;
    unsigned __int128 m;

    if (n <= 1)
        return 0;
    range = (uint64_t)n;
    x = sim_rng_next(r);
    m = (unsigned __int128)x * range;
    lo = (uint64_t)m;
    if (lo < range) {
        uint64_t threshold = -range % range; /* 2^64 mod range */
        while (lo < threshold) {
            x = sim_rng_next(r);
            m = (unsigned __int128)x * range;
            lo = (uint64_t)m;
        }
    }
    return (int)(m >> 64);
}

double sim_rng_normal(sim_rng *r)
{
    double u, v, s;

    do {
        u = 2.0 * sim_rng_uniform(r) - 1.0;
        v = 2.0 * sim_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

int sim_rng_pick(sim_rng *r, const double *weight, int n)
{
    double total = 0, x, acc = 0;
    int last = -1;

    for (int i = 0; i < n; i++) {
        if (weight[i] > 0) {
            total += weight[i];
            last = i;
        }
    }
    if (last < 0)
        return -1;
    x = sim_rng_uniform(r) * total;
    for (int i = 0; i < n; i++) {
        if (weight[i] <= 0)
            continue;
        acc += weight[i];
        if (x < acc)
            return i;
    }
    return last; /* rounding left x at the very top */
}
