/*
 * remove_string.c - removes strings of consecutive stops from a few routes
 * near a seed request (after Christiaens & Vanden Berghe's SISR): routes are
 * visited in order of their closest request to the seed; from each, the
 * requests of a run of consecutive stops around that request go out, until
 * q requests are removed.  Cutting neighbouring routes at the same place
 * lets the repair re-weave them.
 */
#include "solver/ops/ops_int.h"

int slv_remove_string(slv_search *s, int q)
{
    const slv_instance *in = s->in;
    int *cand = s->ibuf + s->n_req + s->n_veh;
    double *key = s->rbuf;
    int n = ops_candidates(s, cand), out = 0, rc;
    int *picked = s->obuf;

    if (n == 0)
        return 0;
    int seed = cand[slv_rng_int(&s->rng, n)];
    int ls = in->req[seed].onboard_vehicle >= 0 ? in->req[seed].drop_loc : in->req[seed].pickup_loc;
    for (int k = 0; k < n; k++) {
        const slv_request *b = &in->req[cand[k]];
        int lb = b->onboard_vehicle >= 0 ? b->drop_loc : b->pickup_loc;
        key[cand[k]] = -slv_d(in, ls, lb);
    }
    ops_sort_desc(cand, key, n);
    int avg = 0, used_routes = 0;
    for (int v = 0; v < s->n_veh; v++)
        avg += s->route[v].n;
    avg = avg / (s->n_veh > 0 ? s->n_veh : 1) + 1;
    int max_len = avg < 10 ? avg : 10;
    unsigned long long route_mask_small = 0; /* routes already cut, for the first 64 */
    for (int k = 0; k < n && out < q && used_routes < s->n_veh; k++) {
        int r = cand[k], v = s->veh_of[r];
        if (v < 0)
            continue;
        if (v < 64) {
            if (route_mask_small & (1ULL << v))
                continue;
            route_mask_small |= 1ULL << v;
        }
        used_routes++;
        const slv_rstate *R = &s->route[v];
        int pp, pd, len = 1 + slv_rng_int(&s->rng, max_len);
        ops_positions(s, r, &pp, &pd);
        int at = (pp > 0 ? pp : pd) - 1;
        int start = at - slv_rng_int(&s->rng, len);
        if (start < 0)
            start = 0;
        int m = 0;
        for (int j = start; j < R->n && j < start + len; j++) {
            int rr = SLV_REQ(R->stops[j]);
            if (!slv_removable(s, rr))
                continue;
            int dup = 0;
            for (int t = 0; t < m && !dup; t++)
                dup = picked[t] == rr;
            if (!dup)
                picked[m++] = rr;
        }
        if ((rc = slv_search_remove(s, picked, m)) < 0)
            return rc;
        out += m;
    }
    return 0;
}
