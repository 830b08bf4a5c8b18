/*
 * rng.c - splitmix64 and xoshiro256** (see rng.h for why one module).
 *
 * splitmix64 (Steele, Lea and Flood, 2014) adds the golden-ratio constant
 * to a counter and mixes the sum with two multiply-xorshift rounds.  Every
 * 64-bit output appears once per 2^64 steps, so four consecutive outputs
 * are never all zero - which is the one state xoshiro256** must avoid.
 *
 * xoshiro256** keeps 256 bits, has period 2^256 - 1, passes the usual
 * statistical batteries and costs a few shifts and xors per draw.  Its
 * output is the second state word scrambled by a multiply, a rotation and
 * another multiply ("**").
 *
 * Derived draws:
 *   uniform  the top 53 bits as a double in [0, 1), exact in binary64
 *   below    Lemire's multiply-and-reject: the high word of x * n is
 *            uniform once low words under 2^64 mod n are drawn again;
 *            usually one draw
 *   scaled   the truncated product uniform * n, as the town generator has
 *            always done
 *
 * Cost: a few nanoseconds per draw; nothing allocates.  splitmix64 is
 * inline in rng.h.
 */
#include "solver/rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void slv_rng_seed(slv_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = slv_rng_splitmix64(&seed);
}

uint64_t slv_rng_next(slv_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double slv_rng_uniform(slv_rng *r)
{
    return slv_rng_unit_of(slv_rng_next(r));
}

double slv_rng_range(slv_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * slv_rng_uniform(r);
}

int slv_rng_below(slv_rng *r, int n)
{
    uint64_t range, lo;
    unsigned __int128 m;

    if (n <= 1)
        return 0;
    range = (uint64_t)n;
    m = (unsigned __int128)slv_rng_next(r) * range;
    lo = (uint64_t)m;
    if (lo < range) {
        uint64_t threshold = -range % range; /* 2^64 mod range */

        while (lo < threshold) {
            m = (unsigned __int128)slv_rng_next(r) * range;
            lo = (uint64_t)m;
        }
    }
    return (int)(m >> 64);
}

int slv_rng_scaled(slv_rng *r, int n)
{
    return (int)(slv_rng_uniform(r) * n);
}
