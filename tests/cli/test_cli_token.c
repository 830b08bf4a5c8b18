/*
 * test_cli_token.c - `noriai token create|list|revoke` against a real
 * PostgreSQL in a temporary folder, then the real daemon on that database.
 *
 * The point of the command is a deployment's first admin token, so the
 * test follows that path: tokens made on a fresh database (the command
 * applies the schema itself), what is stored checked directly (the
 * SHA-256 of the token, never the token), list and revoke (also twice, and
 * an unknown id), then `noriai serve` started on the database: the created
 * admin token is accepted (GET /v1/vehicles 200, and the admin-only
 * POST /v1/tokens 201) and the revoked one refused (401).  Usage errors
 * and an unreachable database are checked for their exit statuses.
 *
 * The daemon and the cluster come from tests/api/daemon.h, the command
 * runs through tests/cli/cliutil.h.  Ports 18781..18799.  About 5 s with
 * initdb.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/daemon.h"
#include "cli/cliutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/area/sha256.h"

#define PORT_FIRST 18781
#define PORT_LAST 18799

static dmn_env g_env;
static char g_admin_tok[100], g_admin_id[40]; /* created, kept */
static char g_old_tok[100], g_old_id[40];     /* created, then revoked */
static dmn g_d;                               /* the daemon, when running */

/* The value after "key" and its padding on the line starting with key, or
 * "" when there is none. */
static void field(const char *out, const char *key, char *buf, size_t len)
{
    size_t n = strlen(key);

    buf[0] = '\0';
    for (const char *l = out; l != NULL && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, key, n) != 0 || l[n] != ' ')
            continue;
        l += n;
        while (*l == ' ')
            l++;
        snprintf(buf, len, "%.*s", (int)strcspn(l, "\n"), l);
        return;
    }
}

/* The columns of `token list`'s row for id: role, for, created, revoked. */
static void list_row(const char *out, const char *id, char cols[4][40])
{
    char line[400], first[40];

    for (int i = 0; i < 4; i++)
        cols[i][0] = '\0';
    for (const char *l = out; l != NULL && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
        if (sscanf(line, "%39s %39s %39s %39s %39s", first, cols[0], cols[1], cols[2], cols[3]) ==
                5 &&
            strcmp(first, id) == 0)
            return;
    }
    fail_msg("token list has no row for %s:\n%s", id, out);
}

static int is_token(const char *t)
{
    if (strncmp(t, "nt_", 3) != 0 || strlen(t) != 3 + 64)
        return 0;
    for (const char *c = t + 3; *c; c++)
        if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
            return 0;
    return 1;
}

/* `token create` with the given role and extra arguments; token and id. */
static void create(const char *role, const char *label, char *tok, size_t tok_len, char *id,
                   size_t id_len)
{
    run_result r = run("token", "create", "--role", role, "--database", g_env.conninfo, "--label",
                       label, NULL);

    if (r.status != 0)
        fail_msg("token create --role %s: exit %d\n%s%s", role, r.status, r.out, r.err);
    field(r.out, "token", tok, tok_len);
    field(r.out, "id", id, id_len);
    if (!is_token(tok))
        fail_msg("token create printed no token (nt_ and 64 hex digits):\n%s", r.out);
    assert_true(strncmp(id, "tk_", 3) == 0 && strlen(id) > 3);
    assert_non_null(strstr(r.out, role));
    /* the caveat a person must read: the daemon takes it at its next start */
    assert_non_null(strstr(r.err, "next start"));
    run_free(&r);
}

static void test_create_list_revoke(void **state)
{
    char sha[65], q[600], other_tok[100], other_id[40], cols[4][40];
    run_result r;

    (void)state;
    /* A fresh database: the command applies the schema itself. */
    create("admin", "first admin", g_admin_tok, sizeof(g_admin_tok), g_admin_id,
           sizeof(g_admin_id));
    create("admin", "to be revoked", g_old_tok, sizeof(g_old_tok), g_old_id, sizeof(g_old_id));
    create("operator", "desk\tone", other_tok, sizeof(other_tok), other_id, sizeof(other_id));
    assert_string_not_equal(g_admin_tok, g_old_tok);
    assert_string_not_equal(g_admin_id, g_old_id);

    /* Stored: the SHA-256 of the token, the role and label; the token
     * itself nowhere in the row. */
    area_sha256_hex(g_admin_tok, strlen(g_admin_tok), sha);
    assert_int_equal(dmn_query(g_env.conninfo,
                               "SELECT token_sha256, role, label, rider_id, vehicle_id, "
                               "revoked_at FROM tokens WHERE id = $1",
                               g_admin_id, q, sizeof(q)),
                     0);
    if (strncmp(q, sha, 64) != 0 || strcmp(q + 64, ",admin,first admin,null,null,null") != 0)
        fail_msg("stored row: %s (want %s,admin,first admin,null,null,null)", q, sha);
    assert_int_equal(dmn_query(g_env.conninfo,
                               "SELECT count(*) FROM tokens t WHERE strpos(t::text, $1) > 0",
                               g_admin_tok, q, sizeof(q)),
                     0);
    assert_string_equal(q, "0");

    /* List: every token, one row each, never the token. */
    r = run("token", "list", "--database", g_env.conninfo, NULL);
    if (r.status != 0)
        fail_msg("token list: exit %d\n%s", r.status, r.err);
    assert_true(strncmp(r.out, "ID ", 3) == 0);
    assert_null(strstr(r.out, g_admin_tok));
    assert_null(strstr(r.out, g_old_tok));
    assert_non_null(strstr(r.out, "first admin"));
    assert_non_null(strstr(r.out, "desk?one")); /* a tab cannot split the row */
    list_row(r.out, g_admin_id, cols);
    assert_string_equal(cols[0], "admin");
    assert_string_equal(cols[1], "-");
    assert_int_equal(strlen(cols[2]), 20); /* 2026-01-31T09:00:00Z */
    assert_string_equal(cols[3], "-");
    list_row(r.out, other_id, cols);
    assert_string_equal(cols[0], "operator");
    run_free(&r);

    /* Revoke: once, again (same state, exit 0), an unknown id (exit 1). */
    r = run("token", "revoke", g_old_id, "--database", g_env.conninfo, NULL);
    if (r.status != 0)
        fail_msg("token revoke: exit %d\n%s%s", r.status, r.out, r.err);
    assert_non_null(strstr(r.out, "revoked"));
    assert_non_null(strstr(r.err, "/v1/tokens/")); /* how to revoke at once */
    run_free(&r);
    r = run("token", "revoke", g_old_id, "--database", g_env.conninfo, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "already revoked"));
    run_free(&r);
    r = run("token", "revoke", "tk_nosuchtoken", "--database", g_env.conninfo, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no token"));
    run_free(&r);
    r = run("token", "list", "--database=", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("token", "list", "--database", g_env.conninfo, NULL);
    assert_int_equal(r.status, 0);
    list_row(r.out, g_old_id, cols);
    assert_int_equal(strlen(cols[3]), 20);
    list_row(r.out, g_admin_id, cols);
    assert_string_equal(cols[3], "-");
    run_free(&r);
    assert_int_equal(dmn_query(g_env.conninfo,
                               "SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL", NULL, q,
                               sizeof(q)),
                     0);
    assert_string_equal(q, "1");
}

static void test_usage_and_store_errors(void **state)
{
    const char *conn = g_env.conninfo;
    char q[300];
    run_result r;

    (void)state;
    static const char *const bad[][10] = {
        {"token", NULL},
        {"token", "mint", NULL},
        {"token", "create", "--database", "x", NULL},
        {"token", "create", "--role", "admin", NULL},
        {"token", "create", "--role", "king", "--database", "x", NULL},
        {"token", "create", "--role", "rider", "--database", "x", NULL},
        {"token", "create", "--role", "driver", "--database", "x", NULL},
        {"token", "create", "--role", "admin", "--rider-id", "r1", "--database", "x", NULL},
        {"token", "list", "--role", "admin", "--database", "x", NULL},
        {"token", "revoke", "--database", "x", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const *a = bad[i];
        char line[300] = "noriai";
        for (int k = 0; a[k] != NULL; k++)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", a[k]);
        r = run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], NULL);
        if (r.status != 2 || r.err[0] == '\0')
            fail_msg("%s: exit %d (want 2 with a message)", line, r.status);
        run_free(&r);
    }
    r = run("token", "create", "--role", "admin", "--label", "--bogus", "--database", conn, "--x",
            NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown option \"--x\""));
    run_free(&r);

    /* References that are not in the store: named, exit 1, nothing made. */
    r = run("token", "create", "--role", "driver", "--vehicle-id", "van99", "--database", conn,
            NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no vehicle \"van99\""));
    run_free(&r);
    r = run("token", "create", "--role", "rider", "--rider-id", "r_nobody", "--database", conn,
            NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no rider \"r_nobody\""));
    run_free(&r);
    assert_int_equal(dmn_query(conn, "SELECT count(*) FROM tokens WHERE role IN ('rider','driver')",
                               NULL, q, sizeof(q)),
                     0);
    assert_string_equal(q, "0");

    /* No database there: exit 1 and libpq's reason. */
    r = run("token", "list", "--database", "host=/nonexistent/socket dbname=noriai", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "noriai token list: "));
    run_free(&r);
}

static void test_daemon_takes_them(void **state)
{
    char body[200], tok[100], id[40];
    sim_httpc *c = NULL;
    json_t *j;
    dmn *d = &g_d;
    int st;

    (void)state;
    if (g_admin_tok[0] == '\0' || g_old_tok[0] == '\0')
        fail_msg("no tokens from test_create_list_revoke");
    dmn_init(d, &g_env, "main");
    if (dmn_start(d, "09:00") != 0)
        fail_msg("the daemon did not start on the tokens' database");
    assert_int_equal(sim_httpc_create("127.0.0.1", d->port, 5000, &c), 0);

    /* The created admin token: a reading route, and one only admins have. */
    j = dmn_call(c, g_admin_tok, "GET", "/v1/vehicles", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 200);
    j = dmn_call(c, g_admin_tok, "POST", "/v1/tokens", NULL, "{\"role\":\"planner\"}", &st);
    assert_int_equal(st, 201);
    assert_non_null(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    /* The revoked one, and one that never existed. */
    j = dmn_call(c, g_old_tok, "GET", "/v1/vehicles", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 401);
    j = dmn_call(c, g_old_tok, "POST", "/v1/tokens", NULL, "{\"role\":\"admin\"}", &st);
    json_decref(j);
    assert_int_equal(st, 401);
    j = dmn_call(c, "nt_0000000000000000000000000000000000000000000000000000000000000000", "GET",
                 "/v1/vehicles", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 401);

    /* Now the fleet is in the store: a driver token for van1 can be made,
     * and the daemon takes it after a restart. */
    {
        run_result r = run("token", "create", "--role", "driver", "--vehicle-id", "van1",
                           "--database", g_env.conninfo, NULL);
        if (r.status != 0)
            fail_msg("token create --role driver: exit %d\n%s", r.status, r.err);
        field(r.out, "token", tok, sizeof(tok));
        field(r.out, "id", id, sizeof(id));
        assert_true(is_token(tok));
        run_free(&r);
    }
    sim_httpc_destroy(c);
    c = NULL;
    assert_int_equal(dmn_term(d, 10000, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (dmn_start(d, "09:00") != 0)
        fail_msg("the daemon did not start again");
    assert_int_equal(sim_httpc_create("127.0.0.1", d->port, 5000, &c), 0);
    j = dmn_call(c, tok, "GET", "/v1/vehicles/van1", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 200);
    j = dmn_call(c, tok, "GET", "/v1/vehicles/van2", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 404); /* another van: not found, as docs/api.md says */
    j = dmn_call(c, g_admin_tok, "GET", "/v1/vehicles", NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 200);
    snprintf(body, sizeof(body), "/v1/tokens/%s/revoke", id);
    j = dmn_call(c, g_admin_tok, "POST", body, NULL, NULL, &st);
    json_decref(j);
    assert_int_equal(st, 200);
    sim_httpc_destroy(c);
    assert_int_equal(dmn_term(d, 10000, NULL), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (dmn_env_start(&g_env, "test_cli_token", "tok", PORT_FIRST, PORT_LAST) != 0)
        return -1;
    /* cliutil's run(): the same binary, its output files in our folder */
    bin = g_env.bin;
    snprintf(tmp_dir, sizeof(tmp_dir), "%s", g_env.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    /* a daemon a failed test left running */
    if (g_d.pid != 0 && dmn_term(&g_d, 5000, NULL) != 0)
        fprintf(stderr, "test_cli_token: the daemon had to be killed at the end\n");
    dmn_env_stop(&g_env);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_list_revoke),
        cmocka_unit_test(test_usage_and_store_errors),
        cmocka_unit_test(test_daemon_takes_them),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
