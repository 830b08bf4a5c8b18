/*
 * web.c - the web consoles' static files (api/web/dist, built from
 * api/web/src by `make web`), served under /web/.
 *
 *   GET /            -> 302 to /web/
 *   GET /web/        -> index.html (the console chooser)
 *   GET /web/<path>  -> the file, Content-Type by extension
 *
 * Paths are resolved inside the web folder only: segments "..", ".",
 * empty segments and anything but [A-Za-z0-9._-/] are refused (404), so no
 * request reaches outside it.  Files are read whole (the bundles are small)
 * and never cached across requests, so a rebuilt console is served at once.
 */
#include "api/server/srv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WEB_MAX_FILE (8 * 1024 * 1024)

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
                 {".proto", "text/plain; charset=utf-8"},
                 {".map", "application/json"}};
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static int safe_rel(const char *rel)
{
    const char *seg = rel;

    if (*rel == '\0' || strlen(rel) > 200)
        return 0;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
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

static void not_found(api_http_req *req)
{
    static const char body[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such file\"}}";
    api_http_respond(req, 404, "application/json", body, strlen(body), NULL);
}

int api_web_serve(api_svc *s, api_http_req *req)
{
    const char *path = req->path, *rel;
    char file[1024];
    struct stat st;
    char *buf = NULL;
    FILE *f;

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
        api_http_respond(req, 405, "application/json", body, strlen(body), "Allow: GET\r\n");
        return 1;
    }
    rel = path[4] == '\0' || path[5] == '\0' ? "index.html" : path + 5;
    if (rel[strlen(rel) - 1] == '/') {
        snprintf(file, sizeof(file), "%s/%sindex.html", s->cfg.web_dir, rel);
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%sindex.html", rel);
        if (!safe_rel(tmp)) {
            not_found(req);
            return 1;
        }
    } else {
        if (!safe_rel(rel)) {
            not_found(req);
            return 1;
        }
        snprintf(file, sizeof(file), "%s/%s", s->cfg.web_dir, rel);
    }
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE ||
        (f = fopen(file, "rb")) == NULL) {
        not_found(req);
        return 1;
    }
    buf = malloc((size_t)st.st_size + 1);
    size_t got = buf != NULL ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (buf == NULL || got != (size_t)st.st_size) {
        free(buf);
        not_found(req);
        return 1;
    }
    api_http_respond(req, 200, content_type(file), buf, got, "Cache-Control: no-cache\r\n");
    free(buf);
    return 1;
}
