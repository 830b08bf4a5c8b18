/*
 * cli.h - the `noriai` command line: subcommands and what they share.
 *
 * Each subcommand is one function taking its own argc/argv (argv[0] is the
 * subcommand's name) and returning 0 or a negative CLI_E* code; main turns
 * the code into the process's exit status with cli_exit_status.
 */
#ifndef NORIAI_CLI_H
#define NORIAI_CLI_H

#include <stdio.h>

#define CLI_VERSION "0.1.0"

/* name, code, message, exit status */
#define CLI_ERRNO_MAP(X)                                                                           \
    X(VIOLATION, -1, "the solution violates the instance", 1)                                      \
    X(USAGE, -2, "usage error", 2)                                                                 \
    X(INPUT, -3, "unreadable input", 2)                                                            \
    X(SOLVE, -4, "the solver failed", 1)                                                           \
    X(OUTPUT, -5, "cannot write the output", 1)                                                    \
    X(SERVER, -6, "the server could not be used", 1)                                               \
    X(NOTFOUND, -7, "no such item", 1)

enum {
#define CLI_ERR_ENUM(name, code, msg, status) CLI_E##name = (code),
    CLI_ERRNO_MAP(CLI_ERR_ENUM)
#undef CLI_ERR_ENUM
};

const char *cli_strerror(int err);
int cli_exit_status(int err);

int cli_solve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_area(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_loadgen(int argc, char **argv);
int cli_token(int argc, char **argv);

void cli_usage_solve(FILE *f);
void cli_usage_check(FILE *f);
void cli_usage_area(FILE *f);
void cli_usage_simulate(FILE *f);
void cli_usage_serve(FILE *f);
void cli_usage_migrate(FILE *f);
void cli_usage_loadgen(FILE *f);
void cli_usage_token(FILE *f);

/*
 * Option scanning shared by the subcommands.  cli_opt_value recognises
 * "--name value" and "--name=value"; on a match it stores the value, moves
 * *i past what it used and returns 1; 0 if argv[*i] is another option;
 * CLI_EUSAGE (with a message on stderr) if the value is missing.
 */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* 1 when arg asks for a command's usage ("--help" or "-h"), which every
 * subcommand then prints to stdout, exiting 0. */
int cli_is_help(const char *arg);

#endif
