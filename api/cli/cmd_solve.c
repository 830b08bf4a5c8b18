/*
 * cmd_solve.c - `noriai solve INSTANCE [options]`: plan routes.
 *
 * Reads the instance (io_read_instance), runs slv_solve under a time limit
 * (default 10 s, measured on CLOCK_MONOTONIC and handed to the solver as its
 * clock, since the solver reads no clock of its own) and an optional
 * iteration budget, then writes the solution JSON to --out or stdout, or with
 * --routes a plan for people: per vehicle, each stop with its scheduled
 * service start (slv_route_evaluate's schedule), the request, pickup or
 * drop-off, location and the load on board after it.
 *
 * Ctrl-C stops the search early through the solver's cancel flag; the best
 * solution found so far is still written.  A second Ctrl-C kills the process
 * as usual, because the handler is installed with SA_RESETHAND.
 */
#include "api/cli/cli.h"
#include "data/io/io.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TIME_LIMIT_S 10.0

/* The solver polls a volatile int; written from a signal handler it must be a sig_atomic_t. */
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "cancel flag must be a sig_atomic_t");
static volatile int cancel_flag;

static void on_sigint(int sig)
{
    (void)sig;
    cancel_flag = 1;
}

static double monotonic_s(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "noriai: %s\n", line);
}

void cli_usage_solve(FILE *f)
{
    fprintf(f,
            "usage: noriai solve INSTANCE [options]\n"
            "\n"
            "  --format cordeau|lilim|json   instance format (default: guessed)\n"
            "  --time-limit SECONDS          search time (default %g; 0: iterations only)\n"
            "  --iterations N                LNS iteration budget (default: none)\n"
            "  --seed N                      random seed (default 1)\n"
            "  --no-glpk                     skip the set-partitioning refinement\n"
            "  --out FILE                    write the solution JSON to FILE (default stdout)\n"
            "  --routes                      print a readable plan to stdout instead of JSON\n"
            "  --verbose                     progress and statistics on stderr\n",
            DEFAULT_TIME_LIMIT_S);
}

typedef struct solve_opts {
    const char *instance, *format, *out;
    double time_limit_s;
    long iterations;
    uint64_t seed;
    int glpk, routes, verbose;
} solve_opts;

static int bad_value(const char *opt, const char *v, const char *what)
{
    fprintf(stderr, "noriai solve: %s \"%s\": expected %s\n", opt, v, what);
    return CLI_EUSAGE;
}

static int parse_args(int argc, char **argv, solve_opts *o)
{
    int i = 1, m, only_positional = 0;
    const char *v;
    char *end;

    memset(o, 0, sizeof(*o));
    o->time_limit_s = DEFAULT_TIME_LIMIT_S;
    o->seed = 1;
    o->glpk = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (o->instance != NULL) {
                fprintf(stderr, "noriai solve: more than one instance (\"%s\")\n", a);
                return CLI_EUSAGE;
            }
            o->instance = a;
            i++;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else if (strcmp(a, "--no-glpk") == 0) {
            o->glpk = 0;
            i++;
        } else if (strcmp(a, "--routes") == 0) {
            o->routes = 1;
            i++;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->verbose = 1;
            i++;
        } else if ((m = cli_opt_value(argc, argv, &i, "--format", &o->format)) != 0) {
            if (m < 0)
                return m;
            io_format f;
            if (io_format_parse(o->format, &f) < 0)
                return bad_value("--format", o->format, "cordeau, lilim or json");
        } else if ((m = cli_opt_value(argc, argv, &i, "--out", &o->out)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--time-limit", &v)) != 0) {
            if (m < 0)
                return m;
            errno = 0;
            o->time_limit_s = strtod(v, &end);
            if (end == v || *end != '\0' || errno != 0 || !isfinite(o->time_limit_s) ||
                o->time_limit_s < 0)
                return bad_value("--time-limit", v, "seconds >= 0");
        } else if ((m = cli_opt_value(argc, argv, &i, "--iterations", &v)) != 0) {
            if (m < 0)
                return m;
            errno = 0;
            o->iterations = strtol(v, &end, 10);
            if (end == v || *end != '\0' || errno != 0 || o->iterations < 0)
                return bad_value("--iterations", v, "a count >= 0");
        } else if ((m = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0) {
            if (m < 0)
                return m;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || errno != 0 || v[0] == '-')
                return bad_value("--seed", v, "a non-negative integer");
        } else {
            fprintf(stderr, "noriai solve: unknown option \"%s\"\n", a);
            return CLI_EUSAGE;
        }
    }
    if (o->instance == NULL) {
        fprintf(stderr, "noriai solve: no instance file given\n");
        return CLI_EUSAGE;
    }
    return 0;
}

/* HH:MM:SS for seconds of a day, a plain number otherwise. */
static void fmt_time(const io_instance *in, double t, char *buf, size_t len)
{
    if (!isfinite(t) || fabs(t) >= SLV_INF / 10) {
        snprintf(buf, len, "-");
    } else if (in->clock_times && t >= 0) {
        long s = lround(t);
        snprintf(buf, len, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else {
        snprintf(buf, len, "%.2f", t);
    }
}

static void fmt_load(const io_instance *in, const int *load, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int d = 0; d < in->n_dims && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", d ? "/" : "", load[d]);
}

static int print_vehicle(const io_instance *in, const slv_solution *sol, int v, FILE *f)
{
    const slv_instance *inst = in->inst;
    const slv_vehicle *veh = slv_instance_vehicle(inst, v);
    int n = sol->route_len[v], load[SLV_MAX_DIMS] = {0};
    double *sched = malloc(((size_t)n + 1) * sizeof(*sched));
    char t[32], l[64];
    slv_route_eval ev;
    int rc;

    if (sched == NULL)
        return CLI_EOUTPUT;
    rc = slv_route_evaluate(inst, v, sol->route[v], n, &ev, sched);
    if (rc < 0) {
        free(sched);
        return CLI_ESOLVE;
    }
    for (int r = 0; r < in->n_requests; r++) {
        const slv_request *req = slv_instance_request(inst, r);
        if (req->onboard_vehicle == v)
            for (int d = 0; d < in->n_dims; d++)
                load[d] += req->load[d];
    }
    fmt_time(in, ev.end - ev.start, t, sizeof(t));
    fprintf(f, "vehicle %s: %d stops, distance %.2f, duration %s%s\n", in->vehicle_id[v].text, n,
            ev.distance, t, ev.feasible ? "" : "  ** INFEASIBLE **");
    fprintf(f, "  %-9s %-20s %-12s %-8s %-16s %s\n", "time", "node", "request", "stop", "location",
            "load");
    fmt_time(in, ev.start, t, sizeof(t));
    fmt_load(in, load, l, sizeof(l));
    fprintf(f, "  %-9s %-20s %-12s %-8s %-16s %s\n", t, "-", "-", "start",
            in->loc_id[veh->start_loc].text, l);
    for (int k = 0; k < n; k++) {
        int s = sol->route[v][k], r = SLV_REQ(s);
        const slv_request *req = slv_instance_request(inst, r);
        int loc = SLV_IS_DROP(s) ? req->drop_loc : req->pickup_loc;
        for (int d = 0; d < in->n_dims; d++)
            load[d] += SLV_IS_DROP(s) ? -req->load[d] : req->load[d];
        fmt_time(in, sched[k], t, sizeof(t));
        fmt_load(in, load, l, sizeof(l));
        fprintf(f, "  %-9s %-20s %-12s %-8s %-16s %s\n", t, in->stop_id[s].text,
                in->request_id[r].text, SLV_IS_DROP(s) ? "dropoff" : "pickup", in->loc_id[loc].text,
                l);
    }
    fmt_time(in, ev.end, t, sizeof(t));
    fmt_load(in, load, l, sizeof(l));
    fprintf(f, "  %-9s %-20s %-12s %-8s %-16s %s\n\n", t, "-", "-", "end",
            in->loc_id[veh->end_loc].text, l);
    free(sched);
    return 0;
}

static int print_plan(const io_instance *in, const slv_solution *sol, FILE *f)
{
    char dims[128];
    size_t used = 0;
    int rc;

    dims[0] = '\0';
    for (int d = 0; d < in->n_dims && used < sizeof(dims); d++)
        used += (size_t)snprintf(dims + used, sizeof(dims) - used, "%s%s", d ? "/" : "",
                                 in->dim_name[d]);
    fprintf(f, "%s: %d requests, %d vehicles (load: %s; times %s)\n\n", in->name, in->n_requests,
            in->n_vehicles, dims, in->clock_times ? "of day" : "as in the file");
    for (int v = 0; v < sol->n_vehicles; v++) {
        if (sol->route_len[v] == 0)
            continue;
        if ((rc = print_vehicle(in, sol, v, f)) < 0)
            return rc;
    }
    fprintf(f, "cost %.4f  distance %.4f  vehicles %d of %d  unassigned %d\n", sol->cost,
            sol->distance, sol->vehicles_used, in->n_vehicles, sol->n_unassigned);
    for (int k = 0; k < sol->n_unassigned; k++)
        fprintf(f, "%s%s", k ? " " : "unassigned:", in->request_id[sol->unassigned[k]].text);
    if (sol->n_unassigned > 0)
        fputc('\n', f);
    return 0;
}

int cli_solve(int argc, char **argv)
{
    solve_opts o;
    io_instance *in = NULL;
    slv_solution *sol = NULL;
    slv_params par;
    slv_stats st;
    struct sigaction sa, old_sa;
    char err[1024];
    double total = 0;
    int rc, have_old = 0;

    rc = parse_args(argc, argv, &o);
    if (rc == 1) {
        cli_usage_solve(stdout);
        return 0;
    }
    if (rc < 0) {
        cli_usage_solve(stderr);
        return rc;
    }
    if (io_read_instance(o.instance, o.format, &in, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai solve: %s\n", err);
        rc = CLI_EINPUT;
        goto out;
    }
    slv_params_init(&par);
    par.seed = o.seed;
    par.max_iterations = o.iterations;
    par.time_limit_s = o.time_limit_s;
    par.clock = monotonic_s;
    par.cancel = &cancel_flag;
    par.use_glpk = o.glpk;
    par.verbose = o.verbose;
    par.log = o.verbose ? log_line : NULL;
    if (o.time_limit_s <= 0 && o.iterations <= 0) {
        fprintf(stderr, "noriai solve: no time limit and no iteration budget; using %g s\n",
                DEFAULT_TIME_LIMIT_S);
        par.time_limit_s = DEFAULT_TIME_LIMIT_S;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    have_old = sigaction(SIGINT, &sa, &old_sa) == 0;
    if (o.verbose)
        fprintf(stderr, "noriai: %s (%s): %d requests, %d vehicles, %d locations\n", in->name,
                io_format_name(in->format), in->n_requests, in->n_vehicles, in->n_locs);
    memset(&st, 0, sizeof(st));
    rc = slv_solve(in->inst, &par, NULL, &sol, &st);
    if (have_old)
        sigaction(SIGINT, &old_sa, NULL);
    if (rc < 0) {
        fprintf(stderr, "noriai solve: %s: %s\n", in->path, slv_strerror(rc));
        rc = CLI_ESOLVE;
        goto out;
    }
    rc = slv_solution_evaluate(in->inst, sol, &total);
    if (rc < 0 && rc != SLV_EINFEASIBLE) {
        fprintf(stderr, "noriai solve: evaluating the solution: %s\n", slv_strerror(rc));
        rc = CLI_ESOLVE;
        goto out;
    }
    if (rc == SLV_EINFEASIBLE)
        fprintf(stderr, "noriai solve: warning: the solution is infeasible\n");
    if (slv_solution_fill_unassigned(sol, in->inst) < 0) {
        rc = CLI_ESOLVE;
        goto out;
    }
    if (o.verbose)
        fprintf(stderr,
                "noriai: %ld iterations (%ld improvements), construction %.4f, lns %.4f, final "
                "%.4f, pool %d routes, GLPK %d runs (%d improved), %.2f s; vehicles %d, "
                "unassigned %d\n",
                st.iterations, st.improvements, st.construction_cost, st.lns_cost, st.final_cost,
                st.pool_routes, st.glpk_runs, st.glpk_improved, st.elapsed_s, sol->vehicles_used,
                sol->n_unassigned);
    rc = 0;
    if (o.out != NULL) {
        if (io_save_solution(in, sol, o.out, err, sizeof(err)) < 0) {
            fprintf(stderr, "noriai solve: %s\n", err);
            rc = CLI_EOUTPUT;
            goto out;
        }
    } else if (!o.routes && io_write_solution(in, sol, stdout) < 0) {
        fprintf(stderr, "noriai solve: cannot write the solution\n");
        rc = CLI_EOUTPUT;
        goto out;
    }
    if (o.routes && (rc = print_plan(in, sol, stdout)) < 0)
        fprintf(stderr, "noriai solve: cannot print the plan: %s\n", cli_strerror(rc));
out:
    slv_solution_destroy(sol);
    io_instance_destroy(in);
    return rc;
}
