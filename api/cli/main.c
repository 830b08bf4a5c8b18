/*
 * main.c - `noriai`, one executable with git-like subcommands.
 *
 *   noriai solve INSTANCE [options]      plan routes (cmd_solve.c)
 *   noriai check INSTANCE SOLUTION       verify a plan (cmd_check.c)
 *   noriai area build|synth|info|route   service areas (cmd_area.c)
 *   noriai simulate SCENARIO [options]   a service day offline (cmd_simulate.c)
 *   noriai serve [options]               the reservation daemon (cmd_serve.c)
 *   noriai migrate --database CONNINFO   apply the store's schema (cmd_serve.c)
 *   noriai loadgen --url URL ...         load a running daemon (cmd_loadgen.c)
 *   noriai help [SUBCOMMAND]
 *   noriai --version
 *
 * main only dispatches.  Exit statuses are uniform across subcommands: 0
 * success, 1 a result that is not what was asked (an infeasible solution, a
 * failed solve), 2 a usage error or an input file that cannot be read; they
 * come from the one table in cli.h.
 */
#include "api/cli/cli.h"

#include <stdio.h>
#include <string.h>

const char *cli_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define CLI_ERR_CASE(name, code, msg, status)                                                      \
    case code:                                                                                     \
        return msg;
        CLI_ERRNO_MAP(CLI_ERR_CASE)
#undef CLI_ERR_CASE
    default:
        return "unknown error";
    }
}

int cli_exit_status(int err)
{
    switch (err) {
    case 0:
        return 0;
#define CLI_ERR_STATUS(name, code, msg, status)                                                    \
    case code:                                                                                     \
        return status;
        CLI_ERRNO_MAP(CLI_ERR_STATUS)
#undef CLI_ERR_STATUS
    default:
        return 1;
    }
}

int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        *i += 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "noriai: option %s needs a value\n", name);
        return CLI_EUSAGE;
    }
    *value = argv[*i + 1];
    *i += 2;
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: noriai <command> [arguments]\n"
               "\n"
               "commands:\n"
               "  solve INSTANCE [options]   plan routes for an instance file\n"
               "  check INSTANCE SOLUTION    verify a solution with the independent checker\n"
               "  area build|synth|info|route  service areas: roads, stops, travel times\n"
               "  simulate SCENARIO.json     run a service day offline (planners)\n"
               "  serve [options]            run the reservation daemon (HTTP API, PostgreSQL)\n"
               "  migrate --database URL     apply the database schema migrations\n"
               "  loadgen --url URL ...      book and confirm against a running daemon, measure\n"
               "  help [COMMAND]             show this help or a command's\n"
               "  --version                  print the version\n"
               "\n"
               "Instance files: noriai JSON (docs/instance-format.md), Cordeau DARP, Li & Lim\n"
               "PDPTW.  Exit status: 0 success, 1 infeasible or failed, 2 usage or input error.\n");
}

static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "solve") == 0) {
        cli_usage_solve(stdout);
        return 0;
    }
    if (strcmp(argv[1], "check") == 0) {
        cli_usage_check(stdout);
        return 0;
    }
    if (strcmp(argv[1], "area") == 0) {
        cli_usage_area(stdout);
        return 0;
    }
    if (strcmp(argv[1], "simulate") == 0) {
        cli_usage_simulate(stdout);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "migrate") == 0) {
        cli_usage_serve(stdout);
        return 0;
    }
    if (strcmp(argv[1], "loadgen") == 0) {
        cli_usage_loadgen(stdout);
        return 0;
    }
    fprintf(stderr, "noriai help: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return CLI_EUSAGE;
}

int main(int argc, char **argv)
{
    const char *cmd;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return cli_exit_status(CLI_EUSAGE);
    }
    cmd = argv[1];
    if (strcmp(cmd, "solve") == 0) {
        rc = cli_solve(argc - 1, argv + 1);
    } else if (strcmp(cmd, "check") == 0) {
        rc = cli_check(argc - 1, argv + 1);
    } else if (strcmp(cmd, "area") == 0) {
        rc = cli_area(argc - 1, argv + 1);
    } else if (strcmp(cmd, "simulate") == 0) {
        rc = cli_simulate(argc - 1, argv + 1);
    } else if (strcmp(cmd, "serve") == 0) {
        rc = cli_serve(argc - 1, argv + 1);
    } else if (strcmp(cmd, "migrate") == 0) {
        rc = cli_migrate(argc - 1, argv + 1);
    } else if (strcmp(cmd, "loadgen") == 0) {
        rc = cli_loadgen(argc - 1, argv + 1);
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        rc = help(argc - 1, argv + 1);
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("noriai %s\n", CLI_VERSION);
        rc = 0;
    } else {
        fprintf(stderr, "noriai: unknown command \"%s\"\n", cmd);
        usage(stderr);
        rc = CLI_EUSAGE;
    }
    if (fflush(stdout) != 0 && rc == 0)
        rc = CLI_EOUTPUT;
    return cli_exit_status(rc);
}
