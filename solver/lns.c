/*
 * lns.c - slv_solve: construction, adaptive large neighbourhood search, and
 * set-partitioning refinement over the routes it meets.
 *
 * Construction inserts every request by regret-2 into the (empty or given)
 * routes.  Each LNS iteration removes q requests with one of five removal
 * operators (random, worst, related, route, string) and re-inserts them with
 * one of six repairs (greedy, regret-2 or regret-3, each with or without
 * noise), the
 * operators drawn by roulette on adaptive weights (Ropke & Pisinger 2006:
 * scores 33 for a new best, 9 for an improvement, 13 for an accepted
 * worsening, segments of 100 iterations, reaction 0.1).  Acceptance is
 * simulated annealing on the objective without the vehicles_first term (a
 * move that adds a vehicle is never accepted, one that saves one always),
 * the temperature falling geometrically from 1% to 0.02% of the initial routes' cost
 * over the budget (iterations, or time when only a time limit is given).
 *
 * The routes of every candidate within 2% of the best go into the pool.  At
 * a quarter, half and three quarters of the LNS budget and at the end, GLPK
 * recombines the pool (refine.c), each time with a quarter of the
 * refinement's share of the time; a better combination becomes the current
 * and best solution.
 *
 * The clock is read only through params->clock; with no clock (or no time
 * limit) the run depends on the seed and the iteration budget alone.
 */
#include "solver/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_REMOVE 5
#define N_REPAIR 6
#ifndef SLV_LNS_QMAX
#define SLV_LNS_QMAX 60 /* most requests one iteration removes */
#endif

void slv_params_init(slv_params *p)
{
    memset(p, 0, sizeof(*p));
    p->seed = 1;
    p->max_iterations = 0;
    p->time_limit_s = 0;
    p->use_glpk = 1;
    p->glpk_time_share = 0.25;
    p->pool_max_routes = 30000;
}

typedef struct lns_op {
    double weight, score;
    int uses;
} lns_op;

static int pick_op(slv_search *s, const lns_op *ops, int n)
{
    double total = 0, u;

    for (int k = 0; k < n; k++)
        total += ops[k].weight;
    u = slv_rng_unit(&s->rng) * total;
    for (int k = 0; k < n; k++) {
        u -= ops[k].weight;
        if (u < 0)
            return k;
    }
    return n - 1;
}

static void update_weights(lns_op *ops, int n)
{
    for (int k = 0; k < n; k++) {
        if (ops[k].uses > 0)
            ops[k].weight = 0.9 * ops[k].weight + 0.1 * ops[k].score / ops[k].uses;
        if (ops[k].weight < 0.05)
            ops[k].weight = 0.05;
        ops[k].score = 0;
        ops[k].uses = 0;
    }
}

static void logf_(const slv_params *par, const char *fmt, double a, double b, double c)
{
    char line[200];

    if (!par->verbose || par->log == NULL)
        return;
    snprintf(line, sizeof(line), fmt, a, b, c);
    par->log(par->log_ctx, line);
}

typedef struct lns_clock {
    const slv_params *par;
    double t0;
} lns_clock;

static double elapsed(const lns_clock *c)
{
    if (c->par->clock == NULL)
        return 0;
    return c->par->clock(c->par->clock_ctx) - c->t0;
}

/* Fraction of the budget used, in [0, 1]. */
static double progress(const lns_clock *c, long it, double lns_share)
{
    const slv_params *p = c->par;
    double f = 0;

    if (p->max_iterations > 0)
        f = (double)it / (double)p->max_iterations;
    if (p->time_limit_s > 0 && p->clock != NULL)
        f = fmax(f, elapsed(c) / (p->time_limit_s * lns_share));
    return f;
}

static int pool_routes(slv_search *s, int all)
{
    for (int k = 0; k < (all ? s->n_veh : s->n_touched); k++) {
        int v = all ? k : s->touched_list[k];
        slv_pool_add(&s->pool, s, &s->route[v]);
    }
    return 0;
}

static int run_refine(slv_search *s, slv_solution *best, double *best_cost, double limit,
                      slv_stats *st)
{
    int improved = 0, rc;

    if (limit <= 0.01)
        limit = 0.01;
    /* Refine from the best solution. */
    if ((rc = slv_search_load(s, best)) < 0)
        return rc;
    st->glpk_runs++;
    double before = slv_search_cost(s);
    if ((rc = slv_refine(s, limit, &improved)) < 0)
        return rc;
    logf_(s->par, "refine: pool %.0f routes, %.4f -> %.4f", s->pool.n, before, slv_search_cost(s));
    slv_search_commit(s);
    if (improved && slv_search_cost(s) < *best_cost - 1e-9) {
        st->glpk_improved++;
        *best_cost = slv_search_cost(s);
        if ((rc = slv_search_store(s, best)) < 0)
            return rc;
    }
    return 0;
}

int slv_solve(const slv_instance *in, const slv_params *par, const slv_solution *initial,
              slv_solution **out, slv_stats *stats)
{
    slv_search s;
    slv_solution *best = NULL;
    slv_stats st;
    lns_op rem[N_REMOVE], rep[N_REPAIR];
    double best_cost, cur_cost, t_start, t_end, temp;
    double lns_share, refine_at[3] = {0.25, 0.5, 0.75};
    int rc, next_refine = 0;
    long it = 0;
    lns_clock clk = {par, 0};

    *out = NULL;
    memset(&st, 0, sizeof(st));
    if (!in->finalized)
        return SLV_ESTATE;
    if ((rc = slv_search_init(&s, in, par)) < 0)
        return rc;
    if (par->clock != NULL)
        clk.t0 = par->clock(par->clock_ctx);
    if ((rc = slv_solution_create(&best, in)) < 0)
        goto out;
    if (initial != NULL && (rc = slv_search_load(&s, initial)) < 0)
        goto out;
    if ((rc = slv_repair(&s, 2)) < 0)
        goto out;
    slv_search_commit(&s);
    pool_routes(&s, 1);
    best_cost = cur_cost = slv_search_cost(&s);
    st.construction_cost = slv_search_plain_cost(&s);
    if ((rc = slv_search_store(&s, best)) < 0)
        goto out;
    logf_(par, "construction: cost %.4f, unassigned %.0f%.0f", st.construction_cost,
          s.n_unassigned, 0);

    for (int k = 0; k < N_REMOVE; k++)
        rem[k] = (lns_op){1, 0, 0};
    for (int k = 0; k < N_REPAIR; k++)
        rep[k] = (lns_op){1, 0, 0};
    lns_share = par->use_glpk ? 1.0 - par->glpk_time_share : 1.0;
    /* Calibrated on what the routes cost, not on penalties for requests construction left
     * out (those would make the temperature a random walk). */
    double plain_ref = 0;
    for (int v = 0; v < s.n_veh; v++)
        plain_ref += s.route[v].cost;
    plain_ref = slv_max(plain_ref, 1e-9);
    t_start = 0.01 * plain_ref;
    t_end = 0.0002 * plain_ref;
    temp = t_start;
    int n_assignable = 0;
    for (int r = 0; r < s.n_req; r++)
        if (!s.locked[r])
            n_assignable++;
    int qmin = n_assignable < 4 ? n_assignable : 4;
    int qmax = (int)(0.35 * n_assignable);
    if (qmax > SLV_LNS_QMAX)
        qmax = SLV_LNS_QMAX;
    if (qmax < qmin)
        qmax = qmin;
    int unlimited = par->max_iterations <= 0 && !(par->time_limit_s > 0 && par->clock);

    while (n_assignable > 0 && !unlimited) {
        double f = progress(&clk, it, lns_share);
        if (f >= 1.0 || (par->cancel && *par->cancel))
            break;
        if (par->use_glpk && next_refine < 3 && f >= refine_at[next_refine]) {
            double lim = par->time_limit_s > 0 ? par->time_limit_s * par->glpk_time_share / 4 : 2;
            if ((rc = run_refine(&s, best, &best_cost, lim, &st)) < 0)
                goto out;
            cur_cost = slv_search_cost(&s);
            next_refine++;
            /* Refinement time is outside the LNS share; the clock keeps it honest. */
        }
        temp = t_start * pow(t_end / t_start, fmin(f, 1.0));
        int ri = pick_op(&s, rem, N_REMOVE), pi = pick_op(&s, rep, N_REPAIR);
        int q = qmin + slv_rng_int(&s.rng, qmax - qmin + 1);
        switch (ri) {
        case 0: rc = slv_remove_random(&s, q); break;
        case 1: rc = slv_remove_worst(&s, q); break;
        case 2: rc = slv_remove_shaw(&s, q); break;
        case 3: rc = slv_remove_route(&s, q); break;
        default: rc = slv_remove_string(&s, q); break;
        }
        if (rc < 0)
            goto out;
        s.noise = (pi & 1) ? 0.025 * s.max_dist * in->obj.per_distance : 0;
        rc = slv_repair(&s, 1 + pi / 2);
        s.noise = 0;
        if (rc < 0)
            goto out;
        double cand = slv_search_cost(&s);
        double score = 0;
        int accept = 0;
        if (cand < best_cost - 1e-9) {
            accept = 1;
            score = 33;
        } else if (cand < cur_cost - 1e-9) {
            accept = 1;
            score = 9;
        } else if (cand - cur_cost < 1e-9 * fmax(1, cur_cost)) {
            accept = 1; /* sideways */
        } else if (slv_rng_unit(&s.rng) < exp(-(cand - cur_cost) / temp)) {
            accept = 1;
            score = 13;
        }
        /* Routes of near-best candidates feed the refinement. */
        if (cand - best_cost <= 0.02 * plain_ref)
            pool_routes(&s, 0);
        rem[ri].score += score;
        rem[ri].uses++;
        rep[pi].score += score;
        rep[pi].uses++;
        if (accept) {
            slv_search_commit(&s);
            cur_cost = cand;
            if (cand < best_cost - 1e-9) {
                best_cost = cand;
                st.improvements++;
                if ((rc = slv_search_store(&s, best)) < 0)
                    goto out;
            }
        } else {
            slv_search_rollback(&s);
        }
        it++;
        if (it % 100 == 0) {
            update_weights(rem, N_REMOVE);
            update_weights(rep, N_REPAIR);
        }
        if (par->verbose && it % 1000 == 0)
            logf_(par, "iteration %.0f: best %.4f, current %.4f", (double)it, best_cost, cur_cost);
    }
    st.iterations = it;
    st.lns_cost = best_cost;
    if (par->use_glpk) {
        double lim = 2;
        if (par->time_limit_s > 0 && par->clock != NULL)
            lim = fmax(0.05, par->time_limit_s - elapsed(&clk));
        if ((rc = run_refine(&s, best, &best_cost, lim, &st)) < 0)
            goto out;
    }
    st.final_cost = best_cost;
    st.pool_routes = s.pool.n;
    st.elapsed_s = elapsed(&clk);
    rc = slv_solution_evaluate(in, best, NULL);
    if (rc == SLV_EINFEASIBLE)
        rc = 0; /* promised requests that fit nowhere are left out: see unassigned */
    if (rc < 0)
        goto out;
    *out = best;
    best = NULL;
out:
    if (stats != NULL)
        *stats = st;
    slv_solution_destroy(best);
    slv_search_cleanup(&s);
    return rc;
}
