/*
 * routes.c - the /v1 HTTP API: routing, authorisation, JSON in and out.
 *
 * A request goes: route lookup (404 unknown path, 405 known path with
 * another method) -> bearer token (401) -> role allowed on the route (403)
 * -> for POST, the Idempotency-Key (a replay gets the stored answer, a
 * different body under the same key 422, a key still committing 409) ->
 * input validated completely before anything changes (400 malformed, 422
 * well-formed but not acceptable) -> the dispatcher call -> the change
 * committed to the store -> the answer.  Reads of live state answer at
 * once; listings and riders are read from the store.
 *
 * Riders see and change only their own bookings and record; drivers see
 * their own vehicle (its plan, its riders' bookings); planners read.
 * Something a caller may not see is answered 404, like something absent,
 * so ids cannot be probed.
 *
 * Errors are {"error": {"code": "...", "message": "..."}} with stable codes.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "api/server/srv_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/area/sha256.h"

extern const char *const api_doc_texts[]; /* api/openapi.json, built in */

typedef struct rctx rctx;
typedef void (*handler_fn)(rctx *c);

typedef struct route {
    const char *method, *pattern; /* '*' matches one path segment */
    int roles;
    handler_fn fn;
} route;

struct rctx {
    api_svc *s;
    api_http_req *req;
    int route;
    const api_token *tok; /* &tok_copy: the map's entry may be freed by a revoke meanwhile */
    api_token tok_copy;
    char param[2][128];
    int n_param;
    json_t *body;
    /* idempotency */
    api_idem *idem;
    char idem_key[40 + 1 + API_IDEM_KEY_MAX_BYTES + 1]; /* token id \n key */
    /* the answer waiting for its commit */
    int status;
    char *out;
    char extra[160];
    /* a token being created: stored in the map once committed */
    api_token *new_tok;
    char tok_sha[65];
};

#define ALL_ROLES (API_ROLE_ADMIN | API_ROLE_OPERATOR | API_ROLE_RIDER | API_ROLE_DRIVER | API_ROLE_PLANNER)
#define STAFF (API_ROLE_ADMIN | API_ROLE_OPERATOR)
#define READERS (API_ROLE_ADMIN | API_ROLE_OPERATOR | API_ROLE_PLANNER)

/* ------------------------------------------------------------------------ */
/* Answers                                                                  */

static void ctx_free(rctx *c)
{
    free(c->new_tok);
    json_decref(c->body);
    free(c->out);
    free(c);
}

static void record(rctx *c, int status)
{
    api_metrics *m = &c->s->m;
    int cls = status / 100;

    if (c->route >= 0 && c->route < API_N_ROUTES_MAX) {
        m->http_requests[c->route][cls >= 1 && cls <= 5 ? cls - 1 : 5]++;
        api_hist_add(&m->http_latency[c->route],
                     (double)((int64_t)uv_hrtime() - c->req->received_ns) / 1e9);
    }
}

static void send_raw(rctx *c, int status, const char *body, const char *extra)
{
    record(c, status);
    api_http_respond(c->req, status, "application/json", body, strlen(body), extra);
    c->req = NULL;
}

static void idem_drop(rctx *c)
{
    if (c->idem != NULL) {
        api_map_del(&c->s->idem, c->idem_key);
        free(c->idem->body);
        free(c->idem);
        c->idem = NULL;
    }
}

/* Answers with body j (taken) and frees the context. */
static void reply(rctx *c, int status, json_t *j, const char *extra)
{
    char *txt = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    idem_drop(c); /* nothing changed: the key may be used again */
    send_raw(c, status, txt != NULL ? txt : "{}", extra);
    free(txt);
    ctx_free(c);
}

static json_t *err_json(const char *code, const char *msg)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

static void reply_err(rctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_err(rctx *c, int status, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply(c, status, err_json(code, msg), NULL);
}

static void reply_unavailable(rctx *c)
{
    reply_err(c, 503, "store_unavailable",
              "the database is not reachable; nothing was changed, try again shortly");
}

/* The change is made in memory; commit it (with txn's statements, may be
 * NULL), then answer status/j. */
static void commit_then_reply(rctx *c, db_txn *txn, int status, json_t *j, const char *extra);
static void commit_then_reply_cb(rctx *c, db_txn *txn, int status, json_t *j, const char *extra,
                                 api_commit_cb cb);

static void after_commit(void *ud, int rc, const db_result *res, const char *err)
{
    rctx *c = ud;

    (void)res;
    (void)err;
    if (rc < 0) {
        /* The change and its idempotency record stay queued together and
         * are stored by the next commit that succeeds; until then a retry
         * with the same key hears "in progress", afterwards this answer. */
        api_log(API_LOG_WARN, "change not committed yet", "\"error\":\"%s\",\"route\":%d",
                db_strerror(rc), c->route);
        idem_drop(c); /* only set when its record was not queued */
        if (c->req != NULL)
            send_raw(c, 503,
                     "{\"error\":{\"code\":\"store_unavailable\",\"message\":\"the change is "
                     "not stored yet: it will be once the database is back; retry with the same "
                     "Idempotency-Key to get its answer\"}}",
                     NULL);
        ctx_free(c);
        return;
    }
    if (c->idem != NULL)
        c->idem->done = 1;
    c->idem = NULL;
    send_raw(c, c->status, c->out, c->extra[0] ? c->extra : NULL);
    ctx_free(c);
}

static void commit_then_reply(rctx *c, db_txn *txn, int status, json_t *j, const char *extra)
{
    commit_then_reply_cb(c, txn, status, j, extra, after_commit);
}

static void commit_then_reply_cb(rctx *c, db_txn *txn, int status, json_t *j, const char *extra,
                                 api_commit_cb cb)
{
    int own_statements = txn != NULL;

    c->status = status;
    c->out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(c->extra, sizeof(c->extra), "%s", extra ? extra : "");
    if (txn == NULL)
        txn = db_txn_new(c->s->db);
    if (c->out == NULL || txn == NULL) {
        if (txn != NULL)
            db_txn_free(txn);
        idem_drop(c);
        send_raw(c, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", NULL);
        ctx_free(c);
        return;
    }
    if (c->idem != NULL) {
        api_idem *e = c->idem;
        const char *nl = strchr(c->idem_key, '\n');
        e->status = status;
        e->body = strdup(c->out);
        snprintf(e->token_id, sizeof(e->token_id), "%.*s", (int)(nl - c->idem_key), c->idem_key);
        snprintf(e->key, sizeof(e->key), "%s", nl + 1);
        snprintf(e->method, sizeof(e->method), "%s", c->req->method);
        snprintf(e->path, sizeof(e->path), "%s", c->req->path);
        if (e->body == NULL || (!own_statements && api_idem_queue(c->s, e) < 0)) {
            db_txn_free(txn);
            idem_drop(c);
            send_raw(c, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}",
                     NULL);
            ctx_free(c);
            return;
        }
        if (own_statements) {
            /* The caller's statements (a rider, a token) are not kept for
             * a later commit, so neither is their record: it is stored in
             * this transaction or not at all (after_commit). */
            char st[8];
            snprintf(st, sizeof(st), "%d", status);
            const char *p[7] = {e->token_id, e->key, e->method, e->path, e->req_sha, st, c->out};
            db_txn_add(txn,
                       "INSERT INTO idempotency_keys (token_id, key, method, path, "
                       "request_sha256, status, response) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                       7, p);
        }
        if (!own_statements)
            c->idem = NULL; /* the map and the queue have it now */
    }
    api_commit(c->s, txn, cb, c);
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

static int parse_body(rctx *c, int required)
{
    json_error_t je;

    if (c->req->body_len == 0) {
        if (!required) {
            c->body = json_object();
            return 0;
        }
        reply_err(c, 400, "invalid_json", "a JSON object body is required");
        return -1;
    }
    c->body = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (c->body == NULL) {
        reply_err(c, 400, "invalid_json", "body is not valid JSON: %s (line %d, column %d)",
                  je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(c->body)) {
        reply_err(c, 400, "invalid_json", "body must be a JSON object");
        return -1;
    }
    return 0;
}

/* Every key of o is one of names; else 400 naming it. */
static int only_keys(rctx *c, json_t *o, const char *where, const char *const *names)
{
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v) {
        int ok = 0;
        for (int i = 0; names[i] != NULL; i++)
            ok |= strcmp(key, names[i]) == 0;
        if (!ok) {
            reply_err(c, 400, "invalid_field", "%s: unknown field \"%s\"", where, key);
            return -1;
        }
    }
    return 0;
}

/* Number of characters (code points) of the UTF-8 text s[0..len), or -1
 * when it is not valid UTF-8 (overlong forms, surrogates and code points
 * past U+10FFFF are refused too). */
static long text_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;

    while (p < end) {
        unsigned c = *p;
        int more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                              : (c & 0xf8) == 0xf0   ? 3
                                                     : -1;
        uint32_t cp = more == 0 ? c : more == 1 ? c & 0x1f : more == 2 ? c & 0x0f : c & 0x07;
        if (more < 0 || end - p <= more)
            return -1;
        for (int k = 1; k <= more; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        p += more + 1;
        n++;
    }
    return n;
}

/* 1 when s holds a control character (C0 or DEL). */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Optional text field of at most max characters (people count characters,
 * not bytes: 40 characters of Japanese are 120 bytes), without control
 * characters other than newline and tab. */
static int opt_str(rctx *c, json_t *o, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        reply_err(c, 400, "invalid_field", "\"%s\" must be a string", key);
        return -1;
    }
    const char *sv = json_string_value(v);
    long chars = text_chars(sv, json_string_length(v));
    if (chars < 0 || (size_t)chars > max || strlen(sv) != json_string_length(v)) {
        reply_err(c, 400, "invalid_field", "\"%s\" must be text of at most %zu characters", key,
                  max);
        return -1;
    }
    for (const char *p = sv; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
            reply_err(c, 400, "invalid_field", "\"%s\" holds control characters", key);
            return -1;
        }
    *out = sv;
    return 0;
}

/* Optional id field: printable ASCII without spaces, at most max bytes
 * (ids are made by machines and kept in fixed buffers). */
static int opt_id(rctx *c, json_t *o, const char *key, size_t max, const char **out)
{
    if (opt_str(c, o, key, max, out) < 0)
        return -1;
    for (const char *p = *out; p != NULL && *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            reply_err(c, 400, "invalid_field",
                      "\"%s\" must be an id of printable ASCII without spaces", key);
            return -1;
        }
    return 0;
}

static int opt_int(rctx *c, json_t *o, const char *key, int lo, int hi, int *out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        reply_err(c, 400, "invalid_field", "\"%s\" must be a whole number from %d to %d", key, lo,
                  hi);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* A place: {"stop_id": "..."} or {"lat": .., "lon": ..} snapped to the
 * nearest stop within max_snap_m. */
static int parse_place(rctx *c, json_t *o, const char *key, dsp_place *p)
{
    static const char *const keys[] = {"stop_id", "lat", "lon", NULL};
    api_svc *s = c->s;
    json_t *v = json_object_get(o, key), *lat, *lon;
    const char *sid;

    if (v == NULL || !json_is_object(v)) {
        reply_err(c, 400, "invalid_field",
                  "\"%s\" must be an object: {\"stop_id\": \"...\"} or {\"lat\": .., \"lon\": ..}",
                  key);
        return -1;
    }
    if (only_keys(c, v, key, keys) < 0)
        return -1;
    if (opt_id(c, v, "stop_id", 100, &sid) < 0)
        return -1;
    if (sid != NULL) {
        intptr_t k = (intptr_t)api_map_get(&s->stop_ids, sid);
        if (k <= 0) {
            reply_err(c, 422, "unknown_stop", "%s: no stop \"%s\" in this service area", key, sid);
            return -1;
        }
        p->stop = (int)k - 1;
        p->lat = s->area->stops[p->stop].lat;
        p->lon = s->area->stops[p->stop].lon;
        return 0;
    }
    lat = json_object_get(v, "lat");
    lon = json_object_get(v, "lon");
    if (!json_is_number(lat) || !json_is_number(lon) || fabs(json_number_value(lat)) > 90 ||
        fabs(json_number_value(lon)) > 180) {
        reply_err(c, 400, "invalid_field",
                  "%s: give \"stop_id\", or \"lat\" (-90..90) and \"lon\" (-180..180) as numbers",
                  key);
        return -1;
    }
    double dist = 0;
    int k = area_nearest_stop(s->area, json_number_value(lat), json_number_value(lon), &dist);
    if (k < 0 || dist > s->cfg.max_snap_m) {
        reply_err(c, 422, "out_of_area",
                  "%s (%.5f, %.5f) is %.0f m from the nearest stop; the service reaches %.0f m",
                  key, json_number_value(lat), json_number_value(lon), k < 0 ? 0.0 : dist,
                  s->cfg.max_snap_m);
        return -1;
    }
    p->stop = k;
    p->lat = s->area->stops[k].lat;
    p->lon = s->area->stops[k].lon;
    return 0;
}

/* "HH:MM[:SS]" on `date`, or "YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm]" (sets date). */
/*
 * "HH:MM[:SS]" on the request's date, or an ISO 8601 local time
 * "YYYY-MM-DDTHH:MM[:SS]" with an optional offset ("Z", "+09:00"; at most
 * 14 hours, minutes below 60).  With an offset the instant decides: it is
 * converted to the area's zone, and its local date may differ from the
 * string's (23:30-10:00 is the next morning in Tokyo).  0, or -1 answered.
 */
static int parse_when_time(rctx *c, const char *t, char date[11], int *t_s)
{
    if (strlen(t) >= 16 && t[10] == 'T') {
        int y, mo, dd, h, mi, se = 0, n = 0, oh = 0, om = 0, sign = 0;
        char d[32], hm[32];
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &dd, &h, &mi, &n) != 5 || n != 16)
            goto bad;
        if (t[16] == ':') {
            if (!isdigit((unsigned char)t[17]) || !isdigit((unsigned char)t[18]))
                goto bad;
            se = (t[17] - '0') * 10 + (t[18] - '0');
            n = 19;
        }
        const char *z = t + n;
        if (*z == 'Z' && z[1] == '\0') {
            sign = 1;
        } else if ((*z == '+' || *z == '-') && strlen(z) == 6 && isdigit((unsigned char)z[1]) &&
                   isdigit((unsigned char)z[2]) && z[3] == ':' && isdigit((unsigned char)z[4]) &&
                   isdigit((unsigned char)z[5])) {
            sign = *z == '+' ? 1 : -1;
            oh = (z[1] - '0') * 10 + (z[2] - '0');
            om = (z[4] - '0') * 10 + (z[5] - '0');
            if (oh > 14 || om > 59 || (oh == 14 && om > 0))
                goto bad;
        } else if (*z != '\0') {
            goto bad;
        }
        snprintf(d, sizeof(d), "%.10s", t);
        snprintf(hm, sizeof(hm), "%02d:%02d:%02d", h, mi, se);
        if (h > 23 || mi > 59 || se > 59 || api_date_midnight(d) < 0 ||
            dsp_clock_parse(hm, t_s) < 0)
            goto bad;
        if (sign != 0) {
            /* The instant: the reading as if UTC, less the offset; then
             * its date and seconds in the area's zone. */
            struct tm tm = {0};
            tm.tm_year = y - 1900;
            tm.tm_mon = mo - 1;
            tm.tm_mday = dd;
            tm.tm_hour = h;
            tm.tm_min = mi;
            tm.tm_sec = se;
            time_t unix_s = timegm(&tm) - (time_t)sign * (oh * 3600 + om * 60);
            struct tm lt;
            if (localtime_r(&unix_s, &lt) == NULL)
                goto bad;
            snprintf(d, sizeof(d), "%04d-%02d-%02d", lt.tm_year + 1900, lt.tm_mon + 1,
                     lt.tm_mday);
            int64_t mid = api_date_midnight(d);
            if (mid < 0)
                goto bad;
            *t_s = (int)((int64_t)unix_s - mid);
        }
        snprintf(date, 11, "%.10s", d);
        return 0;
    }
    if (dsp_clock_parse(t, t_s) == 0)
        return 0;
bad:
    reply_err(c, 400, "invalid_field",
              "\"time\" must be \"HH:MM\" or an ISO 8601 time \"YYYY-MM-DDTHH:MM[:SS][+09:00]\"");
    return -1;
}

typedef struct trip {
    dsp_request req;
    api_day *day;
    const char *rider;
    const char *notes;
} trip;

/* The trip request of quotes and bookings; 0, or -1 answered. */
static int parse_trip(rctx *c, trip *t, int booking)
{
    static const char *const keys[] = {"rider_id", "pickup",   "dropoff",     "when", "time",
                                       "date",     "passengers", "wheelchairs", "notes", NULL};
    api_svc *s = c->s;
    const char *when = NULL, *time_str = NULL, *date_str = NULL;
    char date[11], today[11];
    int now;

    memset(t, 0, sizeof(*t));
    t->req.passengers = 1;
    if (only_keys(c, c->body, "body", keys) < 0 || opt_id(c, c->body, "rider_id", 39, &t->rider) < 0 ||
        opt_id(c, c->body, "when", 20, &when) < 0 ||
        opt_id(c, c->body, "time", 40, &time_str) < 0 ||
        opt_id(c, c->body, "date", 10, &date_str) < 0 ||
        opt_str(c, c->body, "notes", 250, &t->notes) < 0 ||
        opt_int(c, c->body, "passengers", 1, 20, &t->req.passengers) < 0 ||
        opt_int(c, c->body, "wheelchairs", 0, 20, &t->req.wheelchairs) < 0)
        return -1;
    if (t->req.wheelchairs > t->req.passengers) {
        reply_err(c, 400, "invalid_field", "\"wheelchairs\" cannot exceed \"passengers\"");
        return -1;
    }
    if (parse_place(c, c->body, "pickup", &t->req.pickup) < 0 ||
        parse_place(c, c->body, "dropoff", &t->req.drop) < 0)
        return -1;
    if (t->req.pickup.stop == t->req.drop.stop && t->req.pickup.stop >= 0) {
        reply_err(c, 422, "same_place", "pickup and dropoff are the same stop");
        return -1;
    }
    if (when == NULL || strcmp(when, "asap") == 0)
        t->req.when = DSP_ASAP;
    else if (strcmp(when, "depart_after") == 0)
        t->req.when = DSP_DEPART_AFTER;
    else if (strcmp(when, "arrive_by") == 0)
        t->req.when = DSP_ARRIVE_BY;
    else {
        reply_err(c, 400, "invalid_field", "\"when\" must be asap, depart_after or arrive_by");
        return -1;
    }
    api_today(s, today);
    snprintf(date, sizeof(date), "%s", date_str ? date_str : today);
    if (date_str != NULL && api_date_midnight(date) < 0) {
        reply_err(c, 400, "invalid_field", "\"date\" must be a date YYYY-MM-DD");
        return -1;
    }
    if (t->req.when != DSP_ASAP) {
        if (time_str == NULL) {
            reply_err(c, 400, "missing_field", "\"time\" is required with \"when\": \"%s\"", when);
            return -1;
        }
        if (parse_when_time(c, time_str, date, &t->req.time_s) < 0)
            return -1;
    } else if (time_str != NULL) {
        reply_err(c, 400, "invalid_field", "\"time\" makes no sense with \"when\": \"asap\"");
        return -1;
    }
    if (t->req.when == DSP_ASAP && strcmp(date, today) != 0) {
        reply_err(c, 422, "invalid_time", "\"asap\" is for today (%s) only", today);
        return -1;
    }
    int64_t mid = api_date_midnight(date), mid_today = api_date_midnight(today);
    if (mid < mid_today) {
        reply_err(c, 422, "time_in_past", "%s is in the past", date);
        return -1;
    }
    if (mid > mid_today + (int64_t)s->cfg.max_lead_days * 86400 + 7200) {
        reply_err(c, 422, "too_far_ahead", "bookings are taken up to %d day(s) ahead",
                  s->cfg.max_lead_days);
        return -1;
    }
    now = (int)(api_unix_now(s) - mid);
    if (t->req.when != DSP_ASAP && t->req.time_s < now - 60) {
        reply_err(c, 422, "time_in_past", "the requested time has passed");
        return -1;
    }
    /* Who travels. */
    if (c->tok->role == API_ROLE_RIDER) {
        if (t->rider != NULL && strcmp(t->rider, c->tok->rider_id) != 0) {
            reply_err(c, 403, "forbidden", "riders book for themselves only");
            return -1;
        }
        t->rider = c->tok->rider_id;
    } else if (booking && t->rider == NULL) {
        reply_err(c, 400, "missing_field",
                  "\"rider_id\" is required: register the caller first (POST /v1/riders)");
        return -1;
    }
    if (t->rider != NULL && api_map_get(&s->riders, t->rider) == NULL) {
        reply_err(c, 422, "unknown_rider", "no rider \"%s\"", t->rider);
        return -1;
    }
    /* Everything is checked before the day is opened: a refused request
     * leaves nothing behind. */
    t->day = api_day_get(s, date, 1);
    if (t->day == NULL) {
        reply_err(c, 503, "unavailable", "the service day %s cannot be opened", date);
        return -1;
    }
    return 0;
}

static json_t *option_json(api_svc *s, api_day *d, const dsp_option *o)
{
    char a[40], b[40], l[40], pp[40], pd[40];

    api_day_iso(s, d, o->pickup_from_s, a, sizeof(a));
    api_day_iso(s, d, o->pickup_to_s, b, sizeof(b));
    api_day_iso(s, d, o->latest_dropoff_s, l, sizeof(l));
    api_day_iso(s, d, o->planned_pickup_s, pp, sizeof(pp));
    api_day_iso(s, d, o->planned_dropoff_s, pd, sizeof(pd));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "pickup_from", a, "pickup_to", b,
                     "latest_dropoff", l, "planned_pickup", pp, "planned_dropoff", pd,
                     "pickup_from_s", o->pickup_from_s, "pickup_to_s", o->pickup_to_s,
                     "latest_dropoff_s", o->latest_dropoff_s, "planned_pickup_s",
                     o->planned_pickup_s, "planned_dropoff_s", o->planned_dropoff_s);
}

static int store_down(rctx *c)
{
    if (!db_ready(c->s->db)) {
        reply_unavailable(c);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Quotes and bookings                                                      */

static void h_quote(rctx *c)
{
    trip t;
    dsp_offer off;
    uint64_t t0;
    int rc;

    if (parse_body(c, 1) < 0 || parse_trip(c, &t, 0) < 0)
        return;
    t0 = uv_hrtime();
    rc = dsp_request_offer(t.day->dsp, api_day_now(c->s, t.day), &t.req, 0, &off);
    api_hist_add(&c->s->m.offer_latency, (double)(uv_hrtime() - t0) / 1e9);
    c->s->m.quotes++;
    if (rc < 0) {
        reply_err(c, 422, "invalid_request", "%s", dsp_strerror(rc));
        return;
    }
    json_t *opts = json_array();
    if (off.ok)
        json_array_append_new(opts, option_json(c->s, t.day, &off.option));
    for (int i = 0; i < off.n_alts; i++)
        json_array_append_new(opts, option_json(c->s, t.day, &off.alts[i]));
    reply(c, 200,
          json_pack("{s:s,s:b,s:o,s:s}", "date", t.day->date, "available", off.ok, "options", opts,
                    "reason", off.ok ? "" : dsp_reason_name(off.reason)),
          NULL);
}

static void h_book(rctx *c)
{
    trip t;
    dsp_offer off;
    api_bk *b;
    uint64_t t0;
    int rc;

    if (parse_body(c, 1) < 0 || parse_trip(c, &t, 1) < 0 || store_down(c))
        return;
    t0 = uv_hrtime();
    rc = dsp_request_offer(t.day->dsp, api_day_now(c->s, t.day), &t.req, 1, &off);
    api_hist_add(&c->s->m.offer_latency, (double)(uv_hrtime() - t0) / 1e9);
    c->s->m.offers++;
    if (rc < 0) {
        reply_err(c, 422, "invalid_request", "%s", dsp_strerror(rc));
        return;
    }
    b = api_bk_new(c->s, t.day, off.booking, t.rider, t.notes);
    if (b == NULL) {
        if (off.ok)
            dsp_cancel(t.day->dsp, api_day_now(c->s, t.day), off.booking, "internal");
        reply_err(c, 503, "unavailable",
                  "the booking could not be recorded (out of memory or no randomness for its "
                  "id); nothing was booked, try again shortly");
        return;
    }
    if (off.ok) {
        char loc[80];
        snprintf(loc, sizeof(loc), "Location: /v1/bookings/%s\r\n", b->id);
        commit_then_reply(c, NULL, 201, api_bk_json(c->s, b), loc);
        return;
    }
    if ((int)off.reason < 8)
        c->s->m.offers_rejected[off.reason]++;
    json_t *alts = json_array();
    for (int i = 0; i < off.n_alts; i++)
        json_array_append_new(alts, option_json(c->s, t.day, &off.alts[i]));
    char msg[200];
    snprintf(msg, sizeof(msg), "no van can take this trip (%s)%s", dsp_reason_name(off.reason),
             off.n_alts ? "; other times that fit are listed" : "");
    commit_then_reply(c, NULL, 409,
                      json_pack("{s:{s:s,s:s,s:s,s:s,s:o}}", "error", "code", "no_availability",
                                "message", msg, "reason", dsp_reason_name(off.reason), "booking_id",
                                b->id, "alternatives", alts),
                      NULL);
}

/* The live booking c->param[0] the caller may see, or NULL (answered 404
 * unless *in_store says to look in the store). */
static api_bk *visible_booking(rctx *c)
{
    api_bk *b = api_map_get(&c->s->bookings, c->param[0]);

    if (b == NULL)
        return NULL;
    if (c->tok->role == API_ROLE_RIDER && strcmp(b->rider_id, c->tok->rider_id) != 0)
        return NULL;
    if (c->tok->role == API_ROLE_DRIVER) {
        dsp_booking_info bi;
        api_day *d = &c->s->days[b->day];
        if (dsp_booking_get(d->dsp, b->idx, &bi) < 0 ||
            strcmp(api_vehicle_id(c->s, bi.vehicle), c->tok->vehicle_id) != 0)
            return NULL;
    }
    return b;
}

/* Stored booking rows as JSON. */
#define BK_COLS                                                                                    \
    "id, service_date::text, status, rider_id, created_by, pickup_stop, pickup_lat, pickup_lon, " \
    "drop_stop, drop_lat, drop_lon, when_kind, time_s, passengers, wheelchairs, requested_s, "     \
    "promise_from_s, promise_to_s, latest_dropoff_s, vehicle_id, planned_pickup_s, "               \
    "planned_dropoff_s, pickup_s, dropoff_s, reason, notes, attention"

static json_t *row_place(const db_result *r, int row, int c0)
{
    const char *stop = db_result_value(r, 0, row, c0);
    json_t *o = json_object();

    if (stop != NULL)
        json_object_set_new(o, "stop_id", json_string(stop));
    json_object_set_new(o, "lat", json_real(atof(db_result_value(r, 0, row, c0 + 1))));
    json_object_set_new(o, "lon", json_real(atof(db_result_value(r, 0, row, c0 + 2))));
    return o;
}

static json_t *row_booking_json(const db_result *r, int row)
{
    static const struct {
        int col;
        const char *key;
    } times[] = {{12, "time"},          {15, "requested"},       {16, "pickup_from"},
                 {17, "pickup_to"},     {18, "latest_dropoff"},  {20, "planned_pickup"},
                 {21, "planned_dropoff"}, {22, "picked_up"},     {23, "dropped_off"}};
    const char *date = db_result_value(r, 0, row, 1);
    json_t *o = json_object();
    const char *v;

    json_object_set_new(o, "id", json_string(db_result_value(r, 0, row, 0)));
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "status", json_string(db_result_value(r, 0, row, 2)));
    v = db_result_value(r, 0, row, 3);
    json_object_set_new(o, "rider_id", v ? json_string(v) : json_null());
    json_object_set_new(o, "created_by", json_string(db_result_value(r, 0, row, 4)));
    json_object_set_new(o, "pickup", row_place(r, row, 5));
    json_object_set_new(o, "dropoff", row_place(r, row, 8));
    json_object_set_new(o, "when", json_string(db_result_value(r, 0, row, 11)));
    json_object_set_new(o, "passengers", json_integer(atoi(db_result_value(r, 0, row, 13))));
    json_object_set_new(o, "wheelchairs", json_integer(atoi(db_result_value(r, 0, row, 14))));
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char iso[40], key_s[40];
        v = db_result_value(r, 0, row, times[i].col);
        snprintf(key_s, sizeof(key_s), "%s_s", times[i].key);
        if (v == NULL || api_date_iso(date, atoi(v), iso, sizeof(iso)) < 0) {
            json_object_set_new(o, times[i].key, json_null());
            json_object_set_new(o, key_s, json_null());
        } else {
            json_object_set_new(o, times[i].key, json_string(iso));
            json_object_set_new(o, key_s, json_integer(atoi(v)));
        }
    }
    v = db_result_value(r, 0, row, 19);
    json_object_set_new(o, "vehicle_id", v ? json_string(v) : json_null());
    json_object_set_new(o, "reason", json_string(db_result_value(r, 0, row, 24)));
    json_object_set_new(o, "notes", json_string(db_result_value(r, 0, row, 25)));
    v = db_result_value(r, 0, row, 26);
    json_object_set_new(o, "needs_attention", json_boolean(v != NULL));
    json_object_set_new(o, "attention", v ? json_string(v) : json_null());
    return o;
}

static int routes_fn_is_cancel(const rctx *c);

/* A confirmed booking that no van could take after a restart lives only in
 * the store: cancelling it is a change of the row and one event, committed
 * before the answer like any other. */
static void cancel_unplanned(rctx *c, const db_result *r)
{
    const char *why = NULL;
    char key[64], ts[16];
    db_txn *txn;
    json_t *j;

    if (json_is_object(c->body))
        why = json_string_value(json_object_get(c->body, "reason"));
    if (why == NULL)
        why = c->tok->role == API_ROLE_RIDER ? "" : "operator";
    if (api_random_id("ca_", key, sizeof(key)) < 0) {
        reply_err(c, 503, "unavailable", "no randomness for the event's key; try again shortly");
        return;
    }
    snprintf(ts, sizeof(ts), "%d", (int)(api_unix_now(c->s) - api_date_midnight(
                                                                 db_result_value(r, 0, 0, 1))));
    const char *p[6] = {c->param[0], db_result_value(r, 0, 0, 2), why, c->tok->id, key, ts};
    txn = db_txn_new(c->s->db);
    if (txn == NULL ||
        db_txn_add(txn,
                   "WITH u AS (UPDATE bookings SET status = 'cancelled', attention = NULL, "
                   "reason = $3, updated_at = now() WHERE id = $1 AND status = $2 "
                   "RETURNING id, service_date) INSERT INTO booking_events (booking_id, "
                   "service_date, time_s, kind, from_status, to_status, vehicle_id, detail, "
                   "actor, event_key) SELECT id, service_date, $6::int, 'status', $2, "
                   "'cancelled', NULL, $3, $4, $5 FROM u",
                   6, p) < 0) {
        if (txn != NULL)
            db_txn_free(txn);
        reply_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return;
    }
    j = row_booking_json(r, 0);
    json_object_set_new(j, "status", json_string("cancelled"));
    json_object_set_new(j, "needs_attention", json_false());
    json_object_set_new(j, "attention", json_null());
    json_object_set_new(j, "reason", json_string(why));
    c->s->m.cancels++;
    commit_then_reply(c, txn, 200, j, NULL);
}

static void got_stored_booking(void *ud, int rc, const db_result *r, const char *err)
{
    rctx *c = ud;

    (void)err;
    if (rc < 0) {
        reply_unavailable(c);
        return;
    }
    if (db_result_rows(r, 0) == 0) {
        reply_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        return;
    }
    const char *rider = db_result_value(r, 0, 0, 3), *veh = db_result_value(r, 0, 0, 19);
    if ((c->tok->role == API_ROLE_RIDER && (rider == NULL || strcmp(rider, c->tok->rider_id))) ||
        (c->tok->role == API_ROLE_DRIVER && (veh == NULL || strcmp(veh, c->tok->vehicle_id)))) {
        reply_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        return;
    }
    if (strcmp(c->req->method, "POST") == 0) {
        const char *status = db_result_value(r, 0, 0, 2), *attention = db_result_value(r, 0, 0, 26);
        if (routes_fn_is_cancel(c) && attention != NULL &&
            (strcmp(status, "confirmed") == 0 || strcmp(status, "assigned") == 0)) {
            cancel_unplanned(c, r);
            return;
        }
        reply_err(c, 409, "invalid_state", "booking %s is %s and can no longer change",
                  c->param[0], status);
        return;
    }
    reply(c, 200, row_booking_json(r, 0), NULL);
}

/* Not live: look in the store (finished bookings of earlier days). */
static void stored_booking(rctx *c)
{
    const char *p[1] = {c->param[0]};
    db_txn *t;

    if (store_down(c))
        return;
    t = db_txn_new(c->s->db);
    if (t == NULL || db_txn_add(t, "SELECT " BK_COLS " FROM bookings WHERE id = $1", 1, p) < 0) {
        if (t)
            db_txn_free(t);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    db_txn_set_readonly(t);
    db_txn_submit(t, got_stored_booking, c);
}

static void h_booking_get(rctx *c)
{
    api_bk *b = visible_booking(c);

    if (b == NULL) {
        if (api_map_get(&c->s->bookings, c->param[0]) != NULL) {
            reply_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
            return;
        }
        stored_booking(c);
        return;
    }
    reply(c, 200, api_bk_json(c->s, b), NULL);
}

/* The live booking a change is asked for, with its day and state; NULL
 * when answered here (404, a stored booking that can no longer change, or
 * the store down). */
static api_bk *booking_to_change(rctx *c, api_day **d, dsp_booking_info *bi)
{
    api_bk *b = visible_booking(c);

    if (b == NULL) {
        if (api_map_get(&c->s->bookings, c->param[0]) != NULL)
            reply_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        else
            stored_booking(c);
        return NULL;
    }
    if (store_down(c))
        return NULL;
    *d = &c->s->days[b->day];
    dsp_booking_get((*d)->dsp, b->idx, bi);
    return b;
}

/* After the commit of answer_settled: 200 only if the booking's change is
 * stored by now; a commit before ours that failed has put it back into
 * the queue. */
static void settled_committed(void *ud, int rc, const db_result *res, const char *err)
{
    rctx *c = ud;
    api_bk *b = api_map_get(&c->s->bookings, c->param[0]);

    if (rc == 0 && (b == NULL || api_bk_unstored(c->s, b)))
        rc = DB_EUNAVAIL;
    after_commit(ud, rc, res, err);
}

/* The booking already has the state asked for.  That answer may come from
 * memory only once the change that made it is stored (it may be queued
 * behind a database outage, or its commit still in flight). */
static void answer_settled(rctx *c, api_bk *b)
{
    if (!api_bk_unstored(c->s, b)) {
        reply(c, 200, api_bk_json(c->s, b), NULL);
        return;
    }
    idem_drop(c); /* nothing of its own to record: a retry asks again */
    commit_then_reply_cb(c, NULL, 200, api_bk_json(c->s, b), NULL, settled_committed);
}

static void h_confirm(rctx *c)
{
    dsp_booking_info bi;
    api_day *d;
    api_bk *b;
    int rc;

    if ((b = booking_to_change(c, &d, &bi)) == NULL)
        return;
    if (bi.status == DSP_CONFIRMED || bi.status == DSP_ASSIGNED) {
        answer_settled(c, b); /* already: confirming is idempotent */
        return;
    }
    rc = dsp_confirm(d->dsp, api_day_now(c->s, d), b->idx);
    if (rc < 0) {
        api_svc *s = c->s; /* c is freed by the answer */
        dsp_booking_get(d->dsp, b->idx, &bi);
        /* An expiry found on the way is a change of its own. */
        if (s->n_evq > 0 && db_ready(s->db))
            api_commit(s, NULL, NULL, NULL);
        if (bi.status == DSP_EXPIRED)
            reply_err(c, 409, "offer_expired", "the offer of booking %s has expired; ask again",
                      b->id);
        else
            reply_err(c, 409, "invalid_state", "booking %s is %s and cannot be confirmed", b->id,
                      dsp_status_name(bi.status));
        return;
    }
    c->s->m.confirms++;
    commit_then_reply(c, NULL, 200, api_bk_json(c->s, b), NULL);
}

static void h_cancel(rctx *c)
{
    static const char *const keys[] = {"reason", NULL};
    api_bk *b;
    dsp_booking_info bi;
    const char *why = NULL;
    api_day *d;
    int rc;

    if (parse_body(c, 0) < 0 || only_keys(c, c->body, "body", keys) < 0 ||
        opt_str(c, c->body, "reason", 40, &why) < 0 || (b = booking_to_change(c, &d, &bi)) == NULL)
        return;
    if (bi.status == DSP_CANCELLED) {
        answer_settled(c, b);
        return;
    }
    rc = dsp_cancel(d->dsp, api_day_now(c->s, d), b->idx,
                    why ? why : c->tok->role == API_ROLE_RIDER ? "" : "operator");
    if (rc < 0) {
        reply_err(c, 409, "invalid_state", "booking %s is %s and cannot be cancelled", b->id,
                  dsp_status_name(bi.status));
        return;
    }
    c->s->m.cancels++;
    commit_then_reply(c, NULL, 200, api_bk_json(c->s, b), NULL);
}

static void got_list(void *ud, int rc, const db_result *r, const char *err)
{
    rctx *c = ud;
    json_t *arr;
    int n, limit = c->status;

    (void)err;
    if (rc < 0) {
        reply_unavailable(c);
        return;
    }
    n = db_result_rows(r, 0);
    arr = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(arr, row_booking_json(r, i));
    reply(c, 200,
          json_pack("{s:o,s:o}", "bookings", arr, "next_cursor",
                    n > limit ? json_string(db_result_value(r, 0, limit - 1, 0)) : json_null()),
          NULL);
}

static void h_bookings_list(rctx *c)
{
    char rider[64] = "", date[16] = "", status[24] = "", cursor[64] = "", lim[8] = "",
         attention[8] = "";
    int limit = 50;
    const char *p[6];
    db_txn *t;

    if (api_http_query_get(c->req, "rider", rider, sizeof(rider)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "date", date, sizeof(date)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "status", status, sizeof(status)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "cursor", cursor, sizeof(cursor)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "limit", lim, sizeof(lim)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "needs_attention", attention, sizeof(attention)) ==
            API_HTTP_EINVAL) {
        reply_err(c, 400, "invalid_query", "a query parameter is malformed or too long");
        return;
    }
    if (date[0] && api_date_midnight(date) < 0) {
        reply_err(c, 400, "invalid_query", "date must be YYYY-MM-DD");
        return;
    }
    if (attention[0] && strcmp(attention, "true") != 0 && strcmp(attention, "false") != 0) {
        reply_err(c, 400, "invalid_query", "needs_attention must be true or false");
        return;
    }
    if (status[0] && dsp_status_parse(status) < 0) {
        reply_err(c, 400, "invalid_query", "unknown status \"%s\"", status);
        return;
    }
    if (lim[0]) {
        char *end;
        long l = strtol(lim, &end, 10);
        if (*end != '\0' || l < 1 || l > 200) {
            reply_err(c, 400, "invalid_query", "limit must be 1..200");
            return;
        }
        limit = (int)l;
    }
    if (c->tok->role == API_ROLE_RIDER) {
        if (rider[0] && strcmp(rider, c->tok->rider_id) != 0) {
            reply_err(c, 403, "forbidden", "riders list their own bookings only");
            return;
        }
        snprintf(rider, sizeof(rider), "%s", c->tok->rider_id);
    }
    if (store_down(c))
        return;
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    p[0] = rider[0] ? rider : NULL;
    p[1] = date[0] ? date : NULL;
    p[2] = status[0] ? status : NULL;
    p[3] = cursor[0] ? cursor : NULL;
    p[4] = lim;
    p[5] = attention[0] ? attention : NULL;
    c->status = limit;
    t = db_txn_new(c->s->db);
    if (t == NULL ||
        db_txn_add(t,
                   "SELECT " BK_COLS " FROM bookings WHERE ($1::text IS NULL OR rider_id = $1) "
                   "AND ($2::date IS NULL OR service_date = $2::date) AND ($3::text IS NULL OR "
                   "status = $3) AND ($4::text IS NULL OR id > $4) AND ($6::boolean IS NULL OR "
                   "(attention IS NOT NULL) = $6::boolean) ORDER BY id LIMIT $5::int",
                   6, p) < 0) {
        if (t)
            db_txn_free(t);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    db_txn_set_readonly(t);
    db_txn_submit(t, got_list, c);
}

/* ------------------------------------------------------------------------ */
/* Riders                                                                   */

#define RIDER_COLS                                                                                 \
    "id, name, name_kana, phone, home_address, home_stop, home_lat, home_lon, wheelchair, "        \
    "mobility, notes"

static json_t *row_rider_json(const db_result *r, int row)
{
    const char *v;
    json_t *o = json_object();
    static const char *const keys[] = {"id",         "name",         "name_kana", "phone",
                                       "home_address", "home_stop_id"};

    for (int i = 0; i < 6; i++) {
        v = db_result_value(r, 0, row, i);
        json_object_set_new(o, keys[i], v ? json_string(v) : json_null());
    }
    v = db_result_value(r, 0, row, 6);
    json_object_set_new(o, "home_lat", v ? json_real(atof(v)) : json_null());
    v = db_result_value(r, 0, row, 7);
    json_object_set_new(o, "home_lon", v ? json_real(atof(v)) : json_null());
    v = db_result_value(r, 0, row, 8);
    json_object_set_new(o, "wheelchair", json_boolean(v && v[0] == 't'));
    json_object_set_new(o, "mobility", json_string(db_result_value(r, 0, row, 9)));
    json_object_set_new(o, "notes", json_string(db_result_value(r, 0, row, 10)));
    return o;
}

static void rider_committed(void *ud, int rc, const db_result *res, const char *err)
{
    rctx *c = ud;

    if (rc == 0) {
        json_t *j = json_loads(c->out, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id != NULL)
            api_map_put(&c->s->riders, id, (void *)1);
        json_decref(j);
    }
    after_commit(ud, rc, res, err);
}

static void h_rider_create(rctx *c)
{
    static const char *const keys[] = {"name",      "name_kana", "phone",    "home_address",
                                       "home_stop_id", "home_lat", "home_lon", "wheelchair",
                                       "mobility",  "notes",     NULL};
    const char *name, *kana, *phone, *addr, *stop, *mob, *notes;
    char id[40], digits[40], lat[32] = "", lon[32] = "";
    json_t *w, *la, *lo;
    size_t k = 0;
    db_txn *t;

    if (parse_body(c, 1) < 0 || only_keys(c, c->body, "body", keys) < 0 ||
        opt_str(c, c->body, "name", 100, &name) < 0 ||
        opt_str(c, c->body, "name_kana", 100, &kana) < 0 ||
        opt_str(c, c->body, "phone", 30, &phone) < 0 ||
        opt_str(c, c->body, "home_address", 200, &addr) < 0 ||
        opt_id(c, c->body, "home_stop_id", 100, &stop) < 0 ||
        opt_str(c, c->body, "mobility", 200, &mob) < 0 ||
        opt_str(c, c->body, "notes", 500, &notes) < 0)
        return;
    if (name == NULL || name[0] == '\0') {
        reply_err(c, 400, "missing_field", "\"name\" is required");
        return;
    }
    if (stop != NULL && api_map_get(&c->s->stop_ids, stop) == NULL) {
        reply_err(c, 422, "unknown_stop", "no stop \"%s\" in this service area", stop);
        return;
    }
    w = json_object_get(c->body, "wheelchair");
    if (w != NULL && !json_is_boolean(w)) {
        reply_err(c, 400, "invalid_field", "\"wheelchair\" must be true or false");
        return;
    }
    la = json_object_get(c->body, "home_lat");
    lo = json_object_get(c->body, "home_lon");
    if ((la != NULL) != (lo != NULL) ||
        (la != NULL && (!json_is_number(la) || !json_is_number(lo) ||
                        fabs(json_number_value(la)) > 90 || fabs(json_number_value(lo)) > 180))) {
        reply_err(c, 400, "invalid_field", "\"home_lat\" and \"home_lon\" go together, as numbers");
        return;
    }
    if (la != NULL) {
        snprintf(lat, sizeof(lat), "%.7f", json_number_value(la));
        snprintf(lon, sizeof(lon), "%.7f", json_number_value(lo));
    }
    for (const char *p = phone ? phone : ""; *p && k + 1 < sizeof(digits); p++)
        if (isdigit((unsigned char)*p))
            digits[k++] = *p;
    digits[k] = '\0';
    if (store_down(c))
        return;
    if (api_random_id("r_", id, 15) < 0) {
        reply_err(c, 503, "unavailable",
                  "no randomness for the rider's id; nothing was created, try again shortly");
        return;
    }
    const char *p[12] = {id,          name,           kana ? kana : "",   phone ? phone : "",
                         digits,      addr ? addr : "", stop,            lat[0] ? lat : NULL,
                         lat[0] ? lon : NULL, json_is_true(w) ? "true" : "false", mob ? mob : "",
                         notes ? notes : ""};
    t = db_txn_new(c->s->db);
    if (t == NULL ||
        db_txn_add(t,
                   "INSERT INTO riders (id, name, name_kana, phone, phone_digits, home_address, "
                   "home_stop, home_lat, home_lon, wheelchair, mobility, notes) VALUES ($1,$2,$3,"
                   "$4,$5,$6,$7,$8::float8,$9::float8,$10::boolean,$11,$12)",
                   12, p) < 0) {
        if (t)
            db_txn_free(t);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:s,s:s}", "id", id, "name", name,
                          "name_kana", p[2], "phone", p[3], "home_address", p[5], "home_stop_id",
                          stop ? json_string(stop) : json_null(), "home_lat",
                          la ? json_real(json_number_value(la)) : json_null(), "home_lon",
                          lo ? json_real(json_number_value(lo)) : json_null(), "wheelchair",
                          json_is_true(w), "mobility", p[10], "notes", p[11]);
    char loc[80];
    snprintf(loc, sizeof(loc), "Location: /v1/riders/%s\r\n", id);
    commit_then_reply_cb(c, t, 201, j, loc, rider_committed);
}

static void got_riders(void *ud, int rc, const db_result *r, const char *err)
{
    rctx *c = ud;
    int single = c->n_param > 0;

    (void)err;
    if (rc < 0) {
        reply_unavailable(c);
        return;
    }
    if (single) {
        if (db_result_rows(r, 0) == 0)
            reply_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
        else
            reply(c, 200, row_rider_json(r, 0), NULL);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < db_result_rows(r, 0); i++)
        json_array_append_new(arr, row_rider_json(r, i));
    reply(c, 200, json_pack("{s:o}", "riders", arr), NULL);
}

static void h_riders(rctx *c)
{
    char phone[64] = "", name[128] = "", digits[64], pat[140] = "";
    const char *p[2];
    size_t k = 0;
    db_txn *t;

    if (c->n_param > 0) {
        if (c->tok->role == API_ROLE_RIDER && strcmp(c->param[0], c->tok->rider_id) != 0) {
            reply_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
            return;
        }
    } else if (api_http_query_get(c->req, "phone", phone, sizeof(phone)) == API_HTTP_EINVAL ||
               api_http_query_get(c->req, "name", name, sizeof(name)) == API_HTTP_EINVAL) {
        reply_err(c, 400, "invalid_query", "phone or name is malformed or too long");
        return;
    }
    for (const char *q = phone; *q && k + 1 < sizeof(digits); q++)
        if (isdigit((unsigned char)*q))
            digits[k++] = *q;
    digits[k] = '\0';
    if (c->n_param == 0 && digits[0] == '\0' && name[0] == '\0') {
        reply_err(c, 400, "invalid_query", "search by phone=... (digits) or name=...");
        return;
    }
    if (store_down(c))
        return;
    t = db_txn_new(c->s->db);
    if (t == NULL) {
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    if (c->n_param > 0) {
        p[0] = c->param[0];
        db_txn_add(t, "SELECT " RIDER_COLS " FROM riders WHERE id = $1", 1, p);
    } else {
        /* LIKE wildcards in the input are taken literally. */
        size_t n = 0;
        for (const char *q = name; *q && n + 3 < sizeof(pat); q++) {
            if (*q == '%' || *q == '_' || *q == '\\')
                pat[n++] = '\\';
            pat[n++] = *q;
        }
        pat[n] = '\0';
        p[0] = digits[0] ? digits : NULL;
        p[1] = pat[0] ? pat : NULL;
        db_txn_add(t,
                   "SELECT " RIDER_COLS " FROM riders WHERE ($1::text IS NULL OR phone_digits "
                   "LIKE '%' || $1 || '%') AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%' "
                   "OR name_kana LIKE '%' || $2 || '%') ORDER BY name_kana, name, id LIMIT 50",
                   2, p);
    }
    db_txn_set_readonly(t);
    db_txn_submit(t, got_riders, c);
}

/* ------------------------------------------------------------------------ */
/* Vehicles, shifts, stops, tokens, health                                  */

static api_day *query_day(rctx *c)
{
    char date[16] = "";

    if (api_http_query_get(c->req, "date", date, sizeof(date)) == API_HTTP_EINVAL ||
        (date[0] && api_date_midnight(date) < 0)) {
        reply_err(c, 400, "invalid_query", "date must be YYYY-MM-DD");
        return NULL;
    }
    if (!date[0])
        api_today(c->s, date);
    api_day *d = api_day_get(c->s, date, 1);
    if (d == NULL)
        reply_err(c, 404, "not_found", "no live service day %s (today up to %d day(s) ahead)",
                  date, c->s->cfg.max_lead_days);
    return d;
}

static int own_vehicle(rctx *c, int *v)
{
    *v = api_vehicle_index(c->s, c->param[0]);
    if (*v < 0 ||
        (c->tok->role == API_ROLE_DRIVER && strcmp(c->tok->vehicle_id, c->param[0]) != 0)) {
        reply_err(c, 404, "not_found", "no vehicle \"%s\"", c->param[0]);
        return -1;
    }
    return 0;
}

static json_t *vehicle_json(rctx *c, api_day *d, int v)
{
    const api_fleet_def *f = &c->s->cfg.vehicles[v];
    dsp_vehicle_info vi;
    json_t *cf = json_array(), *br = json_array();
    char a[40], b[40];

    dsp_vehicle_get(d->dsp, v, &vi);
    for (int k = 0; k < f->n_configs; k++)
        json_array_append_new(cf, json_pack("{s:i,s:i}", "seats", f->seats[k], "wheelchairs",
                                            f->wheelchairs[k]));
    for (int k = 0; k < f->n_breaks; k++) {
        char e[40], l[40];
        api_day_iso(c->s, d, f->break_earliest_s[k], e, sizeof(e));
        api_day_iso(c->s, d, f->break_latest_s[k], l, sizeof(l));
        json_array_append_new(br, json_pack("{s:s,s:s,s:i}", "earliest", e, "latest", l,
                                            "duration_s", f->break_duration_s[k]));
    }
    api_day_iso(c->s, d, vi.shift_start_s, a, sizeof(a));
    api_day_iso(c->s, d, vi.shift_end_s, b, sizeof(b));
    return json_pack("{s:s,s:s,s:o,s:b,s:{s:s,s:s,s:o},s:o,s:i,s:i,s:I}", "id", f->id, "date",
                     d->date, "configs", cf, "in_service", vi.in_service, "shift", "start", a,
                     "end", b, "breaks", br, "depot",
                     json_pack("{s:f,s:f}", "lat", vi.depot.lat, "lon", vi.depot.lon),
                     "n_stops", vi.n_stops, "onboard", vi.n_onboard, "seq",
                     (json_int_t)(d->seq_base[v] + vi.version));
}

/* Drivers see their own vehicle only. */
static int vehicle_visible(const rctx *c, int v)
{
    return c->tok->role != API_ROLE_DRIVER ||
           strcmp(c->tok->vehicle_id, c->s->cfg.vehicles[v].id) == 0;
}

static void h_vehicles(rctx *c)
{
    api_day *d = query_day(c);
    json_t *arr;

    if (d == NULL)
        return;
    arr = json_array();
    for (int v = 0; v < c->s->cfg.n_vehicles; v++)
        if (vehicle_visible(c, v))
            json_array_append_new(arr, vehicle_json(c, d, v));
    reply(c, 200, json_pack("{s:o}", "vehicles", arr), NULL);
}

static void h_vehicle(rctx *c)
{
    int v;
    api_day *d;

    if (own_vehicle(c, &v) < 0 || (d = query_day(c)) == NULL)
        return;
    reply(c, 200, vehicle_json(c, d, v), NULL);
}

static void h_plan(rctx *c)
{
    int v;
    api_day *d;

    if (own_vehicle(c, &v) < 0 || (d = query_day(c)) == NULL)
        return;
    reply(c, 200, api_plan_json(c->s, d, v), NULL);
}

static void h_out_of_service(rctx *c)
{
    int v;
    api_day *d;
    char today[11];

    static const char *const keys[] = {"reason", NULL};
    const char *why;

    if (parse_body(c, 0) < 0 || only_keys(c, c->body, "body", keys) < 0 ||
        opt_str(c, c->body, "reason", 200, &why) < 0 || own_vehicle(c, &v) < 0 || store_down(c))
        return;
    api_today(c->s, today);
    if ((d = api_day_get(c->s, today, 1)) == NULL) {
        reply_err(c, 503, "unavailable", "today's service day cannot be opened");
        return;
    }
    /* Who rode or was to ride with it, to say what became of them. */
    int64_t n_bk = dsp_n_bookings(d->dsp), *had = malloc((size_t)(n_bk + 1) * sizeof(*had));
    int n_had = 0;
    if (had == NULL) {
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    for (int64_t i = 0; i < n_bk && i < d->cap_idx; i++) {
        dsp_booking_info bi;
        if (d->by_idx[i] != NULL && dsp_booking_get(d->dsp, i, &bi) == 0 && bi.vehicle == v &&
            bi.status >= DSP_OFFERED && bi.status <= DSP_PICKED_UP)
            had[n_had++] = i;
    }
    if (dsp_vehicle_out_of_service(d->dsp, api_day_now(c->s, d), v) < 0) {
        free(had);
        reply_err(c, 409, "invalid_state", "vehicle %s is already out of service", c->param[0]);
        return;
    }
    json_t *moved = json_array(), *lost = json_array();
    for (int i = 0; i < n_had; i++) {
        dsp_booking_info bi;
        dsp_booking_get(d->dsp, had[i], &bi);
        json_t *id = json_string(d->by_idx[had[i]]->id);
        if (bi.vehicle >= 0 && bi.vehicle != v && bi.status != DSP_CANCELLED)
            json_array_append_new(moved, json_pack("{s:o,s:s}", "booking_id", id, "vehicle_id",
                                                   api_vehicle_id(c->s, bi.vehicle)));
        else
            json_array_append_new(lost, json_pack("{s:o,s:s}", "booking_id", id, "status",
                                                  dsp_status_name(bi.status)));
    }
    free(had);
    /* Stored with the change, so a restart keeps the van out today. */
    db_txn *t = db_txn_new(c->s->db);
    const char *up[2] = {c->param[0], d->date};
    if (t == NULL || db_txn_add(t, "UPDATE vehicles SET out_of_service_on = $2::date WHERE id = $1",
                                2, up) < 0) {
        if (t != NULL)
            db_txn_free(t);
        json_decref(moved);
        json_decref(lost);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    commit_then_reply(c, t, 200,
                      json_pack("{s:s,s:b,s:o,s:o}", "vehicle_id", c->param[0], "in_service", 0,
                                "moved", moved, "not_kept", lost),
                      NULL);
}

static void h_shifts(rctx *c)
{
    api_day *d = query_day(c);
    json_t *arr;

    if (d == NULL)
        return;
    arr = json_array();
    for (int v = 0; v < c->s->cfg.n_vehicles; v++) {
        const api_fleet_def *f = &c->s->cfg.vehicles[v];
        char a[40], b[40];
        if (!vehicle_visible(c, v))
            continue;
        api_day_iso(c->s, d, f->shift_start_s, a, sizeof(a));
        api_day_iso(c->s, d, f->shift_end_s, b, sizeof(b));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:i}", "vehicle_id", f->id, "date",
                                             d->date, "start", a, "end", b, "breaks",
                                             f->n_breaks));
    }
    reply(c, 200, json_pack("{s:o}", "shifts", arr), NULL);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static json_t *stop_json(const area_stop *st)
{
    return json_pack("{s:s,s:s,s:o,s:f,s:f,s:s}", "id", st->id, "name", st->name ? st->name : "",
                     "name_en", st->name_en ? json_string(st->name_en) : json_null(), "lat",
                     st->lat, "lon", st->lon, "kind", st->kind);
}

static void h_stops(rctx *c)
{
    char q[128] = "", lim[8] = "";
    int limit = 100;
    json_t *arr;

    if (c->n_param > 0) {
        intptr_t k = (intptr_t)api_map_get(&c->s->stop_ids, c->param[0]);
        if (k <= 0) {
            reply_err(c, 404, "not_found", "no stop \"%s\"", c->param[0]);
            return;
        }
        reply(c, 200, stop_json(&c->s->area->stops[k - 1]), NULL);
        return;
    }
    if (api_http_query_get(c->req, "q", q, sizeof(q)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "limit", lim, sizeof(lim)) == API_HTTP_EINVAL) {
        reply_err(c, 400, "invalid_query", "q or limit is malformed");
        return;
    }
    if (lim[0]) {
        limit = atoi(lim);
        if (limit < 1 || limit > 1000) {
            reply_err(c, 400, "invalid_query", "limit must be 1..1000");
            return;
        }
    }
    arr = json_array();
    for (int k = 0; k < c->s->area->n_stops && (int)json_array_size(arr) < limit; k++) {
        const area_stop *st = &c->s->area->stops[k];
        if (q[0] && strstr(st->id, q) == NULL && (st->name == NULL || strstr(st->name, q) == NULL) &&
            (st->name_en == NULL || !contains_nocase(st->name_en, q)))
            continue;
        json_array_append_new(arr, stop_json(st));
    }
    reply(c, 200, json_pack("{s:o}", "stops", arr), NULL);
}

static void token_committed(void *ud, int rc, const db_result *res, const char *err)
{
    rctx *c = ud;

    if (rc == 0 && api_map_put(&c->s->tokens, c->tok_sha, c->new_tok) == 0)
        c->new_tok = NULL; /* the map has it now */
    after_commit(ud, rc, res, err);
}

static void h_token_create(rctx *c)
{
    static const char *const keys[] = {"role", "rider_id", "vehicle_id", "label", NULL};
    const char *role, *rider, *veh, *label;
    char tok[64], tid[40], sha[65];
    api_token *t;
    db_txn *txn;
    int r;

    if (parse_body(c, 1) < 0 || only_keys(c, c->body, "body", keys) < 0 ||
        opt_id(c, c->body, "role", 20, &role) < 0 ||
        opt_id(c, c->body, "rider_id", 39, &rider) < 0 ||
        opt_id(c, c->body, "vehicle_id", 47, &veh) < 0 ||
        opt_str(c, c->body, "label", 100, &label) < 0)
        return;
    if (role == NULL || (r = api_role_parse(role)) == 0) {
        reply_err(c, 400, "invalid_field",
                  "\"role\" must be admin, operator, rider, driver or planner");
        return;
    }
    if ((r == API_ROLE_RIDER) != (rider != NULL) || (r == API_ROLE_DRIVER) != (veh != NULL)) {
        reply_err(c, 400, "invalid_field",
                  "a rider token needs \"rider_id\", a driver token \"vehicle_id\", others neither");
        return;
    }
    if (rider != NULL && api_map_get(&c->s->riders, rider) == NULL) {
        reply_err(c, 422, "unknown_rider", "no rider \"%s\"", rider);
        return;
    }
    if (veh != NULL && api_vehicle_index(c->s, veh) < 0) {
        reply_err(c, 422, "unknown_vehicle", "no vehicle \"%s\"", veh);
        return;
    }
    if (store_down(c))
        return;
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        reply_err(c, 503, "unavailable", "out of memory; nothing was created, try again shortly");
        return;
    }
    if (api_random_id("nt_", tok, sizeof(tok)) < 0 || api_random_id("tk_", tid, 20) < 0) {
        free(t);
        reply_err(c, 503, "unavailable",
                  "no randomness for a safe token; nothing was created, try again shortly");
        return;
    }
    area_sha256_hex(tok, strlen(tok), sha);
    snprintf(t->id, sizeof(t->id), "%s", tid);
    t->role = r;
    snprintf(t->rider_id, sizeof(t->rider_id), "%s", rider ? rider : "");
    snprintf(t->vehicle_id, sizeof(t->vehicle_id), "%s", veh ? veh : "");
    const char *p[6] = {tid, sha, role, rider, veh, label ? label : ""};
    txn = db_txn_new(c->s->db);
    if (txn == NULL || db_txn_add(txn,
                                  "INSERT INTO tokens (id, token_sha256, role, rider_id, "
                                  "vehicle_id, label) VALUES ($1,$2,$3,$4,$5,$6)",
                                  6, p) < 0) {
        if (txn)
            db_txn_free(txn);
        free(t);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    /* The token is shown once, in this answer: a replay must not show it
     * again, so token creation keeps no idempotency record. */
    idem_drop(c);
    c->new_tok = t;
    snprintf(c->tok_sha, sizeof(c->tok_sha), "%s", sha);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", tid, "token", tok, "role", role,
                          "rider_id", rider ? json_string(rider) : json_null(), "vehicle_id",
                          veh ? json_string(veh) : json_null());
    commit_then_reply_cb(c, txn, 201, j, NULL, token_committed);
}

static void token_revoked(void *ud, int rc, const db_result *res, const char *err)
{
    rctx *c = ud;

    if (rc == 0) {
        api_token *t = api_map_del(&c->s->tokens, c->tok_sha);
        /* Its open tablet connections end now: a revoked token must stop
         * receiving riders' names and phone numbers at once. */
        if (t != NULL)
            api_driver_token_revoked(c->s, t->id);
        free(t);
    }
    after_commit(ud, rc, res, err);
}

static void h_token_revoke(rctx *c)
{
    char sha[65] = "";
    const api_token *t = NULL;
    db_txn *txn;

    if (parse_body(c, 0) < 0)
        return;
    for (size_t i = 0; i < c->s->tokens.cap && t == NULL; i++) {
        const api_map_slot *sl = &c->s->tokens.slots[i];
        const api_token *x = sl->val;
        if (x != NULL && strcmp(x->id, c->param[0]) == 0) {
            t = x;
            snprintf(sha, sizeof(sha), "%s", sl->key);
        }
    }
    if (t == NULL) {
        reply_err(c, 404, "not_found", "no live token \"%s\"", c->param[0]);
        return;
    }
    if (strcmp(t->id, c->tok->id) == 0) {
        reply_err(c, 409, "invalid_state", "a token cannot revoke itself");
        return;
    }
    if (store_down(c))
        return;
    const char *p[1] = {c->param[0]};
    txn = db_txn_new(c->s->db);
    if (txn == NULL ||
        db_txn_add(txn, "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                   1, p) < 0) {
        if (txn != NULL)
            db_txn_free(txn);
        reply_err(c, 500, "internal", "out of memory");
        return;
    }
    snprintf(c->tok_sha, sizeof(c->tok_sha), "%s", sha);
    commit_then_reply_cb(c, txn, 200,
                         json_pack("{s:s,s:s,s:b}", "id", c->param[0], "role",
                                   api_role_name(t->role), "revoked", 1),
                         NULL, token_revoked);
}

static void h_health(rctx *c)
{
    char today[11], now[40];
    int ready = db_ready(c->s->db);
    int64_t open = (int64_t)c->s->bookings.n; /* live bookings of today and days ahead */

    api_today(c->s, today);
    api_unix_iso(api_unix_now(c->s), now, sizeof(now));
    reply(c, ready ? 200 : 503,
          json_pack("{s:s,s:b,s:s,s:s,s:I,s:i,s:I}", "status", ready ? "ok" : "degraded",
                    "database", ready, "service_date", today, "now", now, "uptime_s",
                    (json_int_t)(time(NULL) - c->s->started), "vehicles", c->s->cfg.n_vehicles,
                    "bookings", (json_int_t)open),
          NULL);
}

static void h_metrics(rctx *c)
{
    size_t len;
    char *txt = api_metrics_text(c->s, &len);

    record(c, txt ? 200 : 500);
    if (txt == NULL)
        api_http_respond(c->req, 500, "text/plain", "out of memory\n", 14, NULL);
    else
        api_http_respond(c->req, 200, "text/plain; version=0.0.4", txt, len, NULL);
    free(txt);
    ctx_free(c);
}

static void h_driver_ws(rctx *c)
{
    api_http_req *req = c->req;

    record(c, 101);
    c->req = NULL;
    api_driver_upgrade(c->s, c->tok, req);
    ctx_free(c);
}

static void h_openapi(rctx *c)
{
    record(c, 200);
    api_http_respond(c->req, 200, "application/json", api_doc_texts[0], strlen(api_doc_texts[0]),
                     NULL);
    ctx_free(c);
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                  */

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

static int routes_fn_is_cancel(const rctx *c)
{
    return c->route >= 0 && routes[c->route].fn == h_cancel;
}
#define N_ROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

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
        return api_map_get(&s->tokens, sha);
    }
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) == 0 || strlen(h + 7) > 200)
        return NULL;
    area_sha256_hex(h + 7, strlen(h + 7), sha);
    return api_map_get(&s->tokens, sha);
}

/* 1 when answered here (replay or conflict). */
static int idem_begin(rctx *c)
{
    const char *key = api_http_header_get(c->req, "Idempotency-Key");
    area_sha256 h;
    unsigned char dg[32];
    char sha[65];
    api_idem *e;

    if (key == NULL)
        return 0;
    long chars = text_chars(key, strlen(key));
    if (chars < 1 || chars > API_IDEM_KEY_MAX_CHARS || has_control(key)) {
        reply_err(c, 400, "invalid_idempotency_key",
                  "Idempotency-Key must be 1..%d characters of UTF-8 text without control "
                  "characters",
                  API_IDEM_KEY_MAX_CHARS);
        return 1;
    }
    area_sha256_init(&h);
    area_sha256_update(&h, c->req->method, strlen(c->req->method));
    area_sha256_update(&h, "\n", 1);
    area_sha256_update(&h, c->req->path, strlen(c->req->path));
    area_sha256_update(&h, "\n", 1);
    area_sha256_update(&h, c->req->body, c->req->body_len);
    area_sha256_final(&h, dg);
    for (int i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", dg[i]);
    snprintf(c->idem_key, sizeof(c->idem_key), "%s\n%s", c->tok->id, key);
    e = api_map_get(&c->s->idem, c->idem_key);
    if (e != NULL) {
        if (strcmp(e->req_sha, sha) != 0) {
            reply_err(c, 422, "idempotency_key_reused",
                      "this Idempotency-Key was used for a different request");
            return 1;
        }
        if (!e->done) {
            reply_err(c, 409, "idempotency_in_progress",
                      "a request with this Idempotency-Key is still being processed");
            return 1;
        }
        send_raw(c, e->status, e->body, "Idempotent-Replayed: true\r\n");
        ctx_free(c);
        return 1;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL || api_map_put(&c->s->idem, c->idem_key, e) < 0) {
        free(e);
        reply_err(c, 500, "internal", "out of memory");
        return 1;
    }
    snprintf(e->req_sha, sizeof(e->req_sha), "%s", sha);
    e->created = api_unix_now(c->s);
    c->idem = e;
    return 0;
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

    if (text_chars(req->path, strlen(req->path)) < 0 || has_control(req->path))
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
    ok = strlen(buf) == k && text_chars(buf, k) >= 0 && !has_control(buf);
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
        ctx_free(c);
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
            reply(c, 405, err_json("method_not_allowed", "this path does not take that method"),
                  hdr);
        } else {
            reply_err(c, 404, "not_found", "no such endpoint");
        }
        return;
    }
    c->route = found;
    if (!path_and_query_are_text(req)) {
        reply_err(c, 400, "invalid_encoding",
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
            reply(c, 401, err_json("unauthorized", "a valid bearer token is required"),
                  "WWW-Authenticate: Bearer\r\n");
            return;
        }
        if (!(routes[found].roles & c->tok->role)) {
            reply_err(c, 403, "forbidden", "the %s role may not use this endpoint",
                      api_role_name(c->tok->role));
            return;
        }
        snprintf(s->actor, sizeof(s->actor), "%s", c->tok->id);
    }
    if (strcmp(req->method, "POST") == 0 && idem_begin(c))
        return;
    routes[found].fn(c);
}
