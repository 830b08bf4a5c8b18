/*
 * request.c - what a parsed HTTP request is made of: its storage, header and
 * query look-ups, path decoding, reason phrases and the module's error texts.
 *
 * Storage: http-parser hands over the URL, header names and header values in
 * pieces (a piece ends wherever a read ended).  Every piece is appended to one
 * arena per request, each string closed by a NUL when the next kind of piece
 * starts; header positions are kept as offsets because the arena may move
 * while it grows.  When the head is complete (api_http_req_finish_head) the
 * path is decoded and the query copied at the arena's end, and only then are
 * the public pointers set - the arena does not change afterwards.  A request
 * of up to API_HTTP_REQ_INLINE head bytes and API_HTTP_REQ_INLINE_HDRS
 * headers lives in one allocation; the body has its own buffer.
 *
 * Bounds: the server stops a head beyond max_head_bytes before it is stored
 * (server.c counts the bytes of every piece), so the arena and the header
 * table never outgrow the limit by more than a line.
 *
 * Decoding: "%hh" escapes, '+' as space in the query only; a truncated or
 * non-hex escape, and any NUL byte (raw or %00), is an error - a decoded
 * string handed on as a C string must be all there is.
 */
#include "api/http/http_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *api_http_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define API_HTTP_ERR_CASE(name, code, msg)                                                         \
    case code:                                                                                     \
        return msg;
        API_HTTP_ERRNO_MAP(API_HTTP_ERR_CASE)
#undef API_HTTP_ERR_CASE
    default:
        return "unknown error";
    }
}

void api_http_limits_default(api_http_limits *l)
{
    l->max_head_bytes = 16 << 10;
    l->max_body_bytes = 1 << 20;
    l->request_timeout_ms = 10000;
    l->idle_timeout_ms = 60000;
    l->max_connections = 1024;
    l->max_connections_per_addr = 64;
}

const char *api_http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        break;
    }
    if (status >= 100 && status < 200)
        return "Informational";
    if (status >= 200 && status < 300)
        return "Success";
    if (status >= 300 && status < 400)
        return "Redirection";
    if (status >= 400 && status < 500)
        return "Client Error";
    if (status >= 500 && status < 600)
        return "Server Error";
    return "Unknown";
}

http_req *api_http_req_new(void)
{
    http_req *r = malloc(sizeof(*r));

    if (r == NULL)
        return NULL;
    /* Only the fields read before they are written are cleared: the inline
     * arrays are large and fully written before use. */
    memset(&r->pub, 0, sizeof(r->pub));
    r->c = NULL;
    r->arena = r->inl;
    r->alen = 0;
    r->acap = sizeof(r->inl);
    r->last = 0;
    r->hoff = r->inl_hoff;
    r->nh = 0;
    r->hcap = API_HTTP_REQ_INLINE_HDRS;
    r->hdrs = r->inl_hdrs;
    r->body = NULL;
    r->blen = 0;
    r->bcap = 0;
    r->bmax = 0;
    r->is_head = 0;
    r->keep_alive = 0;
    r->proto_upgrade = 0;
    return r;
}

void api_http_req_free(http_req *r)
{
    if (r == NULL)
        return;
    if (r->arena != r->inl)
        free(r->arena);
    if (r->hoff != r->inl_hoff)
        free(r->hoff);
    if (r->hdrs != r->inl_hdrs)
        free(r->hdrs);
    free(r->body);
    free(r);
}

/* Makes room for len more arena bytes. */
static int arena_reserve(http_req *r, size_t len)
{
    size_t cap = r->acap;
    char *p;

    if (cap - r->alen >= len)
        return 0;
    while (cap - r->alen < len)
        cap *= 2;
    if (r->arena == r->inl) {
        p = malloc(cap);
        if (p != NULL)
            memcpy(p, r->inl, r->alen);
    } else {
        p = realloc(r->arena, cap);
    }
    if (p == NULL)
        return API_HTTP_ENOMEM;
    r->arena = p;
    r->acap = cap;
    return 0;
}

int api_http_req_put(http_req *r, const char *data, size_t len)
{
    int rc = arena_reserve(r, len);

    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(r->arena + r->alen, data, len);
    r->alen += len;
    return 0;
}

int api_http_req_add_header(http_req *r)
{
    if (r->nh == r->hcap) {
        int cap = r->hcap * 2;
        http_hdr_off *p;

        if (r->hoff == r->inl_hoff) {
            p = malloc((size_t)cap * sizeof(*p));
            if (p != NULL)
                memcpy(p, r->inl_hoff, (size_t)r->nh * sizeof(*p));
        } else {
            p = realloc(r->hoff, (size_t)cap * sizeof(*p));
        }
        if (p == NULL)
            return API_HTTP_ENOMEM;
        r->hoff = p;
        r->hcap = cap;
    }
    r->hoff[r->nh].name = r->alen;
    r->hoff[r->nh].value = SIZE_MAX;
    r->nh++;
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

long api_http_pct_decode(const char *in, size_t n, char *out, size_t out_cap, int plus)
{
    size_t o = 0;

    if (out_cap == 0)
        return API_HTTP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)in[i];

        if (ch == '%') {
            int hi, lo;

            if (n - i < 3)
                return API_HTTP_EINVAL;
            hi = hexval((unsigned char)in[i + 1]);
            lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return API_HTTP_EINVAL;
            ch = hi * 16 + lo;
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (ch == 0)
            return API_HTTP_EINVAL;
        if (o + 1 >= out_cap)
            return API_HTTP_ENOMEM;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return o > LONG_MAX ? API_HTTP_ENOMEM : (long)o;
}

/* Where the path and the query sit in the request target url[0..n). */
static void split_target(const char *url, size_t n, size_t *path_at, size_t *path_len,
                         size_t *query_at, size_t *query_len)
{
    size_t p = 0, e;

    /* absolute-form: scheme "://" authority, then the path */
    if (n > 0 && url[0] != '/') {
        const char *sep = memchr(url, ':', n);

        if (sep != NULL && (size_t)(sep - url) + 3 <= n && sep[1] == '/' && sep[2] == '/') {
            p = (size_t)(sep - url) + 3;
            while (p < n && url[p] != '/' && url[p] != '?' && url[p] != '#')
                p++;
        }
    }
    e = p;
    while (e < n && url[e] != '?' && url[e] != '#')
        e++;
    *path_at = p;
    *path_len = e - p;
    if (e < n && url[e] == '?') {
        size_t q = e + 1, qe = q;

        while (qe < n && url[qe] != '#')
            qe++;
        *query_at = q;
        *query_len = qe - q;
    } else {
        *query_at = e;
        *query_len = 0;
    }
}

int api_http_req_finish_head(http_req *r, const char *method)
{
    static const char nul = '\0';
    size_t url_len, path_at, path_len, query_at, query_len, path_off, query_off;
    long dl;
    int rc;

    /* url (or nothing) first: its length is where the first NUL will be */
    url_len = r->nh > 0 ? r->hoff[0].name - 1 : r->alen;
    if (r->last == 0)
        url_len = 0;
    rc = api_http_req_put(r, &nul, 1);
    if (rc < 0)
        return rc;
    split_target(r->arena, url_len, &path_at, &path_len, &query_at, &query_len);

    /* room for the decoded path (never longer than the raw one) and the query */
    rc = arena_reserve(r, path_len + query_len + 3);
    if (rc < 0)
        return rc;
    path_off = r->alen;
    if (path_len == 0) {
        r->arena[r->alen++] = '/';
        r->arena[r->alen++] = '\0';
    } else {
        dl =
            api_http_pct_decode(r->arena + path_at, path_len, r->arena + path_off, path_len + 1, 0);
        if (dl < 0)
            return API_HTTP_EINVAL;
        r->alen += (size_t)dl + 1;
    }
    query_off = r->alen;
    memcpy(r->arena + query_off, r->arena + query_at, query_len);
    r->arena[query_off + query_len] = '\0';
    r->alen += query_len + 1;

    if (r->nh > API_HTTP_REQ_INLINE_HDRS) {
        r->hdrs = malloc((size_t)r->nh * sizeof(*r->hdrs));
        if (r->hdrs == NULL) {
            r->hdrs = r->inl_hdrs;
            return API_HTTP_ENOMEM;
        }
    }
    for (int i = 0; i < r->nh; i++) {
        char *v;
        size_t vl;

        r->hdrs[i].name = r->arena + r->hoff[i].name;
        if (r->hoff[i].value == SIZE_MAX) {
            r->hdrs[i].value = r->arena + query_off + query_len; /* "" */
            continue;
        }
        v = r->arena + r->hoff[i].value;
        vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        r->hdrs[i].value = v;
    }

    r->pub.method = method;
    r->pub.path = r->arena + path_off;
    r->pub.query = r->arena + query_off;
    r->pub.headers = r->hdrs;
    r->pub.n_headers = r->nh;
    r->pub.body = "";
    r->pub.body_len = 0;
    return 0;
}

const char *api_http_header_get(const api_http_req *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

/* Whether the query key key[0..n), decoded with '+' as space, equals name. */
static int key_equals(const char *key, size_t n, const char *name)
{
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)key[i];

        if (ch == '%') {
            int hi, lo;

            if (n - i < 3)
                return 0;
            hi = hexval((unsigned char)key[i + 1]);
            lo = hexval((unsigned char)key[i + 2]);
            if (hi < 0 || lo < 0)
                return 0;
            ch = hi * 16 + lo;
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (ch == 0 || name[j] == '\0' || (unsigned char)name[j] != ch)
            return 0;
        j++;
    }
    return name[j] == '\0';
}

int api_http_query_get(const api_http_req *r, const char *name, char *out, size_t out_len)
{
    const char *q;

    if (r == NULL || name == NULL || out == NULL || out_len == 0)
        return API_HTTP_EINVAL;
    out[0] = '\0';
    q = r->query != NULL ? r->query : "";
    while (*q != '\0') {
        const char *end = strchr(q, '&');
        const char *eq;
        size_t seg;

        if (end == NULL)
            end = q + strlen(q);
        seg = (size_t)(end - q);
        eq = memchr(q, '=', seg);
        if (key_equals(q, eq != NULL ? (size_t)(eq - q) : seg, name)) {
            const char *v = eq != NULL ? eq + 1 : end;
            size_t cap = out_len > (size_t)INT_MAX ? (size_t)INT_MAX : out_len;
            long n = api_http_pct_decode(v, (size_t)(end - v), out, cap, 1);

            if (n < 0) {
                out[0] = '\0';
                return API_HTTP_EINVAL;
            }
            return (int)n;
        }
        q = *end == '&' ? end + 1 : end;
    }
    return -1;
}
