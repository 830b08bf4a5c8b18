/*
 * cmd_serve.c - `noriai serve` (the reservation daemon) and `noriai migrate`.
 *
 *   noriai serve [--config FILE] [--listen HOST:PORT] [--database CONNINFO]
 *                [--area DIR] [--clock HH:MM] [--log-level L]
 *                [--demo-tokens FILE] [--replan-interval S]
 *   noriai migrate --database CONNINFO | --list
 *
 * Flags override the config file, which overrides the built-in demo town.
 * --clock shifts the service clock so that it reads HH:MM now (demos and
 * tests outside service hours); it keeps running in real time.
 */
#include "api/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/server/server.h"
#include "data/db/db.h"

void cli_usage_serve(FILE *f)
{
    fprintf(f, "usage: noriai serve [options]\n"
               "\n"
               "Runs the reservation daemon: HTTP/JSON API under /v1, PostgreSQL store.\n"
               "\n"
               "  --config FILE          JSON settings (docs/serve-config.md)\n"
               "  --listen HOST:PORT     default 127.0.0.1:8080 (port 0: any free port)\n"
               "  --database CONNINFO    libpq connection string (required)\n"
               "  --area DIR             area bundle (noriai area build|synth); default: the\n"
               "                         synthetic demo town\n"
               "  --clock HH:MM          run the service clock as if it were HH:MM now\n"
               "  --log-level LEVEL      error, warn, info (default) or debug\n"
               "  --demo-tokens FILE     make (or reuse) a token per role, written to FILE\n"
               "  --web DIR              the consoles' files (default api/web/dist)\n"
               "  --replan-interval S    seconds between re-plans (0: none)\n"
               "\n"
               "Tokens are loaded at start: for a deployment without demo tokens, make the\n"
               "first admin token with `noriai token create --role admin --database ...`\n"
               "before starting (docs/serve-config.md).\n");
}

void cli_usage_migrate(FILE *f)
{
    fprintf(f, "usage: noriai migrate --database CONNINFO\n"
               "       noriai migrate --list\n"
               "\n"
               "Applies the database schema migrations built into this binary that the\n"
               "database does not have yet, each in its own transaction, and prints how many\n"
               "it applied.  `noriai serve` applies them at start as well.  --list prints the\n"
               "migrations' names instead and needs no database.\n"
               "\n"
               "  --database CONNINFO    libpq connection string or URL\n"
               "  --list                 the migrations built into the binary\n");
}

int cli_serve(int argc, char **argv)
{
    api_config *cfg = malloc(sizeof(*cfg));
    const char *v;
    char err[600];
    int i = 1, rc, status;

    /* Help before the config file is read: asking for the usage must not
     * depend on the file being valid. */
    for (int k = 1; k < argc; k++)
        if (cli_is_help(argv[k])) {
            cli_usage_serve(stdout);
            free(cfg);
            return 0;
        }
    if (cfg == NULL)
        return CLI_EINPUT;
    api_config_default(cfg);
    /* The config file first, so flags win whatever their order. */
    for (int k = 1; k + 1 < argc; k++)
        if (strcmp(argv[k], "--config") == 0 &&
            api_config_load(cfg, argv[k + 1], err, sizeof(err)) < 0) {
            fprintf(stderr, "noriai serve: %s\n", err);
            free(cfg);
            return CLI_EINPUT;
        }
    while (i < argc) {
        if ((rc = cli_opt_value(argc, argv, &i, "--config", &v)) != 0) {
            if (rc < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--listen", &v)) != 0) {
            if (rc < 0 || api_config_parse_listen(cfg, v, err, sizeof(err)) < 0)
                goto usage;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--database", &v)) != 0) {
            if (rc < 0 || strlen(v) >= sizeof(cfg->database))
                goto usage;
            snprintf(cfg->database, sizeof(cfg->database), "%s", v);
        } else if ((rc = cli_opt_value(argc, argv, &i, "--area", &v)) != 0) {
            if (rc < 0 || strlen(v) >= sizeof(cfg->area_dir))
                goto usage;
            snprintf(cfg->area_dir, sizeof(cfg->area_dir), "%s", v);
        } else if ((rc = cli_opt_value(argc, argv, &i, "--web", &v)) != 0) {
            if (rc < 0 || strlen(v) >= sizeof(cfg->web_dir))
                goto usage;
            snprintf(cfg->web_dir, sizeof(cfg->web_dir), "%s", v);
        } else if ((rc = cli_opt_value(argc, argv, &i, "--demo-tokens", &v)) != 0) {
            if (rc < 0 || strlen(v) >= sizeof(cfg->demo_tokens))
                goto usage;
            snprintf(cfg->demo_tokens, sizeof(cfg->demo_tokens), "%s", v);
        } else if ((rc = cli_opt_value(argc, argv, &i, "--clock", &v)) != 0) {
            int want;
            time_t now = time(NULL);
            struct tm tm;
            if (rc < 0 || dsp_clock_parse(v, &want) < 0 || want >= 86400) {
                fprintf(stderr, "noriai serve: --clock wants HH:MM (00:00-23:59)\n");
                goto usage;
            }
            /* The zone is set by the daemon; compute against it here too. */
            setenv("TZ", cfg->timezone, 1);
            tzset();
            localtime_r(&now, &tm);
            cfg->clock_shift_s = want - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
        } else if ((rc = cli_opt_value(argc, argv, &i, "--log-level", &v)) != 0) {
            static const char *const lv[] = {"error", "warn", "info", "debug"};
            int found = -1;
            for (int k = 0; k < 4 && rc > 0; k++)
                if (strcmp(v, lv[k]) == 0)
                    found = k;
            if (found < 0)
                goto usage;
            cfg->log_level = found;
        } else if ((rc = cli_opt_value(argc, argv, &i, "--replan-interval", &v)) != 0) {
            char *end;
            long x = rc > 0 ? strtol(v, &end, 10) : -1;
            if (rc < 0 || *end != '\0' || x < 0 || x > 86400)
                goto usage;
            cfg->replan_interval_s = (int)x;
        } else {
            fprintf(stderr, "noriai serve: unknown option \"%s\"\n", argv[i]);
            goto usage;
        }
    }
    status = api_serve(cfg);
    free(cfg);
    return status == 0 ? 0 : status == 2 ? CLI_EUSAGE : CLI_EINPUT;
usage:
    cli_usage_serve(stderr);
    free(cfg);
    return CLI_EUSAGE;
}

int cli_migrate(int argc, char **argv)
{
    const char *conninfo = NULL, *v;
    char err[600];
    int i = 1, rc, list = 0, applied = 0;

    while (i < argc) {
        if ((rc = cli_opt_value(argc, argv, &i, "--database", &v)) != 0) {
            if (rc < 0)
                return CLI_EUSAGE;
            conninfo = v;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = 1;
            i++;
        } else if (cli_is_help(argv[i])) {
            cli_usage_migrate(stdout);
            return 0;
        } else {
            fprintf(stderr, "noriai migrate: unknown option \"%s\"\n", argv[i]);
            cli_usage_migrate(stderr);
            return CLI_EUSAGE;
        }
    }
    if (list) {
        for (int k = 0; k < db_migration_count(); k++)
            printf("%s\n", db_migration_name(k));
        return 0;
    }
    if (conninfo == NULL) {
        fprintf(stderr, "noriai migrate: --database CONNINFO is required\n");
        cli_usage_migrate(stderr);
        return CLI_EUSAGE;
    }
    if (db_migrate(conninfo, &applied, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai migrate: %s\n", err);
        return CLI_EINPUT;
    }
    printf("migrations applied: %d (of %d)\n", applied, db_migration_count());
    return 0;
}
