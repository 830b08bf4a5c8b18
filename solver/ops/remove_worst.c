/*
 * remove_worst.c - removes the requests whose stops cost the most: for each
 * request, the distance and time saved by taking its two stops out of the
 * route (weighted as in the objective), sorted from the largest saving, and
 * picked with a bias towards the front (Ropke & Pisinger's y^p, p = 3) so
 * that repeated calls do not always remove the same ones.
 */
#include "solver/ops/ops_int.h"

static double saving(const slv_search *s, const slv_rstate *R, int k)
{
    const slv_instance *in = s->in;
    int a = R->loc[k - 1], b = R->loc[k], c = R->loc[k + 1];
    double dd = slv_d(in, a, b) + slv_d(in, b, c) - slv_d(in, a, c);
    double dt = slv_t(in, a, b) + slv_t(in, b, c) - slv_t(in, a, c);

    return in->obj.per_distance * dd + in->obj.per_drive_time * dt;
}

int slv_remove_worst(slv_search *s, int q)
{
    int *cand = s->ibuf + s->n_req + s->n_veh;
    double *key = s->rbuf;
    int n = ops_candidates(s, cand), *pick;

    if (q > n)
        q = n;
    for (int k = 0; k < n; k++) {
        int r = cand[k], pp, pd;
        const slv_rstate *R = &s->route[s->veh_of[r]];
        ops_positions(s, r, &pp, &pd);
        key[r] = saving(s, R, pd) + (pp > 0 ? saving(s, R, pp) : 0);
        if (pp > 0 && pd == pp + 1) {
            /* Adjacent stops: the saving is of the pair together. */
            const slv_instance *in = s->in;
            int a = R->loc[pp - 1], c = R->loc[pd + 1];
            double dd = slv_d(in, a, R->loc[pp]) + slv_d(in, R->loc[pp], R->loc[pd]) +
                        slv_d(in, R->loc[pd], c) - slv_d(in, a, c);
            key[r] = in->obj.per_distance * dd;
        }
        key[r] *= 0.8 + 0.4 * slv_rng_unit(&s->rng);
    }
    ops_sort_desc(cand, key, n);
    pick = cand;
    /* Biased choice without repetition: swap each choice to the front. */
    for (int k = 0; k < q; k++) {
        int j = k + ops_biased_index(s, n - k, 3);
        int t = pick[k];
        pick[k] = pick[j];
        pick[j] = t;
        /* keep the rest sorted enough: the bias only needs rough order */
    }
    return slv_search_remove(s, pick, q);
}
