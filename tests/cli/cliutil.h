/*
 * cliutil.h - running the built `noriai` binary from a CLI test: posix_spawn
 * with standard output and error captured in files of the test's temporary
 * folder, read back whole.  The including test sets `bin` (the binary,
 * $NORIAI_BIN or build/noriai) and `tmp_dir` (tu_tmpdir_create) in its setup.
 */
#ifndef NORIAI_CLIUTIL_H
#define NORIAI_CLIUTIL_H

#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static char tmp_dir[256];
static const char *bin;

typedef struct run_result {
    int status; /* exit status, or -1 if killed */
    char *out, *err;
} run_result;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    n = (long)fread(buf, 1, (size_t)n, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs bin with args (NULL-terminated, without argv[0]). */
static run_result run(const char *arg, ...)
{
    char *argv[32], out_path[300], err_path[300];
    posix_spawn_file_actions_t fa;
    run_result res;
    va_list ap;
    pid_t pid;
    int n = 0, st;

    argv[n++] = (char *)bin;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/stdout", tmp_dir);
    snprintf(err_path, sizeof(err_path), "%s/stderr", tmp_dir);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) != 0)
        fail_msg("cannot run %s", bin);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    res.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    res.out = slurp(out_path);
    res.err = slurp(err_path);
    return res;
}

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

#endif
