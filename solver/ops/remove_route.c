/*
 * remove_route.c - empties whole routes, the short ones more often: the move
 * that lets the search close a route and save a vehicle.  Routes are drawn
 * with weight 1/(1 + stops) until q requests are out (at least one route).
 */
#include "solver/ops/ops_int.h"

int slv_remove_route(slv_search *s, int q)
{
    int *buf = s->ibuf + s->n_req + s->n_veh;
    int n = 0, rc;

    for (int tries = 0; tries < 3 && n < q; tries++) {
        double total = 0, pick;
        int v = -1;
        for (int u = 0; u < s->n_veh; u++)
            if (s->route[u].n > 0)
                total += 1.0 / (1 + s->route[u].n);
        if (total <= 0)
            break;
        pick = slv_rng_unit(&s->rng) * total;
        for (int u = 0; u < s->n_veh; u++) {
            if (s->route[u].n == 0)
                continue;
            v = u;
            pick -= 1.0 / (1 + s->route[u].n);
            if (pick < 0)
                break;
        }
        if (v < 0)
            break;
        int m = 0;
        for (int k = 0; k < s->route[v].n; k++) {
            int st = s->route[v].stops[k], r = SLV_REQ(st);
            if (SLV_IS_DROP(st) && slv_removable(s, r))
                buf[m++] = r;
        }
        if (m == 0)
            break;
        if ((rc = slv_search_remove(s, buf, m)) < 0)
            return rc;
        n += m;
    }
    return 0;
}
