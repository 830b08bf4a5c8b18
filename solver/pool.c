/*
 * pool.c - the route pool: every distinct feasible route the search met,
 * kept for the set-partitioning refinement.
 *
 * A route is identified by its vehicle type and stop sequence (FNV-1a hash,
 * open addressing with linear probing in a table twice the pool's cap).  Its
 * column cost is the route cost plus, under vehicles_first, the weight of one
 * vehicle, so the refinement optimises the same objective as the search.
 * When the pool is full new routes are dropped: the early, poorer routes stay,
 * but so do the good ones every later improvement is built from.
 */
#include "solver/search.h"

#include <stdlib.h>
#include <string.h>

int slv_pool_init(slv_pool *p, int max_routes)
{
    memset(p, 0, sizeof(*p));
    p->max = max_routes > 0 ? max_routes : 1;
    p->table_size = 1;
    while (p->table_size < 2 * p->max)
        p->table_size *= 2;
    p->table = calloc((size_t)p->table_size, sizeof(*p->table));
    return p->table ? 0 : SLV_ENOMEM;
}

void slv_pool_cleanup(slv_pool *p)
{
    for (int k = 0; k < p->n; k++) {
        free(p->r[k].stops);
        free(p->r[k].reqs);
    }
    free(p->r);
    free(p->table);
    memset(p, 0, sizeof(*p));
}

static uint64_t route_hash(int type, const int *stops, int n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(unsigned)type;

    for (int k = 0; k < n; k++) {
        h ^= (uint64_t)(unsigned)stops[k];
        h *= 1099511628211ULL;
    }
    return h ^ (uint64_t)n;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Returns the route's index in the pool, or -1 if it could not be kept. */
int slv_pool_add(slv_pool *p, const slv_search *s, const slv_rstate *R)
{
    int type = s->in->veh_type[R->v];
    uint64_t h;
    unsigned slot, mask = (unsigned)p->table_size - 1;

    if (!R->feasible || R->n == 0)
        return -1;
    h = route_hash(type, R->stops, R->n);
    for (slot = (unsigned)h & mask; p->table[slot] != 0; slot = (slot + 1) & mask) {
        slv_pool_route *e = &p->r[p->table[slot] - 1];
        if (e->hash == h && e->type == type && e->n_stops == R->n &&
            memcmp(e->stops, R->stops, (size_t)R->n * sizeof(int)) == 0)
            return p->table[slot] - 1;
    }
    if (p->n >= p->max)
        return -1;
    if (p->n == p->cap) {
        int ncap = p->cap ? p->cap * 2 : 256;
        slv_pool_route *nr = realloc(p->r, (size_t)ncap * sizeof(*nr));
        if (nr == NULL)
            return -1;
        p->r = nr;
        p->cap = ncap;
    }
    slv_pool_route *e = &p->r[p->n];
    e->hash = h;
    e->type = type;
    e->vehicle = R->v;
    e->cost = R->cost + (s->in->obj.vehicles_first ? s->in->vehicle_weight : 0);
    e->n_stops = R->n;
    e->stops = malloc((size_t)R->n * sizeof(int));
    e->reqs = malloc((size_t)R->n * sizeof(int));
    if (e->stops == NULL || e->reqs == NULL) {
        free(e->stops);
        free(e->reqs);
        return -1;
    }
    memcpy(e->stops, R->stops, (size_t)R->n * sizeof(int));
    e->n_req = 0;
    for (int k = 0; k < R->n; k++)
        if (SLV_IS_DROP(R->stops[k]))
            e->reqs[e->n_req++] = SLV_REQ(R->stops[k]);
    qsort(e->reqs, (size_t)e->n_req, sizeof(int), cmp_int);
    p->table[slot] = p->n + 1;
    return p->n++;
}
