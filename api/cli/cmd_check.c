/*
 * cmd_check.c - `noriai check INSTANCE SOLUTION`: verify a plan.
 *
 * Reads the instance and the solution (any format io_read_solution knows)
 * and runs the solver's independent checker, which shares no code with the
 * search.  Prints one line: "OK <cost> <vehicles used>" with the cost to four
 * decimals, or "INFEASIBLE: <first violation>".  A solution that names
 * unknown nodes or lists a stop twice is a violation too (exit 1); only files
 * that cannot be opened or parsed are input errors (exit 2).  When the file
 * states a cost and the checker's differs, a note goes to stderr.
 */
#include "api/cli/cli.h"
#include "data/io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void cli_usage_check(FILE *f)
{
    fprintf(f,
            "usage: noriai check INSTANCE SOLUTION [--format cordeau|lilim|json]\n"
            "\n"
            "Verifies SOLUTION (noriai JSON, {\"obj\",\"routes\"} JSON, or SINTEF \"Route k :\"\n"
            "text) against INSTANCE with the independent checker.  Prints\n"
            "\"OK <cost> <vehicles>\" and exits 0, or prints the first violation and exits 1;\n"
            "exits 2 if a file cannot be read.\n");
}

int cli_check(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL}, *format = NULL;
    io_instance *in = NULL;
    slv_solution *sol = NULL;
    char err[1024], msg[1024];
    double cost = 0, claimed;
    int n_paths = 0, vehicles = 0, rc = 0, i = 1, only_positional = 0;

    while (i < argc) {
        const char *a = argv[i];
        int m;
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            i++;
        } else if (!only_positional && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_usage_check(stdout);
            goto out;
        } else if (!only_positional && (m = cli_opt_value(argc, argv, &i, "--format", &format))) {
            if (m < 0) {
                rc = m;
                goto out;
            }
        } else if (!only_positional && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "noriai check: unknown option \"%s\"\n", a);
            cli_usage_check(stderr);
            rc = CLI_EUSAGE;
            goto out;
        } else {
            if (n_paths == 2) {
                fprintf(stderr, "noriai check: too many arguments (\"%s\")\n", a);
                cli_usage_check(stderr);
                rc = CLI_EUSAGE;
                goto out;
            }
            paths[n_paths++] = a;
            i++;
        }
    }
    if (n_paths != 2) {
        fprintf(stderr, "noriai check: needs an instance and a solution file\n");
        cli_usage_check(stderr);
        rc = CLI_EUSAGE;
        goto out;
    }
    if (io_read_instance(paths[0], format, &in, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai check: %s\n", err);
        rc = CLI_EINPUT;
        goto out;
    }
    rc = io_read_solution(in, paths[1], &sol, &claimed, err, sizeof(err));
    if (rc == IO_EMATCH) {
        printf("INFEASIBLE: %s\n", err);
        rc = CLI_EVIOLATION;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "noriai check: %s\n", err);
        rc = CLI_EINPUT;
        goto out;
    }
    msg[0] = '\0';
    rc = slv_check_solution(in->inst, sol, msg, sizeof(msg), &cost, &vehicles);
    if (rc == SLV_EINFEASIBLE) {
        printf("INFEASIBLE: %s\n", msg[0] ? msg : "violation");
        rc = CLI_EVIOLATION;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "noriai check: checker failed: %s\n", slv_strerror(rc));
        rc = CLI_EVIOLATION;
        goto out;
    }
    printf("OK %.4f %d\n", cost, vehicles);
    if (isfinite(claimed) && fabs(claimed - cost) > 1e-4 * (1.0 + fabs(cost)))
        fprintf(stderr, "noriai check: note: the file states cost %.10g, the checker finds %.10g\n",
                claimed, cost);
out:
    slv_solution_destroy(sol);
    io_instance_destroy(in);
    return rc;
}
