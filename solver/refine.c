/*
 * refine.c - recombining the route pool with GLPK (see spp.h for the model).
 *
 * The search's current solution is the incumbent: its routes are put in the
 * pool (if not there yet) and handed to the model as the first integer
 * solution, so the refinement cannot do worse.  The chosen columns become the
 * new routes: a column of a shared vehicle type goes to the next free vehicle
 * of that type, a column of a unique type (a vehicle with riders on board or
 * a fixed prefix) to its own vehicle.
 */
#include "solver/search.h"
#include "solver/spp.h"

#include <stdlib.h>
#include <string.h>

int slv_refine(slv_search *s, double time_limit_s, int *improved)
{
    slv_pool *pool = &s->pool;
    slv_spp_col *cols = NULL;
    double *penalty = NULL, objective = 0, inc_obj = 0;
    int *incumbent = NULL, n_inc = 0, *next_free = NULL, rc = 0;
    char *chosen = NULL;

    *improved = 0;
    incumbent = malloc(((size_t)s->n_veh + 1) * sizeof(int));
    penalty = malloc(((size_t)s->n_req + 1) * sizeof(double));
    if (incumbent == NULL || penalty == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    for (int v = 0; v < s->n_veh; v++) {
        if (s->route[v].n == 0)
            continue;
        int idx = slv_pool_add(pool, s, &s->route[v]);
        if (idx < 0)
            goto out; /* pool full without the incumbent: nothing to do safely */
        incumbent[n_inc++] = idx;
        inc_obj += pool->r[idx].cost;
    }
    for (int r = 0; r < s->n_req; r++) {
        /* As in the search: a request that must be served costs SLV_BIG_UNSERVED when it
         * cannot be, so an incumbent that had to leave one out is still a solution. */
        penalty[r] = s->must_serve[r] ? SLV_BIG_UNSERVED : s->in->req[r].unserved_penalty;
        if (s->veh_of[r] < 0)
            inc_obj += penalty[r];
    }
    cols = malloc(((size_t)pool->n + 1) * sizeof(*cols));
    chosen = calloc((size_t)pool->n + 1, 1);
    next_free = calloc((size_t)s->n_types + 1, sizeof(int));
    if (cols == NULL || chosen == NULL || next_free == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    for (int k = 0; k < pool->n; k++) {
        cols[k].type = pool->r[k].type;
        cols[k].cost = pool->r[k].cost;
        cols[k].n_req = pool->r[k].n_req;
        cols[k].reqs = pool->r[k].reqs;
    }
    slv_spp_problem prob = {
        .n_requests = s->n_req,
        .penalty = penalty,
        .n_types = s->n_types,
        .type_count = s->type_count,
        .n_cols = pool->n,
        .cols = cols,
        .n_incumbent = n_inc,
        .incumbent = incumbent,
        .time_limit_s = time_limit_s,
    };
    rc = slv_spp_solve(&prob, chosen, &objective);
    if (rc == SLV_EGLPK) {
        rc = 0; /* GLPK gave up: the incumbent stands */
        goto out;
    }
    if (rc < 0)
        goto out;
    if (!(objective < inc_obj - 1e-6 * (1 + inc_obj)))
        goto out;
    /* Adopt: every route is replaced by its column, or emptied to its fixed prefix. */
    for (int v = 0; v < s->n_veh; v++) {
        slv_search_touch(s, v);
        s->route[v].n = 0;
    }
    for (int r = 0; r < s->n_req; r++)
        s->veh_of[r] = -1;
    for (int k = 0; k < pool->n; k++) {
        if (!chosen[k])
            continue;
        const slv_pool_route *e = &pool->r[k];
        int v = -1;
        if (s->type_count[e->type] == 1) {
            v = e->vehicle;
        } else {
            for (int u = next_free[e->type]; u < s->n_veh; u++) {
                if (s->in->veh_type[u] == e->type && s->route[u].n == 0) {
                    v = u;
                    next_free[e->type] = u + 1;
                    break;
                }
            }
        }
        if (v < 0) {
            rc = SLV_EINVAL; /* more columns of a type than vehicles: cannot happen */
            goto out;
        }
        if ((rc = slv_search_set_route(s, v, e->stops, e->n_stops)) < 0)
            goto out;
        for (int j = 0; j < e->n_req; j++)
            s->veh_of[e->reqs[j]] = v;
    }
    for (int v = 0; v < s->n_veh; v++) {
        const slv_vehicle *veh = &s->in->veh[v];
        if (s->route[v].n == 0 && (rc = slv_search_set_route(s, v, veh->fixed, veh->n_fixed)) < 0)
            goto out;
    }
    s->n_unassigned = 0;
    for (int r = 0; r < s->n_req; r++)
        if (s->veh_of[r] < 0)
            s->unassigned[s->n_unassigned++] = r;
    *improved = 1;
out:
    free(cols);
    free(penalty);
    free(incumbent);
    free(chosen);
    free(next_free);
    return rc;
}
