/*
 * pgtest.h - a throwaway PostgreSQL cluster for a test program, through
 * scripts/pg-local.sh (tests run from the repository root).
 *
 *   char dir[256], conninfo[512];
 *   if (pgt_start(dir, conninfo, sizeof(conninfo)) != 0) ... fail
 *   ... libpq / db_create(loop, conninfo, ...) ...
 *   pgt_destroy(dir);
 *
 * One cluster per program keeps tests fast (initdb costs about a second).
 * When the tests run as root the script runs the server as `postgres` and
 * hands it the folder; the folder sits in /tmp (world-traversable), so that
 * works with mkdtemp's mode 0700 as well.
 */
#ifndef NORIAI_PGTEST_H
#define NORIAI_PGTEST_H

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGT_SCRIPT "scripts/pg-local.sh"

/* Runs `pg-local.sh CMD DIR`; its first stdout line (the conninfo of start
 * and restart) into out when out is not NULL.  0 or -1. */
static inline int pgt_run(const char *cmd, const char *dir, char *out, size_t out_len)
{
    char line[2200];
    FILE *p;
    int status;

    if (strchr(dir, '\'') != NULL)
        return -1;
    snprintf(line, sizeof(line), "%s %s '%s'", PGT_SCRIPT, cmd, dir);
    p = popen(line, "r");
    if (p == NULL)
        return -1;
    line[0] = '\0';
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    while (fgetc(p) != EOF) /* let the script finish writing */
        ;
    status = pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    if (out != NULL && out_len > 0) {
        size_t n = strlen(line) < out_len ? strlen(line) : out_len - 1;
        memcpy(out, line, n); /* cut to fit, as snprintf would (no -O1 truncation warning) */
        out[n] = '\0';
    }
    if (status != 0) {
        fprintf(stderr, "pgtest: %s %s %s failed (status %d)\n", PGT_SCRIPT, cmd, dir, status);
        return -1;
    }
    if (out != NULL && line[0] == '\0')
        return -1;
    return 0;
}

/*
 * Creates a temporary folder (into dir_out, len bytes) and starts a fresh
 * cluster in it; its conninfo into conninfo_out (len bytes).  0, or -1 with
 * the folder removed again.
 */
static inline int pgt_start(char *dir_out, char *conninfo_out, size_t len)
{
    char cmd[2200];

    if (tu_tmpdir_create(dir_out, len, "pg") != 0) {
        perror("pgtest: mkdtemp");
        return -1;
    }
    if (pgt_run("start", dir_out, conninfo_out, len) != 0) {
        snprintf(cmd, sizeof(cmd), "tail -n 20 '%s/postgres.log' >&2; rm -rf '%s'", dir_out,
                 dir_out);
        if (system(cmd) != 0)
            fprintf(stderr, "pgtest: could not remove %s\n", dir_out);
        return -1;
    }
    return 0;
}

/* Fast shutdown (sessions are ended); the data stays.  0 or -1. */
static inline int pgt_stop(const char *dir)
{
    return pgt_run("stop", dir, NULL, 0);
}

/* Stop, then start again; the conninfo (unchanged) into conninfo_out. */
static inline int pgt_restart(const char *dir, char *conninfo_out, size_t len)
{
    if (pgt_stop(dir) != 0)
        return -1;
    return pgt_run("start", dir, conninfo_out, len);
}

/* Immediate shutdown, like a crash of the server (no checkpoint); the next
 * start recovers from the WAL.  0 or -1. */
static inline int pgt_kill(const char *dir)
{
    return pgt_run("kill", dir, NULL, 0);
}

/* Stops the cluster and removes its folder (only folders pgt_start made).
 * The data is thrown away, so no shutdown checkpoint. */
static inline void pgt_destroy(const char *dir)
{
    char cmd[2200];

    if (dir == NULL || strncmp(dir, "/tmp/noriai-test-pg-", 20) != 0 || strchr(dir, '\'') != NULL)
        return;
    pgt_kill(dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "pgtest: could not remove %s\n", dir);
}

#endif
