/*
 * spp.c - the set-partitioning refinement: choose, from a pool of routes
 * collected during the search, the cheapest set of routes that serves every
 * request at most once, every promised request exactly once, and uses no more
 * vehicles of a type than the fleet has.  The model is in spp.h.
 *
 * Mechanism.  Everything is checked before GLPK is touched: request and type
 * indices, a request listed twice in one column, costs and penalties that are
 * not numbers, and the incumbent, which must be a feasible selection (each
 * request at most once, promised ones exactly once, type counts respected).
 * A bad problem is answered with SLV_EINVAL and no GLPK call, so GLPK never
 * sees input that would make it abort the process.
 *
 * The GLPK problem has one row per request (= 1) and one row per vehicle type
 * whose columns outnumber its vehicles (<= count; other type rows could never
 * bind and are left out).  x_c is binary.  y_r is continuous with only a lower
 * bound: the row forces it to 1 - sum x_c, which is 0 or 1 whenever the x are
 * integral, so branching never needs to look at it.  Promised requests have
 * no y_r, so their row can only be met by a route.
 *
 * The LP relaxation is solved first with the dual simplex (measured: 0.04 s
 * against 0.07 s for the primal on 5000 columns), without presolve: the
 * branch and bound must see the problem in our column numbering, because
 * solutions are handed to it in that numbering.  At the first GLP_IHEUR call
 * of the callback (the root LP is fractional) the incumbent goes in through
 * glp_ios_heur_sol, so GLPK prunes against it from the root on.  At every
 * fractional node the callback also rounds the node's LP: columns in
 * decreasing order of LP value while they fit, then any column that still fits
 * and saves more penalty than it costs.  If the root LP is integral it is
 * optimal and the callback is never called.
 *
 * Settings, measured on random pools of 5000 clustered routes over 100
 * requests with a 2 s limit (the micro-benchmark in tests/solver/test_spp.c;
 * sum of five objectives, lower is better; the root LP bound is ~6% below the
 * best found): most-fractional branching with best-projection backtracking
 * 21057, against 21679 for GLPK's default Driebeck-Tomlin with best local
 * bound and 21239 to 21981 for other pairs; pseudocost branching spent the
 * whole 2 s in its strong-branching start and returned the incumbent.  Gomory
 * and MIR cuts cost more LP time than they closed (+1.6%); clique cuts did not
 * help, build a conflict graph over every column and print to the terminal
 * even with msg_lev off; the feasibility pump used up the limit and left 1e6
 * penalties in four pools out of five.  The node rounding improved the sum by
 * 0.9% over offering the incumbent alone, and cured the pools where
 * depth-first settings found nothing better than the incumbent.
 *
 * Never worse.  The selection GLPK returns is not trusted: it is read with
 * x > 0.5, checked again as a partition and valued again in our own order of
 * summation.  It replaces the incumbent only if it is valid and strictly
 * cheaper; a tie keeps the incumbent, so an unchanged plan is not reshuffled.
 * On a time limit, a failed LP or any GLPK error the incumbent is the answer;
 * an error is still reported (SLV_EGLPK) but the outputs hold the incumbent.
 *
 * Time.  time_limit_s covers both phases: the simplex gets all of it, the
 * branch and bound what is left (measured with glp_time, GLPK's own clock, at
 * least 1 ms).  GLPK checks its limit between nodes, so one node's LP and cuts
 * may overrun it a little.
 *
 * Cost.  Building the problem is linear in the pool size; the LP and the
 * branch and bound are what the time limit bounds.  Memory is one GLPK
 * problem plus a few arrays of n_cols + n_requests entries.
 *
 * Limits.  GLPK aborts the process when it cannot allocate memory; that is
 * not caught here.  Columns that serve no request are kept in the model, but a
 * pool without requests (or without columns) is answered with the incumbent
 * without calling GLPK.
 */
#include "solver/spp.h"
#include "solver/slv.h"

#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A column and a sort key, sorted by key descending, then by index. */
typedef struct spp_key {
    double key;
    int c;
} spp_key;

static int spp_key_cmp(const void *a, const void *b)
{
    const spp_key *ka = a, *kb = b;

    if (ka->key != kb->key)
        return ka->key > kb->key ? -1 : 1;
    return (ka->c > kb->c) - (ka->c < kb->c);
}

/* What the callback needs; the arrays are owned by slv_spp_solve. */
typedef struct spp_heur {
    const slv_spp_problem *p;
    const double *x_inc; /* [1..n_glpk] the incumbent as GLPK column values */
    double *x;           /* [1..n_glpk] the rounded candidate */
    int n_glpk;
    const spp_key *by_gain; /* [n_cols] columns by penalty saved minus cost */
    spp_key *frac;          /* [n_cols] scratch: columns by LP value */
    int *cover, *used;      /* scratch: [n_requests], [n_types] */
    int offered;
} spp_heur;

/* Takes column c into the candidate if its requests are free and its type has room. */
static void spp_try_take(spp_heur *h, int c)
{
    const slv_spp_col *col = &h->p->cols[c];

    if (h->x[c + 1] > 0 || h->used[col->type] >= h->p->type_count[col->type])
        return;
    for (int k = 0; k < col->n_req; k++) {
        if (h->cover[col->reqs[k]])
            return;
    }
    for (int k = 0; k < col->n_req; k++)
        h->cover[col->reqs[k]] = 1;
    h->used[col->type]++;
    h->x[c + 1] = 1;
}

/*
 * LP-guided rounding at a node: take columns in decreasing order of their LP
 * value while they fit, then complete with any column that still fits and
 * saves more penalty than it costs (promised requests count as SLV_INF, so a
 * column serving one that is still open comes first).  Hands the result to
 * GLPK if every promised request is served; GLPK keeps it only if it beats
 * the best solution so far.
 */
static void spp_round(glp_tree *tree, spp_heur *h)
{
    const slv_spp_problem *p = h->p;
    glp_prob *lp = glp_ios_get_prob(tree);
    int n_frac = 0;

    memset(h->cover, 0, (size_t)p->n_requests * sizeof(*h->cover));
    memset(h->used, 0, (size_t)p->n_types * sizeof(*h->used));
    memset(h->x, 0, ((size_t)h->n_glpk + 1) * sizeof(*h->x));
    for (int c = 0; c < p->n_cols; c++) {
        double v = glp_get_col_prim(lp, c + 1);

        if (v > 1e-6) {
            h->frac[n_frac].key = v;
            h->frac[n_frac++].c = c;
        }
    }
    qsort(h->frac, (size_t)n_frac, sizeof(*h->frac), spp_key_cmp);
    for (int i = 0; i < n_frac; i++)
        spp_try_take(h, h->frac[i].c);
    for (int i = 0; i < p->n_cols && h->by_gain[i].key > 0; i++)
        spp_try_take(h, h->by_gain[i].c);
    for (int r = 0, j = p->n_cols; r < p->n_requests; r++) {
        if (p->penalty[r] >= SLV_INF) {
            if (!h->cover[r])
                return;
            continue;
        }
        h->x[++j] = h->cover[r] ? 0 : 1;
    }
    (void)glp_ios_heur_sol(tree, h->x);
}

/*
 * At every fractional node: first (once) the incumbent, so that GLPK prunes
 * against it from the root on, then the rounding of the node's LP.
 * glp_ios_heur_sol rejects a solution that is not better than GLPK's best.
 */
static void spp_callback(glp_tree *tree, void *info)
{
    spp_heur *h = info;

    if (glp_ios_reason(tree) != GLP_IHEUR)
        return;
    if (!h->offered) {
        h->offered = 1;
        (void)glp_ios_heur_sol(tree, h->x_inc);
    }
    spp_round(tree, h);
}

/* Checks everything but the incumbent; 0 or SLV_EINVAL. mark: n_requests ints. */
static int spp_check_problem(const slv_spp_problem *p, int *mark)
{
    if (p->n_requests < 0 || p->n_types < 0 || p->n_cols < 0 || p->n_incumbent < 0)
        return SLV_EINVAL;
    /* GLPK numbers columns with int: x_c, y_r and one spare. */
    if (p->n_cols > INT_MAX - 1 - p->n_requests || p->n_types > INT_MAX - 1 - p->n_requests)
        return SLV_EINVAL;
    if ((p->n_requests > 0 && p->penalty == NULL) || (p->n_types > 0 && p->type_count == NULL) ||
        (p->n_cols > 0 && p->cols == NULL) || (p->n_incumbent > 0 && p->incumbent == NULL))
        return SLV_EINVAL;
    for (int r = 0; r < p->n_requests; r++) {
        if (isnan(p->penalty[r]) || p->penalty[r] < 0)
            return SLV_EINVAL;
        mark[r] = -1;
    }
    for (int t = 0; t < p->n_types; t++) {
        if (p->type_count[t] < 0)
            return SLV_EINVAL;
    }
    for (int c = 0; c < p->n_cols; c++) {
        const slv_spp_col *col = &p->cols[c];

        if (col->type < 0 || col->type >= p->n_types || !isfinite(col->cost) || col->n_req < 0 ||
            col->n_req > p->n_requests || (col->n_req > 0 && col->reqs == NULL))
            return SLV_EINVAL;
        for (int k = 0; k < col->n_req; k++) {
            int r = col->reqs[k];

            if (r < 0 || r >= p->n_requests || mark[r] == c)
                return SLV_EINVAL;
            mark[r] = c;
        }
    }
    return 0;
}

/*
 * Values the selection sel[0..n_cols): route costs plus the penalties of the
 * requests no selected route serves.  Returns SLV_EINVAL if it is not a
 * feasible solution (a request served twice, a promised one not served, a
 * type over its count).  cover: n_requests ints, used: n_types ints.
 */
static int spp_value(const slv_spp_problem *p, const char *sel, int *cover, int *used,
                     double *value)
{
    double v = 0;

    memset(cover, 0, (size_t)p->n_requests * sizeof(*cover));
    memset(used, 0, (size_t)p->n_types * sizeof(*used));
    for (int c = 0; c < p->n_cols; c++) {
        const slv_spp_col *col = &p->cols[c];

        if (!sel[c])
            continue;
        if (++used[col->type] > p->type_count[col->type])
            return SLV_EINVAL;
        for (int k = 0; k < col->n_req; k++) {
            if (++cover[col->reqs[k]] > 1)
                return SLV_EINVAL;
        }
        v += col->cost;
    }
    for (int r = 0; r < p->n_requests; r++) {
        if (cover[r])
            continue;
        if (p->penalty[r] >= SLV_INF)
            return SLV_EINVAL;
        v += p->penalty[r];
    }
    *value = v;
    return 0;
}

/* Sets the branch-and-bound options; see the essay for the choices. */
static void spp_init_iocp(glp_iocp *iocp, spp_heur *heur, int tm_lim_ms)
{
    glp_init_iocp(iocp);
    iocp->msg_lev = GLP_MSG_OFF;
    iocp->presolve = GLP_OFF;
    iocp->tm_lim = tm_lim_ms;
    iocp->cb_func = spp_callback;
    iocp->cb_info = heur;
    iocp->br_tech = GLP_BR_MFV;
    iocp->bt_tech = GLP_BT_BPH;
    iocp->fp_heur = GLP_OFF;
    iocp->gmi_cuts = GLP_OFF;
    iocp->mir_cuts = GLP_OFF;
    iocp->cov_cuts = GLP_OFF;
    iocp->clq_cuts = GLP_OFF;
    iocp->sr_heur = GLP_ON;
}

/* Builds the model described in spp.h.  x of column c is GLPK column c+1. */
static void spp_build(glp_prob *lp, const slv_spp_problem *p, const int *type_row, int *ind,
                      double *val)
{
    int n_type_rows = 0;

    glp_set_obj_dir(lp, GLP_MIN);
    for (int t = 0; t < p->n_types; t++)
        n_type_rows += type_row[t] > 0;
    glp_add_rows(lp, p->n_requests + n_type_rows);
    for (int r = 0; r < p->n_requests; r++)
        glp_set_row_bnds(lp, r + 1, GLP_FX, 1.0, 1.0);
    for (int t = 0; t < p->n_types; t++) {
        if (type_row[t] > 0)
            glp_set_row_bnds(lp, type_row[t], GLP_UP, 0.0, (double)p->type_count[t]);
    }
    glp_add_cols(lp, p->n_cols);
    for (int c = 0; c < p->n_cols; c++) {
        const slv_spp_col *col = &p->cols[c];
        int len = 0;

        glp_set_col_kind(lp, c + 1, GLP_BV);
        glp_set_obj_coef(lp, c + 1, col->cost);
        for (int k = 0; k < col->n_req; k++) {
            ind[++len] = col->reqs[k] + 1;
            val[len] = 1.0;
        }
        if (type_row[col->type] > 0) {
            ind[++len] = type_row[col->type];
            val[len] = 1.0;
        }
        glp_set_mat_col(lp, c + 1, len, ind, val);
    }
    for (int r = 0; r < p->n_requests; r++) {
        int j;

        if (p->penalty[r] >= SLV_INF)
            continue;
        j = glp_add_cols(lp, 1);
        glp_set_col_bnds(lp, j, GLP_LO, 0.0, 0.0);
        glp_set_obj_coef(lp, j, p->penalty[r]);
        ind[1] = r + 1;
        val[1] = 1.0;
        glp_set_mat_col(lp, j, 1, ind, val);
    }
}

int slv_spp_solve(const slv_spp_problem *p, char *chosen, double *objective)
{
    glp_prob *lp = NULL;
    int *cover = NULL, *used = NULL, *type_row = NULL, *ind = NULL;
    double *val = NULL, *x_inc = NULL, *x_round = NULL;
    spp_key *by_gain = NULL, *frac = NULL;
    char *sel = NULL;
    double inc_value = 0, new_value, t0, budget_ms = INT_MAX, left_ms;
    int rc, ret, n_x, n_glpk_cols, max_len = 0, next_row, status;
    glp_smcp smcp;
    glp_iocp iocp;
    spp_heur heur;

    if (objective != NULL)
        *objective = HUGE_VAL;
    if (p == NULL || chosen == NULL || objective == NULL || p->n_cols < 0 || p->n_requests < 0 ||
        p->n_types < 0)
        return SLV_EINVAL;
    if (p->n_cols > 0)
        memset(chosen, 0, (size_t)p->n_cols);
    cover = malloc(((size_t)p->n_requests + 1) * sizeof(*cover));
    used = malloc(((size_t)p->n_types + 1) * sizeof(*used));
    if (cover == NULL || used == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    rc = spp_check_problem(p, cover);
    if (rc < 0)
        goto out;
    for (int i = 0; i < p->n_incumbent; i++) {
        int c = p->incumbent[i];

        if (c < 0 || c >= p->n_cols || chosen[c]) {
            rc = SLV_EINVAL;
            goto out;
        }
        chosen[c] = 1;
    }
    rc = spp_value(p, chosen, cover, used, &inc_value);
    if (rc < 0)
        goto out;
    *objective = inc_value;
    if (p->n_cols == 0 || p->n_requests == 0)
        goto out;

    /* Everything below may fail; the incumbent is already the answer. */
    n_x = p->n_cols;
    n_glpk_cols = n_x;
    for (int r = 0; r < p->n_requests; r++)
        n_glpk_cols += p->penalty[r] < SLV_INF;
    type_row = calloc((size_t)p->n_types + 1, sizeof(*type_row));
    sel = malloc((size_t)p->n_cols);
    x_inc = calloc((size_t)n_glpk_cols + 1, sizeof(*x_inc));
    x_round = calloc((size_t)n_glpk_cols + 1, sizeof(*x_round));
    by_gain = malloc((size_t)p->n_cols * sizeof(*by_gain));
    frac = malloc((size_t)p->n_cols * sizeof(*frac));
    if (type_row == NULL || sel == NULL || x_inc == NULL || x_round == NULL || by_gain == NULL ||
        frac == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    /* The incumbent as GLPK column values: x_c, then y_r of optional requests. */
    for (int c = 0; c < p->n_cols; c++)
        x_inc[c + 1] = chosen[c] ? 1.0 : 0.0;
    for (int r = 0, j = n_x; r < p->n_requests; r++) {
        if (p->penalty[r] < SLV_INF)
            x_inc[++j] = cover[r] ? 0.0 : 1.0;
    }

    /* For the rounding: columns by the penalty they save minus their cost. */
    for (int c = 0; c < p->n_cols; c++) {
        double gain = -p->cols[c].cost;

        for (int k = 0; k < p->cols[c].n_req; k++)
            gain += fmin(p->penalty[p->cols[c].reqs[k]], SLV_INF);
        by_gain[c].key = gain;
        by_gain[c].c = c;
    }
    qsort(by_gain, (size_t)p->n_cols, sizeof(*by_gain), spp_key_cmp);

    /* A type row only where the pool holds more columns than vehicles. */
    memset(used, 0, (size_t)p->n_types * sizeof(*used));
    for (int c = 0; c < p->n_cols; c++) {
        used[p->cols[c].type]++;
        if (p->cols[c].n_req > max_len)
            max_len = p->cols[c].n_req;
    }
    next_row = p->n_requests + 1;
    for (int t = 0; t < p->n_types; t++)
        type_row[t] = used[t] > p->type_count[t] ? next_row++ : 0;
    ind = malloc(((size_t)max_len + 2) * sizeof(*ind));
    val = malloc(((size_t)max_len + 2) * sizeof(*val));
    if (ind == NULL || val == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }

    lp = glp_create_prob();
    spp_build(lp, p, type_row, ind, val);

    if (p->time_limit_s > 0 && p->time_limit_s * 1000.0 < (double)INT_MAX - 1)
        budget_ms = p->time_limit_s * 1000.0;
    t0 = glp_time();
    glp_init_smcp(&smcp);
    smcp.msg_lev = GLP_MSG_OFF;
    smcp.meth = GLP_DUALP;
    smcp.presolve = GLP_OFF;
    smcp.tm_lim = (int)ceil(budget_ms);
    ret = glp_simplex(lp, &smcp);
    if (ret == GLP_ETMLIM)
        goto out;
    if (ret != 0 || glp_get_status(lp) != GLP_OPT) {
        rc = SLV_EGLPK;
        goto out;
    }

    left_ms = budget_ms;
    if (budget_ms < INT_MAX) {
        left_ms -= glp_difftime(glp_time(), t0) * 1000.0;
        if (left_ms < 1)
            left_ms = 1;
    }
    heur.p = p;
    heur.x_inc = x_inc;
    heur.x = x_round;
    heur.n_glpk = n_glpk_cols;
    heur.by_gain = by_gain;
    heur.frac = frac;
    heur.cover = cover;
    heur.used = used;
    heur.offered = 0;
    spp_init_iocp(&iocp, &heur, (int)ceil(left_ms));
    ret = glp_intopt(lp, &iocp);
    if (ret != 0 && ret != GLP_ETMLIM && ret != GLP_EMIPGAP) {
        rc = SLV_EGLPK;
        goto out;
    }
    status = glp_mip_status(lp);
    if (status != GLP_OPT && status != GLP_FEAS)
        goto out;
    for (int c = 0; c < p->n_cols; c++)
        sel[c] = glp_mip_col_val(lp, c + 1) > 0.5;
    if (spp_value(p, sel, cover, used, &new_value) < 0) {
        rc = SLV_EGLPK; /* GLPK's answer is not a partition: tolerances */
        goto out;
    }
    if (new_value < inc_value) {
        memcpy(chosen, sel, (size_t)p->n_cols);
        *objective = new_value;
    }

out:
    if (lp != NULL)
        glp_delete_prob(lp);
    if (rc == SLV_EINVAL || rc == SLV_ENOMEM) {
        if (p->n_cols > 0)
            memset(chosen, 0, (size_t)p->n_cols);
        *objective = HUGE_VAL;
    }
    free(cover);
    free(used);
    free(type_row);
    free(ind);
    free(val);
    free(x_inc);
    free(x_round);
    free(by_gain);
    free(frac);
    free(sel);
    return rc;
}
