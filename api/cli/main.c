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
 *   noriai token create|list|revoke      access tokens in the store (cmd_token.c)
 *   noriai help [SUBCOMMAND]
 *   noriai --version
 *
 * main only dispatches.  Help is uniform: `noriai help X`, `noriai X
 * --help` and `noriai X -h` all print X's usage to stdout and exit 0, so
 * any command is asked the same way; one table (`commands`) names each
 * command with its function and its usage, so the two cannot drift.
 *
 * Exit statuses are uniform across subcommands: 0 success, 1 a result
 * that is not what was asked (an infeasible solution, a failed solve, a
 * token that does not exist), 2 a usage error or an input file that cannot
 * be read; they come from the one table in cli.h.
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

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
} command;

static const command commands[] = {
    {"solve", cli_solve, cli_usage_solve},       {"check", cli_check, cli_usage_check},
    {"area", cli_area, cli_usage_area},          {"simulate", cli_simulate, cli_usage_simulate},
    {"serve", cli_serve, cli_usage_serve},       {"migrate", cli_migrate, cli_usage_migrate},
    {"loadgen", cli_loadgen, cli_usage_loadgen}, {"token", cli_token, cli_usage_token},
};
#define N_COMMANDS ((int)(sizeof(commands) / sizeof(commands[0])))

static const command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
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
               "  token create|list|revoke   access tokens in the database (first admin token)\n"
               "  help [COMMAND]             show this help or a command's\n"
               "  --version                  print the version\n"
               "\n"
               "Instance files: noriai JSON (docs/instance-format.md), Cordeau DARP, Li & Lim\n"
               "PDPTW.  Exit status: 0 success, 1 infeasible or failed, 2 usage or input error.\n"
               "`noriai COMMAND --help` (or -h) shows a command's usage.\n");
}

static int help(int argc, char **argv)
{
    const command *c;

    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if ((c = find_command(argv[1])) != NULL) {
        c->usage(stdout);
        return 0;
    }
    fprintf(stderr, "noriai help: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return CLI_EUSAGE;
}

int main(int argc, char **argv)
{
    const command *c;
    const char *cmd;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return cli_exit_status(CLI_EUSAGE);
    }
    cmd = argv[1];
    if ((c = find_command(cmd)) != NULL) {
        rc = c->run(argc - 1, argv + 1);
    } else if (strcmp(cmd, "help") == 0 || cli_is_help(cmd)) {
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
