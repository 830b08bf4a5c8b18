/*
 * web.c - the web consoles' static files (api/web/dist, built from
 * api/web/src by `make web`), served under /web/.
 *
 *   GET /            -> 302 to /web/
 *   GET /web/        -> index.html (the console chooser)
 *   GET /web/<path>  -> the file, Content-Type by extension
 *
 * Paths are resolved inside the web folder only: segments "..", ".",
 * empty segments, segments that start with a dot and anything but
 * [A-Za-z0-9._-/] are refused (404), so no request reaches outside it.
 * Source maps (*.map) are not served either: they would hand out the
 * consoles' source, and nothing needs them at run time.
 *
 * Reading never blocks the loop thread: a file is read whole (the bundles
 * are small, at most WEB_MAX_FILE) by one uv_queue_work job - open, fstat,
 * read, close on a worker thread - and answered from the after-callback on
 * the loop.  The path is copied into the job, so the job needs nothing of
 * the service while it runs, and a request whose client left meanwhile is
 * just freed by api_http_respond.  The file is opened with O_NONBLOCK and
 * must be a regular file, so a FIFO or device put in the folder cannot hold
 * a worker.  Files are never cached across requests, so a rebuilt console
 * is served at once.
 *
 * Every answer here carries security headers: nosniff, no referrer, no
 * framing, and a Content-Security-Policy that allows what the consoles do -
 * scripts, styles, images and connections (fetch, the driver's WebSocket)
 * of this origin only, inline style attributes (the live map sets colours
 * and bar widths with them), data: images (the pages' empty icon).  The
 * driver tablet's page also allows 'unsafe-eval': protobufjs builds its
 * encoders and decoders with Function() at run time.
 */
#include "api/server/srv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_MAX_FILE (8 * 1024 * 1024)

/* The headers of every answer of this file; the policy ends the block. */
#define WEB_HEADERS                                                                                \
    "Cache-Control: no-cache\r\n"                                                                  \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Content-Security-Policy: default-src 'self'; "
#define WEB_CSP_REST                                                                               \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "                               \
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "                            \
    "frame-ancestors 'none'; form-action 'self'\r\n"

static const char web_headers[] = WEB_HEADERS "script-src 'self'; " WEB_CSP_REST;
static const char web_headers_eval[] = WEB_HEADERS "script-src 'self' 'unsafe-eval'; " WEB_CSP_REST;

/* One file being read for one request. */
typedef struct web_job {
    uv_work_t work;
    api_http_req *req;
    const char *type, *headers;
    char *buf; /* the file, when found */
    size_t len;
    int found;
    char file[1024];
} web_job;

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".txt", "text/plain; charset=utf-8"},
                 {".proto", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* 1 if rel is a path inside the web folder that may be served. */
static int safe_rel(const char *rel)
{
    const char *seg = rel;
    size_t len = strlen(rel);

    if (len == 0 || len > 200 || (len >= 4 && strcmp(rel + len - 4, ".map") == 0))
        return 0;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            /* empty, ".", ".." and hidden segments alike */
            if (p == seg || seg[0] == '.')
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
}

static void not_found(api_http_req *req, const char *headers)
{
    static const char body[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such file\"}}";
    api_http_respond(req, 404, "application/json", body, strlen(body), headers);
}

/* Worker thread: reads job->file whole, or leaves found 0. */
static void web_read(uv_work_t *w)
{
    web_job *job = w->data;
    struct stat st;
    size_t got = 0;
    int fd;

    fd = open(job->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE)
        goto out;
    job->buf = malloc((size_t)st.st_size + 1);
    if (job->buf == NULL)
        goto out;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, job->buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* a file that shrank while read is read again by the next request */
    if (got == (size_t)st.st_size) {
        job->len = got;
        job->found = 1;
    }
out:
    close(fd);
}

/* Loop thread: answers the request and frees the job. */
static void web_read_done(uv_work_t *w, int status)
{
    web_job *job = w->data;

    if (status == 0 && job->found)
        api_http_respond(job->req, 200, job->type, job->buf, job->len, job->headers);
    else
        not_found(job->req, job->headers);
    free(job->buf);
    free(job);
}

int api_web_serve(api_svc *s, api_http_req *req)
{
    const char *path = req->path, *rel, *headers = web_headers;
    char tmp[256];
    web_job *job;

    if (strcmp(path, "/") == 0) {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
            return 0;
        api_http_respond(req, 302, "text/plain", "see /web/\n", 10, "Location: /web/\r\n");
        return 1;
    }
    if (strncmp(path, "/web/", 5) != 0 && strcmp(path, "/web") != 0)
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        static const char body[] =
            "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"static files: GET only\"}}";
        char extra[sizeof(web_headers) + 16];

        snprintf(extra, sizeof(extra), "Allow: GET\r\n%s", web_headers);
        api_http_respond(req, 405, "application/json", body, strlen(body), extra);
        return 1;
    }
    rel = path[4] == '\0' || path[5] == '\0' ? "index.html" : path + 5;
    if (rel[strlen(rel) - 1] == '/') {
        if ((size_t)snprintf(tmp, sizeof(tmp), "%sindex.html", rel) >= sizeof(tmp)) {
            not_found(req, headers);
            return 1;
        }
        rel = tmp;
    }
    if (strncmp(rel, "driver/", 7) == 0)
        headers = web_headers_eval;
    if (!safe_rel(rel)) {
        not_found(req, headers);
        return 1;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL || (size_t)snprintf(job->file, sizeof(job->file), "%s/%s", s->cfg.web_dir,
                                        rel) >= sizeof(job->file)) {
        free(job);
        not_found(req, headers);
        return 1;
    }
    job->req = req;
    job->type = content_type(rel);
    job->headers = headers;
    job->work.data = job;
    if (uv_queue_work(s->loop, &job->work, web_read, web_read_done) != 0) {
        static const char body[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"the file could not be read\"}}";

        free(job);
        api_http_respond(req, 500, "application/json", body, strlen(body), headers);
    }
    return 1;
}
