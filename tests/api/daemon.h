/*
 * daemon.h - `noriai serve` as a child process of an integration test, with
 * the PostgreSQL cluster it stores into (tests/pgtest.h).  Shared by
 * test_api, test_driver and test_tablets.
 *
 *   dmn_env env;                       one per program: binary, folder, cluster
 *   dmn d;
 *   if (dmn_env_start(&env, "drv", 18481, 18499) != 0) ... fail
 *   dmn_init(&d, &env, "main");        conninfo of env's cluster, tokens file in env's folder
 *   snprintf(d.config, ...)            optional: a --config file
 *   if (dmn_start(&d, "09:00") != 0)   a free port, fork/exec, wait for GET /v1/health 200
 *   dmn_token(&d, "operator", tok, sizeof(tok));   from the --demo-tokens file
 *   ...
 *   dmn_term(&d, 5000, NULL);          SIGTERM, SIGKILL after the limit
 *   dmn_env_stop(&env);                cluster and folder removed (kept with
 *                                      NORIAI_KEEP_TEST_LOGS=1, for the daemon logs)
 *
 * The binary is $NORIAI_BIN, else build/noriai (a sanitized daemon: point
 * NORIAI_BIN at one; its reports land in the daemon's log).  Each start
 * writes its own log, <folder>/serve-<tag>-<n>.log, whose tail is printed
 * when a start fails.  Ports come from the program's range: the first free
 * one, probed by binding before the start, and another when the daemon
 * found it taken meanwhile.  Tests run from the repository root.
 */
#ifndef NORIAI_TEST_DAEMON_H
#define NORIAI_TEST_DAEMON_H

#include "pgtest.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/db/db.h"
#include "simulator/httpc.h"

typedef struct dmn_env {
    const char *prog; /* for messages, e.g. "test_api" */
    const char *bin;
    char dir[256];      /* this program's files */
    char pg[256];       /* the cluster's folder */
    char conninfo[512]; /* its conninfo (database noriai) */
    int port_first, port_last;
} dmn_env;

typedef struct dmn {
    const dmn_env *env;
    pid_t pid; /* 0: not running */
    int port;
    int starts;
    char tag[16];
    char conninfo[512];
    char config[400];   /* "" or a --config file */
    char tokens[400];   /* the --demo-tokens file */
    char log[400];      /* of the last start */
    int clock_s;        /* the --clock of the last start, seconds */
    int64_t started_ms; /* when it was started (dmn_now_ms) */
} dmn;

static inline int64_t dmn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void dmn_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A whole file, NUL-terminated (the caller frees), or NULL. */
static inline char *dmn_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)(n < 0 ? 0 : n) + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = (long)fread(buf, 1, (size_t)(n < 0 ? 0 : n), f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The last lines of a file on stderr (a daemon's log when a test fails). */
static inline void dmn_print_tail(const char *path, int lines)
{
    char *txt = dmn_slurp(path);
    size_t n;
    int seen = 0;

    if (txt == NULL)
        return;
    n = strlen(txt);
    while (n > 0 && seen <= lines) {
        n--;
        if (txt[n] == '\n')
            seen++;
    }
    fprintf(stderr, "---- end of %s ----\n%s\n----\n", path, txt + n);
    free(txt);
}

/*
 * The program's environment: the binary (checked), SIGPIPE ignored (a
 * daemon killed under a test must not take the program with it), a
 * private folder /tmp/noriai-test-<tag>-*, a fresh cluster.  0 or -1
 * (message on stderr, nothing left behind).
 */
static inline int dmn_env_start(dmn_env *e, const char *prog, const char *tag, int port_first,
                                int port_last)
{
    memset(e, 0, sizeof(*e));
    e->prog = prog;
    e->port_first = port_first;
    e->port_last = port_last;
    e->bin = getenv("NORIAI_BIN");
    if (e->bin == NULL || !*e->bin)
        e->bin = "build/noriai";
    if (access(e->bin, X_OK) != 0) {
        fprintf(stderr, "%s: %s is not an executable (build it, or set NORIAI_BIN)\n", prog,
                e->bin);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (tu_tmpdir_create(e->dir, sizeof(e->dir), tag) != 0)
        return -1;
    if (pgt_start(e->pg, e->conninfo, sizeof(e->conninfo)) != 0) {
        tu_tmpdir_remove(e->dir);
        e->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* The cluster and the folder removed; the folder kept (and named) with
 * NORIAI_KEEP_TEST_LOGS set. */
static inline void dmn_env_stop(dmn_env *e)
{
    if (e->pg[0])
        pgt_destroy(e->pg);
    e->pg[0] = '\0';
    if (!e->dir[0])
        return;
    if (getenv("NORIAI_KEEP_TEST_LOGS") == NULL)
        tu_tmpdir_remove(e->dir);
    else
        fprintf(stderr, "%s: daemon logs kept in %s\n", e->prog, e->dir);
    e->dir[0] = '\0';
}

/* A daemon of env on its cluster, tokens in <folder>/tokens-<tag>.json. */
static inline void dmn_init(dmn *d, const dmn_env *env, const char *tag)
{
    memset(d, 0, sizeof(*d));
    d->env = env;
    snprintf(d->tag, sizeof(d->tag), "%s", tag);
    snprintf(d->conninfo, sizeof(d->conninfo), "%s", env->conninfo);
    snprintf(d->tokens, sizeof(d->tokens), "%s/tokens-%s.json", env->dir, tag);
}

/* Writes json to <folder>/config-<tag>.json, the daemon's --config from
 * its next start; 0 or -1. */
static inline int dmn_config(dmn *d, const char *json)
{
    FILE *f;
    int ok;

    snprintf(d->config, sizeof(d->config), "%s/config-%s.json", d->env->dir, d->tag);
    if ((f = fopen(d->config, "w")) == NULL)
        return -1;
    ok = fputs(json, f) >= 0 && fputc('\n', f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A port of the env's range after `after` nobody listens on, or -1. */
static inline int dmn_free_port(const dmn_env *e, int after)
{
    for (int p = after < e->port_first ? e->port_first : after + 1; p <= e->port_last; p++) {
        struct sockaddr_in a;
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)p);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return p;
    }
    return -1;
}

/* GET /v1/health through a fresh connection: its status (negative: no
 * answer); its "now" into now_out when not NULL. */
static inline int dmn_health(int port, char *now_out, size_t now_len)
{
    sim_httpc *c;
    sim_http_resp r;
    int st;

    if (now_out != NULL && now_len > 0)
        now_out[0] = '\0';
    if (sim_httpc_create("127.0.0.1", port, 1000, &c) != 0)
        return -1;
    st = sim_httpc_request(c, "GET", "/v1/health", NULL, NULL, 0, &r);
    if (st == 0) {
        st = r.status;
        if (now_out != NULL) {
            json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
            const char *v = json_string_value(json_object_get(j, "now"));
            snprintf(now_out, now_len, "%s", v ? v : "");
            json_decref(j);
        }
        sim_http_resp_free(&r);
    }
    sim_httpc_destroy(c);
    return st;
}

/* Has the child ended?  Its wait status into *status. */
static inline int dmn_exited(dmn *d, int *status)
{
    int st = 0;
    pid_t w = waitpid(d->pid, &st, WNOHANG);

    if (w == d->pid) {
        d->pid = 0;
        if (status != NULL)
            *status = st;
        return 1;
    }
    return 0;
}

static inline int dmn_spawn(dmn *d, const char *clock)
{
    const char *argv[20];
    char listen[40];
    int n = 0;

    snprintf(d->log, sizeof(d->log), "%s/serve-%s-%d.log", d->env->dir, d->tag, d->starts++);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
    argv[n++] = d->env->bin;
    argv[n++] = "serve";
    argv[n++] = "--database";
    argv[n++] = d->conninfo;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--clock";
    argv[n++] = clock;
    argv[n++] = "--demo-tokens";
    argv[n++] = d->tokens;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    if (d->config[0]) {
        argv[n++] = "--config";
        argv[n++] = d->config;
    }
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    d->clock_s = atoi(clock) * 3600 + atoi(clock + 3) * 60;
    d->started_ms = dmn_now_ms();
    d->pid = fork();
    if (d->pid < 0) {
        d->pid = 0;
        return -1;
    }
    if (d->pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(d->env->bin, (char *const *)argv);
        _exit(127);
    }
    return 0;
}

/*
 * Starts the daemon with the service clock at clock ("HH:MM") and waits
 * until GET /v1/health answers 200 (database connected).  Tries another
 * port when the chosen one was taken meanwhile.  0 or -1 (log printed).
 */
static inline int dmn_start(dmn *d, const char *clock)
{
    const char *prog = d->env->prog;
    int port = d->env->port_first - 1;

    for (int attempt = 0; attempt < 4; attempt++) {
        int64_t deadline = dmn_now_ms() + 30000;
        int st;

        if ((port = dmn_free_port(d->env, port)) < 0) {
            fprintf(stderr, "%s: no free port in %d..%d\n", prog, d->env->port_first,
                    d->env->port_last);
            return -1;
        }
        d->port = port;
        if (dmn_spawn(d, clock) < 0)
            return -1;
        while (dmn_now_ms() < deadline) {
            if (dmn_exited(d, &st))
                break;
            if (dmn_health(port, NULL, 0) == 200)
                return 0;
            dmn_sleep_ms(50);
        }
        if (d->pid != 0) {
            fprintf(stderr, "%s: the daemon did not become healthy in 30 s\n", prog);
            dmn_print_tail(d->log, 30);
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
            d->pid = 0;
            return -1;
        }
        /* It ended: a port taken meanwhile is worth another try. */
        char *log = dmn_slurp(d->log);
        int taken = log != NULL && strstr(log, "cannot listen") != NULL;
        free(log);
        if (!taken) {
            fprintf(stderr, "%s: the daemon exited at start\n", prog);
            dmn_print_tail(d->log, 30);
            return -1;
        }
    }
    return -1;
}

/* SIGTERM and wait up to limit_ms; the wait status into *status.  0 when
 * it ended in time (or was not running), -1 when it had to be killed. */
static inline int dmn_term(dmn *d, int limit_ms, int *status)
{
    int64_t deadline = dmn_now_ms() + limit_ms;

    if (d->pid == 0)
        return 0;
    kill(d->pid, SIGTERM);
    while (dmn_now_ms() < deadline) {
        if (dmn_exited(d, status))
            return 0;
        dmn_sleep_ms(20);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

static inline void dmn_kill9(dmn *d)
{
    if (d->pid == 0)
        return;
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

/* The daemon's service clock rounded up to the next minute ("HH:MM"), so
 * a restart continues its day instead of going back in time.  Reckoned
 * from the clock it was started with; no request needed (a kill -9 test
 * kills right after the last answer). */
static inline void dmn_clock_after(const dmn *d, char out[16])
{
    int t = d->clock_s + (int)((dmn_now_ms() - d->started_ms) / 1000);
    int min = t / 60 + 1;

    snprintf(out, 16, "%02d:%02d", (min / 60) % 24, min % 60);
}

/* The demo token of role ("admin", "operator", "rider", "driver",
 * "planner") from the daemon's --demo-tokens file into out; 0 or -1. */
static inline int dmn_token(const dmn *d, const char *role, char *out, size_t len)
{
    json_t *j = json_load_file(d->tokens, 0, NULL);
    const char *t = json_string_value(json_object_get(j, role));
    int rc = t != NULL && strlen(t) < len ? 0 : -1;

    snprintf(out, len, "%s", rc == 0 ? t : "");
    json_decref(j);
    return rc;
}

typedef struct dmn_text {
    char *out;
    size_t len;
} dmn_text;

static inline void dmn_row_text(void *ud, int n_cols, const char *const *values)
{
    dmn_text *t = ud;
    size_t n = strlen(t->out);

    for (int i = 0; i < n_cols && n + 1 < t->len; i++) {
        snprintf(t->out + n, t->len - n, "%s%s",
                 i   ? ","
                 : n ? ";"
                     : "",
                 values[i] ? values[i] : "null");
        n = strlen(t->out);
    }
}

/*
 * A query (param: $1, or NULL for none) on the store, its rows as text
 * into out: columns joined by ",", rows by ";", NULL as "null", cut at
 * len.  0, or -1 with the database's message in out.
 */
static inline int dmn_query(const char *conninfo, const char *sql, const char *param, char *out,
                            size_t len)
{
    const char *p[1] = {param};
    dmn_text t = {out, len};
    char err[300];

    out[0] = '\0';
    if (db_exec_blocking(conninfo, sql, param ? 1 : 0, param ? p : NULL, dmn_row_text, &t, err,
                         sizeof(err)) < 0) {
        snprintf(out, len, "%.200s", err);
        return -1;
    }
    return 0;
}

/*
 * One request as tok (NULL: none) through c, with an Idempotency-Key
 * (idem NULL: a fresh one for a POST); the answer's JSON (NULL when it
 * has none; the caller decrefs) and its status (-1: no answer) in *status.
 */
static inline json_t *dmn_call(sim_httpc *c, const char *tok, const char *method, const char *path,
                               const char *idem, const char *body, int *status)
{
    static int n_keys;
    char auth[160], key[96];
    const char *hdr[4] = {NULL};
    sim_http_resp r;
    json_t *j = NULL;
    int n = 0;

    if (tok != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        hdr[n++] = auth;
    }
    if (idem != NULL || strcmp(method, "POST") == 0) {
        if (idem == NULL)
            snprintf(key, sizeof(key), "Idempotency-Key: test-%d-%d", (int)getpid(), ++n_keys);
        else
            snprintf(key, sizeof(key), "Idempotency-Key: %.70s", idem);
        hdr[n++] = key;
    }
    *status = -1;
    if (sim_httpc_request(c, method, path, hdr, body, body ? strlen(body) : 0, &r) != 0)
        return NULL;
    *status = r.status;
    if (r.body_len > 0)
        j = json_loadb(r.body, r.body_len, 0, NULL);
    sim_http_resp_free(&r);
    return j;
}

#endif
