/*
 * remove_shaw.c - related removal (Shaw 1998, as used by Ropke & Pisinger
 * 2006): a seed request and the requests most like it - close pickups and
 * drop-offs, similar service times, similar load - since those can trade
 * places.  Relatedness of r and u:
 *
 *   9 (d(p_r,p_u) + d(d_r,d_u)) / dmax + 3 (|T_pr - T_pu| + |T_dr - T_du|) / H
 *   + 2 |q_r - q_u| / qmax
 *
 * (smaller is more related), with T the earliest service times of the stops
 * and H the time horizon.  Chosen with a strong bias to the most related
 * (y^p, p = 6).
 */
#include "solver/ops/ops_int.h"

#include <math.h>

static void stop_times(const slv_search *s, int r, double *tp, double *td)
{
    const slv_rstate *R = &s->route[s->veh_of[r]];

    *tp = *td = 0;
    for (int k = 0; k < R->n; k++) {
        if (R->stops[k] == SLV_PICKUP(r))
            *tp = R->E[k + 1];
        else if (R->stops[k] == SLV_DROP(r))
            *td = R->E[k + 1];
    }
    if (*tp == 0)
        *tp = *td;
}

int slv_remove_shaw(slv_search *s, int q)
{
    const slv_instance *in = s->in;
    int *cand = s->ibuf + s->n_req + s->n_veh;
    double *key = s->rbuf;
    int n = ops_candidates(s, cand);
    double horizon = 1, qmax = 1;

    if (n == 0)
        return 0;
    if (q > n)
        q = n;
    for (int v = 0; v < s->n_veh; v++)
        horizon = fmax(horizon, in->veh[v].shift_end < SLV_INF ? in->veh[v].shift_end : 0);
    for (int k = 0; k < n; k++)
        qmax = fmax(qmax, in->req[cand[k]].load[0]);
    int seed_at = slv_rng_int(&s->rng, n);
    int seed = cand[seed_at];
    const slv_request *a = &in->req[seed];
    double ta_p, ta_d;
    stop_times(s, seed, &ta_p, &ta_d);
    double dmax = s->max_dist > 0 ? s->max_dist : 1;
    for (int k = 0; k < n; k++) {
        int r = cand[k];
        const slv_request *b = &in->req[r];
        double tb_p, tb_d;
        stop_times(s, r, &tb_p, &tb_d);
        int pa = a->onboard_vehicle >= 0 ? a->drop_loc : a->pickup_loc;
        int pb = b->onboard_vehicle >= 0 ? b->drop_loc : b->pickup_loc;
        double rel = 9 * (slv_d(in, pa, pb) + slv_d(in, a->drop_loc, b->drop_loc)) / dmax +
                     3 * (fabs(ta_p - tb_p) + fabs(ta_d - tb_d)) / horizon +
                     2 * fabs((double)a->load[0] - b->load[0]) / qmax;
        key[r] = -rel; /* sort descending: most related first */
    }
    key[seed] = SLV_INF;
    ops_sort_desc(cand, key, n);
    for (int k = 1; k < q; k++) {
        int j = k + ops_biased_index(s, n - k, 6);
        int t = cand[k];
        cand[k] = cand[j];
        cand[j] = t;
    }
    return slv_search_remove(s, cand, q);
}
