/*
 * remove_random.c - removes q requests chosen uniformly: diversification.
 */
#include "solver/ops/ops_int.h"

int slv_remove_random(slv_search *s, int q)
{
    int *cand = s->ibuf + s->n_req + s->n_veh;
    int n = ops_candidates(s, cand);

    if (q > n)
        q = n;
    for (int k = 0; k < q; k++) {
        int j = k + slv_rng_int(&s->rng, n - k);
        int t = cand[k];
        cand[k] = cand[j];
        cand[j] = t;
    }
    return slv_search_remove(s, cand, q);
}
