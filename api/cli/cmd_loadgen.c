/*
 * cmd_loadgen.c - `noriai loadgen`: books, confirms and cancels against a
 * running `noriai serve` at a set rate and prints throughput, answers by
 * status, transport errors and latency percentiles (simulator/loadgen.c);
 * with --drivers, simulated driver tablets drive the vans' routes over the
 * driver channel at the same time, drop their connections at random and
 * check at the end that nothing acknowledged was lost (simulator/tablets.c).
 *
 *   noriai loadgen --url URL --token T --rate R --duration S [--riders N]
 *                  [--threads K] [--cancel-share X] [--asap-share X]
 *                  [--open-loop | --closed-loop] [--cleanup] [--timeout-ms MS]
 *                  [--seed N] [--json] [--quiet]
 *   noriai loadgen --url URL --drivers N (--driver-tokens FILE | --admin-token T)
 *                  [--token T] [--rate R] --duration S [--speed X] [--drop-rate P]
 *                  [--no-show-share X] [--settle S] ...
 *
 * With both, the booking load runs in a thread beside the tablets, so
 * riders get booked while the tablets drive.
 *
 * Exit status: 0 when the run happened (non-2xx answers and transport
 * errors are reported, not fatal) and the tablets lost nothing, 2 for a
 * usage error, 1 when setup could not be done (server unreachable, token
 * refused) or the tablets' check failed (an acknowledged event not
 * reflected, applied twice, or answered differently when sent again).
 */
#include "api/cli/cli.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/httpc.h"
#include "simulator/loadgen.h"
#include "simulator/tablets.h"

void cli_usage_loadgen(FILE *f)
{
    fprintf(f,
            "usage: noriai loadgen --url URL --token TOKEN --rate R --duration S [options]\n"
            "       noriai loadgen --url URL --drivers N (--driver-tokens FILE | --admin-token T)\n"
            "                      --duration S [--token T --rate R] [options]\n"
            "\n"
            "Books and confirms trips against a running `noriai serve` at R booking+confirm\n"
            "pairs per second for S seconds, spread over K threads with one keep-alive\n"
            "connection each, and prints requests by status, transport errors, achieved\n"
            "pairs per second and latency percentiles (booking, confirm, pair, cancel).\n"
            "The token must be an operator's or an admin's (NORIAI_TOKEN if --token is\n"
            "not given).  A progress line goes to stderr every second.\n"
            "\n"
            "  --url URL             the daemon, e.g. http://127.0.0.1:8080\n"
            "  --token TOKEN         bearer token (operator or admin)\n"
            "  --rate R              pairs per second offered (0 < R <= 100000)\n"
            "  --duration S          seconds of schedule (0 < S <= 86400)\n"
            "  --riders N            riders registered first (default 50)\n"
            "  --threads K           worker threads = connections (default 8); give\n"
            "                        K > R x pair latency, or the generator lags\n"
            "  --cancel-share X      share of confirmed bookings cancelled 0.5-3 s later\n"
            "                        (default 0.1)\n"
            "  --asap-share X        share of \"asap\" bookings; the rest depart after a\n"
            "                        random time later today (default 0.2)\n"
            "  --open-loop           latency from the scheduled send time, late pairs still\n"
            "                        sent (the default: no coordinated omission)\n"
            "  --closed-loop         latency from the actual send; slots that pass while a\n"
            "                        thread waits are skipped (service time at the rate the\n"
            "                        server sustains)\n"
            "  --cleanup             afterwards, cancel what the run left confirmed (not\n"
            "                        measured), so the next run starts from the same plan\n"
            "  --timeout-ms MS       per request (default 10000)\n"
            "  --seed N              riders, stops and times drawn from this seed\n"
            "  --json                print the summary as one JSON object\n"
            "  --quiet               no progress lines\n"
            "\n"
            "Simulated driver tablets (with --drivers; --rate is then optional):\n"
            "  --drivers N           N tablets, one per vehicle, on the driver channel\n"
            "  --driver-tokens FILE  their tokens: {\"van1\": \"nt_...\", ...} or lines\n"
            "                        \"VEHICLE TOKEN\"; the first N are used\n"
            "  --admin-token T       or make a driver token for each of the first N vehicles\n"
            "                        of GET /v1/vehicles (POST /v1/tokens)\n"
            "  --speed X             planned times come X times faster (default 60; 1: real\n"
            "                        time; the daemon takes events early, so a large X acts\n"
            "                        as soon as the previous event is acknowledged)\n"
            "  --drop-rate P         chance per event of dropping the connection before,\n"
            "                        during or after it (default 0)\n"
            "  --no-show-share X     pickups reported as no-show (default 0.05)\n"
            "  --settle S            after --duration, time for unanswered events (default 15)\n"
            "The tablets check at the end, with --token (else --admin-token), that every\n"
            "acknowledged boarding, alighting and no-show shows in its booking, once.\n"
            "\n"
            "Exit status: 0 the run happened (and the tablets lost nothing), 1 setup\n"
            "failed (server unreachable, token refused) or the tablets' check failed, 2\n"
            "usage error.\n");
}

/* A number in [lo, hi] from s; 0 or -1 (message on stderr). */
static int num_opt(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "noriai loadgen: %s wants a number from %g to %g, not \"%s\"\n", name, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int int_opt(const char *name, const char *s, double lo, double hi, int *out)
{
    double v;

    if (num_opt(name, s, lo, hi, &v) < 0)
        return -1;
    if (v != floor(v)) {
        fprintf(stderr, "noriai loadgen: %s wants a whole number, not \"%s\"\n", name, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The booking load in a thread beside the tablets. */
typedef struct booking_load {
    const sim_loadgen_opts *o;
    sim_loadgen_result *r;
    char err[512];
    int rc;
} booking_load;

static void *booking_main(void *arg)
{
    booking_load *b = arg;

    b->rc = sim_loadgen_run(b->o, b->r, b->err, sizeof(b->err));
    return NULL;
}

/* Tablet options; 1 matched, 0 not one of them, -1 usage error. */
static int tablet_opt(int argc, char **argv, int *i, sim_tablets_opts *t, const char **tok_file)
{
    const char *v;
    int rc;

    if ((rc = cli_opt_value(argc, argv, i, "--drivers", &v)) != 0)
        return rc < 0 || int_opt("--drivers", v, 1, SIM_TABLETS_MAX, &t->n_tablets) < 0 ? -1 : 1;
    if ((rc = cli_opt_value(argc, argv, i, "--driver-tokens", &v)) != 0) {
        *tok_file = v;
        return rc < 0 ? -1 : 1;
    }
    if ((rc = cli_opt_value(argc, argv, i, "--admin-token", &v)) != 0) {
        t->admin_token = v;
        return rc < 0 ? -1 : 1;
    }
    if ((rc = cli_opt_value(argc, argv, i, "--speed", &v)) != 0)
        return rc < 0 || num_opt("--speed", v, 1, SIM_TABLETS_MAX_SPEED, &t->speed) < 0 ? -1 : 1;
    if ((rc = cli_opt_value(argc, argv, i, "--drop-rate", &v)) != 0)
        return rc < 0 || num_opt("--drop-rate", v, 0, 1, &t->drop_rate) < 0 ? -1 : 1;
    if ((rc = cli_opt_value(argc, argv, i, "--no-show-share", &v)) != 0)
        return rc < 0 || num_opt("--no-show-share", v, 0, 1, &t->no_show_share) < 0 ? -1 : 1;
    if ((rc = cli_opt_value(argc, argv, i, "--settle", &v)) != 0)
        return rc < 0 || num_opt("--settle", v, 0, 3600, &t->settle_s) < 0 ? -1 : 1;
    return 0;
}

/* The tablets (and the booking load beside them when rate > 0). */
static int run_tablets(sim_tablets_opts *t, const sim_loadgen_opts *o, int have_rate, int json)
{
    sim_tablets_result *tr = malloc(sizeof(*tr));
    sim_loadgen_result *r = have_rate ? malloc(sizeof(*r)) : NULL;
    booking_load b = {o, r, "", 0};
    pthread_t th;
    int rc, started = 0, failed = 0;
    char err[512];

    if (tr == NULL || (have_rate && r == NULL)) {
        free(tr);
        free(r);
        return CLI_EOUTPUT;
    }
    if (have_rate) {
        if (pthread_create(&th, NULL, booking_main, &b) != 0) {
            fprintf(stderr, "noriai loadgen: cannot start the booking load's thread\n");
            free(tr);
            free(r);
            return CLI_ESERVER;
        }
        started = 1;
    }
    rc = sim_tablets_run(t, tr, err, sizeof(err));
    if (started)
        pthread_join(th, NULL);
    if (have_rate && b.rc < 0) {
        fprintf(stderr, "noriai loadgen: bookings: %s: %s\n", sim_loadgen_strerror(b.rc), b.err);
        failed = 1;
    } else if (have_rate && json) {
        failed |= sim_loadgen_print_json(stdout, r) < 0;
    } else if (have_rate) {
        sim_loadgen_print(stdout, r);
    }
    if (rc < 0) {
        fprintf(stderr, "noriai loadgen: tablets: %s: %s\n", sim_loadgen_strerror(rc), err);
        free(tr);
        free(r);
        return rc == SIM_LOADGEN_EINVAL ? CLI_EUSAGE : CLI_ESERVER;
    }
    if (json)
        failed |= sim_tablets_print_json(stdout, tr) < 0;
    else
        sim_tablets_print(stdout, tr);
    if (tr->lost > 0 || tr->applied_twice > 0 || tr->dup_mismatch > 0) {
        fprintf(stderr,
                "noriai loadgen: tablets: %lld acknowledged events not reflected, %lld applied "
                "twice, %lld answered differently when sent again\n",
                (long long)tr->lost, (long long)tr->applied_twice, (long long)tr->dup_mismatch);
        rc = CLI_EVIOLATION;
    } else {
        rc = failed ? CLI_ESERVER : 0;
    }
    free(tr);
    free(r);
    return rc;
}

int cli_loadgen(int argc, char **argv)
{
    sim_loadgen_opts o;
    sim_tablets_opts t;
    sim_tablet_cred *creds = NULL;
    sim_loadgen_result *r = NULL;
    const char *url = NULL, *v, *tok_file = NULL;
    char err[512];
    int i = 1, rc, json = 0, quiet = 0, have_rate = 0, have_dur = 0;
    double d;

    sim_loadgen_opts_default(&o);
    sim_tablets_opts_default(&t);
    while (i < argc) {
        if ((rc = tablet_opt(argc, argv, &i, &t, &tok_file)) != 0) {
            if (rc < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--url", &v)) != 0) {
            if (rc < 0)
                goto usage;
            url = v;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--token", &v)) != 0) {
            if (rc < 0)
                goto usage;
            o.token = v;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--rate", &v)) != 0) {
            if (rc < 0 || num_opt("--rate", v, 1e-6, SIM_LOADGEN_MAX_RATE, &o.rate) < 0)
                goto usage;
            have_rate = 1;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--duration", &v)) != 0) {
            if (rc < 0 ||
                num_opt("--duration", v, 1e-3, SIM_LOADGEN_MAX_DURATION_S, &o.duration_s) < 0)
                goto usage;
            have_dur = 1;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--riders", &v)) != 0) {
            if (rc < 0 || int_opt("--riders", v, 1, SIM_LOADGEN_MAX_RIDERS, &o.n_riders) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--threads", &v)) != 0) {
            if (rc < 0 || int_opt("--threads", v, 1, SIM_LOADGEN_MAX_THREADS, &o.n_threads) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--cancel-share", &v)) != 0) {
            if (rc < 0 || num_opt("--cancel-share", v, 0, 1, &o.cancel_share) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--asap-share", &v)) != 0) {
            if (rc < 0 || num_opt("--asap-share", v, 0, 1, &o.asap_share) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--timeout-ms", &v)) != 0) {
            if (rc < 0 || int_opt("--timeout-ms", v, 1, 3600000, &o.timeout_ms) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0) {
            if (rc < 0 || num_opt("--seed", v, 0, 9007199254740992.0, &d) < 0 || d != floor(d))
                goto usage;
            o.seed = (uint64_t)d;
        } else if (strcmp(argv[i], "--open-loop") == 0) {
            o.open_loop = 1;
            i++;
        } else if (strcmp(argv[i], "--closed-loop") == 0) {
            o.open_loop = 0;
            i++;
        } else if (strcmp(argv[i], "--cleanup") == 0) {
            o.cleanup = 1;
            i++;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            i++;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_usage_loadgen(stdout);
            return 0;
        } else {
            fprintf(stderr, "noriai loadgen: unknown option \"%s\"\n", argv[i]);
            goto usage;
        }
    }
    if (o.token == NULL)
        o.token = getenv("NORIAI_TOKEN");
    if (o.token != NULL && o.token[0] == '\0')
        o.token = NULL;
    if (t.n_tablets > 0) {
        if (url == NULL || !have_dur || (tok_file == NULL) == (t.admin_token == NULL) ||
            (have_rate && o.token == NULL)) {
            fprintf(stderr, "noriai loadgen: --drivers needs --url, --duration, one of "
                            "--driver-tokens and --admin-token, and with --rate a --token\n");
            goto usage;
        }
    } else if (url == NULL || o.token == NULL || !have_rate || !have_dur) {
        fprintf(stderr, "noriai loadgen: --url, --token, --rate and --duration are required\n");
        goto usage;
    }
    if (sim_url_parse(url, o.host, sizeof(o.host), &o.port) < 0) {
        fprintf(stderr, "noriai loadgen: --url wants http://HOST:PORT, not \"%s\"\n", url);
        goto usage;
    }
    o.progress = quiet ? NULL : stderr;
    if (t.n_tablets > 0) {
        if (tok_file != NULL &&
            sim_tablets_read_creds(tok_file, &creds, &t.n_creds, err, sizeof(err)) < 0) {
            fprintf(stderr, "noriai loadgen: --driver-tokens: %s\n", err);
            return CLI_EINPUT;
        }
        snprintf(t.host, sizeof(t.host), "%s", o.host);
        t.port = o.port;
        t.token = o.token;
        t.creds = creds;
        t.duration_s = o.duration_s;
        t.timeout_ms = o.timeout_ms < t.timeout_ms ? o.timeout_ms : t.timeout_ms;
        t.seed = o.seed;
        t.progress = o.progress;
        if (have_rate)
            o.progress = NULL; /* one progress line a second: the tablets' */
        rc = run_tablets(&t, &o, have_rate, json);
        free(creds);
        if (rc == CLI_EUSAGE)
            goto usage;
        return rc;
    }
    if ((r = malloc(sizeof(*r))) == NULL)
        return CLI_EOUTPUT;
    rc = sim_loadgen_run(&o, r, err, sizeof(err));
    if (rc == SIM_LOADGEN_EINVAL) {
        fprintf(stderr, "noriai loadgen: %s\n", err);
        free(r);
        goto usage;
    }
    if (rc < 0) {
        fprintf(stderr, "noriai loadgen: %s: %s\n", sim_loadgen_strerror(rc), err);
        free(r);
        return CLI_ESERVER;
    }
    if (json)
        rc = sim_loadgen_print_json(stdout, r);
    else
        sim_loadgen_print(stdout, r);
    free(r);
    return rc < 0 ? CLI_EOUTPUT : 0;
usage:
    cli_usage_loadgen(stderr);
    return CLI_EUSAGE;
}
