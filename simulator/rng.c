/*
 * rng.c - the simulator's random draws over the shared generator.
 *
 * A simulated day must come out the same for the same scenario and seed on
 * every machine and C library, so the simulator draws from noriai's one
 * xoshiro256** (solver/rng.h, seeded by splitmix64).  The seed, next,
 * uniform and below calls are that module's under the simulator's names;
 * two draws are the simulator's own:
 *
 *   normal  Marsaglia's polar method; the second value of each pair is
 *           dropped so that the state advances the same way whatever
 *           sequence of calls is made (no hidden cache in the state)
 *   pick    one uniform against the cumulative weights (linear, O(n))
 *
 * Cost: a few nanoseconds per draw; nothing allocates.
 */
#include "simulator/sim.h"

#include <math.h>

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    slv_rng_seed(r, seed);
}

uint64_t sim_rng_next(sim_rng *r)
{
    return slv_rng_next(r);
}

double sim_rng_uniform(sim_rng *r)
{
    return slv_rng_uniform(r);
}

int sim_rng_below(sim_rng *r, int n)
{
    return slv_rng_below(r, n);
}

double sim_rng_normal(sim_rng *r)
{
    double u, v, s;

    do {
        u = 2.0 * slv_rng_uniform(r) - 1.0;
        v = 2.0 * slv_rng_uniform(r) - 1.0;
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
    x = slv_rng_uniform(r) * total;
    for (int i = 0; i < n; i++) {
        if (weight[i] <= 0)
            continue;
        acc += weight[i];
        if (x < acc)
            return i;
    }
    return last; /* rounding left x at the very top */
}
