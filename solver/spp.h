/*
 * spp.h - private to solver/: the set-partitioning refinement over a pool of
 * routes, solved with GLPK.
 *
 * Model.  One binary x_c per column (a route of a given vehicle type with its
 * cost and the requests it serves), one binary y_r per request that may be
 * left unserved (penalty[r] < SLV_INF; a promised request has no y_r):
 *
 *   minimise   sum_c cost_c x_c + sum_r penalty_r y_r
 *   subject to sum_{c serves r} x_c + y_r  = 1      for every request r
 *              sum_{c of type t} x_c      <= type_count[t]   for every type t
 *
 * The incumbent (a feasible choice of columns) is handed to GLPK's branch and
 * bound as a first integer solution, so the answer is never worse than it.
 * The GLPK problem is created, solved and deleted inside one call, with
 * terminal output off and a time limit.
 */
#ifndef NORIAI_SPP_H
#define NORIAI_SPP_H

typedef struct slv_spp_col {
    int type;        /* vehicle type, 0..n_types-1 */
    double cost;     /* route cost, vehicle cost included */
    int n_req;
    const int *reqs; /* requests served, each once, 0..n_requests-1 */
} slv_spp_col;

typedef struct slv_spp_problem {
    int n_requests;
    const double *penalty; /* [n_requests]; >= SLV_INF means must be served */
    int n_types;
    const int *type_count; /* [n_types] vehicles of each type */
    int n_cols;
    const slv_spp_col *cols;
    int n_incumbent;
    const int *incumbent; /* column indices of a feasible solution */
    double time_limit_s;
} slv_spp_problem;

/*
 * Solves the model.  chosen (n_cols entries) receives 1 for the columns of the
 * best solution found, 0 otherwise; *objective its value.  If GLPK finds
 * nothing better, the incumbent is returned.  Returns 0, SLV_EINVAL for an
 * inconsistent problem (a column with an unknown request, an incumbent that
 * is not a partition), SLV_ENOMEM, or SLV_EGLPK.
 */
int slv_spp_solve(const slv_spp_problem *p, char *chosen, double *objective);

#endif
