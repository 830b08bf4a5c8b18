/*
 * test_web.c - the web consoles' static files (api/server/web.c) over a
 * real socket, from a folder the test makes.
 *
 * The folder (mkdtemp) holds web/ - an index, a console with its bundle and
 * a source map, a driver page, a hidden file, a FIFO, a file over the size
 * limit - and, beside web/, a secret file no request may reach.  A server of
 * api/http on 127.0.0.1 (port 0) runs on a fresh loop in the test's thread
 * and hands every request to api_web_serve, with a service that has only
 * its loop and web_dir set (nothing else of it is used); what api_web_serve
 * declines is answered 404 "not web" here.  The client is tests/api/
 * httpclient.h in a second thread; it records its first failed check as text
 * and wakes the loop through a uv_async when done, and the test asserts
 * that the loop then closes cleanly - a file read still queued on a worker
 * or a leaked handle fails it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/http/http.h"
#include "api/httpclient.h"
#include "api/server/srv_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET "top-secret-outside-the-web-folder"

typedef struct tctx tctx;
struct tctx {
    uv_loop_t loop;
    api_svc *svc;
    api_http_server *srv;
    int port;
    uv_async_t done;
    uv_timer_t watchdog;
    pthread_t th;
    void (*client)(tctx *t);
    char dir[64];  /* the test's folder; web/ is in it */
    char err[512]; /* the client's first failed check */
    int n_closed, watchdog_fired;
};

/* ---- the folder -------------------------------------------------------------------------- */

static const char *const files[][2] = {
    {"web/index.html", "<!doctype html><title>menu</title>"},
    {"web/style.css", "body{color:#222}"},
    {"web/operator/index.html", "<!doctype html><title>operator</title>"},
    {"web/operator/app.js", "console.log('operator');\n//# sourceMappingURL=app.js.map\n"},
    {"web/operator/app.js.map", "{\"version\":3,\"sources\":[\"secret-source.js\"]}"},
    {"web/driver/index.html", "<!doctype html><title>driver</title>"},
    {"web/.hidden", "hidden"},
    {"secret.txt", SECRET},
};
static const char *const dirs[] = {"web/operator", "web/driver", "web"};

static void path_in(const tctx *t, const char *rel, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", t->dir, rel);
}

static void folder_make(tctx *t)
{
    char p[256];
    FILE *f;
    int fd;

    snprintf(t->dir, sizeof(t->dir), "/tmp/noriai-test-web.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    for (int i = (int)(sizeof(dirs) / sizeof(dirs[0])) - 1; i >= 0; i--) {
        path_in(t, dirs[i], p, sizeof(p));
        assert_int_equal(mkdir(p, 0755), 0);
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        path_in(t, files[i][0], p, sizeof(p));
        f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fputs(files[i][1], f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
    }
    /* a FIFO nobody writes to: opening it for reading without O_NONBLOCK would
     * hold a worker thread for good */
    path_in(t, "web/pipe.js", p, sizeof(p));
    assert_int_equal(mkfifo(p, 0644), 0);
    /* over the 8 MiB limit (sparse: no disk used) */
    path_in(t, "web/huge.js", p, sizeof(p));
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)9 << 20), 0);
    close(fd);
}

static void folder_remove(tctx *t)
{
    static const char *const extra[] = {"web/pipe.js", "web/huge.js"};
    char p[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        path_in(t, files[i][0], p, sizeof(p));
        unlink(p);
    }
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        path_in(t, extra[i], p, sizeof(p));
        unlink(p);
    }
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        path_in(t, dirs[i], p, sizeof(p));
        rmdir(p);
    }
    rmdir(t->dir);
}

/* ---- the server (loop thread) ------------------------------------------------------------ */

static void handler(void *ud, api_http_req *req)
{
    tctx *t = ud;

    if (!api_web_serve(t->svc, req))
        api_http_respond(req, 404, "text/plain", "not web", 7, NULL);
}

static void on_closed(void *ud)
{
    tctx *t = ud;

    t->n_closed++;
    t->srv = NULL;
}

static void on_done(uv_async_t *a)
{
    tctx *t = a->data;

    if (t->srv != NULL)
        api_http_server_close(t->srv, on_closed, t);
    uv_close((uv_handle_t *)&t->done, NULL);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void on_watchdog(uv_timer_t *w)
{
    tctx *t = w->data;

    t->watchdog_fired = 1;
    if (t->srv != NULL)
        api_http_server_close(t->srv, on_closed, t);
}

static void *client_main(void *arg)
{
    tctx *t = arg;

    t->client(t);
    uv_async_send(&t->done);
    return NULL;
}

static void run(void (*client)(tctx *t))
{
    tctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    folder_make(t);
    t->svc = calloc(1, sizeof(*t->svc));
    assert_non_null(t->svc);
    assert_int_equal(uv_loop_init(&t->loop), 0);
    t->svc->loop = &t->loop;
    snprintf(t->svc->cfg.web_dir, sizeof(t->svc->cfg.web_dir), "%s/web", t->dir);
    assert_int_equal(api_http_server_create(&t->loop, NULL, handler, t, &t->srv), 0);
    assert_int_equal(api_http_listen(t->srv, "127.0.0.1", 0, &t->port), 0);
    assert_int_equal(uv_async_init(&t->loop, &t->done, on_done), 0);
    t->done.data = t;
    uv_timer_init(&t->loop, &t->watchdog);
    t->watchdog.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, 15000, 0);
    t->client = client;
    assert_int_equal(pthread_create(&t->th, NULL, client_main, t), 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    pthread_join(t->th, NULL);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    folder_remove(t);
    if (t->err[0] != '\0')
        fail_msg("%s", t->err);
    assert_false(t->watchdog_fired);
    assert_int_equal(t->n_closed, 1);
    free(t->svc);
    free(t);
}

/* ---- client side (second thread) --------------------------------------------------------- */

static void ck_fail(tctx *t, int line, const char *what)
{
    if (t->err[0] == '\0')
        snprintf(t->err, sizeof(t->err), "client check failed at line %d: %s", line, what);
}

#define CK(cond)                                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ck_fail(t, __LINE__, #cond);                                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* One request on a new connection; the answer in r.  0 or -1. */
static int get(tctx *t, const char *method, const char *path, hc_resp *r)
{
    hc_conn *k = malloc(sizeof(*k));
    char req[512];
    int rc = -1;

    if (k == NULL)
        return -1;
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n\r\n", method, path);
    if (hc_open(k, t->port, 5000) == 0 && hc_sends(k, req) == 0)
        rc = hc_read_resp(k, r, strcmp(method, "HEAD") == 0);
    hc_close(k);
    free(k);
    return rc;
}

/* The headers every answer of web.c carries; eval: the driver page's policy. */
static int has_security_headers(const hc_resp *r, int eval)
{
    char v[600];

    if (!hc_header(r, "X-Content-Type-Options", v, sizeof(v)) || strcmp(v, "nosniff") != 0)
        return 0;
    if (!hc_header(r, "Referrer-Policy", v, sizeof(v)) || strcmp(v, "no-referrer") != 0)
        return 0;
    if (!hc_header(r, "X-Frame-Options", v, sizeof(v)) || strcmp(v, "DENY") != 0)
        return 0;
    if (!hc_header(r, "Content-Security-Policy", v, sizeof(v)))
        return 0;
    if (strncmp(v, "default-src 'self'; ", 20) != 0 || !strstr(v, "img-src 'self' data: blob:;") ||
        !strstr(v, "connect-src 'self' ws: wss:;") || !strstr(v, "frame-ancestors 'none'"))
        return 0;
    if (eval)
        return strstr(v, "script-src 'self' 'unsafe-eval';") != NULL;
    return strstr(v, "script-src 'self';") != NULL && strstr(v, "unsafe-eval") == NULL;
}

/* GET path answers 200 with exactly body, of type ctype, with the headers. */
static int serves(tctx *t, const char *path, const char *body, const char *ctype, int eval)
{
    hc_resp r = {0};
    char v[128];
    int ok;

    ok = get(t, "GET", path, &r) == 0 && r.status == 200 && r.body_len == strlen(body) &&
         memcmp(r.body, body, r.body_len) == 0 && hc_header(&r, "Content-Type", v, sizeof(v)) &&
         strcmp(v, ctype) == 0 && has_security_headers(&r, eval);
    hc_resp_free(&r);
    return ok;
}

/* GET path answers web.c's JSON 404, with the headers, and no secret. */
static int refused(tctx *t, const char *path)
{
    hc_resp r = {0};
    int ok;

    ok = get(t, "GET", path, &r) == 0 && r.status == 404 &&
         strstr(r.body, "\"code\":\"not_found\"") != NULL && strstr(r.body, SECRET) == NULL &&
         has_security_headers(&r, strncmp(path, "/web/driver/", 12) == 0);
    hc_resp_free(&r);
    return ok;
}

static void client_files(tctx *t)
{
    hc_resp r = {0};
    char v[128];

    CK(serves(t, "/web/", files[0][1], "text/html; charset=utf-8", 0));
    CK(serves(t, "/web", files[0][1], "text/html; charset=utf-8", 0));
    CK(serves(t, "/web/index.html", files[0][1], "text/html; charset=utf-8", 0));
    CK(serves(t, "/web/style.css", files[1][1], "text/css; charset=utf-8", 0));
    CK(serves(t, "/web/operator/", files[2][1], "text/html; charset=utf-8", 0));
    CK(serves(t, "/web/operator/app.js", files[3][1], "text/javascript; charset=utf-8", 0));
    /* the tablet's page: protobufjs needs eval */
    CK(serves(t, "/web/driver/", files[5][1], "text/html; charset=utf-8", 1));
    CK(serves(t, "/web/driver/index.html?token=x", files[5][1], "text/html; charset=utf-8", 1));
    /* HEAD: the length, no body */
    CK(get(t, "HEAD", "/web/", &r) == 0 && r.status == 200 &&
       r.content_length == (long)strlen(files[0][1]) && has_security_headers(&r, 0));
    hc_resp_free(&r);
    /* / leads to the menu */
    CK(get(t, "GET", "/", &r) == 0 && r.status == 302 && hc_header(&r, "Location", v, sizeof(v)) &&
       strcmp(v, "/web/") == 0);
    hc_resp_free(&r);
    /* not ours: left to the other routes */
    CK(get(t, "GET", "/webx", &r) == 0 && r.status == 404 && strcmp(r.body, "not web") == 0);
    hc_resp_free(&r);
    CK(get(t, "POST", "/", &r) == 0 && r.status == 404 && strcmp(r.body, "not web") == 0);
    hc_resp_free(&r);
    /* static files are read-only */
    CK(get(t, "POST", "/web/index.html", &r) == 0 && r.status == 405 &&
       hc_header(&r, "Allow", v, sizeof(v)) && strcmp(v, "GET") == 0 &&
       has_security_headers(&r, 0));
out:
    hc_resp_free(&r);
}

static void test_files_and_headers(void **state)
{
    (void)state;
    run(client_files);
}

static void client_refused(tctx *t)
{
    /* source maps are not served, though on disk */
    CK(refused(t, "/web/operator/app.js.map"));
    /* no way out of the folder */
    CK(refused(t, "/web/../secret.txt"));
    CK(refused(t, "/web/%2e%2e/secret.txt"));
    CK(refused(t, "/web/operator/../../secret.txt"));
    CK(refused(t, "/web/operator/%2E%2E/%2E%2E/secret.txt"));
    CK(refused(t, "/web/operator/..%2f..%2fsecret.txt"));
    CK(refused(t, "/web//secret.txt"));
    CK(refused(t, "/web/./index.html"));
    CK(refused(t, "/web/operator/../index.html"));
    CK(refused(t, "/web/%2fetc%2fpasswd"));
    CK(refused(t, "/web/operator\\..\\..\\secret.txt"));
    /* hidden files, missing files, a FIFO (must not hang), a file over the limit */
    CK(refused(t, "/web/.hidden"));
    CK(refused(t, "/web/nothing.js"));
    CK(refused(t, "/web/operator/nothing/"));
    CK(refused(t, "/web/pipe.js"));
    CK(refused(t, "/web/huge.js"));
    CK(refused(t, "/web/driver/app.js.map"));
out:
    return;
}

static void test_refused(void **state)
{
    (void)state;
    run(client_refused);
}

/* Answers come from worker threads, but a connection's answers stay in order,
 * and a client who leaves before its answer costs nothing. */
static void client_order(tctx *t)
{
    hc_conn *k = malloc(sizeof(*k));
    hc_resp r = {0};
    static const char *const want[] = {files[0][1], files[3][1], files[1][1]};

    CK(k != NULL && hc_open(k, t->port, 5000) == 0);
    CK(hc_sends(k, "GET /web/ HTTP/1.1\r\n\r\nGET /web/operator/app.js HTTP/1.1\r\n\r\n"
                   "GET /web/style.css HTTP/1.1\r\n\r\n") == 0);
    for (int i = 0; i < 3; i++) {
        CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strcmp(r.body, want[i]) == 0);
        hc_resp_free(&r);
    }
    hc_close(k);
    for (int i = 0; i < 20; i++) {
        CK(hc_open(k, t->port, 5000) == 0 && hc_sends(k, "GET /web/ HTTP/1.1\r\n\r\n") == 0);
        hc_close(k);
    }
    CK(serves(t, "/web/", files[0][1], "text/html; charset=utf-8", 0));
out:
    hc_resp_free(&r);
    if (k != NULL)
        hc_close(k);
    free(k);
}

static void test_order_and_hang_up(void **state)
{
    (void)state;
    run(client_order);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_headers),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_order_and_hang_up),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
