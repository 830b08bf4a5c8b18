/*
 * test_cli.c - the `noriai` executable end to end.
 *
 * Runs the built binary ($NORIAI_BIN, else build/noriai; tests run from the
 * repository root) with posix_spawn, its output captured in temporary files,
 * and checks exit statuses and what a user would read: `check` on a best
 * known solution (OK and the published cost), on an infeasible plan (exit 1),
 * on a missing file (exit 2); `solve` on a tiny instance with an iteration
 * budget, whose JSON must parse and pass `check`; usage errors (exit 2);
 * help asked every way (`X --help`, `X -h`, `help X`) for every command,
 * which must print that command's own usage on stdout and exit 0.
 * Benchmark files come from $NORIAI_SHARED or ../shared; without them the
 * tests fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cliutil.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char shared[1024];

static const char *write_tmp(const char *name, const char *content)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void bench(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/bench/%s", shared, rel);
}

static int setup(void **state)
{
    const char *env = getenv("NORIAI_SHARED");
    char probe[1200];
    struct stat st;

    (void)state;
    bin = getenv("NORIAI_BIN");
    if (bin == NULL || *bin == '\0')
        bin = "build/noriai";
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "test_cli: %s is not an executable (build it, or set NORIAI_BIN)\n", bin);
        return -1;
    }
    snprintf(shared, sizeof(shared), "%s", env && *env ? env : "../shared");
    snprintf(probe, sizeof(probe), "%s/bench/darp/README.md", shared);
    if (stat(probe, &st) != 0) {
        fprintf(stderr, "test_cli: shared benchmark folder not found (%s); set NORIAI_SHARED\n",
                probe);
        return -1;
    }
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "cli");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

static void test_version_and_help(void **state)
{
    run_result r;

    (void)state;
    r = run("--version", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "noriai "));
    run_free(&r);
    r = run("help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "solve"));
    run_free(&r);
    r = run("help", "solve", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--time-limit"));
    run_free(&r);
}

/* Every command answers --help, -h and `noriai help X` alike: its own
 * usage on stdout, nothing on stderr, exit 0. */
static void test_help_everywhere(void **state)
{
    static const char *const cmds[] = {"solve", "check",   "area",    "simulate",
                                       "serve", "migrate", "loadgen", "token"};
    static const char *const asks[] = {"--help", "-h", "help"};
    static const char *const subs[][3] = {
        {"area", "build", "--help"},   {"area", "synth", "-h"},       {"area", "info", "--help"},
        {"area", "route", "-h"},       {"token", "create", "--help"}, {"token", "list", "-h"},
        {"token", "revoke", "--help"},
    };
    char want[64];
    run_result r, h;

    (void)state;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        snprintf(want, sizeof(want), "usage: noriai %s", cmds[i]);
        h = run("help", cmds[i], NULL);
        if (h.status != 0 || strstr(h.out, want) == NULL)
            fail_msg("noriai help %s: exit %d, wants \"%s\" on stdout:\n%s%s", cmds[i], h.status,
                     want, h.out, h.err);
        for (size_t k = 0; k < sizeof(asks) / sizeof(asks[0]); k++) {
            /* `noriai --help X` as well as `noriai X --help` */
            if (strcmp(asks[k], "help") == 0)
                r = run("--help", cmds[i], NULL);
            else
                r = run(cmds[i], asks[k], NULL);
            if (r.status != 0 || strstr(r.out, want) == NULL || r.err[0] != '\0')
                fail_msg("noriai %s %s: exit %d, wants \"%s\" on stdout only:\n%s%s", cmds[i],
                         asks[k], r.status, want, r.out, r.err);
            /* the same text whichever way it was asked */
            assert_string_equal(r.out, h.out);
            run_free(&r);
        }
        run_free(&h);
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        r = run(subs[i][0], subs[i][1], subs[i][2], NULL);
        if (r.status != 0 || strstr(r.out, "usage") == NULL)
            fail_msg("noriai %s %s %s: exit %d\n%s%s", subs[i][0], subs[i][1], subs[i][2], r.status,
                     r.out, r.err);
        run_free(&r);
    }
    /* the list of commands, every way */
    static const char *const top[] = {"help", "--help", "-h"};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        r = run(top[i], NULL);
        assert_int_equal(r.status, 0);
        for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
            if (strstr(r.out, cmds[k]) == NULL)
                fail_msg("noriai %s does not list %s:\n%s", top[i], cmds[k], r.out);
        run_free(&r);
    }
    /* serve's usage even when the config file named beside it is missing */
    r = run("serve", "--config", "/nonexistent/noriai.json", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: noriai serve"));
    run_free(&r);
}

static void test_usage_errors(void **state)
{
    run_result r;

    (void)state;
    r = run(NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command"));
    run_free(&r);
    r = run("solve", "examples/small-town.json", "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown option \"--bogus\""));
    run_free(&r);
    r = run("solve", "examples/small-town.json", "--iterations", "many", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("solve", "examples/small-town.json", "--time-limit", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("solve", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("check", "examples/small-town.json", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    /* unknown options: a message naming them, exit 2, for every command */
    {
        static const char *const cmds[] = {"simulate", "serve", "migrate", "loadgen"};
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
            r = run(cmds[i], "--bogus", NULL);
            if (r.status != 2 || strstr(r.err, "\"--bogus\"") == NULL)
                fail_msg("noriai %s --bogus: exit %d, stderr:\n%s", cmds[i], r.status, r.err);
            run_free(&r);
        }
    }
    r = run("area", "build", "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "\"--bogus\""));
    run_free(&r);
    r = run("token", "create", "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "\"--bogus\""));
    run_free(&r);
    r = run("help", "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command"));
    run_free(&r);
    /* help on stdout never turns a usage error into exit 0 */
    r = run("migrate", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
}

static void test_check_bks(void **state)
{
    char inst[1200], sol[1200];
    run_result r;

    (void)state;
    bench(inst, sizeof(inst), "darp/cordeau2006/a2-16.txt");
    bench(sol, sizeof(sol), "darp/bks_solutions/a2-16.json");
    r = run("check", inst, sol, NULL);
    if (r.status != 0)
        fail_msg("check a2-16: exit %d, %s%s", r.status, r.out, r.err);
    assert_string_equal(r.out, "OK 294.2480 2\n");
    run_free(&r);
    bench(inst, sizeof(inst), "pdptw/li_lim_100/lc101.txt");
    bench(sol, sizeof(sol), "pdptw/bks_solutions/lc101.10_828.9369.txt");
    r = run("check", inst, sol, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "OK 828.9369 10\n");
    run_free(&r);
}

static void test_check_infeasible(void **state)
{
    char inst[1200];
    run_result r;

    (void)state;
    bench(inst, sizeof(inst), "darp/cordeau2006/a2-16.txt");
    /* a2-16's optimal routes with the second one run backwards: drop-offs first */
    r = run("check", inst,
            write_tmp("bad.json", "{\"routes\": [[10, 5, 26, 21, 14, 30, 15, 31, 7, 16, 23, 32],"
                                  " [17, 1, 18, 2, 24, 25, 8, 9, 29, 13, 19, 3, 20, 27, 11, 4,"
                                  " 22, 28, 6, 12]]}"),
            NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "INFEASIBLE"));
    run_free(&r);
    /* everything in one vehicle: capacity 3 and the time windows cannot hold */
    r = run("check", inst,
            write_tmp("one.json", "{\"routes\": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,"
                                  " 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,"
                                  " 30, 31, 32]]}"),
            NULL);
    assert_int_equal(r.status, 1);
    run_free(&r);
    /* an id that is no stop of the instance */
    r = run("check", inst, write_tmp("unknown.json", "{\"routes\": [[1, 17, 99]]}"), NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "\"99\""));
    run_free(&r);
}

static void test_check_missing_file(void **state)
{
    char inst[1200];
    run_result r;

    (void)state;
    bench(inst, sizeof(inst), "darp/cordeau2006/a2-16.txt");
    r = run("check", inst, "/nonexistent/solution.json", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/solution.json"));
    run_free(&r);
    r = run("check", "/nonexistent/instance.txt", inst, NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("check", inst, write_tmp("garbage.json", "{\"routes\": [[1, 17"), NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
}

static void test_solve_tiny(void **state)
{
    char inst_path[600], out_path[600];
    json_t *root;
    json_error_t jerr;
    run_result r;

    (void)state;
    snprintf(inst_path, sizeof(inst_path), "%s",
             write_tmp("tiny.txt", "2 3 480 3 30\n"
                                   "0 0.0 0.0 0 0 0 480\n"
                                   "1 1.0 0.0 3 1 0 1440\n"
                                   "2 2.0 0.0 3 1 0 1440\n"
                                   "3 0.0 3.0 3 1 0 1440\n"
                                   "4 1.0 1.0 3 -1 0 1440\n"
                                   "5 2.0 1.0 3 -1 0 1440\n"
                                   "6 0.0 4.0 3 -1 0 1440\n"
                                   "7 0.0 0.0 0 0 0 480\n"));
    snprintf(out_path, sizeof(out_path), "%s/tiny.sol.json", tmp_dir);
    r = run("solve", inst_path, "--iterations", "50", "--time-limit", "5", "--seed", "3", "--out",
            out_path, NULL);
    if (r.status != 0)
        fail_msg("solve: exit %d: %s", r.status, r.err);
    run_free(&r);
    root = json_load_file(out_path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("solve wrote invalid JSON: %s:%d: %s", out_path, jerr.line, jerr.text);
    assert_string_equal(json_string_value(json_object_get(root, "instance")), "tiny");
    assert_true(json_is_number(json_object_get(root, "cost")));
    assert_true(json_is_number(json_object_get(root, "distance")));
    assert_true(json_is_array(json_object_get(root, "routes")));
    assert_int_equal(json_array_size(json_object_get(root, "unassigned")), 0);
    json_decref(root);
    r = run("check", inst_path, out_path, NULL);
    if (r.status != 0)
        fail_msg("check of solve's output: exit %d: %s%s", r.status, r.out, r.err);
    assert_true(strncmp(r.out, "OK ", 3) == 0);
    run_free(&r);
    /* the same on stdout */
    r = run("solve", inst_path, "--iterations=20", "--no-glpk", NULL);
    assert_int_equal(r.status, 0);
    root = json_loads(r.out, 0, &jerr);
    assert_non_null(root);
    json_decref(root);
    run_free(&r);
}

static void test_solve_routes(void **state)
{
    run_result r;

    (void)state;
    r = run("solve", "examples/small-town.json", "--iterations", "200", "--seed", "1", "--routes",
            "--verbose", NULL);
    if (r.status != 0)
        fail_msg("solve --routes: exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "vehicle van-"));
    assert_non_null(strstr(r.out, "R02:pickup"));
    assert_non_null(strstr(r.out, "cost "));
    assert_non_null(strstr(r.err, "iterations"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help), cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_usage_errors),     cmocka_unit_test(test_check_bks),
        cmocka_unit_test(test_check_infeasible), cmocka_unit_test(test_check_missing_file),
        cmocka_unit_test(test_solve_tiny),       cmocka_unit_test(test_solve_routes),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
