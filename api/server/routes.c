/*
 * routes.c - the /v1 HTTP API: routing, authorisation, idempotency, the
 * answers, and the input helpers the handlers share.
 *
 * A request goes: route lookup (404 unknown path, 405 known path with
 * another method) -> the path and query must be UTF-8 text (400) -> bearer
 * token (401) -> role allowed on the route (403) -> for POST, the
 * Idempotency-Key (the service layer's records: a replay gets the stored
 * answer, a different body under the same key 422, a key still committing
 * 409, a key that is no text of 1..200 characters 400) -> the handler
 * (r_bookings.c, r_riders.c, r_fleet.c, r_admin.c), which validates its
 * input completely before anything changes (400 malformed, 422 well-formed
 * but not acceptable), calls the service layer, and answers - a change only
 * after the store committed it (rt_commit_reply -> svc_commit).
 *
 * Riders see and change only their own bookings and record; drivers see
 * their own vehicle (its plan, its riders' bookings); planners read.
 * Something a caller may not see is answered 404, like something absent,
 * so ids cannot be probed.
 *
 * Errors are {"error": {"code": "...", "message": "..."}} with stable codes.
 */
#include "api/server/routes_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/area/sha256.h"
#include "data/json/jsonin.h"

void rt_free(rctx *c)
{
    free(c->new_tok);
    json_decref(c->body);
    free(c->out);
    free(c);
}

void rt_record(rctx *c, int status)
{
    api_metrics *m = &c->s->m;
    int cls = status / 100;

    if (c->route >= 0 && c->route < API_N_ROUTES_MAX) {
        m->http_requests[c->route][cls >= 1 && cls <= 5 ? cls - 1 : 5]++;
        api_hist_add(&m->http_latency[c->route],
                     (double)((int64_t)uv_hrtime() - c->req->received_ns) / 1e9);
    }
}

void rt_send_raw(rctx *c, int status, const char *body, const char *extra)
{
    rt_record(c, status);
    api_http_respond(c->req, status, "application/json", body, strlen(body), extra);
    c->req = NULL;
}

void rt_idem_drop(rctx *c)
{
    if (c->idem != NULL) {
        svc_idem_drop(c->s->core, c->idem);
        c->idem = NULL;
    }
}

/* Answers with body j (taken) and frees the context. */
void rt_reply(rctx *c, int status, json_t *j, const char *extra)
{
    char *txt = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    rt_idem_drop(c); /* nothing changed: the key may be used again */
    rt_send_raw(c, status, txt != NULL ? txt : "{}", extra);
    free(txt);
    rt_free(c);
}

json_t *rt_err_json(const char *code, const char *msg)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

void rt_err(rctx *c, int status, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rt_reply(c, status, rt_err_json(code, msg), NULL);
}

void rt_unavailable(rctx *c)
{
    rt_err(c, 503, "store_unavailable",
              "the database is not reachable; nothing was changed, try again shortly");
}

void rt_after_commit(void *ud, int rc)
{
    rctx *c = ud;

    if (rc < 0) {
        /* The change and its idempotency record stay queued together and
         * are stored by the next commit that succeeds; until then a retry
         * with the same key hears "in progress", afterwards this answer. */
        api_log(API_LOG_WARN, "change not committed yet", "\"error\":\"%s\",\"route\":%d",
                db_strerror(rc), c->route);
        rt_idem_drop(c); /* only set when its record was not queued */
        if (c->req != NULL)
            rt_send_raw(c, 503,
                     "{\"error\":{\"code\":\"store_unavailable\",\"message\":\"the change is "
                     "not stored yet: it will be once the database is back; retry with the same "
                     "Idempotency-Key to get its answer\"}}",
                     NULL);
        rt_free(c);
        return;
    }
    if (c->idem != NULL)
        c->idem->done = 1;
    c->idem = NULL;
    rt_send_raw(c, c->status, c->out, c->extra[0] ? c->extra : NULL);
    rt_free(c);
}

void rt_commit_reply(rctx *c, store_txn *txn, int status, json_t *j, const char *extra)
{
    rt_commit_reply_cb(c, txn, status, j, extra, rt_after_commit);
}

void rt_commit_reply_cb(rctx *c, store_txn *txn, int status, json_t *j,
                                 const char *extra, svc_commit_cb cb)
{
    store st = api_store(c->s);
    int own_records = txn != NULL;

    c->status = status;
    c->out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(c->extra, sizeof(c->extra), "%s", extra ? extra : "");
    if (txn == NULL)
        txn = st.ops->txn_new(st.ctx);
    if (c->out == NULL || txn == NULL) {
        if (txn != NULL)
            st.ops->txn_free(txn);
        rt_idem_drop(c);
        rt_send_raw(c, 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"out of memory; "
                         "nothing was changed\"}}", NULL);
        rt_free(c);
        return;
    }
    if (c->idem != NULL) {
        svc_idem *e = c->idem;
        int rc;
        if (own_records) {
            /* The caller's records (a rider, a token) are not kept for a
             * later commit, so neither is their answer: it is stored in
             * this transaction or not at all (rt_after_commit). */
            store_idem_row r;
            free(e->body);
            e->body = strdup(c->out);
            e->status = status;
            snprintf(e->method, sizeof(e->method), "%s", c->req->method);
            svc_text_copy(e->path, sizeof(e->path), c->req->path);
            svc_idem_row(e, &r);
            rc = e->body != NULL ? st.ops->put_idem(txn, &r) : -1;
        } else {
            rc = svc_idem_queue(c->s->core, e, status, c->out, c->req->method, c->req->path);
        }
        if (rc < 0) {
            st.ops->txn_free(txn);
            rt_idem_drop(c);
            rt_send_raw(c, 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"out of memory; "
                             "nothing was changed\"}}", NULL);
            rt_free(c);
            return;
        }
        if (!own_records)
            c->idem = NULL; /* the map and the queue have it now */
    }
    svc_commit(c->s->core, txn, cb, c);
}

int rt_body(rctx *c, int required)
{
    json_error_t je;

    if (c->req->body_len == 0) {
        if (!required) {
            c->body = json_object();
            return 0;
        }
        rt_err(c, 400, "invalid_json", "a JSON object body is required");
        return -1;
    }
    c->body = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (c->body == NULL) {
        rt_err(c, 400, "invalid_json", "body is not valid JSON: %s (line %d, column %d)",
                  je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(c->body)) {
        rt_err(c, 400, "invalid_json", "body must be a JSON object");
        return -1;
    }
    return 0;
}

/* The JSON helpers are data/json's (strict input, lengths in characters);
 * these answer 400 with its message. */

/* Every key of o is one of names; else 400 naming it. */
int rt_keys(rctx *c, json_t *o, const char *where, const char *const *names)
{
    char err[300];

    if (jin_object(o, where, names, 0, err, sizeof(err)) < 0) {
        rt_err(c, 400, "invalid_field", "%s", err);
        return -1;
    }
    return 0;
}

/* Optional text field of at most max characters (people count characters,
 * not bytes: 40 characters of Japanese are 120 bytes), without control
 * characters other than newline and tab; null counts as absent. */
int rt_str(rctx *c, json_t *o, const char *key, size_t max, const char **out)
{
    char err[300];

    *out = NULL;
    if (jin_opt_str(o, key, NULL, 0, max, JIN_TEXT | JIN_NULL_ABSENT, out, err, sizeof(err)) <
        0) {
        rt_err(c, 400, "invalid_field", "%s", err);
        return -1;
    }
    return 0;
}

/* Optional id field: printable ASCII without spaces, at most max bytes
 * (ids are made by machines and kept in fixed buffers). */
int rt_id(rctx *c, json_t *o, const char *key, size_t max, const char **out)
{
    if (rt_str(c, o, key, max, out) < 0)
        return -1;
    for (const char *p = *out; p != NULL && *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            rt_err(c, 400, "invalid_field",
                      "\"%s\" must be an id of printable ASCII without spaces", key);
            return -1;
        }
    return 0;
}

int rt_int(rctx *c, json_t *o, const char *key, int lo, int hi, int *out)
{
    json_t *v = json_object_get(o, key);
    char err[300];
    long long x;

    if (v == NULL)
        return 0;
    if (jin_int(v, key, lo, hi, JIN_STRICT_INT, &x, err, sizeof(err)) < 0) {
        rt_err(c, 400, "invalid_field", "%s", err);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* 1 when s holds a control character (C0 or DEL). */
int rt_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

int rt_store_down(rctx *c)
{
    if (!api_store_ready(c->s)) {
        rt_unavailable(c);
        return 1;
    }
    return 0;
}

static const route routes[] = {
    {"GET", "/v1/health", API_ROLE_PUBLIC, h_health},
    {"GET", "/metrics", API_ROLE_PUBLIC, h_metrics},
    {"GET", "/v1/openapi.json", API_ROLE_PUBLIC, h_openapi},
    {"POST", "/v1/quotes", STAFF | API_ROLE_RIDER, h_quote},
    {"POST", "/v1/bookings", STAFF | API_ROLE_RIDER, h_book},
    {"GET", "/v1/bookings", READERS | API_ROLE_RIDER, h_bookings_list},
    {"GET", "/v1/bookings/*", ALL_ROLES, h_booking_get},
    {"POST", "/v1/bookings/*/confirm", STAFF | API_ROLE_RIDER, h_confirm},
    {"POST", "/v1/bookings/*/cancel", STAFF | API_ROLE_RIDER, h_cancel},
    {"POST", "/v1/riders", STAFF, h_rider_create},
    {"GET", "/v1/riders", STAFF, h_riders},
    {"GET", "/v1/riders/*", STAFF | API_ROLE_RIDER, h_riders},
    {"PATCH", "/v1/riders/*", STAFF | API_ROLE_RIDER, h_riders},
    {"POST", "/v1/riders/*/merge", STAFF, h_rider_create},
    {"GET", "/v1/vehicles", READERS | API_ROLE_DRIVER, h_vehicles},
    {"GET", "/v1/vehicles/*", READERS | API_ROLE_DRIVER, h_vehicle},
    {"GET", "/v1/vehicles/*/plan", READERS | API_ROLE_DRIVER, h_plan},
    {"POST", "/v1/vehicles/*/out-of-service", STAFF, h_out_of_service},
    {"GET", "/v1/shifts", READERS | API_ROLE_DRIVER, h_shifts},
    {"GET", "/v1/stops", ALL_ROLES, h_stops},
    {"GET", "/v1/stops/*", ALL_ROLES, h_stops},
    {"POST", "/v1/tokens", API_ROLE_ADMIN, h_token_create},
    {"POST", "/v1/tokens/*/revoke", API_ROLE_ADMIN, h_token_revoke},
    {"GET", "/v1/driver/ws", API_ROLE_DRIVER, h_driver_ws},
};

#define N_ROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

int rt_is_cancel(const rctx *c)
{
    return c->route >= 0 && routes[c->route].fn == h_cancel;
}

int api_route_count(void)
{
    return N_ROUTES;
}

void api_route_get(int i, const char **method, const char **pattern)
{
    *method = routes[i].method;
    *pattern = routes[i].pattern;
}

/* Matches path against pattern; '*' takes one non-empty segment. */
static int match(const char *pattern, const char *path, rctx *c)
{
    int n = 0;

    while (*pattern && *path) {
        if (*pattern == '*') {
            const char *end = strchr(path, '/');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            if (len == 0 || len >= sizeof(c->param[0]) || n >= 2)
                return 0;
            memcpy(c->param[n], path, len);
            c->param[n][len] = '\0';
            n++;
            path += len;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    if (*pattern || *path)
        return 0;
    c->n_param = n;
    return 1;
}

/* The bearer token; browsers cannot set headers on a WebSocket, so the
 * driver channel also takes it as ?access_token= (RFC 6750 section 2.3). */
static const api_token *authenticate(api_svc *s, const api_http_req *req, int query_ok)
{
    const char *h = api_http_header_get(req, "Authorization");
    char sha[65], q[210];

    if (h == NULL && query_ok && api_http_query_get(req, "access_token", q, sizeof(q)) > 0) {
        area_sha256_hex(q, strlen(q), sha);
        return svc_map_get(&s->tokens, sha);
    }
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) == 0 || strlen(h + 7) > 200)
        return NULL;
    area_sha256_hex(h + 7, strlen(h + 7), sha);
    return svc_map_get(&s->tokens, sha);
}

/* 1 when answered here (replay or conflict). */
static int idem_begin(rctx *c)
{
    const char *key = api_http_header_get(c->req, "Idempotency-Key");
    unsigned char dg[32];
    char sha[65];
    area_sha256 h;
    svc_idem *e;

    if (key == NULL)
        return 0;
    if (area_sha256_init(&h) < 0) {
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return 1;
    }
    area_sha256_update(&h, c->req->method, strlen(c->req->method));
    area_sha256_update(&h, "\n", 1);
    area_sha256_update(&h, c->req->path, strlen(c->req->path));
    area_sha256_update(&h, "\n", 1);
    area_sha256_update(&h, c->req->body, c->req->body_len);
    if (area_sha256_final(&h, dg) < 0) {
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return 1;
    }
    for (int i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", dg[i]);
    switch (svc_idem_begin(c->s->core, c->tok->id, key, sha, &e)) {
    case SVC_IDEM_NEW:
        c->idem = e;
        return 0;
    case SVC_IDEM_REPLAY:
        rt_send_raw(c, e->status, e->body, "Idempotent-Replayed: true\r\n");
        rt_free(c);
        return 1;
    case SVC_IDEM_BUSY:
        rt_err(c, 409, "idempotency_in_progress",
                  "a request with this Idempotency-Key is still being processed");
        return 1;
    case SVC_IDEM_MISMATCH:
        rt_err(c, 422, "idempotency_key_reused",
                  "this Idempotency-Key was used for a different request");
        return 1;
    case SVC_IDEM_INVALID:
        rt_err(c, 400, "invalid_idempotency_key",
                  "Idempotency-Key must be 1..%d characters of UTF-8 text without control "
                  "characters",
                  SVC_IDEM_KEY_MAX_CHARS);
        return 1;
    default:
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return 1;
    }
}

static int hex_digit(int ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* 1 when the decoded path and every decoded byte of the query form UTF-8
 * text without control characters.  Checked once for every route, so no
 * handler hands the store a string it refuses (which once answered 503,
 * and clients retried forever). */
static int path_and_query_are_text(const api_http_req *req)
{
    size_t n = strlen(req->query), k = 0;
    char *buf;
    int ok;

    if (jin_utf8_chars(req->path, strlen(req->path)) < 0 || rt_has_control(req->path))
        return 0;
    if (n == 0)
        return 1;
    if ((buf = malloc(n + 1)) == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (req->query[i] == '%' && i + 2 < n && (hi = hex_digit(req->query[i + 1])) >= 0 &&
            (lo = hex_digit(req->query[i + 2])) >= 0) {
            buf[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            buf[k++] = req->query[i] == '+' ? ' ' : req->query[i];
        }
    }
    buf[k] = '\0';
    ok = strlen(buf) == k && jin_utf8_chars(buf, k) >= 0 && !rt_has_control(buf);
    free(buf);
    return ok;
}

void api_routes_handle(void *ud, api_http_req *req)
{
    api_svc *s = ud;
    rctx *c = calloc(1, sizeof(*c));
    int path_known = 0, found = -1;
    char allow[64] = "";

    if (c == NULL) {
        api_http_respond(req, 500, "application/json",
                         "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 58,
                         NULL);
        return;
    }
    c->s = s;
    c->req = req;
    c->route = -1;
    if (api_web_serve(s, req)) {
        rt_free(c);
        return;
    }
    for (int i = 0; i < N_ROUTES; i++) {
        rctx probe;
        if (!match(routes[i].pattern, req->path, &probe))
            continue;
        path_known = 1;
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", routes[i].method);
        if (strcmp(routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            found = i;
            memcpy(c->param, probe.param, sizeof(c->param));
            c->n_param = probe.n_param;
            break;
        }
    }
    if (found < 0) {
        if (path_known) {
            char hdr[96];
            snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
            rt_reply(c, 405, rt_err_json("method_not_allowed", "this path does not take that method"),
                  hdr);
        } else {
            rt_err(c, 404, "not_found", "no such endpoint");
        }
        return;
    }
    c->route = found;
    if (!path_and_query_are_text(req)) {
        rt_err(c, 400, "invalid_encoding",
                  "the path and query must be UTF-8 text (percent-encoded) without control "
                  "characters");
        return;
    }
    if (!(routes[found].roles & API_ROLE_PUBLIC)) {
        const api_token *t = authenticate(s, req, routes[found].fn == h_driver_ws);
        if (t != NULL) {
            c->tok_copy = *t;
            c->tok = &c->tok_copy;
        }
        if (c->tok == NULL) {
            rt_reply(c, 401, rt_err_json("unauthorized", "a valid bearer token is required"),
                  "WWW-Authenticate: Bearer\r\n");
            return;
        }
        if (!(routes[found].roles & c->tok->role)) {
            rt_err(c, 403, "forbidden", "the %s role may not use this endpoint",
                      api_role_name(c->tok->role));
            return;
        }
        api_set_actor(s, c->tok->id);
    }
    if ((strcmp(req->method, "POST") == 0 || strcmp(req->method, "PATCH") == 0) && idem_begin(c))
        return;
    routes[found].fn(c);
}
