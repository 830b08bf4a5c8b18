/*
 * search.h - private to solver/: the search state shared by construction,
 * the removal and insertion operators, the adaptive LNS and the refinement.
 *
 * Ownership: a slv_search owns its route states, buffers and the route pool;
 * it borrows the instance and parameters, which must outlive it.
 */
#ifndef NORIAI_SEARCH_H
#define NORIAI_SEARCH_H

#include "solver/rng.h"
#include "solver/slv_int.h"

/* Search cost of leaving out a request that must be served (promised, on board, fixed). */
#define SLV_BIG_UNSERVED 1e9

/* ---- deterministic pseudo-random numbers ----
 * The search draws straight from a splitmix64 counter (solver/rng.h), as it
 * always has, so runs stay reproducible by seed. */
typedef struct slv_search_rng {
    uint64_t s;
} slv_search_rng;

/* Uniform in [0, 1). */
static inline double slv_rng_unit(slv_search_rng *g)
{
    return slv_rng_unit_of(slv_rng_splitmix64(&g->s));
}

/* Uniform in [0, n), n > 0. */
static inline int slv_rng_int(slv_search_rng *g, int n)
{
    return (int)(slv_rng_unit(g) * n);
}

/*
 * One vehicle's route and the data that make insertion tests O(1):
 * positions 0 (start depot) .. n+1 (end depot); E/L are the least and
 * greatest schedules; D is the all-pairs shortest-path matrix of the route's
 * difference-constraint graph, node 0 the time origin and node k+1 position
 * k, so that D(a,b) is the largest possible B_b - B_a over all feasible
 * schedules (E_k = -D(k,z), L_k = D(z,k)).
 */
typedef struct slv_rstate {
    int v;
    int n, cap;
    int *stops;    /* [cap] */
    int *loc;      /* [cap+2] */
    double *serv;  /* [cap+2] */
    double *c;     /* [cap+2] service at k plus travel to k+1 */
    double *cum;   /* [cap+2] cum[k] = c[0] + ... + c[k-1] */
    double *E, *L; /* [cap+2] */
    double *D;     /* [(cap+3)^2] */
    double *D2;    /* [(cap+3)^2] spare for the incremental update */
    int *load;     /* [(cap+2) * SLV_MAX_DIMS] load after position k */
    int *riders;   /* [cap+2] requests on board on the arc k -> k+1 */
    double dist, time;
    double cost;   /* route cost with its vehicle costs, 0 when empty */
    int feasible;
} slv_rstate;

#define SLV_RS_D(R, a, b) ((R)->D[(size_t)((a) + 1) * (size_t)((R)->n + 3) + (size_t)((b) + 1)])

/* An insertion: pickup after position i, drop-off after position j (j >= i). */
typedef struct slv_ins {
    int v, i, j;
    double cost;
} slv_ins;

/* The route pool: distinct feasible routes met during the search. */
typedef struct slv_pool_route {
    uint64_t hash;
    int type;
    int vehicle; /* the vehicle it was met on (for unique types) */
    double cost; /* full: route cost plus vehicles_first weight */
    int n_stops;
    int *stops;
    int n_req;
    int *reqs; /* sorted */
} slv_pool_route;

typedef struct slv_pool {
    int n, cap, max;
    slv_pool_route *r;
    int *table; /* open addressing: index+1, 0 empty */
    int table_size;
} slv_pool;

typedef struct slv_search slv_search;
typedef int (*slv_remove_fn)(slv_search *s, int q);

struct slv_search {
    const slv_instance *in;
    const slv_params *par;
    slv_search_rng rng;
    int n_veh, n_req;
    slv_rstate *route;  /* [n_veh] current solution */
    slv_rstate *saved;  /* [n_veh] copies taken before an iteration changed a route */
    char *touched;      /* [n_veh] */
    int *touched_list;
    int n_touched;
    int *veh_of;        /* [n_req] vehicle serving r, -1 if unassigned */
    int *only_veh;      /* [n_req] the vehicle r must ride (on board / fixed), or -1 */
    char *drop_only;    /* [n_req] its pickup is done or fixed: insert the drop only */
    char *locked;       /* [n_req] both stops fixed: never moves */
    char *must_serve;   /* [n_req] promised, on board or fixed */
    int *unassigned;    /* list of unassigned requests */
    int n_unassigned;
    int *pos_scratch;   /* [2 n_req] -1 everywhere between uses */
    int *removed;       /* requests removed in this iteration */
    int n_removed;
    double *rbuf;       /* [n_req] scratch */
    int *ibuf;          /* [2 (n_req + n_veh)] scratch */
    int *obuf;          /* [n_req] scratch of the removal operators */
    slv_ins *ins_best;  /* [n_req * n_veh] cached best insertion per request and route */
    double max_dist;    /* largest matrix distance, for noise */
    double noise;       /* noise amplitude of the current insertion, 0 for none */
    double temperature;
    slv_pool pool;
    int n_types;
    int *type_count;    /* [n_types] */
};

/* search.c: state. */
int slv_search_init(slv_search *s, const slv_instance *in, const slv_params *par);
void slv_search_cleanup(slv_search *s);
int slv_rstate_rebuild(slv_search *s, slv_rstate *R);
void slv_search_touch(slv_search *s, int v);
void slv_search_commit(slv_search *s);
void slv_search_rollback(slv_search *s);
double slv_search_cost(const slv_search *s); /* full objective, vehicles_first included */
double slv_search_plain_cost(const slv_search *s); /* without the vehicles_first term */
int slv_search_load(slv_search *s, const slv_solution *sol);
int slv_search_store(const slv_search *s, slv_solution *sol);

/* Removes the listed requests from their routes and rebuilds the touched routes. */
int slv_search_remove(slv_search *s, const int *reqs, int n);
int slv_search_insert(slv_search *s, int r, const slv_ins *ins);
/* Replaces vehicle v's stops (touching it first) and rebuilds its state. */
int slv_search_set_route(slv_search *s, int v, const int *stops, int n);
int slv_removable(const slv_search *s, int r);

/* insert.c: the O(1)-per-position insertion test and the repair heuristics. */
int slv_best_insertion(const slv_search *s, const slv_rstate *R, int r, slv_ins *best);
/* The same test for one position pair (out->i < 0 when it does not fit). */
int slv_insertion_at(const slv_search *s, const slv_rstate *R, int r, int i, int j, slv_ins *out);
int slv_repair(slv_search *s, int regret_k);

/* solver/ops: one removal operator per file. */
int slv_remove_random(slv_search *s, int q);
int slv_remove_worst(slv_search *s, int q);
int slv_remove_shaw(slv_search *s, int q);
int slv_remove_route(slv_search *s, int q);
int slv_remove_string(slv_search *s, int q);

/* pool.c */
int slv_pool_init(slv_pool *p, int max_routes);
void slv_pool_cleanup(slv_pool *p);
int slv_pool_add(slv_pool *p, const slv_search *s, const slv_rstate *R);

/* refine.c: GLPK set partitioning over the pool; adopts a better solution. */
int slv_refine(slv_search *s, double time_limit_s, int *improved);

#endif
