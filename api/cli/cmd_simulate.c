/*
 * cmd_simulate.c - `noriai simulate SCENARIO.json [--seed N] [--out DIR]
 * [--fleet N[,N...]] [--quiet]`: a whole service day offline.
 *
 * Loads the scenario, builds or loads its area, makes the day's demand
 * (generated or replayed), runs the dispatcher in simulated time and writes
 * trips.csv, stops.csv, kpis.json and report.html into DIR (default
 * out/<scenario name>).  With a sweep (in the scenario, or --fleet 3,4,5) it
 * runs once per fleet size, each run's files in DIR/fleet-<n>/, and writes
 * DIR/sweep.csv with one row of KPIs per run.
 */
#include "api/cli/cli.h"

#include "simulator/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_usage_simulate(FILE *f)
{
    fprintf(f, "usage: noriai simulate SCENARIO.json [--seed N] [--out DIR] [--fleet N,N,...]\n"
               "                       [--quiet]\n"
               "\n"
               "Runs a service day of the scenario (docs/scenario-format.md) in simulated time\n"
               "and writes trips.csv, stops.csv, kpis.json and report.html to DIR (default\n"
               "out/<scenario name>).  --fleet (or \"sweep\" in the scenario) runs once per\n"
               "fleet size and adds DIR/sweep.csv, one row of KPIs per run.\n");
}

static void print_kpis(const sim_kpis *k, const sim_result *r)
{
    printf("requests %d  served %d  rejected %d  expired %d  cancelled %d  no_show %d\n",
           k->requests, k->served, k->rejected, k->expired, k->cancelled, k->no_show);
    printf("wait mean %.0f s  p95 %.0f s   ride mean %.0f s  detour %.2f  promise kept %.3f\n",
           k->wait_mean_s, k->wait_p95_s, k->ride_time_mean_s, k->detour_factor_mean,
           k->promise_kept_share);
    printf("vehicle km %.1f  vehicle h %.1f  pax/veh-h %.2f  occupancy %.2f  empty km %.2f\n",
           k->vehicle_km, k->vehicle_hours, k->passengers_per_vehicle_hour, k->occupancy_mean,
           k->empty_km_share);
    printf("offer p50 %.3f ms  p99 %.3f ms   re-plans %ld (%ld improved)   wall %.2f s\n",
           k->offer_ms_p50, k->offer_ms_p99, r->replans, r->replans_adopted, r->wall_s);
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* One day of scenario s; kpis OUT; files into dir. */
static int run_one(const sim_scenario *s, const area *a, const char *dir, int quiet, sim_kpis *kpis)
{
    sim_demand dm;
    sim_result res;
    sim_run_opts ro = {.progress = !quiet};
    char err[512] = "";
    int rc;

    memset(&dm, 0, sizeof(dm));
    rc = s->demand_is_replay ? sim_demand_replay_read(s, a, &dm, err, sizeof(err))
                             : sim_demand_generate(s, a, &dm, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai simulate: %s\n", err[0] ? err : sim_strerror(rc));
        return CLI_EINPUT;
    }
    if (!quiet && dm.skipped > 0)
        fprintf(stderr,
                "demand: %d requests, %d rows skipped (%d too far from a stop or off the "
                "area, %d outside service hours)\n",
                dm.n, dm.skipped, dm.skipped_far, dm.skipped_hours);
    rc = sim_run(s, a, &dm, &ro, &res, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai simulate: %s\n", err[0] ? err : sim_strerror(rc));
        sim_result_cleanup(&res);
        sim_demand_cleanup(&dm);
        return CLI_ESOLVE;
    }
    sim_kpis_compute(&res, kpis);
    if (mkdir_p(dir) != 0 || sim_report_write(&res, dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai simulate: %s\n", err[0] ? err : "cannot write the outputs");
        rc = CLI_EOUTPUT;
    } else {
        print_kpis(kpis, &res);
        printf("outputs in %s/ (trips.csv, stops.csv, kpis.json, report.html)\n", dir);
        rc = 0;
    }
    sim_result_cleanup(&res);
    sim_demand_cleanup(&dm);
    return rc;
}

static int parse_fleet(const char *arg, int *fleet, int max)
{
    int n = 0;
    const char *p = arg;

    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > SIM_MAX_VEHICLES || n == max)
            return -1;
        fleet[n++] = (int)v;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return n;
}

int cli_simulate(int argc, char **argv)
{
    const char *path = NULL, *out_dir = NULL, *seed_arg = NULL, *fleet_arg = NULL;
    int quiet = 0, rc, fleet[64], n_fleet = 0;
    sim_scenario *s = NULL;
    area *a = NULL;
    char err[512] = "", dir[4096];

    for (int i = 1; i < argc;) {
        const char *v;
        if ((rc = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0) {
            if (rc < 0)
                return rc;
            seed_arg = v;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--out", &v)) != 0) {
            if (rc < 0)
                return rc;
            out_dir = v;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--fleet", &v)) != 0) {
            if (rc < 0)
                return rc;
            fleet_arg = v;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = 1;
            i++;
        } else if (cli_is_help(argv[i])) {
            cli_usage_simulate(stdout);
            return 0;
        } else if (argv[i][0] == '-' || path != NULL) {
            fprintf(stderr, "noriai simulate: unexpected argument \"%s\"\n", argv[i]);
            cli_usage_simulate(stderr);
            return CLI_EUSAGE;
        } else {
            path = argv[i++];
        }
    }
    if (path == NULL) {
        cli_usage_simulate(stderr);
        return CLI_EUSAGE;
    }
    if ((rc = sim_scenario_load(path, &s, err, sizeof(err))) < 0) {
        fprintf(stderr, "noriai simulate: %s\n", err[0] ? err : sim_strerror(rc));
        return CLI_EINPUT;
    }
    if (seed_arg) {
        char *end;
        unsigned long long v = strtoull(seed_arg, &end, 10);
        if (*seed_arg == '\0' || *end != '\0' || *seed_arg == '-') {
            fprintf(stderr, "noriai simulate: --seed wants a non-negative integer\n");
            rc = CLI_EUSAGE;
            goto out;
        }
        s->seed = v;
    }
    if (fleet_arg && (n_fleet = parse_fleet(fleet_arg, fleet, 64)) <= 0) {
        fprintf(stderr, "noriai simulate: --fleet wants sizes like 3,4,5 (1..%d)\n",
                SIM_MAX_VEHICLES);
        rc = CLI_EUSAGE;
        goto out;
    }
    if (n_fleet == 0 && s->sweep.n_fleet > 0) {
        n_fleet = s->sweep.n_fleet;
        memcpy(fleet, s->sweep.fleet, (size_t)n_fleet * sizeof(int));
    }
    if (!quiet)
        fprintf(stderr, "area: preparing...\n");
    if ((rc = sim_scenario_area(s, &a, err, sizeof(err))) < 0 ||
        (rc = sim_scenario_resolve(s, a, err, sizeof(err))) < 0) {
        fprintf(stderr, "noriai simulate: %s\n", err[0] ? err : sim_strerror(rc));
        rc = CLI_EINPUT;
        goto out;
    }
    if (out_dir == NULL) {
        snprintf(dir, sizeof(dir), "out/%s", s->name ? s->name : "scenario");
        out_dir = dir;
    }
    if (n_fleet == 0) {
        sim_kpis k;
        rc = run_one(s, a, out_dir, quiet, &k);
        goto out;
    }
    {
        sim_kpis *ks = calloc((size_t)n_fleet, sizeof(*ks));
        double *vals = calloc((size_t)n_fleet, sizeof(*vals));
        char sub[4200], csv[4200];
        rc = ks && vals ? 0 : CLI_EOUTPUT;
        for (int i = 0; i < n_fleet && rc == 0; i++) {
            sim_scenario *sf = NULL;
            if (sim_scenario_with_fleet(s, fleet[i], &sf) < 0 ||
                sim_scenario_resolve(sf, a, err, sizeof(err)) < 0) {
                fprintf(stderr, "noriai simulate: fleet %d: %s\n", fleet[i], err);
                sim_scenario_destroy(sf);
                rc = CLI_EINPUT;
                break;
            }
            printf("== fleet %d ==\n", fleet[i]);
            snprintf(sub, sizeof(sub), "%s/fleet-%d", out_dir, fleet[i]);
            vals[i] = fleet[i];
            rc = run_one(sf, a, sub, quiet, &ks[i]);
            sim_scenario_destroy(sf);
        }
        if (rc == 0) {
            snprintf(csv, sizeof(csv), "%s/sweep.csv", out_dir);
            if (sim_sweep_write_csv(csv, "fleet", vals, ks, n_fleet, err, sizeof(err)) < 0) {
                fprintf(stderr, "noriai simulate: %s\n", err);
                rc = CLI_EOUTPUT;
            } else {
                printf("sweep: %s\n", csv);
            }
        }
        free(ks);
        free(vals);
    }
out:
    area_destroy(a);
    sim_scenario_destroy(s);
    return rc;
}
