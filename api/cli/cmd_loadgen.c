/*
 * cmd_loadgen.c - `noriai loadgen`: books, confirms and cancels against a
 * running `noriai serve` at a set rate and prints throughput, answers by
 * status, transport errors and latency percentiles (simulator/loadgen.c).
 *
 *   noriai loadgen --url URL --token T --rate R --duration S [--riders N]
 *                  [--threads K] [--cancel-share X] [--asap-share X]
 *                  [--open-loop | --closed-loop] [--cleanup] [--timeout-ms MS]
 *                  [--seed N] [--json] [--quiet]
 *
 * Exit status: 0 when the run happened (non-2xx answers and transport
 * errors are reported, not fatal), 2 for a usage error, 1 when setup could
 * not be done (server unreachable, token refused).
 */
#include "api/cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/httpc.h"
#include "simulator/loadgen.h"

void cli_usage_loadgen(FILE *f)
{
    fprintf(f,
            "usage: noriai loadgen --url URL --token TOKEN --rate R --duration S [options]\n"
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
            "Exit status: 0 the run happened, 1 setup failed (server unreachable, token\n"
            "refused), 2 usage error.\n");
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

int cli_loadgen(int argc, char **argv)
{
    sim_loadgen_opts o;
    sim_loadgen_result *r = NULL;
    const char *url = NULL, *v;
    char err[512];
    int i = 1, rc, json = 0, quiet = 0, have_rate = 0, have_dur = 0;
    double d;

    sim_loadgen_opts_default(&o);
    while (i < argc) {
        if ((rc = cli_opt_value(argc, argv, &i, "--url", &v)) != 0) {
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
    if (url == NULL || o.token == NULL || o.token[0] == '\0' || !have_rate || !have_dur) {
        fprintf(stderr, "noriai loadgen: --url, --token, --rate and --duration are required\n");
        goto usage;
    }
    if (sim_url_parse(url, o.host, sizeof(o.host), &o.port) < 0) {
        fprintf(stderr, "noriai loadgen: --url wants http://HOST:PORT, not \"%s\"\n", url);
        goto usage;
    }
    o.progress = quiet ? NULL : stderr;
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
