/*
 * ops_int.h - private to the removal operators: helpers they share.
 *
 * Every operator has the shape int slv_remove_X(slv_search *s, int q): it
 * chooses up to q removable requests (never a locked one), removes them with
 * slv_search_remove, and returns 0 or a negative error.  Choices use the
 * search's seeded generator only, so a run is reproducible.
 */
#ifndef NORIAI_OPS_INT_H
#define NORIAI_OPS_INT_H

#include "solver/search.h"

/* The removable requests, into out[]; returns how many. */
static inline int ops_candidates(const slv_search *s, int *out)
{
    int n = 0;

    for (int r = 0; r < s->n_req; r++)
        if (slv_removable(s, r))
            out[n++] = r;
    return n;
}

/* Index into a list sorted best-first, biased to the front: floor(u^p * n). */
static inline int ops_biased_index(slv_search *s, int n, double p)
{
    double u = slv_rng_unit(&s->rng);
    double x = u;

    for (int k = 1; k < (int)p; k++)
        x *= u;
    return (int)(x * n);
}

/* Sorts idx[0..n) by key descending (insertion sort is enough for these sizes
 * only when small; use the shellsort below). */
static inline void ops_sort_desc(int *idx, const double *key, int n)
{
    static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};

    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            int t = idx[i], j = i;
            while (j >= gap && key[idx[j - gap]] < key[t]) {
                idx[j] = idx[j - gap];
                j -= gap;
            }
            idx[j] = t;
        }
    }
}

/* Positions (1-based) of r's stops in its route; pickup 0 when not in it. */
static inline void ops_positions(const slv_search *s, int r, int *pp, int *pd)
{
    const slv_rstate *R = &s->route[s->veh_of[r]];

    *pp = 0;
    *pd = 0;
    for (int k = 0; k < R->n; k++) {
        if (R->stops[k] == SLV_PICKUP(r))
            *pp = k + 1;
        else if (R->stops[k] == SLV_DROP(r))
            *pd = k + 1;
    }
}

#endif
