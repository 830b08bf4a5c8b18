/*
 * solution.c - the solution container: one stop list per vehicle and the
 * requests left out.  Pure bookkeeping; evaluation lives in route.c and the
 * independent checker in check.c.
 */
#include "solver/slv_int.h"

#include <stdlib.h>
#include <string.h>

int slv_solution_create(slv_solution **out, const slv_instance *in)
{
    slv_solution *s;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SLV_ENOMEM;
    s->n_vehicles = in->n_veh;
    s->n_requests = in->n_req;
    s->route_len = calloc((size_t)in->n_veh + 1, sizeof(*s->route_len));
    s->route = calloc((size_t)in->n_veh + 1, sizeof(*s->route));
    s->unassigned = calloc((size_t)in->n_req + 1, sizeof(*s->unassigned));
    if (s->route_len == NULL || s->route == NULL || s->unassigned == NULL) {
        slv_solution_destroy(s);
        return SLV_ENOMEM;
    }
    *out = s;
    return 0;
}

void slv_solution_destroy(slv_solution *s)
{
    if (s == NULL)
        return;
    for (int v = 0; s->route != NULL && v < s->n_vehicles; v++)
        free(s->route[v]);
    free(s->route);
    free(s->route_len);
    free(s->unassigned);
    free(s);
}

int slv_solution_set_route(slv_solution *s, int v, const int *stops, int n)
{
    int *copy;

    if (v < 0 || v >= s->n_vehicles || n < 0)
        return SLV_ERANGE;
    copy = malloc((size_t)n * sizeof(*copy) + 1);
    if (copy == NULL)
        return SLV_ENOMEM;
    if (n > 0)
        memcpy(copy, stops, (size_t)n * sizeof(*copy));
    free(s->route[v]);
    s->route[v] = copy;
    s->route_len[v] = n;
    return 0;
}

int slv_solution_fill_unassigned(slv_solution *s, const slv_instance *in)
{
    char *seen = calloc((size_t)in->n_req + 1, 1);

    if (seen == NULL)
        return SLV_ENOMEM;
    for (int v = 0; v < s->n_vehicles; v++)
        for (int k = 0; k < s->route_len[v]; k++)
            if (s->route[v][k] >= 0 && SLV_REQ(s->route[v][k]) < in->n_req)
                seen[SLV_REQ(s->route[v][k])] = 1;
    s->n_unassigned = 0;
    for (int r = 0; r < in->n_req; r++)
        if (!seen[r])
            s->unassigned[s->n_unassigned++] = r;
    free(seen);
    return 0;
}

int slv_solution_copy(slv_solution **out, const slv_solution *src)
{
    slv_solution *s;
    int rc = SLV_ENOMEM;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SLV_ENOMEM;
    s->n_vehicles = src->n_vehicles;
    s->n_requests = src->n_requests;
    s->route_len = calloc((size_t)src->n_vehicles + 1, sizeof(*s->route_len));
    s->route = calloc((size_t)src->n_vehicles + 1, sizeof(*s->route));
    s->unassigned = malloc(((size_t)src->n_requests + 1) * sizeof(*s->unassigned));
    if (s->route_len == NULL || s->route == NULL || s->unassigned == NULL)
        goto out;
    for (int v = 0; v < src->n_vehicles; v++)
        if ((rc = slv_solution_set_route(s, v, src->route[v], src->route_len[v])) < 0)
            goto out;
    memcpy(s->unassigned, src->unassigned, (size_t)src->n_unassigned * sizeof(*s->unassigned));
    s->n_unassigned = src->n_unassigned;
    s->cost = src->cost;
    s->distance = src->distance;
    s->vehicles_used = src->vehicles_used;
    *out = s;
    return 0;
out:
    slv_solution_destroy(s);
    return rc;
}
